"""Time one training step (forward + backward) of gradtheory against PyTorch on the CPU.

One step is ``forward`` over a (T, B, n_in) batch and ``backward`` of a loss on every step's
output (``grad_outputs`` = a fixed random array; PyTorch: ``out.backward(grad)``), for the
Elman tanh RNN (``nn.RNN``), the GRU and the LSTM, at (n_in, hidden, batch, T) =
(2, 32, 32, 100), (8, 128, 64, 100) and (64, 512, 64, 50), in float32 and float64. Both sides
get the same parameters (``gradtheory.from_torch``) and inputs.

Timing: each configuration is warmed up, then the two libraries are timed alternately
(gradtheory, torch, gradtheory, ...) so that both see the same machine load; the table shows
the minimum over the repetitions (the least disturbed run) in ms per step, and the ratio
gradtheory / torch (below 1: gradtheory is faster). With one thread the clock is the
process's CPU time (``time.process_time``): everything runs in the calling thread, so on an
idle machine it equals the wall time, and on a shared one it is not inflated by other
processes taking the cores. With more threads it is the wall time (``--clock`` overrides).

Threads, chosen on purpose: NumPy's BLAS is limited with ``threadpoolctl``
(``threadpool_limits(k, user_api="blas")``) and PyTorch with ``torch.set_num_threads(k)``;
both libraries always get the same k. The script measures k = 1 and k = 2 (``--threads``).
Measured on the 2-core machine this was written on (gradtheory, float32, wall time, min of 7
interleaved runs): at (2, 32, 32, 100) two BLAS threads made the Elman step 4.6 times slower
(2.0 ms -> 9.3 ms; waking a thread costs more than a 32 x 32 product, see DESIGN.md, BLAS
threads); at the larger shapes the difference was within the noise of that shared machine
(other jobs kept both cores busy). One thread per process is therefore the choice for
training small RNNs, and the k = 1 rows (CPU time, see above) are the headline comparison;
the k = 2 rows show what a second core buys when it is free.

Usage::

    .venv/bin/python bench/bench_step.py            # full table (a few minutes)
    .venv/bin/python bench/bench_step.py --quick    # smoke run: smallest shape, few repetitions
    # the LSTM rows only, median of 11 interleaved runs (a shared machine), and their profile
    .venv/bin/python bench/bench_step.py --threads 1 --cells lstm --shapes 0,1 --stat median
    .venv/bin/python bench/bench_step.py --cells lstm --shapes 0,1 --profile
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import gradtheory as gt
from gradtheory.numeric.torch_interop import from_torch

SHAPES = ((2, 32, 32, 100), (8, 128, 64, 100), (64, 512, 64, 50))
CELLS = ("elman", "gru", "lstm")


def _torch_module(torch, cell: str, n_in: int, hidden: int, dtype):
    torch.manual_seed(0)
    if cell == "elman":
        return torch.nn.RNN(n_in, hidden, nonlinearity="tanh", dtype=dtype)
    return {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](n_in, hidden, dtype=dtype)


def _steps(torch, cell, shape, dtype_name):
    """The two step functions (gradtheory, torch) on identical parameters and data."""
    n_in, hidden, batch, steps = shape
    dtype = getattr(torch, dtype_name)
    module = _torch_module(torch, cell, n_in, hidden, dtype)
    net = from_torch(module)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, batch, n_in)).astype(dtype_name)
    grad = rng.normal(size=(steps, batch, hidden)).astype(dtype_name)
    x_t, grad_t = torch.from_numpy(x), torch.from_numpy(grad)

    def ours():
        net.backward(net.forward(x), grad)

    def theirs():
        module.zero_grad(set_to_none=True)
        out, _ = module(x_t)
        out.backward(grad_t)

    return ours, theirs


def _time(fn, clock) -> float:
    start = clock()
    fn()
    return clock() - start


def measure(torch, cell, shape, dtype_name, reps: int, budget: float, clock, stat=min) -> tuple:
    """Seconds per step of (gradtheory, torch), timed alternately with ``clock``; ``stat``
    (min or median) of the repetitions."""
    ours, theirs = _steps(torch, cell, shape, dtype_name)
    ours(), theirs()  # warm-up (kernel cache, allocator, torch dispatch)
    a, b = [], []
    start = time.perf_counter()
    while len(a) < reps or (time.perf_counter() - start < budget and len(a) < 50):
        a.append(_time(ours, clock))
        b.append(_time(theirs, clock))
    return stat(a), stat(b)


def profile(torch, cell, shape, dtype_name, reps: int) -> dict:
    """Median CPU ms of the phases of one gradtheory step: ``forward`` (the step loop),
    ``partials`` (the kernels' partial derivatives over all steps, evaluated lazily on the
    tape; 0 on the fused path, whose reverse loop applies them from saved values, see
    ``gradtheory.numeric._fused``), ``backward`` (the reverse loop and the weight-gradient
    products); also ``gemm``:
    the same run's matrix products alone (forward and adjoint product at every step, the
    (T B)-long weight-gradient product), the floor of any BPTT executor on NumPy's BLAS."""
    n_in, hidden, batch, steps = shape
    net = from_torch(_torch_module(torch, cell, n_in, hidden, getattr(torch, dtype_name)))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, batch, n_in)).astype(dtype_name)
    grad = rng.normal(size=(steps, batch, hidden)).astype(dtype_name)
    width = net.plan.widths[0]
    w = rng.normal(size=(width, hidden)).astype(dtype_name)
    h, g = np.ones((batch, hidden), dtype_name), np.ones((batch, width), dtype_name)
    flat_g = np.ones((steps * batch, width), dtype_name)
    flat_h = np.ones((steps * batch, hidden), dtype_name)

    def gemm():
        for _ in range(steps):
            h @ w.T
            g @ w
        flat_g.T @ flat_h

    phases: dict = {"forward": [], "partials": [], "backward": [], "gemm": []}
    for rep in range(reps + 1):  # the first run warms up
        t0 = time.process_time()
        traj = net.forward(x)
        t1 = time.process_time()
        if getattr(traj.tape, "saved", None) is None:  # the NumPy path: partials first
            traj.tape.partials()
        t2 = time.process_time()
        net.backward(traj, grad)
        t3 = time.process_time()
        gemm()
        t4 = time.process_time()
        if rep:
            spans = (t1 - t0, t2 - t1, t3 - t2, t4 - t3)
            for times, value in zip(phases.values(), spans, strict=True):
                times.append(value)
    return {key: 1e3 * statistics.median(times) for key, times in phases.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smallest shape, few repetitions")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (1,2)")
    parser.add_argument("--reps", type=int, default=None, help="minimum repetitions per entry")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated cells")
    parser.add_argument(
        "--shapes", default=None, help="comma-separated indices into SHAPES (all by default)"
    )
    parser.add_argument(
        "--stat",
        choices=("min", "median"),
        default="min",
        help="statistic of the repetitions (median on a shared machine)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one thread: gradtheory's phases (forward, partials, backward) and the BLAS floor",
    )
    parser.add_argument(
        "--clock",
        choices=("auto", "cpu", "wall"),
        default="auto",
        help="auto: CPU time with one thread, wall time with more",
    )
    args = parser.parse_args(argv)
    import torch

    shapes = SHAPES[:1] if args.quick else SHAPES
    if args.shapes is not None:
        shapes = [SHAPES[int(i)] for i in args.shapes.split(",")]
    stat = {"min": min, "median": statistics.median}[args.stat]
    reps = args.reps or (3 if args.quick else 7)
    budget = 0.2 if args.quick else 1.5
    threads = [int(k) for k in args.threads.split(",")]
    blas = [
        f"{i['internal_api']} {i.get('version')}"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    print(
        f"gradtheory {gt.__version__}, numpy {np.__version__} ({', '.join(blas)}), "
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}"
    )
    if args.profile:
        torch.set_num_threads(1)
        print(f"{'dtype':>7} {'(n_in, hidden, B, T)':>21} {'cell':>6}  median CPU ms per phase")
        with threadpool_limits(1, user_api="blas"):
            for dtype_name in args.dtypes.split(","):
                for shape in shapes:
                    for cell in args.cells.split(","):
                        ms = profile(torch, cell, shape, dtype_name, reps)
                        parts = "  ".join(f"{k} {v:7.2f}" for k, v in ms.items())
                        print(f"{dtype_name:>7} {shape!s:>21} {cell:>6}  {parts}", flush=True)
        return
    header = (
        f"{'threads':>7} {'clock':>5} {'dtype':>7} {'(n_in, hidden, B, T)':>21} {'cell':>6} "
        f"{'gradtheory ms':>13} {'torch ms':>9} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for k in threads:
        torch.set_num_threads(k)
        name = args.clock if args.clock != "auto" else ("cpu" if k == 1 else "wall")
        clock = time.process_time if name == "cpu" else time.perf_counter
        with threadpool_limits(k, user_api="blas"):
            for dtype_name in args.dtypes.split(","):
                for shape in shapes:
                    for cell in args.cells.split(","):
                        ours, theirs = measure(
                            torch, cell, shape, dtype_name, reps, budget, clock, stat
                        )
                        print(
                            f"{k:>7} {name:>5} {dtype_name:>7} {shape!s:>21} {cell:>6} "
                            f"{ours * 1e3:>13.2f} {theirs * 1e3:>9.2f} {ours / theirs:>6.2f}",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
