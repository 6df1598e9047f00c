"""Network: closed-form log-space adjoints, float32, argument checks, seeds and the tape."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradtheory as gt


def _linear(gain, n=3, dtype="float64"):
    return gt.Network(
        gt.cells.elman("linear"),
        n_in=1,
        n_hidden=n,
        dtype=dtype,
        params={"W": gain * np.eye(n), "U": np.zeros((n, 1)), "b": np.zeros(n)},
    )


@pytest.mark.parametrize("gain", [3.0, 0.3])
def test_log_norms_follow_closed_form_beyond_float_range(gain):
    """Linear RNN h_t = W h_{t-1} with W = gain I and the loss on y_T only: dL/ds_t = (W^T)^(T-t) g,
    so ln||dL/ds_t|| = (T - t) ln(gain) + ln||g|| exactly (Pascanu et al. 2013, eq. 5). Over
    T = 1000 steps 3^1000 ~ 1e477 overflows and 0.3^1000 ~ 1e-523 underflows float64, yet the
    recorded log norms must match to 1e-9 relative and stay finite."""
    steps, batch = 1000, 2
    net = _linear(gain)
    traj = net.forward(np.zeros((steps, batch, 1)))  # h0 = 0, x = 0: the states stay 0
    g = np.zeros(traj.outputs.shape)
    g[-1] = np.random.default_rng(0).normal(size=(batch, 3))
    grads = net.backward(traj, g)
    t = np.arange(steps + 1)[:, None]
    expected = (steps - t) * math.log(gain) + np.log(np.linalg.norm(g[-1], axis=1))[None, :]
    assert np.all(np.isfinite(grads.adjoint_log_norms))
    np.testing.assert_allclose(grads.adjoint_log_norms, expected, rtol=1e-9)
    if gain > 1:
        assert np.all(np.isinf(grads.adjoint_norms[0]))  # the plain norm really overflows
        assert not np.any(np.isfinite(grads.params["W"]))  # 0 * inf: only the log form is exact
    else:
        assert np.all(grads.adjoint_norms[0] == 0)  # and really underflows
        assert np.all(np.isfinite(grads.params["W"]))


def test_log_norms_with_loss_at_every_step_stay_exact():
    """Loss on every output of the linear W = 3 I chain: dL/ds_t = sum_{k>=t} 3^(k-t) g_k, which the
    scaled accumulation must reproduce; with the same g at every step and B = 1 it is
    ||g|| (3^(T-t+1) - 1) / 2 (a geometric sum), checked to 1e-9."""
    steps = 600
    net = _linear(3.0, n=2)
    traj = net.forward(np.zeros((steps, 1, 1)))
    g = np.tile(np.array([[[0.6, -0.8]]]), (steps, 1, 1))  # ||g|| = 1
    grads = net.backward(traj, g)
    t = np.arange(1, steps + 1)
    expected = (
        (steps - t + 1) * math.log(3.0) + np.log1p(-(3.0 ** -(steps - t + 1.0))) - math.log(2)
    )
    np.testing.assert_allclose(grads.adjoint_log_norms[1:, 0], expected, rtol=1e-9, atol=1e-12)


def test_float32_agrees_with_float64():
    """The same parameters in float32 give outputs and gradients within float32 round-off
    (~1e-5 relative to the largest entry) of float64, and keep float32 throughout."""
    rng = np.random.default_rng(1)
    for cell in (gt.cells.elman("tanh"), gt.cells.lstm(), gt.cells.gru(), gt.cells.highway()):
        net64 = gt.Network(cell, n_in=3, n_hidden=6, n_out=2, seed=2)
        net32 = gt.Network(cell, n_in=3, n_hidden=6, n_out=2, seed=2, dtype="float32")
        x = rng.normal(size=(20, 4, 3))
        w = rng.normal(size=(20, 4, 2))
        t64, t32 = net64.forward(x), net32.forward(x)
        g64, g32 = net64.backward(t64, w), net32.backward(t32, w)
        assert t32.states.dtype == np.float32 and t32.outputs.dtype == np.float32
        np.testing.assert_allclose(t32.outputs, t64.outputs, atol=1e-5)
        for key, value in g64.params.items():
            assert g32.params[key].dtype == np.float32
            np.testing.assert_allclose(
                g32.params[key], value, atol=1e-5 * max(1, np.abs(value).max())
            )
        np.testing.assert_allclose(g32.adjoint_log_norms, g64.adjoint_log_norms, atol=1e-5)


def test_float32_log_norms_beyond_float32_range():
    """float32 overflows at 3.4e38 = 3^81; the adjoint of a 300-step W = 3 I chain is still
    recorded as (T - t) ln 3 + ln||g|| (to float32 precision)."""
    net = _linear(3.0, dtype="float32")
    traj = net.forward(np.zeros((300, 1, 1), dtype=np.float32))
    g = np.zeros(traj.outputs.shape, dtype=np.float32)
    g[-1] = 1.0
    logs = net.backward(traj, g).adjoint_log_norms[:, 0]
    expected = (300 - np.arange(301)) * math.log(3.0) + 0.5 * math.log(3.0)
    np.testing.assert_allclose(logs, expected, rtol=1e-6)


# -- argument checks ------------------------------------------------------------------------
@pytest.fixture
def net():
    return gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3)


@pytest.mark.parametrize(
    "x, error, words",
    [
        (np.zeros((4, 2, 3)), ValueError, "n_in=2"),
        (np.zeros((4, 2)), ValueError, "(T, B, n_in=2)"),
        (np.zeros((1, 4, 2, 2)), ValueError, "(T, B, n_in=2)"),
        (np.full((4, 2, 2), np.nan), ValueError, "argument 'x' must be finite"),
        (np.zeros((4, 2, 2), dtype=int), TypeError, "'x' must be a floating-point array"),
        (np.zeros((4, 2, 2), dtype=complex), TypeError, "'x' must be a real numeric array"),
        (np.array([["a", "b"]]), TypeError, "'x' must be a real numeric array"),
    ],
)
def test_bad_x_is_refused_by_name(net, x, error, words):
    """Wrong width, wrong ndim, NaN, integer, complex or text x raise and name the argument."""
    with pytest.raises(error) as info:
        net.forward(x)
    assert words in str(info.value)


def test_bad_params_are_refused_by_name(net):
    """NaN in a parameter (set or edited in place), unknown names and wrong shapes are refused."""
    with pytest.raises(ValueError, match=r"argument 'params\['W'\]' must be finite"):
        gt.Network(
            gt.cells.elman("tanh"), n_in=2, n_hidden=3, params={"W": np.full((3, 3), np.nan)}
        )
    net.params["b"][0] = np.inf
    with pytest.raises(ValueError, match=r"'params\['b'\]' must be finite \(no NaN or Inf\)"):
        net.forward(np.zeros((2, 1, 2)))
    with pytest.raises(ValueError, match=r"unknown name 'V'.*'U', 'W', 'b'"):
        gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3, params={"V": np.eye(3)})
    with pytest.raises(ValueError, match=r"params\['W'\] must have shape \(3, 3\), got \(2, 2\)"):
        gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3, params={"W": np.eye(2)})
    with pytest.raises(TypeError, match=r"argument 'params\['W'\]' must be a real numeric array"):
        gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3, params={"W": np.eye(3) * 1j})


def test_other_bad_arguments_are_refused_by_name():
    """Unknown init, missing custom parameters, steps with tied=True, bad sizes, h0 and dtype."""
    elman = gt.cells.elman("tanh")
    with pytest.raises(ValueError, match=r"'init' must be one of .*'gaussian'.*got 'xavier'"):
        gt.Network(elman, n_in=1, n_hidden=2, init="xavier")
    with pytest.raises(ValueError, match=r"params must give values for \['r'\]"):
        gt.Network(gt.cells.custom("r*h*(1 - h)", state="h", params=["r"]))
    with pytest.raises(
        ValueError, match="argument 'depth' is the number of layers of an untied network"
    ):
        gt.Network(elman, n_in=1, n_hidden=2, depth=3)
    with pytest.raises(ValueError, match=r"Network: argument 'depth' must be a positive integer"):
        gt.Network(elman, n_in=1, n_hidden=2, tied=False)
    with pytest.raises(ValueError, match="argument 'n_hidden' must be a positive integer; got 0"):
        gt.Network(elman, n_in=1, n_hidden=0)
    with pytest.raises(ValueError, match="argument 'dtype' must be 'float64' or 'float32'"):
        gt.Network(elman, n_in=1, n_hidden=2, dtype="float16")
    with pytest.raises(TypeError, match="cell must be a gradtheory Cell"):
        gt.Network("elman", n_in=1, n_hidden=2)
    net = gt.Network(elman, n_in=1, n_hidden=2)
    with pytest.raises(ValueError, match=r"h0 must have shape \(3, 2\) or \(2,\)"):
        net.forward(np.zeros((4, 3, 1)), h0=np.zeros((3, 5)))
    traj = net.forward(np.zeros((4, 3, 1)))
    with pytest.raises(ValueError, match=r"grad_outputs must have the shape of traj\.outputs"):
        net.backward(traj, np.zeros((4, 3, 5)))
    with pytest.raises(ValueError, match="traj has no tape"):
        net.backward(net.forward(np.zeros((4, 3, 1)), record=False), np.zeros((4, 3, 2)))


def test_seeds_are_reproducible():
    """Same seed -> identical parameters (all cells); different seeds -> different ones."""
    for cell in (gt.cells.elman("tanh"), gt.cells.lstm(), gt.cells.gru(), gt.cells.highway()):
        a = gt.Network(cell, n_in=2, n_hidden=4, n_out=1, seed=7)
        b = gt.Network(cell, n_in=2, n_hidden=4, n_out=1, seed=7)
        c = gt.Network(cell, n_in=2, n_hidden=4, n_out=1, seed=8)
        for key in a.params:
            np.testing.assert_array_equal(a.params[key], b.params[key])
        assert not np.array_equal(a.params["W"], c.params["W"])


# -- semantics ------------------------------------------------------------------------------
def test_untied_input_enters_at_first_layer_only():
    """A depth network given x (B, n_in) uses it at layer 1 only: s_1 = phi(U_1 x + b_1) from
    s_0 = 0, s_l = phi(W_l s_{l-1} + b_l) after (DESIGN.md, depth chains)."""
    net = gt.Network(
        gt.cells.elman("tanh"), n_in=2, n_hidden=3, depth=4, tied=False, sigma_b2=0.1, seed=1
    )
    x = np.random.default_rng(0).normal(size=(5, 2))
    traj = net.forward(x)
    p = net.params
    s = np.tanh(x @ p["U"][0].T + p["b"][0])
    np.testing.assert_allclose(traj.states[1], s, rtol=1e-14)
    for layer in range(1, 4):
        s = np.tanh(s @ p["W"][layer].T + p["b"][layer])
        np.testing.assert_allclose(traj.states[layer + 1], s, rtol=1e-14)


def test_record_false_step_and_tape_slices_are_consistent():
    """forward(record=False), Network.step and a sliced tape give the same values as the full
    forward pass and its tape (the backward of a window sees the window's steps only)."""
    net = gt.Network(gt.cells.lstm(), n_in=2, n_hidden=3, seed=4)
    x = np.random.default_rng(2).normal(size=(6, 2, 2))
    traj = net.forward(x)
    np.testing.assert_array_equal(net.forward(x, record=False).states, traj.states)
    np.testing.assert_allclose(net.step(traj.states[2], x[2]), traj.states[3], rtol=1e-15)
    window = traj.tape[2:5]
    assert len(window) == 3
    for a, b in zip(window[1]["partials"][0], traj.tape[3]["partials"][0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(window[-1]["env"]["c"], traj.states[4][:, 3:])
    part = gt.Trajectory(
        states=traj.states[2:6],
        hidden=traj.hidden[2:6],
        outputs=traj.outputs[2:5],
        inputs=traj.inputs[2:5],
        tape=window,
    )
    w = np.ones((3, 2, 3))
    direct = net.backward(net.forward(x[2:5], h0=traj.states[2]), w)
    sliced = net.backward(part, w)
    for key in direct.params:
        np.testing.assert_allclose(sliced.params[key], direct.params[key], rtol=1e-13)


def test_custom_map_orbit_matches_iteration():
    """The logistic map 3.5 h (1 - h) (Strogatz, ch. 10) run as a network equals plain iteration."""
    net = gt.Network(gt.cells.custom("r*h*(1 - h)", state="h", params={"r": 3.5}))
    traj = net.forward(np.zeros((50, 1, 0)), h0=[[0.2]])
    h, expected = 0.2, [0.2]
    for _ in range(50):
        h = 3.5 * h * (1 - h)
        expected.append(h)
    np.testing.assert_allclose(traj.states[:, 0, 0], expected, rtol=1e-12)


def test_reused_work_arrays_never_overwrite_live_results():
    """The executor reuses its large work arrays only when nothing refers to them: results kept
    from an earlier pass (a trajectory, a view of its outputs, gradients, partials) survive
    later passes unchanged, and dropped ones are recycled."""
    net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, seed=1)
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 5, 3, 2))
    w = rng.normal(size=(5, 3, 4))
    traj1 = net.forward(x1)
    grads1 = net.backward(traj1, w)
    outputs_only = net.forward(x1 + 1).outputs  # a view: keeps its base array alive
    saved = (
        traj1.states.copy(),
        traj1.tape[2]["partials"][0][0].copy(),
        grads1.params["W"].copy(),
        grads1.adjoint_log_norms.copy(),
        outputs_only.copy(),
    )
    for _ in range(3):
        traj2 = net.forward(x2)
        net.backward(traj2, w)
    np.testing.assert_array_equal(traj1.states, saved[0])
    np.testing.assert_array_equal(traj1.tape[2]["partials"][0][0], saved[1])
    np.testing.assert_array_equal(grads1.params["W"], saved[2])
    np.testing.assert_array_equal(grads1.adjoint_log_norms, saved[3])
    np.testing.assert_array_equal(outputs_only, saved[4])
    if gt.numeric._execute.Pool.enabled:  # a training loop alternates between two buffers
        fresh = gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, seed=1)
        seen = set()
        traj = None
        for _ in range(4):
            traj = fresh.forward(x2)  # the previous trajectory is alive during the call
            seen.add(id(traj.states))
        assert len(seen) == 2
