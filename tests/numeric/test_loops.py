"""The compiled whole-time loops (``gradtheory.numeric._loops``) where the adjoint is rescaled.

Fact checked: the compiled reverse loop repeats the range check and rescaling of
``gradtheory.numeric.backward`` (the adjoint kept as ``exp(log_scale) * v``, rows rescaled
when their norm leaves [1e-100, 1e100] in float64), so over a chain whose gradient leaves the
float64 range its parameters' gradients, dL/ds_0 and ln ||dL/ds_t|| equal the NumPy path's
(``GRADTHEORY_JIT=0``, the oracle; itself checked against autograd in ``test_backward.py``).
The two differ only in the order of floating-point operations (products on another BLAS,
sums of squares in another order), so float64 agrees to rtol 1e-12. A ReLU network at gain
40 grows the adjoint by ~e^3 a step: after 90 steps ln ||dL/ds_0|| is far beyond
ln(1e100) = 230, so the rescaled branch (with the readout's adjoint added in scaled form)
runs; the cases of ``test_fused.py`` stay within range.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.numeric import _loops
from gradtheory.numeric._jitgen import jit_enabled

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="numba not importable")


@pytest.mark.parametrize("cell", ["elman-relu", "residual-relu"])
def test_rescaled_adjoint_equals_numpy_path(cell, monkeypatch):
    """float64, T = 90, gain 40: the compiled loops equal the NumPy path (see module)."""
    make = {
        "elman-relu": lambda: gt.cells.elman("relu"),
        "residual-relu": lambda: gt.cells.residual("relu"),
    }
    net = gt.Network(make[cell](), n_in=2, n_hidden=4, n_out=2, seed=1, init="gaussian", gain=40.0)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(90, 3, 2))
    w = rng.normal(size=(90, 3, 2))
    h0 = 0.5 * rng.normal(size=(3, 4))
    results = []
    for jit in ("1", "0"):
        monkeypatch.setenv("GRADTHEORY_JIT", jit)
        assert _loops.usable(net, np.float64) == (jit == "1")
        grads = net.backward(net.forward(x, h0), w, grad_state=np.ones_like(h0))
        results.append(grads)
    looped, numpy_path = results
    assert numpy_path.adjoint_log_norms.max() > np.log(1e100) + 10  # rescaling happened
    np.testing.assert_allclose(
        looped.adjoint_log_norms, numpy_path.adjoint_log_norms, rtol=1e-12, atol=1e-12
    )
    for key in net.params:
        assert np.isfinite(numpy_path.params[key]).all()  # beyond 1e100, within float64
        np.testing.assert_allclose(looped.params[key], numpy_path.params[key], rtol=1e-12)
    np.testing.assert_allclose(looped.initial_state, numpy_path.initial_state, rtol=1e-12)


@pytest.mark.parametrize("broken_pass", ["forward", "reverse"])
def test_a_loop_numba_cannot_compile_falls_back_to_the_per_step_path(broken_pass, monkeypatch):
    """A compile failure (numba's TypingError, raised before any array is touched) gives a
    RuntimeWarning and the per-step executor's result, the same as with GRADTHEORY_JIT=0."""
    from numba.core.errors import TypingError

    net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=3, seed=4)
    x = np.random.default_rng(1).normal(size=(6, 2, 2))
    w = np.ones((6, 2, 3))
    monkeypatch.setenv("GRADTHEORY_JIT", "0")
    expected = net.backward(net.forward(x), w).params
    monkeypatch.setenv("GRADTHEORY_JIT", "1")

    def broken(*args):
        raise TypingError("simulated")

    monkeypatch.setattr(_loops, "_USABLE", {})
    real = _loops._functions(net)
    patched = {k: (broken if k.startswith(broken_pass) else f, a) for k, (f, a) in real.items()}
    monkeypatch.setattr(_loops, "_functions", lambda net: patched)
    with pytest.warns(RuntimeWarning, match="per-step executor"):
        got = net.backward(net.forward(x), w).params
    assert not _loops.usable(net, np.float64)
    for key in net.params:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12)
