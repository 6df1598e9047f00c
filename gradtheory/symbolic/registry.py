"""The registry: one record per activation and one per cell family, read by every layer.

An :class:`Activation` holds everything the package knows about a pointwise nonlinearity: its
SymPy form (what :func:`~gradtheory.cells.elman` and friends derive from), its NumPy form and
derivative (mean-field integrals, oracles), the kink convention, ``sup |phi'|`` (Pascanu et al.
2013's gamma), the points where phi' jumps (quadrature cut points of mean-field theory), its
PyTorch name and its traits (odd, bounded, saturating). A :class:`CellSpec` describes one cell
family: its constructor, whether it takes an activation, whether it is an Elman cell
h = phi(W h + U x + b) and its PyTorch module. The CLI's cell table, the torch exchange, the
prediction routes, mean-field theory, the custom-expression parser and the tests read these.

Adding an activation is one :func:`register_activation` call (or one entry in
:data:`ACTIVATIONS`): its SymPy form may use any SymPy function with a NumPy printer or the
functions of :mod:`gradtheory.symbolic.functions`. Adding a cell family is a constructor
returning a :class:`~gradtheory.symbolic.cell.Cell` with ``family=<name>`` plus one
:func:`register_cell` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import _elementwise as ew
from .cell import Affine, Cell, Pointwise
from .functions import hardtanh, relu, sigmoid

__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "Activation",
    "CellSpec",
    "activation",
    "cell_from_name",
    "cell_names",
    "elman_activation",
    "register_activation",
    "register_cell",
]

ArrayFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """One pointwise nonlinearity phi.

    Parameters
    ----------
    name : str
        Registry key (``"tanh"``), used in cell names (``elman-tanh``) and the CLI.
    sympy : callable
        ``sympy(a) -> phi(a)`` for a SymPy expression ``a``.
    numpy : callable
        phi on float arrays.
    derivative : callable
        phi' on float arrays, with the kink convention of ``sympy`` (0 at ReLU's 0 and at
        hard tanh's +-1, as PyTorch).
    gamma : float
        sup over x of |phi'(x)| (Pascanu et al. 2013, Sec. 3: 1 for tanh, 1/4 for the sigmoid).
    kinks : tuple of float
        Points where phi' jumps; mean-field quadrature cuts its pieces there.
    odd : bool
        phi(-x) = -phi(x).
    bounded : bool
        phi is bounded.
    saturating : bool
        phi'(x) -> 0 as x -> +inf and as x -> -inf.
    torch : str or None
        ``nonlinearity`` of ``torch.nn.RNN`` computing the same Elman cell, if any.
    description : str
    """

    name: str
    sympy: Callable[[sp.Expr], sp.Expr]
    numpy: ArrayFn
    derivative: ArrayFn
    gamma: float
    kinks: tuple[float, ...] = ()
    odd: bool = False
    bounded: bool = False
    saturating: bool = False
    torch: str | None = None
    description: str = ""

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


@dataclass(frozen=True)
class CellSpec:
    """One cell family of the library.

    Parameters
    ----------
    name : str
        Registry key and CLI name (``"elman"``; the CLI also accepts ``elman-relu``).
    build : callable
        The public constructor: ``build(activation)`` if ``activation`` is set, else
        ``build()``; its cells carry ``family=name``.
    activation : str or None
        Default activation for families that take one; None for families that take none.
    elman : bool
        The cells are Elman cells h_t = phi(W h_{t-1} + U x_t + b) (the Pascanu bound, the
        linear and the mean-field routes of :func:`gradtheory.predict` apply);
        :func:`elman_activation` confirms it from each cell's stages.
    torch : str or None
        ``"RNN"`` (with the activation's ``torch`` name), ``"LSTM"`` or ``"GRU"``: the
        ``torch.nn`` module with the same parameters, if any.
    description : str
    """

    name: str
    build: Callable[..., Cell]
    activation: str | None = None
    elman: bool = False
    torch: str | None = None
    description: str = ""

    @property
    def takes_activation(self) -> bool:
        return self.activation is not None


#: Activation name -> record.
ACTIVATIONS: dict[str, Activation] = {}
#: Cell family name -> record, in the order the CLI lists them.
CELLS: dict[str, CellSpec] = {}


def register_activation(record: Activation) -> Activation:
    """Add (or replace) an activation; returns it."""
    if not isinstance(record, Activation):
        raise TypeError(
            f"register_activation: argument 'record' must be an Activation; got {record!r}"
        )
    _check_name(record.name, "register_activation")
    ACTIVATIONS[record.name] = record
    return record


def register_cell(record: CellSpec) -> CellSpec:
    """Add (or replace) a cell family; returns it."""
    if not isinstance(record, CellSpec):
        raise TypeError(f"register_cell: argument 'record' must be a CellSpec; got {record!r}")
    _check_name(record.name, "register_cell")
    CELLS[record.name] = record
    return record


def _check_name(name: str, func: str) -> None:
    # names are CLI words ("elman-<activation>") and, for activations, callable in custom strings
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"{func}: argument 'record.name' must be a Python identifier (no '-'); got {name!r}"
        )


def activation(name: str) -> Activation:
    """The record of the activation called ``name``.

    Examples
    --------
    >>> activation("sigmoid").gamma
    0.25
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def cell_names() -> str:
    """``"elman[-act], irnn, lstm, ..."``: the CLI's list of cell names."""
    return ", ".join(f"{s.name}[-act]" if s.takes_activation else s.name for s in CELLS.values())


def cell_from_name(name: str, activation: str | None = None) -> Cell:
    """A library cell from its registry name: ``"lstm"``, ``"elman-tanh"``, ``"elman"`` + act.

    Examples
    --------
    >>> cell_from_name("elman-relu").name
    'elman-relu'
    >>> cell_from_name("residual").activation
    'relu'
    """
    if not isinstance(name, str):
        raise TypeError(f"cell name must be a string, got {name!r}")
    base, _, suffix = name.partition("-")
    if base not in CELLS:
        raise ValueError(f"CELL must be one of {cell_names()} (e.g. elman-tanh), got {name!r}")
    spec = CELLS[base]
    if suffix and activation and suffix != activation:
        raise ValueError(
            f"cell {name!r} names activation {suffix!r} but --activation is {activation!r}"
        )
    chosen = suffix or activation
    if not spec.takes_activation:
        if chosen:
            raise ValueError(f"cell {base!r} takes no activation, got {chosen!r}")
        return spec.build()
    if chosen and chosen not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {chosen!r}")
    return spec.build(chosen or spec.activation)


def elman_activation(cell: Cell) -> Activation | None:
    """The activation phi if ``cell`` is an Elman cell h = phi(W h + U x + b), else None.

    Decided from the cell's stages (one affine map with ``W`` on the state, an input term and
    a bias, then a registered activation), so an Elman family's trait is checked and any
    variant that adds a stage (normalisation, a gate, a skip) is not taken for one.

    Examples
    --------
    >>> from gradtheory.cells import elman, residual
    >>> elman_activation(elman("tanh")).name, elman_activation(residual("tanh"))
    ('tanh', None)
    """
    if not isinstance(cell, Cell) or cell.scalar_block or len(cell.state) != 1:
        return None
    if len(cell.stages) != 2 or cell.activation not in ACTIVATIONS:
        return None
    affine, core = cell.stages
    if not (isinstance(affine, Affine) and isinstance(core, Pointwise)):
        return None
    state, inputs = cell.state[0], set(cell.inputs)
    terms = dict(affine.terms)
    if (
        len(affine.outputs) != 1
        or affine.bias is None
        or terms.get("W") != state
        or set(terms.values()) - {state} - inputs
        or core.outputs != cell.next_state
    ):
        return None
    act = ACTIVATIONS[cell.activation]
    expected = act.sympy(cell.symbol(affine.outputs[0]))
    return act if core.exprs == (expected,) else None


def _tanh_prime(x):
    return 1 - np.tanh(x) ** 2


def _sigmoid_prime(x):
    return ew.sigmoid(x) * ew.sigmoid(-x)  # no cancellation in 1 - sigma for large x


def _identity(x):
    return x


def _linear(x):
    return np.asarray(x) * 1.0


def _one(x):
    return np.ones_like(x, dtype=float)


register_activation(
    Activation(
        name="tanh",
        sympy=sp.tanh,
        numpy=np.tanh,
        derivative=_tanh_prime,
        gamma=1.0,
        odd=True,
        bounded=True,
        saturating=True,
        torch="tanh",
        description="hyperbolic tangent",
    )
)
register_activation(
    Activation(
        name="sigmoid",
        sympy=sigmoid,
        numpy=ew.sigmoid,
        derivative=_sigmoid_prime,
        gamma=0.25,
        bounded=True,
        saturating=True,
        description="logistic sigmoid 1 / (1 + exp(-x))",
    )
)
register_activation(
    Activation(
        name="relu",
        sympy=relu,
        numpy=ew.relu,
        derivative=ew.step,
        gamma=1.0,
        kinks=(0.0,),
        torch="relu",
        description="rectifier max(x, 0) with relu'(0) = 0",
    )
)
register_activation(
    Activation(
        name="linear",
        sympy=_identity,
        numpy=_linear,
        derivative=_one,
        gamma=1.0,
        odd=True,
        description="identity",
    )
)
register_activation(
    Activation(
        name="hardtanh",
        sympy=hardtanh,
        numpy=ew.hardtanh,
        derivative=ew.box,
        gamma=1.0,
        kinks=(-1.0, 1.0),
        odd=True,
        bounded=True,
        saturating=True,
        description="clip to [-1, 1] with hardtanh'(+-1) = 0",
    )
)

# The cell families register themselves next to their constructors.
from . import library as _library  # noqa: E402, F401
