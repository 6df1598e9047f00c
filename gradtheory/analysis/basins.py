"""Basins of attraction of a two-dimensional map, and the gradient ||ds_T/ds_0|| over them.

The lecture notes (CSC421 Lecture 14, after Hinton): inside a basin a small change of the
initial state ends at the same attractor, so the gradient vanishes; on a boundary it moves the
end point to another attractor, so the gradient explodes. :func:`basins` labels every initial
state of a grid by the attractor it reaches and, optionally, computes ln ||ds_T/ds_0||_2 from
the product of step Jacobians kept in scaled form (exact, no overflow or underflow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._repr import compact_repr
from .._validate import Array, Bool, Int, NetworkArg, Real, validate
from ._batch import each_system
from ._mapeval import MapEval
from ._orbits import bounded

__all__ = ["Basins", "basins"]


@dataclass(frozen=True)
class Basins:
    """Result of :func:`basins`; grids are (ny, nx) with rows along ``grid_y``.

    Attributes
    ----------
    grid_x, grid_y : ndarray (nx,), (ny,)
    labels : ndarray (ny, nx) of int
        Index into ``attractors``; -1 for divergent orbits (or, with given attractors, orbits
        that reach none of them).
    attractors : ndarray (k, 2)
        One point of each attractor (cluster representative or as given).
    final : ndarray (ny, nx, 2)
        State after ``steps`` (+-inf where divergent).
    diverged : ndarray (ny, nx) of bool
    log_gradient : ndarray (ny, nx) or None
        ln ||d s_T / d s_0||_2 (for divergent orbits, up to the step before divergence).
    steps : int
    """

    __repr__ = compact_repr("grid_x", "grid_y", "labels", "attractors", "steps")

    grid_x: np.ndarray
    grid_y: np.ndarray
    labels: np.ndarray
    attractors: np.ndarray
    final: np.ndarray
    diverged: np.ndarray
    log_gradient: np.ndarray | None
    steps: int

    def plot(self, axes=None, *, inside: float | None = None, saddles=None, **style):
        """Basins and the log10 gradient map side by side; returns the array of 2 Axes (of 1
        without a gradient). With ``inside`` a third panel holds the distributions of the
        log10 gradient on :attr:`boundary` cells and on cells more than ``inside`` cells from
        any boundary (:attr:`boundary_distance`), medians dashed. ``saddles`` (k, 2), e.g. the
        saddles of :func:`gradtheory.fixed_points`, are marked on the maps. ``style`` goes to
        the gradient image (e.g. ``cmap``).

        >>> bistable = {"W": 2 * np.eye(2)}  # two bistable units: four attractors
        >>> net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params=bistable)
        >>> grid = np.linspace(-1, 1, 20)
        >>> [ax.get_title() for ax in gt.basins(net, grid, grid).plot()]
        ['basins of attraction (4 attractors)', 'gradient after T = 200 steps']
        """
        from ..figures._plot_maps import plot_basins

        return plot_basins(self, axes, inside=inside, saddles=saddles, **style)

    @property
    def log10_gradient(self) -> np.ndarray | None:
        """log10 ||d s_T / d s_0||_2, (ny, nx)."""
        return None if self.log_gradient is None else self.log_gradient / np.log(10.0)

    @property
    def boundary(self) -> np.ndarray:
        """(ny, nx) bool: cells with a horizontal or vertical neighbour of another label
        (-1, divergent or unassigned, counts as a label): both sides of every basin boundary."""
        edge = np.zeros(self.labels.shape, dtype=bool)
        for axis in (0, 1):
            diff = np.diff(self.labels, axis=axis) != 0
            lo, hi = [slice(None)] * 2, [slice(None)] * 2
            lo[axis], hi[axis] = slice(None, -1), slice(1, None)
            edge[tuple(lo)] |= diff
            edge[tuple(hi)] |= diff
        return edge

    @property
    def boundary_distance(self) -> np.ndarray:
        """(ny, nx) Euclidean distance, in grid cells, to the nearest :attr:`boundary` cell
        (0 on the boundary; inf everywhere if the grid holds a single basin)."""
        edge = self.boundary
        if not edge.any():
            return np.full(edge.shape, np.inf)
        from scipy import ndimage  # imported here: it costs a third of the package's import

        return ndimage.distance_transform_edt(~edge)


def _grid_axis(values, name: str) -> np.ndarray:
    axis = np.asarray(values, dtype=float)
    if axis.ndim != 1 or axis.size < 1 or not np.all(np.isfinite(axis)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers")
    return axis


@validate(
    net=NetworkArg(),
    grid_x=Array(1),
    grid_y=Array(1),
    attractors=Array(shape=(None, 2), none=True),
    steps=Int(min=1),
    gradient=Bool(),
    tol=Real(gt=0),
    window=Int(min=1),
    bound=Real(gt=0),
)
def basins(
    net,
    grid_x,
    grid_y,
    *,
    x=None,
    steps: int = 200,
    attractors=None,
    gradient: bool = True,
    tol: float = 1e-3,
    window: int = 16,
    bound: float = 1e12,
) -> Basins:
    """Label each initial state of a 2-D grid by the attractor its orbit reaches.

    Parameters
    ----------
    net : Network
        With n_state == 2.
    grid_x, grid_y : array (nx,), (ny,)
        Initial values of the first and second state coordinate.
    x : array (n_in,), optional
        Constant input.
    steps : int
        Iterations T from each initial state.
    attractors : array (k, 2), optional
        Known attractor points (e.g. stable fixed points); an orbit belongs to the first one that
        a state of its last ``window`` steps comes within ``tol`` of. Default: cluster the orbits'
        end points (the lexicographically smallest state of the last ``window`` steps, so every
        phase of a cycle of period <= ``window`` gives the same point) with tolerance ``tol``.
    gradient : bool
        Also compute ln ||d s_T / d s_0||_2 by propagating the 2x2 Jacobian product, renormalised
        every step.
    tol : float
    window : int
    bound : float
        Divergence threshold.

    Returns
    -------
    Basins
        For a network made by :meth:`~gradtheory.Network.vary`: a sequence of K of them.

    Examples
    --------
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})
    >>> basins(net, np.linspace(-1, 1, 20), np.linspace(-1, 1, 20)).attractors.shape
    (4, 2)
    """
    if getattr(net, "K", None) is not None:  # a varied network: one Basins per system
        options = {k: v for k, v in locals().items() if k not in ("net", "grid_x", "grid_y")}
        return each_system(basins, net, grid_x, grid_y, **options)
    ev = MapEval(net, x)
    if ev.n != 2:
        raise ValueError(f"basins need a two-dimensional state (n_state == 2); this map has {ev.n}")
    gx, gy = _grid_axis(grid_x, "grid_x"), _grid_axis(grid_y, "grid_y")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    xx, yy = np.meshgrid(gx, gy)
    s = np.column_stack([xx.ravel(), yy.ravel()])
    batch = len(s)
    alive = np.ones(batch, dtype=bool)
    mat = np.broadcast_to(np.eye(2), (batch, 2, 2)).copy()
    log_scale = np.zeros(batch)
    recent, final = [], None
    for t in range(steps + window):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        if gradient and t < steps:
            value, entry = ev.value_entry(s[idx])
            prod = ev.jvp(entry, mat[idx])
            norm = np.linalg.norm(prod, axis=(1, 2))
            with np.errstate(divide="ignore"):
                ok = np.isfinite(norm)
                log_scale[idx[ok]] += np.log(norm[ok])
                mat[idx[ok]] = prod[ok] / np.where(norm[ok] > 0, norm[ok], 1.0)[:, None, None]
        else:
            value = ev.value(s[idx])
        fine = bounded(value, bound)
        alive[idx[~fine]] = False
        s[idx[fine]] = value[fine]
        if t == steps - 1:
            final = s.copy()  # s_T; the ``window`` steps after it only label the orbit
        if t >= steps:
            recent.append(s.copy())
    diverged = ~alive
    final = s.copy() if final is None else final
    final[diverged] = np.copysign(np.inf, np.where(final[diverged] == 0, 1.0, final[diverged]))
    tail = np.stack(recent) if recent else s[None]
    labels = np.full(batch, -1)
    if attractors is not None:
        points = np.asarray(attractors, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(points)):
            raise ValueError("attractors must be finite (k, 2) points")
        for j in range(len(points) - 1, -1, -1):
            near = np.linalg.norm(tail - points[j], axis=2).min(axis=0) <= tol
            labels[near & alive] = j
    else:
        pick = np.argmin(np.round(tail[..., 0], 9), axis=0)
        ends = tail[pick, np.arange(batch)]
        found = []
        todo = alive.copy()
        while todo.any():
            first = ends[np.argmax(todo)]
            near = todo & (np.linalg.norm(ends - first, axis=1) <= tol)
            labels[near] = len(found)
            found.append(first)
            todo &= ~near
        points = np.array(found).reshape(-1, 2)
        if len(points):
            perm = np.lexsort(np.round(points, 9).T[::-1])
            rank = np.empty_like(perm)
            rank[perm] = np.arange(len(perm))
            points = points[perm]
            labels[labels >= 0] = rank[labels[labels >= 0]]
    log_grad = None
    if gradient:
        with np.errstate(divide="ignore"):
            log_grad = (log_scale + np.log(np.linalg.norm(mat, ord=2, axis=(1, 2)))).reshape(
                xx.shape
            )
    shape = xx.shape
    return Basins(
        grid_x=gx,
        grid_y=gy,
        labels=labels.reshape(shape),
        attractors=points,
        final=final.reshape((*shape, 2)),
        diverged=diverged.reshape(shape),
        log_gradient=log_grad,
        steps=int(steps),
    )
