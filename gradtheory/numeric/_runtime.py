"""Element-wise helpers called by generated kernels (``from gradtheory.numeric import _runtime``).

The functions live in :mod:`gradtheory.symbolic._elementwise`, next to their SymPy counterparts,
so that the symbolic layer can evaluate derivations without importing the numeric layer; this
module keeps the name that generated kernel sources import. Where compiled loops are enabled
(see :func:`gradtheory.numeric._jitgen.jit_enabled`), the sigmoid of a float32/float64 array
with one or two axes runs as one compiled call (:mod:`gradtheory.numeric._vecmath`) instead of
five NumPy passes; everything else goes to the NumPy twins.
"""

import numpy as np

from ..symbolic import _elementwise
from ..symbolic._elementwise import box, hardtanh, relu, step

__all__ = ["box", "hardtanh", "relu", "sigmoid", "step"]

_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fast_sigmoid():
    """The compiled sigmoid, or None (``GRADTHEORY_JIT=0`` is honoured at every call)."""
    from ._jitgen import jit_enabled

    if not jit_enabled():
        return None
    from ._vecmath import sigmoid_into

    return sigmoid_into


def sigmoid(x, out=None):
    """Logistic sigmoid 1 / (1 + exp(-x)); ``out``: an array to write it into (as a ufunc).

    >>> sigmoid(np.array([0.0, 2.0]))
    array([0.5       , 0.88079708])
    """
    if (
        isinstance(x, np.ndarray)
        and x.dtype in _TYPES
        and 1 <= x.ndim <= 2
        and (out is None or (out.dtype == x.dtype and out.shape == x.shape))
        and (out is None or out.flags.c_contiguous)
    ):
        fast = _fast_sigmoid()
        if fast is not None:
            return fast(x, np.empty(x.shape, x.dtype) if out is None else out)
    return _elementwise.sigmoid(x, out=out)
