"""Tests for orbits, attractors, bifurcation diagrams and basins (gradtheory.analysis.maps,
bifurcation, basins) against closed forms for the logistic map and tanh units."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.analysis.basins import basins
from gradtheory.analysis.bifurcation import bifurcation
from gradtheory.analysis.maps import attractor, cobweb, orbit

W = 5.0
B_C = W * np.sqrt(1 - 1 / W) - np.arctanh(np.sqrt(1 - 1 / W))  # saddle node: w (1 - h^2) = 1


def logistic(r: float) -> gt.Network:
    return gt.Network(gt.cells.custom("r*h*(1-h)", state="h", params={"r": r}))


def tanh_rnn(w, n_in=0) -> gt.Network:
    w = np.atleast_2d(np.asarray(w, float))
    n = w.shape[0]
    params = {"W": w, "b": np.zeros(n)}
    if n_in:
        params["U"] = np.ones((n, n_in))
    return gt.Network(gt.cells.elman("tanh"), n_in=n_in, n_hidden=n, params=params)


def test_orbit_matches_forward_and_batches():
    """An orbit is the network run on constant input: same states as net.forward."""
    net = tanh_rnn([[0.9, -0.4], [0.3, 1.1]], n_in=2)
    x = np.array([0.1, -0.2])
    h0 = np.array([[0.5, -0.5], [0.1, 0.2], [0.0, 1.0]])
    states = orbit(net, h0, 20, x)
    ref = net.forward(np.broadcast_to(x, (20, 3, 2)), h0=h0).states
    assert states.shape == (21, 3, 2)
    np.testing.assert_allclose(states, ref, atol=1e-14)
    assert orbit(net, h0[0], 5, x).shape == (6, 2)


def test_logistic_four_cycle_at_3_5():
    """Lecture notes' f(x) = 3.5 x (1 - x): the attractor is a 4-cycle whose points are the
    real roots of the degree-16 polynomial f^4(x) - x that are not roots of f^2(x) - x.
    numpy.roots gives them to ~1e-6 (the monomial form cancels badly), so each is polished by
    Newton on the same polynomial evaluated as the composition f(f(f(f(x)))) - x."""
    r = 3.5
    f = np.poly1d([-r, r, 0.0])
    f2 = f(f)
    p = f2(f2) - np.poly1d([1.0, 0.0])
    roots = np.roots(p.coeffs)
    real = roots[np.abs(roots.imag) < 1e-6].real
    for _ in range(8):
        value, slope = real.copy(), np.ones_like(real)
        for _ in range(4):
            value, slope = f(value), slope * np.polyval(f.deriv().coeffs, value)
        real = real - (value - real) / (slope - 1)
    four = np.sort(real[np.abs(f2(real) - real) > 1e-6])
    assert len(four) == 4
    att = attractor(logistic(r), [0.2])
    assert att.kind == "cycle" and att.period == 4
    np.testing.assert_allclose(np.sort(att.points[:, 0]), four, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        att.points[1:, 0], r * att.points[:-1, 0] * (1 - att.points[:-1, 0]), atol=1e-12
    )
    assert att.lyapunov < 0


def test_logistic_fixed_point_at_2_8():
    """r = 2.8: orbits converge to 1 - 1/r, exponent ln|f'| = ln|2 - r| = ln 0.8."""
    att = attractor(logistic(2.8), [0.1])
    assert att.kind == "fixed_point" and att.period == 1
    np.testing.assert_allclose(att.points[0, 0], 1 - 1 / 2.8, atol=1e-12)
    np.testing.assert_allclose(att.lyapunov, np.log(0.8), atol=1e-9)


def test_logistic_two_cycle_at_3_2():
    """r = 3.2: 2-cycle at (r + 1 +- sqrt((r - 3)(r + 1))) / (2 r); multiplier
    f'(p1) f'(p2) = 4 + 2r - r^2, so the exponent is ln(4 + 2r - r^2) / 2."""
    r = 3.2
    att = attractor(logistic(r), [0.3])
    assert att.kind == "cycle" and att.period == 2
    root = np.sqrt((r - 3) * (r + 1))
    np.testing.assert_allclose(
        np.sort(att.points[:, 0]), [(r + 1 - root) / (2 * r), (r + 1 + root) / (2 * r)], atol=1e-12
    )
    np.testing.assert_allclose(att.lyapunov, 0.5 * np.log(abs(4 + 2 * r - r * r)), atol=1e-9)


def test_logistic_chaos_at_4():
    """r = 4: chaotic, with Lyapunov exponent ln 2 (Ulam and von Neumann)."""
    att = attractor(logistic(4.0), [0.123], lyap_steps=4000)
    assert att.kind == "chaos" and att.period == 0
    assert abs(att.lyapunov - np.log(2)) < 0.06
    assert np.all((att.points >= 0) & (att.points <= 1))


def test_divergence_is_reported_not_nan():
    """h -> 2 h + 1 escapes to infinity (h_t = 2^t - 1 from 0): 'divergent', exponent ln 2,
    no NaN anywhere; orbit warns and marks later states +inf."""
    net = gt.Network(gt.cells.custom("2*h + 1", state="h"))
    att = attractor(net, [0.0])
    assert att.kind == "divergent" and att.diverged_at is not None
    np.testing.assert_allclose(att.lyapunov, np.log(2), atol=1e-12)
    with pytest.warns(RuntimeWarning, match="diverged"):
        states = orbit(net, [0.0], 100, bound=1e6)
    assert not np.isnan(states).any()
    np.testing.assert_allclose(states[:20, 0], 2.0 ** np.arange(20) - 1)
    assert np.all(states[21:] == np.inf)
    slow = attractor(gt.Network(gt.cells.custom("h + 1", state="h")), [0.0])
    assert slow.kind == "divergent"


def test_cobweb_segments():
    """Cobweb: alternating vertical (h_t, h_t) -> (h_t, h_{t+1}) and horizontal segments."""
    web = cobweb(logistic(2.8), 0.1, 30)
    seg = web["segments"]
    assert seg.shape == (60, 2, 2)
    np.testing.assert_allclose(seg[0::2, 0, 0], seg[0::2, 1, 0])  # vertical
    np.testing.assert_allclose(seg[1::2, 0, 1], seg[1::2, 1, 1])  # horizontal
    np.testing.assert_allclose(web["orbit"][1:], 2.8 * web["orbit"][:-1] * (1 - web["orbit"][:-1]))
    with pytest.raises(ValueError, match="one-dimensional"):
        cobweb(tanh_rnn(np.eye(2)), [0.1, 0.2], 5)


@pytest.mark.parametrize("via_input", [False, True], ids=["param b", "input x"])
def test_single_unit_hysteresis(via_input):
    """Pascanu et al. 2013, Sec. 2.2 / Fig. 3: h -> tanh(5 h + b) has two stable fixed points
    for |b| < b_c, b_c from the saddle node w (1 - h^2) = 1; sweeping b up (from h = -1) and
    down (continuing) jumps at +b_c and -b_c: a hysteresis loop."""
    values = np.linspace(-4.5, 4.5, 91)
    step = values[1] - values[0]
    net, param = (tanh_rnn(W, n_in=1), "x") if via_input else (tanh_rnn(W), "b")
    bif = bifurcation(net, param, values, h0=[-1.0], transient=150, keep=8, progress=False)
    inside = np.abs(values) < B_C
    assert np.array_equal(bif.n_stable, np.where(inside, 2, 1))
    window = values[bif.n_stable == 2]
    assert abs(window.max() - B_C) < step and abs(window.min() + B_C) < step
    up, down = bif.up.final[:, 0], bif.down.final[::-1, 0]
    assert np.array_equal(up > 0, values > B_C)
    assert np.array_equal(down < 0, values < -B_C)
    assert all(k == "fixed_point" for k in bif.up.kind + bif.down.kind)
    stable = [br for br in bif.branches if br.stable.all()]
    unstable = [br for br in bif.branches if not br.stable.any()]
    assert len(stable) == 2 and len(unstable) == 1
    for br in stable:  # each stable branch ends (or starts) one grid step before the fold
        end = br.values[-1] if br.points[0, 0] < 0 else br.values[0]
        assert abs(abs(end) - B_C) < step
    h = unstable[0].points[:, 0]
    assert np.all(W * (1 - h**2) > 1)


def test_logistic_bifurcation_branches_and_samples():
    """Logistic map over r: branch 0 stable for r <= 1, branch 1 - 1/r for 1 <= r <= 3
    (|slope| <= 1); samples show a 2-cycle at r = 3.2 and a 4-cycle at r = 3.5 (period doubling)."""
    rs = np.round(np.linspace(0.5, 3.5, 61), 12)
    bif = bifurcation(logistic(3.0), "r", rs, h0=[0.2], sweep="up", keep=64, progress=False)
    assert len(bif.branches) == 2
    for br in bif.branches:
        p = br.points[:, 0]
        if np.allclose(p, 0, atol=1e-12):
            assert np.array_equal(br.stable, br.values <= 1)  # slope r; r = 1 is marginal
        else:
            np.testing.assert_allclose(p, 1 - 1 / br.values, atol=1e-12)
            assert np.array_equal(br.stable, (br.values >= 1) & (br.values <= 3))
    assert bif.up.period[rs == 3.2].item() == 2 and bif.up.period[rs == 3.5].item() == 4
    at_35 = bif.up.states[bif.up.param == 3.5]
    assert len(np.unique(np.round(at_35, 8))) == 4


def test_sweep_finite_time_lyapunov():
    """Sweep.lyapunov is (1/keep) ln||ds_T/ds_{T-keep}||: ln|2 - r| at the logistic fixed point
    (r = 2.8), ln 2 in the chaos at r = 4 (lecture notes 001), ln|f'(a) f'(b)| / 2 on the 2-cycle
    at r = 3.2; for a linear 2-D map diag(0.5, 0.8) exactly ln 0.8 (largest exponent)."""
    rs = np.array([2.8, 3.2, 4.0])
    only_up = {"sweep": "up", "branches": False, "progress": False}
    up = bifurcation(logistic(3.0), "r", rs, h0=[0.2], transient=500, keep=4000, **only_up).up
    assert up.lyapunov.shape == (3,)
    assert up.lyapunov[0] == pytest.approx(np.log(0.8), abs=1e-10)
    a, b = up.states[up.param == 3.2][-2:, 0]
    assert up.lyapunov[1] == pytest.approx(np.log(abs(3.2**2 * (1 - 2 * a) * (1 - 2 * b))) / 2)
    assert abs(up.lyapunov[2] - np.log(2)) < 0.03
    linear = gt.Network(
        gt.cells.elman("linear"),
        n_in=0,
        n_hidden=2,
        params={"W": np.diag([0.5, 0.8]), "b": np.zeros(2)},
    )
    flat = bifurcation(linear, "b", [0.0, 0.1], h0=[1.0, 1.0], keep=50, **only_up).up
    np.testing.assert_allclose(flat.lyapunov, np.log(0.8), rtol=1e-12)
    with pytest.raises(ValueError, match="keep"):
        bifurcation(logistic(3.0), "r", rs, h0=[0.2], keep=0, progress=False)


def test_basins_of_two_unit_network():
    """W = 2 I: four stable fixed points (+-h*, +-h*), basins = the four quadrants, separated
    along the axes (stable manifolds of the saddles). Lecture notes: the gradient
    ||ds_T/ds_0|| is larger near basin boundaries than inside basins (medians compared)."""
    net = tanh_rnn(2 * np.eye(2))
    grid = np.linspace(-1, 1, 50)  # no grid point on an axis
    result = basins(net, grid, grid, steps=20)
    assert result.attractors.shape == (4, 2)
    np.testing.assert_allclose(np.abs(result.attractors), 0.957504, atol=1e-5)
    xx, yy = np.meshgrid(grid, grid)
    quadrant = np.sign(result.attractors[result.labels])
    assert np.array_equal(quadrant[..., 0], np.sign(xx))
    assert np.array_equal(quadrant[..., 1], np.sign(yy))
    edge = (np.abs(xx) < 0.05) | (np.abs(yy) < 0.05)
    inside = (np.abs(xx) > 0.4) & (np.abs(yy) > 0.4)
    assert np.median(result.log_gradient[edge]) > np.median(result.log_gradient[inside]) + 2.0
    assert np.all(np.isfinite(result.log_gradient))
    # boundary: the cells next to the axes (indices 24, 25); distance in cells to the nearest
    axis_cell = np.isin(np.arange(50), [24, 25])
    assert np.array_equal(result.boundary, axis_cell[None, :] | axis_cell[:, None])
    dist = result.boundary_distance
    assert dist[0, 0] == 24 and dist[24, 0] == 0 and dist[10, 3] == min(24 - 10, 24 - 3)
    # final is s_T, the state after ``steps`` (not after the labelling window)
    np.testing.assert_allclose(
        result.final[24, 24], orbit(net, [grid[24], grid[24]], 20)[-1], rtol=0, atol=1e-14
    )
    given = basins(net, grid, grid, steps=20, attractors=result.attractors[:2], gradient=False)
    assert set(np.unique(given.labels)) == {-1, 0, 1}


def test_basins_log_gradient_exact_for_linear_map():
    """Linear map W = diag(0.5, 0.8): ds_T/ds_0 = W^T, so ln||.||_2 = T ln 0.8 everywhere."""
    net = gt.Network(
        gt.cells.elman("linear"),
        n_in=0,
        n_hidden=2,
        params={"W": np.diag([0.5, 0.8]), "b": np.zeros(2)},
    )
    result = basins(net, np.linspace(-1, 1, 5), np.linspace(-1, 1, 4), steps=300)
    np.testing.assert_allclose(result.log_gradient, 300 * np.log(0.8), rtol=1e-12)
    assert result.labels.shape == (4, 5) and np.all(result.labels == 0)
    assert not result.boundary.any() and np.all(np.isinf(result.boundary_distance))


def test_bad_input():
    """Clear ValueErrors: non-finite or mis-shaped h0, basins of a non-planar map, bad sweep."""
    net = logistic(3.5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        attractor(net, [np.nan])
    with pytest.raises(ValueError, match="n_state"):
        attractor(net, [0.1, 0.2])
    with pytest.raises(ValueError, match="n_state"):
        orbit(tanh_rnn(np.eye(2)), [0.1, 0.2, 0.3], 4)
    with pytest.raises(ValueError, match="two-dimensional"):
        basins(net, np.linspace(0, 1, 3), np.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="two-dimensional"):
        basins(tanh_rnn(np.eye(3)), np.linspace(0, 1, 3), np.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="sweep"):
        bifurcation(net, "r", [3.0, 3.5], h0=[0.2], sweep="sideways", progress=False)
    with pytest.raises(ValueError, match="param"):
        bifurcation(net, "q", [3.0, 3.5], h0=[0.2], progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert attractor(net, [0.2]).period == 4


def test_rotation_quasi_periodic_and_cycle():
    """Rotation of the unit circle by angle a: irrational a/2pi gives quasi-periodic motion
    (exponent 0, no period); a = 2 pi / 6 gives a 6-cycle on the circle."""
    update = [
        "(cos(a)*x - sin(a)*y)/sqrt(x**2 + y**2)",
        "(sin(a)*x + cos(a)*y)/sqrt(x**2 + y**2)",
    ]

    def rotation(a):
        return gt.Network(gt.cells.custom(update, state=["x", "y"], params={"a": a}))

    quasi = attractor(rotation(1.0), [0.5, 0.1])
    assert quasi.kind == "quasi_periodic" and quasi.period == 0
    assert abs(quasi.lyapunov) < 1e-3
    six = attractor(rotation(2 * np.pi / 6), [0.5, 0.1])
    assert six.kind == "cycle" and six.period == 6
    np.testing.assert_allclose(np.linalg.norm(six.points, axis=1), 1.0, atol=1e-12)
