"""Tests of gradtheory.analysis.lyapunov against analytic values (ChaosTools.jl-style checks)."""

from __future__ import annotations

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.analysis.jacobians import jacobians
from gradtheory.analysis.lyapunov import DivergenceError, lyapunov


def _logistic(r: float):
    return gt.Network(gt.cells.custom("r*h*(1 - h)", "h", params={"r": r}))


def _random_tanh(gain: float, n: int = 200, seed: int = 1):
    return gt.Network(
        gt.cells.elman("tanh"), n_in=0, n_hidden=n, init="gaussian", gain=gain, seed=seed
    )


def test_linear_normal_map_gives_log_moduli():
    """h -> W h with W = Q diag(d) Q^T: the exponents are ln|d_i| sorted descending.

    Source: for a normal W the QR frame aligns with the eigenvectors at rate |d_{i+1}/d_i|^t
    (here <= 0.75^t, 1e-13 after the 100-step warm-up); then R_t = diag(|d|) exactly. rtol 1e-10.
    """
    d = np.array([1.2, -0.9, 0.6, 0.3, -0.1])
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(5, 5)))
    net = gt.Network(
        gt.cells.elman("linear"),
        n_in=0,
        n_hidden=5,
        params={"W": q @ np.diag(d) @ q.T, "b": np.zeros(5)},
    )
    exps = lyapunov(net, steps=400, progress=False)
    np.testing.assert_allclose(exps, np.sort(np.log(np.abs(d)))[::-1], rtol=1e-10)


def test_diagonal_custom_map():
    """The decoupled map (x, y, z) -> (1.3 x, -0.5 y, 0.9 z) has exponents ln 1.3, ln 0.9, ln 0.5.

    Source: a diagonal Jacobian with constant entries; every R_t is diag(1.3, 0.9, 0.5) once the
    frame is aligned (rate 0.9/1.3 per step). rtol 1e-10.
    """
    net = gt.Network(gt.cells.custom(["1.3*x", "-0.5*y", "0.9*z"], state=["x", "y", "z"]))
    exps = lyapunov(net, steps=1000, progress=False)
    np.testing.assert_allclose(exps, np.log([1.3, 0.9, 0.5]), rtol=1e-10)


def test_logistic_r4_is_ln2():
    """Logistic map at r = 4: lambda = ln 2 (Ulam & von Neumann; conjugate to the tent map).

    Source: the invariant density 1/(pi sqrt(h(1-h))) gives E ln|4(1-2h)| = ln 2. The finite-time
    estimate fluctuates like sigma/sqrt(T) with sigma ~ 1 (ln|f'| has a log singularity at
    h = 1/2), i.e. ~3e-3 over 1e5 steps; rtol 1e-2 is ~3 standard errors, and the measured
    stderr must itself be small.
    """
    result = lyapunov(_logistic(4.0), steps=10**5, progress=False, return_details=True)
    np.testing.assert_allclose(result.exponents, [np.log(2)], rtol=1e-2)
    assert result.stderr[0] < 5e-3
    assert result.finite_time.shape == (50, 1)


def test_logistic_r35_period4_cycle():
    """Logistic map at r = 3.5: attracting 4-cycle, lambda = (1/4) ln|prod_i r (1 - 2 h_i)| < 0.

    Source: on a p-cycle the exponent is ln|multiplier| / p. The cycle is found by iterating and
    refined by Newton on f^4(h) - h; the estimate averages whole periods (steps = 4000), and the
    state reaches the cycle to machine precision within the warm-up, so rtol 1e-9.
    """
    r = 3.5

    def f(h):
        return r * h * (1 - h)

    h = 0.3
    for _ in range(1000):
        h = f(h)
    for _ in range(5):  # Newton on g(h) = f^4(h) - h
        orbit = [h]
        for _ in range(3):
            orbit.append(f(orbit[-1]))
        slope = np.prod([r * (1 - 2 * p) for p in orbit])
        h -= (f(orbit[-1]) - h) / (slope - 1)
    orbit = [h]
    for _ in range(3):
        orbit.append(f(orbit[-1]))
    assert abs(f(orbit[-1]) - h) < 1e-14 and len({round(p, 6) for p in orbit}) == 4
    exact = np.log(abs(np.prod([r * (1 - 2 * p) for p in orbit]))) / 4
    exps = lyapunov(_logistic(r), steps=4000, progress=False)
    assert exact < 0
    np.testing.assert_allclose(exps, [exact], rtol=1e-9)


def test_henon_exponents():
    """Hénon map a = 1.4, b = 0.3: lambda1 ~ 0.419 and lambda1 + lambda2 = ln b exactly.

    Source: Hénon 1976; lambda1 = 0.41922 (Sprott, Chaos and Time-Series Analysis, 2003, App. A).
    det J = -b at every point, so the sum of all exponents is the mean ln|det J| = ln 0.3
    (to rounding, 1e-8). lambda1 over 2e4 steps has stderr ~2e-3: atol 1e-2.
    """
    net = gt.Network(
        gt.cells.custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    )
    result = lyapunov(net, steps=20000, h0=[0.1, 0.1], progress=False, return_details=True)
    assert abs(result.exponents[0] - 0.41922) < 1e-2
    assert abs(result.sum - np.log(0.3)) < 1e-8
    assert 1.2 < result.kaplan_yorke_dimension < 1.3  # D_KY = 1.258 (Sprott 2003)


def test_random_tanh_rnn_transition_to_chaos():
    """Random tanh RNN, W ~ N(0, g^2/N), N = 200: lambda_max < 0 at g = 0.5, > 0 at g = 2.

    Source: Sompolinsky, Crisanti & Sommers 1988 (transition to chaos at g = 1). For g < 1 the
    state falls into the fixed point 0, where J = W, so lambda_max = ln rho(W) exactly (atol 1e-3
    after 2000 steps); rho(W) = g (1 + O(N^-1/2)) by the circular law, so |lambda_max - ln g| is
    ~N^-1/2 = 0.07: checked with atol 0.15.
    """
    quiet = _random_tanh(0.5)
    exps = lyapunov(quiet, steps=2000, k=2, progress=False)
    rho = np.max(np.abs(np.linalg.eigvals(quiet.params["W"])))
    assert exps[0] < 0
    assert abs(exps[0] - np.log(rho)) < 1e-3
    assert abs(exps[0] - np.log(0.5)) < 0.15
    chaotic = lyapunov(_random_tanh(2.0), steps=2000, k=2, progress=False)
    assert chaotic[0] > 0.05


def test_lyapunov_matches_adjoint_growth():
    """lambda_1 equals the per-step log growth of a backpropagated gradient on the same trajectory.

    Source: delta_{t-1} = J_t^T delta_t, so ||delta_t|| ~ exp(lambda_1 (T - t)) for a generic
    final grad_state (Oseledets). Both estimate lambda_1 on the same 2000 steps; they differ by
    boundary terms O(1)/T ~ 2e-3 (measured differences < 2e-3 on three seeds): atol 1e-2.
    """
    net = _random_tanh(2.0, seed=0)
    rng = np.random.default_rng(0)
    start = net.forward(
        np.zeros((200, 1, 0)), h0=rng.uniform(-1, 1, (1, 200)), record=False
    ).states[-1]
    steps = 2000
    exps = lyapunov(net, np.zeros((steps, 0)), h0=start, k=1, warmup=0, progress=False)
    traj = net.forward(np.zeros((steps, 1, 0)), h0=start)
    log_norms = net.backward(traj, grad_state=rng.normal(size=(1, 200))).adjoint_log_norms[:, 0]
    fit = slice(0, steps - 200)  # the last 200 steps are the backward frame's alignment
    slope = np.polyfit(np.arange(steps + 1)[fit], log_norms[fit], 1)[0]
    assert abs(-slope - exps[0]) < 1e-2


def test_sum_of_exponents_is_mean_log_det_for_driven_lstm():
    """For k = n_state, sum(lambda) = (1/T) sum_t ln|det J_t| (any cell, driven or not).

    Source: the product of diag(R_t) is det of the product of Jacobians (volume growth, Benettin
    et al. 1980). Checked on a driven LSTM (joint (h, c) state) against jacobians(); rtol 1e-10.
    """
    net = gt.Network(gt.cells.lstm(), n_in=2, n_hidden=4, seed=3)
    x = np.random.default_rng(0).normal(size=(300, 2))
    h0 = np.full(8, 0.2)
    result = lyapunov(net, x, h0=h0, warmup=0, progress=False, return_details=True)
    J = jacobians(net, net.forward(x[:, None], h0=h0[None]))
    assert result.exponents.shape == (8,)
    assert np.all(np.diff(result.exponents) <= 0)
    np.testing.assert_allclose(result.sum, np.mean(np.linalg.slogdet(J)[1]), rtol=1e-10)


def test_untied_equals_tied_with_equal_layers():
    """An untied depth-L net whose layers share W gives the tied net's L-step exponents."""
    rng = np.random.default_rng(1)
    W, U = 1.2 * rng.normal(size=(5, 5)) / np.sqrt(5), rng.normal(size=(5, 1))
    tied = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=5, params={"W": W, "U": U})
    untied = gt.Network(
        gt.cells.elman("tanh"),
        n_in=1,
        n_hidden=5,
        tied=False,
        depth=50,
        params={"W": np.stack([W] * 50), "U": np.stack([U] * 50), "b": np.zeros((50, 5))},
    )
    h0 = np.full(5, 0.3)
    np.testing.assert_allclose(
        lyapunov(untied, h0=h0, progress=False),
        lyapunov(tied, steps=50, warmup=0, h0=h0, progress=False),
        rtol=1e-12,
    )


def test_batch_and_details():
    """B independent initial states: per-sequence exponents, their mean, blocks and stderr."""
    result = lyapunov(
        _logistic(4.0), steps=5000, batch=3, block=500, progress=False, return_details=True
    )
    assert result.per_sequence.shape == (3, 1) and result.finite_time.shape == (10, 1)
    np.testing.assert_allclose(result.exponents, result.per_sequence.mean(axis=0))
    assert result.warmup == 100 and result.steps == 5000 and np.all(result.stderr > 0)


def test_divergence_is_an_error_not_nan():
    """Logistic r = 4.5 escapes to -inf: a DivergenceError names the step, never a silent NaN."""
    with pytest.raises(DivergenceError, match="non-finite at step") as info:
        lyapunov(_logistic(4.5), steps=1000, progress=False)
    assert 0 < info.value.step < 100


def test_bad_arguments():
    """k > n_state, missing steps, short x and mismatched shapes raise ValueError."""
    net = _logistic(3.0)
    with pytest.raises(ValueError, match="k=2 exceeds"):
        lyapunov(net, steps=10, k=2, progress=False)
    with pytest.raises(ValueError, match="steps is required"):
        lyapunov(net, progress=False)
    with pytest.raises(ValueError, match="warmup"):
        lyapunov(
            gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2),
            np.zeros((10, 1)),
            warmup=10,
            progress=False,
        )
    with pytest.raises(ValueError, match="h0"):
        lyapunov(net, steps=10, h0=[0.1, 0.2], progress=False)
