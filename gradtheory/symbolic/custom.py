"""Custom recurrences from SymPy expressions or strings, parsed without ``eval``.

Strings are parsed by walking Python's ``ast`` tree and admitting only numbers, the declared
names, arithmetic (``+ - * / **``, with ``^`` read as a power) and a fixed list of functions:
no user string ever reaches ``eval`` or an unrestricted ``sympify``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

import sympy as sp

from ._guard import check_built, check_number, parse_guarded
from .cell import Cell, Pointwise
from .registry import ACTIVATIONS

__all__ = ["custom", "parse_expression"]

_MATH = {
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


def _functions() -> dict:
    """Functions a string may call: every registered activation, then ``_MATH``."""
    return {**{name: a.sympy for name, a in ACTIVATIONS.items()}, **_MATH}


_CONSTANTS = {"pi": sp.pi, "E": sp.E}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def parse_expression(text: str, names: Sequence[str] | Mapping[str, sp.Symbol]) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over the declared ``names`` only.

    Parameters
    ----------
    text : str
        Arithmetic over declared names, numbers, the registered activations (``tanh sigmoid
        relu linear hardtanh``) and ``exp log sin cos tan sqrt abs sinh cosh atan``.
    names : sequence of str, or mapping of name to sympy.Symbol
        The only free symbols allowed: a name stands for ``Symbol(name, real=True)``, or for the
        symbol it maps to.

    Examples
    --------
    >>> parse_expression("r*h*(1 - h)", ["r", "h"])
    h*r*(1 - h)
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a string, got {type(text).__name__}")
    body = parse_guarded(text)  # size, depth, exponent and overflow limits (see _guard)
    if isinstance(names, Mapping):
        symbols = dict(names)
    else:
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
        and node.func.id in _functions()
        and not node.keywords
        and len(node.args) == 1
    ):
        arg = _build(node.args[0], symbols, text)
        if arg.is_number:  # h*0 folded away: SymPy would evaluate f(number) itself, and
            check_number(arg, text)  # sin(exp(1e300)) reduces by pi to 10^300 digits
        value = _functions()[node.func.id](arg)
        if value.is_number:
            check_number(value, text)
        return value
    raise ValueError(
        f"expression {text!r} contains {type(node).__name__}, which is not allowed: use numbers, "
        f"declared names, + - * / ** and the functions {sorted(_functions())}"
    )


def _names(arg, what: str) -> dict[str, sp.Symbol | None]:
    """``{name: the user's Symbol, or None where a string was given}``, in order."""
    if arg is None:
        return {}
    if isinstance(arg, (str, sp.Symbol)):
        arg = [arg]
    out: dict[str, sp.Symbol | None] = {}
    for item in arg:
        name = item.name if isinstance(item, sp.Symbol) else item
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{what} must be identifiers or SymPy symbols, got {item!r}")
        if name in _functions() or name in _CONSTANTS:
            raise ValueError(f"{what} name {name!r} clashes with a function or constant")
        if name in out:
            raise ValueError(f"{what} contains repeated names: {name!r}")
        out[name] = item if isinstance(item, sp.Symbol) else None
    return out


def _resolve_symbols(declared: dict[str, sp.Symbol | None], update: list) -> dict[str, sp.Symbol]:
    """One symbol per declared name: the user's Symbol as given (state/inputs/params, else the
    one of that name in the update expressions), else ``Symbol(name, real=True)``."""
    chosen = {n: s for n, s in declared.items() if s is not None}
    origin = dict.fromkeys(chosen, "declared")
    for index, item in enumerate(update):
        if not isinstance(item, sp.Expr):
            continue
        for sym in sorted(item.free_symbols, key=lambda s: s.name):
            if sym.name not in declared:
                raise ValueError(
                    f"custom: update[{index}] uses undeclared symbols "
                    f"{sorted(s.name for s in item.free_symbols if s.name not in declared)}; "
                    f"declare them in state, inputs or params"
                )
            if sym.name not in chosen:
                chosen[sym.name], origin[sym.name] = sym, f"update[{index}]"
            elif chosen[sym.name] != sym:
                raise ValueError(
                    f"custom: update[{index}] uses a symbol {sym.name!r} whose assumptions "
                    f"{_assumed(sym)} differ from those of the {sym.name!r} in "
                    f"{origin[sym.name]} ({_assumed(chosen[sym.name])}); build both from one "
                    f"Symbol"
                )
    return {n: chosen[n] if n in chosen else sp.Symbol(n, real=True) for n in declared}


def _assumed(symbol: sp.Symbol) -> dict:
    return dict(getattr(symbol, "_assumptions_orig", symbol.assumptions0))


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
        Keys or items may be SymPy symbols.
    name : str

    Returns
    -------
    Cell
        Its expressions use your own SymPy symbols, assumptions included: a name given as a
        Symbol keeps that Symbol; a name given as a string takes the symbol of that name in the
        update expressions, or is ``Symbol(name, real=True)`` (also what strings in ``update``
        are parsed into). ``cell.symbols[name]`` returns the symbol of each name. Two symbols
        of one name with different assumptions raise ValueError.

    Examples
    --------
    >>> logistic = custom("r*h*(1 - h)", state="h", params={"r": 3.5})
    >>> henon = custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    >>> logistic.symbols["h"].is_real
    True
    >>> w, h = sp.symbols("w h")
    >>> custom(w * h, state=h, params=[w]).symbols["h"] is h
    True
    """
    states = _names(state, "state")
    inputs_ = _names(inputs, "inputs")
    if isinstance(params, Mapping):
        params_ = _names(list(params), "params")
        defaults = dict(zip(params_, params.values(), strict=True))
        for key, value in defaults.items():
            if value is not None and not isinstance(value, (int, float)):
                raise TypeError(f"params[{key!r}] must be a number or None, got {value!r}")
    else:
        params_ = _names(params, "params")
        defaults = dict.fromkeys(params_)
    if not states:
        raise ValueError("state must name at least one variable")
    everything = [*states, *inputs_, *params_]
    if len(set(everything)) != len(everything):
        raise ValueError(f"state, inputs and params share a name: {everything}")
    if isinstance(update, (str, sp.Basic)):
        update = [update]
    update = list(update)
    if len(update) != len(states):
        raise ValueError(
            f"update must give one expression per state variable ({len(states)}), got {len(update)}"
        )
    symbols = _resolve_symbols({**states, **inputs_, **params_}, update)
    exprs = []
    for index, item in enumerate(update):
        if isinstance(item, str):
            expr = parse_expression(item, symbols)
        elif isinstance(item, sp.Expr) and not isinstance(item, sp.MatrixBase):
            expr = item
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            expr = sp.sympify(item, strict=True)
        else:
            raise TypeError(
                f"update[{index}] must be a scalar SymPy expression or a string, got "
                f"{type(item).__name__}"
            )
        exprs.append(expr)
    latex = {s: f"{sp.latex(sp.Symbol(s))}_{{t-1}}" for s in states}
    latex.update({f"{s}_new": f"{sp.latex(sp.Symbol(s))}_{{t}}" for s in states})
    latex.update({u: f"{sp.latex(sp.Symbol(u))}_{{t}}" for u in inputs_})
    return Cell(
        name=name,
        state=tuple(states),
        next_state=tuple(f"{s}_new" for s in states),
        stages=(Pointwise(tuple(f"{s}_new" for s in states), tuple(exprs)),),
        scalar_block=True,
        inputs=tuple(inputs_),
        scalar_params=defaults,
        latex_names=latex,
        description="custom map "
        + ", ".join(f"{s} <- {e}" for s, e in zip(states, exprs, strict=True)),
        default_init="zeros",
        symbols=symbols,
    )
