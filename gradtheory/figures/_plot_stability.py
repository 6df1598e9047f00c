"""Drawing linear stability: fixed points in state space with their eigenvalues, and Lyapunov
exponents converging over the measured steps."""

from __future__ import annotations

import numpy as np

from ._axes import axes_row, one_axes
from ._plot_maps import KIND_COLORS
from .style import PALETTE

__all__ = ["plot_eigenvalues", "plot_fixed_points", "plot_lyapunov"]

_MARKERS = {"stable": "o", "saddle": "s", "unstable": "D"}


def _projection(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """(centre, 2 x n basis, axis labels): identity for n <= 2, else the first two principal
    axes of the fixed points (the first two coordinates if there are fewer than two points)."""
    n = points.shape[1]
    if n <= 2 or len(points) < 2:
        basis = np.eye(n)[: min(n, 2)]
        return np.zeros(n), basis, ("$s_1$", "$s_2$")
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre, full_matrices=False)
    return centre, vt[:2], ("principal axis 1", "principal axis 2")


def _box(points: np.ndarray, pad: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    margin = np.maximum(pad * (hi - lo), 0.5)
    return lo - margin, hi + margin


def _flow_1d(ax, fps, ev, grid: int) -> None:
    lo, hi = fps.info.get("interval") or _box(fps.points if len(fps) else np.zeros((1, 1)))
    s = np.linspace(float(np.ravel(lo)[0]), float(np.ravel(hi)[0]), 20 * grid)[:, None]
    ax.plot(s[:, 0], ev.value(s)[:, 0] - s[:, 0], color="black", lw=1.5, label="$F(s) - s$")
    ax.axhline(0.0, color="grey", lw=1.0)


def _flow_2d(ax, fps, ev, grid: int) -> None:
    lo, hi = _box(fps.points if len(fps) else np.zeros((1, 2)))
    gx, gy = np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)
    mesh = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    step = (ev.value(mesh) - mesh).reshape(grid, grid, 2)
    ax.streamplot(gx, gy, step[..., 0], step[..., 1], color="#999999", density=0.9, linewidth=0.8)
    for i, colour in enumerate((PALETTE[0], PALETTE[4])):
        ax.contour(gx, gy, step[..., i], levels=[0.0], colors=[colour], linewidths=1.6)
        ax.plot([], [], color=colour, label=f"nullcline $F_{i + 1}(s) = s_{i + 1}$")


def plot_fixed_points(result, axes=None, *, net=None, x=None, grid: int = 40, **style):
    """Two panels: the fixed points in state space and their eigenvalues against the unit circle.

    With ``net`` (and ``x``, the constant input), a 1-D map also shows F(s) - s and a 2-D map
    the streamlines of F(s) - s with both nullclines; n-D states are projected on the first two
    principal axes of the points.
    """
    axes = axes_row(axes, 2, name="FixedPoints.plot")
    space, spectrum = axes
    points = np.asarray(result.points)
    n_state = points.shape[1] if points.ndim == 2 else 1
    if net is not None and n_state <= 2:
        from ..analysis._mapeval import MapEval

        ev = MapEval(net, x)
        (_flow_1d if n_state == 1 else _flow_2d)(space, result, ev, grid)
    centre, basis, labels = _projection(points if len(points) else np.zeros((1, n_state)))
    for kind in ("stable", "saddle", "unstable"):
        chosen = np.array([k == kind for k in result.kind], dtype=bool)
        if not chosen.any():
            continue
        projected = (points[chosen] - centre) @ basis.T
        ys = projected[:, 1] if projected.shape[1] > 1 else np.zeros(len(projected))
        marker_style = {"ms": 9, "mec": "black", **style}
        space.plot(
            projected[:, 0],
            ys,
            _MARKERS[kind],
            color=KIND_COLORS[kind],
            label=f"{kind} ({int(chosen.sum())})",
            linestyle="none",
            **marker_style,
        )
        eig = result.eigenvalues[chosen].ravel()
        spectrum.plot(
            eig.real,
            eig.imag,
            _MARKERS[kind],
            color=KIND_COLORS[kind],
            linestyle="none",
            label=kind,
            **marker_style,
        )
    space.set_xlabel(labels[0] if n_state > 1 else "$s$")
    space.set_ylabel(labels[1] if n_state > 1 else "$F(s) - s$")
    space.set_title(f"{len(result)} fixed points")
    angle = np.linspace(0.0, 2.0 * np.pi, 200)
    spectrum.plot(np.cos(angle), np.sin(angle), color="grey", lw=1.0, label="$|\\lambda| = 1$")
    spectrum.set_aspect("equal", adjustable="datalim")
    spectrum.set_xlabel(r"Re $\lambda$")
    spectrum.set_ylabel(r"Im $\lambda$")
    spectrum.set_title("eigenvalues of $\\partial F/\\partial s$")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=9)
    return axes


def plot_eigenvalues(eigenvalues, ax=None, *, circle: bool = True, **style):
    """Eigenvalues (any shape, complex) in the complex plane, with the unit circle."""
    ax = one_axes(ax)
    eig = np.asarray(eigenvalues).ravel()
    marker_style = {"marker": "o", "linestyle": "none", "color": PALETTE[0], **style}
    ax.plot(eig.real, eig.imag, **marker_style)
    if circle:
        angle = np.linspace(0.0, 2.0 * np.pi, 400)
        ax.plot(np.cos(angle), np.sin(angle), color="black", lw=1.2)
    ax.set_aspect("equal")
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.set_title(f"{eig.size} eigenvalues and the unit circle")
    return ax


def plot_lyapunov(result, ax=None, *, show: int = 6, **style):
    """Running mean of the block estimates of the first ``show`` exponents against the measured
    steps (how the finite-time exponents converge), with the final values dashed."""
    ax = one_axes(ax)
    blocks = np.asarray(result.finite_time, dtype=float)
    count = min(show, blocks.shape[1]) if blocks.ndim == 2 else 0
    steps = result.block * np.arange(1, len(blocks) + 1)
    for i in range(count):
        colour = PALETTE[i % len(PALETTE)]
        values = np.where(np.isfinite(blocks[:, i]), blocks[:, i], np.nan)
        running = np.nancumsum(values) / np.cumsum(np.isfinite(values)).clip(min=1)
        ax.plot(steps, values, ".", color=colour, ms=3, alpha=0.4)
        line_style = {"color": colour, **style}
        ax.plot(
            steps,
            running,
            label=rf"$\lambda_{{{i + 1}}}$ = {result.exponents[i]:.4g}",
            **line_style,
        )
        if np.isfinite(result.exponents[i]):
            ax.axhline(result.exponents[i], color=colour, ls="--", lw=1.0)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xlabel("measured steps")
    ax.set_ylabel("exponent (ln growth per step)")
    ax.set_title("finite-time Lyapunov exponents (dots: blocks)")
    if count:
        ax.legend(loc="best", fontsize=9)
    return ax
