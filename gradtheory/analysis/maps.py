"""Iterated maps: orbits, cobweb diagrams and attractors of a network at constant input.

A tied network at constant input x is an autonomous map s_t = F(s_{t-1}). The lecture notes
(CSC421 Lecture 14, "Iterated functions": f(x) = 3.5 x (1 - x)) study RNNs through such maps;
:func:`attractor` says where an orbit ends (fixed point, cycle, chaos, divergence) and how fast
nearby orbits separate there (largest Lyapunov exponent, natural log per step).
Divergence (a state that is non-finite or beyond ``bound``) is reported, never returned as NaN.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._repr import compact_repr
from .._validate import Int, NetworkArg, Real, validate
from ..numeric import _jitgen
from . import _compiled
from ._batch import per_system, split_h0
from ._mapeval import MapEval, check_states
from ._orbits import converging, escaping, find_period, iterate, polish_cycle, tangent_growth

__all__ = ["Attractor", "attractor", "cobweb", "orbit"]


@validate(net=NetworkArg(), steps=Int(min=1), bound=Real(gt=0))
def orbit(net, h0, steps: int, x=None, *, bound: float = 1e12) -> np.ndarray:
    """The orbit h0, F(h0), F(F(h0)), ... of the map at constant input ``x``.

    Parameters
    ----------
    net : Network
    h0 : array (n_state,) or (B, n_state)
    steps : int
    x : array (n_in,), optional
    bound : float
        A state with a coordinate beyond this (or non-finite) has diverged; its later states
        are +-inf and a warning names the step.

    Returns
    -------
    ndarray (steps+1, n_state), or (steps+1, B, n_state) for a batch of initial states
        For a network made by :meth:`~gradtheory.Network.vary`: (K, steps+1, n_state) from h0
        (n_state,) or (K, n_state), and (K, steps+1, B, n_state) from h0 (K, B, n_state).

    Examples
    --------
    >>> orbit(gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 2.0})), [0.1], 2)[:, 0]
    array([0.1   , 0.18  , 0.2952])
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if getattr(net, "K", None) is not None:
        return _varied_orbit(net, h0, int(steps), x, bound)
    ev = MapEval(net, x)
    single = np.ndim(h0) <= 1
    s = check_states(h0, ev.n, "h0")
    states, diverged = iterate(ev, s, int(steps), bound)
    _warn_if_diverged(diverged, bound, stacklevel=3)
    return states[:, 0] if single else states


def _warn_if_diverged(diverged: np.ndarray, bound: float, stacklevel: int) -> None:
    """Warn, naming the first step, if any orbit diverged (``diverged`` >= 0: its step)."""
    if (diverged >= 0).any():
        warnings.warn(
            f"orbit diverged (|s| > {bound:g}) at step {int(diverged[diverged >= 0].min())};"
            " later states are +-inf",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


def _varied_orbit(net, h0, steps, x, bound):
    """Orbits of the K systems: (K, steps+1, n) or (K, steps+1, B, n)."""
    K, n = net.K, net.n_state
    starts = split_h0(h0, K, n)
    single = np.ndim(h0) <= 1 or (np.ndim(h0) == 2)
    states = np.stack([check_states(s, n, "h0") for s in starts])  # (K, B, n)
    module = _compiled.kernels(net) if _compiled.available(net) else None
    if module is not None:
        X = _compiled.constant_inputs(net, x, K)
        out = np.empty((K, states.shape[1], steps + 1, n))
        diverged = np.empty((K, states.shape[1]), dtype=np.int64)
        module.iterate(states, X, _jitgen.flat_params(net), steps, float(bound), out, diverged)
        out = out.transpose(0, 2, 1, 3)
    else:
        runs = [iterate(MapEval(net.system(k), x), states[k], steps, bound) for k in range(K)]
        out = np.stack([r[0] for r in runs])
        diverged = np.stack([r[1] for r in runs])
    _warn_if_diverged(diverged, bound, stacklevel=4)
    return out[:, :, 0] if single else out


@validate(net=NetworkArg(), steps=Int(min=1), n_curve=Int(min=2), bound=Real(gt=0))
def cobweb(
    net, h0, steps: int, x=None, *, span=None, n_curve: int = 400, bound: float = 1e12
) -> dict:
    """Line segments of the cobweb diagram of a one-dimensional map.

    Parameters
    ----------
    net : Network
        With n_state == 1.
    h0 : float
    steps : int
    x : array (n_in,), optional
    span : (lo, hi), optional
        Range of the map's graph; default the orbit's range padded by 10 %.
    n_curve : int
    bound : float

    Returns
    -------
    dict
        ``orbit`` (k+1,), ``path`` (2k+1, 2) vertices (h0,h0), (h0,h1), (h1,h1), (h1,h2), ...,
        ``segments`` (2k, 2, 2) for a LineCollection, ``curve`` (n_curve, 2) the graph of F,
        ``diagonal`` (2, 2), ``diverged_at`` (step or None); k = steps, or fewer if it diverged.

    Examples
    --------
    >>> net = gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 2.8}))
    >>> cobweb(net, 0.1, 50)["segments"].shape
    (100, 2, 2)
    """
    ev = MapEval(net, x)
    if ev.n != 1:
        raise ValueError(
            f"cobweb diagrams are for one-dimensional maps; this one has n_state = {ev.n}"
        )
    s = check_states(np.reshape(h0, (-1,)), 1, "h0")
    states, diverged = iterate(ev, s, int(steps), bound)
    k = int(steps) if diverged[0] < 0 else int(diverged[0]) - 1
    h = states[: k + 1, 0, 0]
    path = np.empty((2 * k + 1, 2))
    path[0::2, 0], path[0::2, 1] = h, h
    path[1::2, 0], path[1::2, 1] = h[:-1], h[1:]
    lo, hi = (h.min(), h.max()) if span is None else span
    pad = 0.1 * (hi - lo) + (1e-3 if span is None else 0.0)
    grid = np.linspace(lo - pad if span is None else lo, hi + pad if span is None else hi, n_curve)
    curve = np.column_stack([grid, ev.value(grid[:, None])[:, 0]])
    return {
        "orbit": h,
        "path": path,
        "segments": np.stack([path[:-1], path[1:]], axis=1),
        "curve": curve,
        "diagonal": np.array([[grid[0], grid[0]], [grid[-1], grid[-1]]]),
        "diverged_at": None if diverged[0] < 0 else int(diverged[0]),
    }


@dataclass(frozen=True)
class Attractor:
    """Where an orbit ends.

    Attributes
    ----------
    kind : str
        'fixed_point', 'cycle', 'chaos' (aperiodic, exponent > chaos_tol), 'quasi_periodic'
        (bounded, aperiodic up to max_period, exponent within chaos_tol of 0: quasi-periodic
        motion or convergence too slow to resolve) or 'divergent'.
    period : int
        p of a fixed point (1) or cycle; 0 otherwise.
    points : ndarray (p, n_state)
        The cycle in orbit order, starting at its lexicographically smallest point (Newton-
        polished on F^p); for chaos and quasi-periodic motion the recorded orbit; empty if
        divergent.
    lyapunov : float
        Largest Lyapunov exponent (natural log per step): (1/p) ln rho(J_p ... J_1) on a cycle
        (-inf if superstable), tangent-vector growth along the orbit otherwise (for a divergent
        orbit, along its part before divergence; inf if none).
    multipliers : ndarray (n_state,)
        Eigenvalues of the cycle's monodromy matrix J_p ... J_1 (empty if not periodic).
    steps : int
        Map iterations used.
    diverged_at : int or None
    """

    __repr__ = compact_repr("kind", "period", "points", "lyapunov", "steps", "diverged_at")

    kind: str
    period: int
    points: np.ndarray
    lyapunov: float
    multipliers: np.ndarray
    steps: int
    diverged_at: int | None = None

    def plot(self, ax=None, *, net=None, x=None, h0=None, steps: int = 60, **style):
        """A 1-D map given its ``net``: cobweb from ``h0`` to the attractor; else the return map
        (1-D) or the first two coordinates (n-D). Returns the Axes.

        >>> logistic = gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 3.5}))
        >>> gt.attractor(logistic, [0.2]).plot(net=logistic, h0=0.2).get_title()[:16]
        'cycle, period 4,'
        """
        from ..figures._plot_maps import plot_attractor

        return plot_attractor(self, ax, net=net, x=x, h0=h0, steps=steps, **style)


@validate(
    net=NetworkArg(),
    transient=Int(min=0),
    max_period=Int(min=1),
    tol=Real(gt=0),
    bound=Real(gt=0),
    lyap_steps=Int(min=1),
    chaos_tol=Real(gt=0),
    max_steps=Int(min=1),
    seed=Int(min=0),
)
def attractor(
    net,
    h0,
    x=None,
    *,
    transient: int = 1000,
    max_period: int = 64,
    tol: float = 1e-9,
    bound: float = 1e12,
    lyap_steps: int = 2000,
    chaos_tol: float = 5e-3,
    max_steps: int = 50_000,
    seed: int = 0,
) -> Attractor:
    """The attractor reached from ``h0`` at constant input ``x``, and its largest exponent.

    Parameters
    ----------
    net : Network
    h0 : array (n_state,)
    x : array (n_in,), optional
    transient : int
        Steps discarded first.
    max_period : int
        Longest cycle looked for.
    tol : float
        A cycle repeats to within tol (1 + |s|).
    bound : float
        Divergence: a coordinate beyond ``bound`` or non-finite.
    lyap_steps : int
        Steps recorded after the transient (Lyapunov estimate of aperiodic orbits).
    chaos_tol : float
        Aperiodic orbits with exponent above this are 'chaos'.
    max_steps : int
        Orbits still converging (exponent < -chaos_tol, or steps shrinking) are iterated up
        to this many steps.
    seed : int
        Initial tangent vector.

    Returns
    -------
    Attractor
        For a network made by :meth:`~gradtheory.Network.vary`: a sequence of K Attractors
        (``.period``, ``.lyapunov``, ... stacked), from h0 (n_state,) or (K, n_state).

    Examples
    --------
    >>> attractor(gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 3.5})), [0.2]).period
    4
    """
    if getattr(net, "K", None) is not None:
        return per_system(
            attractor,
            net,
            h0,
            x,
            transient=transient,
            max_period=max_period,
            tol=tol,
            bound=bound,
            lyap_steps=lyap_steps,
            chaos_tol=chaos_tol,
            max_steps=max_steps,
            seed=seed,
        )
    ev = MapEval(net, x)
    s = check_states(h0, ev.n, "h0")
    if s.shape[0] != 1:
        raise ValueError("attractor takes one initial state (n_state,); use basins for many")
    rng = np.random.default_rng(seed)
    empty = np.zeros((0, ev.n))
    used, skip = 0, int(transient)
    while True:
        states, diverged = iterate(ev, s, skip, bound)
        if diverged[0] >= 0:
            before = states[: diverged[0], 0]
            _, lyap, _ = tangent_growth(ev, states[0, 0], max(len(before) - 1, 0), rng)
            return Attractor(
                "divergent",
                0,
                empty,
                float(lyap if len(before) > 1 else np.inf),
                np.zeros(0, complex),
                used + int(diverged[0]),
                used + int(diverged[0]),
            )
        used += skip
        window = max(lyap_steps, 2 * max_period + 1)
        rec, lyap, done = tangent_growth(ev, states[-1, 0], window, rng)
        big = ~np.all(np.isfinite(rec), axis=1) | (np.abs(rec).max(axis=1) > bound)
        if done < window or big.any():
            first = int(np.argmax(big)) if big.any() else done
            return Attractor(
                "divergent", 0, empty, float(lyap), np.zeros(0, complex), used + first, used + first
            )
        used += window
        p = find_period(rec[-(2 * max_period + 1) :], max_period, tol)
        if p:
            start = rec[-p:][np.lexsort(np.round(rec[-p:], 9).T[::-1])[0]]
            pts, mono = polish_cycle(ev, start, p)
            mult = np.linalg.eigvals(mono)
            mult = mult[np.argsort(-np.abs(mult), kind="stable")]
            with np.errstate(divide="ignore"):
                exponent = float(np.log(np.abs(mult[0])) / p)
            return Attractor(
                "fixed_point" if p == 1 else "cycle", p, pts, exponent, mult.astype(complex), used
            )
        if (lyap < -chaos_tol or converging(rec)) and used < max_steps:
            s, skip = rec[-1][None], min(max_steps - used, max(used, 1000))
            continue
        if lyap > chaos_tol:
            kind = "chaos"
        elif escaping(rec):
            return Attractor("divergent", 0, empty, float(lyap), np.zeros(0, complex), used, None)
        else:
            kind = "quasi_periodic"
        return Attractor(kind, 0, rec, float(lyap), np.zeros(0, complex), used)
