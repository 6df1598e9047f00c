"""The compiled sigmoid (``gradtheory.numeric._vecmath``) against extended-precision values.

Fact checked: 1 / (1 + exp(-x)) evaluated in ``np.longdouble`` (80-bit on x86: 11 more bits
than float64) is the reference; the compiled sigmoid must be within 2 ulp of it (a correctly
rounded result is within 0.5 ulp; the polynomial, the reduction and the final division each
add at most about half an ulp, see the module docstring), over the range where the result is a
normal number, and keep the NumPy twin's conventions at the ends (clamped arguments, NaN).
"""

from __future__ import annotations

import numpy as np
import pytest

from gradtheory.numeric import _runtime
from gradtheory.numeric._jitgen import jit_enabled
from gradtheory.symbolic._elementwise import sigmoid as numpy_sigmoid

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="numba not importable")

LIMIT = {"float32": 80.0, "float64": 700.0}  # results stay normal numbers inside


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_sigmoid_within_two_ulp(dtype):
    from gradtheory.numeric._vecmath import sigmoid_into

    x = np.linspace(-LIMIT[dtype], LIMIT[dtype], 200_001).astype(dtype)
    x = np.concatenate([x, np.geomspace(1e-30, 1.0, 2001).astype(dtype), [0.0, -0.0]])
    x = np.concatenate([x, -x]).astype(dtype)
    got = sigmoid_into(x, np.empty_like(x))
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    ulps = np.abs(got.astype(np.longdouble) - exact) / (exact * np.finfo(dtype).eps)
    assert float(ulps.max()) <= 2.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_sigmoid_ends_and_strided_input(dtype):
    """+-inf and huge arguments give the twin's values; NaN stays NaN; a strided block and an
    in-place call give the same values as a contiguous copy."""
    from gradtheory.numeric._vecmath import sigmoid_into

    ends = np.array([np.inf, -np.inf, 1e4, -1e4, np.nan], dtype)
    got = sigmoid_into(ends, np.empty_like(ends))
    np.testing.assert_array_equal(got[:4], numpy_sigmoid(ends[:4]))
    assert np.isnan(got[4])
    rng = np.random.default_rng(0)
    block = (8 * rng.normal(size=(5, 12))).astype(dtype)
    strided = sigmoid_into(block[:, 4:8], np.empty((5, 4), dtype))
    np.testing.assert_array_equal(
        strided, sigmoid_into(block[:, 4:8].copy(), np.empty((5, 4), dtype))
    )
    in_place = block[:, 4:8].copy()
    np.testing.assert_array_equal(sigmoid_into(in_place, in_place), strided)


def test_runtime_sigmoid_dispatch(monkeypatch):
    """Generated kernels call ``_runtime.sigmoid``: a 2-D float array takes the compiled path
    (its exact values), ``GRADTHEORY_JIT=0`` and other input (a scalar, complex, 3 axes, a
    strided ``out``) the NumPy twin."""
    from gradtheory.numeric._vecmath import sigmoid_into

    rng = np.random.default_rng(1)
    x = 6 * rng.normal(size=(40, 60))
    np.testing.assert_array_equal(_runtime.sigmoid(x), sigmoid_into(x, np.empty_like(x)))
    out = np.empty_like(x)
    assert _runtime.sigmoid(x, out=out) is out
    monkeypatch.setenv("GRADTHEORY_JIT", "0")
    np.testing.assert_array_equal(_runtime.sigmoid(x), numpy_sigmoid(x))
    monkeypatch.setenv("GRADTHEORY_JIT", "1")
    assert _runtime.sigmoid(0.0) == 0.5
    z = np.array([0.5 + 1e-20j])
    assert _runtime.sigmoid(z).imag[0] != 0  # complex step still works
    cube = rng.normal(size=(2, 3, 4))
    np.testing.assert_array_equal(_runtime.sigmoid(cube), numpy_sigmoid(cube))
    strided_out = np.empty((40, 120))[:, ::2]
    np.testing.assert_array_equal(_runtime.sigmoid(x, out=strided_out), numpy_sigmoid(x))
