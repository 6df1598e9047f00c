"""A user's own SymPy symbols survive custom(), unroll() and derive() (issue 10, item 1).

Every expected value here is built on the user's side from the user's symbols (plain
``sp.symbols(...)`` without assumptions unless stated), as a user would write it, and compared
with ``==`` or exact expansion: if the library swapped in symbols of its own (same name, other
assumptions), SymPy would treat them as different variables and these comparisons would fail.
Facts checked: linear recurrence h_t = w h_{t-1} + x_t gives dh_5/dh_0 = w^5 (lecture notes'
w^T for linear scalar RNNs); the Hénon map's Jacobian is [[-2 a x, 1], [b, 0]].
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import gradtheory as gt
from gradtheory.cells import custom
from gradtheory.symbolic.derive import derive
from gradtheory.symbolic.unroll import unroll


def test_linear_recurrence_gradient_is_w_to_the_fifth():
    """The issue's case: w*h + x unrolled 5 steps; d h_5 / d h_0 - w**5 is exactly 0 in the
    user's w, both from the BPTT sum and from sp.diff of the explicit state."""
    w, h, x = sp.symbols("w h x")
    u = gt.unroll(custom(update=w * h + x, state=h, inputs=[x], params=[w]), steps=5)
    assert sp.simplify(u.gradient(u.states[0]) - w**5) == 0
    assert sp.expand(sp.diff(u.states[5], u.states[0])) == w**5
    assert u.params["w"] is w
    x1, x5 = u.inputs[0]["x"], u.inputs[4]["x"]
    assert x1 == sp.Symbol("x_1") and x5 == sp.Symbol("x_5")  # inputs inherit x's assumptions
    assert sp.expand(sp.diff(u.states[5], x1)) == w**4


def test_tanh_elman_from_user_symbols_depends_on_w():
    """The issue's case: a tanh Elman cell built from user symbols; sp.diff(u.states[4], w) is
    not 0 and equals the BPTT gradient written out (exactly after expansion at t = 2, at random
    points to 1e-12 relative at t = 4: both are sums of the same products of tanh values, so
    only rounding separates them)."""
    w, v, b, h, x = sp.symbols("w v b h x")
    cell = custom(sp.tanh(w * h + v * x + b), state=h, inputs=[x], params=[w, v, b])
    u = unroll(cell, 4)
    direct = sp.diff(u.states[4], w)
    assert direct != 0 and w in u.states[4].free_symbols
    assert sp.expand(u.gradient(w, 2, explicit=True) - sp.diff(u.states[2], w)) == 0
    bptt = u.gradient(w, 4, explicit=True)
    symbols = sorted(direct.free_symbols | bptt.free_symbols, key=lambda s: s.name)
    f_direct, f_bptt = (sp.lambdify(symbols, e, "numpy") for e in (direct, bptt))
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = rng.uniform(-1.5, 1.5, len(symbols))
        assert f_direct(*point) != 0
        np.testing.assert_allclose(f_bptt(*point), f_direct(*point), rtol=1e-12)


def test_jacobian_equals_user_built_matrix():
    """Hénon map from user symbols: derive(...).jacobian == the user's Matrix, and == SymPy's
    own Jacobian of the user's update vector."""
    a, b, x, y = sp.symbols("a b x y")
    update = [1 - a * x**2 + y, b * x]
    d = derive(custom(update, state=[x, y], params={a: 1.4, b: 0.3}))
    assert d.jacobian == sp.Matrix([[-2 * a * x, 1], [b, 0]])
    assert d.jacobian == sp.Matrix(update).jacobian([x, y])


def test_assumptions_are_kept_and_used():
    """A positive state symbol keeps its assumption: |h| simplifies to h, so the Jacobian of
    w |h| is w; with the default real symbol it is w sign(h)."""
    w = sp.Symbol("w")
    h_pos = sp.Symbol("h", positive=True)
    cell = custom(w * sp.Abs(h_pos), state=h_pos, params=[w])
    assert cell.symbols["h"] is h_pos and cell.symbols["w"] is w
    assert derive(cell).jacobian == sp.Matrix([[w]])
    real = custom("w*abs(h)", state="h", params=["w"])
    h_real, w_real = sp.Symbol("h", real=True), sp.Symbol("w", real=True)
    assert real.symbols["h"] == h_real
    assert derive(real).jacobian == sp.Matrix([[w_real * sp.sign(h_real)]])


def test_string_names_are_documented_real_symbols():
    """A name given as a string is Symbol(name, real=True), exposed as cell.symbols[name]; the
    vector library cells use the same convention."""
    cell = custom("r*h*(1 - h)", state="h", params={"r": 3.5})
    assert cell.symbols == {
        "h": sp.Symbol("h", real=True),
        "r": sp.Symbol("r", real=True),
        "h_new": sp.Symbol("h_new", real=True),
    }
    assert gt.cells.elman("tanh").symbols["a"] == sp.Symbol("a", real=True)


def test_string_name_adopts_the_expression_symbol():
    """state='h' with an update built from the user's plain h keeps the user's h."""
    h, r = sp.symbols("h r")
    cell = custom(r * h * (1 - h), state="h", params=["r"])
    assert cell.symbols["h"] is h and cell.symbols["r"] is r


def test_conflicting_assumptions_raise():
    """Two symbols of one name with different assumptions are a user error, named clearly."""
    h_pos, h = sp.Symbol("h", positive=True), sp.Symbol("h")
    with pytest.raises(ValueError, match="assumptions"):
        custom(2 * h, state=h_pos)
    with pytest.raises(ValueError, match="assumptions"):
        custom([h + sp.Symbol("y"), h_pos], state=["h", "y"])


def test_cache_key_includes_assumptions():
    """Cells that differ only in the assumptions of a symbol hash to different kernel keys."""
    keys = {
        custom(2 * sp.Symbol("h", **kw), state=sp.Symbol("h", **kw)).key
        for kw in ({}, {"real": True}, {"positive": True})
    }
    assert len(keys) == 3


def test_network_runs_a_cell_with_plain_user_symbols():
    """Generated code differentiates in real symbols whatever the user's assumptions: a plain
    (possibly complex) h in w |h| still gives the kernel d/dh = w sign(h); the forward pass
    equals direct iteration and the backward pass equals the analytic gradient."""
    w, h = sp.symbols("w h")
    net = gt.Network(custom(w * sp.Abs(h) - 0.5, state=h, params={w: 0.9}))
    traj = net.forward(np.zeros((3, 1, 0)), h0=[[0.3]])
    expected = [0.3]
    for _ in range(3):
        expected.append(0.9 * abs(expected[-1]) - 0.5)
    np.testing.assert_allclose(traj.states[:, 0, 0], expected, rtol=1e-14)
    grads = net.backward(traj, np.array([[[0.0]], [[0.0]], [[1.0]]]))
    s = expected
    # d s_3 / d w = |s_2| + w sign(s_2) (|s_1| + w sign(s_1) |s_0|)
    dw = abs(s[2]) + 0.9 * np.sign(s[2]) * (abs(s[1]) + 0.9 * np.sign(s[1]) * abs(s[0]))
    np.testing.assert_allclose(grads.params["w"], dw, rtol=1e-13)


def test_numeric_evaluation_is_real_whatever_the_assumptions():
    """derive() keeps a plain h (so d|h|/dh is SymPy's complex form, as sp.diff gives the user),
    while evaluate_jacobian works in real arithmetic: w sign(h) = -1.5 at h = -0.5, w = 1.5."""
    w, h = sp.symbols("w h")
    d = derive(custom(w * sp.Abs(h), state=h, params=[w]))
    assert d.jacobian == sp.Matrix([[sp.diff(w * sp.Abs(h), h)]])
    assert d.evaluate_jacobian({"h": -0.5, "w": 1.5}).tolist() == [[-1.5]]
    assert float(d.forward_values({"h": -0.5, "w": 1.5})["h_new"]) == 0.75


def test_unroll_takes_the_users_initial_state():
    """unroll(..., h0=s0): states[0] is the user's s0, the gradient w.r.t. it is w**5, and the
    text and LaTeX forms name it."""
    w, h, x, s0 = sp.symbols("w h x s0")
    u = unroll(custom(w * h + x, state=h, inputs=[x], params=[w]), 5, h0=s0)
    assert u.states[0] is s0
    assert u.gradient(s0) == w**5
    assert sp.expand(sp.diff(u.states[5], s0)) == w**5
    assert "s0" in str(u) and "s_{0}" in u.latex()


def test_unroll_default_initial_state_inherits_assumptions():
    """Without h0, states[0] is h_0 with the assumptions of the cell's state symbol."""
    h = sp.Symbol("h", positive=True)
    u = unroll(custom(h / 2, state=h), 2)
    assert u.states[0] == sp.Symbol("h_0", positive=True)
    assert u.states[2] == u.states[0] / 4


def test_unroll_rejects_foreign_symbols_and_clashes():
    """A wrt symbol with the right name but other assumptions, a non-Symbol h0 and an h0 named
    like a step symbol raise ValueError/TypeError naming the argument."""
    w, h = sp.symbols("w h")
    u = unroll(custom(w * h, state=h, params=[w]), 3)
    with pytest.raises(ValueError, match="assumptions"):
        u.gradient(sp.Symbol("w", real=True))
    with pytest.raises(TypeError, match="'h0'"):
        unroll(custom(w * h, state=h, params=[w]), 3, h0="h0")
    with pytest.raises(ValueError, match="'h0'"):
        unroll(custom(w * h, state=h, params=[w]), 3, h0=sp.Symbol("h_2"))
    with pytest.raises(ValueError, match="parameter 'h_1'"):
        unroll(custom("h_1*h", state="h", params=["h_1"]), 3)
