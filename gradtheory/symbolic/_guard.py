"""Static checks of a custom-cell expression string, on its parsed tree, before SymPy sees it.

SymPy evaluates numbers as it builds an expression: ``2**10**10`` never returns, ``10.0**400``
becomes a number that generated NumPy code cannot print, and a sum of 1000 terms parsed
left to right nests 1000 deep and ends in a ``RecursionError``. :func:`parse_guarded` parses
the text with Python's ``ast`` (no evaluation) and refuses, with a ``ValueError`` that says
which limit was hit, any expression

- longer than :data:`MAX_CHARS` characters or with more than :data:`MAX_NODES` tree nodes,
- nested deeper than :data:`MAX_DEPTH` (a long sum or product counts as one level: chains of
  ``+ -`` and of ``* /`` are rebalanced into trees of depth log2(terms)),
- raising to a constant exponent larger than :data:`MAX_EXPONENT` in magnitude,
- containing a constant part whose value overflows float64 or divides by zero,
- nesting powers whose constant exponents multiply to more than :data:`MAX_EXPONENT`
  (SymPy expands ``((c*h)**a)**b`` into ``c**(a*b)``, a number of ``a*b*log10(c)`` digits).

After SymPy has built the expression, :func:`check_built` looks at the numbers it made (SymPy
folds constants: ``1e300*h*1e300`` becomes ``10**600*h``): any non-finite one (``zoo`` from
``h/(h-h)``, ``-oo`` from ``log(0)``) or one beyond float64 is refused, and exact integers or
fractions too large for NumPy's integer types become floats, so that generated code never
meets a name it does not know or an integer NumPy cannot take.

Constant parts are evaluated with mpmath (arbitrary exponent range), only after the exponent
limit has bounded their size, so the check itself always ends quickly. Being static, it
protects a worker process exactly as it protects the main one.
"""

from __future__ import annotations

import ast
import sys

import mpmath

__all__ = [
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_NODES",
    "check_built",
    "check_number",
    "parse_guarded",
]

MAX_CHARS = 100_000
MAX_NODES = 20_000
MAX_DEPTH = 60
MAX_EXPONENT = 1000
_FLOAT_MAX = mpmath.mpf(sys.float_info.max)
_ADD, _MUL = (ast.Add, ast.Sub), (ast.Mult, ast.Div)
_CHAIN = 8  # chains longer than this are rebalanced (short ones keep their written order)


def _reject(text: str, reason: str):
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise ValueError(f"expression {shown!r} {reason}")


def parse_guarded(text: str) -> ast.expr:
    """Parse ``text`` (``^`` read as ``**``) and check it; return the (rebalanced) tree body.

    Examples
    --------
    >>> ast.dump(parse_guarded("r*h"))[:5]
    'BinOp'
    >>> parse_guarded("2**10**10")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: expression '2**10**10' raises to the power 10000000000; constant exponents ...
    """
    if len(text) > MAX_CHARS:
        _reject(text, f"is {len(text)} characters long; at most {MAX_CHARS} are allowed")
    try:
        # '^' is a power for mathematicians but a looser-binding xor for Python's parser
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"cannot parse expression {text!r}: {err.msg}") from None
    except (RecursionError, MemoryError):
        _reject(text, f"is nested too deeply to parse (at most {MAX_DEPTH} levels)")
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        _reject(text, f"has {nodes} parts; at most {MAX_NODES} are allowed")
    depth = _depth(tree.body)
    if depth > MAX_DEPTH:
        _reject(text, f"is nested {depth} levels deep; at most {MAX_DEPTH} are allowed")
    body = _balance(tree.body)
    _constant(body, text)
    _power_growth(body, text)
    return body


def _power_growth(root: ast.expr, text: str) -> None:
    """Refuse nested powers whose constant exponents multiply beyond MAX_EXPONENT."""
    stack = [(root, 1.0)]
    while stack:
        node, factor = stack.pop()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = _constant(node.right, text)
            inner = factor * (abs(float(exponent)) if exponent is not None else 1.0)
            if inner > MAX_EXPONENT:
                _reject(
                    text,
                    f"nests powers whose exponents multiply to {_show(inner)}; at most "
                    f"{MAX_EXPONENT} is allowed",
                )
            stack += [(node.left, max(inner, 1.0)), (node.right, 1.0)]
        elif isinstance(node, ast.Call):
            stack += [(arg, 1.0) for arg in node.args]  # a function is not expanded
        else:
            stack += [(c, factor) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]


def check_built(expr, text: str):
    """Check the numbers of the SymPy expression built from ``text``; return it usable by NumPy.

    Examples
    --------
    >>> import sympy as sp
    >>> h = sp.Symbol("h")
    >>> check_built(h * 10**30, "1e30*h")
    1.0e+30*h
    >>> check_built(sp.zoo * h, "h/(h-h)")
    Traceback (most recent call last):
    ValueError: expression 'h/(h-h)' simplifies to a division by zero or an infinite value
    """
    import sympy as sp

    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        _reject(text, "simplifies to a division by zero or an infinite value")
    limit = 2**63 - 1  # NumPy's integer types; beyond, generated code would pass Python ints
    replace = {}
    for number in expr.atoms(sp.Rational):
        if abs(number) > sp.Float(sys.float_info.max):
            _reject(text, f"has a constant part equal to {sp.Float(number, 3)!s}, beyond float64")
        if abs(number.p) > limit or number.q > limit:
            replace[number] = sp.Float(number, 17)
    _check_derivatives(expr, text)
    if not replace:
        return expr
    try:  # a float argument lets SymPy evaluate functions of it, e.g. exp(1e20)
        out = expr.xreplace(replace)
    except ArithmeticError:
        _reject(text, "has a constant part beyond float64")
    for number in out.atoms(sp.Float):
        if not number.is_finite or abs(number) > sp.Float(sys.float_info.max):
            _reject(text, f"has a constant part equal to {sp.Float(number, 3)!s}, beyond float64")
    if out.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        _reject(text, "simplifies to a division by zero or an infinite value")
    return out


def check_number(number, text: str) -> None:
    """Reject a SymPy number built from ``text`` unless it is a finite real float64.

    Examples
    --------
    >>> import sympy as sp
    >>> check_number(sp.exp(sp.Integer(10) ** 300), "exp(h*0 + 1e300)")
    Traceback (most recent call last):
    ValueError: expression 'exp(h*0 + 1e300)' has a constant part beyond float64 (max 1.8e308)
    """
    value = number.evalf(17)
    if value.is_real is not True or value.is_finite is not True:
        _reject(text, "has a constant part that is not a finite real number")
    if abs(value) > sys.float_info.max:
        _reject(text, "has a constant part beyond float64 (max 1.8e308)")


def _kind(node):
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, _ADD):
            return "add"
        if isinstance(node.op, _MUL):
            return "mul"
    return None


def _depth(root: ast.AST) -> int:
    """Nesting depth, iteratively; a link between two nodes of one +/- or */ chain is free."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        kind = _kind(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.operator, ast.unaryop, ast.expr_context)):
                continue
            same = kind is not None and _kind(child) == kind
            stack.append((child, depth if same else depth + 1))
    return deepest


def _chain(node: ast.BinOp, kind: str) -> list[tuple[bool, ast.expr]]:
    """Operands of a +/- (or */) chain with their sign (or inverse) flags, in written order."""
    out, stack = [], [(False, node)]
    while stack:
        flipped, item = stack.pop()
        if _kind(item) == kind:
            inverse = isinstance(item.op, (ast.Sub, ast.Div))
            stack.append((flipped != inverse, item.right))
            stack.append((flipped, item.left))
        else:
            out.append((flipped, item))
    return out


def _balance(node: ast.expr) -> ast.expr:
    """Rebuild long +/- and */ chains as balanced trees (same value, depth log2 of the terms)."""
    kind = _kind(node)
    if kind is not None:
        terms = _chain(node, kind)
        if len(terms) > _CHAIN:
            parts = []
            for flipped, term in terms:
                term = _balance(term)
                if flipped and kind == "add":
                    term = ast.UnaryOp(op=ast.USub(), operand=term)
                elif flipped:
                    term = ast.BinOp(left=ast.Constant(1), op=ast.Div(), right=term)
                parts.append(term)
            op = ast.Add if kind == "add" else ast.Mult
            while len(parts) > 1:
                paired = [
                    ast.BinOp(left=a, op=op(), right=b)
                    for a, b in zip(parts[0::2], parts[1::2], strict=False)
                ]
                parts = paired + (parts[-1:] if len(parts) % 2 else [])
            return parts[0]
    for name, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            setattr(node, name, _balance(value))
        elif isinstance(value, list):
            setattr(node, name, [_balance(v) if isinstance(v, ast.expr) else v for v in value])
    return node


def _constant(node: ast.expr, text: str):
    """Value of a constant subtree as an mpmath number (None if it has a name); checks limits."""
    if isinstance(node, ast.Constant):
        value = node.value
        if type(value) not in (int, float):
            return None  # the parser refuses it with its own message
        if isinstance(value, int) and value.bit_length() > 1100:
            _reject(text, f"contains a number with {len(str(value))} digits, beyond float64")
        number = mpmath.mpf(value)
        if abs(number) > _FLOAT_MAX:
            _reject(text, f"contains the number {value!r}, beyond float64")
        return number
    if isinstance(node, ast.UnaryOp):
        value = _constant(node.operand, text)
        return None if value is None else -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _constant(node.left, text), _constant(node.right, text)
        if isinstance(node.op, ast.Pow) and right is not None and abs(right) > MAX_EXPONENT:
            _reject(
                text,
                f"raises to the power {_show(right)}; constant "
                f"exponents must be at most {MAX_EXPONENT} in magnitude",
            )
        if isinstance(node.op, ast.Div) and right is not None and right == 0:
            _reject(text, "divides by zero")
        if left is None or right is None:
            return None
        try:
            value = _ARITHMETIC[type(node.op)](left, right)
        except ZeroDivisionError:
            _reject(text, "divides by zero")
        except KeyError:
            return None
        return _finite_real(value, text)
    if isinstance(node, ast.Call):
        values = [_constant(arg, text) for arg in node.args]
        function = _FUNCTIONS.get(getattr(node.func, "id", None))
        if function is None or len(values) != 1 or values[0] is None:
            return None
        # SymPy may evaluate a function of a number (sin(exp(10**10)) needs billions of
        # digits to reduce its argument): the value must be a float64 like every constant
        try:
            value = function(values[0])
        except (ValueError, ZeroDivisionError):
            value = mpmath.mpc(0, 1)  # outside the function's real domain
        return _finite_real(value, text)
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            _constant(child, text)
    return None


def _finite_real(value, text: str):
    if isinstance(value, mpmath.mpc) or not mpmath.isfinite(value):
        _reject(text, "has a constant part that is not a finite real number")
    if abs(value) > _FLOAT_MAX:
        _reject(text, f"has a constant part equal to {_show(value)}, beyond float64 (max 1.8e308)")
    return value


def _show(value) -> str:
    if abs(value) < 10**20 and value == int(value):  # int() of a huge value takes forever
        return str(int(value))
    return mpmath.nstr(value, 3)


def _check_derivatives(expr, text: str) -> None:
    """Refuse an expression whose derivative SymPy writes as undefined (``0**r`` gives
    ``0**r*log(0)``): generated code would carry a NaN constant into every gradient."""
    import sympy as sp

    for symbol in sorted(expr.free_symbols, key=str):
        derivative = sp.diff(expr, symbol)
        if derivative.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            _reject(
                text,
                f"has a derivative with respect to {symbol} that SymPy cannot define "
                f"({sp.sstr(derivative)[:60]}); rewrite it (e.g. avoid 0**{symbol})",
            )


_FUNCTIONS = {
    "tanh": mpmath.tanh,
    "sigmoid": lambda v: 1 / (1 + mpmath.exp(-v)),
    "relu": lambda v: max(v, mpmath.mpf(0)),
    "hardtanh": lambda v: min(max(v, mpmath.mpf(-1)), mpmath.mpf(1)),
    "exp": mpmath.exp,
    "log": lambda v: mpmath.log(v) if v > 0 else mpmath.mpc(0, 1),
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "sqrt": lambda v: mpmath.sqrt(v) if v >= 0 else mpmath.mpc(0, 1),
    "abs": abs,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "atan": mpmath.atan,
}

_ARITHMETIC = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: mpmath.power(a, b),
}
