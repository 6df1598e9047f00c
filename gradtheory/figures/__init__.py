"""Figures: one house style (colour-blind-safe palette, slide-sized) and the drawing code behind
every result's ``.plot()`` (``_plot_maps``, ``_plot_stability``, ``_plot_training``,
``_plot_theory``; the result classes call them through one-line methods)."""

from .style import PALETTE, apply_style, new_figure, new_mosaic, save_figure

__all__ = ["PALETTE", "apply_style", "new_figure", "new_mosaic", "save_figure"]
