"""unroll(): scalar recurrences written out, and the BPTT sum of products checked against sp.diff.

Reference: the lecture notes' scalar worked example (inputs, states and outputs all scalars;
the derivative of the loss through n steps is a sum over paths of products of local
derivatives, each containing the activation derivative, tanh' = 1 - tanh^2 in (0, 1]).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtheory.cells import custom, elman, gru, highway, irnn, lstm, residual
from gradtheory.numeric import _runtime
from gradtheory.symbolic.unroll import MAX_UNROLL_STEPS, unroll

NUMERIC = {k: getattr(_runtime, k) for k in ("sigmoid", "relu", "step", "hardtanh", "box")}
LOGISTIC = custom("r*h*(1 - h)", state="h", params={"r": 3.5})


def _numeric_equal(a: sp.Expr, b: sp.Expr, rng: np.random.Generator, trials: int = 3) -> None:
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    fa = sp.lambdify(symbols, a, modules=[NUMERIC, "numpy"])
    fb = sp.lambdify(symbols, b, modules=[NUMERIC, "numpy"])
    for _ in range(trials):
        point = rng.uniform(-0.9, 0.9, len(symbols))
        np.testing.assert_allclose(fa(*point), fb(*point), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("t", range(1, 7))
@pytest.mark.parametrize("cell", [elman("tanh"), LOGISTIC], ids=["elman-tanh", "logistic"])
def test_bptt_sum_equals_direct_derivative(cell, t):
    """d s_t / d theta written as sum_k (prod_{j>k} dF/ds|_j) dF/dtheta|_k equals SymPy's direct
    derivative of the explicit s_t (chain rule over t steps, lecture notes' scalar example)."""
    u = unroll(cell, 6)
    rng = np.random.default_rng(t)
    for name, param in u.params.items():
        direct = sp.diff(u.states[t], param)
        _numeric_equal(u.gradient(name, t, explicit=True), direct, rng)
    _numeric_equal(u.gradient("h_0", t, explicit=True), sp.diff(u.states[t], u.states[0]), rng)


def test_short_chains_agree_symbolically():
    """For t <= 2 the BPTT form and sp.diff agree exactly after expansion (tanh Elman, logistic)."""
    for cell in (elman("tanh"), LOGISTIC):
        u = unroll(cell, 2)
        for t in (1, 2):
            for name, param in u.params.items():
                diff = u.gradient(name, t, explicit=True) - sp.diff(u.states[t], param)
                assert sp.expand(diff) == 0


def test_tanh_derivative_factors_are_visible():
    """Each local factor of the tanh Elman cell is w (1 - h_j^2): tanh' appears explicitly."""
    u = unroll(elman("tanh"), 4)
    w = u.params["w"]
    h = [sp.Symbol(f"h_{j}", real=True) for j in range(5)]
    assert u.factors(4) == [w * (1 - h[j] ** 2) for j in range(1, 5)]
    grad = u.gradient("w", 4)
    for j in range(1, 5):
        assert grad.has(1 - h[j] ** 2)
    assert u.gradient("h_0", 3) == w**3 * (1 - h[1] ** 2) * (1 - h[2] ** 2) * (1 - h[3] ** 2)
    assert "1 - h_{3}^{2}" in u.latex()


def test_linear_rnn_gradient_is_w_to_the_t():
    """Linear scalar RNN: d h_t / d h_0 = w^t (lecture notes; vanishes for |w| < 1)."""
    u = unroll(elman("linear"), 7)
    assert u.gradient("h_0", 7) == u.params["w"] ** 7
    assert u.gradient(u.states[0], 3) == u.params["w"] ** 3


def test_logistic_local_factor():
    """Logistic map r h (1 - h): the local derivative is r (1 - 2 h_{j-1})."""
    u = unroll(LOGISTIC, 3)
    r = u.params["r"]
    for j, factor in enumerate(u.factors(3), start=1):
        assert sp.expand(factor - r * (1 - 2 * sp.Symbol(f"h_{j - 1}", real=True))) == 0


@settings(max_examples=6, deadline=None)
@given(
    cell=st.sampled_from(["gru", "highway", "residual-tanh", "residual-relu", "irnn", "sigmoid"]),
    t=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_bptt_sum_for_other_scalar_cells(cell, t, seed):
    """Property: for gated, residual and other scalar cells (n = n_in = 1) the BPTT sum and the
    gradient with respect to an input both equal direct differentiation of the unrolled state."""
    make = {
        "gru": gru,
        "highway": highway,
        "irnn": irnn,
        "sigmoid": lambda: elman("sigmoid"),
        "residual-tanh": lambda: residual("tanh"),
        "residual-relu": lambda: residual("relu"),
    }
    u = unroll(make[cell](), 3)
    rng = np.random.default_rng(seed)
    for name, param in u.params.items():
        _numeric_equal(u.gradient(name, t, explicit=True), sp.diff(u.states[t], param), rng, 2)
    x1 = sp.Symbol("x_1", real=True)
    _numeric_equal(u.gradient("x_1", t, explicit=True), sp.diff(u.states[t], x1), rng, 2)


def test_states_are_explicit():
    """states[0] is the symbol h_0 and states[t] uses only h_0, inputs x_1..x_t and parameters."""
    u = unroll(elman("tanh"), 3)
    w, uu, b = (u.params[k] for k in ("w", "u", "b"))
    h0, x1 = sp.Symbol("h_0", real=True), sp.Symbol("x_1", real=True)
    assert u.states[0] == h0
    assert u.states[1] == sp.tanh(w * h0 + uu * x1 + b)
    assert {s.name for s in u.states[3].free_symbols} == {"h_0", "x_1", "x_2", "x_3", "w", "u", "b"}
    assert u.gradient("W", 2) == u.gradient("w", 2)  # matrix name accepted as alias


def test_latex_has_sum_of_products():
    """latex() shows the update and each gradient as a sum of products, no SymPy internals."""
    text = unroll(LOGISTIC, 3).latex()
    assert text.startswith("\\begin{aligned}") and "\\frac{\\partial h_{3}}{\\partial r}" in text
    for word in ("Lambda", "Function", "Symbol", "Derivative"):
        assert word not in text


def test_bad_input_is_rejected():
    """Bad input: too many steps points to the numeric executor; steps < 1, several state
    variables, a non-Cell and an unknown parameter are rejected naming the argument."""
    with pytest.raises(ValueError, match="numeric executor"):
        unroll(elman("tanh"), MAX_UNROLL_STEPS + 1)
    with pytest.raises(ValueError, match="argument 'steps' must be a positive integer"):
        unroll(elman("tanh"), 0)
    with pytest.raises(ValueError, match="argument 'steps' must be a positive integer"):
        unroll(elman("tanh"), 2.5)
    with pytest.raises(ValueError, match="one state variable"):
        unroll(lstm(), 2)
    with pytest.raises(ValueError, match="one state variable"):
        unroll(custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params=["a", "b"]), 2)
    with pytest.raises(TypeError, match="argument 'cell' must be"):
        unroll("elman", 2)
    u = unroll(elman("tanh"), 2)
    with pytest.raises(ValueError, match="wrt='q' is not a parameter"):
        u.gradient("q")
    with pytest.raises(ValueError, match=r"t must be an integer in 1\.\.2"):
        u.gradient("w", 3)
