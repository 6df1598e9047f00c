"""Private root finders for fixed points s = F(s): batched q-minimisation and 1-D bracketing.

* :func:`minimise_q` minimises q(s) = 1/2 ||F(s) - s||^2 for all starts at once with
  ``scipy.optimize.minimize(method="L-BFGS-B")`` on sum_i q(s_i) (the problems are separable),
  with the exact gradient (J - I)^T (F(s) - s) from one reverse pass per evaluation.
* :func:`levenberg_marquardt` polishes every row with a batched damped Newton step on the
  residual F(s) - s with Jacobian J - I (quadratic convergence at regular roots).
* :func:`roots_1d` finds every root of g(s) = F(s) - s of a one-dimensional map in an interval
  by sign changes on a fine grid + ``brentq``, and tangent touches (double roots) by refining
  local minima of |g| where g' = J - 1 changes sign.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ._interval import Unsupported, enclose
from ._mapeval import MapEval

__all__ = ["default_interval", "levenberg_marquardt", "minimise_q", "roots_1d"]


def _residual(ev: MapEval, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = ev.value(s) - s
    with np.errstate(over="ignore", invalid="ignore"):
        q = 0.5 * np.einsum("bi,bi->b", r, r)
    return r, np.where(np.isfinite(q), q, np.inf)


def minimise_q(ev: MapEval, starts: np.ndarray, max_iter: int = 300) -> np.ndarray:
    """L-BFGS-B on sum_i q(s_i) with the exact gradient; returns the end points (B, n)."""
    shape = starts.shape

    def fun(flat):
        s = flat.reshape(shape)
        value, entry = ev.value_entry(s)
        r = value - s
        with np.errstate(over="ignore", invalid="ignore"):
            grad = ev.vjp(entry, r) - r
            total = 0.5 * float(np.sum(r * r))
        if not np.isfinite(total) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(flat)
        return total, grad.ravel()

    result = optimize.minimize(
        fun,
        starts.ravel(),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "ftol": 0.0, "gtol": 1e-14, "maxcor": 20},
    )
    end = result.x.reshape(shape)
    # the joint problem may leave some rows worse than they started: keep the better of the two
    _, q_start = _residual(ev, starts)
    _, q_end = _residual(ev, end)
    return np.where((q_end <= q_start)[:, None], end, starts)


def _merge(s: np.ndarray, q: np.ndarray, idx: np.ndarray, tol: float) -> np.ndarray:
    """Rows of ``idx`` within ``tol`` of a row with lower q (they follow the same Newton path)."""
    if idx.size < 2:
        return np.zeros(0, dtype=int)
    order = idx[np.argsort(q[idx], kind="stable")]
    points = s[order]
    dist = np.sqrt(
        np.maximum(
            np.sum(points**2, 1)[:, None] + np.sum(points**2, 1)[None, :] - 2 * points @ points.T, 0
        )
    )
    near = np.triu(dist <= tol, k=1)
    dropped = np.zeros(len(order), dtype=bool)
    for i in np.flatnonzero(near.any(axis=1)):
        if not dropped[i]:
            dropped |= near[i]
    return order[dropped]


def levenberg_marquardt(
    ev: MapEval, s: np.ndarray, max_iter: int = 60, q_stop: float = 1e-28, merge_tol: float = 1e-9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched damped Newton on F(s) - s = 0 with Jacobian J - I.

    Rows that come within ``merge_tol`` of a better row are merged into it (stopped).

    Returns
    -------
    s : ndarray (B, n)
    q : ndarray (B,)
        1/2 ||F(s) - s||^2 at the end (inf where F is not finite).
    merged : ndarray (B,) of bool
        Rows stopped as duplicates of another row.
    """
    s = np.array(s, dtype=np.float64)
    m, n = s.shape
    eye = np.eye(n)
    value, jac = ev.value_jac(s)
    r = value - s
    with np.errstate(over="ignore", invalid="ignore"):
        q = 0.5 * np.einsum("bi,bi->b", r, r)
    finite = np.isfinite(q) & np.all(np.isfinite(jac), axis=(1, 2))
    q[~finite] = np.inf
    mu = np.full(m, 1e-8)
    active = finite & (q > q_stop)
    merged = np.zeros(m, dtype=bool)
    scale = 1.0 + np.abs(s[finite]).max(initial=0.0)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        a = jac[idx] - eye
        h = np.swapaxes(a, 1, 2) @ a
        g = np.einsum("bji,bj->bi", a, r[idx])
        diag = np.maximum(np.einsum("bii->b", h) / n, 1e-300)
        damped = h + (mu[idx] * diag)[:, None, None] * eye
        try:
            step = -np.linalg.solve(damped, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.stack(
                [np.linalg.lstsq(d, v, rcond=None)[0] for d, v in zip(damped, g, strict=True)]
            )
        trial = s[idx] + step
        r_new, q_new = _residual(ev, trial)
        good = q_new < q[idx]
        acc, rej = idx[good], idx[~good]
        mu[rej] *= 8.0
        tiny = np.linalg.norm(step, axis=1) <= 1e-15 * (1.0 + np.linalg.norm(s[idx], axis=1))
        if acc.size:
            s[acc], r[acc], q[acc] = trial[good], r_new[good], q_new[good]
            mu[acc] = np.maximum(mu[acc] / 5.0, 1e-12)
            active[idx[tiny & good]] = False
            active[acc[q[acc] <= q_stop]] = False
            dup = _merge(s, q, np.flatnonzero(active), merge_tol * scale)
            active[dup], merged[dup] = False, True
            live = acc[active[acc]]
            if live.size:
                jac[live] = ev.value_jac(s[live])[1]
                bad = live[~np.all(np.isfinite(jac[live]), axis=(1, 2))]
                active[bad] = False
        active[idx[mu[idx] > 1e12]] = False
    return s, q, merged


def default_interval(ev: MapEval, reach: float = 100.0) -> tuple[tuple[float, float], bool]:
    """An interval holding every fixed point of a 1-D map in [-reach, reach].

    A fixed point s* = F(s*) lies in the image of F, so [-reach, reach] is cut down to the
    range of F there: a tanh unit gives about [-1, 1]. The range is an interval-arithmetic
    enclosure of F on 4000 cells where the cell's expressions allow one (then the flag
    returned is True: the cut provably loses no fixed point of [-reach, reach]), else F sampled
    at 40001 points, padded by 1 % (flag False).
    """
    edges = np.linspace(-reach, reach, 4001)
    try:
        (f_lo, f_hi), _ = enclose(ev.net, ev.x, edges[:-1], edges[1:])
        lo, hi, proven = float(np.min(f_lo)), float(np.max(f_hi)), True
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise Unsupported("unbounded enclosure")
        pad = 1e-9 * (1.0 + max(abs(lo), abs(hi)))
    except Unsupported:
        values = ev.value(np.linspace(-reach, reach, 40001)[:, None])[:, 0]
        values = values[np.isfinite(values)]
        if values.size == 0:
            return (-reach, reach), False
        lo, hi, proven = values.min(), values.max(), False
        pad = 0.01 * (hi - lo) + 1e-6
    lo, hi = max(-reach, lo - pad), min(reach, hi + pad)
    if lo > hi:  # no fixed point in [-reach, reach] (proven or sampled)
        return (hi, hi), proven
    return (lo, hi), proven


def roots_1d(
    ev: MapEval, interval: tuple[float, float], grid: int = 200_001, touch_tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """Every root of g(s) = F(s) - s in ``interval`` (sorted), and tangent near-misses.

    Returns
    -------
    roots : ndarray (k,)
        Simple roots (sign changes refined by brentq) and tangent roots (|g| <= touch_tol at
        a refined local minimum of |g|).
    near : ndarray (j,)
        Refined local minima of |g| that do not reach zero (slow points, candidates).
    """
    lo, hi = float(interval[0]), float(interval[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"interval must be finite (lo, hi) with lo <= hi, got {interval}")
    s = np.linspace(lo, hi, grid) if hi > lo else np.array([lo])
    g = ev.value(s[:, None])[:, 0] - s

    def gs(v):
        return float(ev.value(np.array([[v]]))[0, 0] - v)

    def dg(v):
        return float(ev.value_jac(np.array([[v]]))[1][0, 0, 0] - 1.0)

    roots = list(s[g == 0.0])
    ok = np.isfinite(g)
    left = np.flatnonzero(ok[:-1] & ok[1:] & (g[:-1] * g[1:] < 0))
    for i in left:
        roots.append(
            optimize.brentq(
                gs, s[i], s[i + 1], xtol=1e-16, rtol=4 * np.finfo(float).eps, maxiter=2000
            )
        )
    near = []
    a = np.abs(g)
    inner = (
        np.flatnonzero(
            ok[1:-1]
            & ok[:-2]
            & ok[2:]
            & (a[1:-1] <= a[:-2])
            & (a[1:-1] <= a[2:])
            & (g[:-2] * g[1:-1] > 0)
            & (g[1:-1] * g[2:] > 0)
        )
        + 1
    )
    for i in inner:
        try:
            d_left, d_right = dg(s[i - 1]), dg(s[i + 1])
            if d_left * d_right < 0:
                v = optimize.brentq(
                    dg, s[i - 1], s[i + 1], xtol=1e-16, rtol=4 * np.finfo(float).eps
                )
            else:
                v = optimize.minimize_scalar(
                    lambda t: abs(gs(t)),
                    bounds=(s[i - 1], s[i + 1]),
                    method="bounded",
                    options={"xatol": 1e-14},
                ).x
        except (ValueError, RuntimeError):
            v = s[i]
        (roots if abs(gs(v)) <= touch_tol else near).append(v)
    return np.unique(np.array(roots, dtype=float)), np.array(near, dtype=float)
