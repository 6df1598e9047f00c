"""Where a ``plot`` method draws: the caller's Axes, or a new house-style figure.

Every result's ``plot(ax=None, **style)`` goes through :func:`one_axes`; a multi-panel view
(``plot(axes=None, ...)``) through :func:`axes_row`, which returns a 1-D array of Axes.
"""

from __future__ import annotations

import numpy as np

from .style import apply_style, new_figure

__all__ = ["axes_row", "one_axes", "segments_where"]


def one_axes(ax, **figure_kw):
    """``ax`` itself, or the Axes of a new house-style figure when ``ax`` is None."""
    apply_style()
    if ax is None:
        _, ax = new_figure(**figure_kw)
    return ax


def axes_row(axes, n: int, *, width: float = 5.6, height: float = 4.4, name: str = "plot"):
    """``axes`` checked to hold ``n`` Axes, or a new row of ``n`` panels; a 1-D object array."""
    apply_style()
    if axes is None:
        _, created = new_figure(1, n, width=width * n, height=height)
        return np.atleast_1d(created)
    array = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if array.size != n:
        raise ValueError(f"{name}: argument 'axes' must hold {n} Axes; got {array.size}")
    return array


def segments_where(mask: np.ndarray) -> list[slice]:
    """Runs of consecutive True entries of a 1-D bool array, as slices (for piecewise lines)."""
    mask = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
