"""Run a sweep of ``_sweep_points.slow`` in its own process (for the kill and sharing tests).

Usage: python _sweep_script.py STORE LOG N_POINTS PAUSE WORKERS ; prints the ys as JSON.
"""

import json
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path[:0] = [str(here), str(here.parents[1])]

import _sweep_points as points  # noqa: E402

import gradtheory as gt  # noqa: E402

if __name__ == "__main__":  # spawned pool workers import this file too: run only once
    store, log, n, pause, workers = sys.argv[1:]
    grid = {"x": list(range(int(n))), "seed": [0], "log": [log], "pause": [float(pause)]}
    workers = int(workers) or None
    result = gt.sweep(points.slow, grid, store=store, workers=workers, progress=False)
    print(json.dumps([r["y"] for r in result.records]))
