"""Element-wise helpers called by generated kernels (``from gradtheory.numeric import _runtime``).

The functions live in :mod:`gradtheory.symbolic._elementwise`, next to their SymPy counterparts,
so that the symbolic layer can evaluate derivations without importing the numeric layer; this
module keeps the name that generated kernel sources import.
"""

from ..symbolic._elementwise import box, hardtanh, relu, sigmoid, step

__all__ = ["box", "hardtanh", "relu", "sigmoid", "step"]
