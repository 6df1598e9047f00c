"""Static guard of custom-cell expression strings (issue 10: cases that hung or crashed).

Facts checked: ``2**10**10*h`` (SymPy evaluated the power while parsing and never returned) and
``10.0**400*h`` (a NameError inside generated code) are refused with a ValueError naming the
limit; a sum or product of 1000 terms (a RecursionError before) builds and computes the right
value; deep nesting is refused; the check is static, so it acts in a worker process too.
"""

import concurrent.futures as cf
import multiprocessing

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.symbolic._guard import MAX_DEPTH, MAX_EXPONENT, parse_guarded


@pytest.mark.parametrize(
    "text, words",
    [
        ("2**10**10*h", f"at most {MAX_EXPONENT}"),
        ("2^10^10*h", f"at most {MAX_EXPONENT}"),
        ("h**100000", f"at most {MAX_EXPONENT}"),
        ("10.0**400*h", "beyond float64"),
        ("1e308*10*h", "beyond float64"),
        ("10**400 + h", "beyond float64"),
        ("h/0", "divides by zero"),
        ("(-1)**0.5*h", "not a finite real number"),
        ("tanh(" * 100 + "h" + ")" * 100, f"at most {MAX_DEPTH}"),
        ("h" + "**h" * 100, f"at most {MAX_DEPTH}"),
        ("h+" * 60000 + "h", "characters long"),
        ("1e300*h*1e300", "beyond float64"),
        ("(1e200*h)**2", "beyond float64"),
        ("exp(1e20)*h", "beyond float64"),
        ("h/(h-h)", "division by zero or an infinite value"),
        ("log(0)*h", "not a finite real number"),
        ("tanh(0**r + h)", "derivative with respect to r"),
        ("((3*h)**1000)**1000", "exponents multiply"),
    ],
)
def test_dangerous_expressions_are_refused(text, words):
    """Each is refused by the static check with a reason, before SymPy builds anything."""
    with pytest.raises(ValueError, match="expression") as info:
        gt.cells.custom(text, state="h", params={"r": 1.0})
    assert words in str(info.value)


@pytest.mark.parametrize(
    "text, words",
    [
        ("sin(exp(10+h*0/h+1e300+h*0*h))", "beyond float64"),  # a RecursionError in mpmath
        ("sin(exp(h*0 + 1e9))", "beyond float64"),  # 4e8 digits of pi to reduce the argument
        ("sqrt(h*0 - 1)", "not a finite real number"),  # a TypeError (complex) in NumPy
        ("log(h*0 - 1) + h", "not a finite real number"),
    ],
)
def test_constants_hidden_behind_terms_that_fold_away(text, words):
    """Hypothesis found these: h*0 is not a constant to the static check, but SymPy folds it
    away and then evaluates the function of a number itself; the number is checked first."""
    with pytest.raises(ValueError, match="expression") as info:
        gt.cells.custom(text, state="h", params={"r": 1.0})
    assert words in str(info.value)


def test_functions_of_folded_constants_that_fit_still_build():
    """sin(h*0 + 2)*h is sin(2)*h: a legitimate constant factor."""
    cell = gt.cells.custom("sin(h*0 + 2)*h", state="h")
    assert gt.Network(cell).step(np.array([[0.5]]))[0, 0] == pytest.approx(0.5 * np.sin(2.0))


@pytest.mark.parametrize(
    "op, expected", [("+", 1000 * 1.001), ("*", 1.001**1000), ("-", -998 * 1.001)]
)
def test_long_chains_build_and_evaluate(op, expected):
    """A chain of 1000 terms builds (rebalanced, no RecursionError) and maps h=1.001 right."""
    cell = gt.cells.custom(op.join(["h"] * 1000), state="h")
    value = gt.Network(cell).step(np.array([[1.001]]))[0, 0]
    assert value == pytest.approx(expected, rel=1e-12)


def test_mixed_long_chain_keeps_signs_and_inverses():
    """Rebalancing keeps the meaning of - and /: h - r + h/2 - ... equals its closed form."""
    text = "h" + "".join(f"-r+h/{k}" for k in range(1, 40))
    cell = gt.cells.custom(text, state="h", params={"r": 0.5})
    expected = 0.3 + sum(-0.5 + 0.3 / k for k in range(1, 40))
    assert gt.Network(cell).step(np.array([[0.3]]))[0, 0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "text, value", [("tanh(1e300)", 1.0), ("1e300*h", 1e300 * 0.5), ("1e-320*h", 1e-320 * 0.5)]
)
def test_large_exact_numbers_reach_numpy_as_floats(text, value):
    """Integers beyond int64 (1e300 read exactly) become floats: NumPy's tanh can take them."""
    cell = gt.cells.custom(text, state="h")
    assert gt.Network(cell).step(np.array([[0.5]]))[0, 0] == pytest.approx(value, rel=1e-12)


def test_short_expressions_keep_their_form():
    """Short chains are not rebuilt: the parsed tree is Python's own."""
    import ast

    assert ast.dump(parse_guarded("r*h*(1 - h)")) == ast.dump(
        ast.parse("r*h*(1 - h)", mode="eval").body
    )


def _build_in_worker(text: str) -> str:
    try:
        gt.cells.custom(text, state="h")
    except ValueError as err:
        return str(err)
    return "built"


def test_guard_acts_in_a_worker_process():
    """In a worker process the same expression is refused just as quickly."""
    context = multiprocessing.get_context("fork")
    with cf.ProcessPoolExecutor(1, mp_context=context) as pool:
        answer = pool.submit(_build_in_worker, "2**10**10*h").result(timeout=60)
    assert f"at most {MAX_EXPONENT}" in answer
