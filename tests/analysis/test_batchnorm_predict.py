"""Mean-field gradient growth of batch-normalised chains (Yang et al. 2019) against closed
forms and against backpropagation in wide random networks.

Facts checked: the Monte Carlo terms are exact for the linear activation (numerator B - 2,
denominator B per draw, so lambda = (B-2)/(B-3)); for ReLU the large-batch limit is
pi/(pi - 1) (Yang et al. 2019, Theorem for ReLU), reached at large B; the predicted per-layer
rate matches BPTT in a width-256 network within 10 % (finite-width and finite-depth effects
measured at a few per cent; see analyses/batchnorm.py for the full comparison).
"""

import math

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.analysis.batchnorm import (
    _large_batch,
    _sphere,
    _terms,
    batchnorm_gradient_factor,
)


def test_linear_terms_are_exact():
    """For phi = id each draw has tr((G - uu^T) G) = B - 2 and ||G y||^2 = B."""
    y = _sphere(9, 100, seed=0)
    num, den = _terms(y, "linear", 1.0, 0.0)
    np.testing.assert_allclose(num, 7.0, rtol=1e-12)
    np.testing.assert_allclose(den, 9.0, rtol=1e-12)
    assert batchnorm_gradient_factor("linear", 9)[0] == pytest.approx(7 / 6)


def test_relu_large_batch_limit():
    """Monte Carlo at B = 2048 approaches the closed form pi/(pi - 1) (O(1/B) correction)."""
    lam, stderr, kind = batchnorm_gradient_factor("relu", 2048, seed=1)
    assert kind == "monte carlo"
    assert lam == pytest.approx(math.pi / (math.pi - 1), abs=4 * stderr + 0.005)
    # truncated-normal moments agree with quadrature away from the kink's worst case
    nodes, weights = np.polynomial.hermite_e.hermegauss(160)
    a = 2.0 * nodes + 0.5
    w = weights / weights.sum()
    var = w @ np.maximum(a, 0) ** 2 - (w @ np.maximum(a, 0)) ** 2
    assert _large_batch("relu", 2.0, 0.5) == pytest.approx(4 * (w @ (a > 0)) / var, rel=1e-2)


@pytest.mark.parametrize("kind", ["elman", "residual"])
def test_prediction_matches_backprop(kind):
    """Predicted mean per-layer rate of ln||dL/dH_l|| vs BPTT, ReLU, B = 32, width 256."""
    batch, width, depth = 32, 256, 16
    net = gt.Network(
        getattr(gt.cells, kind)("relu", norm="batch"), width, width, depth=depth, tied=False
    )
    rng = np.random.default_rng(3)
    traj = net.forward(rng.normal(size=(batch, width)))
    grads = net.backward(traj, grad_state=rng.normal(size=(batch, width)))
    total = 0.5 * np.log(np.exp(2 * grads.adjoint_log_norms).sum(axis=1))
    measured = total[:-1] - total[1:]
    predicted = gt.predict(net, batch=batch)
    assert predicted.regime == ("exploding" if kind == "elman" else "critical")
    assert np.mean(measured[1:]) == pytest.approx(predicted.rate, rel=0.1)


def test_bad_batch_and_mode():
    """B <= 3 has an infinite expected factor; evaluation mode is not batch statistics."""
    net = gt.Network(gt.cells.elman("tanh", norm="batch"), 2, 4, depth=3, tied=False)
    with pytest.raises(ValueError, match="argument 'batch'"):
        gt.predict(net, batch=3)
    with pytest.raises(ValueError, match="argument 'method'"):
        gt.predict(net, method="jacobian")
    net.batchnorm.training = False
    with pytest.raises(ValueError, match="training mode"):
        gt.predict(net, batch=8)
