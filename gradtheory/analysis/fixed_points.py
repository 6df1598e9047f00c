"""Fixed points, slow points and their linear stability for a network at constant input.

Method (Sussillo & Barak 2013, "Opening the black box"; Golub & Sussillo 2018,
FixedPointFinder): minimise q(s) = 1/2 ||F(s) - s||^2 from many starts, polish, deduplicate and
classify each point by the eigenvalues of the step Jacobian J = dF/ds there. A point of a
discrete-time map is stable when every |lambda| < 1.

* n_state == 1: every fixed point in an interval is found deterministically (sign changes of
  g(s) = F(s) - s on a fine grid refined by ``brentq``, plus tangent touches), and interval
  arithmetic on the cell's own expressions proves the list complete where it can
  (:mod:`._interval`): ``.exhaustive``.
* n_state >= 2: rounds of starts until a round finds nothing new. Round 1: trajectory samples
  with Gaussian noise (plus a grid when n_state == 2); later rounds: uniform in the box of
  everything seen and on segments between known points. All starts of a round are optimised
  together by L-BFGS-B with the exact gradient (J - I)^T (F - s) and polished by batched
  Levenberg-Marquardt with Jacobian J - I. When the map is odd, F(-s) = -F(s) (tested on the
  network itself, see :func:`._starts.odd_map`), the mirror image -s* of every point is added
  too.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

from .._progress import progress_bar
from .._validate import Bool, Int, NetworkArg, Real, validate
from ._batch import each_system
from ._interval import certify_roots
from ._mapeval import MapEval, check_states
from ._solvers import default_interval, levenberg_marquardt, minimise_q, roots_1d
from ._starts import later_starts, odd_map, trajectory_starts

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
    exhaustive : bool
        True only where the search is a proof that no fixed point is missing (1-D maps whose
        interval-arithmetic certificate closes; see :func:`fixed_points`); False means the list
        may be partial, not that it is.
    rounds : int
        Search rounds run (1 for a 1-D map).
    rounds_without_new : int
        Rounds in a row, at the end, that found no new point; 0 means the round cap stopped
        a search that was still finding points (1-D: 1, one deterministic pass).
    n_starts : int
        Starts used over all rounds (1-D: points of the grid).
    mirrored : bool
        Whether mirror images -s* were added (F(-s) = -F(s) established on the map).
    info : dict
        Method and counts (``n_converged``, ``n_merged``, ``n_mirrored``; 1-D: ``interval``,
        ``proof_cells``).
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
    exhaustive: bool = False
    rounds: int = 1
    rounds_without_new: int = 0
    n_starts: int = 0
    mirrored: bool = False
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
            f"slow_points={len(self.slow_points)}, exhaustive={self.exhaustive}, "
            f"rounds={self.rounds}, rounds_without_new={self.rounds_without_new}, "
            f"n_starts={self.n_starts})"
        )


def classify(
    ev: MapEval,
    points: np.ndarray,
    q: np.ndarray,
    slow: np.ndarray,
    slow_q: np.ndarray,
    marginal_tol: float = 1e-6,
    info: dict | None = None,
    **search_record,
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
        **search_record,
    )


def _dedup(points: np.ndarray, q: np.ndarray, tol: float, avoid=None) -> np.ndarray:
    """Indices of points kept (lowest q first), none within ``tol`` of a kept one or ``avoid``.

    One dimension, nothing to avoid: runs of sorted points with gaps <= ``tol`` are one point
    (the lowest q of the run), in O(m log m): a map with a continuum of fixed points (the
    identity) puts a root at every grid point.
    """
    if points.shape[1] == 1 and avoid is None and len(points) > 1:
        order = np.argsort(points[:, 0], kind="stable")
        run = np.concatenate([[0], np.cumsum(np.diff(points[order, 0]) > tol)])
        by_run = np.lexsort((q[order], run))  # within each run, lowest q first
        first = np.concatenate([[True], np.diff(run[by_run]) > 0])
        return np.sort(order[by_run[first]])
    kept: list[int] = []
    reference = np.zeros((0, points.shape[1])) if avoid is None else avoid
    for i in np.argsort(q, kind="stable"):
        near = np.linalg.norm(reference - points[i], axis=1) <= tol if len(reference) else []
        if not np.any(near):
            kept.append(i)
            reference = np.vstack([reference, points[i]])
    return np.array(kept, dtype=int)


def _polish(ev: MapEval, s0: np.ndarray, max_iter: int, tol_q: float, slow_q: float):
    """Minimise q, polish, split the end points into fixed (q < tol_q) and slow candidates."""
    s1 = minimise_q(ev, s0, max_iter=max_iter) if max_iter > 0 else s0
    s2, q, merged = levenberg_marquardt(ev, s1, q_stop=1e-8 * tol_q)
    good = np.isfinite(q) & ~merged
    fixed = good & (q < tol_q)
    slow = good & ~fixed & (q < slow_q)
    return s2[fixed], q[fixed], s2[slow], q[slow], int(merged.sum())


def search(
    ev: MapEval,
    starts: np.ndarray | None,
    *,
    n_starts: int,
    noise: float,
    seed: int,
    tol_q: float,
    dedup_tol: float,
    slow_q: float,
    marginal_tol: float,
    max_iter: int,
    max_rounds: int,
    patience: int,
    symmetry: bool | None,
    bar=None,
) -> FixedPoints:
    """Rounds of q-minimisation for one system (n_state >= 2); see :func:`fixed_points`."""
    rng = np.random.default_rng(seed)
    odd = odd_map(ev, seed) if symmetry is None else bool(symmetry)
    points, pq = np.zeros((0, ev.n)), np.zeros(0)
    slow, slq = [np.zeros((0, ev.n))], [np.zeros(0)]
    visited = np.zeros((0, ev.n))
    used = merged = mirrored = converged = 0
    rounds = without_new = 0
    while rounds < max_rounds and without_new < patience:
        if rounds == 0 and starts is not None:
            s0 = starts
            visited = starts
        elif rounds == 0:
            s0, visited = trajectory_starts(ev, n_starts, noise, rng)
        else:
            s0 = later_starts(points, visited, n_starts, noise, rng)
        rounds += 1
        used += len(s0)
        fx, fq, sx, sq, m = _polish(ev, s0, max_iter, tol_q, slow_q)
        merged, converged = merged + m, converged + len(fx)
        slow.append(sx)
        slq.append(sq)
        if odd and len(fx):
            mx, mq, *_ = _polish(ev, -fx, 0, tol_q, slow_q)
            mirrored += len(mx)
            fx, fq = np.vstack([fx, mx]), np.concatenate([fq, mq])
        keep = _dedup(fx, fq, dedup_tol, avoid=points) if len(fx) else np.zeros(0, int)
        points, pq = np.vstack([points, fx[keep]]), np.concatenate([pq, fq[keep]])
        without_new = without_new + 1 if len(keep) == 0 else 0
        if bar is not None:
            bar.update(1)
    slow, slq = np.vstack(slow), np.concatenate(slq)
    skeep = _dedup(slow, slq, np.sqrt(dedup_tol), avoid=points) if len(slow) else np.zeros(0, int)
    info = {
        "method": "rounds of L-BFGS-B + Levenberg-Marquardt",
        "n_converged": converged,
        "n_merged": merged,
        "n_mirrored": mirrored,
    }
    return classify(
        ev,
        points,
        pq,
        slow[skeep],
        slq[skeep],
        marginal_tol,
        info,
        exhaustive=False,
        rounds=rounds,
        rounds_without_new=without_new,
        n_starts=used,
        mirrored=odd,
    )


@validate(
    net=NetworkArg(),
    n_starts=Int(min=1),
    noise=Real(min=0),
    seed=Int(min=0),
    tol_q=Real(gt=0),
    dedup_tol=Real(gt=0),
    slow_q=Real(gt=0),
    marginal_tol=Real(gt=0),
    grid=Int(min=3),
    max_iter=Int(min=1),
    max_rounds=Int(min=1),
    patience=Int(min=1),
    threads=Int(min=1, none=True),
    progress=Bool(),
)
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
    max_rounds: int = 16,
    patience: int = 1,
    symmetry: bool | None = None,
    threads: int | None = 1,
    progress: bool = True,
) -> FixedPoints:
    """Fixed points s* = F(s*; x) of a tied network at constant input, with their stability.

    Completeness. ``.exhaustive`` is True only where the search is a proof, which is where a
    1-D map's interval-arithmetic certificate closes: the points listed are then every fixed
    point in the search interval ``info["interval"]`` (with the default interval, every one
    in [-100, 100]). The cell's own expressions, evaluated on intervals with outward rounding,
    split the search interval into cells that provably hold no root of g(s) = F(s) - s (0 lies
    outside the enclosure of g) or exactly one (the enclosure of g' excludes 0, so g is
    strictly monotone, and g changes sign), and each such cell holds exactly one listed point
    (a root that the grid missed is added by ``brentq``). It stays False for tangent roots,
    roots on the interval's ends, expressions it cannot enclose (Max, sin, ...) and a sampled
    default interval. With n_state >= 2 no search is a proof and ``.exhaustive`` is False:
    rounds of ``n_starts`` starts run until ``patience`` rounds in a row find nothing new, at
    most ``max_rounds`` rounds (a budget of ``n_starts * max_rounds`` starts, 4096 by
    default); ``.rounds_without_new < patience`` means that the cap stopped a search still
    finding points. With the defaults, every fixed point of h -> tanh(2h) in 3 units (27) and
    of the 4-unit FixedPointFinder test network (9) is found for seeds 0-19
    (tests/analysis/test_fixed_points.py).

    Parameters
    ----------
    net : Network
        Tied network or custom map.
    x : array (n_in,), optional
        Constant input (zeros if None).
    starts : array (k, n_state), optional
        Initial guesses of the first round (n_state >= 2); default: ``n_starts`` trajectory
        samples + ``noise``. Later rounds generate their own starts.
    n_starts : int
        Starts per round (n_state >= 2).
    noise : float
        Standard deviation of the Gaussian noise added to trajectory samples.
    seed : int
        Seeds every random start (and the states of the oddness test).
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
        Search interval of a 1-D map; default [-100, 100] cut down to an enclosure of the
        range of F there (a fixed point lies in the range), so that ``.exhaustive`` covers
        every fixed point in [-100, 100].
    grid : int
        Grid size of the 1-D search.
    max_iter : int
        L-BFGS-B iterations (n_state >= 2) before the Levenberg-Marquardt polish.
    max_rounds : int
        Cap on the number of rounds (n_state >= 2).
    patience : int
        Rounds in a row without a new point that end the search.
    symmetry : bool or None
        Add mirror images -s*: None tests F(-s) = -F(s) on the map (bias, input and activation
        all take part; never decided from the activation's name), True assumes it, False never.
        A mirror image is kept only if it polishes to q < tol_q, so a wrong True adds nothing
        false.
    threads : int or None
        BLAS threads during the search (1: batched small products are fastest single-threaded,
        and much faster when other processes share the cores); None leaves the setting alone.
    progress : bool
        Show a tqdm bar over the rounds.

    Returns
    -------
    FixedPoints
        Points with stability, plus ``exhaustive``, ``rounds``, ``rounds_without_new``,
        ``n_starts`` (starts used; 1-D: grid points) and ``mirrored`` (symmetry used).

    Examples
    --------
    >>> import numpy as np
    >>> import gradtheory as gt
    >>> logistic = gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 2.8}))
    >>> fp = gt.fixed_points(logistic, progress=False)
    >>> fp.kind, fp.exhaustive
    (['unstable', 'stable'], True)
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=3,
    ...                  params={"W": 2 * np.eye(3), "b": np.zeros(3)})
    >>> fp = gt.fixed_points(net, progress=False)
    >>> len(fp), fp.exhaustive, fp.mirrored, fp.rounds_without_new, fp.n_starts
    (27, False, True, 1, 768)
    """
    if getattr(net, "K", None) is not None:  # a varied network: one FixedPoints per system
        options = {k: v for k, v in locals().items() if k not in ("net", "x")}
        return each_system(fixed_points, net, x, **options)
    from ..numeric.batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "fixed_points")
    ev = MapEval(net, x)
    tols = {"tol_q": tol_q, "dedup_tol": dedup_tol, "slow_q": slow_q, "marginal_tol": marginal_tol}
    if ev.n == 1:
        if starts is not None:
            raise ValueError("starts are not used for 1-D maps: every root in `interval` is found")
        return _one_dimensional(ev, interval, grid, **tols)
    if interval is not None:
        raise ValueError("interval is for 1-D maps; pass starts for n_state >= 2")
    if symmetry is not None and not isinstance(symmetry, bool | np.bool_):
        raise TypeError(
            f"fixed_points: argument 'symmetry' must be True, False or None; got {symmetry!r}"
        )
    if starts is not None:
        starts = check_states(starts, ev.n, "starts")
    with threadpool_limits(threads) if threads else nullcontext():
        bar = progress_bar(max_rounds, desc="fixed points", enable=progress)
        try:
            return search(
                ev,
                starts,
                n_starts=n_starts,
                noise=noise,
                seed=seed,
                max_iter=max_iter,
                max_rounds=max_rounds,
                patience=patience,
                symmetry=symmetry,
                bar=bar,
                **tols,
            )
        finally:
            bar.close()


def _one_dimensional(ev, interval, grid, tol_q, dedup_tol, slow_q, marginal_tol) -> FixedPoints:
    """Every root of F(s) - s in the interval (sign changes + brentq, tangent touches), and an
    interval-arithmetic proof that none is missing where the cell allows one."""
    if interval is None:
        interval, covers = default_interval(ev)
    else:
        interval, covers = tuple(float(v) for v in interval), True
    roots, near = roots_1d(ev, interval, grid, touch_tol=np.sqrt(2 * tol_q))
    cells = certify_roots(ev.net, ev.x, interval)
    exhaustive = False
    if cells is not None:
        roots, exhaustive = _match_cells(ev, roots, cells)
        exhaustive = exhaustive and covers
    pts = roots[:, None]
    q = 0.5 * (ev.value(pts) - pts)[:, 0] ** 2 if len(roots) else np.zeros(0)
    keep = _dedup(pts, q, dedup_tol) if len(pts) else np.zeros(0, int)
    exhaustive = exhaustive and len(keep) == len(pts) and bool(np.all(q < tol_q))
    slow = near[:, None]
    sq = 0.5 * (ev.value(slow) - slow)[:, 0] ** 2 if len(near) else np.zeros(0)
    slow, sq = slow[sq < slow_q], sq[sq < slow_q]
    info = {
        "interval": interval,
        "method": "grid + brentq; interval-arithmetic proof",
        "proof_cells": None if cells is None else len(cells),
    }
    return classify(
        ev,
        pts[keep],
        q[keep],
        slow,
        sq,
        marginal_tol,
        info,
        exhaustive=exhaustive,
        rounds=1,
        rounds_without_new=1,
        n_starts=grid,
    )


def _match_cells(ev, roots: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, bool]:
    """Pair the roots found with the proven cells (one root each), find any cell's missing root
    by brentq, and say whether the pairing is one to one."""
    slack = 1e-12 * (1.0 + np.abs(roots))
    inside = (roots[:, None] >= cells[None, :, 0] - slack[:, None]) & (
        roots[:, None] <= cells[None, :, 1] + slack[:, None]
    )
    extra = []
    for a, b in cells[~inside.any(axis=0)]:
        ga, gb = (ev.value(np.array([[a], [b]]))[:, 0] - [a, b]).tolist()
        if ga * gb > 0:
            return roots, False
        extra.append(
            a
            if ga == 0
            else b
            if gb == 0
            else optimize.brentq(
                lambda v: ev.value(np.array([[v]]))[0, 0] - v,
                a,
                b,
                xtol=1e-16,
                rtol=4 * np.finfo(float).eps,
            )
        )
    one_to_one = bool(np.all(inside.sum(axis=1) == 1) and np.all(inside.sum(axis=0) <= 1))
    return np.sort(np.concatenate([roots, extra])), one_to_one
