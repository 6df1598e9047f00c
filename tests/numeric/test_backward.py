"""Values of the executor's gradients, checked against independent derivatives.

Every cell is re-implemented here with ``autograd.numpy`` straight from its textbook /
PyTorch definition (no gradtheory kernels); autograd differentiates that reference. The
executor's parameter gradients and dL/dx must agree with it to rtol 1e-10 in float64, with
central finite differences, and (for analytic cells) with the complex step.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradtheory as gt
from gradtheory.numeric._execute import execute
from gradtheory.numeric.tangent import jacobian_product, step_jacobian
from gradtheory.symbolic.registry import ACTIVATIONS


# -- independent reference ------------------------------------------------------------------
def _sig(a):
    return 1.0 / (1.0 + anp.exp(-a))


ACT = {
    "tanh": anp.tanh,
    "sigmoid": _sig,
    "relu": lambda a: anp.maximum(a, 0.0),
    "linear": lambda a: a,
    "hardtanh": lambda a: anp.clip(a, -1.0, 1.0),
}


def ref_step(kind, act, p, s, x):
    """One step s_{t-1} -> s_t; p holds one layer's parameters (autograd-traceable)."""
    n = p["n"]
    if kind == "elman":  # h' = phi(W h + U x + b) (Elman 1990; torch.nn.RNN)
        return ACT[act](anp.dot(s, p["W"].T) + anp.dot(x, p["U"].T) + p["b"])
    if kind == "lstm":  # torch.nn.LSTM, gate rows i, f, g, o
        h, c = s[:, :n], s[:, n:]
        a = anp.dot(h, p["W"].T) + anp.dot(x, p["U"].T) + p["b"]
        i, f, g, o = (
            _sig(a[:, :n]),
            _sig(a[:, n : 2 * n]),
            anp.tanh(a[:, 2 * n : 3 * n]),
            _sig(a[:, 3 * n :]),
        )
        c2 = f * c + i * g
        return anp.concatenate([o * anp.tanh(c2), c2], axis=1)
    if kind == "gru":  # torch.nn.GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        gx = anp.dot(x, p["U"].T) + p["b_x"]
        gh = anp.dot(s, p["W"].T) + p["b_h"]
        r = _sig(gx[:, :n] + gh[:, :n])
        z = _sig(gx[:, n : 2 * n] + gh[:, n : 2 * n])
        m = anp.tanh(gx[:, 2 * n :] + r * gh[:, 2 * n :])
        return (1 - z) * m + z * s
    if kind == "residual":  # h + W2 phi(W1 h + U x + b1) (He et al. 2015)
        return s + anp.dot(
            ACT[act](anp.dot(s, p["W1"].T) + anp.dot(x, p["U"].T) + p["b1"]), p["W2"].T
        )
    if kind == "highway":  # (1 - T) h + T H (Srivastava et al. 2015); W stacks rows (H, T)
        a = anp.dot(s, p["W"].T) + anp.dot(x, p["U"].T) + p["b"]
        big_h, gate = ACT[act](a[:, :n]), _sig(a[:, n:])
        return (1 - gate) * s + gate * big_h
    if kind == "logistic":  # h' = r h (1 - h)
        return p["r"] * s * (1 - s)
    if kind == "henon":  # (x, y)' = (1 - a x^2 + y, b x) (Henon 1976)
        return anp.concatenate([1 - p["a"] * s[:, :1] ** 2 + s[:, 1:], p["b"] * s[:, :1]], axis=1)
    raise AssertionError(kind)


def ref_outputs(case, params, x, h0, tied, n):
    """Outputs (T, B, n_out or n_hidden) of the reference network."""
    kind, act = case
    s, outs = h0, []
    for t in range(x.shape[0]):
        layer = {k: (v if (tied or k in ("W_out", "b_out")) else v[t]) for k, v in params.items()}
        layer["n"] = n
        s = ref_step(kind, act, layer, s, x[t])
        h = s[:, :n]
        outs.append(anp.dot(h, params["W_out"].T) + params["b_out"] if "W_out" in params else h)
    return anp.stack(outs)


CELLS = {
    # every registered activation (a new one needs its autograd reference in ACT above)
    **{f"elman-{a}": (lambda a=a: gt.cells.elman(a), ("elman", a)) for a in ACTIVATIONS},
    "irnn": (gt.cells.irnn, ("elman", "relu")),
    "lstm": (gt.cells.lstm, ("lstm", None)),
    "gru": (gt.cells.gru, ("gru", None)),
    "residual-tanh": (lambda: gt.cells.residual("tanh"), ("residual", "tanh")),
    "highway-tanh": (lambda: gt.cells.highway("tanh"), ("highway", "tanh")),
    "logistic": (
        lambda: gt.cells.custom("r*h*(1 - h)", state="h", params={"r": 3.7}),
        ("logistic", None),
    ),
    "henon": (
        lambda: gt.cells.custom(
            ["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3}
        ),
        ("henon", None),
    ),
}
SMOOTH = ["elman-tanh", "elman-sigmoid", "elman-linear", "lstm", "gru"]


def make(name, n, batch, steps, tied, readout, seed=0, dtype="float64"):
    """A network with random non-zero parameters, its inputs, h0 and loss weights."""
    factory, case = CELLS[name]
    cell = factory()
    custom = cell.scalar_block
    rng = np.random.default_rng(seed)
    net = gt.Network(
        cell,
        n_in=None if custom else 2,
        n_hidden=None if custom else n,
        n_out=(2 if readout else None),
        depth=None if tied else steps,
        tied=tied,
        seed=seed,
        init="gaussian" if not custom else None,
        gain=0.9,
        dtype=dtype,
    )
    for key, value in net.params.items():  # random biases too, so no gradient is trivially 0
        if not custom:
            net.params[key] = (value + 0.2 * rng.normal(size=value.shape)).astype(net.dtype)
    x = 0.7 * rng.normal(size=(steps, batch, net.n_in))
    if custom:
        h0 = rng.uniform(0.2, 0.6, size=(batch, net.n_state)) * (0.3 if case[0] == "henon" else 1)
    else:
        h0 = 0.5 * rng.normal(size=(batch, net.n_state))
    w = rng.normal(size=(steps, batch, 2 if readout else net.n_hidden))
    return net, case, x, h0, w


def reference_gradients(net, case, x, h0, w):
    names = sorted(net.params)

    def loss(values, xs):
        params = dict(zip(names, values, strict=True))
        return anp.sum(ref_outputs(case, params, xs, h0, net.tied, net.n_hidden) * w)

    values = [np.asarray(net.params[k], dtype=np.float64) for k in names]
    g_params, g_x = autograd.grad(loss, argnum=(0, 1))(values, x)
    return dict(zip(names, g_params, strict=True)), g_x


def close(a, b, rtol, atol_frac=1e-12):
    """|a - b| <= rtol |b| + atol_frac max|b|: relative, with a floor for entries near zero."""
    b = np.asarray(b, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol_frac * scale)


def run(net, x, h0, w):
    traj = net.forward(x, h0)
    return traj, net.backward(traj, w)


# -- (a) autograd ---------------------------------------------------------------------------
@pytest.mark.parametrize("readout", [False, True])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("name", list(CELLS))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 5), batch=st.integers(1, 3), steps=st.integers(1, 6), seed=st.integers(0, 99)
)
def test_gradients_match_autograd(name, tied, readout, n, batch, steps, seed):
    """Outputs, dL/dtheta and dL/dx equal autograd's derivatives of the textbook/PyTorch
    equations of each cell (reference above) to rtol 1e-10 in float64."""
    if readout and CELLS[name][1][0] in ("logistic", "henon"):
        readout = False  # custom maps have one unit; a readout is still allowed but adds nothing
    net, case, x, h0, w = make(name, n, batch, steps, tied, readout, seed)
    traj, grads = run(net, x, h0, w)
    params = {k: np.asarray(v) for k, v in net.params.items()}
    close(traj.outputs, ref_outputs(case, params, x, h0, tied, net.n_hidden), 1e-12)
    g_params, g_x = reference_gradients(net, case, x, h0, w)
    for key in net.params:
        close(grads.params[key], g_params[key], 1e-10)
    close(grads.inputs, g_x, 1e-10)


# -- (b) finite differences -----------------------------------------------------------------
def _loss(net, x, h0, w):
    return float(np.sum(net.forward(x, h0, record=False).outputs * w))


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("name", list(CELLS))
def test_gradients_match_central_differences(name, tied):
    """Central differences (L(p+e) - L(p-e)) / 2e with e = 1e-6: truncation error O(e^2) ~ 1e-12
    plus round-off O(eps |L| / e) ~ 1e-10 relative, so rtol 1e-6 (with an absolute floor) is the
    honest tolerance; kinks of ReLU / hard tanh are avoided by continuous random data."""
    net, _, x, h0, w = make(name, 3, 2, 4, tied, readout=True, seed=3)
    grads = run(net, x, h0, w)[1]
    eps = 1e-6
    for key, value in net.params.items():
        fd = np.zeros(value.shape)
        for i in np.ndindex(value.shape):
            old = value[i]
            value[i] = old + eps
            up = _loss(net, x, h0, w)
            value[i] = old - eps
            down = _loss(net, x, h0, w)
            value[i] = old
            fd[i] = (up - down) / (2 * eps)
        close(grads.params[key], fd, 1e-6, 1e-7)
    fd_x = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        fd_x[i] = (_loss(net, xp, h0, w) - _loss(net, xm, h0, w)) / (2 * eps)
    close(grads.inputs, fd_x, 1e-6, 1e-7)


# -- (c) complex step -----------------------------------------------------------------------
def _complex_loss(net, x, h0, w):
    """sum(outputs * w) evaluated in complex arithmetic through the executor's own kernels
    (test-only path: Network refuses complex arrays, so the program is run directly)."""
    layers = None if net.tied else np.arange(x.shape[0])
    states = execute(net, x, h0.astype(complex), layers, record=False)[0]
    hidden = states[1:, :, : net.n_hidden]
    if net.n_out:
        hidden = hidden @ net.params["W_out"].T + net.params["b_out"]
    return np.sum(hidden * w)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("name", SMOOTH)
def test_gradients_match_complex_step(name, tied):
    """Complex step Im L(p + ih) / h with h = 1e-30 has no subtractive cancellation, so for
    analytic cells (tanh, sigmoid, linear, LSTM, GRU) it gives the derivative to machine
    precision (Squire and Trapp 1998): agreement to rtol 1e-12."""
    net, _, x, h0, w = make(name, 3, 2, 4, tied, readout=True, seed=5)
    grads = run(net, x, h0, w)[1]
    probe = net.copy()
    probe.dtype = np.complex128
    probe.params = {k: v.astype(complex) for k, v in net.params.items()}
    h = 1e-30
    for key, value in probe.params.items():
        cs = np.zeros(value.shape)
        for i in np.ndindex(value.shape):
            value[i] += 1j * h
            cs[i] = _complex_loss(probe, x, h0, w).imag / h
            value[i] -= 1j * h
        close(grads.params[key], cs, 1e-12)
    cs_x = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        xc = x.astype(complex)
        xc[i] += 1j * h
        cs_x[i] = _complex_loss(probe, xc, h0, w).imag / h
    close(grads.inputs, cs_x, 1e-12)


# -- step Jacobians -------------------------------------------------------------------------
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("name", list(CELLS))
def test_step_jacobian_matches_autograd_and_differences(name, tied):
    """dS_t/dS_{t-1} from the recorded partials equals autograd.jacobian of the reference step
    (1e-12) and central differences of Network.step (1e-6, same error budget as above)."""
    net, case, x, h0, _ = make(name, 3, 2, 3, tied, readout=False, seed=7)
    traj = net.forward(x, h0)
    n = net.n_hidden
    for t in range(traj.steps):
        jac = step_jacobian(net, traj.tape[t])
        layer = {k: np.asarray(v if net.tied else v[t]) for k, v in net.params.items()}
        layer["n"] = n
        for b in range(x.shape[1]):

            def one(s, b=b, t=t, layer=layer):
                return ref_step(case[0], case[1], layer, s[None, :], x[t, b : b + 1])[0]

            close(jac[b], autograd.jacobian(one)(traj.states[t, b]), 1e-12)
        eps = 1e-6
        fd = np.zeros_like(jac)
        for j in range(net.n_state):
            e = np.zeros(net.n_state)
            e[j] = eps
            up = net.step(traj.states[t] + e, x[t], layer=t)
            down = net.step(traj.states[t] - e, x[t], layer=t)
            fd[:, :, j] = (up - down) / (2 * eps)
        close(jac, fd, 1e-6, 1e-8)
        thin = np.random.default_rng(t).normal(size=(x.shape[1], net.n_state, 2))
        close(jacobian_product(net, traj.tape[t], thin), jac @ thin, 1e-12)


@pytest.mark.parametrize("name", ["lstm", "gru", "highway-tanh"])
def test_grad_state_probe_gives_vector_jacobian_product(name):
    """With no output loss and grad_state = v on s_T, dL/ds_t = v^T J_T ... J_{t+1} (chain rule):
    dL/ds_0 and ln||dL/ds_t|| at every t equal the explicit product of step Jacobians."""
    net, _, x, h0, _ = make(name, 3, 2, 30, True, readout=False, seed=11)
    traj = net.forward(x, h0)
    v = np.random.default_rng(0).normal(size=(2, net.n_state))
    grads = net.backward(traj, None, grad_state=v)
    expected, logs = v.copy(), [np.log(np.linalg.norm(v, axis=1))]
    for t in range(traj.steps - 1, -1, -1):
        expected = np.einsum("bi,bij->bj", expected, step_jacobian(net, traj.tape[t]))
        logs.append(np.log(np.linalg.norm(expected, axis=1)))
    close(grads.initial_state, expected, 1e-12)
    np.testing.assert_allclose(grads.adjoint_log_norms, np.array(logs[::-1]), rtol=0, atol=1e-12)
