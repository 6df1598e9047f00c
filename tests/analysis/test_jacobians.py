"""Tests of gradtheory.analysis.jacobians: step Jacobians, spectra, log-space products, Pascanu."""

from __future__ import annotations

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.analysis.jacobians import (
    jacobians,
    pascanu_conditions,
    product_log_singular_values,
    spectra,
)


def _networks():
    rng = np.random.default_rng(7)
    yield "elman-tanh", gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=4, seed=1), None
    yield "lstm", gt.Network(gt.cells.lstm(), n_in=2, n_hidden=3, seed=2), None
    yield "gru", gt.Network(gt.cells.gru(), n_in=2, n_hidden=3, seed=3), None
    yield (
        "untied-elman",
        gt.Network(
            gt.cells.elman("tanh"), n_in=2, n_hidden=4, tied=False, depth=5, sigma_b2=0.1, seed=4
        ),
        None,
    )
    henon = gt.cells.custom(
        ["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3}
    )
    yield "henon", gt.Network(henon), rng.uniform(-0.5, 0.5, size=(3, 2))


@pytest.mark.parametrize("case", list(_networks()), ids=lambda c: c[0])
def test_jacobians_match_central_differences(case):
    """dS_t/dS_{t-1} from the tape equals central differences of net.step (error O(eps^2)).

    Source: definition of the Jacobian; central differences with eps = 1e-6 have truncation error
    ~eps^2 |F'''| ~ 1e-12 and rounding error ~1e-16/eps ~ 1e-10, hence atol 1e-8.
    """
    _, net, h0 = case
    rng = np.random.default_rng(0)
    batch, steps = 3, (net.depth or 5)
    x = rng.normal(size=(steps, batch, net.n_in))
    if h0 is None:
        h0 = rng.uniform(-0.5, 0.5, size=(batch, net.n_state))
    traj = net.forward(x, h0=h0)
    J = jacobians(net, traj)
    assert J.shape == (steps, batch, net.n_state, net.n_state)
    eps = 1e-6
    for t in range(steps):
        s = traj.states[t]
        fd = np.empty((batch, net.n_state, net.n_state))
        for j in range(net.n_state):
            e = np.zeros(net.n_state)
            e[j] = eps
            fd[:, :, j] = (net.step(s + e, x[t], layer=t) - net.step(s - e, x[t], layer=t)) / (
                2 * eps
            )
        np.testing.assert_allclose(J[t], fd, atol=1e-8, rtol=0)


def test_jacobians_need_tape():
    """Without a tape there is nothing to differentiate: a clear ValueError."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3)
    traj = net.forward(np.zeros((4, 2, 1)), record=False)
    with pytest.raises(ValueError, match="tape"):
        jacobians(net, traj)


def test_spectra_of_known_matrices():
    """Eigenvalues of diag(2, -0.5) and a rotation by 90 degrees scaled by 3 (|lambda| = 3).

    Source: linear algebra; the spectral radius is max|lambda| and the norm is sigma_max.
    """
    mats = np.array([[[2.0, 0.0], [0.0, -0.5]], [[0.0, -3.0], [3.0, 0.0]]])[:, None]
    out = spectra(mats)
    np.testing.assert_allclose(out["spectral_radius"][:, 0], [2.0, 3.0])
    np.testing.assert_allclose(out["singular_values"][:, 0], [[2.0, 0.5], [3.0, 3.0]])
    np.testing.assert_allclose(out["eigenvalues"][0, 0], [2.0, -0.5])
    np.testing.assert_allclose(out["norm"][:, 0], [2.0, 3.0])


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.array([[1.0, np.nan], [0.0, 1.0]])])
def test_spectra_rejects_bad_input(bad):
    """Non-square or non-finite matrices raise a ValueError naming the argument."""
    with pytest.raises(ValueError, match="jacobians"):
        spectra(bad)


@pytest.mark.parametrize("seed", range(5))
def test_product_log_singular_values_equal_explicit_svd(seed):
    """Short chains: ln svd(J_T ... J_1) formed explicitly equals the QR-sweep result.

    Source: J_T...J_1 = Q_T R_T...R_1 (Benettin et al. 1980) and alternating QR sweeps are the QR
    algorithm on the Gram matrix (Stewart 1997, graded QR of products); rtol 1e-9.
    """
    rng = np.random.default_rng(seed)
    J = rng.normal(size=(6, 2, 4, 4))
    product = np.broadcast_to(np.eye(4), (2, 4, 4))
    for t in range(6):
        product = J[t] @ product
    expected = np.log(np.linalg.svd(product, compute_uv=False))
    np.testing.assert_allclose(product_log_singular_values(J), expected, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(product_log_singular_values(J[:, 0]), expected[0], rtol=1e-9)


def test_product_log_singular_values_beyond_float_range():
    """A chain whose product overflows float64 (2^3000) still gives exact log singular values.

    Source: for diagonal factors the product is diag(2^T, 0.5^T): ln sigma = +-T ln 2.
    """
    T = 3000
    rot = np.array([[0.0, 1.0], [-1.0, 0.0]])  # orthogonal factors do not change the values
    J = np.stack([rot @ np.diag([2.0, 0.5]) @ rot.T for _ in range(T)])
    np.testing.assert_allclose(
        product_log_singular_values(J), [T * np.log(2), -T * np.log(2)], rtol=1e-12
    )


def test_pascanu_classification_on_hand_built_matrices():
    """sigma_max(W) < 1/gamma: vanishing guaranteed; > 1/gamma: exploding possible (undecided).

    Source: Pascanu, Mikolov & Bengio 2013, Sec. 3.1; gamma = 1 (tanh), 1/4 (sigmoid).
    """
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))
    assert pascanu_conditions(0.9 * q, "tanh").regime == "vanishing"
    assert pascanu_conditions(1.1 * q, "tanh").regime == "undecided"
    assert pascanu_conditions(q, "tanh").regime == "critical"
    low, high = pascanu_conditions(3.9 * q, "sigmoid"), pascanu_conditions(4.1 * q, "sigmoid")
    assert low.vanishing_guaranteed and not low.exploding_possible and low.threshold == 4.0
    assert high.exploding_possible and not high.vanishing_guaranteed
    np.testing.assert_allclose(low.sigma_max, 3.9)
    # a non-normal W with spectral radius 0.5 but sigma_max > 1: not guaranteed to vanish
    assert pascanu_conditions(np.array([[0.5, 3.0], [0.0, 0.5]])).regime == "undecided"


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.5])
def test_pascanu_conditions_and_predict_share_one_bound(scale):
    """pascanu_conditions and predict(method="pascanu") are one computation with one set of
    regime words (issue 13): same sigma_max, and the same regime for the same band."""
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3, params={"W": scale * q})
    conditions = pascanu_conditions(net)
    forecast = gt.predict(net, method="pascanu", band=1e-12)
    assert forecast.details["sigma_max"] == [conditions.sigma_max]
    assert conditions.regime == forecast.regime
    assert conditions.regime == {0.5: "vanishing", 1.0: "critical", 1.5: "undecided"}[scale]


def test_pascanu_from_network_and_bad_input():
    """A network supplies W and its activation; gated cells and bad matrices are refused."""
    net = gt.Network(gt.cells.elman("sigmoid"), n_in=1, n_hidden=3, params={"W": 2.0 * np.eye(3)})
    result = pascanu_conditions(net)
    assert result.gamma == 0.25 and result.vanishing_guaranteed
    with pytest.raises(ValueError, match="net_or_W"):
        pascanu_conditions(gt.Network(gt.cells.lstm(), n_in=1, n_hidden=2))
    with pytest.raises(ValueError, match="net_or_W"):
        pascanu_conditions(np.ones((2, 3)))
    with pytest.raises(ValueError, match="net_or_W"):
        pascanu_conditions(np.array([[np.inf, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="activation"):
        pascanu_conditions(np.eye(2), "softplus")
