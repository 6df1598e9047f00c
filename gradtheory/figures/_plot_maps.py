"""Drawing iterated maps: bifurcation diagrams, basins of attraction, attractors with cobwebs.

The result classes in :mod:`gradtheory.analysis` call these through one-line ``plot`` methods;
each function takes the result first and returns what the method returns.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap

from ._axes import axes_row, one_axes, segments_where
from .style import PALETTE

__all__ = [
    "KIND_COLORS",
    "plot_attractor",
    "plot_basins",
    "plot_bifurcation",
    "plot_sweep_lyapunov",
]

#: Colour of a fixed point (or branch) by its stability, used by every dynamics figure.
KIND_COLORS = {"stable": PALETTE[2], "saddle": PALETTE[1], "unstable": PALETTE[3]}


def _kind(n_unstable: int, n_state: int) -> str:
    return "stable" if n_unstable == 0 else "unstable" if n_unstable == n_state else "saddle"


def plot_bifurcation(
    result, ax=None, *, coordinate: int = 0, final: bool = False, multistable: bool = False, **style
):
    """Attractor samples of the sweeps as dots, fixed-point branches coloured by stability;
    with ``final`` each sweep's state at the end of every value as a line (their gap is the
    hysteresis), with ``multistable`` the values with two or more stable fixed points shaded."""
    ax = one_axes(ax)
    for sweep, colour, label in (
        (result.up, PALETTE[0], f"sweep {result.param} up"),
        (result.down, PALETTE[4], f"sweep {result.param} down"),
    ):
        if sweep is not None and len(sweep.param):
            ax.plot(sweep.param, sweep.states[:, coordinate], ".", ms=1.5, color=colour, alpha=0.5)
            ax.plot([], [], ".", ms=6, color=colour, label=label)  # a legend-sized marker
        if final and sweep is not None:
            state = sweep.final[:, coordinate]
            ax.plot(sweep.values, state, color=colour, lw=1.5, zorder=3,  # over the branches
                    label=f"state after the {label}")  # fmt: skip
    if multistable:
        for n, run in enumerate(segments_where(np.asarray(result.n_stable) >= 2)):
            span = result.values[run.start], result.values[run.stop - 1]
            label = None if n else "two or more stable fixed points"
            ax.axvspan(*span, color=PALETTE[5], alpha=0.12, lw=0, label=label)
    labelled = set()
    for branch in result.branches:
        n_state = branch.points.shape[1]
        kinds = np.array([_kind(int(u), n_state) for u in branch.n_unstable])
        for kind in ("stable", "saddle", "unstable"):
            for run in segments_where(kinds == kind):
                values, points = branch.values[run], branch.points[run, coordinate]
                line_style = {"lw": 2.2, **style}
                ax.plot(
                    values,
                    points,
                    "-" if kind == "stable" else "--",
                    color=KIND_COLORS[kind],
                    label=None if kind in labelled else f"{kind} fixed point",
                    **line_style,
                )
                labelled.add(kind)
    ax.set_xlabel(f"parameter {result.param}")
    ax.set_ylabel(f"state $s_{{{coordinate + 1}}}$")
    ax.set_title("bifurcation diagram")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=9)
    return ax


def plot_sweep_lyapunov(result, ax=None, **style):
    """The finite-time largest Lyapunov exponent of each sweep against the parameter, and 0:
    below it the attractor contracts (fixed point, cycle), above it chaos."""
    ax = one_axes(ax)
    for sweep, colour, label in ((result.up, PALETTE[0], "up"), (result.down, PALETTE[4], "down")):
        if sweep is not None:
            line_style = {"color": colour, "lw": 1.0, "label": f"sweep {result.param} {label}"}
            ax.plot(sweep.values, sweep.lyapunov, **{**line_style, **style})
    ax.axhline(0.0, color="black", lw=1)
    ax.set_xlabel(f"parameter {result.param}")
    ax.set_ylabel(r"finite-time Lyapunov exponent $\lambda$")
    ax.set_title("largest Lyapunov exponent over the sweep")
    return ax


def plot_basins(result, axes=None, *, inside: float | None = None, saddles=None, **style):
    """Basins (a colour per attractor, grey: divergent) and, if computed, log10 of the gradient;
    with ``inside``, its distribution on the boundaries and deep inside the basins; ``saddles``
    (k, 2), whose stable manifolds are the boundaries, marked on the maps."""
    has_gradient = result.log_gradient is not None
    if inside is not None and not has_gradient:
        raise ValueError("Basins.plot: argument 'inside' needs a result with the gradient; got "
                         "one computed with gradient=False")  # fmt: skip
    panels = (2 if has_gradient else 1) + (inside is not None)
    axes = axes_row(axes, panels, name="Basins.plot")
    extent = (result.grid_x[0], result.grid_x[-1], result.grid_y[0], result.grid_y[-1])
    k = len(result.attractors)
    colours = ["#BBBBBB"] + [PALETTE[i % len(PALETTE)] for i in range(k)]
    axes[0].imshow(
        result.labels + 1,
        origin="lower",
        extent=extent,
        aspect="auto",
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=k + 0.5,
        interpolation="nearest",
    )
    axes[0].set_title(f"basins of attraction ({k} attractors)")
    if has_gradient:
        image = axes[1].imshow(
            result.log10_gradient,
            origin="lower",
            extent=extent,
            aspect="auto",
            interpolation="nearest",
            **style,
        )
        axes[1].figure.colorbar(
            image, ax=axes[1], label=r"$\log_{10}\|\partial s_T/\partial s_0\|$"
        )
        axes[1].set_title(f"gradient after T = {result.steps} steps")
    if inside is not None:
        _plot_gradient_distribution(result, axes[2], inside)
    for ax in axes[:2]:
        if k:
            ax.plot(*result.attractors.T[:2], "x", color="black", ms=9, mew=2, label="attractor")
        if saddles is not None and len(saddles):
            points = np.asarray(saddles, dtype=float).T[:2]
            ax.plot(*points, "X", color=KIND_COLORS["saddle"], mec="black", ms=11, label="saddle")
        ax.set_xlabel("$s_{0,1}$")
        ax.set_ylabel("$s_{0,2}$")
        ax.grid(False)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="upper left", fontsize=9)
    return axes


def _plot_gradient_distribution(result, ax, inside: float) -> None:
    log_grad = result.log10_gradient
    bins = np.linspace(np.percentile(log_grad, 0.5), log_grad.max(), 40)
    for cells, colour, label in (
        (
            result.boundary_distance > inside,
            PALETTE[0],
            f"inside (> {inside:g} cells from boundary)",
        ),
        (result.boundary, PALETTE[3], "boundary cells"),
    ):
        ax.hist(log_grad[cells], bins=bins, density=True, color=colour, alpha=0.6, label=label)
        ax.axvline(np.median(log_grad[cells]), color=colour, ls="--", lw=2)
    ax.set_xlabel(r"$\log_{10}\|\partial s_T/\partial s_0\|_2$")
    ax.set_ylabel("density")
    ax.set_title("medians dashed")
    ax.legend(loc="upper right", fontsize=9.5)


def plot_attractor(result, ax=None, *, net=None, x=None, h0=None, steps: int = 60, **style):
    """A 1-D map with ``net``: cobweb from ``h0`` (default the attractor) to the attractor;
    otherwise the return map s_t -> s_{t+1} (1-D) or the first two coordinates (n-D)."""
    from ..analysis.maps import cobweb

    ax = one_axes(ax)
    points = np.asarray(result.points)
    n_state = points.shape[1] if points.ndim == 2 and points.size else getattr(net, "n_state", 1)
    title = f"{result.kind.replace('_', ' ')}"
    if result.period:
        title += f", period {result.period}"
    title += rf", $\lambda_1$ = {result.lyapunov:.3g}"
    ax.set_title(title)
    line_style = {"color": PALETTE[0], "lw": 1.2, **style}
    if n_state == 1 and net is not None:
        start = np.ravel(h0)[0] if h0 is not None else (points[0, 0] if len(points) else 0.0)
        web = cobweb(net, start, steps, x)
        ax.plot(*web["curve"].T, color="black", label="$F(s)$")
        ax.plot(*web["diagonal"].T, color="grey", lw=1.0, label="$s_{t+1} = s_t$")
        ax.plot(*web["path"].T, alpha=0.8, label=f"orbit from {start:.3g}", **line_style)
        ax.set_xlabel("$s_t$")
        ax.set_ylabel("$s_{t+1}$")
    elif n_state == 1:
        # a cycle closes on itself (roll); a recorded aperiodic orbit pairs successive samples
        pairs = (
            (points[:, 0], np.roll(points[:, 0], -1))
            if result.period
            else (points[:-1, 0], points[1:, 0])
        )
        marker = "-o" if result.period else "."
        ax.plot(*pairs, marker, label="return map", **line_style)
        ax.set_xlabel("$s_t$")
        ax.set_ylabel("$s_{t+1}$")
    else:
        closed = np.vstack([points, points[:1]]) if result.period > 1 else points
        marker = "-o" if result.period else "."
        ax.plot(closed[:, 0], closed[:, 1], marker, label="attractor", **line_style)
        ax.set_xlabel("$s_1$")
        ax.set_ylabel("$s_2$")
    if result.period and n_state == 1:
        ax.plot(points[:, 0], points[:, 0], "o", color=PALETTE[3], ms=7, label="cycle points")
    if result.kind == "divergent":
        ax.text(
            0.5, 0.5, f"divergent at step {result.diverged_at}", transform=ax.transAxes, ha="center"
        )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=9)
    return ax
