"""The cell: a recurrence written as a few affine maps and element-wise (pointwise) stages.

A cell maps the previous state blocks (``h``, or ``h`` and ``c`` for the LSTM) and the input
``x`` to the next state. It is a straight-line program of two kinds of stage:

* :class:`Affine`: ``a = sum_k M_k @ source_k + b``, split into equal chunks (the gates);
* :class:`Pointwise`: scalar SymPy expressions applied element by element to vectors of one
  size (the core: activations, gates, Hadamard products, skip connections).

The symbolic side derives every pointwise partial derivative once; the numeric side does the
matrix products, the loop over steps and the sums. A stage reads any name defined before it:
the state blocks, ``x`` (for affine terms), earlier stage outputs and scalar parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import sympy as sp

__all__ = ["Affine", "BatchNorm", "Cell", "Pointwise"]


@dataclass(frozen=True)
class Affine:
    """``concat(outputs) = sum_k weight_k @ source_k + bias``; each output chunk has the block size.

    Parameters
    ----------
    outputs : tuple of str
        Names of the chunks, in row order of the stacked weights (e.g. the LSTM gates i, f, g, o).
    terms : tuple of (weight name, source name)
        Each weight has shape (len(outputs) * n, size of source).
    bias : str or None
        Bias of shape (len(outputs) * n,).
    """

    outputs: tuple[str, ...]
    terms: tuple[tuple[str, str], ...]
    bias: str | None = None


@dataclass(frozen=True)
class Pointwise:
    """Element-wise stage: ``outputs[k] = exprs[k]`` with scalar symbols standing for vectors."""

    outputs: tuple[str, ...]
    exprs: tuple[sp.Expr, ...]


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalisation of ``source`` over the batch, per unit (couples the samples).

    ``outputs[0] = scale * (source - mean_batch) / sqrt(var_batch + eps) + shift`` in training
    mode (biased variance over the B samples); running statistics in evaluation mode. Executed
    by :mod:`gradtheory.numeric.batchnorm` (not by the per-sample kernels); derived by
    :mod:`gradtheory.symbolic.batchnorm`.

    Parameters
    ----------
    outputs : tuple of one str
    source : str
        An affine output of block size n.
    scale, shift : str or None
        Learned per-unit parameters (shape (n,), initialised to 1 and 0); None: no affine part.
    eps : float
        Added to the variance (PyTorch's default 1e-5).
    momentum : float
        Weight of the new batch in the running statistics (PyTorch's default 0.1).
    """

    outputs: tuple[str, ...]
    source: str
    scale: str | None = "gamma"
    shift: str | None = "beta"
    eps: float = 1e-5
    momentum: float = 0.1


@dataclass(frozen=True)
class Cell:
    """A recurrence ``s_t = F(s_{t-1}, x_t; theta)`` built from stages.

    Parameters
    ----------
    name : str
        Short name (``"elman-tanh"``, ``"lstm"``).
    state : tuple of str
        State block names in order; the first is the hidden output.
    next_state : tuple of str
        For each state block, the stage output that becomes its next value.
    stages : tuple of Affine or Pointwise
    scalar_block : bool
        True for custom maps, whose state blocks and inputs are single numbers; False for
        vector cells, whose blocks all have the hidden size n.
    inputs : tuple of str
        Input names: ``("x",)`` for vector cells (size n_in), the scalar input symbols otherwise.
    scalar_params : dict of str to float
        Scalar parameters of custom maps with their default values.
    latex_names : dict of str to str
        LaTeX for each name at step t (state blocks print as their value at t - 1).
    activation : str or None
    description : str
    default_init : str
        Initialisation used by :class:`gradtheory.Network` when none is given.
    bias_init : dict
        Initial bias values per chunk, e.g. ``{"b": {"a_T": -2.0}}`` for the highway gate.
    symbols : dict of str to sympy.Symbol
        The symbol standing for each name in the pointwise expressions (state blocks, inputs,
        scalar parameters, stage outputs). Names not given here get ``Symbol(name, real=True)``;
        :func:`~gradtheory.cells.custom` passes the user's own symbols, assumptions included.
        After construction every such name is present (``cell.symbols["h"]``).
    family : str or None
        Key of the cell's entry in :data:`gradtheory.symbolic.registry.CELLS` (``"elman"``,
        ``"lstm"``...), from which its traits are read (:attr:`spec`); None for custom cells.
    """

    name: str
    state: tuple[str, ...]
    next_state: tuple[str, ...]
    stages: tuple[Affine | Pointwise | BatchNorm, ...]
    scalar_block: bool = False
    inputs: tuple[str, ...] = ("x",)
    scalar_params: dict[str, float] = field(default_factory=dict)
    latex_names: dict[str, str] = field(default_factory=dict)
    activation: str | None = None
    description: str = ""
    default_init: str = "gaussian"
    bias_init: dict[str, dict[str, float]] = field(default_factory=dict)
    symbols: dict[str, sp.Symbol] = field(default_factory=dict)
    family: str | None = None

    def __post_init__(self):
        given = dict(self.symbols)
        for name, symbol in given.items():
            if not isinstance(symbol, sp.Symbol) or symbol.name != name:
                raise TypeError(
                    f"Cell: argument 'symbols' must map each name to a SymPy Symbol of that "
                    f"name; got {name!r}: {symbol!r}"
                )
        names = (*self.state, *self.inputs, *self.scalar_params)
        names += tuple(o for stage in self.stages for o in stage.outputs)
        extra = sorted(set(given) - set(names))
        if extra:
            raise ValueError(
                f"Cell: argument 'symbols' names {extra}, which are not state, input, scalar "
                f"parameter or stage-output names of the cell"
            )
        full = {
            name: given[name] if name in given else sp.Symbol(name, real=True) for name in names
        }
        object.__setattr__(self, "symbols", full)
        _validate(self)

    # -- derived structure -------------------------------------------------------------
    @property
    def norm(self) -> str | None:
        """``"batch"`` if a :class:`BatchNorm` stage couples the samples, else None."""
        return "batch" if any(isinstance(s, BatchNorm) for s in self.stages) else None

    @property
    def eps(self) -> float | None:
        """The batch-normalisation epsilon (None without normalisation)."""
        found = [s.eps for s in self.stages if isinstance(s, BatchNorm)]
        return found[0] if found else None

    @property
    def matrix_params(self) -> tuple[str, ...]:
        """Names of the weight matrices, biases and normalisation scales/shifts, in order."""
        names: list[str] = []
        for stage in self.stages:
            if isinstance(stage, BatchNorm):
                names += [p for p in (stage.scale, stage.shift) if p and p not in names]
            elif isinstance(stage, Affine):
                for weight, _ in stage.terms:
                    if weight not in names:
                        names.append(weight)
                if stage.bias and stage.bias not in names:
                    names.append(stage.bias)
        return tuple(names)

    @property
    def param_names(self) -> tuple[str, ...]:
        """All parameter names: matrices and biases, then scalar parameters."""
        return self.matrix_params + tuple(self.scalar_params)

    def param_shapes(self, n_hidden: int, n_in: int) -> dict[str, tuple[int, ...]]:
        """Shape of every parameter for hidden size ``n_hidden`` and input size ``n_in``.

        Examples
        --------
        >>> from gradtheory.cells import lstm
        >>> lstm().param_shapes(3, 2)["W"]
        (12, 3)
        """
        shapes: dict[str, tuple[int, ...]] = {}
        for stage in self.stages:
            if isinstance(stage, Affine):
                rows = len(stage.outputs) * n_hidden
                for weight, source in stage.terms:
                    cols = n_in if source in self.inputs else n_hidden
                    _set_shape(shapes, weight, (rows, cols))
                if stage.bias:
                    _set_shape(shapes, stage.bias, (rows,))
            elif isinstance(stage, BatchNorm):
                for name in (stage.scale, stage.shift):
                    if name:
                        _set_shape(shapes, name, (n_hidden,))
        for name in self.scalar_params:
            shapes[name] = ()
        return shapes

    @property
    def key(self) -> str:
        """Stable hash of the definition (names, stages and expressions)."""
        text = repr(
            (
                self.name,
                self.state,
                self.next_state,
                self.inputs,
                tuple(sorted(self.scalar_params)),
                tuple(
                    (
                        type(s).__name__,
                        s.outputs,
                        getattr(s, "terms", None),
                        getattr(s, "bias", None),
                        tuple(sp.srepr(e) for e in getattr(s, "exprs", ())),
                    )
                    if not isinstance(s, BatchNorm)
                    else repr(s)
                    for s in self.stages
                ),
                # assumptions change what SymPy simplifies, hence the generated code
                tuple((n, sp.srepr(s)) for n, s in sorted(self.symbols.items())),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def symbol(self, name: str) -> sp.Symbol:
        """The SymPy symbol standing for ``name`` in the pointwise expressions.

        That is ``cell.symbols[name]``: the user's own symbol where one was given, else
        ``Symbol(name, real=True)``.
        """
        symbol = self.symbols.get(name)
        return sp.Symbol(name, real=True) if symbol is None else symbol

    def with_real_symbols(self) -> Cell:
        """This cell with every symbol replaced by ``Symbol(name, real=True)`` (self if none).

        Numbers are real: generated code and numeric checks differentiate in real symbols
        whatever the user's assumptions (with a plain complex ``h``, SymPy's d|h|/dh has re/im
        parts that NumPy cannot evaluate); ``derive`` keeps the user's symbols.
        """
        real = {s: sp.Symbol(n, real=True) for n, s in self.symbols.items()}
        real = {s: r for s, r in real.items() if s != r}
        if not real:
            return self
        stages = tuple(
            replace(st, exprs=tuple(e.xreplace(real) for e in st.exprs))
            if isinstance(st, Pointwise)
            else st
            for st in self.stages
        )
        return replace(self, stages=stages, symbols={})

    @property
    def spec(self):
        """The registry entry of this cell's family (traits), or None for custom cells."""
        from .registry import CELLS

        return CELLS.get(self.family) if self.family else None

    def __repr__(self) -> str:
        return f"Cell({self.name!r}, state={self.state}, params={self.param_names})"


def _assumed(symbol: sp.Symbol) -> dict:
    return dict(getattr(symbol, "_assumptions_orig", symbol.assumptions0))


def _set_shape(shapes: dict, name: str, shape: tuple[int, ...]) -> None:
    if name in shapes and shapes[name] != shape:
        raise ValueError(f"parameter {name!r} is used with shapes {shapes[name]} and {shape}")
    shapes[name] = shape


def _validate(cell: Cell) -> None:
    if len(cell.state) == 0:
        raise ValueError("state must name at least one state block")
    if len(cell.next_state) != len(cell.state):
        raise ValueError(
            f"next_state must give one name per state block ({len(cell.state)}), "
            f"got {len(cell.next_state)}"
        )
    defined = set(cell.state) | set(cell.inputs) | set(cell.scalar_params)
    params = set(cell.scalar_params)
    for index, stage in enumerate(cell.stages):
        if isinstance(stage, Affine):
            for weight, source in stage.terms:
                if source not in defined:
                    raise ValueError(f"stage {index}: affine source {source!r} is not defined yet")
                params.add(weight)
            if stage.bias:
                params.add(stage.bias)
            if not stage.terms and not stage.bias:
                raise ValueError(f"stage {index}: an affine stage needs a term or a bias")
        elif isinstance(stage, BatchNorm):
            if cell.scalar_block or len(stage.outputs) != 1:
                raise ValueError(f"stage {index}: batch norm has one output in a vector cell")
            if stage.source not in defined:
                raise ValueError(f"stage {index}: batch-norm source {stage.source!r} is undefined")
            if not (stage.eps > 0 and 0 <= stage.momentum <= 1):
                raise ValueError(
                    f"stage {index}: eps must be > 0 and momentum in [0, 1]; "
                    f"got {stage.eps!r}, {stage.momentum!r}"
                )
            params.update(p for p in (stage.scale, stage.shift) if p)
        elif isinstance(stage, Pointwise):
            if len(stage.exprs) != len(stage.outputs):
                raise ValueError(
                    f"stage {index}: {len(stage.outputs)} outputs, {len(stage.exprs)} expressions"
                )
            for out, expr in zip(stage.outputs, stage.exprs, strict=False):
                if not isinstance(expr, sp.Expr):
                    raise TypeError(
                        f"stage {index}: expression for {out!r} must be a SymPy expression"
                    )
                unknown = {s.name for s in expr.free_symbols} - defined
                if unknown:
                    raise ValueError(
                        f"stage {index}: expression for {out!r} uses undeclared symbols "
                        f"{sorted(unknown)}; declared names are {sorted(defined)}"
                    )
                for s in expr.free_symbols:
                    if s != cell.symbols[s.name]:
                        raise ValueError(
                            f"stage {index}: expression for {out!r} uses a symbol {s.name!r} "
                            f"with assumptions {_assumed(s)}, but the cell's symbol "
                            f"{s.name!r} has {_assumed(cell.symbols[s.name])}"
                        )
        else:
            raise TypeError(
                f"stage {index} must be Affine, Pointwise or BatchNorm, got {type(stage).__name__}"
            )
        for out in stage.outputs:
            if out in defined:
                raise ValueError(f"stage {index}: name {out!r} is defined twice")
            defined.add(out)
    for name in cell.next_state:
        if name not in defined:
            raise ValueError(f"next_state name {name!r} is not produced by any stage")
