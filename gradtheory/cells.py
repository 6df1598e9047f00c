"""The cell library and its registry, re-exported: ``gt.cells.elman("tanh")``, ``gt.cells.lstm()``.

``ACTIVATIONS`` and ``CELLS`` hold one record per activation and per cell family (see
:mod:`gradtheory.symbolic.registry`); :func:`register_activation` adds an activation that every
constructor, the CLI, mean-field theory and the prediction routes then accept.

>>> sorted(ACTIVATIONS)
['hardtanh', 'linear', 'relu', 'sigmoid', 'tanh']
"""

from .symbolic.custom import custom
from .symbolic.library import elman, gru, highway, irnn, lstm, residual
from .symbolic.registry import (
    ACTIVATIONS,
    CELLS,
    Activation,
    CellSpec,
    register_activation,
    register_cell,
)

__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "Activation",
    "CellSpec",
    "custom",
    "elman",
    "gru",
    "highway",
    "irnn",
    "lstm",
    "register_activation",
    "register_cell",
    "residual",
]
