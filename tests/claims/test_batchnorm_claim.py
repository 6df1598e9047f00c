"""Fast checks of the batch-normalisation claim's three parts at a tiny size.

Facts (lecture notes; Yang et al. 2019): BN keeps tanh units out of saturation where large
weights saturate them (the mean-field fraction P(|a| > 1.82) with a ~ N(0, q*) without BN,
a ~ N(0, 1) with it); plain BN chains explode gradients faster than residual ones; the
training helper stops cleanly and reports an accuracy.
"""

import numpy as np

from gradtheory.claims import batchnorm


def test_saturation_with_and_without_bn():
    """Deep-layer saturated fraction: about 0.61 without BN (gain 4), about 0.07 with it."""
    out = batchnorm.saturation("tanh", depth=5, width=64, batch=64, seed=0)
    plain, bn = out["plain"]["saturated"][2:].mean(), out["BN"]["saturated"][2:].mean()
    assert abs(plain - out["predicted"]["plain"]) < 0.05
    assert abs(bn - out["predicted"]["BN"]) < 0.03
    np.testing.assert_allclose(out["BN"]["std"], 1.0, atol=1e-3)  # normalised per unit


def test_plain_bn_explodes_faster_than_residual():
    """Measured per-layer rate: plain ReLU BN above residual over the last third of layers."""
    plain = batchnorm.growth("plain", "relu", 16, 64, 12, [0])
    res = batchnorm.growth("residual", "relu", 16, 64, 12, [0])
    assert plain["measured"] > 0.15 and plain["regime"] == "exploding"
    assert np.mean(res["seed_tail"]) < 0.5 * plain["measured"] and res["regime"] == "critical"


def test_training_helper_runs():
    """A few steps: finite losses, an accuracy in [0, 1], a predicted gradient ratio > 0."""
    out = batchnorm.train_digits("plain", depth=4, width=16, steps=3, seed=0, lr=0.01)
    assert out["loss"].shape == (3,) and np.all(np.isfinite(out["loss"]))
    assert 0.0 <= out["accuracy"] <= 1.0 and out["predicted_log10_ratio"] > 0
