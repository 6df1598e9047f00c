"""Benchmark: cold derivation + code generation of each cell vs. loading it from the disk cache.

For every library cell (Elman with five activations, IRNN, LSTM, GRU, residual, highway) and
two custom maps (logistic, Hénon), with ``GRADTHEORY_CACHE`` pointing at an empty temporary
directory:

* **cold**: a fresh Python process (so SymPy's caches are cold too) times
  ``gradtheory.numeric.program.load_program(cell)``, which derives the pointwise partials with
  SymPy, writes the kernel module to the cache and imports it;
* **cached**: a second fresh process with the same cache directory times the same call, which
  should import the written module only.

Each child counts SymPy ``Derivative`` constructions (every ``sp.diff`` makes one) and calls of
``codegen.module_source`` during the timed call, and the parent checks that the kernel file's
bytes and modification time did not change between the two runs: a cached load with zero
derivatives, no code generation and an unchanged file did no symbolic work. Times are the
minimum over ``--repeat`` runs (a new cache directory for each cold run): on a shared machine
other load only ever adds time, so the minimum is the least noisy estimate. "process" is the
wall time of the whole child, including ``import gradtheory`` (and SymPy). The cold time
includes the SymPy submodules that differentiation and printing import lazily.

Usage::

    python bench/bench_codegen.py            # all 12 cells, 3 repeats
    python bench/bench_codegen.py --quick    # 4 cells, 1 repeat
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> how the child builds the cell (library name for cell_from_name, or custom kwargs).
CELLS = {
    **{f"elman-{a}": {"library": f"elman-{a}"} for a in ("tanh", "sigmoid", "relu", "linear")},
    "elman-hardtanh": {"library": "elman-hardtanh"},
    "irnn": {"library": "irnn"},
    "lstm": {"library": "lstm"},
    "gru": {"library": "gru"},
    "residual": {"library": "residual"},
    "highway": {"library": "highway"},
    "custom logistic": {"custom": {"update": "r*h*(1 - h)", "state": "h", "params": {"r": 3.5}}},
    "custom Hénon": {
        "custom": {
            "update": ["1 - a*x**2 + y", "b*x"],
            "state": ["x", "y"],
            "params": {"a": 1.4, "b": 0.3},
        }
    },
}
QUICK = ("elman-tanh", "lstm", "gru", "custom logistic")

CHILD = r"""
import json, sys, time
start = time.perf_counter()
import sympy
from sympy.core.function import Derivative
import gradtheory.symbolic.codegen as codegen
from gradtheory.cli import cell_from_name
from gradtheory.cells import custom
from gradtheory.numeric.program import cache_dir, load_program
imported = time.perf_counter() - start

counts = {"derivatives": 0, "module_source": 0}
original_new, original_source = Derivative.__new__, codegen.module_source

def counting_new(cls, *args, **kwargs):
    counts["derivatives"] += 1
    return original_new(cls, *args, **kwargs)

def counting_source(*args, **kwargs):
    counts["module_source"] += 1
    return original_source(*args, **kwargs)

Derivative.__new__ = counting_new
codegen.module_source = counting_source

spec = json.loads(sys.argv[1])
cell = cell_from_name(spec["library"]) if "library" in spec else custom(**spec["custom"])
counts.update(derivatives=0, module_source=0)
start = time.perf_counter()
program = load_program(cell)
seconds = time.perf_counter() - start
files = sorted(p.name for p in cache_dir().glob("gradtheory_kernels_*.py"))
print(json.dumps({"seconds": seconds, "import": imported, "files": files,
                  "kernels": sum(1 for op in program.ops if hasattr(op, "partials")), **counts}))
"""


def run_child(spec: dict, cache: Path) -> dict:
    """One fresh interpreter: time ``load_program`` for ``spec`` with the cache at ``cache``."""
    env = {**os.environ, "GRADTHEORY_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"child failed for {spec}:\n{done.stderr}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process": wall}


def fingerprint(cache: Path) -> dict[str, tuple[int, str]]:
    """``{file: (mtime_ns, sha256)}`` of the generated kernel modules in ``cache``."""
    return {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(cache.glob("gradtheory_kernels_*.py"))
    }


def bench_cell(spec: dict, repeat: int) -> dict:
    """Fastest cold and cached load times of one cell, with the no-regeneration checks."""
    cold, cached, unchanged = [], [], True
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="gt-cache-") as tmp:
            cache = Path(tmp)
            cold.append(run_child(spec, cache))
            before = fingerprint(cache)
            cached.append(run_child(spec, cache))
            unchanged &= bool(before) and fingerprint(cache) == before
    best = lambda runs, key: min(r[key] for r in runs)  # noqa: E731
    return {
        "kernels": cold[0]["kernels"],
        "cold": best(cold, "seconds"),
        "cold_process": best(cold, "process"),
        "cold_diffs": cold[0]["derivatives"],
        "cached": best(cached, "seconds"),
        "cached_process": best(cached, "process"),
        "cached_diffs": max(r["derivatives"] for r in cached),
        "cached_codegen": max(r["module_source"] for r in cached),
        "unchanged": unchanged,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--repeat", type=int, default=None, help="runs per cell (default 3, 1)")
    parser.add_argument("--cells", nargs="*", choices=sorted(CELLS), help="subset of cells")
    args = parser.parse_args(argv)
    names = args.cells or (QUICK if args.quick else tuple(CELLS))
    repeat = args.repeat or (1 if args.quick else 3)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    print(f"Python {sys.version.split()[0]}, best of {repeat} run(s); times in ms")
    header = (
        f"{'cell':16s} {'kern':>4s} {'cold load':>10s} {'derivs':>7s} {'cached load':>11s} "
        f"{'speed-up':>8s} {'cached derivs/codegen':>22s} {'file kept':>9s} "
        f"{'process cold/cached':>20s}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for name in names:
        r = bench_cell(CELLS[name], repeat)
        no_work = r["cached_diffs"] == 0 and r["cached_codegen"] == 0 and r["unchanged"]
        ok &= no_work
        print(
            f"{name:16s} {r['kernels']:4d} {r['cold'] * 1e3:10.1f} {r['cold_diffs']:7d} "
            f"{r['cached'] * 1e3:11.2f} {r['cold'] / r['cached']:7.0f}x "
            f"{r['cached_diffs']:>13d} / {r['cached_codegen']:<6d} "
            f"{'yes' if r['unchanged'] else 'NO':>9s} "
            f"{r['cold_process'] * 1e3:9.0f} / {r['cached_process'] * 1e3:<8.0f}",
            flush=True,
        )
    print(
        "cached loads did no symbolic work (0 derivatives, no code generation, kernel file "
        "unchanged)"
        if ok
        else "WARNING: some cached load differentiated, regenerated or rewrote its kernels"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
