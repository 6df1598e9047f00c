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

from collections.abc import Mapping, Sequence
from typing import ClassVar

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .cell import Affine, Cell, Pointwise

__all__ = [
    "CellLatexPrinter",
    "cell_latex",
    "chunk_latex",
    "chunk_suffix",
    "derivation_latex",
    "derivation_names",
    "latex_name",
]


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

    _default_settings: ClassVar[dict] = {
        **LatexPrinter._default_settings,
        "names": {},
        "hadamard": False,
    }

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
            return "- " + self._print(-expr)
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
    return isinstance(factor, sp.Pow) and factor.exp.is_number and bool(factor.exp.is_negative)


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


def chunk_suffix(outputs: Sequence[str], out: str) -> str | None:
    """Chunk label of affine output ``out``: ``a_f -> f``; None for a single-chunk affine.

    Examples
    --------
    >>> chunk_suffix(("a_i", "a_f"), "a_f")
    'f'
    """
    if len(outputs) == 1:
        return None
    return out.rsplit("_", 1)[-1] if "_" in out else out


def derivation_names(cell: Cell) -> dict[str, str]:
    r"""Name table for derivations: the cell's names, weight chunks (``W_f``) and adjoints.

    Examples
    --------
    >>> from gradtheory.cells import lstm
    >>> derivation_names(lstm())["W_f"], derivation_names(lstm())["delta_c"]
    ('W_{f}', '\\delta^{c}_{t}')
    """
    names = dict(cell.latex_names)
    for stage in cell.stages:
        if isinstance(stage, Affine):
            for name in [w for w, _ in stage.terms] + ([stage.bias] if stage.bias else []):
                for out in stage.outputs:
                    sfx = chunk_suffix(stage.outputs, out)
                    names[f"{name}_{sfx}" if sfx else name] = chunk_latex(
                        latex_name(cell, name), sfx
                    )
    for s in cell.state:
        names[f"delta_{s}"] = (
            r"\delta_{t}" if len(cell.state) == 1 else rf"\delta^{{{sp.latex(sp.Symbol(s))}}}_{{t}}"
        )
    for stage in cell.stages:
        if isinstance(stage, Affine) and len(stage.outputs) > 1:
            for out in stage.outputs:
                base = latex_name(cell, out).removesuffix("_{t}")
                names[f"delta_{out}"] = rf"\delta^{{{base}}}_{{t}}"
    return names


def derivation_latex(derivation) -> str:
    r"""``aligned`` LaTeX of a :class:`~gradtheory.symbolic.derive.Derivation`.

    One line per stage output (per chunk for stacked affine maps), one per Jacobian block
    (the whole matrix for scalar cells), one defining the adjoint of each chunk of a stacked
    affine map (``\delta^{\tilde{f}}_{t}``; a chunk with the same adjoint as an earlier one
    refers to it) and one per parameter gradient contribution, which for stacked maps is the
    column of chunk adjoints times the source transposed.

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> from gradtheory.symbolic.derive import derive
    >>> derivation_latex(derive(elman("tanh"))).splitlines()[0]
    '\\begin{aligned}'
    """
    cell, tex, lines = derivation.cell, derivation.printer.doprint, []
    for stage in cell.stages:
        if isinstance(stage, Pointwise):
            for out, expr in zip(stage.outputs, stage.exprs, strict=True):
                lines.append(f"{tex(cell.symbol(out))} &= {tex(expr)}")
            continue
        for out in stage.outputs:
            sfx = chunk_suffix(stage.outputs, out)
            rhs = [
                f"{chunk_latex(latex_name(cell, w), sfx)} {latex_name(cell, src)}"
                for w, src in stage.terms
            ]
            rhs += [chunk_latex(latex_name(cell, stage.bias), sfx)] if stage.bias else []
            lines.append(f"{latex_name(cell, out)} &= {' + '.join(rhs)}")
    before = [latex_name(cell, s) for s in cell.state]
    after = [latex_name(cell, s) for s in cell.next_state]
    if cell.scalar_block:
        jac = derivation.jacobian
        if len(before) == 1:
            lines.append(rf"\frac{{\partial {after[0]}}}{{\partial {before[0]}}} &= {tex(jac[0])}")
        else:
            frac = rf"\frac{{\partial ({', '.join(after)})}}{{\partial ({', '.join(before)})}}"
            lines.append(f"{frac} &= {tex(jac)}")
    else:
        for (o, i), block in derivation.block_jacobians.items():
            num, den = after[cell.state.index(o)], latex_name(cell, i)
            lines.append(rf"\frac{{\partial {num}}}{{\partial {den}}} &= {tex(block)}")
    defined: dict = {}  # adjoint expression -> LaTeX of the first chunk that has it
    for chunk, adjoint in derivation.stacked_adjoints.items():
        lhs = tex(derivation.adjoint(chunk))
        lines.append(f"{lhs} &= {defined.get(adjoint) or tex(adjoint)}")
        defined.setdefault(adjoint, lhs)
    for name, grad in derivation.param_gradients.items():
        label = derivation.names.get(name, latex_name(cell, name))
        lines.append(rf"\frac{{\partial L}}{{\partial {label}}} &\mathrel{{+}}= {tex(grad)}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
