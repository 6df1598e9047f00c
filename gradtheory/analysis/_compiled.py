"""Compiled per-step loops for maps with small states (numba), and the calls into them.

The loops below are appended to the generated ``step`` / ``step_jac`` source of a cell (see
:mod:`gradtheory.numeric._jitgen`) and compiled with it, cached on disk. Every loop runs K
systems (rows of the flat parameters ``P`` (K, m) and of the constant inputs ``X`` (K, n_in))
one after another with the same arithmetic as one system alone, so the results for K systems
are those of K separate calls, bit for bit. Tangent frames are re-orthonormalised by modified
Gram-Schmidt written out for small n (``np.linalg.qr`` in compiled code is slow to compile and
slow at n = 2); ln|r_ii| are the same numbers as Householder QR's up to rounding.
"""

from __future__ import annotations

import numpy as np

from ..numeric import _jitgen

__all__ = ["available", "kernels"]

DRIVERS = '''

@njit(cache=True, inline="always")
def _bounded(v, bound):
    for i in range(v.shape[0]):
        if not abs(v[i]) <= bound:
            return False
    return True


@njit(cache=True, inline="always")
def _identity(out):
    """out (N, N) = I."""
    for i in range(N):
        for j in range(N):
            out[i, j] = 1.0 if i == j else 0.0


@njit(cache=True, inline="always")
def _jac_times(jac, a, out, cols):
    """out (N, cols) = jac (N, N) @ a (N, cols), each entry summed over m in order.

    ``cols`` is passed, not read from ``a``, so that where it is N the inlined loop keeps a
    compile-time bound (reading ``a.shape[1]`` made ``cycle_run`` ~1.2x slower at N = 2..4).
    """
    for i in range(N):
        for c in range(cols):
            acc = 0.0
            for m in range(N):
                acc += jac[i, m] * a[m, c]
            out[i, c] = acc


@njit(cache=True)
def _fill_inf(out, start, last):
    for t in range(start, out.shape[0]):
        for i in range(last.shape[0]):
            out[t, i] = math.copysign(math.inf, 1.0 if last[i] == 0.0 else last[i])


@njit(cache=True)
def iterate(S0, X, P, steps, bound, out, diverged):
    """out[k, b] (steps+1, N): orbits of every system k from every initial state b."""
    w = np.empty(NW)
    cur = np.empty(N)
    nxt = np.empty(N)
    for k in range(S0.shape[0]):
        for b in range(S0.shape[1]):
            cur[:] = S0[k, b]
            out[k, b, 0] = cur
            diverged[k, b] = -1
            for t in range(1, steps + 1):
                step(cur, X[k], P[k], nxt, w)
                if not _bounded(nxt, bound):
                    diverged[k, b] = t
                    _fill_inf(out[k, b], t, cur)
                    break
                out[k, b, t] = nxt
                cur, nxt = nxt, cur


@njit(cache=True)
def find_period(seg, max_period, tol):
    """Smallest p with |s_{t+p} - s_t| <= tol (1 + max|s|) along seg (L, N); 0 if none."""
    big = 0.0
    for t in range(seg.shape[0]):
        for i in range(N):
            big = max(big, abs(seg[t, i]))
    scale = tol * (1.0 + big)
    for p in range(1, min(max_period, seg.shape[0] - 1) + 1):
        ok = True
        for t in range(seg.shape[0] - p):
            for i in range(N):
                if abs(seg[t + p, i] - seg[t, i]) > scale:
                    ok = False
                    break
            if not ok:
                break
        if ok:
            return p
    return 0


@njit(cache=True)
def sweep(s0, X, P, transient, keep, max_period, tol, bound, tails, finals, periods, lyaps, div):
    """Continuation over the K rows: each starts from the previous row's final state."""
    w = np.empty(NW)
    cur = np.empty(N)
    nxt = np.empty(N)
    jac = np.empty((N, N))
    prod = np.empty((N, N))
    tmp = np.empty((N, N))
    cur[:] = s0
    for k in range(P.shape[0]):
        div[k] = False
        log_scale = 0.0
        status = 0  # 0 fine, 1 product vanished, 2 product not finite
        _identity(prod)
        for t in range(transient + keep):
            if t < transient:
                step(cur, X[k], P[k], nxt, w)
            else:
                step_jac(cur, X[k], P[k], nxt, jac, w)
                if N == 1:
                    log_scale += np.log(abs(jac[0, 0]))
                elif status == 0:
                    _jac_times(jac, prod, tmp, N)
                    norm = 0.0
                    for i in range(N):
                        for j in range(N):
                            norm += tmp[i, j] * tmp[i, j]
                    norm = math.sqrt(norm)
                    if norm == 0.0:
                        status = 1
                    elif not norm <= math.inf or norm != norm:
                        status = 2
                    else:
                        log_scale += math.log(norm)
                        for i in range(N):
                            for j in range(N):
                                prod[i, j] = tmp[i, j] / norm
            if not _bounded(nxt, bound):
                div[k] = True
                _fill_inf(finals[k : k + 1], 0, cur)
                break
            if t >= transient:
                tails[k, t - transient] = nxt
            cur, nxt = nxt, cur
        if div[k]:
            periods[k] = 0
            lyaps[k] = math.nan
            cur[:] = s0  # continuation cannot go on from infinity
            continue
        finals[k] = cur
        periods[k] = find_period(tails[k], max_period, tol)
        if N == 1:
            lyaps[k] = log_scale / keep
        elif status == 1:
            lyaps[k] = -math.inf
        elif status == 2:
            lyaps[k] = math.nan
        else:
            lyaps[k] = (log_scale + math.log(np.linalg.norm(prod, 2))) / keep


@njit(cache=True)
def spectrum(S0, X, P, Q0, warmup, steps, block, sums, block_sums, bad):
    """Tangent frames pushed through the step Jacobians with Gram-Schmidt every step.

    S0 (K, B, N), Q0 (B, N, k); sums (K, B, k) and block_sums (K, n_blocks, B, k) receive
    ln|r_ii| over the measured steps; bad[k, b] is the first step whose state (code 1) or
    frame (code 2) is not finite, as step * 4 + code (-1: none).
    """
    kk = Q0.shape[2]
    n_blocks = block_sums.shape[1]
    w = np.empty(NW)
    cur = np.empty(N)
    nxt = np.empty(N)
    jac = np.empty((N, N))
    q = np.empty((N, kk))
    v = np.empty((N, kk))
    logs = np.empty(kk)
    for k in range(S0.shape[0]):
        for b in range(S0.shape[1]):
            for i in range(N):
                cur[i] = S0[k, b, i]
                for c in range(kk):
                    q[i, c] = Q0[b, i, c]
            bad[k, b] = -1
            for t in range(warmup + steps):
                step_jac(cur, X[k], P[k], nxt, jac, w)
                finite = True
                for i in range(N):
                    if not abs(nxt[i]) < math.inf:
                        finite = False
                if not finite:
                    bad[k, b] = (t + 1) * 4 + 1
                    break
                _jac_times(jac, q, v, kk)
                for c in range(kk):
                    for d in range(c):
                        dot = 0.0
                        for i in range(N):
                            dot += v[i, d] * v[i, c]
                        for i in range(N):
                            v[i, c] -= dot * v[i, d]
                    norm = 0.0
                    for i in range(N):
                        norm += v[i, c] * v[i, c]
                    norm = math.sqrt(norm)
                    logs[c] = math.log(norm) if norm > 0.0 else -math.inf
                    if norm > 0.0:
                        for i in range(N):
                            v[i, c] /= norm
                frame_ok = True
                for c in range(kk):
                    if logs[c] != logs[c] or logs[c] == math.inf:
                        frame_ok = False
                if not frame_ok:
                    bad[k, b] = (t + 1) * 4 + 2
                    break
                for i in range(N):
                    for c in range(kk):
                        q[i, c] = v[i, c]
                cur, nxt = nxt, cur
                tm = t - warmup
                if tm >= 0:
                    for c in range(kk):
                        sums[k, b, c] += logs[c]
                    if tm < n_blocks * block:
                        for c in range(kk):
                            block_sums[k, tm // block, b, c] += logs[c]


@njit(cache=True)
def tangent_run(s, x, p, steps, v0, rec):
    """Orbit rec (steps+1, N) from s with a renormalised tangent vector.

    Returns (sum of ln growth, steps done, code): code 0 fine, 1 state not finite at step
    ``done`` (rec has done+1 rows), 2 tangent vanished, 3 tangent not finite (rec has done+1
    rows, the last the new state).
    """
    w = np.empty(NW)
    nxt = np.empty(N)
    jac = np.empty((N, N))
    v = v0.copy()
    u = np.empty(N)
    total = 0.0
    rec[0] = s
    for t in range(steps):
        step_jac(rec[t], x, p, nxt, jac, w)
        for i in range(N):
            if not abs(nxt[i]) < math.inf:
                return total, t, 1
        norm = 0.0
        for i in range(N):
            acc = 0.0
            for m in range(N):
                acc += jac[i, m] * v[m]
            u[i] = acc
            norm += acc * acc
        norm = math.sqrt(norm)
        rec[t + 1] = nxt
        if norm == 0.0:
            return total, t + 1, 2
        if not norm < math.inf:
            return total, t + 1, 3
        total += math.log(norm)
        for i in range(N):
            v[i] = u[i] / norm
    return total, steps, 0


@njit(cache=True)
def cycle_run(s, x, p, period, pts, mono):
    """pts (period+1, N): the orbit from s; mono (N, N): the product of its step Jacobians."""
    w = np.empty(NW)
    jac = np.empty((N, N))
    tmp = np.empty((N, N))
    _identity(mono)
    pts[0] = s
    for t in range(period):
        step_jac(pts[t], x, p, pts[t + 1], jac, w)
        _jac_times(jac, mono, tmp, N)
        mono[:, :] = tmp


@njit(cache=True)
def values(S, x, p, out):
    """out (B, N) = F(S) row by row."""
    w = np.empty(NW)
    for b in range(S.shape[0]):
        step(S[b], x, p, out[b], w)


@njit(cache=True)
def values_jac(S, x, p, out, jac):
    """out (B, N) = F(S) and jac (B, N, N) = dF/ds row by row."""
    w = np.empty(NW)
    for b in range(S.shape[0]):
        step_jac(S[b], x, p, out[b], jac[b], w)


@njit(cache=True)
def _g1(s, x, p, buf, jac, w):
    """(g, g') = (F(s) - s, F'(s) - 1) of a one-dimensional map."""
    buf[0] = s
    step_jac(buf, x, p, buf[1:], jac, w)
    return buf[1] - s, jac[0, 0] - 1.0


@njit(cache=True)
def _bisect(x, p, a, b, ga, derivative, buf, jac, w):
    """Bisection of g (or g') on [a, b] with a sign change, to the last bit."""
    for _ in range(200):
        m = 0.5 * (a + b)
        if m <= a or m >= b:
            break
        g, d = _g1(m, x, p, buf, jac, w)
        gm = d if derivative else g
        if gm == 0.0:
            return m
        if (gm < 0.0) == (ga < 0.0):
            a, ga = m, gm
        else:
            b = m
    g_a, d_a = _g1(a, x, p, buf, jac, w)
    g_b, d_b = _g1(b, x, p, buf, jac, w)
    if derivative:
        return a if abs(d_a) <= abs(d_b) else b
    return a if abs(g_a) <= abs(g_b) else b


@njit(cache=True)
def roots_1d(X, P, lo, hi, grid, touch_tol, roots, n_roots, near, n_near):
    """Every root of g = F(s) - s on [lo_k, hi_k] for each row k (one-dimensional maps).

    A grid cell holds a root where g changes sign (bisection), or two roots or a tangent root
    where g keeps its sign but g' changes sign (an extremum of g inside: found by bisection
    on g', then the two brackets on either side of it); extrema that miss zero are ``near``.
    """
    w = np.empty(NW)
    jac = np.empty((1, 1))
    buf = np.empty(2)
    cap = roots.shape[1]
    for k in range(P.shape[0]):
        x = X[k]
        p = P[k]
        nr = 0
        nn = 0
        a = lo[k]
        span = hi[k] - lo[k]
        g_prev, d_prev = _g1(a, x, p, buf, jac, w)
        s_prev = a
        if g_prev == 0.0 and nr < cap:
            roots[k, nr] = a
            nr += 1
        for i in range(1, grid):
            s = lo[k] + span * (i / (grid - 1.0))
            g, d = _g1(s, x, p, buf, jac, w)
            ok = abs(g) < math.inf and abs(g_prev) < math.inf
            if ok and g == 0.0:
                if nr < cap:
                    roots[k, nr] = s
                    nr += 1
            elif ok and g_prev * g < 0.0:
                if nr < cap:
                    roots[k, nr] = _bisect(x, p, s_prev, s, g_prev, False, buf, jac, w)
                    nr += 1
            elif ok and g_prev * g > 0.0 and d_prev * d < 0.0:
                v = _bisect(x, p, s_prev, s, d_prev, True, buf, jac, w)
                gv, dv = _g1(v, x, p, buf, jac, w)
                if abs(gv) <= touch_tol:
                    if nr < cap:
                        roots[k, nr] = v
                        nr += 1
                elif (gv < 0.0) != (g < 0.0):
                    if nr + 1 < cap:
                        roots[k, nr] = _bisect(x, p, s_prev, v, g_prev, False, buf, jac, w)
                        roots[k, nr + 1] = _bisect(x, p, v, s, gv, False, buf, jac, w)
                        nr += 2
                elif nn < cap:
                    near[k, nn] = v
                    nn += 1
            g_prev, d_prev, s_prev = g, d, s
        n_roots[k] = nr
        n_near[k] = nn


@njit(cache=True)
def value_range(X, P, lo, hi, grid, out):
    """min and max of the finite F(s) on a grid of [lo, hi], per row (out (K, 2))."""
    w = np.empty(NW)
    cur = np.empty(N)
    nxt = np.empty(N)
    for k in range(P.shape[0]):
        small, big = math.inf, -math.inf
        for i in range(grid):
            cur[0] = lo + (hi - lo) * (i / (grid - 1.0))
            step(cur, X[k], P[k], nxt, w)
            v = nxt[0]
            if abs(v) < math.inf:
                small = min(small, v)
                big = max(big, v)
        out[k, 0] = small
        out[k, 1] = big
'''


def available(net) -> bool:
    """Compiled loops apply: enabled, a tied float64 network with a small state."""
    return (
        net.tied
        and net.n_state <= _jitgen.MAX_STATE
        and np.dtype(net.dtype) == np.float64
        and _jitgen.jit_enabled()
    )


def kernels(net):
    """The compiled module of ``net`` (None where the cell cannot be compiled).

    Kept on the network (its cell and sizes never change), so a warm call looks nothing up.
    """
    module = net.__dict__.get("_jit_module")
    if module is None:
        try:
            module = _jitgen.load(net, DRIVERS)
        except (NotImplementedError, OSError):  # not printable for numba, or no writable cache
            module = False
        net.__dict__["_jit_module"] = module
    return module or None


def constant_inputs(net, x, K: int) -> np.ndarray:
    """Constant input rows (K, n_in) from None, (n_in,) or (K, n_in)."""
    if x is None:
        return np.zeros((K, net.n_in))
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = np.broadcast_to(x, (K, net.n_in))
    if x.shape != (K, net.n_in):
        raise ValueError(
            f"x must be a constant input of shape (n_in,) = ({net.n_in},), got {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or Inf")
    return np.ascontiguousarray(x)
