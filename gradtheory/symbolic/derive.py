r"""Derive a cell's step Jacobian and parameter gradients in matrix form.

Forward mode through the stages, in the path algebra of :mod:`gradtheory.symbolic._paths`
(sums of products of weight chunks and ``diag(...)`` factors), gives every Jacobian block
``d next_state / d state``. Reverse mode (the parameter gradients) transposes the path products
from each affine chunk to each next-state block and applies them to that block's adjoint
:math:`\delta_t = dL/ds_t`; for a stacked affine map (the gates) the adjoint of each chunk is
named once (``delta_a_f``) and the weight gradient is the stacked column of chunk adjoints
times the source transposed, as in the textbook LSTM equations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .._validate import CellArg, validate
from ._evaluate import evaluate_jacobian, forward_values
from ._paths import N_IN, Diag, Mat, N, PathSum, _factors, _product, _total, path_expr, paths
from ._text import derivation_text
from .cell import Affine, Cell
from .latex import CellLatexPrinter, derivation_latex, derivation_names

__all__ = ["Derivation", "Diag", "Mat", "PathSum", "derive", "path_expr", "paths"]


@dataclass
class Derivation:
    r"""Step Jacobian and one step's parameter-gradient contributions of a cell.

    Attributes
    ----------
    cell : Cell
    blocks : dict
        ``(out_block, in_block) -> PathSum`` for ``d out_t / d in_{t-1}`` (state names).
    jacobian : sympy matrix expression or sympy.Matrix
        One state block: ``MatAdd``/``MatMul`` of weight chunks and :class:`Diag`; several
        blocks (LSTM): a ``BlockMatrix`` in state order; scalar (custom) cells: an explicit
        ``sympy.Matrix`` of partial derivatives.
    param_gradients : dict
        Parameter name -> contribution of one BPTT step. A single-chunk affine map gives
        ``(chunk adjoint) source^T`` written out in the next state's adjoints ``delta_<block>``;
        a stacked one (gates) gives the ``BlockMatrix`` column of its chunks' :meth:`adjoint`
        symbols times ``source^T`` (see :attr:`stacked_adjoints`, :meth:`expand_adjoints`).
    chunk_adjoints : dict
        Affine output (``a_f``) -> its adjoint, a matrix expression in ``delta_<block>``.

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> derive(elman("tanh")).latex_jacobian()
    '\\operatorname{diag}\\left(1 - h_{t}^{2}\\right) W'
    """

    cell: Cell
    blocks: dict

    def __post_init__(self):
        self.names = derivation_names(self.cell)
        self.printer = CellLatexPrinter(self.names, hadamard=not self.cell.scalar_block)

    # -- symbolic results ---------------------------------------------------------------
    @cached_property
    def jacobian(self):
        state = self.cell.state
        if self.cell.scalar_block:
            entry = lambda i, j: self.blocks[(state[i], state[j])].get((), sp.S.Zero)  # noqa: E731
            return sp.Matrix(len(state), len(state), entry)
        grid = [[path_expr(self.blocks[(o, i)]) for i in state] for o in state]
        return grid[0][0] if len(state) == 1 else sp.BlockMatrix(grid)

    def delta(self, block: str):
        """The adjoint symbol of next-state block ``block``."""
        if self.cell.scalar_block:
            return sp.Symbol(f"delta_{block}", real=True)
        return sp.MatrixSymbol(f"delta_{block}", N, 1)

    @cached_property
    def chunk_adjoints(self) -> dict:
        out = {}
        for stage in self.cell.stages:
            if isinstance(stage, Affine):
                for name in stage.outputs:
                    p = paths(self.cell, name)
                    terms = [
                        _product([*_factors(k, c, transpose=True), self.delta(s)])
                        for s, nxt in zip(self.cell.state, self.cell.next_state, strict=True)
                        for k, c in p.get(nxt, {}).items()
                    ]
                    out[name] = _total(terms, 1)
        return out

    def adjoint(self, chunk: str) -> MatrixExpr:
        """``delta_<chunk>``: the symbol of the adjoint dL/d chunk of a stacked affine chunk."""
        return sp.MatrixSymbol(f"delta_{chunk}", N, 1)

    @cached_property
    def stacked_adjoints(self) -> dict:
        """:attr:`chunk_adjoints` of the affine stages with two or more chunks (the gates).

        :attr:`param_gradients` refers to these through :meth:`adjoint` symbols.
        """
        return {
            o: self.chunk_adjoints[o]
            for stage in self.cell.stages
            if isinstance(stage, Affine) and len(stage.outputs) > 1
            for o in stage.outputs
        }

    def expand_adjoints(self, expr):
        """``expr`` with every :meth:`adjoint` symbol replaced by its definition."""
        return expr.xreplace({self.adjoint(o): a for o, a in self.stacked_adjoints.items()})

    @cached_property
    def param_gradients(self) -> dict:
        cell, grads = self.cell, {}
        if cell.scalar_block:
            for r in cell.scalar_params:
                p = paths(cell, r, backsub=False)
                grads[r] = sp.Add(
                    *(
                        self.delta(s) * p.get(nxt, {}).get((), 0)
                        for s, nxt in zip(cell.state, cell.next_state, strict=True)
                    )
                )
            return grads
        for stage in cell.stages:
            if not isinstance(stage, Affine):
                continue
            if len(stage.outputs) == 1:
                column = self.chunk_adjoints[stage.outputs[0]]
            else:
                column = sp.BlockMatrix([[self.adjoint(o)] for o in stage.outputs])
            for w, src in [*stage.terms, *([(stage.bias, None)] if stage.bias else [])]:
                rows = N_IN if src in cell.inputs else N
                g = column if src is None else sp.MatMul(column, sp.MatrixSymbol(src, rows, 1).T)
                grads[w] = sp.MatAdd(grads[w], g) if w in grads else g
        return grads

    # -- LaTeX ------------------------------------------------------------------------------
    @property
    def block_jacobians(self) -> dict:
        """``(out_block, in_block) -> matrix expression`` of each Jacobian block."""
        return {key: path_expr(s) for key, s in self.blocks.items()}

    def latex_jacobian(self) -> str:
        """LaTeX of :attr:`jacobian` alone."""
        return self.printer.doprint(self.jacobian)

    def latex(self) -> str:
        r"""Update equations, Jacobian and parameter gradients in one ``aligned`` environment."""
        return derivation_latex(self)

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def text(self) -> str:
        """Plain-text summary: update equations, Jacobian blocks, adjoints, gradients."""
        return derivation_text(self)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Derivation({self.cell.name!r}, blocks={list(self.blocks)})"

    # -- numbers ----------------------------------------------------------------------------
    def forward_values(self, values: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Every name of the cell evaluated numerically (one step, one example).

        ``values`` holds the parameters, the state blocks and the inputs; scalar parameters
        default to the cell's values.
        """
        return forward_values(self.cell.with_real_symbols(), values)

    def evaluate_jacobian(self, values: Mapping[str, object], n: int | None = None) -> np.ndarray:
        """The step Jacobian as an array (blocks in state order) at the given values.

        Evaluated in real arithmetic (see :meth:`Cell.with_real_symbols`).

        Examples
        --------
        >>> from gradtheory.cells import custom
        >>> d = derive(custom("r*h*(1 - h)", state="h", params={"r": 3.0}))
        >>> d.evaluate_jacobian({"h": 0.25}).tolist()
        [[1.5]]
        """
        real = self.cell.with_real_symbols()
        blocks = self.blocks if real is self.cell else derive(real).blocks
        return evaluate_jacobian(real, blocks, values, n)


@validate(cell=CellArg())
def derive(cell: Cell) -> Derivation:
    """Derive the step Jacobian ``d s_t / d s_{t-1}`` and parameter gradients of ``cell``.

    Examples
    --------
    >>> from gradtheory.cells import custom
    >>> derive(custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params=["a", "b"])).jacobian
    Matrix([
    [-2*a*x, 1],
    [     b, 0]])
    """
    if not isinstance(cell, Cell):
        raise TypeError(
            f"cell must be a gradtheory Cell (e.g. gt.cells.elman()), got {type(cell).__name__}"
        )
    if cell.norm == "batch":  # couples the samples: its own derivation
        from .batchnorm import derive_batchnorm

        return derive_batchnorm(cell)
    if cell.scalar_block and any(isinstance(s, Affine) for s in cell.stages):
        raise ValueError("cell: a scalar-block cell must consist of pointwise stages only")
    blocks = {}
    for i in cell.state:
        d = paths(cell, i, backsub=not cell.scalar_block)
        for o, nxt in zip(cell.state, cell.next_state, strict=True):
            blocks[(o, i)] = d.get(nxt, {})
    return Derivation(cell, blocks)
