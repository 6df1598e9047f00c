"""BLAS gemm called from compiled loops on strided row blocks, accumulating in place.

numba's ``numpy.dot(a, b, out)`` calls gemm only on C-contiguous operands and always
overwrites ``out``; the compiled time loops (:mod:`gradtheory.numeric._loops`) need
``C[:, j:k] (+)= A[:, l:m] @ B`` on column blocks of wider rows (a state block of ``S[t]``,
the chunk of an adjoint row) without copies or a separate add pass. :func:`gemm_rows` calls
SciPy's BLAS gemm (``scipy.linalg.cython_blas``, the library numba itself uses) through its
function pointer, with the row strides as leading dimensions and ``beta`` 0 or 1. Its
threads obey ``threadpoolctl.threadpool_limits(user_api="blas")`` like NumPy's BLAS.
"""

from __future__ import annotations

import ctypes

from numba import njit

__all__ = ["gemm_functions", "gemm_rows"]

_FUNCTIONS: dict = {}
_TRANSPOSE_NONE = 78  # ord("N")


def gemm_functions() -> dict:
    """``{"float32": sgemm, "float64": dgemm}`` as ctypes functions (Fortran calling
    convention: every argument by pointer), for passing to compiled code."""
    if not _FUNCTIONS:
        from scipy.linalg import cython_blas

        get_name = ctypes.pythonapi.PyCapsule_GetName
        get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
        get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
        get_pointer.restype = ctypes.c_void_p
        get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        prototype = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 13)
        for dtype, name in (("float32", "sgemm"), ("float64", "dgemm")):
            capsule = cython_blas.__pyx_capi__[name]
            _FUNCTIONS[dtype] = prototype(get_pointer(capsule, get_name(capsule)))
    return _FUNCTIONS


@njit(cache=True)
def gemm_rows(function, a, b, c, beta, ints, scalars):
    """``c = a @ b + beta * c`` for 2-D arrays with unit column stride (``b`` C-contiguous,
    ``a`` and ``c`` possibly column blocks of wider rows); ``function`` from
    :func:`gemm_functions` for their float type; ``ints`` (7,) int32 and ``scalars`` (2,) of
    that type are work arrays (allocated once by the caller: an allocation per call costs as
    much as a small product's BLAS overhead).

    In BLAS's column-major terms the row-major product is ``c^T = b^T a^T``: ``b`` is a
    (W, K) matrix with leading dimension W, ``a`` a (K, B) one with its row stride as leading
    dimension, ``c`` a (W, B) one likewise.
    """
    rows, inner = a.shape
    width = b.shape[1]
    ints[0], ints[1], ints[2] = width, rows, inner  # m, n, k
    ints[3] = max(width, 1)  # leading dimensions: b, a, c
    ints[4] = max(a.strides[0] // a.itemsize, inner, 1)
    ints[5] = max(c.strides[0] // c.itemsize, width, 1)
    ints[6] = _TRANSPOSE_NONE
    scalars[0], scalars[1] = 1.0, beta
    flag = ints[6:].ctypes
    function(
        flag, flag, ints[0:].ctypes, ints[1:].ctypes, ints[2:].ctypes,
        scalars[0:].ctypes, b.ctypes, ints[3:].ctypes, a.ctypes, ints[4:].ctypes,
        scalars[1:].ctypes, c.ctypes, ints[5:].ctypes,
    )  # fmt: skip
