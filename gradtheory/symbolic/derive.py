r"""Derive a cell's step Jacobian and parameter gradients in matrix form.

A tiny path algebra does the work. A *path product* is a sequence of factors, each a weight
chunk (``W_f``, possibly transposed) or ``diag(e)`` of an element-wise expression ``e``; a *path
sum* (:data:`PathSum`) maps the sequence of factors after a leading diagonal to that diagonal's
coefficient, so that ``diag(a) W + diag(b) W = diag(a + b) W`` and ``diag(a) diag(b) = diag(a b)``
hold by construction; the identity is the empty product with coefficient 1. Forward mode through
the stages gives every block ``d next_state / d state``:

* affine stage: ``d a_k / d s = sum over terms  chunk_k(M) @ d source / d s`` (``x`` gives 0);
* pointwise stage: ``d out / d s = sum over inputs  diag(d out / d in) @ d in / d s``, with the
  partial taken of the stage's own expression, then ``tanh(a) -> h_t`` etc. substituted back.

Reverse mode (the parameter gradients) transposes the path products from each affine chunk to
each next-state block and applies them to that block's adjoint :math:`\delta_t = dL/ds_t`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..numeric import _runtime
from .cell import Affine, Cell, Pointwise
from .latex import CellLatexPrinter, chunk_suffix, derivation_latex, derivation_names

__all__ = ["Derivation", "Diag", "Mat", "PathSum", "derive", "paths"]

#: Hidden size and input size of vector cells, as SymPy symbols (matrix shapes).
N = sp.Symbol("n", integer=True, positive=True)
N_IN = sp.Symbol("n_in", integer=True, positive=True)
_NUMERIC = {k: getattr(_runtime, k) for k in ("sigmoid", "relu", "step", "hardtanh", "box")}


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
        Parameter name -> contribution of one BPTT step, in the next state's adjoint
        ``delta_<block>``; stacked weights are ``BlockMatrix`` columns of their chunks.
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
            for w, src in [*stage.terms, *([(stage.bias, None)] if stage.bias else [])]:
                rows = N_IN if src in cell.inputs else N
                chunks = [
                    self.chunk_adjoints[o]
                    if src is None
                    else sp.MatMul(self.chunk_adjoints[o], sp.MatrixSymbol(src, rows, 1).T)
                    for o in stage.outputs
                ]
                g = chunks[0] if len(chunks) == 1 else sp.BlockMatrix([[c] for c in chunks])
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

    def __repr__(self) -> str:
        return f"Derivation({self.cell.name!r}, blocks={list(self.blocks)})"

    # -- numbers ----------------------------------------------------------------------------
    def forward_values(self, values: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Every name of the cell evaluated numerically (one step, one example).

        ``values`` holds the parameters, the state blocks and the inputs; scalar parameters
        default to the cell's values.
        """
        cell = self.cell
        env = {k: float(v) for k, v in cell.scalar_params.items() if v is not None}
        env.update({k: np.asarray(v, dtype=float) for k, v in values.items()})
        missing = [k for k in (*cell.state, *cell.inputs) if k not in env]
        if missing:
            raise ValueError(f"values must give the state and inputs; missing {missing}")
        for stage in cell.stages:
            if isinstance(stage, Affine):
                total = sum(env[w] @ env[s] for w, s in stage.terms)
                total = total + (env[stage.bias] if stage.bias else 0)
                for o, part in zip(stage.outputs, np.split(total, len(stage.outputs)), strict=True):
                    env[o] = part
            else:
                for o, e in zip(stage.outputs, stage.exprs, strict=True):
                    env[o] = _evaluate(e, env)
        return env

    def evaluate_jacobian(self, values: Mapping[str, object], n: int | None = None) -> np.ndarray:
        """The step Jacobian as an array (blocks in state order) at the given values.

        Examples
        --------
        >>> from gradtheory.cells import custom
        >>> d = derive(custom("r*h*(1 - h)", state="h", params={"r": 3.0}))
        >>> d.evaluate_jacobian({"h": 0.25}).tolist()
        [[1.5]]
        """
        env = self.forward_values(values)
        size = np.size(env[self.cell.state[0]])
        if n is not None and n != size:
            raise ValueError(f"n={n} does not match the state size {size}")
        k = len(self.cell.state)
        out = np.zeros((k * size, k * size))
        for a, o in enumerate(self.cell.state):
            for b, i in enumerate(self.cell.state):
                for key, coeff in self.blocks[(o, i)].items():
                    m = np.diag(np.broadcast_to(_evaluate(coeff, env), (size,)).astype(float))
                    for f in key:
                        m = m @ (
                            f.value(env, size)
                            if isinstance(f, Mat)
                            else np.diag(np.broadcast_to(_evaluate(f, env), (size,)))
                        )
                    out[a * size : (a + 1) * size, b * size : (b + 1) * size] += m
        return out


def _evaluate(expr: sp.Expr, env: Mapping[str, object]):
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    fn = sp.lambdify(syms, expr, modules=[_NUMERIC, "numpy"])
    return np.asarray(fn(*(env[s.name] for s in syms)), dtype=float)


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
    if cell.scalar_block and any(isinstance(s, Affine) for s in cell.stages):
        raise ValueError("cell: a scalar-block cell must consist of pointwise stages only")
    blocks = {}
    for i in cell.state:
        d = paths(cell, i, backsub=not cell.scalar_block)
        for o, nxt in zip(cell.state, cell.next_state, strict=True):
            blocks[(o, i)] = d.get(nxt, {})
    return Derivation(cell, blocks)
