"""Point functions for the sweep tests: top level, importable by a spawned worker by name."""

from __future__ import annotations

import os
import threading
import time

import numpy as np

#: Set by the parent test process; a spawned worker re-imports this module and sees "fresh".
MARK = "fresh"


def noisy(x: float, seed: int) -> dict:
    """Numbers from BLAS and LAPACK and from both NumPy generators, all fixed by the point."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(40, 40))
    solution = np.linalg.solve(a @ a.T + np.eye(40), np.full(40, x))
    return {
        "value": float(x * np.trace(a @ a.T)),
        "norm": float(np.linalg.norm(solution)),
        "solution": solution,
        "legacy": float(np.random.rand()),  # noqa: NPY002 (the sweep seeds it from the point)
        "flag": bool(x > 1),
        "nothing": None,
    }


def fails_at_two(x: float, seed: int, z: int = 0) -> dict:
    if x == 2:
        raise ValueError(f"x = {x} is not allowed")
    return {"y": x + seed + z}


def slow(x: int, seed: int, log: str, pause: float = 0.5) -> dict:
    """Logs every start with its process id, then works for ``pause`` seconds."""
    with open(log, "a") as stream:
        stream.write(f"{os.getpid()} {x} {seed}\n")
    time.sleep(pause)
    return {"y": 10 * x + seed, "pid": os.getpid()}


def where(x: int, pause: float = 0.0) -> dict:
    """Which process and module state ran the point, after ``pause`` seconds."""
    time.sleep(pause)
    return {"mark": MARK, "pid": os.getpid(), "thread": threading.get_ident()}
