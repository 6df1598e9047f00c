"""The house style's figure makers: panel layout and size as documented."""

import matplotlib
import matplotlib.pyplot as plt

from gradtheory.figures import new_mosaic

matplotlib.use("Agg")


def test_new_mosaic_spans_panels_and_sizes_per_row_and_column():
    """``"ab;ac"``: panel a spans both rows of the first column, b and c share the second;
    the default size is 6.4 x 4.2 inches per column and row, and constrained layout is on."""
    fig, axes = new_mosaic("ab;ac", width_ratios=[1, 2])
    try:
        spans = {k: ax.get_subplotspec() for k, ax in axes.items()}
        assert spans["a"].rowspan == range(0, 2) and spans["a"].colspan == range(0, 1)
        assert spans["b"].rowspan == range(0, 1) and spans["c"].rowspan == range(1, 2)
        assert spans["b"].colspan == spans["c"].colspan == range(1, 2)
        assert fig.get_size_inches().tolist() == [12.8, 8.4]
        assert fig.get_layout_engine() is not None
        _, nested = new_mosaic([["x", "y", "z"]], width=9.0)
        assert nested["x"].figure.get_size_inches().tolist() == [9.0, 4.2]
    finally:
        plt.close("all")
