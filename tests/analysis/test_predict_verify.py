"""Tests of gradtheory.analysis.predict and verify on closed forms and well inside each regime."""

import numpy as np
import pytest

from gradtheory.analysis.mean_field import mean_field
from gradtheory.analysis.predict import predict
from gradtheory.analysis.verify import measure_rate, verify
from gradtheory.cells import elman, lstm
from gradtheory.numeric.network import Network


def _linear(W):
    n = W.shape[0]
    return Network(
        elman("linear"), n_in=1, n_hidden=n, params={"W": W, "U": np.ones((n, 1)), "b": np.zeros(n)}
    )


@pytest.mark.parametrize("scale", [0.7, 1.0, 1.2])
def test_linear_normal_recurrence_rate_is_log_spectral_radius(scale):
    """h_t = W h_{t-1} with W = scale * Q (Q orthogonal, normal): ||dL/ds_{t-k}|| = scale^k
    ||dL/ds_t|| exactly, so the measured slope is ln(scale) to rounding."""
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))
    check = verify(_linear(scale * q), steps=60, atol=1e-9)
    assert check.predicted.method == "linear"
    assert check.predicted.rate == pytest.approx(np.log(scale), abs=1e-12)
    assert check.measured_rate == pytest.approx(np.log(scale), abs=1e-9)
    assert check.agrees


def test_diagonal_map_horizon():
    """W = diag(0.5, 0.9, 0.8): rate ln 0.9, the gradient falls 1000-fold in ln 1000 / -ln 0.9."""
    prediction = predict(_linear(np.diag([0.5, 0.9, 0.8])))
    assert prediction.regime == "vanishing"
    assert prediction.horizon == pytest.approx(np.log(1000) / -np.log(0.9))


def test_pascanu_bound_tanh_and_sigmoid():
    """Pascanu et al. 2013: rate <= ln(gamma sigma_max), gamma = 1 (tanh), 1/4 (sigmoid)."""
    W = np.diag([2.0, 0.5])
    tanh_net = Network(elman("tanh"), n_in=1, n_hidden=2, params={"W": W})
    sig_net = Network(elman("sigmoid"), n_in=1, n_hidden=2, params={"W": W})
    assert predict(tanh_net, method="pascanu").rate == pytest.approx(np.log(2.0))
    bound = predict(sig_net, method="pascanu")
    assert bound.rate == pytest.approx(np.log(0.5)) and bound.regime == "vanishing"
    assert bound.details["vanishing_guaranteed"]
    assert verify(sig_net, method="pascanu", steps=80).agrees


def test_mean_field_route_matches_theory():
    """The mean-field route of a Gaussian-initialised deep tanh chain is 1/2 ln chi_1."""
    net = Network(elman("tanh"), n_in=4, n_hidden=16, depth=5, tied=False, gain=1.2, sigma_b2=0.05)
    expected = 0.5 * np.log(mean_field("tanh", 1.44, 0.05).chi1)
    prediction = predict(net)
    assert prediction.method == "mean_field"
    assert prediction.rate == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("gain", "regime"), [(0.5, "vanishing"), (3.0, "exploding")])
def test_random_tanh_rnn_well_inside_each_regime(gain, regime):
    """Random tanh RNNs, W ~ N(0, g^2/n): ordered for g < 1, chaotic with exploding gradients
    for g > 1 (Sompolinsky et al. 1988); the forward-tangent forecast matches BPTT's slope."""
    net = Network(elman("tanh"), n_in=1, n_hidden=100, gain=gain, seed=1)
    check = verify(net, steps=200, batch=8)
    assert check.predicted.regime == regime
    assert check.agrees, check.table()


@pytest.mark.parametrize("sigma_w2", [0.8, 3.0])
def test_deep_tanh_mean_field_agrees_with_measurement(sigma_w2):
    """Schoenholz et al. 2017: per-layer gradient growth 1/2 ln chi_1 in wide random tanh nets."""
    net = Network(
        elman("tanh"),
        n_in=8,
        n_hidden=300,
        depth=30,
        tied=False,
        gain=np.sqrt(sigma_w2),
        sigma_b2=0.05,
        seed=0,
    )
    check = verify(net, method="mean_field", batch=8, atol=0.02)
    assert check.agrees, check.table()


def test_lstm_with_saturated_forget_gate_is_critical():
    """LSTM with f -> 1 and i -> 0 keeps c: the gradient neither vanishes nor explodes."""
    net = Network(lstm(), n_in=1, n_hidden=8, seed=0)
    b = net.params["b"]
    b[8:16], b[0:8] = 12.0, -12.0
    check = verify(net, steps=100)
    assert check.predicted.regime == "critical"
    assert abs(check.measured_rate) < 0.01 and check.agrees


def test_measure_rate_recovers_slope():
    """measure_rate fits ln||delta_t|| = a + rate (T - t) exactly on noise-free lines."""
    t = np.arange(41)[:, None]
    log_norms = 0.3 * (40 - t) + np.array([[0.0, 1.0, -2.0]])
    rate, stderr = measure_rate(log_norms, 0, 40)
    assert rate == pytest.approx(0.3) and stderr == pytest.approx(0.0, abs=1e-12)


def test_verification_table_and_plot():
    """The text table names the method and the verdict; the plot draws measured and predicted."""
    check = verify(_linear(0.9 * np.eye(3)), steps=40)
    assert "linear" in check.table() and "yes" in check.table()
    ax = check.plot()
    assert len(ax.get_lines()) == 2


def test_bad_method_is_named():
    """Unknown or inapplicable methods raise errors naming them."""
    net = Network(lstm(), n_in=1, n_hidden=2)
    with pytest.raises(ValueError, match="method"):
        predict(net, method="magic")
    with pytest.raises(ValueError, match="linear"):
        predict(net, method="linear")


def test_track_follows_training_with_a_longer_check_task():
    """track() verifies at every checkpoint (and at the end) on batches of verify_task."""
    from gradtheory.analysis.verify import track
    from gradtheory.numeric.tasks import adding

    net = Network(elman("tanh"), n_in=2, n_hidden=16, n_out=1, seed=0)
    rows = track(net, adding(10), steps=20, every=10, verify_task=adding(80), progress=False)
    np.testing.assert_array_equal(rows["step"], [0, 10, 20])
    assert len(rows["history"].loss) == 20
    assert rows["agrees"].all()


def test_diverging_trajectory_is_an_error_not_a_rate():
    """A trajectory whose state overflows must not yield a rate (NaN Jacobians would read as 0)."""
    from gradtheory.cells import residual

    net = Network(residual("relu"), n_in=1, n_hidden=8, gain=3.0, seed=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        predict(net, method="jacobian", steps=1000)


def test_verify_uses_the_same_route_as_predict_without_data():
    """Without data, verify's forecast comes from the same route predict picks (mean field)."""
    net = Network(elman("tanh"), n_in=1, n_hidden=4, tied=False, depth=20, init="gaussian")
    assert verify(net).predicted.method == predict(net).method == "mean_field"


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"batch": 0}, {"steps": -3}])
def test_bad_sizes_are_named(kwargs):
    """Non-positive steps or batch raise errors naming the argument."""
    net = Network(elman("tanh"), n_in=1, n_hidden=4)
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        predict(net, **kwargs)
    with pytest.raises(ValueError, match=name):
        verify(net, **kwargs)


def test_positive_pascanu_bound_decides_nothing():
    """Pascanu et al. 2013: sigma_max > 1/gamma is necessary, not sufficient, for exploding."""
    net = Network(elman("tanh"), n_in=1, n_hidden=2, params={"W": np.diag([2.0, 0.5])})
    assert predict(net, method="pascanu").regime == "undecided"
