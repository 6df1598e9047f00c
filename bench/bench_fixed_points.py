"""Benchmark: fixed points of a 64-unit GRU from 1024 starts, against a per-start SciPy loop.

The GRU is trained briefly with ``gt.train`` on the 3-bit flip-flop task (Sussillo & Barak
2013), whose solution stores 2^3 = 8 memories as stable fixed points at zero input; with
``--no-train`` it is instead a random GRU (``init="gaussian"``, gain 2), which has a few fixed
points (three at seed 0). Starts are hidden states visited on task inputs (or, untrained, the
default trajectory samples) with Gaussian noise.

``gt.fixed_points`` optimises all starts together (one batched evaluation per L-BFGS-B
iteration, exact gradient (J - I)^T (F - s) by a reverse pass) and polishes them with batched
Levenberg-Marquardt on F(s) - s = 0 (Jacobian J - I). The reference is the plain approach:
one ``scipy.optimize.minimize`` (L-BFGS-B, finite-difference gradient) per start on a
NumPy-written GRU map, run on a subset of the starts and timed per start. The ratio of
per-start times is printed, and the reference end points are matched to the points found.

BLAS threads: both sides run with ``--threads`` (default 1): the batched products are small,
and on a shared 2-core machine extra threads mostly contend.

Completeness (issue 10): the script first times default calls on the two small networks of
the tests, h -> tanh(2h) in 3 units (27 fixed points) and the FixedPointFinder test network
(9), over seeds 0-19, with the defaults (rounds until nothing new, mirror images of odd maps)
and with the one-round search of the earlier defaults (``max_rounds=1, symmetry=False``,
the same first round), in the same run.

Usage::

    python bench/bench_fixed_points.py            # 1024 starts, 8 reference starts
    python bench/bench_fixed_points.py --quick    # 256 starts, 4 reference starts
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy import optimize
from scipy.special import expit
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import gradtheory as gt
from gradtheory.analysis.fixed_points import fixed_points


def numpy_gru(params: dict):
    """F(h) at zero input, written out in NumPy (PyTorch's GRU: r gates W_n h + b_hn)."""
    w, b_x, b_h = params["W"], params["b_x"], params["b_h"]
    n = w.shape[1]

    def step(h):
        ah = w @ h + b_h
        r = expit(b_x[:n] + ah[:n])
        z = expit(b_x[n : 2 * n] + ah[n : 2 * n])
        cand = np.tanh(b_x[2 * n :] + r * ah[2 * n :])
        return (1 - z) * cand + z * h

    return step


def completeness(seeds=range(20)) -> None:
    """Points found and time of a default call: rounds + mirror vs one round, same run."""
    w_ffp = np.array([-np.roll(np.linspace(-1, 1, 4), -i) for i in range(4)])
    nets = {"tanh(2h), n=3 (27 points)": 2 * np.eye(3), "FixedPointFinder, n=4 (9)": w_ffp}
    settings = {
        "one round (earlier defaults)": {"max_rounds": 1, "symmetry": False},
        "defaults": {},
    }
    for label, w in nets.items():
        n = len(w)
        net = gt.Network(
            gt.cells.elman("tanh"), n_in=0, n_hidden=n, params={"W": w, "b": np.zeros(n)}
        )
        fixed_points(net, progress=False)  # warm the code cache
        times = {}
        for name, kw in settings.items():
            counts = []
            t0 = time.perf_counter()
            for seed in seeds:
                counts.append(len(fixed_points(net, seed=seed, progress=False, **kw)))
            times[name] = (time.perf_counter() - t0) / len(seeds)
            print(
                f"{label:28s} {name:30s} points min {min(counts)} max {max(counts)} over "
                f"{len(seeds)} seeds, {times[name] * 1e3:.1f} ms per call"
            )
        ratio = times["defaults"] / times["one round (earlier defaults)"]
        print(f"{label:28s} defaults / one round = {ratio:.1f}x time")


# tight tolerances so that the reference is not stopped early by SciPy's defaults
OPTIONS = {"maxiter": 20_000, "maxfun": 10**7, "ftol": 1e-15, "gtol": 1e-12}


def reference(step, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """One L-BFGS-B per start on q(h) = 1/2 ||F(h) - h||^2 with finite-difference gradients."""

    def q(h):
        d = step(h) - h
        return 0.5 * float(d @ d)

    ends, qs = [], []
    start = time.perf_counter()
    for s in starts:
        res = optimize.minimize(q, s, method="L-BFGS-B", options=OPTIONS)
        ends.append(res.x)
        qs.append(res.fun)
    return np.array(ends), np.array(qs), time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--starts", type=int, default=1024)
    parser.add_argument("--ref-starts", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--no-train", action="store_true", help="random GRU (gain 2) instead")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="256 starts, 4 reference starts")
    args = parser.parse_args(argv)
    if args.quick:
        args.starts, args.ref_starts = 256, 4
    with threadpool_limits(args.threads, user_api="blas"):
        completeness()
    rng = np.random.default_rng(0)
    with threadpool_limits(args.threads, user_api="blas"):
        if args.no_train:
            net = gt.Network(gt.cells.gru(), n_in=3, n_hidden=args.n, init="gaussian", gain=2.0)
            starts = None
            print(f"random GRU n={args.n} (init gaussian, gain 2), untrained")
        else:
            net = gt.Network(gt.cells.gru(), n_in=3, n_hidden=args.n, n_out=3, seed=0)
            task = gt.tasks.flipflop(3, 50)
            t0 = time.perf_counter()
            hist = gt.train(net, task, steps=args.train_steps, lr=1e-2, progress=False)
            print(
                f"GRU n={args.n} trained on 3-bit flip-flop: {args.train_steps} Adam steps in "
                f"{time.perf_counter() - t0:.1f} s, loss {hist.loss[0]:.3f} -> "
                f"{np.mean(hist.loss[-20:]):.4f} (baseline {task.baseline:.3f})"
            )
            x, _, _ = task.sample(64, rng)
            visited = net.forward(x).states[1:].reshape(-1, args.n)
            starts = visited[rng.choice(len(visited), args.starts, replace=False)]
            starts = starts + 0.02 * rng.normal(size=starts.shape)
        x0 = np.zeros(3)
        t0 = time.perf_counter()
        fp = fixed_points(net, x0, starts=starts, n_starts=args.starts, progress=False)
        t_gt = time.perf_counter() - t0
        n_starts = fp.n_starts
        kinds = {k: fp.kind.count(k) for k in ("stable", "saddle", "unstable")}
        print(
            f"gt.fixed_points: {n_starts} starts in {fp.rounds} rounds, {t_gt:.2f} s "
            f"({t_gt / n_starts * 1e3:.2f} ms/start), threads={args.threads}"
        )
        print(
            f"  {len(fp)} fixed points {kinds}, max q {fp.q.max(initial=0):.1e}, "
            f"{len(fp.slow_points)} slow points, {fp.info['n_converged']} starts converged "
            f"+ {fp.info['n_merged']} merged on the way"
        )
        step = numpy_gru(net.params)
        probe = rng.normal(size=args.n) * 0.5
        check = np.max(np.abs(step(probe) - net.step(probe[None], x0[None])[0]))
        print(f"NumPy GRU map vs net.step: max difference {check:.1e}")
        sub = (
            starts[: args.ref_starts]
            if starts is not None
            else rng.normal(size=(args.ref_starts, args.n))
        )
        ends, qs, t_ref = reference(step, sub)
    per_ref, per_gt = t_ref / len(sub), t_gt / n_starts
    print(
        f"reference (L-BFGS-B + finite differences, one start at a time): {len(sub)} starts in "
        f"{t_ref:.2f} s ({per_ref * 1e3:.1f} ms/start)"
    )
    reached = qs < 1e-20
    dist = (
        np.array([np.min(np.linalg.norm(fp.points - e, axis=1)) for e in ends])
        if len(fp)
        else np.full(len(ends), np.inf)
    )
    print(
        f"  reference q: median {np.median(qs):.1e} (q < 1e-20 in {reached.sum()}/{len(sub)}); "
        f"{np.sum(dist < 1e-3)}/{len(sub)} end within 1e-3 of a point gt found"
    )
    print(f"per-start time ratio reference / gt = {per_ref / per_gt:.0f}x")


if __name__ == "__main__":
    main()
