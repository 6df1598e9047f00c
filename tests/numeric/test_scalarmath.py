"""The scalar activations of the compiled time loops (``gradtheory.numeric._scalarmath``).

Fact checked: ``tanh`` written out from a polynomial ``expm1`` and the vectorisable ``exp``
(see the module) is within 3 ulp of ``tanh`` evaluated in ``np.longdouble`` (80-bit on x86,
11 more bits than float64: its own error is far below an ulp of float64), over [-25, 25],
including the branch point |x| = 0.175 and tiny arguments; NaN stays NaN and +-inf give +-1.
The piecewise activations equal their NumPy twins, NaN handling included.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradtheory.numeric._jitgen import jit_enabled
from gradtheory.symbolic import _elementwise

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="numba not importable")


def _apply(name: str, x: np.ndarray) -> np.ndarray:
    import numba

    from gradtheory.numeric import _scalarmath

    scalar = getattr(_scalarmath, f"{name}_{x.dtype.name}")

    @numba.njit
    def loop(values, out):
        for i in range(values.size):
            out[i] = scalar(values[i])

    out = np.empty_like(x)
    loop(x, out)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_within_3_ulp_of_extended_precision(dtype):
    """|tanh(x) - tanh_longdouble(x)| <= 3 ulp of the result (see module)."""
    x = np.concatenate(
        [np.linspace(-25, 25, 20001), np.geomspace(1e-30, 0.5, 2001), [0.175, -0.175, 0.0]]
    ).astype(dtype)
    got = _apply("tanh", x)
    exact = np.tanh(x.astype(np.longdouble))
    ulp = np.spacing(np.abs(exact).astype(dtype)).astype(np.longdouble)
    assert np.max(np.abs(got - exact) / ulp) <= 3.0
    special = _apply("tanh", np.array([np.nan, np.inf, -np.inf], dtype))
    assert np.isnan(special[0]) and special[1] == 1.0 and special[2] == -1.0


@pytest.mark.parametrize("name", ["relu", "step", "hardtanh", "box"])
def test_piecewise_activations_equal_numpy_twins(name):
    """Exactly the NumPy twins' values, at the kinks, beyond them and at NaN."""
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, np.nan])
    expected = getattr(_elementwise, name)(x)
    np.testing.assert_array_equal(_apply(name, x), expected)
