"""Element-wise helpers called by generated kernels (``from gradtheory.numeric import _runtime``).

The functions live in :mod:`gradtheory.symbolic._elementwise`, next to their SymPy counterparts,
so that the symbolic layer can evaluate derivations without importing the numeric layer; this
module keeps the name that generated kernel sources import. Where compiled loops are enabled
(see :func:`gradtheory.numeric._jitgen.jit_enabled`, checked at every call), the sigmoid of a
2-D float32/float64 array runs as one compiled call (:mod:`gradtheory.numeric._vecmath`)
instead of five NumPy passes; everything else goes to the NumPy twins. The checks are kept
cheap on purpose: on the (B, n) blocks of a small network the call costs more than the work.
"""

import numpy as np

from ..symbolic import _elementwise
from ..symbolic._elementwise import box, hardtanh, relu, step

__all__ = ["box", "hardtanh", "relu", "sigmoid", "step"]

_KERNELS: dict = {}  # dtype -> compiled 2-D sigmoid, loaded on the first enabled call
_ENABLED: list = []  # [jit_enabled]


def _jit_on() -> bool:
    if not _ENABLED:
        from ._jitgen import jit_enabled

        _ENABLED.append(jit_enabled)
    return _ENABLED[0]()


def _kernel(dtype):
    if not _KERNELS:
        from ._vecmath import _sigmoid_rows  # compiled once per float type

        _KERNELS[np.dtype(np.float32)] = _KERNELS[np.dtype(np.float64)] = _sigmoid_rows
    return _KERNELS.get(dtype)


def sigmoid(x, out=None):
    """Logistic sigmoid 1 / (1 + exp(-x)); ``out``: an array to write it into (as a ufunc).

    >>> sigmoid(np.array([[0.0, 2.0]]))
    array([[0.5       , 0.88079708]])
    """
    if (
        type(x) is np.ndarray
        and x.ndim == 2
        and (out is None or (out.dtype == x.dtype and out.shape == x.shape))
        and (out is None or out.flags.c_contiguous)
        and _jit_on()
    ):
        kernel = _KERNELS.get(x.dtype) if _KERNELS else _kernel(x.dtype)
        if kernel is not None:
            if out is None:
                out = np.empty(x.shape, x.dtype)
            kernel(x, out)
            return out
    return _elementwise.sigmoid(x, out=out)
