"""The claim registry: ``@claim`` registers a script's ``run``; ``run_claim`` writes its results.

A claim's script states the claim in its docstring (first line: title; paragraphs starting
``Claim:`` and ``Source:``, and optionally ``Disagreements:``, the explanation shown when rows
disagree, quoting the run's evidence as ``{{name of a number}}``); its ``run(quick, seed)``
returns a :class:`ClaimResult`. The JSON, the summary sentence and the report are generated
from the result's rows and numbers.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from .. import __version__
from ..figures import save_figure
from ..io import save_result
from ._compare import Comparison, _number, summarise

__all__ = ["CLAIMS", "Claim", "ClaimResult", "claim", "default_outdir", "main", "run_claim"]


@dataclass
class ClaimResult:
    """What a claim's ``run`` returns: its figure, numbers and predicted-vs-measured rows.

    ``headline`` names the entries of ``numbers`` quoted in the summary sentence; ``arrays``
    go to ``<name>.npz``; ``latex`` is the derivation shown next to the figure.
    """

    figure: object
    numbers: dict
    comparisons: list[Comparison] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    latex: str = ""
    headline: list[str] = field(default_factory=list)
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
    disagreements: str = ""


#: name -> Claim, in registration order (``load_all`` puts it in report order).
CLAIMS: dict[str, Claim] = {}


def _paragraph(doc: str, label: str, required: bool = True) -> str:
    match = re.search(rf"^{label}:\s*(.*?)(?:\n\s*\n|\Z)", doc, re.S | re.M)
    if not match and required:
        raise ValueError(f"claim docstring has no '{label}:' paragraph")
    return " ".join(match.group(1).split()) if match else ""


def explain(text: str, numbers: dict, strict: bool = False) -> str:
    """``text`` with each ``{{name}}`` replaced by the run's number ``name`` (4 digits).

    A number the run did not produce (a quick run's grid is smaller) is marked as such, or
    with ``strict`` raises ValueError.

    Examples
    --------
    >>> explain("rate {{r}} per step", {"r": -0.61834})
    'rate -0.6183 per step'
    """

    def number(match):
        if match.group(1) in numbers:
            return _number(numbers[match.group(1)])
        if strict:
            raise ValueError(f"explanation quotes {match.group(1)!r}, not among the numbers")
        return f"[{match.group(1)}: not in this run]"

    return re.sub(r"\{\{(.+?)\}\}", number, text)


def claim(*, ci: bool = False):
    """Register ``run(quick: bool, seed: int) -> ClaimResult`` under its script's file name.

    Title, statement and source come from the script's docstring; ``ci`` marks the claims
    whose quick run is part of the test suite. A script run directly (``python
    analyses/<name>.py [--quick] [--seed N]``) hands over to :func:`main` here and exits.
    """

    def register(run):
        module = sys.modules[run.__module__]
        if run.__module__ == "__main__":
            main(module.__file__)  # runs the registered module, not this one
            raise SystemExit(0)
        doc = module.__doc__ or ""
        name = Path(module.__file__).stem
        title = doc.strip().splitlines()[0].rstrip(".")
        statement, source = _paragraph(doc, "Claim"), _paragraph(doc, "Source").rstrip(".")
        why = _paragraph(doc, "Disagreements", required=False)
        CLAIMS[name] = Claim(name, title, source, statement, run, ci, why)
        return run

    return register


#: Where ``run_claim`` keeps the claims' sweep results between runs (git-ignored).
STORE_ROOT = Path(".gradtheory-store")


def run_claim(
    name: str,
    outdir: str | Path | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    store_root: str | Path | None = None,
) -> dict:
    """Run claim ``name`` and write ``outdir/name.{png,svg,json}`` (and ``.npz`` if any).

    The sweeps the claim runs (``gt.sweep`` with no store, executor or workers of its own) use
    ``workers`` local processes or the Dask ``scheduler``, and with ``store_root`` keep their
    results in ``store_root/<name>/`` to resume from (``gradtheory reproduce`` passes
    :data:`STORE_ROOT`; see :func:`gradtheory.sweeps.defaults`).

    ``outdir`` defaults to ``figures`` (full size) or the git-ignored ``figures/quick`` (with
    ``quick``), so a quick run never overwrites the committed results.
    """
    from ..sweeps import defaults
    from . import load

    entry = load(name)
    outdir = Path(outdir if outdir is not None else default_outdir(quick))
    store = None if store_root is None else Path(store_root) / name
    start = time.perf_counter()
    # The claims multiply matrices of at most a few hundred rows: a second BLAS thread gains at
    # most 1.5x on an idle 2-core machine and loses up to 4.6x when the other core is busy
    # (README, "BLAS threads"); one thread keeps every claim's run time predictable.
    with (
        threadpool_limits(limits=1, user_api="blas"),
        defaults(workers=workers, executor=scheduler, store_root=store),
    ):
        result = entry.run(quick=quick, seed=seed)
    elapsed = time.perf_counter() - start
    save_figure(result.figure, outdir / name)
    meta = {"name": name, "title": entry.title, "source": entry.source,
            "statement": entry.statement,
            "summary": summarise(result.comparisons, result.numbers, result.headline),
            "numbers": result.numbers, "settings": result.settings,
            "comparisons": [row.row() for row in result.comparisons], "latex": result.latex,
            "seed": seed, "quick": quick, "version": __version__,
            "seconds": round(elapsed, 2)}  # fmt: skip
    if entry.disagreements and not all(row.agrees for row in result.comparisons):
        meta["explanation"] = explain(entry.disagreements, result.numbers)
    save_result(outdir / name, result.arrays, meta)
    if not result.arrays:
        (outdir / f"{name}.npz").unlink(missing_ok=True)
    return meta


def default_outdir(quick: bool) -> Path:
    """``figures``, or for a quick run the git-ignored ``figures/quick``."""
    return Path("figures/quick" if quick else "figures")


def main(script: str, argv: list[str] | None = None) -> None:
    """Command line of a claim script: ``python analyses/<name>.py [--quick] [--seed N]``."""
    name = Path(script).stem
    parser = argparse.ArgumentParser(prog=f"analyses/{name}.py", description=f"Claim '{name}'.")
    parser.add_argument("--quick", action="store_true", help="reduced size into figures/quick/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outdir", default=None)
    args = parser.parse_args(argv)
    # run the registered module gradtheory.claims.<name>, not __main__, so that its sweep's
    # point function is importable by name in worker processes
    meta = run_claim(name, args.outdir, quick=args.quick, seed=args.seed)
    print(f"{name} ({meta['seconds']} s): {meta['summary']}")
