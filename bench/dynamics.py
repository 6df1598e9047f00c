"""Small dynamical systems at compiled speed: the figures of issue 11 against their targets.

Every row times warm calls (the kernels and the compiled loops already built and cached; the
minimum CPU time of a few runs) on one core (NUMBA_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, set before
NumPy loads). The large-network row is a ratio against bare (512, 512) @ (512, 16) products
measured in the same run, interleaved (before and after). The import rows start fresh Python
processes, once with the kernel cache of this run (warm) and once with an empty one.

``--peer`` also times the same work written directly in numba (the floor of a numba-based
peer: same formulas, same initial states, no library around them) and, when it is installed,
the numba-based ``pynamical`` package's logistic-map simulation.

Usage: python bench/dynamics.py [--quick] [--peer]
"""

from __future__ import annotations

import os

for _name in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # time this checkout
import gradtheory as gt  # noqa: E402

CALL = (
    "import gradtheory as gt; gt.lyapunov(gt.Network(gt.cells.custom('r*h*(1-h)', 'h', "
    "params={'r': 4.0})), steps=10**4, warmup=1000, progress=False)"
)


def best(function, repeat: int = 3) -> float:
    """Minimum CPU time of ``repeat`` calls after one warm-up call (CPU time, not wall time:
    on a machine shared with other jobs, waiting for a core is not the code's cost)."""
    function()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return min(times)


def subprocess_time(cache: str) -> float:
    """CPU time (user + system) of a fresh Python process running CALL."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env = dict(os.environ, GRADTHEORY_CACHE=cache, PYTHONPATH=root)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", CALL], env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def logistic(r: float = 4.0):
    return gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": r}))


def rows(quick: bool):
    R = np.linspace(2.5, 4.0, 1000)
    net = logistic()
    henon = gt.Network(
        gt.cells.custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    )
    cycle = logistic(3.5)
    varied = net.vary(r=R)
    yield (
        "bifurcation, 1000 r, 1000 + 200 steps, sweep up, no branches",
        best(
            lambda: gt.bifurcation(
                net, "r", R, h0=[0.2], transient=1000, keep=200, sweep="up", branches=False
            )
        ),
        0.07,
    )
    yield (
        "bifurcation with the defaults (both sweeps, exhaustive branches)",
        best(lambda: gt.bifurcation(net, "r", R, h0=[0.2], transient=1000, keep=200), 1),
        1.0,
    )
    yield (
        "largest exponent at 1000 r via net.vary (1000 + 10^4 steps)",
        best(lambda: gt.lyapunov(varied, steps=10**4, warmup=1000, progress=False), 2),
        1.0,
    )
    yield (
        "one gt.lyapunov call, logistic, 1000 + 10^4 steps",
        best(lambda: gt.lyapunov(net, steps=10**4, warmup=1000, progress=False), 20),
        0.002,
    )
    yield (
        "Hénon (1.4, 0.3) spectrum, 10^5 steps",
        best(lambda: gt.lyapunov(henon, steps=10**5, h0=[0.1, 0.1], progress=False)),
        0.06,
    )
    yield ("gt.attractor, 4-cycle at r = 3.5", best(lambda: gt.attractor(cycle, [0.2]), 20), 0.002)
    cache = os.environ.get("GRADTHEORY_CACHE") or str(gt.numeric.program.cache_dir())
    warm = min(subprocess_time(cache) for _ in range(2))
    yield ("import + one logistic lyapunov call, kernel cache warm", warm, 1.5)
    with tempfile.TemporaryDirectory() as empty:
        yield ("import + one logistic lyapunov call, empty cache", subprocess_time(empty), 5.0)
    steps = 2000 if quick else 10**4
    rnn = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=512, gain=1.5, seed=0)
    W = rnn.params["W"]
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((512, 16)))[0]
    out = np.empty_like(Q)

    def bare():
        for _ in range(steps):
            np.matmul(W, Q, out=out)

    before = best(bare, 1)
    ours = best(lambda: gt.lyapunov(rnn, steps=steps, k=16, warmup=0, progress=False), 1)
    after = best(bare, 1)
    reference = 0.5 * (before + after)
    yield (
        f"tanh RNN N=512, k=16, {steps} steps / {steps} bare products "
        f"({ours:.2f} s / {reference:.2f} s)",
        ours / reference,
        1.3,
    )


def peer_rows():
    """The same work written directly in numba, and pynamical if installed."""
    import numba

    @numba.njit(cache=False)
    def bifurcation_up(R, h0, transient, keep, out):
        h = h0
        for i in range(R.shape[0]):
            r = R[i]
            for _ in range(transient):
                h = r * h * (1.0 - h)
            for t in range(keep):
                h = r * h * (1.0 - h)
                out[i, t] = h

    @numba.njit(cache=False)
    def lyapunov_1d(r, h, warmup, steps):
        for _ in range(warmup):
            h = r * h * (1.0 - h)
        total = 0.0
        for _ in range(steps):
            total += np.log(abs(r * (1.0 - 2.0 * h)))
            h = r * h * (1.0 - h)
        return total / steps

    @numba.njit(cache=False)
    def henon_spectrum(x, y, steps):
        q11, q21, q12, q22 = 1.0, 0.0, 0.0, 1.0
        s1 = s2 = 0.0
        for _ in range(steps):
            j11, j12, j21 = -2.8 * x, 1.0, 0.3
            x, y = 1.0 - 1.4 * x * x + y, 0.3 * x
            v11, v21 = j11 * q11 + j12 * q21, j21 * q11
            v12, v22 = j11 * q12 + j12 * q22, j21 * q12
            n1 = np.sqrt(v11 * v11 + v21 * v21)
            q11, q21 = v11 / n1, v21 / n1
            d = q11 * v12 + q21 * v22
            v12, v22 = v12 - d * q11, v22 - d * q21
            n2 = np.sqrt(v12 * v12 + v22 * v22)
            q12, q22 = v12 / n2, v22 / n2
            s1 += np.log(n1)
            s2 += np.log(n2)
        return s1 / steps, s2 / steps

    R = np.linspace(2.5, 4.0, 1000)
    out = np.empty((1000, 200))
    yield (
        "numba by hand: bifurcation sweep up",
        best(lambda: bifurcation_up(R, 0.2, 1000, 200, out)),
    )
    yield (
        "numba by hand: lyapunov at 1000 r",
        best(lambda: [lyapunov_1d(r, 0.3, 1000, 10**4) for r in R], 2),
    )
    yield ("numba by hand: one lyapunov call", best(lambda: lyapunov_1d(4.0, 0.3, 1000, 10**4), 20))
    yield ("numba by hand: Hénon spectrum 10^5", best(lambda: henon_spectrum(0.1, 0.1, 10**5)))
    try:
        from pynamical import logistic_map, simulate
    except ImportError:
        print("pynamical is not installed: no library peer timed")
        return
    yield (
        "pynamical simulate: 1000 r, 1000 discarded + 200 kept",
        best(
            lambda: simulate(
                model=logistic_map,
                num_gens=200,
                rate_min=2.5,
                rate_max=4.0,
                num_rates=1000,
                num_discard=1000,
            )
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2000 steps for the RNN row")
    parser.add_argument("--peer", action="store_true", help="also time numba-written peers")
    args = parser.parse_args()
    threadpool_limits(1)  # one BLAS thread, whatever the environment said
    print(f"{'work':<78} {'measured':>10} {'target':>8}  ok")
    for work, value, target in rows(args.quick):
        unit = "x" if "bare products" in work else "s"
        verdict = "yes" if value <= target else "NO"
        print(f"{work:<78} {value:>9.4f}{unit} {target:>7}{unit}  {verdict}")
    if args.peer:
        for work, value in peer_rows():
            print(f"{work:<78} {value:>9.4f}s")


if __name__ == "__main__":
    main()
