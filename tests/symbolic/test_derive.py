"""derive(): step Jacobians and parameter gradients against an explicit-symbol oracle.

The oracle writes every weight, bias, state and input entry as its own SymPy symbol (n <= 4),
builds the next state element by element from the cell's stage expressions, with ReLU, hard
tanh and the sigmoid rewritten as SymPy's own Max/Min/exp so that the oracle does not share the
library's derivative code, and differentiates with ``Matrix.jacobian`` (DESIGN.md: explicit-symbol
matrices for n <= 4 are the test oracle).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtheory.cells import custom, elman, gru, highway, irnn, lstm, residual
from gradtheory.symbolic.cell import Affine
from gradtheory.symbolic.derive import Diag, Mat, derive, paths
from gradtheory.symbolic.functions import box, hardtanh, relu, sigmoid, step
from gradtheory.symbolic.latex import chunk_suffix
from gradtheory.symbolic.registry import ACTIVATIONS

N_IN = 2
CELLS = {
    **{f"elman-{a}": (lambda a=a: elman(a)) for a in ACTIVATIONS},
    "irnn": irnn,
    "lstm": lstm,
    "gru": gru,
    "residual-tanh": lambda: residual("tanh"),
    "residual-relu": lambda: residual("relu"),
    "highway": highway,
}


def _independent(expr: sp.Expr) -> sp.Expr:
    """Rewrite gradtheory's activations (and their derivatives) with SymPy's own functions:
    relu(z) = (z + |z|) / 2 and hardtanh(z) = (|z + 1| - |z - 1|) / 2, valid away from kinks."""
    return (
        expr.replace(sigmoid, lambda z: 1 / (1 + sp.exp(-z)))
        .replace(relu, lambda z: (z + sp.Abs(z)) / 2)
        .replace(hardtanh, lambda z: (sp.Abs(z + 1) - sp.Abs(z - 1)) / 2)
        .replace(step, lambda z: (1 + sp.sign(z)) / 2)
        .replace(box, lambda z: (sp.sign(z + 1) - sp.sign(z - 1)) / 2)
    )


def _vector(name: str, size: int) -> sp.Matrix:
    return sp.Matrix(size, 1, lambda i, _: sp.Symbol(f"{name}_{i}", real=True))


@cache
def oracle(cell_name: str, n: int):
    """Explicit next state, its Jacobian in the state symbols and all symbols by name."""
    cell = CELLS[cell_name]()
    env = {}
    for name, shape in cell.param_shapes(n, N_IN).items():
        rows, cols = shape if len(shape) == 2 else (shape[0], 1)
        env[name] = sp.Matrix(
            rows, cols, lambda i, j, nm=name: sp.Symbol(f"{nm}_{i}_{j}", real=True)
        )
    for s in cell.state:
        env[s] = _vector(s, n)
    env["x"] = _vector("x", N_IN)
    symbols = {k: v for k, v in env.items()}
    for stage in cell.stages:
        if isinstance(stage, Affine):
            total = sum(
                (env[w] * env[src] for w, src in stage.terms), sp.zeros(len(stage.outputs) * n, 1)
            )
            if stage.bias:
                total += env[stage.bias]
            for k, out in enumerate(stage.outputs):
                env[out] = total[k * n : (k + 1) * n, :]
        else:
            for out, expr in zip(stage.outputs, stage.exprs, strict=True):
                env[out] = sp.Matrix(
                    [
                        _independent(expr).xreplace({s: env[s.name][i] for s in expr.free_symbols})
                        for i in range(n)
                    ]
                )
    nxt = sp.Matrix.vstack(*(env[name] for name in cell.next_state))
    state = sp.Matrix.vstack(*(env[s] for s in cell.state))
    return cell, symbols, nxt, nxt.jacobian(state)


def _random_values(cell, n: int, seed: int):
    """Random parameters, state and input with pre-activations away from the kinks 0 and +-1
    and at least one unit in (0, 1), where ReLU and hard tanh both pass gradient."""
    rng = np.random.default_rng(seed)
    d = derive(cell)
    affine_outputs = [o for s in cell.stages if isinstance(s, Affine) for o in s.outputs]
    for _ in range(200):
        values = {k: rng.normal(0.0, 0.7, shape) for k, shape in cell.param_shapes(n, N_IN).items()}
        values.update({s: rng.uniform(-0.9, 0.9, n) for s in cell.state})
        values["x"] = rng.uniform(-1, 1, N_IN)
        env = d.forward_values(values)
        pre = np.concatenate([env[o] for o in affine_outputs])
        away = np.min(np.abs(np.abs(pre) - 1)) > 1e-3 and np.min(np.abs(pre)) > 1e-3
        active = np.any((pre > 0) & (pre < 1))  # some ReLU / hard-tanh unit passes gradient
        if away and active:
            return values
    raise AssertionError("could not draw values away from the kinks")


def _substitution(symbols: dict, values: dict) -> dict:
    out = {}
    for name, matrix in symbols.items():
        value = np.asarray(values[name], dtype=float).reshape(matrix.shape)
        out.update(
            {matrix[i, j]: value[i, j] for i in range(matrix.rows) for j in range(matrix.cols)}
        )
    return out


def _check_jacobian(cell_name: str, n: int, seed: int) -> None:
    cell, symbols, _, jac = oracle(cell_name, n)
    values = _random_values(cell, n, seed)
    subs = _substitution(symbols, values)
    args = list(subs)
    expected = sp.lambdify(args, jac, modules="numpy")(*subs.values())
    got = derive(cell).evaluate_jacobian(values, n)
    np.testing.assert_allclose(got, np.asarray(expected, dtype=float), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("cell_name", sorted(CELLS))
def test_matrix_jacobian_equals_explicit_symbol_jacobian(cell_name, n):
    """The matrix-form step Jacobian (sum of diag(d core / d z_k) W_k + skip terms, DESIGN.md)
    equals SymPy's element-wise Jacobian of the explicit next state, for every library cell."""
    _check_jacobian(cell_name, n, seed=n)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cell_name=st.sampled_from(sorted(CELLS)),
    n=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_matrix_jacobian_property_random_values(cell_name, n, seed):
    """Property: at random parameters, states and inputs the matrix Jacobian agrees with the
    explicit-symbol oracle (same fact as above, random draws instead of fixed seeds)."""
    _check_jacobian(cell_name, n, seed)


def _evaluate_matrix(expr, cell, values: dict, env: dict, n: int) -> np.ndarray:
    """Numerically evaluate derive's matrix expressions (test-side interpreter)."""
    if isinstance(expr, sp.MatAdd):
        return sum(_evaluate_matrix(a, cell, values, env, n) for a in expr.args)
    if isinstance(expr, sp.MatMul):
        out = np.eye(1)
        parts = [_evaluate_matrix(a, cell, values, env, n) for a in expr.args]
        out = parts[0]
        for p in parts[1:]:
            out = out @ p
        return out
    if isinstance(expr, sp.Transpose):
        return _evaluate_matrix(expr.arg, cell, values, env, n).T
    if isinstance(expr, Diag):
        syms = sorted(expr.expr.free_symbols, key=lambda s: s.name)
        fn = sp.lambdify(syms, _independent(expr.expr), modules="numpy")
        return np.diag(np.broadcast_to(fn(*(env[s.name] for s in syms)), (n,)).astype(float))
    if isinstance(expr, sp.BlockMatrix):
        return np.vstack([_evaluate_matrix(b, cell, values, env, n) for b in expr.blocks])
    if isinstance(expr, sp.MatrixSymbol):
        if expr.name in env and expr.shape[1] == 1:
            return np.asarray(env[expr.name], dtype=float).reshape(-1, 1)
        for stage in cell.stages:
            if isinstance(stage, Affine):
                for k, out in enumerate(stage.outputs):
                    sfx = chunk_suffix(stage.outputs, out)
                    for w, _ in stage.terms:
                        if expr.name == (f"{w}_{sfx}" if sfx else w):
                            return np.asarray(values[w])[k * n : (k + 1) * n]
    raise AssertionError(f"cannot evaluate {expr!r}")


@pytest.mark.parametrize("cell_name", sorted(CELLS))
def test_param_gradients_equal_explicit_gradient(cell_name):
    """One BPTT step: dL/dtheta for L = sum_blocks delta_block . s_t(block) equals the reverse-mode
    formula (transposed path products applied to delta, times source^T) derive writes down."""
    n = 2
    cell, symbols, nxt, _ = oracle(cell_name, n)
    values = _random_values(cell, n, seed=7)
    rng = np.random.default_rng(11)
    deltas = {f"delta_{s}": rng.normal(size=n) for s in cell.state}
    loss = sum(
        (
            nxt[k * n + i] * deltas[f"delta_{s}"][i]
            for k, s in enumerate(cell.state)
            for i in range(n)
        ),
        sp.S.Zero,
    )
    subs = _substitution(symbols, values)
    d = derive(cell)
    env = {**d.forward_values(values), **deltas}
    env.update(
        {
            f"delta_{chunk}": _evaluate_matrix(adjoint, cell, values, env, n).ravel()
            for chunk, adjoint in d.stacked_adjoints.items()
        }
    )
    for name, grad in d.param_gradients.items():
        target = symbols[name]
        expected = np.array(
            [
                [float(sp.diff(loss, target[i, j]).xreplace(subs)) for j in range(target.cols)]
                for i in range(target.rows)
            ]
        )
        got = _evaluate_matrix(grad, cell, values, env, n).reshape(expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12, err_msg=name)
        expanded = d.expand_adjoints(grad)
        assert not any(s.name.startswith("delta_a") for s in expanded.free_symbols), name
        got = _evaluate_matrix(expanded, cell, values, deltas | d.forward_values(values), n)
        np.testing.assert_allclose(
            got.reshape(expected.shape), expected, rtol=1e-10, atol=1e-12, err_msg=name
        )


def test_param_gradient_forms():
    """Elman keeps the compact (diag(1 - h_t^2) delta_t) h_{t-1}^T; LSTM stacks the gate adjoints
    delta_{a_i}, ..., delta_{a_o}, each defined once, times h_{t-1}^T (textbook BPTT form)."""
    n = sp.Symbol("n", integer=True, positive=True)
    h_new = sp.Symbol("h_new", real=True)
    d = derive(elman("tanh"))
    delta, h = sp.MatrixSymbol("delta_h", n, 1), sp.MatrixSymbol("h", n, 1)
    assert d.stacked_adjoints == {}
    assert d.param_gradients["W"] == sp.MatMul(sp.MatMul(Diag(1 - h_new**2, n), delta), h.T)
    d = derive(lstm())
    column = sp.BlockMatrix([[sp.MatrixSymbol(f"delta_a_{k}", n, 1)] for k in "ifgo"])
    assert d.param_gradients["W"] == sp.MatMul(column, h.T)
    assert d.param_gradients["b"] == column
    assert list(d.stacked_adjoints) == ["a_i", "a_f", "a_g", "a_o"]
    o, c_new = sp.Symbol("o", real=True), sp.Symbol("c_new", real=True)
    assert d.stacked_adjoints["a_o"] == sp.MatMul(
        Diag(o * (1 - o) * sp.tanh(c_new), n), sp.MatrixSymbol("delta_h", n, 1)
    )


def test_elman_tanh_jacobian_structure():
    """Textbook Elman result: dh_t/dh_{t-1} = diag(1 - h_t^2) W (tanh' = 1 - tanh^2, notes)."""
    d = derive(elman("tanh"))
    h_new = sp.Symbol("h_new", real=True)
    n = sp.Symbol("n", integer=True, positive=True)
    assert d.jacobian == sp.MatMul(Diag(1 - h_new**2, n), sp.MatrixSymbol("W", n, n))
    assert d.blocks[("h", "h")] == {(Mat("W", 0, "W"),): 1 - h_new**2}


def test_lstm_cell_block_is_forget_gate_and_passes_gradient_unchanged():
    """LSTM: dc_t/dc_{t-1} = diag(f_t); with f = 1 and i = 0 the cell gradient passes unchanged
    (lecture notes' LSTM claim; Hochreiter and Schmidhuber 1997)."""
    d = derive(lstm())
    f = sp.Symbol("f", real=True)
    assert d.blocks[("c", "c")] == {(): f}
    n = 3
    values = {"W": np.zeros((4 * n, n)), "U": np.zeros((4 * n, N_IN)), "b": np.zeros(4 * n)}
    values["b"][n : 2 * n] = 40.0  # forget gate saturated open
    values["b"][:n] = -40.0  # input gate closed
    values.update(h=np.full(n, 0.3), c=np.full(n, -0.5), x=np.ones(N_IN))
    jac = d.evaluate_jacobian(values)
    np.testing.assert_allclose(jac[n:, n:], np.eye(n), atol=1e-15)


def test_residual_jacobian_has_identity_term():
    """Residual block: J = I + W2 diag(phi'(a)) W1, so the skip path keeps gradients (He 2015)."""
    d = derive(residual("tanh"))
    (key_identity,) = [k for k in d.blocks[("h", "h")] if k == ()]
    assert d.blocks[("h", "h")][key_identity] == 1
    assert isinstance(d.jacobian, sp.MatAdd)
    assert sp.Identity(sp.Symbol("n", integer=True, positive=True)) in d.jacobian.args


def test_henon_jacobian():
    """Hénon map x' = 1 - a x^2 + y, y' = b x has Jacobian [[-2 a x, 1], [b, 0]]."""
    cell = custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    a, b, x = (sp.Symbol(k, real=True) for k in "abx")
    d = derive(cell)
    assert d.jacobian == sp.Matrix([[-2 * a * x, 1], [b, 0]])
    np.testing.assert_allclose(d.evaluate_jacobian({"x": 0.5, "y": 0.1}), [[-1.4, 1.0], [0.3, 0.0]])


def test_logistic_map_derivative_and_param_gradient():
    """Logistic map h' = r h (1 - h): dF/dh = r (1 - 2h) (=1.5 at r=3, h=1/4), dF/dr = h (1 - h)."""
    d = derive(custom("r*h*(1 - h)", state="h", params={"r": 3.0}))
    r, h, delta = (sp.Symbol(k, real=True) for k in ("r", "h", "delta_h"))
    assert sp.expand(d.jacobian[0] - r * (1 - 2 * h)) == 0
    assert sp.expand(d.param_gradients["r"] - delta * h * (1 - h)) == 0
    assert d.evaluate_jacobian({"h": 0.25}).tolist() == [[1.5]]


def test_paths_from_input_are_zero_in_state_jacobian():
    """Forward mode: x enters only through U, so d h_t / d x_t = diag(phi') U and x adds
    nothing to the state Jacobian."""
    p = paths(elman("tanh"), "x")["h_new"]
    assert [k[0].weight for k in p] == ["U"]


def test_bad_input_is_rejected():
    """Bad input: a non-Cell argument raises TypeError naming the argument; an unknown
    activation raises ValueError listing the allowed ones."""
    with pytest.raises(TypeError, match="argument 'cell' must be"):
        derive("elman")
    with pytest.raises(ValueError, match="activation must be one of"):
        elman("swish")
    d = derive(elman("tanh"))
    with pytest.raises(ValueError, match="missing"):
        d.evaluate_jacobian({"W": np.eye(2)})
    with pytest.raises(ValueError, match="n=3"):
        d.evaluate_jacobian(
            {
                "W": np.eye(2),
                "U": np.ones((2, 1)),
                "b": np.zeros(2),
                "h": np.zeros(2),
                "x": np.ones(1),
            },
            n=3,
        )
