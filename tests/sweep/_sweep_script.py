"""Run a sweep of ``_sweep_points.slow`` in its own process (for the kill and sharing tests).

Usage: python _sweep_script.py STORE LOG N_POINTS PAUSE WORKERS [GATE]; prints the ys as JSON.
With GATE (a directory), it writes GATE/<pid> once imported and starts when GATE/go exists.
"""

import json
import os
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path[:0] = [str(here), str(here.parents[1])]

import _sweep_points as points  # noqa: E402

import gradtheory as gt  # noqa: E402

if __name__ == "__main__":  # spawned pool workers import this file too: run only once
    store, log, n, pause, workers, *gate = sys.argv[1:]
    if gate:
        Path(gate[0], str(os.getpid())).touch()
        while not Path(gate[0], "go").exists():
            time.sleep(0.02)
    grid = {"x": list(range(int(n))), "seed": [0], "log": [log], "pause": [float(pause)]}
    workers = int(workers) or None
    result = gt.sweep(points.slow, grid, store=store, workers=workers, progress=False)
    print(json.dumps([r["y"] for r in result.records]))
