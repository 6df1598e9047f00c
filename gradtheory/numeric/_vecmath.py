"""A logistic sigmoid compiled to SIMD code: one call instead of five NumPy ufunc calls.

The NumPy twin (:func:`gradtheory.symbolic._elementwise.sigmoid`) makes five passes (negate,
clip, exp, add, reciprocal); on the (B, n) blocks of one step of a small network the cost is
the five calls, not the arithmetic. numba would call the C library's ``exp`` one element at a
time (this numba has no SVML vector math library), so ``exp`` is written out here as plain
arithmetic that LLVM vectorises: Cody-Waite range reduction ``z = k ln 2 + r``, ``|r| <= ln(2)/2``
(``ln 2`` split in a high part with trailing zero bits, so ``k * LN2_HI`` is exact, and a low
part), the Taylor polynomial of ``e^r`` in Horner form and ``2^k`` built from its IEEE bits.

* float64: degree 13 (truncation below 4e-18 relative, under half an ulp); the argument is
  clamped to [-708, 709], where ``2^k`` is a normal number (as the twin clamps at 709;
  ``1 / (1 + e)`` is 1 to double precision for any ``e`` below ``exp(-708)``).
* float32: float32 arithmetic, degree 7 (5e-9 relative), argument clamped to [-87, 88].

Measured against ``1 / (1 + exp(-x))`` in extended precision: at most 1.2 ulp in both types
(the twin: 1.1 ulp in float64, 1.9 in float32); ``tests/numeric/test_vecmath.py`` checks it.
NaN stays NaN.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = ["sigmoid_into"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 with the last 11 bits zero
_LN2_LO = 1.90821492927058770002e-10
_LN2_HI32 = 0.693359375  # ln 2 to 9 significant bits: k * _LN2_HI32 is exact for |k| < 2^15
_LN2_LO32 = -2.12194440e-4


@intrinsic
def float64_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def float32_from_bits(typingctx, bits):
    """The float32 whose IEEE-754 bit pattern is the int32 ``bits``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


#: Taylor coefficients of expm1(r) / r, highest degree first (Horner form): 1/13! ... 1/1!
#: in float64; float32: 1/7! ... 1/1! for exp, 1/8! ... 1/1! for tanh (see _scalarmath)
EXPM1_64 = tuple(1.0 / math.factorial(k) for k in range(13, 0, -1))
EXPM1_32 = tuple(np.float32(1.0 / math.factorial(k)) for k in range(7, 0, -1))


@njit(cache=True, inline="always")
def horner(r, coefficients):
    """``coefficients[0] r^(m-1) + ... + coefficients[-1]`` (m coefficients, Horner form)."""
    p = coefficients[0]
    for c in coefficients[1:]:
        p = p * r + c
    return p


@njit(cache=True, inline="always")
def reduce64(z):
    """``(k, r)`` with ``z = k ln 2 + r``, ``|r| <= ln(2) / 2`` (Cody-Waite, see module)."""
    k = np.floor(z * _LOG2E + 0.5)
    return k, (z - k * _LN2_HI) - k * _LN2_LO


@njit(cache=True, inline="always")
def reduce32(z):
    """:func:`reduce64` in float32 arithmetic."""
    k = np.floor(z * np.float32(_LOG2E) + np.float32(0.5))
    return k, (z - k * np.float32(_LN2_HI32)) - k * np.float32(_LN2_LO32)


@njit(cache=True, inline="always")
def _exp64(z):
    """e^z for z in [-708, 709] (see module)."""
    k, r = reduce64(z)
    return (horner(r, EXPM1_64) * r + 1.0) * float64_from_bits((np.int64(k) + 1023) << 52)


@njit(cache=True, inline="always")
def _exp32(z):
    """e^z in float32 arithmetic for z in [-87, 88] (see module)."""
    k, r = reduce32(z)
    p = horner(r, EXPM1_32) * r + np.float32(1.0)
    return p * float32_from_bits((np.int32(k) + np.int32(127)) << np.int32(23))


@njit(cache=True, inline="always")
def sigmoid_float64(v):
    """The logistic sigmoid of one float64 (clamped as the NumPy twin; NaN stays NaN)."""
    z = -v
    z = 709.0 if z > 709.0 else z
    z = -708.0 if z < -708.0 else z
    return 1.0 / (1.0 + _exp64(z)) if v == v else v


@njit(cache=True, inline="always")
def sigmoid_float32(v):
    """The logistic sigmoid of one float32 in float32 arithmetic."""
    z = -v
    z = np.float32(88.0) if z > np.float32(88.0) else z
    z = np.float32(-87.0) if z < np.float32(-87.0) else z
    return np.float32(1.0) / (np.float32(1.0) + _exp32(z)) if v == v else v


def _sigmoid(v):
    """The sigmoid of one float in its own type (compiled code only, see the overload)."""
    raise NotImplementedError("_sigmoid runs in compiled code only")


@overload(_sigmoid, inline="always")
def _sigmoid_of_type(v):
    return (sigmoid_float32 if v == types.float32 else sigmoid_float64).py_func


@njit(cache=True, error_model="numpy")
def _sigmoid_rows(x, out):
    rows, cols = x.shape
    row = np.empty(cols, x.dtype)  # distinct memory from ``out``: the loop vectorises
    for i in range(rows):
        for j in range(cols):
            row[j] = x[i, j]
        for j in range(cols):
            out[i, j] = _sigmoid(row[j])


def sigmoid_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[...] = 1 / (1 + exp(-x))``: ``x`` and ``out`` float32 or float64 arrays of one
    shape and type with 1 or 2 axes, ``out`` C-contiguous (``x`` may be strided, or ``out``).

    >>> sigmoid_into(np.array([0.0, 800.0, -800.0]), np.empty(3))
    array([5.00000000e-001, 1.00000000e+000, 1.21678075e-308])
    """
    _sigmoid_rows(np.atleast_2d(x), np.atleast_2d(out))
    return out
