"""Benchmark: Lyapunov spectrum (k = 16) of a 512-unit random tanh RNN over 10^4 steps.

Compares ``gradtheory.analysis.lyapunov.lyapunov`` (thin tangent frame n x k pushed through the
generated step program, O(n^2 k) per step) with a plain NumPy reference loop that forms the
full Jacobian diag(1 - h^2) W every step and re-orthonormalises a full n x n frame (O(n^3) per
step), in the same run, from the same initial state and warm-up; prints times, their ratio and
the largest difference between the two spectra. A hand-written thin loop specialised to tanh
shows what the generic executor costs on top of the algorithm.

BLAS threads: each step is a handful of small, sequential operations (a 512x512 by 512x16
product, a 512x16 QR), where thread start-up and synchronisation cost more than they save, and
on a shared 2-core machine a second thread competes with other work. Both sides run with
``--threads`` BLAS threads (default 1); ``--probe`` times a few steps of both at 1 thread and at
all threads so the choice can be checked on the machine at hand.

Usage::

    python bench/bench_lyapunov.py            # 10^4 steps
    python bench/bench_lyapunov.py --quick    # 500 steps
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import gradtheory as gt
from gradtheory.analysis.lyapunov import lyapunov


def reference(W: np.ndarray, h0: np.ndarray, steps: int, warmup: int, k: int, seed: int):
    """Plain loop: explicit J_t = diag(1 - h_t^2) W, full frame Q (n, n), full QR every step."""
    n = W.shape[0]
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    h = h0.copy()
    sums = np.zeros(n)
    for t in range(warmup + steps):
        h = np.tanh(W @ h)
        jac = (1.0 - h * h)[:, None] * W
        q, r = np.linalg.qr(jac @ q)
        if t >= warmup:
            sums += np.log(np.abs(np.diag(r)))
    return np.sort(sums / steps)[::-1][:k]


def reference_thin(W: np.ndarray, h0: np.ndarray, steps: int, warmup: int, k: int, seed: int):
    """Hand-specialised thin loop for tanh only: q <- diag(1 - h^2) (W q), thin QR (n, k)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((W.shape[0], k)))
    h = h0.copy()
    sums = np.zeros(k)
    for t in range(warmup + steps):
        h = np.tanh(W @ h)
        q, r = np.linalg.qr((1.0 - h * h)[:, None] * (W @ q))
        if t >= warmup:
            sums += np.log(np.abs(np.diag(r)))
    return np.sort(sums / steps)[::-1]


def probe(net, W, h0, k):
    """Seconds per step of both methods at 1 thread and at all threads (a few steps each)."""
    available = max(info["num_threads"] for info in threadpool_info()) if threadpool_info() else 1
    for threads in sorted({1, available}):
        with threadpool_limits(threads, user_api="blas"):
            start = time.perf_counter()
            lyapunov(net, steps=100, warmup=0, k=k, h0=h0, progress=False)
            thin = (time.perf_counter() - start) / 100
            start = time.perf_counter()
            reference(W, h0, 10, 0, k, 0)
            full = (time.perf_counter() - start) / 10
        print(
            f"probe  threads={threads}: gt thin {thin * 1e3:7.3f} ms/step, "
            f"reference full {full * 1e3:7.2f} ms/step"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument(
        "--gain", type=float, default=1.5, help="g of W ~ N(0, g^2/n); chaotic if > 1"
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both methods")
    parser.add_argument("--quick", action="store_true", help="500 steps")
    parser.add_argument("--probe", action="store_true", help="time 1 vs all BLAS threads first")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args(argv)
    steps = 500 if args.quick else args.steps
    net = gt.Network(
        gt.cells.elman("tanh"), n_in=0, n_hidden=args.n, init="gaussian", gain=args.gain, seed=0
    )
    W = net.params["W"]
    h0 = np.random.default_rng(1).uniform(-0.5, 0.5, args.n)
    print(f"tanh RNN n={args.n}, g={args.gain}, k={args.k}, steps={steps} (+{args.warmup} warm-up)")
    if args.probe:
        probe(net, W, h0, args.k)
    with threadpool_limits(args.threads, user_api="blas"):
        start = time.perf_counter()
        ours = lyapunov(net, steps=steps, warmup=args.warmup, k=args.k, h0=h0, progress=False)
        t_ours = time.perf_counter() - start
        print(
            f"gt.lyapunov (thin, jacobian_product): {t_ours:8.2f} s "
            f"({t_ours / (steps + args.warmup) * 1e3:.3f} ms/step), threads={args.threads}"
        )
        print(
            f"  lambda_1..3 = {np.array2string(ours[:3], precision=4)}, lambda_k = {ours[-1]:.4f}"
        )
        start = time.perf_counter()
        thin = reference_thin(W, h0, steps, args.warmup, args.k, seed=0)
        t_thin = time.perf_counter() - start
        print(
            f"hand-written thin tanh loop:          {t_thin:8.2f} s "
            f"({t_thin / (steps + args.warmup) * 1e3:.3f} ms/step; executor overhead "
            f"{t_ours / t_thin:.2f}x, max diff {np.max(np.abs(ours - thin)):.1e})"
        )
        if args.no_reference:
            return
        start = time.perf_counter()
        ref = reference(W, h0, steps, args.warmup, args.k, seed=0)
        t_ref = time.perf_counter() - start
    print(
        f"reference (full J, full QR):          {t_ref:8.2f} s "
        f"({t_ref / (steps + args.warmup) * 1e3:.3f} ms/step)"
    )
    print(f"speed-up reference / gt = {t_ref / t_ours:.1f}x")
    print(
        f"max |lambda_gt - lambda_ref| over k = {np.max(np.abs(ours - ref)):.2e} "
        "(finite-time estimates from different initial frames: O(1/steps))"
    )


if __name__ == "__main__":
    main()
