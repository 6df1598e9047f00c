"""custom(): the safe string parser and custom scalar maps through derive and unroll."""

from __future__ import annotations

import pytest
import sympy as sp

from gradtheory.cells import custom
from gradtheory.symbolic.custom import parse_expression
from gradtheory.symbolic.derive import derive
from gradtheory.symbolic.functions import sigmoid


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "h.real",
        "(lambda: h)()",
        "q * h",
        "tanh(x=h)",
        "import os",
        "h if r else 0",
        "[h]",
        "'h'",
        "True",
        "exec('1')",
    ],
)
def test_parser_rejects_unsafe_or_undeclared_input(text):
    """Only numbers, declared names, arithmetic and whitelisted functions parse: imports,
    attribute access, lambda, keywords, undeclared names and other syntax raise ValueError."""
    with pytest.raises(ValueError, match="expression"):
        parse_expression(text, ["r", "h"])


def test_parser_accepts_arithmetic_and_caret_power():
    """'r*h*(1-h)' parses to r h (1 - h); '^' is read as a power, as in the notes' formulas."""
    r, h = sp.Symbol("r", real=True), sp.Symbol("h", real=True)
    assert parse_expression("r*h*(1-h)", ["r", "h"]) == r * h * (1 - h)
    assert parse_expression("h^2", ["h"]) == h**2
    assert parse_expression("-h**3 + 0.5", ["h"]) == -(h**3) + sp.Rational(1, 2)
    assert parse_expression("sigmoid(r*h)", ["r", "h"]) == sigmoid(r * h)


def test_caret_power_has_power_precedence():
    """'^' must bind like '**': 1 - a*x^2 + y is 1 - a x^2 + y (Hénon map as usually written)."""
    a, x, y = (sp.Symbol(k, real=True) for k in "axy")
    assert parse_expression("1 - a*x^2 + y", ["a", "x", "y"]) == 1 - a * x**2 + y


def test_parser_rejects_non_string():
    """A non-string expression raises TypeError naming what was expected."""
    with pytest.raises(TypeError, match="must be a string"):
        parse_expression(3, ["h"])


def test_custom_string_and_sympy_forms_agree():
    """The same map from a string and from SymPy symbols gives the same Jacobian, each in its
    own symbols: the string's are real=True, the user's are kept as built (no assumptions)."""
    h, r = sp.symbols("h r")
    h_real, r_real = sp.Symbol("h", real=True), sp.Symbol("r", real=True)
    from_text = derive(custom("r*h*(1 - h)", state="h", params={"r": 3.5})).jacobian
    from_sympy = derive(custom(r * h * (1 - h), state=h, params={"r": 3.5})).jacobian
    assert sp.expand(from_text[0] - r_real * (1 - 2 * h_real)) == 0
    assert sp.expand(from_sympy[0] - r * (1 - 2 * h)) == 0
    assert from_text.xreplace({h_real: h, r_real: r}) == from_sympy


def test_henon_map_jacobian_and_param_gradients():
    """Hénon map: Jacobian [[-2 a x, 1], [b, 0]]; dF/da = -x^2 (x-row), dF/db = x (y-row)."""
    cell = custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    a, b, x = (sp.Symbol(k, real=True) for k in "abx")
    d = derive(cell)
    assert d.jacobian == sp.Matrix([[-2 * a * x, 1], [b, 0]])
    dx, dy = sp.Symbol("delta_x", real=True), sp.Symbol("delta_y", real=True)
    assert d.param_gradients == {"a": -dx * x**2, "b": dy * x}


def test_custom_bad_arguments():
    """custom() names the bad argument: undeclared symbols, wrong number of updates."""
    with pytest.raises(ValueError, match="undeclared name 'q'"):
        custom("q*h", state="h")
    with pytest.raises(ValueError, match="one expression per state variable"):
        custom(["h", "h"], state="h")
