"""The cell registry (issue 13, item 2): every record is consistent, and one new entry is enough.

Each activation's NumPy form and derivative are checked against its SymPy form and against a
central finite difference of the NumPy form (an independent oracle); its declared traits (gamma =
sup |phi'|, odd, bounded, saturating, kinks) against the function itself. Each cell family's
Elman trait is checked against the cell's stages. Then a new activation (softsign, x / (1 + |x|))
and a new family are registered with one call each, and the constructors, the executor, the CLI,
the custom-expression parser, mean-field theory and the prediction routes accept them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import gradtheory as gt
from gradtheory.cli import cell_from_name
from gradtheory.symbolic import _elementwise
from gradtheory.symbolic.registry import (
    ACTIVATIONS,
    CELLS,
    Activation,
    CellSpec,
    cell_names,
    elman_activation,
    register_activation,
    register_cell,
)

GRID = np.linspace(-6.0, 6.0, 24001)  # spacing 5e-4


def _away_from_kinks(act: Activation, x: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    keep = np.ones_like(x, dtype=bool)
    for k in act.kinks:
        keep &= np.abs(x - k) > margin
    return x[keep]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_numpy_forms_match_sympy_and_finite_differences(name):
    """numpy == lambdified SymPy form (1e-14 relative); derivative == lambdified sp.diff (2e-13,
    see below) and == central difference of numpy, step 1e-5 (error ~ h^2 |phi'''| + eps/h,
    below 1e-8)."""
    act = ACTIVATIONS[name]
    a = sp.Symbol("a", real=True)
    module = [{k: getattr(_elementwise, k) for k in _elementwise.__all__}, "numpy"]
    phi = sp.lambdify(a, act.sympy(a), module)
    dphi = sp.lambdify(a, sp.diff(act.sympy(a), a), module)
    x = _away_from_kinks(act, GRID)
    np.testing.assert_allclose(act.numpy(x), np.broadcast_to(phi(x), x.shape), rtol=1e-14)
    # SymPy's sigma (1 - sigma) cancels in the tail: relative error ~ eps e^|x| < 1e-13 on |x| <= 6
    np.testing.assert_allclose(act.derivative(x), np.broadcast_to(dphi(x), x.shape), rtol=2e-13)
    h = 1e-5
    fd = (act.numpy(x + h) - act.numpy(x - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(x), fd, rtol=1e-7, atol=1e-8)
    # at a kink the convention is SymPy's (relu'(0) = 0, hardtanh'(+-1) = 0: PyTorch's)
    for k in act.kinks:
        assert act.derivative(np.array([k]))[0] == float(dphi(np.array([k]))[0]) == 0.0


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_declared_traits_hold(name):
    """gamma = max |phi'| on [-6, 6] (attained: 1e-6); odd, bounded (|phi(+-1e6)| < 10) and
    saturating (|phi'(+-50)| < 1e-12) as declared; phi' jumps exactly at the declared kinks."""
    act = ACTIVATIONS[name]
    d = act.derivative(GRID)
    assert np.max(np.abs(d)) == pytest.approx(act.gamma, rel=1e-6)
    assert np.allclose(act.numpy(-GRID), -act.numpy(GRID), rtol=0, atol=1e-15) == act.odd
    far = act.numpy(np.array([-1e6, 1e6]))
    assert bool(np.all(np.abs(far) < 10)) == act.bounded
    tails = np.abs(act.derivative(np.array([-50.0, 50.0])))
    assert bool(np.all(tails < 1e-12)) == act.saturating
    jumps = GRID[1:][np.abs(np.diff(d)) > 0.1]  # smooth parts change by < 5e-4 per point
    assert np.allclose(np.sort(np.unique(np.round(jumps, 3))), act.kinks, atol=1e-3)


@pytest.mark.parametrize("family", list(CELLS))
def test_cell_families_build_and_carry_their_traits(family):
    """Every family builds (with every registered activation if it takes one), its cells point
    back to their record, and the declared Elman trait equals the structural check."""
    spec = CELLS[family]
    activations = list(ACTIVATIONS) if spec.takes_activation else [None]
    for act in activations:
        cell = spec.build(act) if act else spec.build()
        assert cell.family == family and cell.spec is spec
        found = elman_activation(cell)
        assert (found is not None) == spec.elman
        if found is not None:
            assert found.name == cell.activation
        assert cell_from_name(family, act).name == cell.name
    assert family in cell_names()


def test_cli_names_and_errors_come_from_the_registry():
    """The CLI accepts every family, rejects an unknown one listing the registry, and refuses a
    suffix that contradicts --activation (issue 10: 'derive elman-tanh --activation relu')."""
    assert cell_from_name("residual").name == "residual-relu"
    with pytest.raises(ValueError, match="elman\\[-act\\], irnn, lstm, gru"):
        cell_from_name("transformer")
    with pytest.raises(ValueError, match="names activation 'tanh'"):
        cell_from_name("elman-tanh", "relu")
    with pytest.raises(ValueError, match="takes no activation"):
        cell_from_name("lstm-tanh")
    with pytest.raises(ValueError, match="activation must be one of"):
        cell_from_name("elman-swish")
    with pytest.raises(ValueError, match=r"'record\.name' must be a Python identifier"):
        register_activation(replace(ACTIVATIONS["tanh"], name="soft-sign"))
    with pytest.raises(TypeError, match="must be a CellSpec"):
        register_cell("elman")


def test_custom_cells_are_not_elman_cells():
    """A custom scalar map tanh(w h + b) is not taken for a library Elman cell (the Pascanu
    route needs matrices W), and neither are residual and highway blocks."""
    assert elman_activation(gt.cells.custom("tanh(w*h)", state="h", params=["w"])) is None
    assert elman_activation(gt.cells.highway("tanh")) is None
    with pytest.raises(ValueError, match="Elman"):
        gt.predict(gt.Network(gt.cells.residual("tanh"), n_in=1, n_hidden=3), method="pascanu")


@pytest.fixture
def softsign():
    """softsign(x) = x / (1 + |x|): odd, bounded, not saturating fast, sup |phi'| = 1 at 0."""
    saved = dict(ACTIVATIONS)
    record = register_activation(
        Activation(
            name="softsign",
            sympy=lambda a: a / (1 + sp.Abs(a)),
            numpy=lambda x: x / (1 + np.abs(x)),
            derivative=lambda x: 1 / (1 + np.abs(x)) ** 2,
            gamma=1.0,
            odd=True,
            bounded=True,
        )
    )
    yield record
    ACTIVATIONS.clear()
    ACTIVATIONS.update(saved)


def test_one_activation_entry_reaches_every_layer(softsign):
    """After one register_activation call: elman/residual build with it, the executor's
    gradient matches central differences (1e-7 relative: FD step 1e-6), the CLI, the parser,
    pascanu_conditions and predict accept it, and mean_field's chi1 = sigma_w2 E[phi'(sqrt(q*)
    z)^2] matches scipy.integrate.quad (1e-9)."""
    cell = gt.cells.elman("softsign")
    assert cell.name == "elman-softsign" and elman_activation(cell) is softsign
    assert cell_from_name("residual-softsign").activation == "softsign"
    h = sp.Symbol("h", real=True)
    parsed = gt.cells.custom("softsign(2*h)", state="h").stages[0].exprs[0]
    assert parsed == 2 * h / (1 + 2 * sp.Abs(h))

    net = gt.Network(cell, n_in=1, n_hidden=3, seed=2)
    rng = np.random.default_rng(0)
    x, weights = rng.normal(size=(4, 2, 1)), rng.normal(size=(4, 2, 3))

    def loss(w_flat):
        net.params["W"][...] = w_flat.reshape(3, 3)
        return float(np.sum(net.forward(x).outputs * weights))

    w0 = net.params["W"].copy()
    grad = net.backward(net.forward(x), weights).params["W"].ravel()
    eps = 1e-6
    fd = [(loss(w0.ravel() + eps * e) - loss(w0.ravel() - eps * e)) / (2 * eps) for e in np.eye(9)]
    net.params["W"][...] = w0
    np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-9)

    assert gt.pascanu_conditions(net).gamma == 1.0
    assert gt.predict(net, method="pascanu").method == "pascanu"

    sw, sb = 1.7, 0.1
    m = gt.mean_field("softsign", sw, sb)
    pdf = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    dphi2 = integrate.quad(
        lambda z: softsign.derivative(np.sqrt(m.q_star) * z) ** 2 * pdf(z), -np.inf, np.inf,
        epsabs=1e-14, epsrel=1e-13,
    )[0]  # fmt: skip
    assert m.chi1 == pytest.approx(sw * dphi2, rel=1e-9)


def test_one_cell_entry_reaches_the_cli_and_the_prediction_routes():
    """A family registered with one register_cell call is listed and built by the CLI, and its
    Elman trait (confirmed from the stages) routes predict to the Pascanu bound."""

    def scaled_elman(activation="tanh"):
        return replace(gt.cells.elman(activation), name=f"tiny-{activation}", family="tiny")

    saved = dict(CELLS)
    try:
        register_cell(CellSpec("tiny", scaled_elman, "relu", elman=True))
        cell = cell_from_name("tiny")
        assert cell.name == "tiny-relu" and cell.spec.elman and "tiny[-act]" in cell_names()
        net = gt.Network(cell, n_in=1, n_hidden=3, params={"W": 0.5 * np.eye(3)})
        assert gt.predict(net, method="pascanu").regime == "vanishing"
    finally:
        CELLS.clear()
        CELLS.update(saved)
