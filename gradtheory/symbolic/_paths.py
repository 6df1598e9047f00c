r"""The path algebra behind :mod:`gradtheory.symbolic.derive`.

A *path product* is a sequence of factors, each a weight chunk (``W_f``, possibly transposed,
see :class:`Mat`) or ``diag(e)`` of an element-wise expression ``e`` (:class:`Diag`); a *path
sum* (:data:`PathSum`) maps the sequence of factors after a leading diagonal to that diagonal's
coefficient, so that ``diag(a) W + diag(b) W = diag(a + b) W`` and ``diag(a) diag(b) = diag(a b)``
hold by construction; the identity is the empty product with coefficient 1. Forward mode through
the stages (:func:`paths`) gives ``d name / d seed`` for every name after ``seed``:

* affine stage: ``d a_k / d s = sum over terms  chunk_k(M) @ d source / d s`` (``x`` gives 0);
* pointwise stage: ``d out / d s = sum over inputs  diag(d out / d in) @ d in / d s``, with the
  partial taken of the stage's own expression, then ``tanh(a) -> h_t`` etc. substituted back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .cell import Affine, Cell, Pointwise
from .latex import chunk_suffix

__all__ = ["IDENTITY", "N_IN", "Diag", "Mat", "N", "PathSum", "path_expr", "paths"]

#: Hidden size and input size of vector cells, as SymPy symbols (matrix shapes).
N = sp.Symbol("n", integer=True, positive=True)
N_IN = sp.Symbol("n_in", integer=True, positive=True)


class Diag(MatrixExpr):
    r"""``diag(e)``: the n x n diagonal matrix of the element-wise expression ``e``.

    Examples
    --------
    >>> sp.latex(Diag(sp.Symbol("z"), N))
    '\\operatorname{diag}\\left(z\\right)'
    """

    def __new__(cls, expr, n=N):
        return MatrixExpr.__new__(cls, sp.sympify(expr), sp.sympify(n))

    @property
    def expr(self) -> sp.Expr:
        return self.args[0]

    @property
    def shape(self):
        return (self.args[1], self.args[1])

    def _eval_transpose(self):
        return self

    def _latex(self, printer, exp=None):
        return rf"\operatorname{{diag}}\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer):
        return f"diag({printer._print(self.args[0])})"


@dataclass(frozen=True)
class Mat:
    """Row block ``chunk`` of weight ``weight`` (``label``: its matrix-symbol name)."""

    weight: str
    chunk: int
    label: str
    transposed: bool = False

    def symbol(self) -> MatrixExpr:
        m = sp.MatrixSymbol(self.label, N, N)
        return m.T if self.transposed else m

    def value(self, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        m = np.asarray(values[self.weight], dtype=float)[self.chunk * n : (self.chunk + 1) * n]
        return m.T if self.transposed else m


#: ``{factors after the leading diag: leading diag coefficient}``; factors are Mat or sp.Expr.
PathSum = dict
IDENTITY: PathSum = {(): sp.S.One}


def _add(*sums: PathSum) -> PathSum:
    out: PathSum = {}
    for s in sums:
        for key, coeff in s.items():
            out[key] = out.get(key, 0) + coeff
    return {k: c for k, c in out.items() if c != 0}


def _scale(d: sp.Expr, s: PathSum) -> PathSum:
    return {k: d * c for k, c in s.items()} if d != 0 else {}


def _prepend(m: Mat, s: PathSum) -> PathSum:
    return _add(*({(m, *(() if c == 1 else (c,)), *k): sp.S.One} for k, c in s.items()))


def _defining_stage(cell: Cell, name: str) -> int:
    for index, stage in enumerate(cell.stages):
        if name in stage.outputs:
            return index
    return -1


def paths(cell: Cell, seed: str, *, backsub: bool = True) -> dict[str, PathSum]:
    """Forward mode: ``{name: d name / d seed}`` as path sums, for every name after ``seed``.

    ``backsub`` replaces a stage's function-valued expressions by its output names in the
    partials (``1 - tanh(a)**2 -> 1 - h_new**2``).

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> paths(elman("tanh"), "h")["h_new"]
    {(Mat(weight='W', chunk=0, label='W', transposed=False),): 1 - h_new**2}
    """
    d: dict[str, PathSum] = {seed: IDENTITY}
    names: dict[sp.Expr, sp.Symbol] = {}
    for stage in cell.stages[_defining_stage(cell, seed) + 1 :]:
        if isinstance(stage, Affine):
            for index, out in enumerate(stage.outputs):
                sfx = chunk_suffix(stage.outputs, out)
                mats = [(Mat(w, index, f"{w}_{sfx}" if sfx else w), src) for w, src in stage.terms]
                d[out] = _add(*(_prepend(m, d[src]) for m, src in mats if d.get(src)))
            continue
        assert isinstance(stage, Pointwise)
        if backsub:
            names.update(
                {
                    e: cell.symbol(o)
                    for o, e in zip(stage.outputs, stage.exprs, strict=True)
                    if isinstance(e, sp.Function)
                }
            )
        for out, expr in zip(stage.outputs, stage.exprs, strict=True):
            terms = []
            for sym in sorted(expr.free_symbols, key=lambda s: s.name):
                if d.get(sym.name):
                    terms.append(_scale(sp.diff(expr, sym).xreplace(names), d[sym.name]))
            d[out] = _add(*terms)
    return d


def _factors(key: tuple, coeff: sp.Expr, transpose: bool = False) -> list:
    """Matrix factors of one path product, or of its transpose (reversed, ``W -> W^T``)."""
    if transpose:
        key = tuple(replace(f, transposed=True) if isinstance(f, Mat) else f for f in key[::-1])
    out = [f.symbol() if isinstance(f, Mat) else Diag(f) for f in key]
    diag = [] if coeff == 1 else [Diag(coeff)]
    return out + diag if transpose else diag + out


def _product(factors: list, n=N) -> MatrixExpr:
    if not factors:
        return sp.Identity(n)
    return factors[0] if len(factors) == 1 else sp.MatMul(*factors)


def _total(terms: list, cols=N) -> MatrixExpr:
    if not terms:
        return sp.ZeroMatrix(N, cols)
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


def path_expr(s: PathSum) -> MatrixExpr:
    """The matrix expression of a path sum (``ZeroMatrix`` if empty)."""
    return _total([_product(_factors(k, c)) for k, c in s.items()])
