"""Batch normalisation derived with explicit symbols (SymPy) against the NumPy executor.

Oracle: ``explicit_batchnorm`` writes BN for B samples and n units with one SymPy symbol per
entry and lets SymPy differentiate ``sum(g * a)``; the hand-written three-term formula
(``bn_vjp``) and the derivation's per-unit Jacobian block must match it. Tolerance 1e-12
(float64 evaluation of the same expression, no truncation error).
"""

import numpy as np
import pytest
import sympy as sp

import gradtheory as gt
from gradtheory.numeric.batchnorm import bn_forward, bn_vjp
from gradtheory.symbolic.batchnorm import explicit_batchnorm


@pytest.mark.parametrize("batch, units", [(2, 1), (3, 2), (4, 3)])
def test_numpy_vjp_matches_sympy(batch, units):
    """bn_forward / bn_vjp equal SymPy's explicit forward values and derivative."""
    rng = np.random.default_rng(batch * 10 + units)
    ex = explicit_batchnorm(batch, units)
    z, g = rng.normal(size=(batch, units)), rng.normal(size=(batch, units))
    gamma, beta, eps = rng.normal(size=units), rng.normal(size=units), 1e-3
    symbols = [*ex["z"], *ex["g"], *ex["gamma"], *ex["beta"], ex["eps"]]
    values = [*z.ravel(), *g.ravel(), *gamma, *beta, eps]
    evaluate = sp.lambdify(symbols, [ex["a"], ex["vjp"], ex["three_term"]], "numpy")
    a_sym, vjp_sym, three_sym = (np.asarray(m, dtype=float) for m in evaluate(*values))
    a, zhat, inv_std, _, _ = bn_forward(z, gamma, beta, eps)
    grad_z = bn_vjp(g, zhat, inv_std, gamma)[0]
    np.testing.assert_allclose(a, a_sym, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(grad_z, vjp_sym, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(three_sym, vjp_sym, rtol=1e-12, atol=1e-13)


def test_three_term_formula_is_exact_symbolically():
    """For B = 3, one unit, SymPy's derivative minus the three-term expression simplifies to 0."""
    ex = explicit_batchnorm(3, 1)
    for b in range(3):
        assert sp.simplify(ex["vjp"][b, 0] - ex["three_term"][b, 0]) == 0


def test_derivation_block_matches_explicit_jacobian():
    """The derivation's unit block gamma/sigma (I - 11^T/B - zhat zhat^T/B) is SymPy's
    Jacobian d a / d z of one unit, evaluated at a random point (B = 4)."""
    batch = 4
    ex = explicit_batchnorm(batch, 1)
    rng = np.random.default_rng(7)
    z, gamma, eps = rng.normal(size=batch), 1.3, 1e-3
    subs = {**dict(zip(ex["z"], z, strict=True)), ex["gamma"][0]: gamma, ex["eps"]: eps}
    explicit = np.array(ex["a"].jacobian(ex["z"]).subs(subs).evalf(), dtype=float)
    d = gt.derive(gt.cells.elman("tanh", norm="batch"))
    _, zhat, _, _, var = bn_forward(z[:, None], None, None, eps)
    block = d.jacobian.subs(sp.Symbol("B", integer=True, positive=True), batch)
    names = {s.name: s for s in block.free_symbols}
    values = {
        names["gamma_j"]: gamma,
        names["sigma_j"]: float(np.sqrt(var[0])),
        names["epsilon"]: eps,
        names["zhat_j"]: sp.Matrix(zhat),
    }
    numeric = np.array(block.subs(values).as_explicit().evalf(), dtype=float)
    np.testing.assert_allclose(numeric, explicit, rtol=1e-12, atol=1e-13)


def test_latex_states_batch_jacobian_and_three_terms():
    """gt.derive(cell).latex() says the Jacobian is (B n) x (B n) and prints the VJP."""
    for cell in (gt.cells.elman("relu", norm="batch"), gt.cells.residual("tanh", norm="batch")):
        tex = gt.derive(cell).latex()
        assert r"\mathbb{R}^{Bn \times Bn}" in tex
        assert r"\hat z_{bj}\,\frac{1}{B}\sum_{c=1}^{B} g_{cj}\,\hat z_{cj}" in tex
        assert tex.startswith(r"\begin{aligned}")
