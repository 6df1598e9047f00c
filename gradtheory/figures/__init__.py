"""Figure style shared by every analysis: one look, a colour-blind-safe palette, slide-sized."""

from .style import PALETTE, apply_style, new_figure, save_figure

__all__ = ["PALETTE", "apply_style", "new_figure", "save_figure"]
