"""Scalar activations for compiled loops: what the generated ``step_<k>_<dtype>`` rows call.

The compiled time loops (:mod:`gradtheory.numeric._loops`) evaluate a kernel one element at a
time, so they need each activation of :mod:`gradtheory.symbolic.functions` as a scalar numba
function of one float type (a float32 loop must stay in float32). The sigmoid uses the same
vectorisable ``exp`` as the compiled array sigmoid (:mod:`gradtheory.numeric._vecmath`), so
both give the same values. ``tanh`` is written out the same way (the C library's would be
called once per element, 10x slower): with ``y = -2|x|`` and ``e = expm1(y)``,
``tanh|x| = -e / (2 + e)``, where ``expm1`` is its Taylor polynomial for ``|y| < 0.35`` and
``exp(y) - 1`` beyond (a cancellation of at most 1.5 bits); both branches are computed and
one selected, so LLVM vectorises it. Within 3 ulp of the exact value in both types
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

from ._vecmath import _exp32, _exp64

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
    p = 1.0 / 87178291200.0  # expm1(y) for |y| < 0.35: Taylor, degree 14 (< 2e-17 relative)
    p = p * y + 1.0 / 6227020800.0
    p = p * y + 1.0 / 479001600.0
    p = p * y + 1.0 / 39916800.0
    p = p * y + 1.0 / 3628800.0
    p = p * y + 1.0 / 362880.0
    p = p * y + 1.0 / 40320.0
    p = p * y + 1.0 / 5040.0
    p = p * y + 1.0 / 720.0
    p = p * y + 1.0 / 120.0
    p = p * y + 1.0 / 24.0
    p = p * y + 1.0 / 6.0
    p = p * y + 0.5
    p = p * y + 1.0
    e = p * y if y > -0.35 else _exp64(y) - 1.0
    t = -e / (2.0 + e)
    t = -t if v < 0.0 else t
    return t if v == v else v


@_inline
def tanh_float32(v):
    a = abs(v)
    y = np.float32(-2.0) * a if a < np.float32(10.0) else np.float32(-20.0)
    p = np.float32(1.0 / 40320.0)  # degree 8 (< 6e-9 relative)
    p = p * y + np.float32(1.0 / 5040.0)
    p = p * y + np.float32(1.0 / 720.0)
    p = p * y + np.float32(1.0 / 120.0)
    p = p * y + np.float32(1.0 / 24.0)
    p = p * y + np.float32(1.0 / 6.0)
    p = p * y + np.float32(0.5)
    p = p * y + np.float32(1.0)
    e = p * y if y > np.float32(-0.35) else _exp32(y) - np.float32(1.0)
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
