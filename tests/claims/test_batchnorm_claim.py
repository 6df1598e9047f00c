"""Fast checks of the batch-normalisation claim (analyses/batchnorm.py) at a tiny size.

Facts (lecture notes; Yang et al. 2019): BN keeps tanh units out of saturation where large
weights saturate them (the mean-field fraction P(|a| > 1.82) with a ~ N(0, q*) without BN,
a ~ N(0, 1) with it); plain BN chains explode gradients faster than residual ones; the
training helper stops cleanly and reports an accuracy; at depth 10 the residual BN net trains
and the plain one does not.
"""

import json

import numpy as np

from gradtheory.claims import batchnorm, run_claim


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


def test_quick_run_writes_results_and_keeps_the_claims_facts(tmp_path):
    """The quick run writes figure, JSON and arrays; its saturation rows and the large-batch
    plain ReLU row agree (single seed: the B = 8 rows, with no seed spread, may not); the
    residual net's test accuracy beats the plain one's by far (0.80 against 0.30 at quick size)."""
    meta = run_claim("batchnorm", tmp_path, quick=True)
    for suffix in ("png", "svg", "json", "npz"):
        assert (tmp_path / f"batchnorm.{suffix}").stat().st_size > 0
    saved = json.loads((tmp_path / "batchnorm.json").read_text())
    rows = {row["quantity"]: row for row in saved["comparisons"]}
    assert len(rows) == len(meta["comparisons"]) == 20
    assert all(r["agrees"] for q, r in rows.items() if q.startswith("saturated fraction"))
    relu = "rate per layer of ln||dL/dH_l||, plain BN relu, B=64 (batchnorm_monte_carlo)"
    assert rows[relu]["agrees"]
    accuracy = "test accuracy (mean of 1 seeds), {} BN depth 10"
    acc = {kind: meta["numbers"][accuracy.format(kind)] for kind in ("plain", "residual")}
    assert acc["residual"] > acc["plain"] + 0.3
