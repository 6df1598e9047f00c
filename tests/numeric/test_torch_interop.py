"""from_torch / to_torch: same recurrence, same outputs and gradients as PyTorch's modules."""

from __future__ import annotations

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.numeric.torch_interop import from_torch, to_torch

torch = pytest.importorskip("torch")

MODULES = {
    "rnn-tanh": lambda n_in, n, **kw: torch.nn.RNN(n_in, n, nonlinearity="tanh", **kw),
    "rnn-relu": lambda n_in, n, **kw: torch.nn.RNN(n_in, n, nonlinearity="relu", **kw),
    "lstm": lambda n_in, n, **kw: torch.nn.LSTM(n_in, n, **kw),
    "gru": lambda n_in, n, **kw: torch.nn.GRU(n_in, n, **kw),
}


def _module(kind, bias=True, batch_first=False, seed=0, n_in=3, n=5):
    torch.manual_seed(seed)
    module = MODULES[kind](n_in, n, bias=bias, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():  # biases of both kinds non-zero and distinct, so the mapping matters
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module


def _torch_run(module, x, state, w):
    """Outputs and parameter gradients of loss = sum(outputs * w) in PyTorch (time-major x)."""
    n = module.hidden_size
    xt = torch.tensor(x, requires_grad=True)
    xt_in = xt.transpose(0, 1) if module.batch_first else xt
    h0 = torch.tensor(state[None, :, :n])
    hx = (h0, torch.tensor(state[None, :, n:])) if isinstance(module, torch.nn.LSTM) else h0
    module.zero_grad()
    out, _ = module(xt_in, hx)
    if module.batch_first:
        out = out.transpose(0, 1)
    (out * torch.tensor(w)).sum().backward()
    grads = {name: p.grad.numpy().copy() for name, p in module.named_parameters()}
    return out.detach().numpy(), grads, xt.grad.numpy()


def _as_torch_grads(kind, grads):
    """gradtheory's gradients in PyTorch's names (b enters as bias_ih + bias_hh: same gradient)."""
    out = {"weight_hh_l0": grads.params["W"], "weight_ih_l0": grads.params["U"]}
    if kind == "gru":
        out.update(bias_ih_l0=grads.params["b_x"], bias_hh_l0=grads.params["b_h"])
    else:
        out.update(bias_ih_l0=grads.params["b"], bias_hh_l0=grads.params["b"])
    return out


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", list(MODULES))
def test_outputs_and_gradients_match_torch(kind, bias, batch_first):
    """The same recurrence in float64: outputs to 1e-12 and dL/dtheta, dL/dx to 1e-10 relative,
    from random x, h0 (and c0) with loss = sum(outputs * w)."""
    module = _module(kind, bias=bias, batch_first=batch_first, seed=1)
    net = from_torch(module)
    assert net.torch_batch_first_ is batch_first
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 4, 3))
    state = 0.5 * rng.normal(size=(4, net.n_state))
    w = rng.normal(size=(7, 4, 5))
    out_t, grads_t, gx_t = _torch_run(module, x, state, w)
    traj = net.forward(x, state)
    np.testing.assert_allclose(traj.outputs, out_t, rtol=1e-12, atol=1e-14)
    grads = net.backward(traj, w)
    for name, value in _as_torch_grads(kind, grads).items():
        if name in grads_t:
            np.testing.assert_allclose(value, grads_t[name], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads.inputs, gx_t, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", list(MODULES))
def test_round_trip_reproduces_parameters(kind, bias, batch_first):
    """to_torch(from_torch(m)) has m's class, options and every parameter (biases split back)."""
    module = _module(kind, bias=bias, batch_first=batch_first, seed=2)
    back = from_torch(module).to_torch()
    assert type(back) is type(module) and back.mode == module.mode
    assert (back.bias, back.batch_first) == (bias, batch_first)
    theirs = dict(module.named_parameters())
    ours = dict(back.named_parameters())
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        np.testing.assert_allclose(
            ours[name].detach().numpy(), value.detach().numpy(), rtol=1e-15, atol=1e-16
        )


def test_to_torch_of_native_network_matches_outputs():
    """A network built in gradtheory (LSTM, float32) exports to nn.LSTM with the same outputs."""
    net = gt.Network(gt.cells.lstm(), n_in=2, n_hidden=4, dtype="float32", seed=3)
    module = to_torch(net)
    assert module.weight_hh_l0.dtype == torch.float32 and not module.batch_first
    x = np.random.default_rng(1).normal(size=(5, 3, 2)).astype(np.float32)
    out, _ = module(torch.tensor(x))
    np.testing.assert_allclose(net.forward(x).outputs, out.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert to_torch(net, batch_first=True).batch_first


def test_unsupported_modules_and_networks_are_refused():
    """Multi-layer, bidirectional and projected modules; other cells, depth nets and readouts."""
    with pytest.raises(ValueError, match="num_layers=2"):
        from_torch(torch.nn.GRU(2, 3, num_layers=2))
    with pytest.raises(ValueError, match="bidirectional"):
        from_torch(torch.nn.RNN(2, 3, bidirectional=True))
    with pytest.raises(ValueError, match="proj_size=2"):
        from_torch(torch.nn.LSTM(2, 3, proj_size=2))
    with pytest.raises(TypeError, match=r"torch\.nn\.RNN, LSTM or GRU"):
        from_torch(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="highway"):
        to_torch(gt.Network(gt.cells.highway(), n_in=1, n_hidden=2))
    with pytest.raises(ValueError, match="untied"):
        to_torch(gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2, depth=2, tied=False))
    with pytest.raises(ValueError, match="readout"):
        to_torch(gt.Network(gt.cells.gru(), n_in=1, n_hidden=2, n_out=1))


def test_float32_module_gives_float32_network():
    """The network takes the module's dtype unless told otherwise."""
    module = torch.nn.GRU(2, 3)
    assert from_torch(module).dtype == np.float32
    assert from_torch(module, dtype="float64").dtype == np.float64
