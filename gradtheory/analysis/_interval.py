"""Private: interval arithmetic on a one-dimensional network, to prove a fixed-point list complete.

The cell's own SymPy stages (affine maps and pointwise expressions, with the network's numeric
parameters and the constant input) are evaluated on arrays of intervals [a, b], together with
an enclosure of the derivative dF/ds (forward mode, every partial enclosed the same way). Every
operation rounds outward (4 ulp on each side, enough for NumPy's elementary functions), so the
enclosures contain the exact values. :func:`certify_roots` then splits an interval into cells
until each cell either provably holds no root of g(s) = F(s) - s (0 not in g([a, b])) or
provably holds exactly one (g' has one sign on the cell, so g is strictly monotone, and g(a),
g(b) have opposite signs). Expressions it cannot bound (Max, Piecewise, sin, ...) give ``None``:
no proof, never a wrong one. Kinks (ReLU, hard tanh) are enclosed with both one-sided slopes.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ..symbolic.functions import box, hardtanh, relu, sigmoid, step

__all__ = ["Unsupported", "certify_roots", "enclose"]

_EPS = 4 * np.finfo(float).eps


class Unsupported(Exception):
    """The expression has a node that this evaluator cannot enclose."""


def _out(lo, hi):
    """Outward rounding; NaN (0 * inf and the like) becomes the whole line."""
    with np.errstate(invalid="ignore", over="ignore"):
        lo = lo - _EPS * np.abs(lo) - 1e-300
        hi = hi + _EPS * np.abs(hi) + 1e-300
    if np.ndim(lo) == 0 and np.ndim(hi) == 0:  # a point constant stays a Python float
        return (-np.inf, np.inf) if np.isnan(lo) or np.isnan(hi) else (float(lo), float(hi))
    bad = np.isnan(lo) | np.isnan(hi)
    return np.where(bad, -np.inf, lo), np.where(bad, np.inf, hi)


def _add(a, b):
    return _out(a[0] + b[0], a[1] + b[1])


def _point(a) -> bool:
    return np.ndim(a[0]) == 0 and np.ndim(a[1]) == 0 and a[0] == a[1]


def _mul(a, b):
    if _point(a):
        a, b = b, a
    if _point(b):  # interval times a number: two products, not four
        c = b[0]
        if c == 0.0:
            return 0.0, 0.0
        with np.errstate(invalid="ignore", over="ignore"):
            lo, hi = a[0] * c, a[1] * c
        return _out(lo, hi) if c > 0 else _out(hi, lo)
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.stack(np.broadcast_arrays(a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]))
    p = np.where(np.isnan(p), 0.0, p)  # 0 * inf: the bounded factor is exactly 0
    return _out(p.min(axis=0), p.max(axis=0))


def _const(c, like=None):
    c = float(c)
    return c, c


def _power(a, n: int):
    lo, hi = a
    with np.errstate(over="ignore"):
        plo, phi = lo**n, hi**n
    if n % 2:
        return _out(plo, phi)
    low = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(plo, phi))
    return _out(low, np.maximum(plo, phi))


def _reciprocal(a):
    lo, hi = a
    if np.any((lo <= 0) & (hi >= 0)):
        raise Unsupported("division by an interval holding 0")
    return _out(1.0 / hi, 1.0 / lo)


def _monotone(f, a):
    with np.errstate(over="ignore", invalid="ignore"):
        return _out(f(a[0]), f(a[1]))


def _sigmoid(v):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


def _box(a):
    inside = (a[0] > -1) & (a[1] < 1)
    outside = (a[1] < -1) | (a[0] > 1)
    return np.where(inside, 1.0, 0.0), np.where(outside, 0.0, 1.0)


# keyed by the SymPy class itself, never by a name: a user's Function("tanh") is not tanh
_MONOTONE = {
    sp.tanh: np.tanh,
    sp.exp: np.exp,
    sigmoid: _sigmoid,
    relu: lambda v: np.maximum(v, 0.0),
    step: lambda v: np.greater(v, 0).astype(float),
    hardtanh: lambda v: np.clip(v, -1.0, 1.0),
    sp.atan: np.arctan,
}


_ARG = sp.Dummy("u", real=True)


@functools.cache
def _slope(function) -> sp.Expr:
    """f'(u) of an elementary function, derived once (SymPy's diff is slow)."""
    return sp.diff(function(_ARG), _ARG)


class _Evaluator:
    """Value and derivative enclosures of SymPy expressions; symbols come from ``env``.

    ``evaluate(expr)`` gives (value, derivative); ``evaluate(expr, False)`` the value alone
    (derivative None), which is all that the slope of an elementary function needs.
    """

    def __init__(self, env: dict):
        self.env = env  # name -> (value (lo, hi), derivative (lo, hi))
        self.like = next(iter(env.values()))[0][0]
        self.cache: dict = {}

    def __call__(self, expr, deriv: bool = True):
        key = (expr, deriv)
        if key not in self.cache:
            self.cache[key] = self._eval(expr, deriv)
        return self.cache[key]

    def _eval(self, expr, deriv: bool):
        like = self.like
        zero = _const(0.0, like) if deriv else None
        if expr.is_Symbol:
            if expr.name not in self.env:
                raise Unsupported(f"unknown symbol {expr.name}")
            value, d = self.env[expr.name]
            return value, (d if deriv else None)
        if expr.is_Number:
            return _const(float(expr), like), zero
        if isinstance(expr, sp.Add):
            value, total = self(expr.args[0], deriv)
            for arg in expr.args[1:]:
                v, d = self(arg, deriv)
                value, total = _add(value, v), (_add(total, d) if deriv else None)
            return value, total
        if isinstance(expr, sp.Mul):
            value, total = self(expr.args[0], deriv)
            for arg in expr.args[1:]:
                v, d = self(arg, deriv)
                if deriv:
                    total = _add(_mul(total, v), _mul(value, d))
                value = _mul(value, v)
            return value, total
        if isinstance(expr, sp.Pow) and expr.exp.is_Integer:
            n = int(expr.exp)
            base, dbase = self(expr.base, deriv)
            if n == 0:
                return _const(1.0, like), zero
            value = _power(base, n) if n > 0 else _reciprocal(_power(base, -n))
            if not deriv:
                return value, None
            if n == 1:
                return value, dbase
            if n > 1:
                slope = _mul(_const(n, like), _power(base, n - 1))
            else:
                slope = _mul(_const(n, like), _reciprocal(_power(base, 1 - n)))
            return value, _mul(slope, dbase)
        if isinstance(expr, sp.Function) and len(expr.args) == 1:
            kind = type(expr)
            arg, darg = self(expr.args[0], deriv)
            if kind is box:
                return _box(arg), zero
            if kind not in _MONOTONE:
                raise Unsupported(f"function {kind.__name__}")
            value = _monotone(_MONOTONE[kind], arg)
            if not deriv or kind is step:
                return value, zero
            slope = _slope(type(expr)).xreplace({_ARG: expr.args[0]})
            return value, _mul(self(slope, False)[0], darg)
        raise Unsupported(type(expr).__name__)


def enclose(net, x: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Enclosures of F and dF/ds on the cells [lo, hi] of a network with one state number.

    Returns ((F_lo, F_hi), (dF_lo, dF_hi)); raises :class:`Unsupported` where no bound exists.
    """
    cell, params = net.cell, net.params
    if net.n_state != 1:
        raise Unsupported("more than one state number")
    ones = np.ones_like(lo)
    env = {cell.state[0]: ((lo, hi), (ones, ones))}
    for name in getattr(cell, "scalar_params", {}):
        env[name] = (_const(float(params[name]), lo), _const(0.0, lo))
    if cell.scalar_block:
        for j, name in enumerate(cell.inputs):
            env[name] = (_const(float(x[j]), lo), _const(0.0, lo))
    for stage in cell.stages:
        if hasattr(stage, "terms"):  # Affine: each output chunk is one number here
            for k, out in enumerate(stage.outputs):
                bias = float(params[stage.bias][k]) if stage.bias else 0.0
                total = (_const(bias, lo), _const(0.0, lo))
                for weight, source in stage.terms:
                    row = np.asarray(params[weight], float)[k]
                    if source in cell.inputs:
                        term = (_const(float(row @ x), lo), _const(0.0, lo))
                    else:
                        value, deriv = env[source]
                        w = _const(float(row[0]), lo)
                        term = (_mul(w, value), _mul(w, deriv))
                    total = (_add(total[0], term[0]), _add(total[1], term[1]))
                env[out] = total
        else:
            evaluate = _Evaluator(env)
            results = [evaluate(e) for e in stage.exprs]
            env.update(zip(stage.outputs, results, strict=True))
    value, deriv = env[cell.next_state[0]]
    return tuple(
        tuple(np.broadcast_to(np.asarray(v, float), lo.shape) for v in pair)
        for pair in (value, deriv)
    )


def certify_roots(net, x, interval, cells: int = 512, max_depth: int = 48, max_cells: int = 20_000):
    """Cells of ``interval`` each holding exactly one root of F(s) - s, the rest proved empty.

    Returns an array (k, 2) of cells [a, b] (sorted), or None when the proof does not close
    (a tangent root, an unsupported expression, or more than ``max_cells`` cells at once).
    """
    lo, hi = float(interval[0]), float(interval[1])
    x = np.asarray(x, dtype=float)
    edges = np.linspace(lo, hi, cells + 1)
    # interior edges off the symmetric grid, so that a root such as 0 rarely sits on an edge
    edges[1:-1] += 0.381966 * (hi - lo) / cells
    a, b = edges[:-1], edges[1:]
    found = []
    try:
        for _ in range(max_depth):
            if a.size == 0:
                break
            if a.size > max_cells:
                return None
            both = np.concatenate([a, a, b])
            (f_lo, f_hi), (d_lo, d_hi) = enclose(net, x, both, np.concatenate([b, a, b]))
            k = a.size
            g_lo, g_hi = _add((f_lo[:k], f_hi[:k]), (-b, -a))
            gd_lo, gd_hi = d_lo[:k] - 1.0, d_hi[:k] + 0.0 - 1.0
            ga = _add((f_lo[k : 2 * k], f_hi[k : 2 * k]), (-a, -a))
            gb = _add((f_lo[2 * k :], f_hi[2 * k :]), (-b, -b))
            empty = (g_lo > 0) | (g_hi < 0)
            monotone = ((gd_lo - _EPS) > 0) | ((gd_hi + _EPS) < 0)
            pos_a, neg_a = ga[0] > 0, ga[1] < 0
            pos_b, neg_b = gb[0] > 0, gb[1] < 0
            one = monotone & ((pos_a & neg_b) | (neg_a & pos_b))
            none = monotone & ((pos_a & pos_b) | (neg_a & neg_b))
            found.append(np.stack([a[one & ~empty], b[one & ~empty]], axis=1))
            split = ~(empty | one | none)
            mid = 0.5 * (a[split] + b[split])
            a, b = np.concatenate([a[split], mid]), np.concatenate([mid, b[split]])
    except Unsupported:
        return None
    if a.size:
        return None
    out = np.concatenate(found) if found else np.zeros((0, 2))
    return out[np.argsort(out[:, 0])]
