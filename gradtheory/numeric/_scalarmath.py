"""Scalar activations for compiled loops: what the generated ``step_<k>_<dtype>`` rows call.

The compiled time loops (:mod:`gradtheory.numeric._loops`) evaluate a kernel one element at a
time, so they need each activation of :mod:`gradtheory.symbolic.functions` as a scalar numba
function of one float type (a float32 loop must stay in float32). The sigmoid uses the same
vectorisable ``exp`` as the compiled array sigmoid (:mod:`gradtheory.numeric._vecmath`), so
both give the same values. ``tanh`` is written out the same way (the C library's would be
called once per element, 10x slower): with ``y = -2|x|`` and ``e = expm1(y)``,
``tanh|x| = -e / (2 + e)``; ``expm1`` uses the reduction of ``exp`` (``y = k ln 2 + r``) and
``expm1(y) = 2^k expm1(r) + (2^k - 1)`` with the Taylor polynomial of ``expm1(r)`` (no
cancellation near 0, where ``k = 0``; one polynomial, no branch, so LLVM vectorises it).
Within 3 ulp of the exact value in both types
(``tests/numeric/test_scalarmath.py``). The
piecewise functions follow their NumPy twins (:mod:`gradtheory.symbolic._elementwise`),
NaN included: ``relu`` and ``hardtanh`` keep it, ``step`` and ``box`` give 0.

Importing this module imports numba; generated kernel modules reach it through the name
``_sm``, which :func:`gradtheory.numeric._loops.kernel_module_for_loops` binds just before
compiling (so importing a kernel module never imports numba).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._vecmath import (
    EXPM1_64,
    float32_from_bits,
    float64_from_bits,
    horner,
    reduce32,
    reduce64,
    sigmoid_float32,
    sigmoid_float64,
)

__all__ = [
    "box_float32",
    "box_float64",
    "hardtanh_float32",
    "hardtanh_float64",
    "relu_float32",
    "relu_float64",
    "sigmoid_float32",
    "sigmoid_float64",
    "step_float32",
    "step_float64",
    "tanh_float32",
    "tanh_float64",
]

_inline = njit(inline="always", cache=True, error_model="numpy")
#: expm1(r) / r to degree 8 in float32 (below 1e-9 relative): tanh needs one more term than exp
_EXPM1_32 = tuple(np.float32(1.0 / math.factorial(k)) for k in range(8, 0, -1))


@_inline
def tanh_float64(v):
    a = abs(v)
    y = -2.0 * a if a < 20.0 else -40.0  # tanh(20) is 1 to double precision
    k, r = reduce64(y)  # |r| <= ln(2) / 2
    scale = float64_from_bits((np.int64(k) + 1023) << 52)
    e = scale * (horner(r, EXPM1_64) * r) + (scale - 1.0)  # expm1(y) = 2^k expm1(r) + 2^k - 1
    t = -e / (2.0 + e)
    t = -t if v < 0.0 else t
    return t if v == v else v


@_inline
def tanh_float32(v):
    a = abs(v)
    y = np.float32(-2.0) * a if a < np.float32(10.0) else np.float32(-20.0)
    k, r = reduce32(y)
    scale = float32_from_bits((np.int32(k) + np.int32(127)) << np.int32(23))
    e = scale * (horner(r, _EXPM1_32) * r) + (scale - np.float32(1.0))
    t = -e / (np.float32(2.0) + e)
    t = -t if v < np.float32(0.0) else t
    return t if v == v else v


def _piecewise(zero, one):
    """``relu, step, hardtanh, box`` as scalar functions in the float type of ``zero``.

    Not cached on their own (numba cannot cache closures): they are inlined into the cached
    loops that call them."""
    _inline = njit(inline="always", error_model="numpy")

    @_inline
    def relu(v):
        return zero if v <= zero else v

    @_inline
    def step(v):
        return one if v > zero else zero

    @_inline
    def hardtanh(v):
        return -one if v < -one else (one if v > one else v)

    @_inline
    def box(v):
        return one if abs(v) < one else zero

    return relu, step, hardtanh, box


relu_float64, step_float64, hardtanh_float64, box_float64 = _piecewise(
    np.float64(0.0), np.float64(1.0)
)
relu_float32, step_float32, hardtanh_float32, box_float32 = _piecewise(
    np.float32(0.0), np.float32(1.0)
)
