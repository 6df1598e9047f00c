"""Batch-normalised depth chains: executor against PyTorch, finite differences and itself.

Oracles: ``torch.nn.BatchNorm1d`` (training and evaluation mode, float64) with autograd, for
the normalisation alone and for whole chains; central finite differences of the loss; the
explicit batch Jacobian against finite differences of one layer applied to the whole batch.
Tolerances: 1e-10 relative against torch (both float64, same formula up to summation order);
1e-6 against central differences with step 1e-6 (truncation O(h^2) plus rounding O(eps/h)).
"""

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.numeric.batchnorm import batch_jacobian, batch_jvp, batch_vjp, bn_forward, bn_vjp

RNG = np.random.default_rng(1)


def _net(kind="elman", act="tanh", batch_n=(6, 4), depth=3, n_in=3, **kw):
    cell = getattr(gt.cells, kind)(act, norm="batch", **kw)
    net = gt.Network(cell, n_in, batch_n[1], depth=depth, tied=False, seed=2)
    for name in ("gamma", "beta"):
        if name in net.params:
            net.params[name] = RNG.normal(1.0 if name == "gamma" else 0.0, 0.3, size=(depth, 4))
    return net


def test_bn_against_torch_training_mode():
    """bn_forward / bn_vjp equal BatchNorm1d's output and autograd gradients (float64)."""
    torch = pytest.importorskip("torch")
    z, g = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    gamma, beta = RNG.normal(size=3), RNG.normal(size=3)
    bn = torch.nn.BatchNorm1d(3, eps=1e-5, momentum=0.1).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    zt = torch.tensor(z, requires_grad=True)
    out = bn(zt)
    out.backward(torch.tensor(g))
    a, zhat, inv_std, _, _ = bn_forward(z, gamma, beta, 1e-5)
    grad_z, g_gamma, g_beta = bn_vjp(g, zhat, inv_std, gamma)
    np.testing.assert_allclose(a, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_z, zt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_gamma, bn.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_beta, bn.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def _torch_chain(net, act):
    """The same chain in torch: Linear(no bias) -> BatchNorm1d -> activation per layer."""
    import torch

    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": None}
    layers = []
    for t in range(net.depth):
        w = net.params["U"][0] if t == 0 else net.params["W"][t]
        lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=False).double()
        bn = torch.nn.BatchNorm1d(net.n_hidden, eps=net.cell.eps, momentum=0.1).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w))
            bn.weight.copy_(torch.tensor(net.params["gamma"][t]))
            bn.bias.copy_(torch.tensor(net.params["beta"][t]))
        layers.append((lin, bn))

    def run(x):
        h = x
        for lin, bn in layers:
            h = bn(lin(h))
            h = acts[act](h) if acts[act] else h
        return h

    return layers, run


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_chain_against_torch(act):
    """A 3-layer BN Elman chain: outputs, all gradients and running statistics equal torch's."""
    torch = pytest.importorskip("torch")
    net = _net(act=act)
    x, probe = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 4))
    layers, run = _torch_chain(net, act)
    xt = torch.tensor(x, requires_grad=True)
    out = run(xt)
    (out * torch.tensor(probe)).sum().backward()
    traj = net.forward(x)
    grad_out = np.zeros_like(traj.outputs)
    grad_out[-1] = probe
    grads = net.backward(traj, grad_out)
    np.testing.assert_allclose(traj.outputs[-1], out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads.inputs[0], xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for t, (lin, bn) in enumerate(layers):
        w = grads.params["U"][0] if t == 0 else grads.params["W"][t]
        np.testing.assert_allclose(w, lin.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads.params["gamma"][t], bn.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(grads.params["beta"][t], bn.bias.grad.numpy(), rtol=1e-10)
        stats = net.batchnorm
        np.testing.assert_allclose(stats.running_mean["a"][t], bn.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(stats.running_var["a"][t], bn.running_var.numpy(), rtol=1e-12)
    # evaluation mode: running statistics, per-sample maps; torch agrees after the same update
    net.batchnorm.training = False
    for _, bn in layers:
        bn.eval()
    np.testing.assert_allclose(
        net.forward(x).outputs[-1], run(torch.tensor(x)).detach().numpy(), rtol=1e-10
    )


@pytest.mark.parametrize("kind, affine", [("elman", True), ("residual", False)])
def test_gradients_against_finite_differences(kind, affine):
    """Every parameter and input gradient of a BN chain equals central differences (1e-6)."""
    net = _net(kind=kind, act="sigmoid", affine=affine)
    x, probe = RNG.normal(size=(6, 3)), RNG.normal(size=(3, 6, 4))
    net.batchnorm.training = True

    def loss(params=None, x_=x):
        work = net.copy()
        if params:
            work.params.update(params)
        return float(np.sum(work.forward(x_).outputs * probe))

    grads = net.backward(net.copy().forward(x), probe)
    h = 1e-6
    for name, value in net.params.items():
        flat = value.reshape(-1)
        for i in RNG.choice(flat.size, size=min(6, flat.size), replace=False):
            up, down = flat.copy(), flat.copy()
            up[i] += h
            down[i] -= h
            fd = loss({name: up.reshape(value.shape)}) - loss({name: down.reshape(value.shape)})
            fd /= 2 * h
            assert grads.params[name].reshape(-1)[i] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    dx = np.zeros_like(x)
    dx[2, 1] = h
    fd = (loss(x_=x + dx) - loss(x_=x - dx)) / (2 * h)
    assert grads.inputs[0][2, 1] == pytest.approx(fd, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("kind", ["elman", "residual"])
def test_batch_jacobian_couples_samples(kind):
    """batch_jacobian equals finite differences of one layer on the whole batch, has
    off-diagonal (sample-coupling) blocks, and batch_jvp / batch_vjp are J V and J^T U."""
    net = _net(kind=kind, act="tanh")
    traj = net.forward(RNG.normal(size=(6, 3)))
    t, state = 1, traj.states[1]
    jac = batch_jacobian(net, traj, t)
    h, fd = 1e-6, np.zeros_like(jac)
    for col in range(state.size):
        e = np.zeros(state.size)
        e[col] = h
        up = net.copy().step(state + e.reshape(state.shape), layer=t)
        down = net.copy().step(state - e.reshape(state.shape), layer=t)
        fd[:, col] = ((up - down) / (2 * h)).reshape(-1)
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-8)
    assert np.abs(jac[:4, 4:8]).max() > 1e-3  # sample 0 depends on sample 1
    v, u = RNG.normal(size=(6, 4)), RNG.normal(size=(6, 4))
    np.testing.assert_allclose(batch_jvp(net, traj, t, v).ravel(), jac @ v.ravel(), rtol=1e-12)
    np.testing.assert_allclose(batch_vjp(net, traj, t, u).ravel(), jac.T @ u.ravel(), rtol=1e-12)


def test_backward_is_chained_vjp():
    """backward's dL/ds_0 equals batch_vjp applied layer by layer to a final-state probe."""
    net = _net(kind="residual", act="relu", affine=False)
    traj = net.forward(RNG.normal(size=(6, 3)))
    probe = RNG.normal(size=(6, 4))
    grads = net.backward(traj, grad_state=probe)
    v = probe
    for t in range(traj.steps - 1, -1, -1):
        v = batch_vjp(net, traj, t, v)
    np.testing.assert_allclose(grads.initial_state, v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        grads.adjoint_norms[0], np.linalg.norm(v, axis=1), rtol=1e-12, atol=1e-14
    )


def test_bad_input_is_refused():
    """norm must be 'batch'; BN cells only in depth chains; training needs B >= 2."""
    with pytest.raises(ValueError, match="argument 'norm'"):
        gt.cells.elman("tanh", norm="layer")
    with pytest.raises(ValueError, match="argument 'norm'"):
        gt.cells.residual("relu", norm="group")
    with pytest.raises(ValueError, match="argument 'eps'"):
        gt.cells.elman("tanh", norm="batch", eps=0.0)
    with pytest.raises(ValueError, match="argument 'tied'"):
        gt.Network(gt.cells.elman("tanh", norm="batch"), 2, 3)
    net = _net()
    with pytest.raises(ValueError, match="at least 2 samples"):
        net.forward(np.ones((1, 3)))
    net.batchnorm.training = False  # running statistics: a single sample is fine
    assert net.forward(np.ones((1, 3))).outputs.shape == (3, 1, 4)


def test_per_sample_tools_refuse():
    """Tools that treat samples independently raise instead of answering per sample."""
    net = _net()
    x = RNG.normal(size=(6, 3))
    traj = net.forward(x)
    calls = [
        lambda: gt.jacobians(net, traj),
        lambda: gt.lyapunov(net, np.zeros((3, 3))),
        lambda: gt.verify(net, x),
        lambda: gt.fixed_points(net),
        lambda: gt.orbit(net, np.zeros(4), 3),
        lambda: traj.tape[0],
        lambda: gt.pascanu_conditions(net),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="batch-normalised network"):
            call()


def test_train_runs_on_a_bn_chain():
    """gt.train drives the BN executor (forward, backward, optimiser) with finite losses."""
    net = gt.Network(gt.cells.elman("tanh", norm="batch"), 2, 8, 1, depth=10, tied=False)
    history = gt.train(net, gt.tasks.adding(10), steps=3, batch=8, progress=False)
    assert history.diverged_at is None and np.all(np.isfinite(history.loss))
    assert net.batchnorm.batches_tracked >= 3
