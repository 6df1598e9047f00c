"""Fixed points, slow points and their linear stability for a network at constant input.

Method (Sussillo & Barak 2013, "Opening the black box"; Golub & Sussillo 2018,
FixedPointFinder): minimise q(s) = 1/2 ||F(s) - s||^2 from many starts, polish, deduplicate and
classify each point by the eigenvalues of the step Jacobian J = dF/ds there. A point of a
discrete-time map is stable when every |lambda| < 1.

* n_state == 1: every fixed point in an interval is found deterministically (sign changes of
  g(s) = F(s) - s on a fine grid refined by ``brentq``, plus tangent touches).
* n_state >= 2: starts are trajectory samples with Gaussian noise (plus a grid when
  n_state == 2); all starts are optimised together by L-BFGS-B with the exact gradient
  (J - I)^T (F - s) and polished by batched Levenberg-Marquardt with Jacobian J - I.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ._mapeval import MapEval, check_states
from ._solvers import default_interval, levenberg_marquardt, minimise_q, roots_1d

__all__ = ["FixedPoints", "fixed_points"]


@dataclass(frozen=True)
class FixedPoints:
    """Fixed points of s -> F(s; x), sorted lexicographically, with their stability.

    Attributes
    ----------
    points : ndarray (m, n_state)
    eigenvalues : ndarray (m, n_state), complex
        Eigenvalues of J = dF/ds at each point, sorted by modulus, descending.
    jacobians : ndarray (m, n_state, n_state)
    q : ndarray (m,)
        1/2 ||F(s) - s||^2 at each point (below ``tol_q``).
    n_unstable : ndarray (m,) of int
        Number of |lambda| > 1 + marginal_tol (the saddle index).
    stable : ndarray (m,) of bool
        n_unstable == 0 (check ``marginal`` for points whose linearisation is inconclusive).
    marginal : ndarray (m,) of bool
        max |lambda| within ``marginal_tol`` of 1 (line or ring attractors, bifurcations).
    kind : list of str
        'stable' (n_unstable = 0), 'saddle' (0 < n_unstable < n_state), 'unstable' (all).
    slow_points : ndarray (k, n_state)
        Search end points with tol_q <= q < slow_q (local minima of q or slow valleys), kept
        apart and deduplicated at sqrt(dedup_tol); ``slow_q`` holds their q.
    """

    points: np.ndarray
    eigenvalues: np.ndarray
    jacobians: np.ndarray
    q: np.ndarray
    n_unstable: np.ndarray
    stable: np.ndarray
    marginal: np.ndarray
    kind: list
    slow_points: np.ndarray
    slow_q: np.ndarray
    info: dict = field(default_factory=dict)

    def plot(self, axes=None, *, net=None, x=None, grid: int = 40, **style):
        """State space and eigenvalues against the unit circle; returns the array of 2 Axes.

        Given the ``net`` (and constant input ``x``) a 1-D map also shows F(s) - s, a 2-D map
        the streamlines of F(s) - s and both nullclines; n-D points are projected on their
        first two principal axes.

        >>> net = gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 2.8}))
        >>> [ax.get_xlabel() for ax in gt.fixed_points(net).plot(net=net)][0]
        '$s$'
        """
        from ..figures._plot_stability import plot_fixed_points

        return plot_fixed_points(self, axes, net=net, x=x, grid=grid, **style)

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        counts = {k: self.kind.count(k) for k in ("stable", "saddle", "unstable")}
        return (
            f"FixedPoints(m={len(self)}, {counts}, marginal={int(self.marginal.sum())}, "
            f"slow_points={len(self.slow_points)})"
        )


def classify(
    ev: MapEval,
    points: np.ndarray,
    q: np.ndarray,
    slow: np.ndarray,
    slow_q: np.ndarray,
    marginal_tol: float = 1e-6,
    info: dict | None = None,
) -> FixedPoints:
    """Eigen-analysis of J at ``points`` (m, n) and the :class:`FixedPoints` record."""
    n = ev.n
    order = np.lexsort(np.round(points, 9).T[::-1]) if len(points) else np.arange(0)
    points, q = points[order], q[order]
    if len(points):
        _, jac = ev.value_jac(points)
        eig = np.linalg.eigvals(jac)
        eig = np.take_along_axis(eig, np.argsort(-np.abs(eig), axis=1, kind="stable"), axis=1)
    else:
        jac, eig = np.zeros((0, n, n)), np.zeros((0, n), complex)
    modulus = np.abs(eig)
    n_unstable = np.sum(modulus > 1.0 + marginal_tol, axis=1)
    marginal = np.abs(modulus.max(axis=1, initial=0.0) - 1.0) <= marginal_tol
    kind = ["stable" if u == 0 else "unstable" if u == n else "saddle" for u in n_unstable]
    if len(slow):
        so = np.lexsort(np.round(slow, 9).T[::-1])
        slow, slow_q = slow[so], slow_q[so]
    return FixedPoints(
        points=points,
        eigenvalues=eig.astype(complex),
        jacobians=jac,
        q=q,
        n_unstable=n_unstable,
        stable=n_unstable == 0,
        marginal=marginal,
        kind=kind,
        slow_points=slow.reshape(-1, n),
        slow_q=np.asarray(slow_q, float),
        info=info or {},
    )


def _dedup(points: np.ndarray, q: np.ndarray, tol: float, avoid=None) -> np.ndarray:
    """Indices of points kept (lowest q first), none within ``tol`` of a kept one or ``avoid``."""
    kept: list[int] = []
    reference = np.zeros((0, points.shape[1])) if avoid is None else avoid
    for i in np.argsort(q, kind="stable"):
        near = np.linalg.norm(reference - points[i], axis=1) <= tol if len(reference) else []
        if not np.any(near):
            kept.append(i)
            reference = np.vstack([reference, points[i]])
    return np.array(kept, dtype=int)


def _starts(
    ev: MapEval, n_starts: int, noise: float, rng, steps: int = 64, bound: float = 1e6
) -> np.ndarray:
    """Trajectory samples (random initial states run on x, one random time each) + noise."""
    s = rng.normal(0.0, 1.0, (n_starts, ev.n))
    traj = [s]
    for _ in range(steps):
        s = ev.value(s)
        traj.append(s)
    traj = np.stack(traj)
    pick = traj[rng.integers(0, steps + 1, n_starts), np.arange(n_starts)]
    pick = pick[np.all(np.isfinite(pick), axis=1) & (np.abs(pick).max(axis=1) < bound)]
    out = pick + noise * rng.normal(size=pick.shape)
    if ev.n == 2 and len(pick):
        lo, hi = pick.min(axis=0), pick.max(axis=0)
        pad = 0.1 * (hi - lo) + 0.1
        axes = [np.linspace(a - p, b + p, 21) for a, b, p in zip(lo, hi, pad, strict=True)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        out = np.vstack([out, grid])
    return out


def fixed_points(
    net,
    x=None,
    *,
    starts=None,
    n_starts: int = 256,
    noise: float = 0.05,
    seed: int = 0,
    tol_q: float = 1e-20,
    dedup_tol: float = 1e-6,
    slow_q: float = 1e-6,
    marginal_tol: float = 1e-6,
    interval=None,
    grid: int = 200_001,
    max_iter: int = 50,
    threads: int | None = 1,
    progress: bool = True,
) -> FixedPoints:
    """Fixed points s* = F(s*; x) of a tied network at constant input, with their stability.

    Parameters
    ----------
    net : Network
        Tied network or custom map.
    x : array (n_in,), optional
        Constant input (zeros if None).
    starts : array (k, n_state), optional
        Initial guesses (n_state >= 2); default: ``n_starts`` trajectory samples + ``noise``.
    n_starts : int
    noise : float
        Standard deviation of the Gaussian noise added to trajectory samples.
    seed : int
    tol_q : float
        A point with q = 1/2 ||F(s) - s||^2 < tol_q is a fixed point.
    dedup_tol : float
        Points closer than this (Euclidean) are one point (slow points: sqrt(dedup_tol)).
    slow_q : float
        End points of the search with tol_q <= q < slow_q are slow points: local minima of q,
        or flat valleys where the dynamics is slow but the polish did not reach q = 0 (1-D:
        refined local minima of |F(s) - s|).
    marginal_tol : float
        |lambda| within this of 1 counts as marginal.
    interval : (lo, hi), optional
        Search interval of a 1-D map; default [-100, 100] cut down to the range of F there.
    grid : int
        Grid size of the 1-D search.
    max_iter : int
        L-BFGS-B iterations (n_state >= 2) before the Levenberg-Marquardt polish.
    threads : int or None
        BLAS threads during the search (1: batched small products are fastest single-threaded,
        and much faster when other processes share the cores); None leaves the setting alone.
    progress : bool
        Show a tqdm bar over the stages.

    Returns
    -------
    FixedPoints

    Examples
    --------
    >>> fixed_points(gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 2.8}))).kind
    ['unstable', 'stable']
    """
    ev = MapEval(net, x)
    tols = {"tol_q": tol_q, "dedup_tol": dedup_tol, "slow_q": slow_q, "marginal_tol": marginal_tol}
    if ev.n == 1:
        if starts is not None:
            raise ValueError("starts are not used for 1-D maps: every root in `interval` is found")
        return _one_dimensional(ev, interval, grid, **tols)
    if interval is not None:
        raise ValueError("interval is for 1-D maps; pass starts for n_state >= 2")
    with threadpool_limits(threads) if threads else nullcontext():
        rng = np.random.default_rng(seed)
        bar = tqdm(total=3, desc="fixed points", disable=not progress, leave=False)
        if starts is None:
            s0 = _starts(ev, n_starts, noise, rng)
        else:
            s0 = check_states(starts, ev.n, "starts")
        bar.update(1)
        s1 = minimise_q(ev, s0, max_iter=max_iter)
        bar.update(1)
        s2, q, merged = levenberg_marquardt(ev, s1, q_stop=1e-8 * tol_q)
        bar.update(1)
        bar.close()
        good = np.isfinite(q) & ~merged
        fixed = good & (q < tol_q)
        idx = np.flatnonzero(fixed)
        keep = idx[_dedup(s2[idx], q[idx], dedup_tol)]
        sidx = np.flatnonzero(good & ~fixed & (q < slow_q))
        skeep = sidx[_dedup(s2[sidx], q[sidx], np.sqrt(dedup_tol), avoid=s2[keep])]
        info = {
            "method": "L-BFGS-B + Levenberg-Marquardt",
            "n_starts": len(s0),
            "n_converged": int(fixed.sum()),
            "n_merged": int(merged.sum()),
        }
        return classify(ev, s2[keep], q[keep], s2[skeep], q[skeep], marginal_tol, info)


def _one_dimensional(ev, interval, grid, tol_q, dedup_tol, slow_q, marginal_tol) -> FixedPoints:
    """Every root of F(s) - s in the interval (sign changes + brentq, tangent touches)."""
    interval = default_interval(ev) if interval is None else tuple(interval)
    roots, near = roots_1d(ev, interval, grid, touch_tol=np.sqrt(2 * tol_q))
    pts = roots[:, None]
    q = 0.5 * (ev.value(pts) - pts)[:, 0] ** 2 if len(roots) else np.zeros(0)
    keep = _dedup(pts, q, dedup_tol) if len(pts) else np.zeros(0, int)
    slow = near[:, None]
    sq = 0.5 * (ev.value(slow) - slow)[:, 0] ** 2 if len(near) else np.zeros(0)
    slow, sq = slow[sq < slow_q], sq[sq < slow_q]
    info = {"interval": interval, "method": "grid + brentq"}
    return classify(ev, pts[keep], q[keep], slow, sq, marginal_tol, info)
