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

import numpy as np
from numba import njit

from ._vecmath import (
    _LN2_HI,
    _LN2_HI32,
    _LN2_LO,
    _LN2_LO32,
    _LOG2E,
    _exp32,
    _exp64,
    _float32_from_bits,
    _float64_from_bits,
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


@_inline
def sigmoid_float64(v):
    z = -v
    z = 709.0 if z > 709.0 else z
    z = -708.0 if z < -708.0 else z
    return 1.0 / (1.0 + _exp64(z)) if v == v else v


@_inline
def sigmoid_float32(v):
    z = -v
    z = np.float32(88.0) if z > np.float32(88.0) else z
    z = np.float32(-87.0) if z < np.float32(-87.0) else z
    return np.float32(1.0) / (np.float32(1.0) + _exp32(z)) if v == v else v


@_inline
def tanh_float64(v):
    a = abs(v)
    y = -2.0 * a if a < 20.0 else -40.0  # tanh(20) is 1 to double precision
    k = np.floor(y * _LOG2E + 0.5)
    r = (y - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln(2) / 2
    p = 1.0 / 6227020800.0  # expm1(r): Taylor, degree 13 (below 2e-17 relative)
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    scale = _float64_from_bits((np.int64(k) + 1023) << 52)
    e = scale * (p * r) + (scale - 1.0)  # expm1(y) = 2^k expm1(r) + 2^k - 1
    t = -e / (2.0 + e)
    t = -t if v < 0.0 else t
    return t if v == v else v


@_inline
def tanh_float32(v):
    a = abs(v)
    y = np.float32(-2.0) * a if a < np.float32(10.0) else np.float32(-20.0)
    k = np.floor(y * np.float32(_LOG2E) + np.float32(0.5))
    r = (y - k * np.float32(_LN2_HI32)) - k * np.float32(_LN2_LO32)
    p = np.float32(1.0 / 40320.0)  # degree 8 (below 1e-9 relative)
    p = p * r + np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    scale = _float32_from_bits((np.int32(k) + np.int32(127)) << np.int32(23))
    e = scale * (p * r) + (scale - np.float32(1.0))
    t = -e / (np.float32(2.0) + e)
    t = -t if v < np.float32(0.0) else t
    return t if v == v else v


@_inline
def relu_float64(v):
    return np.float64(0.0) if v <= np.float64(0.0) else v


@_inline
def step_float64(v):
    return np.float64(1.0) if v > np.float64(0.0) else np.float64(0.0)


@_inline
def hardtanh_float64(v):
    return (
        -np.float64(1.0)
        if v < -np.float64(1.0)
        else (np.float64(1.0) if v > np.float64(1.0) else v)
    )


@_inline
def box_float64(v):
    return np.float64(1.0) if abs(v) < np.float64(1.0) else np.float64(0.0)


@_inline
def relu_float32(v):
    return np.float32(0.0) if v <= np.float32(0.0) else v


@_inline
def step_float32(v):
    return np.float32(1.0) if v > np.float32(0.0) else np.float32(0.0)


@_inline
def hardtanh_float32(v):
    return (
        -np.float32(1.0)
        if v < -np.float32(1.0)
        else (np.float32(1.0) if v > np.float32(1.0) else v)
    )


@_inline
def box_float32(v):
    return np.float32(1.0) if abs(v) < np.float32(1.0) else np.float32(0.0)
