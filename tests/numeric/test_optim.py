"""Tests for gradtheory.numeric.optim: update rules, torch agreement, clipping, norms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gradtheory.numeric.optim import (
    SGD,
    Adam,
    Momentum,
    RMSProp,
    clip_by_norm,
    clip_by_value,
    global_norm,
    make_optimizer,
)


def _two_steps(opt):
    """Two steps on f(w) = w^2 / 2 from w = 1 (gradient g = w)."""
    params = {"w": np.array([1.0])}
    out = []
    for _ in range(2):
        opt.step(params, {"w": params["w"].copy()})
        out.append(params["w"][0])
    return out


def test_sgd_and_momentum_hand_computed():
    """SGD / heavy-ball / Nesterov in torch.optim.SGD's form (buffer = g at step 1)."""
    assert _two_steps(SGD(0.1)) == pytest.approx([0.9, 0.81], abs=1e-15)
    # b1 = 1, w1 = 1 - 0.1 = 0.9; b2 = 0.9 * 1 + 0.9 = 1.8, w2 = 0.9 - 0.18 = 0.72
    assert _two_steps(Momentum(0.1, beta=0.9)) == pytest.approx([0.9, 0.72], abs=1e-15)
    # b1 = 1, d1 = 1 + 0.9 = 1.9, w1 = 0.81; b2 = 0.9 + 0.81 = 1.71, d2 = 0.81 + 0.9 * 1.71
    # = 2.349, w2 = 0.81 - 0.2349 = 0.5751
    got = _two_steps(Momentum(0.1, beta=0.9, nesterov=True))
    assert got == pytest.approx([0.81, 0.5751], abs=1e-15)


def test_rmsprop_hand_computed():
    """RMSProp (torch.optim.RMSprop, alpha = rho): v = rho v + (1 - rho) g^2."""
    # v1 = 0.1, w1 = 1 - 0.01 / sqrt(0.1); v2 = 0.09 + 0.1 w1^2, w2 = w1 - 0.01 w1 / sqrt(v2)
    w1 = 1 - 0.01 / math.sqrt(0.1)
    w2 = w1 - 0.01 * w1 / math.sqrt(0.09 + 0.1 * w1**2)
    assert _two_steps(RMSProp(0.01, rho=0.9, eps=0.0)) == pytest.approx([w1, w2], abs=1e-15)
    assert w1 == pytest.approx(0.968377223398, abs=1e-12)


def test_adam_hand_computed():
    """Adam (Kingma & Ba 2015, Alg. 1) with bias correction, eps = 0."""
    # step 1: m = 0.1, v = 0.001, m_hat = v_hat = 1, w1 = 1 - 0.1 = 0.9
    # step 2: g = 0.9, m = 0.09 + 0.09 = 0.18, v = 0.000999 + 0.00081 = 0.001809,
    # m_hat = 0.18 / 0.19, v_hat = 0.001809 / 0.001999
    w2 = 0.9 - 0.1 * (0.18 / 0.19) / math.sqrt(0.001809 / 0.001999)
    got = _two_steps(Adam(0.1, eps=0.0))
    assert got == pytest.approx([0.9, w2], abs=1e-14)
    assert w2 == pytest.approx(0.8004122277, abs=1e-10)


CASES = [
    ("sgd", {}, "SGD", {}),
    ("momentum", {"beta": 0.9}, "SGD", {"momentum": 0.9}),
    ("momentum", {"beta": 0.8, "nesterov": True}, "SGD", {"momentum": 0.8, "nesterov": True}),
    ("rmsprop", {"rho": 0.9, "eps": 1e-8}, "RMSprop", {"alpha": 0.9, "eps": 1e-8}),
    ("adam", {}, "Adam", {}),
    ("adam", {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6}, "Adam",
     {"betas": (0.8, 0.99), "eps": 1e-6}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kw", "tname", "tkw"), CASES)
def test_matches_torch_optim(name, kw, tname, tkw):
    """Agreement with torch.optim to 1e-12 in float64 over 25 steps on a 2-D quadratic."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 3))
    A = A @ A.T + np.eye(3)
    init = {"w": rng.normal(size=3), "b": rng.normal(size=(2, 2))}
    params = {k: v.copy() for k, v in init.items()}
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    opt = make_optimizer(name, 0.05, **kw)
    topt = getattr(torch.optim, tname)(list(tparams.values()), lr=0.05, **tkw)

    def grads(p):  # f = w^T A w / 2 + sum(b^4) / 4
        return {"w": A @ p["w"], "b": p["b"] ** 3}

    for _ in range(25):
        g = grads(params)
        opt.step(params, g)
        tg = grads({k: v.detach().numpy() for k, v in tparams.items()})
        for k, v in tparams.items():
            v.grad = torch.tensor(tg[k])
        topt.step()
    for k in init:
        np.testing.assert_allclose(params[k], tparams[k].detach().numpy(), rtol=0, atol=1e-12)


def test_step_refuses_non_finite_gradients():
    """Non-finite gradients are never applied: FloatingPointError names the parameter."""
    params = {"a": np.array([1.0]), "b": np.array([2.0])}
    opt = Adam(0.1)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(FloatingPointError, match="'b'"):
            opt.step(params, {"a": np.array([1.0]), "b": np.array([bad])})
    assert params["a"][0] == 1.0 and params["b"][0] == 2.0  # nothing changed
    assert opt.t == 0 and opt.state == {}


def test_make_optimizer_and_validation():
    """Registry names and argument checks."""
    assert isinstance(make_optimizer("ADAM", 1e-3), Adam)
    assert make_optimizer("momentum", 0.1, nesterov=True).nesterov
    with pytest.raises(ValueError, match=r"'adamw'.*sgd, momentum, rmsprop, adam"):
        make_optimizer("adamw", 1e-3)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="lr"):
            SGD(bad)
    with pytest.raises(ValueError, match="beta"):
        Momentum(0.1, beta=1.0)
    with pytest.raises(KeyError, match="'c'"):
        SGD(0.1).step({"w": np.zeros(2)}, {"c": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        SGD(0.1).step({"w": np.zeros(2)}, {"w": np.zeros(3)})


grad_dicts = st.dictionaries(
    st.sampled_from(["W", "U", "b"]),
    arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e6, 1e6)),
    min_size=1,
)


@settings(max_examples=200, deadline=None)
@given(grads=grad_dicts, eta=st.floats(1e-3, 1e3))
def test_clip_by_norm_properties(grads, eta):
    """Pascanu et al. 2013, Alg. 1: if ||g|| > eta, g <- eta g / ||g||, else g unchanged."""
    norm = math.hypot(*np.concatenate([g.ravel() for g in grads.values()]))  # exact-ish oracle
    clipped, before, flag = clip_by_norm(grads, eta)
    assert before == pytest.approx(norm, rel=1e-12)
    assert flag == (before > eta)
    if flag:
        assert global_norm(clipped) == pytest.approx(eta, rel=1e-12)
        for k, g in grads.items():  # direction preserved: a positive multiple
            np.testing.assert_allclose(clipped[k], g * (eta / before), rtol=1e-12, atol=1e-290)
            assert np.all(clipped[k] * g >= 0)
    else:
        for k, g in grads.items():
            np.testing.assert_array_equal(clipped[k], g)


def test_global_norm_no_overflow_and_special_values():
    """global_norm scales by max |g| first, so 1e200 entries do not overflow."""
    g = {"a": np.full(3, 1e200), "b": np.array([-1e200])}
    assert global_norm(g) == pytest.approx(2e200, rel=1e-14)
    clipped, norm, flag = clip_by_norm(g, 1.0)
    assert flag and norm == pytest.approx(2e200) and global_norm(clipped) == pytest.approx(1.0)
    assert global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}) == 5.0
    assert global_norm({"a": np.full(4, 1e-300)}) == pytest.approx(2e-300, rel=1e-14)
    assert global_norm({"a": np.zeros(3)}) == 0.0 and global_norm({}) == 0.0
    assert math.isinf(global_norm({"a": np.array([1.0, np.inf])}))
    assert math.isnan(global_norm({"a": np.array([np.inf]), "b": np.array([np.nan])}))
    _, n, flag = clip_by_norm({"a": np.array([np.nan])}, 1.0)
    assert math.isnan(n) and not flag


def test_clip_by_value():
    """Element-wise clipping to [-limit, limit]."""
    out = clip_by_value({"w": np.array([-3.0, 0.5, 2.0])}, 1.0)
    np.testing.assert_array_equal(out["w"], [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="limit"):
        clip_by_value({}, 0.0)
