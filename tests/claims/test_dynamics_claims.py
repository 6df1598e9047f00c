"""Fast checks of the dynamical-systems claims: each asserts the claim's key fact at a tiny size."""

from __future__ import annotations

import numpy as np
import pytest

from gradtheory.analysis.basins import basins
from gradtheory.analysis.bifurcation import bifurcation
from gradtheory.analysis.fixed_points import fixed_points
from gradtheory.analysis.maps import attractor
from gradtheory.cells import elman
from gradtheory.claims import (
    basins_gradient,
    chain_rule,
    logistic_map,
    loss_cliff,
    lyapunov_gain,
    mean_field_phase,
    single_unit_bifurcation,
)
from gradtheory.numeric.network import Network


def test_mean_field_phase_sign_follows_chi1():
    """Poole et al. 2016 / Schoenholz et al. 2017: per-layer gradient growth is 1/2 ln chi_1,
    negative in the ordered phase (sigma_w^2 = 1) and positive in the chaotic one (3)."""
    checks = [mean_field_phase.deep_check(w, 0.05, 15, 60, 4, 0) for w in (1.0, 3.0)]
    sweep = {"predicted": np.array([c.predicted.rate for c in checks]),
             "measured": np.array([c.measured_rate for c in checks])}  # fmt: skip
    assert sweep["predicted"][0] < -0.1 and sweep["predicted"][1] > 0.05
    assert sweep["measured"][0] < -0.08 and sweep["measured"][1] > 0.03
    assert np.all(np.abs(sweep["measured"] - sweep["predicted"]) < 0.06)


def test_loss_cliff_gradient_wall_and_clipping():
    """Lecture notes 001 / Pascanu et al. 2013: |dL/db| at the cliff is >= 1000x the plateau's;
    unclipped descent is thrown far away, clipped descent stays near the cliff edge."""
    grid = np.linspace(2.5, 3.35, 1500)
    _, grad = loss_cliff.loss_curve(grid)
    plateau = np.median(np.abs(grad[grid < 2.8]))
    assert np.abs(grad).max() > 1e3 * plateau
    plain = loss_cliff.descend(2.6, 2.0, 30)
    clipped = loss_cliff.descend(2.6, 2.0, 30, clip=0.02)
    assert np.abs(plain["b"][-1]) > 50
    assert 2.9 < clipped["b"][-1] < 3.2 and clipped["loss"][-1] < 0.01


@pytest.mark.parametrize("activation, bound", [("tanh", 1.0), ("sigmoid", 0.25), ("relu", 1.0)])
def test_chain_rule_factor_bounds(activation, bound):
    """Lecture notes 002: the per-step factor phi'(a) is <= 1 for tanh, <= 1/4 for sigmoid,
    in {0, 1} for ReLU; the product of factors equals the BPTT gradient dh_n/dh_0."""
    factors, bptt = chain_rule.step_factors(activation, steps=20, batch=50, seed=0)
    assert factors.max() <= bound + 1e-12 and factors.min() >= 0
    if activation == "relu":
        assert set(np.unique(factors)) <= {0.0, 1.0}
    np.testing.assert_allclose(np.prod(factors, axis=0), bptt, rtol=1e-10, atol=1e-300)


def test_chain_rule_symbolic_sum_has_three_paths():
    """Lecture notes 002: dh_3/dw is a sum of three products (one per step k = 1, 2, 3)."""
    import sympy as sp

    from gradtheory.symbolic.unroll import unroll

    unrolled = unroll(elman("tanh"), 3)
    dw_line = sp.latex(unrolled.gradient("w"))
    assert dw_line.count("+") == 2 and "h_{0}" in dw_line
    assert "w" in unrolled.latex()


def test_lyapunov_sign_changes_with_gain():
    """Sompolinsky et al. 1988 (discrete time): lambda_1 < 0 at g = 0.5, > 0 at g = 2, and the
    BPTT adjoint norm grows at lambda_1 per step back."""
    low = lyapunov_gain.measure(0.5, 60, [0], 200, 150, warmup=50)
    high = lyapunov_gain.measure(2.0, 60, [0], 200, 150, warmup=50)
    assert low["lyapunov"] < -0.3 and high["lyapunov"] > 0.05
    assert abs(low["bptt"] - low["lyapunov"]) < 0.03
    assert abs(high["bptt"] - high["lyapunov"]) < 0.03


def test_logistic_map_four_cycle_and_chaos():
    """Lecture notes 001: 3.5 x (1 - x) converges to an attracting 4-cycle (0.3828, 0.5009,
    0.8269, 0.8750); at r = 4 the finite-time Lyapunov exponent is ln 2 (within 0.05)."""
    lam = bifurcation(
        logistic_map.logistic,
        "r",
        [3.5, 4.0],
        h0=[0.2],
        transient=500,
        keep=2500,
        sweep="up",
        branches=False,
        progress=False,
    ).up.lyapunov  # mean ln|f'(x_t)| over steps 500..2999, as logs[500:].mean()
    cycle = attractor(logistic_map.logistic(3.5), [0.2])
    assert cycle.kind == "cycle" and cycle.period == 4
    np.testing.assert_allclose(
        np.sort(cycle.points[:, 0]), [0.38282, 0.50088, 0.82694, 0.87500], atol=1e-4
    )
    assert lam[0] < -0.5
    assert abs(lam[1] - np.log(2)) < 0.05


def test_single_unit_hysteresis_and_gradient_peak():
    """Pascanu et al. 2013, Sec. 2.2: with w = 5 the slow sweep jumps at b = +-b_c (3.029) and
    dh_T/db near b_c exceeds its value deep inside the bistable window by > 1e3."""
    net = Network(elman("tanh"), 1, 1, params=single_unit_bifurcation.PARAMS)
    grid = np.linspace(-5, 5, 201)
    bif = bifurcation(
        net, "x", grid, h0=[-1.0], transient=56, keep=4, branches=False, progress=False
    )
    up, down = bif.up.final[:, 0], bif.down.final[::-1, 0]
    assert abs(grid[np.argmax(up > 0)] - 3.029) < 0.1
    assert abs(grid[np.flatnonzero(down < 0)[-1]] + 3.029) < 0.1
    grad = single_unit_bifurcation.gradient_at(net, np.array([-1.0, 3.0]), 60, -1.0)
    assert abs(grad[1]) > 1e3 * abs(grad[0])


def test_basins_gradient_boundary_much_larger():
    """Lecture notes 001: ||dh_T/dh_0|| is orders of magnitude larger on basin boundaries than
    inside basins (median over a coarse grid, > 1e3)."""
    params = {"W": basins_gradient.W, "U": [[0.0], [0.0]], "b": basins_gradient.B}
    net = Network(elman("tanh"), n_in=1, n_hidden=2, params=params)
    fps = fixed_points(net, progress=False)
    attractors = fps.points[fps.stable]
    assert len(attractors) == 4
    grid = np.linspace(-1.5, 1.5, 61)
    m = basins(net, grid, grid, steps=30, attractors=attractors)
    inside = m.boundary_distance > 3
    assert np.median(m.log10_gradient[m.boundary]) > np.median(m.log10_gradient[inside]) + 3
