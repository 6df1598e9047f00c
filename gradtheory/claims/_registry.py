"""Registry of the reproducible claims: each analysis registers one ``run`` function.

A claim's ``run(quick: bool, seed: int)`` returns a :class:`ClaimResult`: the figure, the
numbers it shows, the settings, optional LaTeX, and predicted-vs-measured rows. ``reproduce``
writes ``figures/<name>.png``, ``.svg`` and ``.json`` (numbers, settings, seed, version).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from .. import __version__
from ..figures import save_figure
from ..io import save_result

__all__ = ["CLAIMS", "Claim", "ClaimResult", "claim", "run_claim"]


@dataclass
class ClaimResult:
    """Output of one claim's ``run``.

    Attributes
    ----------
    figure : matplotlib Figure
    numbers : dict
        The numbers the figure shows (JSON-serialisable).
    settings : dict
    latex : str
        Derivation shown next to the figure in the report ('' if none).
    comparisons : list of dict
        Rows ``{"quantity", "predicted", "measured", "agrees"}``.
    summary : str
        One or two sentences stating what came out (from the numbers, not assumed).
    arrays : dict
        Larger arrays saved to ``<name>.npz``.
    """

    figure: object
    numbers: dict
    settings: dict = field(default_factory=dict)
    latex: str = ""
    comparisons: list = field(default_factory=list)
    summary: str = ""
    arrays: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    """A claim of the lecture notes or the literature, and the function that reproduces it."""

    name: str
    title: str
    source: str
    statement: str
    run: Callable[..., ClaimResult]
    ci: bool = False


#: name -> Claim, in registration order.
CLAIMS: dict[str, Claim] = {}


def claim(name: str, title: str, source: str, statement: str, *, ci: bool = False):
    """Decorator registering ``run(quick: bool, seed: int) -> ClaimResult`` under ``name``."""

    def register(run):
        CLAIMS[name] = Claim(name, title, source, statement, run, ci)
        return run

    return register


#: Where ``run_claim`` keeps the claims' sweep results between runs (git-ignored).
STORE_ROOT = Path(".gradtheory-store")


def _store(root, name: str) -> Path | None:
    return None if root is None else Path(root) / name


def run_claim(
    name: str,
    outdir: str | Path = "figures",
    *,
    quick: bool = False,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    store_root: str | Path | None = None,
) -> dict:
    """Run one claim and write ``outdir/name.{png,svg,json}`` (and ``.npz`` if it has arrays).

    The sweeps the claim runs (``gt.sweep`` with no store, executor or workers of its own) use
    ``workers`` local processes or the Dask ``scheduler``, and with ``store_root`` keep their
    results in ``store_root/<name>/`` to resume from (``gradtheory reproduce`` passes
    :data:`STORE_ROOT`; see :func:`gradtheory.sweeps.defaults`).
    """
    from ..sweeps import defaults
    from . import load_all

    load_all()
    if name not in CLAIMS:
        raise ValueError(f"unknown claim {name!r}; known claims: {', '.join(CLAIMS)}")
    entry = CLAIMS[name]
    start = time.perf_counter()
    # The claims multiply matrices of at most a few hundred rows: a second BLAS thread gains at
    # most 1.5x on an idle 2-core machine and loses up to 4.6x when the other core is busy
    # (README, "BLAS threads"); one thread keeps every claim's run time predictable.
    with (
        threadpool_limits(limits=1, user_api="blas"),
        defaults(workers=workers, executor=scheduler, store_root=_store(store_root, name)),
    ):
        result = entry.run(quick=quick, seed=seed)
    elapsed = time.perf_counter() - start
    outdir = Path(outdir)
    save_figure(result.figure, outdir / name)
    meta = {
        "name": name,
        "title": entry.title,
        "source": entry.source,
        "statement": entry.statement,
        "summary": result.summary,
        "numbers": result.numbers,
        "settings": result.settings,
        "comparisons": result.comparisons,
        "latex": result.latex,
        "seed": seed,
        "quick": quick,
        "version": __version__,
        "seconds": round(elapsed, 2),
    }
    save_result(outdir / name, result.arrays, meta)
    if not result.arrays:
        (outdir / f"{name}.npz").unlink(missing_ok=True)
    return meta
