"""Parameter batches (``net.vary``) and the compiled (numba) loops against the NumPy path.

Facts checked: K systems give the results of K separate calls (same arithmetic per system, so
to 1e-12); the compiled step and Jacobian generated from the derivation equal the NumPy
executor's (oracle: the NumPy kernels, themselves checked against finite differences and
autograd in tests/numeric); textbook values hold on both paths (logistic r = 4: ln 2; r = 3.5:
4-cycle with lambda = -0.8725; Hénon (1.4, 0.3): lambda_1 = 0.4192 (Sprott 2003, App. A) and
lambda_1 + lambda_2 = ln 0.3 exactly, since det J = -b).
"""

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.analysis._mapeval import MapEval


@pytest.fixture(params=["1", "0"], ids=["compiled", "numpy"])
def jit(request, monkeypatch):
    monkeypatch.setenv("GRADTHEORY_JIT", request.param)
    return request.param == "1"


def logistic(r=3.5):
    return gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": r}))


def henon():
    return gt.Network(
        gt.cells.custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    )


def test_lyapunov_vary_equals_separate_calls(jit):
    """(K, k) exponents, each row equal to its own call (1e-12: same arithmetic per system)."""
    R = np.array([2.8, 3.5, 3.83, 4.0])
    batch = gt.lyapunov(logistic().vary(r=R), steps=3000, warmup=200, progress=False)
    assert batch.shape == (4, 1)
    for r, row in zip(R, batch, strict=True):
        alone = gt.lyapunov(logistic(r), steps=3000, warmup=200, progress=False)
        np.testing.assert_allclose(row, alone, rtol=0, atol=1e-12)
    # r = 2.8: stable fixed point 1 - 1/r, lambda = ln|2 - r|; r = 4: ln 2 within 3 stderr
    assert batch[0, 0] == pytest.approx(np.log(0.8), abs=1e-9)
    assert batch[1, 0] == pytest.approx(-0.8725, abs=1e-3)
    details = gt.lyapunov(
        logistic(4.0).vary(r=[4.0]), steps=20000, progress=False, return_details=True
    )
    assert abs(details.exponents[0, 0] - np.log(2)) < 3 * details.stderr[0, 0] + 1e-3


def test_henon_spectrum_both_paths(jit):
    """Hénon (1.4, 0.3): lambda_1 = 0.4192 +- 3 stderr and the sum equal to ln 0.3."""
    result = gt.lyapunov(henon(), steps=50_000, h0=[0.1, 0.1], progress=False, return_details=True)
    assert abs(result.exponents[0] - 0.41922) < 3 * result.stderr[0] + 2e-3
    assert result.sum == pytest.approx(np.log(0.3), abs=1e-10)


def test_compiled_and_numpy_paths_agree(monkeypatch):
    """Chaotic orbit of a polynomial map: both paths to 1e-12 over 2000 steps of Hénon."""
    monkeypatch.setenv("GRADTHEORY_JIT", "1")
    fast = gt.lyapunov(henon(), steps=2000, h0=[0.1, 0.1], progress=False)
    orbit_fast = gt.orbit(henon(), [0.1, 0.1], 50)
    monkeypatch.setenv("GRADTHEORY_JIT", "0")
    slow = gt.lyapunov(henon(), steps=2000, h0=[0.1, 0.1], progress=False)
    orbit_slow = gt.orbit(henon(), [0.1, 0.1], 50)
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    np.testing.assert_allclose(orbit_fast, orbit_slow, atol=1e-12)


@pytest.mark.parametrize(
    ("cell", "n_in", "n_hidden"),
    [(gt.cells.elman("tanh"), 1, 3), (gt.cells.lstm(), 1, 2), (gt.cells.gru(), 2, 2)],
    ids=["elman", "lstm", "gru"],
)
def test_compiled_step_and_jacobian_match_numpy(monkeypatch, cell, n_in, n_hidden):
    """Generated numba step and Jacobian equal the NumPy executor's to 1e-13."""
    net = gt.Network(cell, n_in=n_in, n_hidden=n_hidden, gain=1.5, sigma_b2=0.1, seed=3)
    states = np.random.default_rng(0).uniform(-1, 1, (5, net.n_state))
    x = np.linspace(-0.5, 0.5, n_in)
    monkeypatch.setenv("GRADTHEORY_JIT", "1")
    fast = MapEval(net, x)
    assert fast.jit is not None
    monkeypatch.setenv("GRADTHEORY_JIT", "0")
    slow = MapEval(net, x)
    assert slow.jit is None
    for a, b in zip(fast.value_jac(states), slow.value_jac(states), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


def test_orbit_attractor_fixed_points_vary(jit):
    """Orbits (K, T+1, n), attractors and fixed points per system equal separate calls."""
    R = np.array([2.8, 3.2, 3.5])
    net = logistic().vary(r=R)
    orbits = gt.orbit(net, [0.2], 30)
    assert orbits.shape == (3, 31, 1)
    per_system = gt.orbit(net, [[0.2], [0.3], [0.4]], 30)
    batch = gt.orbit(net, np.full((3, 2, 1), 0.25), 5)
    assert batch.shape == (3, 6, 2, 1)
    attractors = gt.attractor(net, [0.2])
    assert list(attractors.period) == [1, 2, 4]
    assert attractors[2].lyapunov == pytest.approx(-0.8725, abs=1e-4)
    fps = gt.fixed_points(net, progress=False)
    assert len(fps) == 3
    for i, r in enumerate(R):
        np.testing.assert_allclose(orbits[i], gt.orbit(logistic(r), [0.2], 30), atol=1e-12)
        np.testing.assert_allclose(
            per_system[i], gt.orbit(logistic(r), [0.2 + 0.1 * i], 30), atol=1e-12
        )
        np.testing.assert_allclose(fps[i].points[:, 0], [0.0, 1 - 1 / r], atol=1e-12)


def test_bifurcation_paths_agree(monkeypatch):
    """Compiled sweeps (with continuation) equal the NumPy sweeps to 1e-12."""
    R = np.linspace(2.8, 4.0, 40)
    out = {}
    for flag in ("1", "0"):
        monkeypatch.setenv("GRADTHEORY_JIT", flag)
        out[flag] = gt.bifurcation(
            logistic(), "r", R, h0=[0.2], transient=200, keep=32, branches=False, progress=False
        )
    for name in ("up", "down"):
        a, b = getattr(out["1"], name), getattr(out["0"], name)
        assert a.kind == b.kind
        np.testing.assert_array_equal(a.period, b.period)
        np.testing.assert_allclose(a.states, b.states, atol=1e-12)
        np.testing.assert_allclose(a.lyapunov, b.lyapunov, atol=1e-12)
    assert out["1"].up.period[0] == 1  # r = 2.8: fixed point


def test_single_unit_hysteresis_compiled(monkeypatch):
    """Pascanu et al. 2013 Fig. 3: h -> tanh(5 h + b) keeps its branch, so the up and down
    sweeps differ inside the bistable window and agree outside it."""
    monkeypatch.setenv("GRADTHEORY_JIT", "1")
    net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=1, params={"W": [[5.0]]})
    b = np.linspace(-6, 6, 61)
    bif = gt.bifurcation(net, "b", b, h0=[-1.0], transient=200, keep=8, branches=False)
    up = bif.up.final[:, 0]
    down = bif.down.final[::-1, 0]
    assert (np.abs(up - down) > 1).sum() >= 10  # coexisting attractors
    assert up[-1] == pytest.approx(down[-1]) and up[0] == pytest.approx(down[0])


def test_vary_rejects_bad_input():
    """Unknown name, unequal lengths, wrong shape, NaN and untied networks name the argument."""
    net = logistic()
    with pytest.raises(ValueError, match="'q'"):
        net.vary(q=[1.0])
    two = henon()
    with pytest.raises(ValueError, match="equal lengths"):
        two.vary(a=[1.2, 1.4], b=[0.3])
    with pytest.raises(ValueError, match=r"'a'.*NaN"):
        two.vary(a=[1.2, np.nan])
    with pytest.raises(ValueError, match=r"'r'.*leading axis"):
        net.vary(r=3.0)
    rnn = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3)
    with pytest.raises(ValueError, match=r"'W'.*broadcastable"):
        rnn.vary(W=np.ones((2, 4, 4)))
    assert rnn.vary(b=np.ones((2, 3))).params["b"].shape == (2, 3)
    deep = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3, tied=False, depth=2)
    with pytest.raises(ValueError, match="untied"):
        deep.vary(b=[0.0])
    with pytest.raises(ValueError, match="h0"):
        gt.orbit(net.vary(r=[3.0, 3.5]), np.zeros((3, 1)), 5)


def test_compiled_branches_match_fixed_points(monkeypatch):
    """Fixed-point branches of the compiled scan equal fixed_points' (NumPy) to 1e-12, with the
    fold of h -> tanh(5 h + b) (saddle-node pairs born mid-sweep) and the logistic's
    transcritical crossing at r = 1."""
    cases = [
        (gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=1, params={"W": [[5.0]]}), "b"),
        (logistic(), "r"),
    ]
    for net, param in cases:
        values = np.linspace(-6, 6, 25) if param == "b" else np.linspace(0.5, 3.9, 18)
        out = {}
        for flag in ("1", "0"):
            monkeypatch.setenv("GRADTHEORY_JIT", flag)
            out[flag] = gt.bifurcation(net, param, values, h0=[0.2], sweep="none", progress=False)
        fast, slow = out["1"], out["0"]
        np.testing.assert_array_equal(fast.n_stable, slow.n_stable)
        assert len(fast.branches) == len(slow.branches)
        for a, b in zip(fast.branches, slow.branches, strict=True):
            np.testing.assert_array_equal(a.values, b.values)
            np.testing.assert_allclose(a.points, b.points, atol=1e-12)
            np.testing.assert_array_equal(a.stable, b.stable)
    assert fast.n_stable.max() == 1 and out["1"].branches[0].values[0] == 0.5


@pytest.mark.parametrize("gain", [0.5, 2.0], ids=["contracting", "chaotic"])
def test_matrix_product_spectrum_matches_tangent_path(monkeypatch, gain):
    """The fused product path (n > 16, QR every few steps) against the generic tangent path
    (QR every step): to 1e-9 on a contracting network (every orbit converges to the same
    fixed point, so the exponents are deterministic), within 4 standard errors (+ 0.01) on a
    chaotic one (gain 2: Sompolinsky et al. 1988), where the two orbits decorrelate."""
    from gradtheory.analysis import _lyap_blas

    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=40, gain=gain, seed=1)
    x = np.random.default_rng(2).normal(size=(1500, 1)) * 0.1
    options = {"k": 6, "warmup": 100, "progress": False, "return_details": True}
    fused = gt.lyapunov(net, x, **options)
    every_step = gt.lyapunov(net, x, reortho=1, **options)
    monkeypatch.setattr(_lyap_blas, "affine_pointwise_layout", lambda net: None)
    generic = gt.lyapunov(net, x, **options)
    if gain < 1:
        np.testing.assert_allclose(fused.exponents, generic.exponents, atol=1e-9)
        np.testing.assert_allclose(every_step.exponents, generic.exponents, atol=1e-9)
    else:
        assert fused.exponents[0] > 0
        bound = 4 * np.hypot(fused.stderr, generic.stderr) + 0.01
        assert np.all(np.abs(fused.exponents - generic.exponents) <= bound)


def test_basins_and_predict_vary(jit):
    """Basins and predictions per system equal separate calls (two 2-unit tanh maps)."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})
    weights = [2 * np.eye(2), 0.5 * np.eye(2)]
    varied = net.vary(W=weights)
    grid = np.linspace(-1, 1, 6)
    together = gt.basins(varied, grid, grid, steps=60)
    predictions = gt.predict(varied)
    assert together.labels.shape == (2, 6, 6)
    for k, weight in enumerate(weights):
        alone = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": weight})
        np.testing.assert_array_equal(
            together[k].labels, gt.basins(alone, grid, grid, steps=60).labels
        )
        assert predictions[k].rate == pytest.approx(gt.predict(alone).rate, abs=1e-12)
    assert predictions.rate[1] == pytest.approx(np.log(0.5), abs=1e-9)  # 0.5 tanh'(0) at h* = 0
    assert len(np.unique(together[1].labels)) == 1  # contraction: one basin


def test_numpy_path_when_numba_is_missing(monkeypatch):
    """Without numba (import failure simulated) the NumPy path runs and gives the same values."""
    from gradtheory.numeric import _jitgen

    monkeypatch.setenv("GRADTHEORY_JIT", "1")
    monkeypatch.setattr(_jitgen, "_NUMBA", [False])
    assert not _jitgen.jit_enabled()
    assert MapEval(logistic()).jit is None
    assert gt.attractor(logistic(), [0.2]).lyapunov == pytest.approx(-0.8725, abs=1e-4)
