"""One consistent figure style.

Colours are the Okabe-Ito palette (Okabe and Ito 2008), distinguishable under the common forms
of colour blindness; fonts and lines are sized to stay readable when a 6.4 x 4 inch figure is
projected on a slide. Figures are saved as PNG (150 dpi) and SVG side by side.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from ..io import write_atomic

__all__ = ["PALETTE", "apply_style", "new_figure", "new_mosaic", "save_figure"]

#: Okabe-Ito colours, in the order used for successive series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_RC = {
    "figure.figsize": (6.4, 4.2),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "legend.fontsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "lines.linewidth": 2.0,
    "lines.markersize": 5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "image.cmap": "viridis",
    "svg.fonttype": "none",
}


def apply_style() -> None:
    """Set gradtheory's matplotlib defaults (idempotent)."""
    matplotlib.rcParams.update(_RC)


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    width: float | None = None,
    height: float | None = None,
    **kwargs,
):
    """``plt.subplots`` in the house style; width/height in inches default to 6.4 x 4.2 per panel.

    Examples
    --------
    >>> fig, ax = new_figure()
    >>> fig.get_size_inches()
    array([6.4, 4.2])
    """
    apply_style()
    size = (
        width or 6.4 * ncols if ncols > 1 else width or 6.4,
        height or 4.2 * nrows if nrows > 1 else height or 4.2,
    )
    return plt.subplots(nrows, ncols, figsize=size, constrained_layout=True, **kwargs)


def new_mosaic(layout, *, width: float | None = None, height: float | None = None, **kwargs):
    """``plt.subplot_mosaic`` in the house style: panels named by letters, some spanning others.

    Parameters
    ----------
    layout : str or nested list
        Matplotlib's mosaic: ``"ab;ac"`` is panel ``a`` spanning two rows on the left of ``b``
        above ``c``.
    width, height : float, optional
        Inches; default 6.4 per column and 4.2 per row of the layout.
    **kwargs
        Passed on to ``subplot_mosaic`` (``width_ratios``, ``height_ratios``, ``sharex``, ...).

    Returns
    -------
    (Figure, dict of str to Axes)

    Examples
    --------
    >>> fig, axes = new_mosaic("ab;ac", width_ratios=[1, 2])
    >>> sorted(axes), fig.get_size_inches().tolist()
    (['a', 'b', 'c'], [12.8, 8.4])
    """
    apply_style()
    rows = layout.split(";") if isinstance(layout, str) else layout
    size = (width or 6.4 * len(rows[0]), height or 4.2 * len(rows))
    return plt.subplot_mosaic(layout, figsize=size, layout="constrained", **kwargs)


def _rasterize_dense(fig, limit: int = 2000) -> None:
    """Rasterise scatter clouds, meshes and very long lines inside the SVG.

    A bifurcation diagram has ~10^6 points: as vectors its SVG weighs ~80 MB, as an embedded
    image (axes, labels and text stay vectors) a few hundred KB.
    """
    from matplotlib.collections import QuadMesh

    for ax in fig.axes:
        for artist in ax.collections:
            if isinstance(artist, QuadMesh):  # a colour field is an image in all but name
                artist.set_rasterized(True)
                continue
            paths = artist.get_paths()
            vertices = sum(len(path.vertices) for path in paths)
            if len(artist.get_offsets()) > limit or len(paths) > limit or vertices > 50 * limit:
                artist.set_rasterized(True)
        for line in ax.lines:
            markers_only = line.get_linestyle() in ("None", "", " ")
            if len(line.get_xdata()) > (limit if markers_only else 50 * limit):
                line.set_rasterized(True)


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.svg`` atomically and close it."""
    import io

    _rasterize_dense(fig)
    stem = Path(stem)
    paths = []
    for suffix in (".png", ".svg"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix[1:])
        paths.append(write_atomic(stem.with_suffix(suffix), buffer.getvalue()))
    plt.close(fig)
    return paths
