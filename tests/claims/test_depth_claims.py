"""Fast checks of the depth, gating and spectral claims: the key fact of each at a tiny size."""

from __future__ import annotations

import numpy as np

from gradtheory.claims import (
    depth_gradients,
    gru_gates,
    input_sensitivity,
    jacobian_eigenvalues,
    lstm_carousel,
    lstm_forget_gate,
    regime_during_training,
    spectral_conditions,
)
from gradtheory.numeric.network import Network


def _change(label, depth=30, width=32):
    x = np.random.default_rng(1).normal(size=(8, width))
    prof = depth_gradients.gradient_profile(label, depth, width, [0], x)
    return prof, float(prof["log_norms"][0, 0] - prof["log_norms"][0, -1])


def test_depth_residual_keeps_gradient_plain_does_not():
    """He et al. 2015 / lecture notes 001: the residual Jacobian I + dF/dx keeps ||dL/ds_0||
    within a factor 2 of ||dL/ds_L|| at depth 30, while plain tanh networks vanish (gain 1) or
    explode (gain 1.5) by more than a factor 2.4; the highway network's rate is ln(1 - T)."""
    labels = list(depth_gradients.MODELS)
    _, res = _change(labels[3])
    _, van = _change(labels[0])
    _, exp_ = _change(labels[1])
    assert abs(res) < np.log(2.0)
    assert van < -np.log(2.4) and exp_ > np.log(2.4) and min(-van, exp_) > 2 * abs(res)
    prof, _ = _change(labels[4])
    assert abs(prof["jacobian"][0].measured_rate - np.log1p(-prof["gate"])) < 0.02


def test_lstm_forget_gate_near_one_gives_rate_near_zero():
    """Gers et al. 2000 / lecture notes 001: with b_f = +5 and b_i = -5 the predicted and
    measured gradient growth rates are both within 0.02 of zero; default init vanishes faster
    than 0.1 per step."""
    x = np.random.default_rng(0).normal(size=(120, 8, 2))
    near = lstm_forget_gate.lstm_network(8, 2, 5.0, -5.0, 0)
    default = lstm_forget_gate.lstm_network(8, 2, None, None, 0)
    from gradtheory.analysis.verify import verify

    v = verify(near, x, method="jacobian")
    assert abs(v.predicted.rate) < 0.02 and abs(v.measured_rate) < 0.02 and v.agrees
    assert verify(default, x, method="jacobian").measured_rate < -0.1


def test_lstm_carousel_passes_gradient_unchanged():
    """Hochreiter and Schmidhuber 1997 / lecture notes 004: f = 1, i = 0 gives dc_T/dc_0 = I
    and |dL/dc_0| = |dL/dc_T| to 1e-12; with f = 0.9 the gradient is the product of the f_t."""
    rng = np.random.default_rng(0)
    x, c0 = rng.normal(size=(40, 4, 2)), rng.normal(size=(4, 6))
    probe = rng.normal(size=(4, 6))
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    exact = lstm_carousel.carousel(1.0, x, c0, probe, 0)
    assert np.max(np.abs(exact["dc_dc0"] - np.eye(6))) < 1e-12
    assert np.max(np.abs(exact["measured"][-1])) < 1e-12
    leaky = lstm_carousel.carousel(0.9, x, c0, probe, 0)
    m, p = leaky["measured"][-1].mean(), leaky["product"][-1].mean()
    assert m < -3.0 and abs(m - p) < 0.05 * abs(p)


def test_gru_update_gate_copies_gradient():
    """Cho et al. 2014: z = 1 passes the gradient unchanged (ratio 1 to 1e-12, nothing
    neglected); near z = 1 (b_z = 7) the copy path's bound holds on every sequence and the
    product of the z_t is within it; far from 1 (b_z = -2) the bound does not exist and the
    product underestimates the measured gradient (the other Jacobian terms add to it)."""
    rng = np.random.default_rng(0)
    x, h0 = rng.normal(size=(50, 4, 2)), 0.5 * rng.normal(size=(4, 8))
    probe = rng.normal(size=(4, 8))
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    saturated = gru_gates.through_time(50.0, x, h0, probe, 0)
    assert np.max(np.abs(saturated["measured"])) < 1e-12 and not saturated["eps"].any()
    near = gru_gates.through_time(7.0, x, h0, probe, 0)
    delta = (np.exp(near["eps"]) - 1) * np.exp(-near["product"])
    assert delta.max() < 1
    assert np.all(np.abs(near["measured"] - near["product"]) <= -np.log1p(-delta))
    far = gru_gates.through_time(-2.0, x, h0, probe, 0)
    assert np.max((np.exp(far["eps"]) - 1) * np.exp(-far["product"])) > 1
    assert far["measured"].mean() > far["product"].mean() + 10


def test_input_sensitivity_fades_for_tanh_and_modes_agree():
    """Lecture notes (after Graves 2012): ||dh_t/dx_1|| of a tanh RNN falls more than 1000-fold
    within 40 steps; forward- and reverse-mode input Jacobians agree to 1e-10."""
    x = np.random.default_rng(0).normal(size=(40, 4, 1))
    net = Network(input_sensitivity.MODELS["tanh RNN (gaussian, gain 1)"], n_in=1, n_hidden=16)
    out = input_sensitivity.sensitivity(net, x, check_at=20)
    mean = out["norms"].mean(axis=1)
    assert mean[-1] < 1e-3 * mean[0]
    assert out["check"] < 1e-10


def test_regime_tracking_checkpoints_and_deep_task():
    """Pascanu et al. 2013: at initialisation the step-Jacobian prediction of a tanh RNN's rate
    agrees with BPTT; the deep digits task puts the 64 pixels at layer 1 only."""
    from gradtheory.cells import elman
    from gradtheory.numeric import tasks

    net = Network(elman("tanh"), n_in=2, n_hidden=8, n_out=1, seed=0)
    out = regime_during_training.follow(
        net, tasks.adding(10), tasks.adding(60), steps=10, every=10, lr=1e-3, seed=0
    )
    assert out["step"].tolist() == [0, 10] and bool(out["agrees"][0])
    x, y, mask = tasks.digits(depth=5).sample(3, 0)
    assert x.shape == (5, 3, 64) and not x[1:].any() and x[0].any()
    assert mask[-1].all() and not mask[:-1].any() and y[-1].sum() == 3


def test_spectral_condition_sufficient_for_vanishing():
    """Pascanu et al. 2013: every network with gamma sigma_max < 1 vanishes and every measured
    rate stays below ln(gamma sigma_max) (+ tolerance), for tanh and sigmoid."""
    for activation in ("tanh", "sigmoid"):
        r = spectral_conditions.sweep(activation, 8, 12, 80, 4, seed=0)
        below = r["sigma"] < 1
        assert below.any() and np.all(r["measured"][below] < -spectral_conditions.BAND)
        assert r["agrees"].all()


def test_jacobian_eigenvalues_per_init():
    """Saxe et al. 2014 / Le et al. 2015: orthogonal and identity W have spectral radius 1,
    PyTorch's uniform init about 1/sqrt(3); the step Jacobian at h = 0 is W."""
    ortho = jacobian_eigenvalues.spectra("orthogonal", 32, 5, 0)
    assert abs(ortho["W"]["spectral_radius"] - 1) < 1e-10 and ortho["J0_minus_W"] < 1e-12
    identity = jacobian_eigenvalues.spectra("identity", 32, 5, 0)
    assert abs(identity["W"]["spectral_radius"] - 1) < 1e-12
    assert jacobian_eigenvalues.spectra("torch", 32, 5, 0)["W"]["spectral_radius"] < 0.8
