"""The cell library, re-exported: ``gt.cells.elman("tanh")``, ``gt.cells.lstm()``, ..."""

from .symbolic.custom import custom
from .symbolic.library import elman, gru, highway, irnn, lstm, residual

__all__ = ["custom", "elman", "gru", "highway", "irnn", "lstm", "residual"]
