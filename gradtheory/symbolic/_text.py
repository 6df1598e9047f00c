"""Plain-text forms of derivations and unrolled recurrences (``str(derive(cell))``).

Names carry their step in brackets (``h[t-1]``, ``f[t]``, ``delta_h[t]``); ``*`` is the
element-wise product (as in NumPy), ``@`` the matrix product, ``^T`` the transpose and
``diag(v)`` the diagonal matrix of ``v``. Stacked columns print as ``[a; b; c]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from .cell import Affine, Cell, Pointwise
from .latex import chunk_suffix

__all__ = ["CellStrPrinter", "derivation_text", "text_names", "unrolled_text"]

LEGEND = "(* element-wise, @ matrix product, ^T transpose, diag(v) diagonal matrix of v)"


class CellStrPrinter(StrPrinter):
    """:class:`~sympy.printing.str.StrPrinter` with a name table and matrix operators.

    Examples
    --------
    >>> h, W = sp.Symbol("h"), sp.MatrixSymbol("W", 3, 3)
    >>> CellStrPrinter({"h": "h[t-1]"}).doprint(W.T * sp.MatrixSymbol("h", 3, 1))
    'W^T @ h[t-1]'
    """

    def __init__(self, names: Mapping[str, str] | None = None, **settings):
        super().__init__(settings)
        self.names = dict(names or {})

    def _print_Symbol(self, expr):
        return self.names.get(expr.name, expr.name)

    _print_MatrixSymbol = _print_Symbol

    def _print_Transpose(self, expr):
        base = self._print(expr.arg)
        return f"{base}^T" if isinstance(expr.arg, sp.MatrixSymbol) else f"({base})^T"

    def _print_Identity(self, expr):
        return "I"

    def _print_ZeroMatrix(self, expr):
        return "0"

    def _print_MatMul(self, expr):
        parts = [self.parenthesize(a, PRECEDENCE["Mul"], strict=False) for a in expr.args]
        return " @ ".join(parts)

    def _print_BlockMatrix(self, expr):
        rows = expr.blocks.tolist()
        return "[" + "; ".join(", ".join(self._print(b) for b in row) for row in rows) + "]"

    def _print_MatrixBase(self, expr):
        rows = [", ".join(self._print(e) for e in row) for row in expr.tolist()]
        return "[" + "; ".join(rows) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase

    def parenthesize(self, item, level, strict=False):
        if isinstance(item, sp.MatAdd):
            return f"({self._print(item)})"
        if precedence(item) < level or (not strict and precedence(item) <= level):
            return f"({self._print(item)})"
        return self._print(item)


def text_names(cell: Cell) -> dict[str, str]:
    """``{name: text}``: state ``h -> h[t-1]``, next state ``h_new -> h[t]``, others ``[t]``.

    Examples
    --------
    >>> from gradtheory.cells import lstm
    >>> names = text_names(lstm())
    >>> names["c"], names["c_new"], names["f"], names["delta_a_f"]
    ('c[t-1]', 'c[t]', 'f[t]', 'delta_a_f[t]')
    """
    names = {name: f"{name}[t]" for name in cell.inputs}
    for stage in cell.stages:
        names.update({o: f"{o}[t]" for o in stage.outputs})
        if isinstance(stage, Affine):
            names.update({f"delta_{o}": f"delta_{o}[t]" for o in stage.outputs})
    for s, nxt in zip(cell.state, cell.next_state, strict=True):
        names.update({s: f"{s}[t-1]", nxt: f"{s}[t]", f"delta_{s}": f"delta_{s}[t]"})
    return names


def derivation_text(derivation) -> str:
    """Multi-line plain-text summary of a :class:`~gradtheory.symbolic.derive.Derivation`.

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> from gradtheory.symbolic.derive import derive
    >>> print(derivation_text(derive(elman("tanh"))))  # doctest: +NORMALIZE_WHITESPACE
    elman-tanh: h[t] = F(h[t-1], x[t])
      (* element-wise, @ matrix product, ^T transpose, diag(v) diagonal matrix of v)
    update:
      a[t] = W @ h[t-1] + U @ x[t] + b
      h[t] = tanh(a[t])
    step Jacobian:
      dh[t]/dh[t-1] = diag(1 - h[t]**2) @ W
    parameter gradients of one BPTT step (delta_s[t] = dL/ds[t]):
      dL/dW += (diag(1 - h[t]**2) @ delta_h[t]) @ h[t-1]^T
      dL/dU += (diag(1 - h[t]**2) @ delta_h[t]) @ x[t]^T
      dL/db += diag(1 - h[t]**2) @ delta_h[t]
    """
    cell = derivation.cell
    names = text_names(cell)
    txt = CellStrPrinter(names).doprint
    inputs = ", ".join(names[i] for i in (*cell.state, *cell.inputs))
    after = ", ".join(names[s] for s in cell.next_state)
    lines = [f"{cell.name}: {after} = F({inputs})"]
    lines += ["update:"] if cell.scalar_block else [f"  {LEGEND}", "update:"]
    for stage in cell.stages:
        if isinstance(stage, Pointwise):
            pairs = zip(stage.outputs, stage.exprs, strict=True)
            lines += [f"  {names[o]} = {txt(e)}" for o, e in pairs]
            continue
        for out in stage.outputs:
            sfx = chunk_suffix(stage.outputs, out)
            rhs = [f"{_chunk(w, sfx)} @ {names[src]}" for w, src in stage.terms]
            rhs += [_chunk(stage.bias, sfx)] if stage.bias else []
            lines.append(f"  {names[out]} = {' + '.join(rhs)}")
    lines.append("step Jacobian:")
    if cell.scalar_block and len(cell.state) > 1:
        before = ", ".join(names[s] for s in cell.state)
        lines.append(f"  d({after})/d({before}) = {txt(derivation.jacobian)}")
    elif cell.scalar_block:
        lines.append(f"  d{after}/d{names[cell.state[0]]} = {txt(derivation.jacobian[0])}")
    else:
        for (o, i), block in derivation.block_jacobians.items():
            nxt = names[cell.next_state[cell.state.index(o)]]
            lines.append(f"  d{nxt}/d{names[i]} = {txt(block)}")
    if derivation.stacked_adjoints:
        lines.append("adjoints of the stacked affine chunks (delta_a[t] = dL/da[t]):")
        defined: dict = {}
        for chunk, adjoint in derivation.stacked_adjoints.items():
            lhs = txt(derivation.adjoint(chunk))
            lines.append(f"  {lhs} = {defined.get(adjoint) or txt(adjoint)}")
            defined.setdefault(adjoint, lhs)
    lines.append("parameter gradients of one BPTT step (delta_s[t] = dL/ds[t]):")
    for name, grad in derivation.param_gradients.items():
        lines.append(f"  dL/d{name} += {txt(grad)}")
    return "\n".join(lines)


def _chunk(weight: str, suffix: str | None) -> str:
    return f"{weight}_{suffix}" if suffix else weight


def unrolled_text(unrolled) -> str:
    """Plain-text form of an :class:`~gradtheory.symbolic.unroll.Unrolled` (see its ``latex``).

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> from gradtheory.symbolic.unroll import unroll
    >>> print(unrolled_text(unroll(elman("tanh"), 2)).splitlines()[-4])
      dh_2/dh_0 = (w*(1 - h_2**2)) * (w*(1 - h_1**2))
    """
    u, printer = unrolled, CellStrPrinter()
    txt = printer.doprint
    t = u.steps
    state = lambda j: txt(u.symbol(u.cell.next_state[0], j))  # noqa: E731
    params = ", ".join(u.params)
    lines = [f"{u.cell.name} unrolled for {t} steps (parameters {params}):"]
    lines += [f"  {state(j)} = {txt(u.explicit_step(j))}" for j in range(1, min(t, 2) + 1)]
    lines.append(f"  d{state(1)}/d{txt(u.states[0])} = {txt(u.factors(1)[0])}")
    lines.append("gradients as BPTT sums over paths (one product per path, latest step first):")
    for wrt in [u.states[0].name, *u.params]:
        terms = u.path_terms(wrt, t)
        body = " + ".join(_product(printer, [f for f in p if f != 1]) for p in terms)
        label = wrt if wrt in u.params else txt(u.states[0])
        lines.append(f"  d{state(t)}/d{label} = {body or '0'}")
    return "\n".join(lines)


def _product(printer: CellStrPrinter, factors: list) -> str:
    if len(factors) <= 1:
        return printer.parenthesize(factors[0], PRECEDENCE["Add"]) if factors else "1"
    return " * ".join(printer.parenthesize(f, PRECEDENCE["Mul"]) for f in factors)
