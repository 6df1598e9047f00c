"""Bifurcation diagrams: attractor samples and fixed-point branches across a parameter.

Two views of how the long-run behaviour of s -> F(s; theta) changes with theta:

* sweeps (up and/or down the parameter values) with continuation: each value starts from the
  final state of the previous one, so coexisting attractors show as hysteresis (Pascanu,
  Mikolov and Bengio 2013, Sec. 2.2, Fig. 3: h -> tanh(w h + b), w = 5);
* fixed-point branches continued across the parameter: the fixed points at each value
  (every root for 1-D maps, by bracketing) linked into branches by proximity, with stability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._progress import progress_bar
from .._repr import compact_repr
from .._validate import Array, Bool, Choice, Instance, Int, Real, validate
from ..numeric import _jitgen
from . import _compiled
from ._batch import each_system
from ._mapeval import MapEval, check_states
from ._orbits import find_period, iterate
from .fixed_points import _dedup, classify, fixed_points

__all__ = ["Bifurcation", "Branch", "Sweep", "bifurcation"]


@dataclass(frozen=True)
class Sweep:
    """One pass over the parameter values with continuation of the state.

    Attributes
    ----------
    values : ndarray (k,)
        Parameter values in the order visited.
    param, states : ndarray (M,), (M, n_state)
        Scatter arrays: ``keep`` attractor samples per value (none where divergent).
    final : ndarray (k, n_state)
        State at the end of each value (+-inf where divergent).
    kind : list of str
        'fixed_point', 'cycle', 'aperiodic' or 'divergent' per value.
    period : ndarray (k,)
        Period seen in the samples (0: none).
    lyapunov : ndarray (k,)
        Finite-time largest Lyapunov exponent over the last ``keep`` steps of each value,
        (1/keep) ln ||ds_T / ds_{T-keep}||_2 from the product of step Jacobians (for a 1-D map
        the mean of ln|F'(s_t)|; -inf at a superstable point, nan where divergent).
    """

    __repr__ = compact_repr()

    values: np.ndarray
    param: np.ndarray
    states: np.ndarray
    final: np.ndarray
    kind: list
    period: np.ndarray
    lyapunov: np.ndarray


@dataclass(frozen=True)
class Branch:
    """A fixed point followed across the parameter: ``values`` (k,), ``points`` (k, n_state),
    ``eigenvalues`` (k, n_state) sorted by modulus, ``stable`` (k,), ``n_unstable`` (k,)."""

    __repr__ = compact_repr()

    values: np.ndarray
    points: np.ndarray
    eigenvalues: np.ndarray
    stable: np.ndarray
    n_unstable: np.ndarray


@dataclass(frozen=True)
class Bifurcation:
    """Result of :func:`bifurcation`.

    Attributes
    ----------
    param : str
    values : ndarray (k,)
    up, down : Sweep or None
        Sweep in the given order of ``values`` and back (continuing from the up sweep's state).
    branches : list of Branch
    n_stable : ndarray (k,)
        Number of stable fixed points at each value (>= 2: coexisting attractors).
    """

    __repr__ = compact_repr("param", "values", "branches", "n_stable")

    param: str
    values: np.ndarray
    up: Sweep | None
    down: Sweep | None
    branches: list
    n_stable: np.ndarray

    def plot(self, ax=None, *, final: bool = False, multistable: bool = False, **style):
        """Sweep samples as dots, fixed-point branches coloured by stability; with ``final``
        each sweep's end state per value as a line (the hysteresis loop), with
        ``multistable`` the values where ``n_stable >= 2`` shaded. Returns the Axes.

        >>> net = gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 3.0}))
        >>> bif = gt.bifurcation(net, "r", np.linspace(2.8, 3.6, 21), h0=[0.2], progress=False)
        >>> bif.plot().get_xlabel()
        'parameter r'
        """
        from ..figures._plot_maps import plot_bifurcation

        return plot_bifurcation(self, ax, final=final, multistable=multistable, **style)

    def plot_lyapunov(self, ax=None, **style):
        """Each sweep's finite-time Lyapunov exponent (``Sweep.lyapunov``) against the
        parameter, with the zero line; ``style`` goes to the curves. Returns the Axes.

        >>> net = gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 3.0}))
        >>> bif = gt.bifurcation(net, "r", [3.2, 4.0], h0=[0.2], sweep="up", progress=False)
        >>> bif.plot_lyapunov().get_title()
        'largest Lyapunov exponent over the sweep'
        """
        from ..figures._plot_maps import plot_sweep_lyapunov

        return plot_sweep_lyapunov(self, ax, **style)


def _network_at(model, param: str, value, x):
    """(network, constant input) at one parameter value."""
    if callable(model) and not hasattr(model, "params"):
        return model(value), x
    if param == "x":
        return model, np.broadcast_to(np.asarray(value, float), (model.n_in,))
    if param not in model.params:
        raise ValueError(
            f"param must be 'x' (the constant input) or one of {sorted(model.params)}, "
            f"got {param!r}"
        )
    net = model.copy()
    shape = np.shape(net.params[param])
    try:
        net.params[param] = np.array(np.broadcast_to(np.asarray(value, float), shape), net.dtype)
    except ValueError:
        raise ValueError(
            f"value {value!r} does not fit params[{param!r}] of shape {shape}"
        ) from None
    return net, x


def _finite_time_exponent(jacs: np.ndarray) -> float:
    """(1/k) ln ||J_k ... J_1||_2 of k step Jacobians (k, n, n), renormalised every step."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if jacs.shape[1] == 1:
            return float(np.log(np.abs(jacs[:, 0, 0])).mean())
        prod, log_scale = np.eye(jacs.shape[1]), 0.0
        for jac in jacs:
            prod = jac @ prod
            norm = np.linalg.norm(prod)
            if not np.isfinite(norm) or norm == 0.0:
                return -np.inf if norm == 0.0 else np.nan
            log_scale += np.log(norm)
            prod /= norm
        return float((log_scale + np.log(np.linalg.norm(prod, ord=2))) / len(jacs))


def _sweep(model, param, values, x, h0, transient, keep, max_period, tol, bound, bar) -> Sweep:
    s, finals, kinds, periods, ps, ss, lyaps = h0.copy(), [], [], [], [], [], []
    for value in values:
        net, xv = _network_at(model, param, value, x)
        ev = MapEval(net, xv)
        if s.shape[1] != ev.n:
            raise ValueError(f"h0 has {s.shape[1]} coordinates but the map has n_state = {ev.n}")
        states, diverged = iterate(ev, s, transient + keep, bound)
        if diverged[0] >= 0:
            finals.append(states[-1, 0])
            kinds.append("divergent")
            periods.append(0)
            lyaps.append(np.nan)
            s = h0.copy()  # continuation cannot go on from infinity
        else:
            tail = states[-keep:, 0]
            p = find_period(tail, max_period, tol)
            kinds.append("fixed_point" if p == 1 else "cycle" if p else "aperiodic")
            periods.append(p)
            lyaps.append(_finite_time_exponent(ev.value_jac(states[-keep - 1 : -1, 0])[1]))
            ps.append(np.full(keep, float(np.ravel(value)[0]) if np.size(value) else 0.0))
            ss.append(tail)
            finals.append(tail[-1])
            s = tail[-1][None].copy()
        bar.update(1)
    n = h0.shape[1]
    return Sweep(
        values=np.asarray(values),
        param=np.concatenate(ps) if ps else np.zeros(0),
        states=np.concatenate(ss) if ss else np.zeros((0, n)),
        final=np.array(finals),
        kind=kinds,
        period=np.array(periods),
        lyapunov=np.array(lyaps, dtype=float),
    )


def _compiled_rows(model, param, values, x):
    """(module, P (k, m), X (k, n_in)) for the compiled sweep, or None where it does not apply."""
    if not hasattr(model, "params") or not _compiled.available(model):
        return None
    layout = _jitgen.param_layout(model.cell, model.n_hidden, model.n_in)
    if param != "x" and param not in layout:  # unknown names get the NumPy path's message
        return None
    module = _compiled.kernels(model)
    if module is None:
        return None
    k = len(values)
    P = np.repeat(_jitgen.flat_params(model), k, axis=0)
    if param == "x":
        X = np.array(np.broadcast_to(values[:, None], (k, model.n_in)), dtype=np.float64)
    else:
        X = _compiled.constant_inputs(model, x, k).copy()
        offset, shape = layout[param]
        width = int(np.prod(shape, dtype=int))
        P[:, offset : offset + width] = values[:, None]
    return module, P, X


def _compiled_sweep(rows, values, h0, transient, keep, max_period, tol, bound) -> Sweep:
    module, P, X = rows
    k, n = len(values), h0.shape[1]
    tails = np.zeros((k, keep, n))
    finals = np.empty((k, n))
    periods = np.empty(k, dtype=np.int64)
    lyaps = np.empty(k)
    div = np.empty(k, dtype=np.bool_)
    module.sweep(
        np.ascontiguousarray(h0[0]), X, P, transient, keep, max_period, tol, float(bound),
        tails, finals, periods, lyaps, div,
    )  # fmt: skip
    kinds = [
        "divergent" if d else "fixed_point" if p == 1 else "cycle" if p else "aperiodic"
        for d, p in zip(div, periods, strict=True)
    ]
    ok = ~div
    return Sweep(
        values=np.asarray(values),
        param=np.repeat(values[ok], keep).astype(float),
        states=tails[ok].reshape(-1, n),
        final=finals,
        kind=kinds,
        period=periods.astype(int),
        lyapunov=lyaps,
    )


class _RowEval:
    """The compiled map of one row (value) of a sweep: what :func:`classify` needs."""

    def __init__(self, module, x, p):
        self.module, self.x, self.p, self.n = module, x, p, 1

    def value(self, s):
        out = np.empty_like(s)
        self.module.values(np.ascontiguousarray(s, dtype=float), self.x, self.p, out)
        return out

    def value_jac(self, s):
        s = np.ascontiguousarray(s, dtype=float)
        out, jac = np.empty_like(s), np.empty((*s.shape, s.shape[1]))
        self.module.values_jac(s, self.x, self.p, out, jac)
        return out, jac


_BRANCH_OPTIONS = {"interval", "grid", "tol_q", "dedup_tol", "slow_q", "marginal_tol", "progress"}


def _compiled_branches(rows, interval, options) -> list:
    """Fixed points of a 1-D map at every value, by the compiled grid scan of g = F(s) - s.

    Each grid cell is searched for sign changes of g and, where g keeps its sign, for an
    extremum (a sign change of g') that reaches or crosses zero: two roots born in one cell
    (the folds of a diagram) are found even when the grid steps over both.
    """
    module, P, X = rows
    k = len(P)
    grid = int(options.get("grid", 20_001))
    tol_q = options.get("tol_q", 1e-20)
    if interval is None:  # as default_interval: fixed points lie in the range of F
        reach = 100.0
        span = np.empty((k, 2))
        module.value_range(X, P, -reach, reach, 40001, span)
        lo, hi = np.maximum(-reach, span[:, 0]), np.minimum(reach, span[:, 1])
        empty = ~np.isfinite(span).all(axis=1)
        lo, hi = np.where(empty, -reach, lo), np.where(empty, reach, hi)
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        pad = 0.01 * (hi - lo) + 1e-6
        lo, hi = np.maximum(-reach, lo - pad), np.minimum(reach, hi + pad)
    else:
        lo, hi = np.full(k, float(interval[0])), np.full(k, float(interval[1]))
    cap = 64
    roots, near = np.empty((k, cap)), np.empty((k, cap))
    n_roots, n_near = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
    module.roots_1d(X, P, lo, hi, grid, float(np.sqrt(2 * tol_q)), roots, n_roots, near, n_near)
    found = []
    for i in range(k):
        ev = _RowEval(module, X[i], P[i])
        pts = np.unique(roots[i, : n_roots[i]])[:, None]
        q = 0.5 * (ev.value(pts) - pts)[:, 0] ** 2
        keep = _dedup(pts, q, options.get("dedup_tol", 1e-6)) if len(pts) else np.zeros(0, int)
        slow = near[i, : n_near[i]][:, None]
        sq = 0.5 * (ev.value(slow) - slow)[:, 0] ** 2
        ok = sq < options.get("slow_q", 1e-6)
        info = {"interval": (lo[i], hi[i]), "method": "compiled grid + bisection"}
        found.append(
            classify(
                ev, pts[keep], q[keep], slow[ok], sq[ok], options.get("marginal_tol", 1e-6), info
            )
        )
    return found


def _link(values, found, link_tol, gap: int = 1) -> list:
    """Join the fixed points at successive values into branches (assignment on predictions).

    A branch missing at up to ``gap`` successive values stays open, so two branches that meet
    exactly at a grid value (a transcritical crossing) continue through it.
    """
    open_, done = [], []
    for value, fp in zip(values, found, strict=True):
        pts = fp.points
        pairs = []
        if open_ and len(pts):
            pred = np.array(
                [2 * b["p"][-1] - b["p"][-2] if len(b["p"]) > 1 else b["p"][-1] for b in open_]
            ).reshape(len(open_), -1)
            cost = np.linalg.norm(pred[:, None, :] - pts[None, :, :], axis=2)
            rows, cols = linear_sum_assignment(np.minimum(cost, 1e300))
            pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= link_tol]
        matched_b, matched_p = {r for r, _ in pairs}, {c for _, c in pairs}
        for r, c in pairs:
            b = open_[r]
            b["miss"] = 0
            for key, item in (
                ("v", value),
                ("p", pts[c]),
                ("e", fp.eigenvalues[c]),
                ("u", fp.n_unstable[c]),
            ):
                b[key].append(item)
        still = []
        for i, b in enumerate(open_):
            if i not in matched_b:
                b["miss"] += 1
            (still if b["miss"] <= gap else done).append(b)
        for c in range(len(pts)):
            if c not in matched_p:
                still.append(
                    {
                        "v": [value],
                        "p": [pts[c]],
                        "e": [fp.eigenvalues[c]],
                        "u": [fp.n_unstable[c]],
                        "miss": 0,
                    }
                )
        open_ = still
    out = []
    for b in done + open_:
        u = np.array(b["u"])
        out.append(
            Branch(
                values=np.array(b["v"]),
                points=np.array(b["p"]),
                eigenvalues=np.array(b["e"]),
                stable=u == 0,
                n_unstable=u,
            )
        )
    return sorted(out, key=lambda br: (br.values[0], tuple(br.points[0])))


@validate(
    values=Array(1),
    transient=Int(min=0),
    keep=Int(min=1),
    sweep=Choice("both", "up", "down", "none"),
    branches=Bool(),
    link_tol=Real(gt=0, none=True),
    max_period=Int(min=1),
    tol=Real(gt=0),
    bound=Real(gt=0),
    fixed_point_kw=Instance(dict, "a dict of fixed_points options", none=True),
    progress=Bool(),
)
def bifurcation(
    model,
    param: str,
    values,
    *,
    h0,
    x=None,
    transient: int = 500,
    keep: int = 64,
    sweep: str = "both",
    branches: bool = True,
    interval=None,
    link_tol: float | None = None,
    max_period: int = 32,
    tol: float = 1e-8,
    bound: float = 1e12,
    fixed_point_kw: dict | None = None,
    progress: bool = True,
) -> Bifurcation:
    """Bifurcation diagram of a map over a parameter: attractor samples and fixed-point branches.

    Parameters
    ----------
    model : Network or callable value -> Network
        With a Network, ``param`` names the parameter set to each value (broadcast to its
        shape, on a copy) or is ``"x"`` for the constant input.
    param : str
    values : array (k,)
        Parameter values, in sweep order.
    h0 : array (n_state,)
        Initial state of the first sweep.
    x : array (n_in,), optional
        Constant input (unless ``param == "x"``).
    transient, keep : int
        Steps discarded and samples kept per value.
    sweep : {'both', 'up', 'down', 'none'}
        'both': up through ``values`` then back down, continuing from the up sweep's state.
    branches : bool
        Continue fixed-point branches (1-D: every root in ``interval`` at each value).
    interval : (lo, hi), optional
        1-D search interval of :func:`fixed_points`.
    link_tol : float, optional
        Largest jump between linked points of a branch; default 0.25 of the spread of all
        fixed points (at least 1e-3).
    max_period, tol, bound : period detection and divergence, as in :func:`attractor`.
    fixed_point_kw : dict, optional
        Extra arguments for :func:`fixed_points` (n_state >= 2).
    progress : bool
        Only the NumPy path shows a bar (the compiled sweeps and branch scan take well under a
        second).

    Returns
    -------
    Bifurcation
        For a network made by :meth:`~gradtheory.Network.vary`, a sequence of K of them (one
        diagram per system).

    Examples
    --------
    >>> bif = bifurcation(gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 3.0})),
    ...                   "r", np.linspace(2.5, 4.0, 61), h0=[0.2], progress=False)
    >>> bif.values[[0, 40]], bif.up.period[[0, 40]]  # a fixed point at r = 2.5, a 4-cycle at 3.5
    (array([2.5, 3.5]), array([1, 4]))
    """
    if hasattr(model, "params") and getattr(model, "K", None) is not None:
        options = {key: v for key, v in locals().items() if key not in ("model", "param", "values")}
        return each_system(bifurcation, model, param, values, **options)
    if sweep not in ("both", "up", "down", "none"):
        raise ValueError(f"sweep must be 'both', 'up', 'down' or 'none', got {sweep!r}")
    for name, value, low in (("transient", transient, 0), ("keep", keep, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("values must be a non-empty 1-D array of finite numbers")
    net0, _ = _network_at(model, param, values[0], x)
    s0 = check_states(h0, net0.n_state, "h0")
    if s0.shape[0] != 1:
        raise ValueError("h0 must be a single state (n_state,)")
    rows = _compiled_rows(model, param, values, x) if sweep != "none" else None
    total = len(values) * ((sweep == "both") + 1 if sweep != "none" else 0) + len(values) * branches
    bar = progress_bar(total, desc="bifurcation", enable=progress and rows is None)
    args = (x, transient, keep, max_period, tol, bound, bar)
    up = down = None
    if sweep in ("both", "up"):
        if rows is not None:
            up = _compiled_sweep(rows, values, s0, transient, keep, max_period, tol, bound)
        else:
            up = _sweep(model, param, values, args[0], s0, *args[1:])
    if sweep in ("both", "down"):
        start = s0 if up is None or up.kind[-1] == "divergent" else up.final[-1][None]
        if rows is not None:
            module, P, X = rows
            down = _compiled_sweep(
                (module, P[::-1].copy(), X[::-1].copy()),
                values[::-1],
                start,
                transient,
                keep,
                max_period,
                tol,
                bound,
            )
        else:
            down = _sweep(model, param, values[::-1], args[0], start, *args[1:])
    found = []
    fast = branches and set(fixed_point_kw or {}) <= _BRANCH_OPTIONS
    if fast and rows is None and sweep == "none":
        rows = _compiled_rows(model, param, values, x)
    if fast and rows is not None and net0.n_state == 1:
        found = _compiled_branches(rows, interval, fixed_point_kw or {})
        branches = False
    if branches:
        kw = {"progress": False, **(fixed_point_kw or {})}
        for value in values:
            net, xv = _network_at(model, param, value, x)
            if net.n_state == 1:
                kw.setdefault("interval", interval)
            found.append(fixed_points(net, xv, **kw))
            bar.update(1)
    bar.close()
    links = []
    if found:
        allp = np.concatenate([f.points for f in found]) if any(len(f) for f in found) else None
        spread = 0.0 if allp is None else float(np.ptp(allp, axis=0).max())
        links = _link(values, found, link_tol if link_tol else max(0.25 * spread, 1e-3))
    n_stable = np.array([int(f.stable.sum()) for f in found]) if found else np.zeros(0, int)
    return Bifurcation(
        param=param, values=values, up=up, down=down, branches=links, n_stable=n_stable
    )
