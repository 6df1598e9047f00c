"""Tests of gradtheory.analysis.mean_field against closed forms, Monte Carlo and wide networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import erf

from gradtheory.analysis.mean_field import (
    MeanField,
    critical_sigma_w2,
    mean_field,
    phase_diagram,
    rnn_mean_field,
)


def _tanh_d(x):
    return 1 - np.tanh(x) ** 2


# ---------------------------------------------------------------- order-to-chaos line


def test_critical_tanh_no_bias_is_one():
    """tanh, sigma_b2 = 0: q* = 0 in the ordered phase, so chi1 = sigma_w2 tanh'(0)^2 and the
    transition is at sigma_w2 = 1 exactly (Poole et al. 2016, Fig. 2; Schoenholz et al. 2017)."""
    assert critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("sigma_b2", [0.0, 0.05, 1.0])
def test_critical_relu_is_two(sigma_b2):
    """relu: E[relu'(sqrt(q) z)^2] = 1/2 for every q, so chi1 = sigma_w2 / 2 and the critical
    point is sigma_w2 = 2 whatever the bias (He et al. 2015 initialisation)."""
    assert critical_sigma_w2("relu", sigma_b2) == pytest.approx(2.0, rel=1e-10)


def _independent_tanh_chi1(sigma_w2, sigma_b2):
    """chi1 by adaptive scipy quadrature and plain fixed-point iteration (no shared code)."""

    def gauss(f, q):
        r = math.sqrt(q)
        g = lambda z: f(r * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        return sum(quad(g, a, b, epsabs=1e-14, epsrel=1e-12)[0] for a, b in [(-20, 0), (0, 20)])

    q = 1.0
    for _ in range(500):
        q_new = sigma_w2 * gauss(lambda x: math.tanh(x) ** 2, q) + sigma_b2
        if abs(q_new - q) < 1e-14:
            break
        q = q_new
    return sigma_w2 * gauss(lambda x: (1 - math.tanh(x) ** 2) ** 2, q)


def test_critical_tanh_small_bias_matches_independent_computation():
    """tanh, sigma_b2 = 0.05: the critical sigma_w2 is about 1.76 (Schoenholz et al. 2017, Fig. 1);
    checked against an independent scipy.integrate.quad + fixed-point-iteration computation."""
    sw = critical_sigma_w2("tanh", 0.05)
    assert sw == pytest.approx(1.76, abs=0.01)
    ref = brentq(lambda s: _independent_tanh_chi1(s, 0.05) - 1, 1.7, 1.8, xtol=1e-12)
    assert sw == pytest.approx(ref, rel=1e-8)
    assert mean_field("tanh", sw, 0.05).regime == "critical"


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("sw", "sb"), [(0.5, 0.2), (0.9, 0.01), (0.1, 3.0)])
def test_linear_closed_form(sw, sb):
    """Linear network: L(q) = sigma_w2 q + sigma_b2, so q* = sigma_b2 / (1 - sigma_w2) for
    sigma_w2 < 1, and chi1 = chi_q = sigma_w2 (phi' = 1)."""
    m = mean_field("linear", sw, sb)
    assert m.q_star == pytest.approx(sb / (1 - sw), rel=1e-12)
    assert m.chi1 == pytest.approx(sw, rel=1e-12)
    assert m.chi_q == pytest.approx(sw, rel=1e-12)
    assert m.regime == "ordered" and m.c_star == 1.0


def test_linear_unbounded_and_identity():
    """Linear with sigma_w2 > 1: q grows geometrically (no finite q*); sigma_w2 = 1, no bias: the
    length map is the identity, q* undetermined (reported nan), chi1 = 1 (critical)."""
    m = mean_field("linear", 1.5, 0.1)
    assert m.q_star == math.inf and m.regime == "chaotic" and m.note
    m = mean_field("linear", 1.0, 0.0)
    assert math.isnan(m.q_star) and m.regime == "critical" and m.xi_c == math.inf


def test_relu_closed_form_and_divergence():
    """relu: L(q) = sigma_w2 q / 2 + sigma_b2, so q* = sigma_b2 / (1 - sigma_w2/2) for
    sigma_w2 < 2 and no finite q* for sigma_w2 > 2 (activations explode, chi1 = sigma_w2/2 > 1)."""
    m = mean_field("relu", 1.5, 0.1)
    assert m.q_star == pytest.approx(0.4, rel=1e-12)
    assert m.chi1 == pytest.approx(0.75, rel=1e-12)
    m = mean_field("relu", 3.0, 0.1)
    assert m.q_star == math.inf and m.chi1 == pytest.approx(1.5, rel=1e-12)
    assert m.regime == "chaotic" and "no finite q*" in m.note and m.c_star == 1.0


def test_hardtanh_closed_form():
    """hardtanh: with a = 1/sqrt(q), E[phi^2] = q (erf(a/sqrt2) - 2 a pdf(a)) + 1 - erf(a/sqrt2)
    and chi1 = sigma_w2 P(|sqrt(q) z| < 1) = sigma_w2 erf(a / sqrt 2) (elementary Gaussian
    integrals); this checks the piecewise quadrature across the kinks at +-1."""
    sw, sb = 2.0, 0.1
    m = mean_field("hardtanh", sw, sb)
    a = 1 / math.sqrt(m.q_star)
    p_in = erf(a / math.sqrt(2))
    pdf = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    length = sw * (m.q_star * (p_in - 2 * a * pdf) + 1 - p_in) + sb
    assert length == pytest.approx(m.q_star, rel=1e-12)
    assert m.chi1 == pytest.approx(sw * p_in, rel=1e-12)


def test_tanh_small_q_limit():
    """tanh at small q: tanh^2 x = x^2 - 2x^4/3 + ..., tanh'^2 x = 1 - 2x^2 + 7x^4/3 + ..., so
    E[tanh^2] = q - 2q^2 + O(q^3), E[tanh'^2] = 1 - 2q + 7q^2 + O(q^3) (Taylor expansion); q* then
    solves q (1 - sigma_w2) + 2 sigma_w2 q^2 = sigma_b2, which tends to the linear-network value."""
    sw, sb = 0.5, 1e-4
    m = mean_field("tanh", sw, sb)
    q = m.q_star
    assert q == pytest.approx(sb / (1 - sw), rel=1e-3)
    assert q * (1 - sw) + 2 * sw * q * q == pytest.approx(sb, rel=1e-6)
    assert m.chi1 == pytest.approx(sw * (1 - 2 * q + 7 * q * q), rel=1e-9)
    m0 = mean_field("tanh", sw, 0.0)
    assert m0.q_star == 0.0 and m0.chi1 == pytest.approx(sw, rel=1e-12)


# ---------------------------------------------------------------- Monte Carlo


@pytest.mark.parametrize(("act", "sw", "sb"), [("tanh", 3.0, 0.05), ("hardtanh", 1.2, 0.3)])
def test_chi1_and_q_star_against_monte_carlo(act, sw, sb):
    """chi1 = sigma_w2 E[phi'(sqrt(q*) z)^2] and L(q*) = q* (Poole et al. 2016, eqs. 3 and 7)
    estimated from 10^6 seeded normal samples; tolerance 5 Monte-Carlo standard errors."""
    phi = {"tanh": np.tanh, "hardtanh": lambda x: np.clip(x, -1, 1)}[act]
    dphi = {"tanh": _tanh_d, "hardtanh": lambda x: (np.abs(x) < 1) * 1.0}[act]
    m = mean_field(act, sw, sb)
    x = math.sqrt(m.q_star) * np.random.default_rng(0).standard_normal(10**6)
    for samples, target in ((sw * dphi(x) ** 2, m.chi1), (sw * phi(x) ** 2 + sb, m.q_star)):
        se = samples.std() / math.sqrt(samples.size)
        assert abs(samples.mean() - target) < 5 * se


def test_chaotic_correlation_fixed_point_monte_carlo():
    """Chaotic tanh (sigma_w2 = 3, sigma_b2 = 0.05): c* < 1 solves C(c*) = c* with
    C(c) = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q*, and chi_c = sigma_w2 E[phi'(u1) phi'(u2)]
    < 1 (Poole et al. 2016, eq. 5; Schoenholz et al. 2017, eq. 5); 10^6 samples, 5 std errors."""
    sw, sb = 3.0, 0.05
    m = mean_field("tanh", sw, sb)
    assert m.regime == "chaotic" and 0 < m.c_star < 1 and m.chi_c < 1
    z1, z2 = np.random.default_rng(1).standard_normal((2, 10**6))
    r, s = math.sqrt(m.q_star), math.sqrt(1 - m.c_star**2)
    u1, u2 = r * z1, r * (m.c_star * z1 + s * z2)
    for samples, target in (
        ((sw * np.tanh(u1) * np.tanh(u2) + sb) / m.q_star, m.c_star),
        (sw * _tanh_d(u1) * _tanh_d(u2), m.chi_c),
    ):
        assert abs(samples.mean() - target) < 5 * samples.std() / 1e3
    assert m.xi_c == pytest.approx(-1 / math.log(m.chi_c))


def test_odd_activation_without_bias_decorrelates_completely():
    """tanh with sigma_b2 = 0 in the chaotic phase: C is odd and C(0) = 0, so c* = 0
    (Poole et al. 2016, Fig. 3: inputs become orthogonal)."""
    m = mean_field("tanh", 2.0, 0.0)
    assert m.c_star == pytest.approx(0.0, abs=1e-10)


# ---------------------------------------------------------------- wide deep network


@pytest.mark.parametrize("sigma_w2", [0.8, 1.5, 3.0])
def test_gradient_growth_in_wide_tanh_network(sigma_w2):
    """Backpropagated vectors in a random tanh network grow by chi1 per layer in squared norm,
    E||delta_{l-1}||^2 = chi1 E||delta_l||^2 (Schoenholz et al. 2017, Sec. 4).

    Width N = 1000, depth L = 30, sigma_b2 = 0.05, K = 16 random vectors pulled back through
    J_l^T = W_l^T D_l, the forward pass started at q = q*. Finite-width tolerance: per layer,
    ||W^T u||^2 / ||u||^2 has relative variance 2/N and sum_i d_i^2 v_i^2 / (E[d^2] ||v||^2) has
    (3R - 1)/N with R = E[d^4]/E[d^2]^2 (v Gaussian); averaging the K vectors divides these by K
    except the empirical mean of d^2 over the N units, variance (R - 1)/N, shared by all vectors.
    Layers are independent, so the mean log ratio has std sigma = sqrt(((R-1) + (3R+1)/K)/(N L));
    we allow 5 sigma plus 2/N for the O(1/N) bias of a log of a ratio.
    """
    n, depth, k, sb = 1000, 30, 16, 0.05
    m = mean_field("tanh", sigma_w2, sb)
    rng = np.random.default_rng(42)
    ws = rng.standard_normal((depth, n, n)) * math.sqrt(sigma_w2 / n)
    bs = rng.standard_normal((depth, n)) * math.sqrt(sb)
    h = rng.standard_normal(n)
    h *= math.sqrt((m.q_star - sb) / sigma_w2 * n) / np.linalg.norm(h)
    ds = []
    for w, b in zip(ws, bs, strict=True):
        a = w @ h + b
        ds.append(_tanh_d(a))
        h = np.tanh(a)
    v = rng.standard_normal((n, k))
    logs = []
    for w, d in zip(ws[::-1], ds[::-1], strict=True):
        v_new = w.T @ (d[:, None] * v)
        logs.append(math.log((v_new**2).sum() / (v**2).sum()))
        v = v_new
    measured = float(np.mean(logs))
    d2 = np.concatenate(ds) ** 2
    r = np.mean(d2**2) / np.mean(d2) ** 2
    sigma = math.sqrt(((r - 1) + (3 * r + 1) / k) / (n * depth))
    assert abs(measured - math.log(m.chi1)) < 5 * sigma + 2 / n
    assert measured == pytest.approx(2 * m.log_grad_growth_per_layer, abs=5 * sigma + 2 / n)


# ---------------------------------------------------------------- recurrent networks


@pytest.mark.parametrize("gain", [0.3, 0.5, 0.9])
def test_rnn_tanh_subcritical_exponent_is_log_gain(gain):
    """Random tanh RNN without bias, g < 1: q* = 0 and lambda_max = ln g (mean field, N -> inf;
    discrete-time analogue of Sompolinsky, Crisanti & Sommers 1988)."""
    r = rnn_mean_field("tanh", gain)
    assert r.q_star == 0.0 and r.regime == "ordered"
    assert r.lyapunov == pytest.approx(math.log(gain), rel=1e-12)


def test_rnn_tanh_supercritical_is_chaotic():
    """g > 1 without bias: q* > 0 and lambda_max > 0, the transition to chaos at g = 1
    (Sompolinsky et al. 1988; Molgedey, Schuchhardt & Schuster 1992)."""
    r = rnn_mean_field("tanh", 1.5)
    assert r.q_star > 0 and r.lyapunov > 0 and r.regime == "chaotic"
    assert "N -> inf" in r.note


# ---------------------------------------------------------------- API behaviour


def test_custom_pair_matches_named_tanh_and_quadrature_is_accurate():
    """A (phi, dphi) pair reproduces the built-in tanh; 32- vs 64-node rules agree to 1e-12."""
    named = mean_field("tanh", 3.0, 0.05)
    custom = mean_field((np.tanh, _tanh_d), 3.0, 0.05)
    assert isinstance(custom, MeanField) and custom.activation == "custom"
    for key in ("q_star", "c_star", "chi1", "chi_q", "chi_c"):
        assert getattr(custom, key) == pytest.approx(getattr(named, key), rel=1e-12)
    for act, sw, sb in [("tanh", 3.0, 0.05), ("sigmoid", 20.0, 0.1), ("hardtanh", 2.0, 0.1)]:
        assert mean_field(act, sw, sb).quadrature_error < 1e-12


def test_xi_c_diverges_at_criticality():
    """xi_c = -1/ln chi_c diverges at the order-to-chaos transition (Schoenholz et al. 2017,
    Fig. 2): it grows as sigma_w2 approaches the critical value from either side."""
    crit = critical_sigma_w2("tanh", 0.05)
    far = [mean_field("tanh", s, 0.05).xi_c for s in (crit - 0.5, crit + 0.5)]
    near = [mean_field("tanh", s, 0.05).xi_c for s in (crit - 0.05, crit + 0.05)]
    assert near[0] > 3 * far[0] and near[1] > 3 * far[1]


def test_phase_diagram_shapes_and_values():
    """Grid values equal the pointwise mean_field results; rows are sigma_b2."""
    sw, sb = np.array([0.5, 1.0, 2.0, 3.0]), np.array([0.0, 0.05])
    pd = phase_diagram("tanh", sw, sb)
    assert pd["chi1"].shape == pd["xi_c"].shape == (2, 4)
    assert pd["chi1"][1, 3] == pytest.approx(mean_field("tanh", 3.0, 0.05).chi1, rel=1e-12)
    assert np.all(np.diff(pd["chi1"][1]) > 0)


@pytest.mark.parametrize(
    ("activation", "chaotic"), [("tanh", True), ("hardtanh", True), ("relu", False)]
)
def test_phase_diagram_fast_path_equals_full(activation, chaotic):
    """quantities=("chi1", "q_star") skips the correlation fixed point but returns the same
    values, bit for bit, over ordered and chaotic points; only the asked-for keys come back."""
    sw, sb = np.array([0.5, 1.0, 1.7, 2.5, 4.0]), np.array([0.0, 0.05, 0.3])
    full = phase_diagram(activation, sw, sb)
    fast = phase_diagram(activation, sw, sb, quantities=("chi1", "q_star"))
    assert set(fast) == {"sigma_w2", "sigma_b2", "chi1", "q_star"}
    np.testing.assert_array_equal(fast["chi1"], full["chi1"])
    np.testing.assert_array_equal(fast["q_star"], full["q_star"])
    assert np.any(full["c_star"] < 1) == chaotic  # tanh, hardtanh: c* < 1 is computed somewhere
    corr = phase_diagram(activation, sw, sb, quantities=["xi_c"])
    np.testing.assert_array_equal(corr["xi_c"], full["xi_c"])


def test_critical_sigma_w2_fast_chi1_matches_full_mean_field():
    """critical_sigma_w2 now solves chi1 = 1 without c*: the full mean_field there is critical
    with chi1 within 1e-12 of 1, so the shortcut does not move the root."""
    for sb in (0.0, 0.05, 0.4):
        sw = critical_sigma_w2("tanh", sb)
        assert mean_field("tanh", sw, sb).chi1 == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("quantities", [("chi2",), (), "c"])
def test_phase_diagram_bad_quantities_raise(quantities):
    with pytest.raises(ValueError, match="quantities"):
        phase_diagram("tanh", [1.0], [0.0], quantities=quantities)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: mean_field("tanh", -1.0, 0.0), "sigma_w2"),
        (lambda: mean_field("tanh", 1.0, float("nan")), "sigma_b2"),
        (lambda: mean_field("softsign", 1.0, 0.0), "activation"),
        (lambda: critical_sigma_w2("tanh", -0.1), "sigma_b2"),
        (lambda: rnn_mean_field("tanh", float("inf")), "gain"),
        (lambda: phase_diagram("tanh", [1.0, -2.0], [0.0]), "sigma_w2_grid"),
    ],
)
def test_bad_input_raises_naming_argument(call, name):
    """Negative or non-finite variances and unknown activations raise ValueError naming them."""
    with pytest.raises(ValueError, match=name):
        call()
