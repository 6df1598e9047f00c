"""Tests for gradtheory.analysis.fixed_points: every fixed point, its stability, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq, root

import gradtheory as gt
from gradtheory.analysis._interval import enclose
from gradtheory.analysis._mapeval import MapEval
from gradtheory.analysis._solvers import roots_1d
from gradtheory.analysis._starts import odd_map
from gradtheory.analysis.fixed_points import fixed_points


def logistic(r: float) -> gt.Network:
    return gt.Network(gt.cells.custom("r*h*(1-h)", state="h", params={"r": r}))


def tanh_rnn(w, b=None) -> gt.Network:
    w = np.atleast_2d(np.asarray(w, float))
    n = w.shape[0]
    return gt.Network(
        gt.cells.elman("tanh"),
        n_in=0,
        n_hidden=n,
        params={"W": w, "b": np.zeros(n) if b is None else np.atleast_1d(b)},
    )


@pytest.mark.parametrize("r", [0.5, 2.8, 3.5, 3.9])
def test_logistic_fixed_points_exact(r):
    """Logistic map r h (1 - h): fixed points 0 and 1 - 1/r exactly, slopes r and 2 - r
    (lecture notes, iterated functions; algebra of h = r h (1 - h))."""
    fp = fixed_points(logistic(r), progress=False)
    np.testing.assert_allclose(fp.points[:, 0], np.sort([0.0, 1 - 1 / r]), rtol=0, atol=1e-13)
    slopes = {0.0: r, 1 - 1 / r: 2 - r}
    for point, eig in zip(fp.points[:, 0], fp.eigenvalues[:, 0], strict=True):
        expected = slopes[min(slopes, key=lambda k: abs(k - point))]
        assert abs(eig - expected) < 1e-10
    assert list(fp.stable) == [abs(slopes[k]) < 1 for k in sorted(slopes)]


def test_logistic_stability_at_2_8():
    """r = 2.8: 1 - 1/r is stable (|2 - r| = 0.8 < 1), 0 is unstable (slope 2.8)."""
    fp = fixed_points(logistic(2.8), progress=False)
    assert fp.kind == ["unstable", "stable"]
    assert fp.n_unstable.tolist() == [1, 0]


def test_tanh_unit_three_fixed_points():
    """h -> tanh(5 h): fixed points 0 (unstable, slope 5) and +-h*, h* = tanh(5 h*), stable
    (slope 5 (1 - h*^2) < 1); Pascanu et al. 2013, Sec. 2.2."""
    fp = fixed_points(tanh_rnn(5.0), progress=False)
    h_star = brentq(lambda h: np.tanh(5 * h) - h, 0.5, 1.0, xtol=1e-15)
    np.testing.assert_allclose(fp.points[:, 0], [-h_star, 0.0, h_star], atol=1e-12)
    assert fp.kind == ["stable", "unstable", "stable"]
    np.testing.assert_allclose(
        fp.eigenvalues[:, 0].real, [5 * (1 - h_star**2), 5, 5 * (1 - h_star**2)], rtol=1e-9
    )


def test_linear_saddle():
    """Linear map with W = diag(0.5, 2): the origin is a saddle with one unstable direction
    (eigenvalues 2 and 0.5)."""
    net = gt.Network(
        gt.cells.elman("linear"),
        n_in=0,
        n_hidden=2,
        params={"W": np.diag([0.5, 2.0]), "b": np.zeros(2)},
    )
    fp = fixed_points(net, progress=False)
    assert len(fp) == 1
    np.testing.assert_allclose(fp.points[0], 0.0, atol=1e-12)
    assert fp.kind == ["saddle"] and fp.n_unstable.tolist() == [1]
    np.testing.assert_allclose(fp.eigenvalues[0].real, [2.0, 0.5], atol=1e-12)


def test_two_unit_tanh_nine_fixed_points():
    """W = 2 I: each unit solves h = tanh(2 h) on its own (roots 0, +-h*), so 3 x 3 = 9 fixed
    points: 4 stable (both +-h*), 4 saddles (one 0), 1 unstable (origin, eigenvalues 2, 2)."""
    fp = fixed_points(tanh_rnn(2 * np.eye(2)), progress=False)
    h_star = brentq(lambda h: np.tanh(2 * h) - h, 0.5, 1.0, xtol=1e-15)
    assert len(fp) == 9
    expected = np.array([[a, b] for a in (-h_star, 0, h_star) for b in (-h_star, 0, h_star)])
    np.testing.assert_allclose(fp.points, expected, atol=1e-10)
    assert fp.kind.count("stable") == 4
    assert fp.kind.count("saddle") == 4
    assert fp.kind.count("unstable") == 1
    zeros = (np.abs(fp.points) < 1e-8).sum(axis=1)
    assert np.array_equal(fp.n_unstable, zeros)
    assert np.all(fp.q < 1e-20)


def test_gru_points_are_fixed_and_eigenvalues_match_finite_differences():
    """Sussillo and Barak 2013: a found point satisfies F(s) = s and its stability comes from
    the eigenvalues of dF/ds there (checked against central differences)."""
    net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=6, init="gaussian", gain=2.5, seed=3)
    x = np.array([0.3, -0.2])
    fp = fixed_points(net, x, n_starts=128, progress=False)
    assert len(fp) >= 1
    ev = MapEval(net, x)
    np.testing.assert_allclose(ev.value(fp.points), fp.points, atol=1e-10)
    for point, eig in zip(fp.points, fp.eigenvalues, strict=True):
        eps = 1e-6
        cols = [
            ev.value((point + eps * e)[None]) - ev.value((point - eps * e)[None]) for e in np.eye(6)
        ]
        jac = np.column_stack([c[0] / (2 * eps) for c in cols])
        fd = np.linalg.eigvals(jac)
        assert np.allclose(np.sort(np.abs(fd))[::-1], np.abs(eig), atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, gain=2.0),
        lambda: gt.Network(gt.cells.lstm(), n_in=2, n_hidden=3),
        lambda: gt.Network(
            gt.cells.custom(
                ["1 - a*x**2 + y + u", "b*x"],
                state=["x", "y"],
                inputs="u",
                params={"a": 1.4, "b": 0.3},
            )
        ),
    ],
    ids=["gru", "lstm", "henon"],
)
def test_vjp_is_jacobian_transpose(make):
    """The exact gradient of q uses J^T v from a reverse pass; it must equal the transpose of
    the step Jacobian from gradtheory.numeric.tangent."""
    net = make()
    rng = np.random.default_rng(0)
    ev = MapEval(net, rng.normal(size=net.n_in))
    s = rng.normal(size=(5, net.n_state)) * 0.5
    _, jac = ev.value_jac(s)
    _, entry = ev.value_entry(s)
    v = rng.normal(size=(5, net.n_state))
    np.testing.assert_allclose(ev.vjp(entry, v), np.einsum("bij,bi->bj", jac, v), atol=1e-12)


def test_tangent_touch_and_slow_point():
    """h -> h^2 + 1/4 touches the diagonal at h = 1/2 (double root, slope exactly 1: marginal);
    with + 1e-5 the touch is lost and h = 1/2 is a slow point with q = 1/2 (1e-5)^2."""
    touch = fixed_points(gt.Network(gt.cells.custom("h**2 + 0.25", state="h")), progress=False)
    assert len(touch) == 1
    assert abs(touch.points[0, 0] - 0.5) < 1e-7
    assert touch.marginal[0]
    miss = fixed_points(
        gt.Network(gt.cells.custom("h**2 + 0.25 + 0.00001", state="h")), progress=False
    )
    assert len(miss) == 0
    assert miss.slow_points.shape == (1, 1)
    np.testing.assert_allclose(miss.slow_points[0, 0], 0.5, atol=1e-7)
    np.testing.assert_allclose(miss.slow_q, [0.5e-10], rtol=1e-3)


def test_interval_is_respected():
    """A given interval restricts the 1-D search: only the positive root of h = tanh(5h) in
    [0.5, 2]."""
    fp = fixed_points(tanh_rnn(5.0), interval=(0.5, 2.0), progress=False)
    assert len(fp) == 1 and fp.points[0, 0] > 0.9


def test_bad_input():
    """Clear errors: starts with the wrong n_state or non-finite, untied networks, wrong x."""
    net = tanh_rnn(2 * np.eye(2))
    with pytest.raises(ValueError, match="n_state"):
        fixed_points(net, starts=np.zeros((4, 3)), progress=False)
    with pytest.raises(ValueError, match="NaN or Inf"):
        fixed_points(net, starts=np.full((4, 2), np.nan), progress=False)
    with pytest.raises(ValueError, match="interval"):
        fixed_points(net, interval=(0, 1), progress=False)
    with pytest.raises(ValueError, match="x must"):
        fixed_points(net, x=np.ones(3), progress=False)
    deep = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2, tied=False, depth=3)
    with pytest.raises(ValueError, match="tied"):
        fixed_points(deep, progress=False)


def test_line_attractor_is_marginal():
    """W = diag(1, 0.5): every (a, 0) is fixed with eigenvalues 1 and 0.5, a line attractor;
    points found there are flagged marginal (|lambda| = 1 within marginal_tol)."""
    net = gt.Network(
        gt.cells.elman("linear"),
        n_in=0,
        n_hidden=2,
        params={"W": np.diag([1.0, 0.5]), "b": np.zeros(2)},
    )
    fp = fixed_points(net, n_starts=32, progress=False)
    assert len(fp) > 1
    assert fp.marginal.all() and set(fp.kind) == {"stable"}
    np.testing.assert_allclose(fp.points[:, 1], 0.0, atol=1e-12)


# -- completeness: rounds, mirror images, the 1-D proof -------------------------------------


def ffp_network(n: int = 4) -> gt.Network:
    """The FixedPointFinder project's test network (Golub & Sussillo 2018): tanh, no bias,
    row i of W is -roll(linspace(-1, 1, n), -i)."""
    w = np.array([-np.roll(np.linspace(-1, 1, n), -i) for i in range(n)])
    return tanh_rnn(w)


@pytest.fixture(scope="module")
def ffp_reference() -> np.ndarray:
    """Every fixed point of the FixedPointFinder network by an independent solver: MINPACK's
    hybrid method (scipy.optimize.root) from all 5^4 starts of a grid on [-1, 1]^4."""
    w = ffp_network().params["W"]
    found: list[np.ndarray] = []
    for start in np.stack(np.meshgrid(*[np.linspace(-1, 1, 5)] * 4), -1).reshape(-1, 4):
        sol = root(
            lambda s: np.tanh(w @ s) - s,
            start,
            jac=lambda s: (1 - np.tanh(w @ s) ** 2)[:, None] * w - np.eye(4),
            tol=1e-14,
        )
        fixed = np.max(np.abs(np.tanh(w @ sol.x) - sol.x)) < 1e-12
        if fixed and not any(np.linalg.norm(sol.x - f) < 1e-6 for f in found):
            found.append(sol.x)
    return np.array(found)


@pytest.mark.parametrize("seed", range(20))
def test_defaults_find_every_fixed_point(seed, ffp_reference):
    """Issue 10: with defaults, h -> tanh(2h) in 3 units has all 3^3 = 27 fixed points
    (coordinates 0, +-h*, h* = tanh(2 h*) by brentq; a coordinate at 0 has eigenvalue 2, at
    +-h* 2 (1 - h*^2) < 1, so 8 stable, 18 saddles, 1 unstable), and the FixedPointFinder
    network all 9 points that an independent solver finds, for seeds 0-19."""
    fp = fixed_points(tanh_rnn(2 * np.eye(3)), seed=seed, progress=False)
    h_star = brentq(lambda h: np.tanh(2 * h) - h, 0.5, 1.0, xtol=1e-15)
    axis = (-h_star, 0.0, h_star)
    expected = np.array([[a, b, c] for a in axis for b in axis for c in axis])
    assert len(fp) == 27
    np.testing.assert_allclose(fp.points, expected, atol=1e-10)
    assert [fp.kind.count(k) for k in ("stable", "saddle", "unstable")] == [8, 18, 1]
    assert np.array_equal(fp.n_unstable, (np.abs(fp.points) < 1e-8).sum(axis=1))
    assert not fp.exhaustive and fp.mirrored and fp.rounds_without_new == 1
    assert fp.n_starts == 256 * fp.rounds

    fp = fixed_points(ffp_network(), seed=seed, progress=False)
    assert len(fp) == len(ffp_reference) == 9
    distance = np.linalg.norm(fp.points[:, None] - ffp_reference[None], axis=-1)
    assert np.all(distance.min(axis=1) < 1e-10) and np.all(distance.min(axis=0) < 1e-10)


def test_mirror_needs_an_odd_map():
    """F(-s) = -F(s) is tested on the map, never read off the activation's name: the same tanh
    cell is odd with no bias and no input, not odd with a bias or with an input (U x), and a
    sigmoid cell with no bias is not odd. Only the odd map gets mirror images."""
    w = 2 * np.eye(3)
    odd = fixed_points(tanh_rnn(w), progress=False)
    biased = fixed_points(tanh_rnn(w, b=[0.1, 0.0, 0.0]), progress=False)
    assert odd.mirrored and odd.info["n_mirrored"] > 0
    assert not biased.mirrored and biased.info["n_mirrored"] == 0
    driven = gt.Network(
        gt.cells.elman("tanh"),
        n_in=1,
        n_hidden=3,
        params={"W": w, "U": np.ones((3, 1)), "b": np.zeros(3)},
    )
    assert odd_map(MapEval(driven, np.zeros(1)))
    assert not odd_map(MapEval(driven, np.array([0.2])))
    sigmoid = gt.Network(
        gt.cells.elman("sigmoid"), n_in=0, n_hidden=3, params={"W": w, "b": np.zeros(3)}
    )
    assert not odd_map(MapEval(sigmoid))
    assert not fixed_points(sigmoid, progress=False).mirrored


def test_mirror_images_are_fixed_points():
    """A mirror image is kept only once polished to q < tol_q: forcing symmetry=True on a map
    that is not odd (bias 0.1) adds no point that is not fixed."""
    net = tanh_rnn(2 * np.eye(3), b=[0.1, 0.0, 0.0])
    fp = fixed_points(net, symmetry=True, progress=False)
    np.testing.assert_allclose(MapEval(net).value(fp.points), fp.points, atol=1e-10)
    reference = fixed_points(net, symmetry=False, progress=False)
    assert len(fp) == len(reference)


def test_round_cap_is_reported():
    """max_rounds caps the search; a line attractor (W = diag(1, 0.5): every (a, 0) is fixed)
    gives new points in every round, so the cap stops it and rounds_without_new = 0 says the
    list may be partial."""
    net = gt.Network(
        gt.cells.elman("linear"),
        n_in=0,
        n_hidden=2,
        params={"W": np.diag([1.0, 0.5]), "b": np.zeros(2)},
    )
    fp = fixed_points(net, n_starts=16, max_rounds=3, progress=False)
    assert fp.rounds == 3 and fp.rounds_without_new == 0 and not fp.exhaustive
    assert fp.n_starts >= 3 * 16
    with pytest.raises(ValueError, match="max_rounds"):
        fixed_points(net, max_rounds=0, progress=False)


def test_one_dimensional_search_is_a_proof():
    """.exhaustive is True for 1-D maps whose search interval is proved free of other roots:
    tanh(5h) (3 roots), the logistic map, a sigmoid unit with bias and input; False for the
    tangent root of h^2 + 1/4 (no cell can be proved to hold exactly one root) and for an
    expression the interval evaluator cannot bound (sin)."""
    sigmoid = gt.Network(
        gt.cells.elman("sigmoid"),
        n_in=1,
        n_hidden=1,
        params={"W": [[8.0]], "U": [[1.0]], "b": [-4.5]},
    )
    for net, x, count in [
        (tanh_rnn(5.0), None, 3),
        (logistic(2.8), None, 2),
        (sigmoid, np.array([0.5]), 3),
    ]:
        fp = fixed_points(net, x, progress=False)
        assert len(fp) == count and fp.exhaustive
    touch = fixed_points(gt.Network(gt.cells.custom("h**2 + 0.25", state="h")), progress=False)
    assert len(touch) == 1 and not touch.exhaustive
    wavy = gt.Network(gt.cells.custom("0.5*sin(3*h)", state="h"))
    assert not fixed_points(wavy, progress=False).exhaustive
    # the identity: every point is fixed, every grid point is listed, nothing is proved
    identity = fixed_points(one_unit("linear", 1.0, 0.0), grid=2001, progress=False)
    assert len(identity) == 2001 and not identity.exhaustive


def test_proof_finds_roots_between_grid_points():
    """h -> h + 1e-8 - (h - 0.3)^2 has fixed points 0.3 +- 1e-4 (algebra), closer together
    than the default grid spacing (about 5e-4): on this grid no sign change shows and the
    grid search alone finds none; the proof's cells hold them and brentq finds both."""
    net = gt.Network(gt.cells.custom("h + 1e-8 - (h - 0.3)**2", state="h"))
    fp = fixed_points(net, progress=False)
    grid_only, _ = roots_1d(MapEval(net), fp.info["interval"], touch_tol=np.sqrt(2e-20))
    assert len(grid_only) == 0
    np.testing.assert_allclose(fp.points[:, 0], [0.3 - 1e-4, 0.3 + 1e-4], rtol=0, atol=1e-12)
    assert fp.exhaustive and fp.kind == ["unstable", "stable"]


def one_unit(activation: str, w: float, b: float, u: float = 0.0) -> gt.Network:
    return gt.Network(
        gt.cells.elman(activation),
        n_in=1,
        n_hidden=1,
        params={"W": [[w]], "U": [[u]], "b": [b]},
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: one_unit("tanh", 5.0, 0.3, 1.0),
        lambda: one_unit("sigmoid", -7.0, 2.0, 0.5),
        lambda: one_unit("relu", 1.5, -0.2, 1.0),
        lambda: one_unit("hardtanh", 2.5, 0.1, -1.0),
        lambda: gt.Network(gt.cells.gru(), n_in=1, n_hidden=1, gain=2.0, seed=1),
        lambda: gt.Network(gt.cells.highway("tanh"), n_in=1, n_hidden=1, gain=2.0, seed=2),
        lambda: gt.Network(
            gt.cells.custom("r*h*(1 - h)**3 + u", "h", inputs="u", params={"r": 3.7})
        ),
    ],
    ids=["tanh", "sigmoid", "relu", "hardtanh", "gru", "highway", "polynomial"],
)
def test_interval_enclosures_contain_the_map(make):
    """The 1-D proof rests on enclose(): on every cell [a, b] the enclosures of F and dF/ds
    must contain F and the step Jacobian (gradtheory.numeric.tangent) at points inside the
    cell. Checked at 9 points of 200 random cells of widths 1e-6 to 1 (tolerance 1e-13
    relative: the oracle's own rounding)."""
    net = make()
    x = np.array([0.4])
    rng = np.random.default_rng(0)
    lo = rng.uniform(-3, 3, 200)
    hi = lo + 10.0 ** rng.uniform(-6, 0, 200)
    (f_lo, f_hi), (d_lo, d_hi) = enclose(net, x, lo, hi)
    inside = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, 9)[None]
    value, jac = MapEval(net, x).value_jac(inside.reshape(-1, 1))
    value, jac = value.reshape(200, 9), jac.reshape(200, 9)
    slack = 1e-13 * (1 + np.abs(value))
    assert np.all((f_lo[:, None] - slack <= value) & (value <= f_hi[:, None] + slack))
    slack = 1e-13 * (1 + np.abs(jac))
    assert np.all((d_lo[:, None] - slack <= jac) & (jac <= d_hi[:, None] + slack))


def test_proof_agrees_with_a_dense_grid():
    """Where .exhaustive is True the list must be every fixed point. Oracle: tanh(w s + c) - s
    written in NumPy on a grid of 10^6 points of [-1, 1] (all fixed points of a tanh unit lie
    there) refined by brentq, for 20 random units (w in [-6, 6], c in [-1, 1])."""
    rng = np.random.default_rng(1)
    grid = np.linspace(-1.0, 1.0, 1_000_001)
    proved = 0
    for w, c in zip(rng.uniform(-6, 6, 20), rng.uniform(-1, 1, 20), strict=True):
        fp = fixed_points(one_unit("tanh", w, c), progress=False)
        g = np.tanh(w * grid + c) - grid
        brackets = np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)
        oracle = [
            brentq(lambda s, w=w, c=c: np.tanh(w * s + c) - s, grid[i], grid[i + 1])
            for i in brackets
        ]
        if fp.exhaustive:
            proved += 1
            np.testing.assert_allclose(fp.points[:, 0], oracle, rtol=0, atol=1e-12)
    assert proved >= 18
