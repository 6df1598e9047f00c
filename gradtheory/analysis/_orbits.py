"""Private orbit helpers: batched iteration with divergence detection, period detection,
Newton polishing of cycles and tangent-vector growth (largest Lyapunov exponent)."""

from __future__ import annotations

import numpy as np

from ..numeric.tangent import renormalise
from ._mapeval import MapEval

__all__ = [
    "bounded",
    "converging",
    "escaping",
    "find_period",
    "iterate",
    "polish_cycle",
    "tangent_growth",
]


def iterate(ev: MapEval, s: np.ndarray, steps: int, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """States (steps+1, B, n) from s (B, n) and the first step (B,) beyond ``bound`` (-1: none).

    After a row diverges its later states are +-inf (the sign of its last finite value).
    """
    if ev.jit is not None:
        s = np.ascontiguousarray(s, dtype=np.float64)
        out = np.empty((1, s.shape[0], steps + 1, s.shape[1]))
        diverged = np.empty((1, s.shape[0]), dtype=np.int64)
        ev.jit.iterate(s[None], ev.xc[None], ev.p[None], steps, float(bound), out, diverged)
        return out[0].transpose(1, 0, 2), diverged[0]
    out = np.empty((steps + 1, *s.shape))
    out[0] = s
    current = s
    for t in range(1, steps + 1):
        current = out[t] = ev.value(current)
        if t % 64 == 0 and not bounded(current, bound).any():
            out[t + 1 :] = current
            break
    bad = ~bounded(out, bound)
    diverged = np.where(bad.any(axis=0), bad.argmax(axis=0), -1)
    for row in np.flatnonzero(diverged >= 0):
        k = diverged[row]
        last = out[k - 1, row] if k > 0 else np.ones(s.shape[1])
        out[k:, row] = np.copysign(np.inf, np.where(last == 0, 1.0, last))
    return out, diverged


def bounded(states: np.ndarray, bound: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.all(np.isfinite(states), axis=-1) & (np.abs(states).max(axis=-1) <= bound)


def find_period(seg: np.ndarray, max_period: int, tol: float) -> int:
    """Smallest p <= max_period with ||s_{t+p} - s_t|| <= tol (1 + |s|) along ``seg``; 0 if none."""
    scale = tol * (1.0 + np.abs(seg).max())
    for p in range(1, min(max_period, len(seg) - 1) + 1):
        if np.abs(seg[p:] - seg[:-p]).max() <= scale:
            return p
    return 0


def polish_cycle(ev: MapEval, s: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Newton on F^p(s) = s from ``s`` (n,); returns the cycle (p, n) and its monodromy (n, n)."""

    def run(start):
        if ev.jit is not None:
            pts, m = np.empty((p + 1, ev.n)), np.empty((ev.n, ev.n))
            ev.jit.cycle_run(np.ascontiguousarray(start, dtype=float), ev.xc, ev.p, p, pts, m)
            return pts, m
        pts, m = [start], np.eye(ev.n)
        for _ in range(p):
            value, jac = ev.value_jac(pts[-1][None])
            pts.append(value[0])
            m = jac[0] @ m
        return np.array(pts), m

    pts, mono = run(s)
    res = np.linalg.norm(pts[-1] - pts[0])
    for _ in range(6):
        try:
            new = pts[0] - np.linalg.solve(mono - np.eye(ev.n), pts[-1] - pts[0])
        except np.linalg.LinAlgError:
            break
        cand, cand_m = run(new)
        cand_res = np.linalg.norm(cand[-1] - cand[0])
        if not np.isfinite(cand_res) or cand_res >= res:
            break
        pts, mono, res = cand, cand_m, cand_res
    return pts[:-1], mono


def tangent_growth(ev: MapEval, s: np.ndarray, steps: int, rng) -> tuple[np.ndarray, float, int]:
    """Iterate ``steps`` from s (n,) with a renormalised tangent vector; (orbit, exponent, used)."""
    v = rng.normal(size=(1, ev.n, 1))
    v /= np.linalg.norm(v)
    if ev.jit is not None:
        rec = np.empty((steps + 1, ev.n))
        s = np.ascontiguousarray(s, dtype=np.float64)
        total, done, code = ev.jit.tangent_run(s, ev.xc, ev.p, steps, v[0, :, 0].copy(), rec)
        if code == 1:
            return rec[: done + 1], (total / done if done else np.inf), done
        if code in (2, 3):
            return rec[: done + 1], (-np.inf if code == 2 else np.inf), done
        return rec, total / max(steps, 1), steps
    states, total = [s], 0.0
    for t in range(steps):
        value, entry = ev.value_entry(states[-1][None])
        if not np.all(np.isfinite(value)):
            return np.array(states), (total / t if t else np.inf), t
        v, log_growth = renormalise(ev.jvp(entry, v))
        log_growth = float(log_growth[0, 0])
        if not np.isfinite(log_growth):
            return np.array([*states, value[0]]), (-np.inf if log_growth < 0 else np.inf), t + 1
        total += log_growth
        states.append(value[0])
    return np.array(states), total / max(steps, 1), steps


def escaping(rec: np.ndarray) -> bool:
    """Slow escape to infinity: norms keep growing and the steps do not shrink."""
    q = len(rec) // 4
    norm = np.linalg.norm(rec, axis=1)
    step = np.linalg.norm(np.diff(rec, axis=0), axis=1)
    return bool(norm[-q:].min() > norm[:q].max() and step[-q:].mean() >= 0.5 * step[:q].mean() > 0)


def converging(rec: np.ndarray) -> bool:
    """Steps between successive states shrink over the window (slow approach to a cycle)."""
    q = len(rec) // 4
    step = np.linalg.norm(np.diff(rec, axis=0), axis=1)
    return bool(step[-q:].max() < 0.5 * step[:q].max())
