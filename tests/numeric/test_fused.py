"""The fused reverse pass (numba loops on saved function values) against the NumPy path.

Fact checked: the vector-Jacobian product of a kernel is the same number whether its partials
are evaluated from the kernel's inputs (NumPy path, ``GRADTHEORY_JIT=0``: the stacked partials)
or from the function values saved by the forward pass (fused path: SymPy writes
``d sigmoid = sigmoid (1 - sigmoid)``, ``d tanh = 1 - tanh^2``). The two differ only by the
order of floating-point operations, so float64 results agree to rtol 1e-12 (a few rounding
errors per step, over at most 12 steps); both paths are checked against autograd in
``test_backward.py`` (its cases run with the default, fused, path; here the NumPy path is the
oracle). Exploding settings exercise the rescaled adjoint; untied networks the layer weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.numeric import _loops
from gradtheory.numeric._jitgen import jit_enabled

pytestmark = pytest.mark.skipif(not jit_enabled(), reason="numba not importable")

CELLS = {
    "lstm": gt.cells.lstm,
    "gru": gt.cells.gru,
    "elman-tanh": lambda: gt.cells.elman("tanh"),
    "elman-relu": lambda: gt.cells.elman("relu"),
    "elman-sigmoid": lambda: gt.cells.elman("sigmoid"),
    "residual-tanh": lambda: gt.cells.residual("tanh"),
    "highway-tanh": lambda: gt.cells.highway("tanh"),
}


def _run(net, x, h0, w, monkeypatch, jit: str):
    monkeypatch.setenv("GRADTHEORY_JIT", jit)
    traj = net.forward(x, h0)
    grads = net.backward(traj, w, grad_state=np.ones_like(h0))
    return traj, grads, grads.inputs


def _close(a, b, rtol):
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-13 * scale)


@pytest.mark.parametrize("gain", [0.9, 40.0])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("name", list(CELLS))
def test_fused_reverse_pass_equals_numpy_path(name, tied, gain, monkeypatch):
    """float64: parameters, dL/dx, dL/ds_0 and ln ||dL/ds_t|| to rtol 1e-12 (see module)."""
    steps, batch, n = 12, 3, 4
    rng = np.random.default_rng(7)
    net = gt.Network(
        CELLS[name](), n_in=2, n_hidden=n, n_out=2, depth=None if tied else steps, tied=tied,
        seed=1, init="gaussian", gain=gain,
    )  # fmt: skip
    x = rng.normal(size=(steps, batch, 2))
    h0 = 0.5 * rng.normal(size=(batch, net.n_state))
    w = rng.normal(size=(steps, batch, 2))
    traj, fused, fused_x = _run(net, x, h0, w, monkeypatch, "1")
    assert traj.tape.saved is not None  # the fused path ran
    assert _loops.usable(net, np.float64) == tied  # tied: as compiled whole-time loops
    ref_traj, numpy_path, numpy_x = _run(net, x, h0, w, monkeypatch, "0")
    assert ref_traj.tape.saved is None
    # the same forward values up to rounding (the compiled sigmoid is within 2 ulp; the
    # compiled loop's products run on SciPy's BLAS, another summation order)
    np.testing.assert_allclose(traj.states, ref_traj.states, rtol=1e-12, atol=1e-15)
    for key in net.params:
        _close(fused.params[key], numpy_path.params[key], 1e-12)
    _close(fused_x, numpy_x, 1e-12)
    _close(fused.initial_state, numpy_path.initial_state, 1e-12)
    np.testing.assert_allclose(fused.adjoint_log_norms, numpy_path.adjoint_log_norms, atol=1e-12)


def test_fused_float32_matches_float64_reference(monkeypatch):
    """float32 LSTM through the fused path: gradients within float32 rounding (rtol 1e-4 after
    20 steps) of the float64 NumPy path on the same parameters."""
    rng = np.random.default_rng(3)
    net = gt.Network(gt.cells.lstm(), n_in=3, n_hidden=8, seed=2, dtype="float32")
    net64 = gt.Network(gt.cells.lstm(), n_in=3, n_hidden=8, seed=2)
    net64.set_params({k: v.astype(np.float64) for k, v in net.params.items()})
    x = rng.normal(size=(20, 5, 3))
    w = rng.normal(size=(20, 5, 8))
    traj, grads, _ = _run(net, x.astype(np.float32), np.zeros((5, 16)), w.astype(np.float32),
                          monkeypatch, "1")  # fmt: skip
    assert traj.tape.saved is not None and traj.tape.saved[0].dtype == np.float32
    _, ref, _ = _run(net64, x, np.zeros((5, 16)), w, monkeypatch, "0")
    for key in net.params:
        _close(grads.params[key], ref.params[key], 1e-4)


def test_lstm_reverse_loop_has_no_transcendental_call():
    """The generated reverse loop of the LSTM kernel reads five saved values (sigma(a_i),
    sigma(a_f), tanh(a_g), sigma(a_o), tanh(c_new)) and calls no exp/tanh."""
    from gradtheory.symbolic.codegen import module_source

    source = module_source(gt.cells.lstm(), "test")
    loop = source[source.index("def vjp_0_float64") : source.index("def step_0_float32")]
    assert "tanh" not in loop and "exp" not in loop and "sigmoid" not in loop
    saving = source[source.index("def saving_0") : source.index("def vjp_0_float32")]
    assert saving.count("out=f_") == 5
