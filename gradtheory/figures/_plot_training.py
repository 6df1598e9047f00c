"""Drawing what training and backpropagation measured: the History of a run, curves of
several seeds as a band, and the adjoint norms ln ||dL/ds_t|| of one backward pass."""

from __future__ import annotations

import numpy as np

from ._axes import axes_row, one_axes
from .style import PALETTE

__all__ = ["moving_average", "plot_gradients", "plot_history", "plot_trajectory", "seed_band"]


def _log_scale_if_positive(ax, values: np.ndarray) -> None:
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")


def moving_average(values, window: int) -> np.ndarray:
    """Trailing moving average of ``values`` over ``window`` entries (shorter at the start).

    Examples
    --------
    >>> moving_average([1.0, 3.0, 5.0], 2)
    array([1., 2., 4.])
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    # a windowed sum, not differences of a running sum: a 1e28 spike must not wipe out
    # the small values after it by cancellation
    sums = np.convolve(values, np.ones(window))[: values.size]
    return sums / np.minimum(np.arange(1, values.size + 1), window)


def seed_band(ax, x, curves, color=None, label=None, ls="-", center=np.mean, alpha=0.15):
    """Draw ``center`` of the seeds' ``curves`` (seeds, len(x)) and their min-max band.

    Examples
    --------
    >>> ax = seed_band(None, [0, 1], [[1.0, 2.0], [3.0, 2.0]], label="loss")
    >>> ax.lines[0].get_ydata().tolist()
    [2.0, 2.0]
    """
    ax = one_axes(ax)
    curves = np.asarray(curves, dtype=float)
    color = PALETTE[0] if color is None else color
    ax.plot(x, center(curves, axis=0), ls, color=color, label=label)
    ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=color, alpha=alpha, lw=0)
    return ax


def plot_history(result, axes=None, *, smooth: int | None = None, **style):
    """Two panels: the loss per step (with ``smooth``, its moving average over that many
    steps), and the gradient norm with clipping events marked."""
    axes = axes_row(axes, 2, name="History.plot")
    loss_ax, grad_ax = axes
    steps = np.arange(len(result.loss))
    line_style = {"color": PALETTE[0], "lw": 1.2, **style}
    if smooth:
        loss = moving_average(result.loss, smooth)
        loss_ax.plot(steps, result.loss, color=line_style["color"], lw=0.6, alpha=0.3)
        loss_ax.plot(steps, loss, label=f"training loss (moving average of {smooth})", **line_style)
    else:
        loss_ax.plot(steps, result.loss, label="training loss", **line_style)
    _log_scale_if_positive(loss_ax, np.asarray(result.loss))
    loss_ax.set_xlabel("training step")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("loss")
    grad_ax.plot(steps, result.grad_norm, label="before clipping", **line_style)
    clipped = np.asarray(result.clipped, dtype=bool)
    if clipped.any():
        grad_ax.plot(
            steps, result.grad_norm_clipped, color=PALETTE[2], lw=1.0, label="after clipping"
        )
        grad_ax.plot(
            steps[clipped],
            result.grad_norm[clipped],
            "|",
            color=PALETTE[3],
            ms=10,
            label=f"clipped ({int(clipped.sum())} steps)",
        )
    threshold = result.settings.get("clip") if isinstance(result.settings, dict) else None
    if threshold:
        grad_ax.axhline(threshold, color=PALETTE[3], ls="--", lw=1.0, label=f"clip = {threshold:g}")
    _log_scale_if_positive(grad_ax, np.asarray(result.grad_norm))
    grad_ax.set_xlabel("training step")
    grad_ax.set_ylabel(r"$\|\nabla_\theta L\|$")
    grad_ax.set_title("gradient norm")
    if result.diverged_at is not None:
        for ax in axes:
            ax.axvline(result.diverged_at, color="black", ls=":", lw=1.2, label="diverged")
    for ax in axes:
        ax.legend(loc="best", fontsize=9)
    return axes


def plot_gradients(result, ax=None, *, prediction=None, **style):
    """Batch mean of ln ||dL/ds_t|| over t (10-90 % band over sequences); with a Prediction,
    its slope anchored at the last step: ln ||dL/ds_t|| = ln ||dL/ds_T|| + rate (T - t)."""
    ax = one_axes(ax)
    logs = np.asarray(result.adjoint_log_norms, dtype=float)
    logs = np.where(np.isfinite(logs), logs, np.nan)
    t = np.arange(len(logs))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():  # columns that are all -inf give all-NaN slices
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(logs, axis=1)
            low, high = np.nanpercentile(logs, [10, 90], axis=1)
    line_style = {"color": PALETTE[0], **style}
    ax.plot(t, mean, label="measured (BPTT, batch mean)", **line_style)
    if logs.shape[1] > 1:
        ax.fill_between(
            t, low, high, color=line_style["color"], alpha=0.2, lw=0, label="10-90 % of sequences"
        )
    if prediction is not None:
        finite = np.flatnonzero(np.isfinite(mean))
        if finite.size:
            anchor = int(finite[-1])
            line = mean[anchor] + prediction.rate * (anchor - t)
            ax.plot(
                t,
                line,
                "--",
                color=PALETTE[3],
                label=f"predicted ({prediction.method}): rate {prediction.rate:+.3g}/step",
            )
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$\ln\|\partial L/\partial s_t\|$")
    ax.set_title("adjoint norms through the chain")
    ax.legend(loc="best", fontsize=9)
    return ax


def plot_trajectory(result, ax=None, *, sequence: int = 0, units: int = 8, **style):
    """Hidden units h_t[i] of one sequence against t (at most ``units`` of them)."""
    ax = one_axes(ax)
    hidden = np.asarray(result.hidden)
    if not 0 <= sequence < hidden.shape[1]:
        raise ValueError(
            f"Trajectory.plot: argument 'sequence' must be in [0, {hidden.shape[1]}); "
            f"got {sequence!r}"
        )
    shown = min(units, hidden.shape[2])
    t = np.arange(hidden.shape[0])
    for i in range(shown):
        ax.plot(
            t,
            hidden[:, sequence, i],
            color=PALETTE[i % len(PALETTE)],
            lw=1.4,
            label=f"$h_{{{i + 1}}}$",
            **style,
        )
    ax.set_xlabel("step t")
    ax.set_ylabel("hidden state")
    ax.set_title(f"trajectory of sequence {sequence} ({shown} of {hidden.shape[2]} units)")
    if shown <= 8:
        ax.legend(loc="best", fontsize=9, ncol=2)
    return ax
