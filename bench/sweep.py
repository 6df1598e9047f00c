"""Speed-up of ``gt.sweep`` with a local process pool on independent small GRU trainings.

Each point trains a GRU (hidden 32) on the adding problem (T = 50, batch 32) for ``--steps``
Adam steps with ``gradtheory.sweeps._tasks.train_point``, the function behind
``gradtheory sweep train``; the points differ only by their seed. The same grid is timed with
``workers=1`` (the reference: a pool of one process, so both sides pay the pool's start-up
and the sending of points), then with each further worker count, in the same run, in
alternation (1, 2, 1, 2, ... for ``--repeat`` rounds) so that both see the same machine
load; the table shows the minimum wall time per count and the speed-up t(1) / t(N). In-process
(no pool) is timed once as well. The script checks that every worker count gave identical
numbers. Every point runs with one BLAS thread (the sweep sets it).

Usage::

    .venv/bin/python bench/sweep.py                      # 1 and 2 workers, 8 trainings
    .venv/bin/python bench/sweep.py --workers 1,2,4,8,16 --points 32   # a bigger machine
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import gradtheory as gt
from gradtheory.sweeps._tasks import train_point


def _grid(points: int, steps: int) -> dict:
    return {
        "cell": ["gru"],
        "hidden": [32],
        "task": ["adding"],
        "T": [50],
        "steps": [steps],
        "batch": [32],
        "seed": list(range(points)),
    }


def _timed(grid: dict, workers: int | None) -> tuple[float, list]:
    start = time.perf_counter()
    result = gt.sweep(train_point, grid, workers=workers, progress=False)
    elapsed = time.perf_counter() - start
    assert not result.failed, result.failed
    return elapsed, [r["loss"] for r in result.records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts")
    parser.add_argument("--points", type=int, default=8, help="independent trainings")
    parser.add_argument("--steps", type=int, default=150, help="Adam steps per training")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    counts = sorted({int(v) for v in args.workers.split(",")} | {1})
    grid = _grid(args.points, args.steps)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    print(f"{args.points} GRU trainings (hidden 32, adding T=50, batch 32, {args.steps} steps)")
    in_process, reference = _timed(grid, None)
    times: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(args.repeat):
        for n in counts:
            elapsed, losses = _timed(grid, n)
            times[n].append(elapsed)
            same = all(np.array_equal(a, b) for a, b in zip(losses, reference, strict=True))
            assert same, f"workers={n} gave different numbers"
    print(f"load average {os.getloadavg()[0]:.1f} at end; identical numbers for every count")
    print(f"in-process (no pool): {in_process:.2f} s")
    print("| workers | wall s (min) | all runs s | speed-up vs 1 worker |")
    print("| ---: | ---: | --- | ---: |")
    base = min(times[1])
    for n in counts:
        runs = ", ".join(f"{t:.2f}" for t in times[n])
        print(f"| {n} | {min(times[n]):.2f} | {runs} | {base / min(times[n]):.2f} |")


if __name__ == "__main__":
    main()
