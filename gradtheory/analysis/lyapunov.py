"""Lyapunov exponents of a network's state map by QR re-orthonormalisation.

k tangent vectors are pushed through the step Jacobians, V_t = J_t Q_{t-1}, and re-orthonormalised
every step, Q_t R_t = V_t; the exponents are the time averages of ln|diag R_t| (Shimada &
Nagashima 1979; Benettin, Galgani, Giorgilli & Strelcyn 1980). The tangent products use
:func:`gradtheory.numeric.tangent.jacobian_product`, O(n^2 k) per step, and the trajectory is
recorded in short chunks so memory stays bounded however long the run.

The largest exponent is the asymptotic log growth rate per step of a generic gradient
propagated back through the same chain (the adjoint obeys delta_{t-1} = J_t^T delta_t).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._progress import progress_bar
from .._repr import compact_repr
from .._validate import Bool, Int, NetworkArg, validate
from ..numeric import _jitgen
from ..numeric.tangent import tangent_log_growth
from . import _compiled, _lyap_blas
from ._batch import Results, split_h0

__all__ = ["DivergenceError", "LyapunovResult", "lyapunov"]

_TAPE_BYTES = 2**24  # budget for one recorded chunk (~16 MB)


class DivergenceError(FloatingPointError):
    """The state (or its tangent) left the floating-point range at step ``step``."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


@dataclass
class LyapunovResult:
    """Lyapunov exponents and their convergence.

    Attributes
    ----------
    exponents : ndarray, shape (k,)
        Natural log per step, descending, averaged over the sequences (``-inf`` where a step
        Jacobian is exactly singular in that direction, e.g. dead ReLU units).
    finite_time : ndarray, shape (n_blocks, k)
        Exponents estimated on consecutive blocks of ``block`` measured steps (sequence mean).
    stderr : ndarray, shape (k,)
        Standard error of the block means, std / sqrt(n_blocks) (NaN with fewer than 2 blocks,
        0 when every block agrees); it assumes blocks longer than the correlation time.
    per_sequence : ndarray, shape (B, k)
        Exponents of every sequence of the batch.
    steps, warmup, block : int
        Measured steps, discarded warm-up steps, steps per block.
    """

    __repr__ = compact_repr("exponents", "stderr", "steps", "warmup", "block")

    exponents: np.ndarray
    finite_time: np.ndarray = field(repr=False)
    stderr: np.ndarray
    per_sequence: np.ndarray = field(repr=False)
    steps: int
    warmup: int
    block: int

    def plot(self, ax=None, *, show: int = 6, **style):
        """Finite-time exponents converging over the measured steps; returns the Axes.

        >>> net = gt.Network(gt.cells.custom("4*h*(1 - h)", "h"))
        >>> gt.lyapunov(net, steps=2000, progress=False, return_details=True).plot().get_ylabel()
        'exponent (ln growth per step)'
        """
        from ..figures._plot_stability import plot_lyapunov

        return plot_lyapunov(self, ax, show=show, **style)

    @property
    def sum(self) -> float:
        """Sum of the k exponents (for k = n_state, the mean ln|det J|)."""
        return float(np.sum(self.exponents))

    @property
    def kaplan_yorke_dimension(self) -> float:
        """Kaplan-Yorke dimension j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}|.

        j is the largest index whose partial sum of exponents is non-negative.
        """
        cumulative = np.cumsum(self.exponents)
        j = int(np.sum(cumulative >= 0))
        if j == 0:
            return 0.0
        if j == len(self.exponents):
            return float(j)
        return j + float(cumulative[j - 1] / abs(self.exponents[j]))


def _summary(sums, block_sums, measured, warmup, block) -> LyapunovResult:
    """The result from sums (B, k) and block sums (n_blocks, B, k) of ln|r_ii|."""
    n_blocks, k = block_sums.shape[0], sums.shape[1]
    per_sequence = sums / measured
    mean = per_sequence.mean(axis=0)
    order = np.argsort(-mean, kind="stable")
    finite_time = (block_sums / block).mean(axis=1)[:, order]
    with np.errstate(invalid="ignore"):
        stderr = (
            finite_time.std(axis=0, ddof=1) / np.sqrt(n_blocks)
            if n_blocks > 1
            else np.full(k, np.nan)
        )
        if n_blocks > 1:  # blocks that all agree (also all -inf) have no spread
            stderr[np.all(finite_time == finite_time[:1], axis=0)] = 0.0
    return LyapunovResult(
        exponents=mean[order],
        finite_time=finite_time,
        stderr=stderr,
        per_sequence=per_sequence[:, order],
        steps=measured,
        warmup=warmup,
        block=block,
    )


def _compiled_spectrum(module, net, steps, h0, k, warmup, batch, block, rng, params):
    """Autonomous spectra of the K systems of ``params`` (K, m) by the compiled loop.

    ``h0``: None, (n,), (B, n) shared by all systems, or (K, B, n) per system. The default h0
    and the initial frame are drawn as for one system, so each system gets what a separate
    call would give it.
    """
    n, K = net.n_state, params.shape[0]
    if steps is None:
        raise ValueError("steps is required for an autonomous run (x=None) of a tied network")
    steps = _positive(steps, "steps")
    warmup = 100 if warmup is None else _nonnegative(warmup, "warmup")
    if h0 is not None and np.ndim(h0) == 3:
        starts = np.asarray(h0, dtype=np.float64)
        if starts.shape[0] != K or starts.shape[2] != n or not np.all(np.isfinite(starts)):
            raise ValueError(
                f"h0 must have shape ({K}, B, {n}) with finite values, got {starts.shape}"
            )
        batch = starts.shape[1]
    else:
        if h0 is not None and np.ndim(h0) == 2:
            batch = np.shape(h0)[0]
        else:
            batch = _positive(batch, "batch")
        starts = np.broadcast_to(_initial_state(net, h0, batch, rng), (K, batch, n))
    if starts.shape[1] != batch and starts.shape[1] == 1:
        starts = np.broadcast_to(starts, (K, batch, n))
    block = max(1, steps // 50) if block is None else _positive(block, "block")
    n_blocks = steps // block
    frame, _ = np.linalg.qr(rng.standard_normal((batch, n, k)))
    sums = np.zeros((K, batch, k))
    block_sums = np.zeros((K, n_blocks, batch, k))
    bad = np.empty((K, batch), dtype=np.int64)
    module.spectrum(
        np.ascontiguousarray(starts, dtype=np.float64),
        np.zeros((K, net.n_in)),
        params,
        np.ascontiguousarray(frame),
        warmup,
        steps,
        block,
        sums,
        block_sums,
        bad,
    )
    if (bad >= 0).any():
        codes = bad[bad >= 0]
        first = int(codes.min())
        step, code = first // 4, first % 4
        where = f" (system {int(np.argwhere(bad == first)[0, 0])})" if K > 1 else ""
        if code == 1:
            message = (
                f"the trajectory diverged{where}: the state is non-finite at step {step} "
                f"(of {warmup + steps}, warm-up {warmup}); try another h0 or parameters"
            )
        else:
            message = (
                f"the tangent frame became non-finite at step {step}{where} (an infinite or "
                "undefined step-Jacobian entry)"
            )
        raise DivergenceError(message, step)
    return [_summary(sums[i], block_sums[i], steps, warmup, block) for i in range(K)]


def _varied(net, x, steps, h0, k, warmup, batch, block, seed, progress, return_details):
    """Spectra of the K systems of a varied network: (K, k) exponents or Results."""
    n = net.n_state
    k = n if k is None else _positive(k, "k")
    if k > n:
        raise ValueError(f"k={k} exceeds the state dimension n_state={n}")
    module = _compiled.kernels(net) if x is None and _compiled.available(net) else None
    if module is not None:
        if h0 is not None and np.ndim(h0) >= 2:
            split_h0(h0, net.K, n)  # checks the shape
            if np.ndim(h0) == 2:  # one state per system
                h0 = np.asarray(h0)[:, None, :]
        results = _compiled_spectrum(
            module,
            net,
            steps,
            h0,
            k,
            warmup,
            batch,
            block,
            np.random.default_rng(seed),
            _jitgen.flat_params(net),
        )
    else:
        starts = split_h0(h0, net.K, n)
        results = [
            lyapunov(
                net.system(i),
                x,
                steps=steps,
                h0=starts[i],
                k=k,
                warmup=warmup,
                batch=batch,
                block=block,
                seed=seed,
                progress=progress,
                return_details=True,
            )
            for i in range(net.K)
        ]
    results = Results(results)
    return results if return_details else results.exponents


def _inputs(net, x, steps, warmup, batch):
    """Time-major inputs (T, B, n_in) and the resolved warm-up."""
    if x is None:
        if net.tied:
            if steps is None:
                raise ValueError(
                    "steps is required for an autonomous run (x=None) of a tied network"
                )
            steps = _positive(steps, "steps")
            warmup = 100 if warmup is None else _nonnegative(warmup, "warmup")
            return np.zeros((warmup + steps, batch, net.n_in), net.dtype), warmup
        x = np.zeros((net.depth, batch, net.n_in), net.dtype)
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise ValueError(f"x must be a real numeric array, got dtype {x.dtype}")
    if x.ndim == 1 and not net.tied:  # input at the first layer only
        first, x = x, np.zeros((net.depth, 1, net.n_in), net.dtype)
        x[0, 0] = first
    elif x.ndim == 2:
        x = x[:, None, :]
    if x.ndim != 3 or x.shape[2] != net.n_in:
        raise ValueError(f"x must have shape (T, n_in={net.n_in}) or (T, B, n_in), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or Inf; expected finite values")
    total = x.shape[0]
    if not net.tied and total != net.depth:
        raise ValueError(f"x of an untied network must have T = depth = {net.depth}, got {total}")
    if warmup is None:
        warmup = min(100, total // 10) if net.tied else 0
    warmup = _nonnegative(warmup, "warmup")
    if total <= warmup:
        raise ValueError(
            f"x has {total} steps but warmup={warmup} discards them all; "
            "pass a smaller warmup or a longer x"
        )
    if steps is not None and steps != total - warmup:
        raise ValueError(f"steps={steps} disagrees with len(x) - warmup = {total - warmup}")
    return x.astype(net.dtype, copy=False), warmup


def _positive(value, name):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _nonnegative(value, name):
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _initial_state(net, h0, batch, rng):
    if h0 is None:  # a generic point: zero is a fixed point of many maps (logistic, zero-bias tanh)
        return rng.uniform(0.1, 0.5, size=(batch, net.n_state)).astype(net.dtype)
    h0 = np.asarray(h0, dtype=net.dtype)
    if h0.ndim == 1:
        h0 = h0[None]
    if h0.ndim != 2 or h0.shape[1] != net.n_state:
        raise ValueError(
            f"h0 must have shape ({net.n_state},) or (B, {net.n_state}), got {h0.shape}"
        )
    if not np.all(np.isfinite(h0)):
        raise ValueError("h0 contains NaN or Inf; expected finite values")
    return h0


@validate(
    net=NetworkArg(),
    steps=Int(min=1, none=True),
    k=Int(min=1, none=True),
    warmup=Int(min=0, none=True),
    batch=Int(min=1),
    block=Int(min=1, none=True),
    seed=Int(min=0),
    progress=Bool(),
    return_details=Bool(),
)
def lyapunov(
    net,
    x=None,
    *,
    steps: int | None = None,
    h0=None,
    k: int | None = None,
    warmup: int | None = None,
    batch: int = 1,
    block: int | None = None,
    seed: int = 0,
    progress: bool = True,
    return_details: bool = False,
    reortho: int | None = None,
):
    """The k leading Lyapunov exponents of the state map along one (or B) trajectories.

    Parameters
    ----------
    net : Network
        Any cell, including custom maps (``gt.cells.custom("r*h*(1 - h)", "h", params=...)``).
    x : array, shape (T, n_in) or (T, B, n_in), optional
        Driving input. None: autonomous (zero input) for ``warmup + steps`` steps; for an untied
        network, the L layers with zero input (a 1-D ``x`` of shape (n_in,) feeds layer 1 only).
    steps : int, optional
        Measured steps after the warm-up (required for an autonomous tied network).
    h0 : array, shape (n_state,) or (B, n_state), optional
        Initial state. Default: seeded uniform(0.1, 0.5) in every component, a generic point
        (zero is a fixed point of the logistic map and of zero-bias tanh networks).
    k : int, optional
        Number of exponents, 1 <= k <= n_state (default n_state).
    warmup : int, optional
        Steps discarded for both the state and the tangent alignment. Default 100 (autonomous),
        min(100, T // 10) (driven), 0 (untied).
    batch : int
        Independent initial states run together when ``h0`` and ``x`` do not fix B.
    block : int, optional
        Steps per block of the finite-time exponents (default: measured steps // 50, at least 1).
    seed : int
        Seeds the default h0 and the initial tangent frame.
    progress : bool
        Show a progress bar (on a terminal, after a second of work).
    return_details : bool
        Return a :class:`LyapunovResult` instead of the exponents alone.
    reortho : int, optional
        Steps between re-orthonormalisations on the matrix-product path (large Elman-type
        networks, where one (n, n) @ (n, 1 + k) product per step carries the state and the
        frame). Default: chosen after every QR so that the frame's ln condition number stays
        below 10 (at most 32 steps); ln|r_ii| of a product of steps telescopes, so only the
        orthogonality lost in between (about 4 of 16 digits) differs from a QR every step.
        Small maps (compiled loops) and other cells re-orthonormalise every step.

    Returns
    -------
    ndarray, shape (k,), or LyapunovResult
        Natural log per step, descending. For a network made by
        :meth:`~gradtheory.Network.vary`: shape (K, k), or a sequence of K LyapunovResult
        (``h0`` then is (n_state,) shared, (K, n_state) or (K, B, n_state) per system; the
        default h0 and frame are those a separate call would draw).

    Raises
    ------
    DivergenceError
        If the state or the tangent frame becomes non-finite (with the step in ``.step``).

    Examples
    --------
    >>> logistic = gt.Network(gt.cells.custom("4*h*(1 - h)", "h"))
    >>> lyapunov(logistic, steps=10**4, progress=False).round(3)  # ln 2 = 0.693
    array([0.693])
    """
    from ..numeric.batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "lyapunov")
    if getattr(net, "K", None) is not None:
        return _varied(net, x, steps, h0, k, warmup, batch, block, seed, progress, return_details)
    n = net.n_state
    k = n if k is None else _positive(k, "k")
    if k > n:
        raise ValueError(f"k={k} exceeds the state dimension n_state={n}")
    rng = np.random.default_rng(seed)
    if x is None and net.tied and _compiled.available(net):
        module = _compiled.kernels(net)
        if module is not None:
            result = _compiled_spectrum(
                module, net, steps, h0, k, warmup, batch, block, rng, _jitgen.flat_params(net)
            )[0]
            return result if return_details else result.exponents
    if reortho is not None:
        reortho = _positive(reortho, "reortho")
    sizes = [np.shape(x)[1]] if x is not None and np.ndim(x) == 3 else []
    if h0 is not None and np.ndim(h0) == 2:
        sizes.append(np.shape(h0)[0])
    batch = max(sizes) if sizes else _positive(batch, "batch")
    x, warmup = _inputs(net, x, steps, warmup, batch)
    state = _initial_state(net, h0, batch, rng)
    if x.shape[1] != batch and x.shape[1] == 1:
        x = np.broadcast_to(x, (x.shape[0], batch, x.shape[2]))
    if state.shape[0] != batch and state.shape[0] == 1:
        state = np.repeat(state, batch, axis=0)
    if x.shape[1] != batch or state.shape[0] != batch:
        raise ValueError(f"x batch {x.shape[1]} and h0 batch {state.shape[0]} disagree")
    total = x.shape[0]
    measured = total - warmup
    block = max(1, measured // 50) if block is None else _positive(block, "block")
    n_blocks = measured // block
    frame, _ = np.linalg.qr(rng.standard_normal((batch, n, k)))
    structure = _lyap_blas.affine_pointwise_layout(net) if n > _jitgen.MAX_STATE else None
    if structure is not None:
        autonomous = not np.any(x)
        sums, block_sums, step, what = _lyap_blas.spectrum(
            net,
            structure,
            None if autonomous else x,
            total,
            state,
            frame,
            warmup,
            reortho,
            block,
            n_blocks,
        )
        if step >= 0:
            raise DivergenceError(
                f"the trajectory diverged: the state is non-finite by step {step} "
                f"(of {total}, warm-up {warmup}); try another h0 or parameters"
                if what == "state"
                else f"the tangent frame became non-finite by step {step} (an infinite or "
                "undefined step-Jacobian entry)",
                step,
            )
        result = _summary(sums, block_sums, measured, warmup, block)
        return result if return_details else result.exponents
    sums = np.zeros((batch, k))
    block_sums = np.zeros((n_blocks, batch, k))
    chunk = total if not net.tied else int(np.clip(_TAPE_BYTES // (256 * batch * n), 8, 1024))
    bar = progress_bar(total, desc="lyapunov", unit="step", enable=progress)
    try:
        for start in range(0, total, chunk):
            stop = min(start + chunk, total)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                traj = net.forward(x[start:stop], h0=state, record=True)
                finite = np.isfinite(traj.states[1:]).reshape(stop - start, -1).all(axis=1)
                if not finite.all():
                    bad = start + int(np.argmin(finite)) + 1
                    raise DivergenceError(
                        f"the trajectory diverged: the state is non-finite at step {bad} "
                        f"(of {total}, warm-up {warmup}); try another h0 or parameters",
                        bad,
                    )
                state = traj.states[-1]
                frame, logs = tangent_log_growth(net, traj, frame)
            bad = np.isnan(logs) | (logs == np.inf)  # a NaN frame stays NaN: checked once a chunk
            if bad.any():
                step = start + int(np.argmax(bad.reshape(len(logs), -1).any(axis=1))) + 1
                raise DivergenceError(
                    f"the tangent frame became non-finite at step {step} (an infinite or undefined "
                    "step-Jacobian entry)",
                    step,
                )
            t = np.arange(start, stop) - warmup  # index of each step among the measured ones
            keep = t >= 0
            sums += logs[keep].sum(axis=0)
            in_block = keep & (t < n_blocks * block)
            np.add.at(block_sums, t[in_block] // block, logs[in_block])
            bar.update(stop - start)
    finally:
        bar.close()
    result = _summary(sums, block_sums, measured, warmup, block)
    return result if return_details else result.exponents
