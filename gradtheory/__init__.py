"""gradtheory: derive, execute, predict and verify vanishing and exploding gradients.

The public names are re-exported here; everything else is private.

>>> import gradtheory as gt
>>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=4)
"""

__version__ = "0.1.0"

from . import cells
from .numeric.network import Network
from .numeric.trajectory import Gradients, Trajectory

__all__ = [
    "Gradients",
    "Network",
    "Trajectory",
    "__version__",
    "cells",
]
