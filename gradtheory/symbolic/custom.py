"""Custom recurrences from SymPy expressions or strings, parsed without ``eval``.

Strings are parsed by walking Python's ``ast`` tree and admitting only numbers, the declared
names, arithmetic (``+ - * / **``, with ``^`` read as a power) and a fixed list of functions:
no user string ever reaches ``eval`` or an unrestricted ``sympify``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

import sympy as sp

from ._guard import check_built, parse_guarded
from .cell import Cell, Pointwise
from .functions import hardtanh, relu, sigmoid

__all__ = ["custom", "parse_expression"]

_FUNCTIONS = {
    "tanh": sp.tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "hardtanh": hardtanh,
    "exp": sp.exp,
    "log": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "atan": sp.atan,
}
_CONSTANTS = {"pi": sp.pi, "E": sp.E}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def parse_expression(text: str, names: Sequence[str]) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over the declared ``names`` only.

    Parameters
    ----------
    text : str
        Arithmetic over declared names, numbers and the functions
        ``tanh sigmoid relu hardtanh exp log sin cos tan sqrt abs sinh cosh atan``.
    names : sequence of str
        The only free symbols allowed.

    Examples
    --------
    >>> parse_expression("r*h*(1 - h)", ["r", "h"])
    h*r*(1 - h)
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a string, got {type(text).__name__}")
    body = parse_guarded(text)  # size, depth, exponent and overflow limits (see _guard)
    symbols = {name: sp.Symbol(name, real=True) for name in names}
    return check_built(_build(body, symbols, text), text)  # numbers SymPy folded (see _guard)


def _build(node: ast.AST, symbols: dict, text: str) -> sp.Expr:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return (
            sp.Rational(repr(node.value))
            if isinstance(node.value, float)
            else sp.Integer(node.value)
        )
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(
            f"expression {text!r} uses undeclared name {node.id!r}; declared names are "
            f"{sorted(symbols)}"
        )
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](
            _build(node.left, symbols, text), _build(node.right, symbols, text)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _build(node.operand, symbols, text)
        return -operand if isinstance(node.op, ast.USub) else operand
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and len(node.args) == 1
    ):
        return _FUNCTIONS[node.func.id](_build(node.args[0], symbols, text))
    raise ValueError(
        f"expression {text!r} contains {type(node).__name__}, which is not allowed: use numbers, "
        f"declared names, + - * / ** and the functions {sorted(_FUNCTIONS)}"
    )


def _names(arg, what: str) -> tuple[str, ...]:
    if arg is None:
        return ()
    if isinstance(arg, (str, sp.Symbol)):
        arg = [arg]
    out = []
    for item in arg:
        name = item.name if isinstance(item, sp.Symbol) else item
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{what} must be identifiers or SymPy symbols, got {item!r}")
        if name in _FUNCTIONS or name in _CONSTANTS:
            raise ValueError(f"{what} name {name!r} clashes with a function or constant")
        out.append(name)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} contains repeated names: {out}")
    return tuple(out)


def custom(
    update,
    state,
    inputs=None,
    params: Mapping[str, float] | Sequence | None = None,
    *,
    name: str = "custom",
) -> Cell:
    """A recurrence ``s_t = update(s_{t-1}, x_t; params)`` from SymPy expressions or strings.

    Each state variable and input is a single number; several state variables make a vector map.

    Parameters
    ----------
    update : expression, str, or a sequence of them (one per state variable)
    state : name or sequence of names (str or SymPy symbols)
    inputs : name or sequence of names, optional
        Input variables; column j of ``x`` feeds ``inputs[j]``.
    params : mapping name -> default value, or sequence of names (no default)
    name : str

    Examples
    --------
    >>> logistic = custom("r*h*(1 - h)", state="h", params={"r": 3.5})
    >>> henon = custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    """
    state_names = _names(state, "state")
    input_names = _names(inputs, "inputs")
    if isinstance(params, Mapping):
        defaults = {str(getattr(k, "name", k)): v for k, v in params.items()}
        param_names = _names(list(defaults), "params")
        for key, value in defaults.items():
            if value is not None and not isinstance(value, (int, float)):
                raise TypeError(f"params[{key!r}] must be a number or None, got {value!r}")
    else:
        param_names = _names(params, "params")
        defaults = dict.fromkeys(param_names)
    if not state_names:
        raise ValueError("state must name at least one variable")
    everything = state_names + input_names + param_names
    if len(set(everything)) != len(everything):
        raise ValueError(f"state, inputs and params share a name: {everything}")
    if isinstance(update, (str, sp.Basic)):
        update = [update]
    update = list(update)
    if len(update) != len(state_names):
        raise ValueError(
            f"update must give one expression per state variable ({len(state_names)}), "
            f"got {len(update)}"
        )
    exprs = []
    canonical = {n: sp.Symbol(n, real=True) for n in everything}
    for index, item in enumerate(update):
        if isinstance(item, str):
            expr = parse_expression(item, everything)
        elif isinstance(item, sp.Expr) and not isinstance(item, sp.MatrixBase):
            unknown = sorted(s.name for s in item.free_symbols if s.name not in canonical)
            if unknown:
                raise ValueError(
                    f"update[{index}] uses undeclared symbols {unknown}; declare them in state, "
                    f"inputs or params"
                )
            expr = item.xreplace({s: canonical[s.name] for s in item.free_symbols})
        elif isinstance(item, (int, float)):
            expr = sp.sympify(item, strict=True)
        else:
            raise TypeError(
                f"update[{index}] must be a scalar SymPy expression or a string, got "
                f"{type(item).__name__}"
            )
        exprs.append(expr)
    latex = {s: f"{sp.latex(sp.Symbol(s))}_{{t-1}}" for s in state_names}
    latex.update({f"{s}_new": f"{sp.latex(sp.Symbol(s))}_{{t}}" for s in state_names})
    latex.update({u: f"{sp.latex(sp.Symbol(u))}_{{t}}" for u in input_names})
    return Cell(
        name=name,
        state=state_names,
        next_state=tuple(f"{s}_new" for s in state_names),
        stages=(Pointwise(tuple(f"{s}_new" for s in state_names), tuple(exprs)),),
        scalar_block=True,
        inputs=input_names,
        scalar_params=defaults,
        latex_names=latex,
        description="custom map "
        + ", ".join(f"{s} <- {e}" for s, e in zip(state_names, exprs, strict=True)),
        default_init="zeros",
    )
