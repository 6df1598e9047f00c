r"""LaTeX for cells and derivations: textbook names, Hadamard products, transposes, diag.

:class:`CellLatexPrinter` is a :class:`sympy.printing.latex.LatexPrinter` that

* prints every name through a cell's ``latex_names`` (``h -> h_{t-1}``, ``h_new -> h_{t}``);
* for vector cells writes a product of two or more vectors with ``\odot`` (element-wise),
  while scalar (custom) cells keep ordinary multiplication;
* writes transposes as ``^{\top}``, the identity as ``I`` and zero blocks as ``0``.

The ``diag`` operator prints itself (see :class:`gradtheory.symbolic.derive.Diag`) as
``\operatorname{diag}\left(...\right)``, and the sigmoid as ``\sigma``.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .cell import Cell

__all__ = ["CellLatexPrinter", "cell_latex", "chunk_latex", "latex_name"]


class CellLatexPrinter(LatexPrinter):
    r"""LaTeX printer with a name table and Hadamard products for vector cells.

    Parameters
    ----------
    names : mapping of str to str
        LaTeX for symbol (and matrix-symbol) names; other names print as SymPy would.
    hadamard : bool
        If True, products of two or more non-numeric factors are joined by ``\odot``.

    Examples
    --------
    >>> CellLatexPrinter({"f": "f_{t}", "c": "c_{t-1}"}, hadamard=True).doprint(
    ...     sp.Symbol("f") * sp.Symbol("c"))
    'c_{t-1} \\odot f_{t}'
    """

    _default_settings = {**LatexPrinter._default_settings, "names": {}, "hadamard": False}

    def __init__(self, names: Mapping[str, str] | None = None, hadamard: bool = False, **settings):
        settings.setdefault("mul_symbol", None)
        super().__init__({**settings, "names": dict(names or {}), "hadamard": bool(hadamard)})

    def _print_Symbol(self, expr, style="plain"):
        names = self._settings["names"]
        if expr.name in names:
            return names[expr.name]
        return super()._print_Symbol(expr, style=style)

    def _print_MatrixSymbol(self, expr):
        return self._print_Symbol(expr)

    def _print_Transpose(self, expr):
        base = self._print(expr.arg)
        if not isinstance(expr.arg, (sp.MatrixSymbol, sp.Symbol)):
            base = rf"\left({base}\right)"
        return rf"{base}^{{\top}}"

    def _print_Identity(self, expr):
        return "I"

    def _print_ZeroMatrix(self, expr):
        return "0"

    def _print_Mul(self, expr):
        if not self._settings["hadamard"]:
            return super()._print_Mul(expr)
        coeff, rest = expr.as_coeff_Mul()
        if coeff.is_negative:
            return "- " + self._print_Mul(-expr) if isinstance(-expr, sp.Mul) else (
                "- " + self._print(-expr))
        factors = list(rest.as_ordered_factors()) if isinstance(rest, sp.Mul) else [rest]
        numer = [f for f in factors if not _is_reciprocal(f)]
        denom = [1 / f for f in factors if _is_reciprocal(f)]
        if denom:
            top = self._hadamard(numer) if numer else "1"
            bottom = self._hadamard(denom)
            body = rf"\frac{{{top}}}{{{bottom}}}"
        else:
            body = self._hadamard(numer)
        if coeff == 1:
            return body
        return f"{self._print(coeff)} {body}"

    def _hadamard(self, factors: list[sp.Expr]) -> str:
        if len(factors) == 1:
            return self._print(factors[0])
        parts = [self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in factors]
        return r" \odot ".join(parts)


def _is_reciprocal(factor: sp.Expr) -> bool:
    return (
        isinstance(factor, sp.Pow)
        and factor.exp.is_number
        and bool(factor.exp.is_negative)
    )


def latex_name(cell: Cell, name: str) -> str:
    """LaTeX of ``name`` in ``cell``: its ``latex_names`` entry or SymPy's rendering.

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> latex_name(elman("tanh"), "h_new")
    'h_{t}'
    """
    if name in cell.latex_names:
        return cell.latex_names[name]
    return sp.latex(sp.Symbol(name))


def chunk_latex(base: str, suffix: str | None) -> str:
    """LaTeX of one chunk of a stacked parameter: ``W`` + ``f`` -> ``W_{f}``.

    Examples
    --------
    >>> chunk_latex("W_{1}", "f")
    'W_{1,f}'
    """
    if suffix is None:
        return base
    suffix = sp.latex(sp.Symbol(suffix))
    if base.endswith("}") and "_{" in base and base.count("{") == 1:
        return base[:-1] + "," + suffix + "}"
    return f"{base}_{{{suffix}}}"


def cell_latex(expr, cell: Cell, names: Mapping[str, str] | None = None) -> str:
    r"""Print ``expr`` with the cell's names (and extra ``names``), ``\odot`` for vector cells.

    Examples
    --------
    >>> from gradtheory.cells import lstm
    >>> cell_latex(sp.Symbol("f") * sp.Symbol("c"), lstm())
    'c_{t-1} \\odot f_{t}'
    """
    table = dict(cell.latex_names)
    table.update(names or {})
    return CellLatexPrinter(table, hadamard=not cell.scalar_block).doprint(expr)
