"""The cell library: Elman (tanh, sigmoid, ReLU, linear, hard tanh), IRNN, LSTM, GRU, residual
and highway blocks, each written once as affine maps plus a pointwise core.

LSTM and GRU follow PyTorch's ``nn.LSTM`` / ``nn.GRU`` row for row, so parameters map one to one:

============  ===============================  ===================================
gradtheory    shape                            PyTorch
============  ===============================  ===================================
LSTM ``W``    (4n, n), gate rows i, f, g, o    ``weight_hh_l0``
LSTM ``U``    (4n, n_in)                       ``weight_ih_l0``
LSTM ``b``    (4n,)                            ``bias_ih_l0 + bias_hh_l0`` (only the sum enters)
GRU ``W``     (3n, n), gate rows r, z, n       ``weight_hh_l0``
GRU ``U``     (3n, n_in)                       ``weight_ih_l0``
GRU ``b_x``   (3n,)                            ``bias_ih_l0``
GRU ``b_h``   (3n,)                            ``bias_hh_l0`` (the n-rows sit inside the reset gate)
============  ===============================  ===================================
"""

from __future__ import annotations

import sympy as sp

from .._validate import Real, validate
from .batchnorm import normalized_cell
from .cell import Affine, Cell, Pointwise
from .functions import sigmoid
from .registry import CellSpec, register_cell
from .registry import activation as _activation

__all__ = ["elman", "gru", "highway", "irnn", "lstm", "residual"]


def _s(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


_HIDDEN_LATEX = {"h": "h_{t-1}", "h_new": "h_{t}", "x": "x_{t}", "a": "a_{t}"}


def elman(activation: str = "tanh", norm: str | None = None, **norm_options) -> Cell:
    r"""Elman cell :math:`h_t = \phi(W h_{t-1} + U x_t + b)`.

    Parameters
    ----------
    activation : str
        A name in :data:`gradtheory.symbolic.registry.ACTIVATIONS`: tanh, sigmoid, relu,
        linear, hardtanh.
    norm : {None, "batch"}
        ``"batch"``: :math:`h_l = \phi(\mathrm{BN}(W h_{l-1} + U x))` for depth chains, no
        bias; ``norm_options`` (``eps``, ``momentum``, ``affine``) as in
        :func:`gradtheory.symbolic.batchnorm.normalized_cell`.

    Returns
    -------
    Cell
        Parameters ``W`` (n, n), ``U`` (n, n_in), ``b`` (n,).

    Examples
    --------
    >>> elman("tanh").param_names
    ('W', 'U', 'b')
    """
    if norm is not None or norm_options:
        return normalized_cell("elman", activation, norm, **norm_options)
    phi = _activation(activation).sympy
    return Cell(
        name=f"elman-{activation}",
        state=("h",),
        next_state=("h_new",),
        stages=(
            Affine(("a",), (("W", "h"), ("U", "x")), "b"),
            Pointwise(("h_new",), (phi(_s("a")),)),
        ),
        latex_names=dict(_HIDDEN_LATEX),
        activation=activation,
        family="elman",
        description=f"Elman RNN, h_t = {activation}(W h_(t-1) + U x_t + b)",
    )


def irnn() -> Cell:
    """ReLU Elman cell initialised with identity recurrent weights and zero bias (Le et al. 2015).

    Examples
    --------
    >>> irnn().default_init
    'identity'
    """
    base = elman("relu")
    return Cell(
        name="irnn",
        state=base.state,
        next_state=base.next_state,
        stages=base.stages,
        latex_names=base.latex_names,
        activation="relu",
        family="irnn",
        description="IRNN: ReLU Elman cell, W = I and b = 0 at initialisation (Le et al. 2015)",
        default_init="identity",
    )


def lstm() -> Cell:
    r"""LSTM cell in PyTorch's gate order (i, f, g, o); state is (h, c).

    :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`, :math:`h_t = o_t \odot \tanh(c_t)`.

    Examples
    --------
    >>> lstm().state
    ('h', 'c')
    """
    a = {k: _s(f"a_{k}") for k in "ifgo"}
    i, f, g, o, c, c_new = (_s(k) for k in ("i", "f", "g", "o", "c", "c_new"))
    latex = dict(_HIDDEN_LATEX)
    latex.update(
        {"c": "c_{t-1}", "c_new": "c_{t}", "i": "i_{t}", "f": "f_{t}", "g": "g_{t}", "o": "o_{t}"}
    )
    latex.update({f"a_{k}": rf"\tilde{{{k}}}_{{t}}" for k in "ifgo"})
    return Cell(
        name="lstm",
        state=("h", "c"),
        next_state=("h_new", "c_new"),
        stages=(
            Affine(tuple(f"a_{k}" for k in "ifgo"), (("W", "h"), ("U", "x")), "b"),
            Pointwise(
                ("i", "f", "g", "o"),
                (sigmoid(a["i"]), sigmoid(a["f"]), sp.tanh(a["g"]), sigmoid(a["o"])),
            ),
            Pointwise(("c_new",), (f * c + i * g,)),
            Pointwise(("h_new",), (o * sp.tanh(c_new),)),
        ),
        latex_names=latex,
        activation="tanh",
        family="lstm",
        description="LSTM (Hochreiter and Schmidhuber 1997) with forget gate, PyTorch layout",
        default_init="torch",
    )


def gru() -> Cell:
    r"""GRU cell in PyTorch's form: the reset gate multiplies ``W_n h + b_hn`` after the product.

    :math:`n_t = \tanh(U_n x_t + b_{xn} + r_t \odot (W_n h_{t-1} + b_{hn}))`,
    :math:`h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}`.

    Examples
    --------
    >>> gru().param_names
    ('U', 'b_x', 'W', 'b_h')
    """
    ax = {k: _s(f"ax_{k}") for k in "rzn"}
    ah = {k: _s(f"ah_{k}") for k in "rzn"}
    r, z, n, h = _s("r"), _s("z"), _s("n"), _s("h")
    latex = dict(_HIDDEN_LATEX)
    latex.update({"r": "r_{t}", "z": "z_{t}", "n": "n_{t}"})
    latex.update({f"ax_{k}": rf"\tilde{{{k}}}^{{x}}_{{t}}" for k in "rzn"})
    latex.update({f"ah_{k}": rf"\tilde{{{k}}}^{{h}}_{{t}}" for k in "rzn"})
    return Cell(
        name="gru",
        state=("h",),
        next_state=("h_new",),
        stages=(
            Affine(tuple(f"ax_{k}" for k in "rzn"), (("U", "x"),), "b_x"),
            Affine(tuple(f"ah_{k}" for k in "rzn"), (("W", "h"),), "b_h"),
            Pointwise(("r", "z"), (sigmoid(ax["r"] + ah["r"]), sigmoid(ax["z"] + ah["z"]))),
            Pointwise(("n",), (sp.tanh(ax["n"] + r * ah["n"]),)),
            Pointwise(("h_new",), ((1 - z) * n + z * h,)),
        ),
        latex_names=latex,
        activation="tanh",
        family="gru",
        description="GRU (Cho et al. 2014), PyTorch layout",
        default_init="torch",
    )


def residual(activation: str = "relu", norm: str | None = None, **norm_options) -> Cell:
    r"""Residual block :math:`h_t = h_{t-1} + W_2 \phi(W_1 h_{t-1} + U x_t + b_1)`.

    Over depth (``tied=False``) the input enters at the first layer only. ``norm="batch"``
    normalises before the activation (no ``b1``): see :func:`elman`.

    Examples
    --------
    >>> residual("tanh").param_names
    ('W1', 'U', 'b1', 'W2')
    """
    if norm is not None or norm_options:
        return normalized_cell("residual", activation, norm, **norm_options)
    phi = _activation(activation).sympy
    latex = dict(_HIDDEN_LATEX)
    latex.update({"u": "u_{t}", "v": "v_{t}", "W1": "W_{1}", "W2": "W_{2}", "b1": "b_{1}"})
    return Cell(
        name=f"residual-{activation}",
        state=("h",),
        next_state=("h_new",),
        stages=(
            Affine(("a",), (("W1", "h"), ("U", "x")), "b1"),
            Pointwise(("u",), (phi(_s("a")),)),
            Affine(("v",), (("W2", "u"),), None),
            Pointwise(("h_new",), (_s("h") + _s("v"),)),
        ),
        latex_names=latex,
        activation=activation,
        family="residual",
        description=f"residual block h + W2 {activation}(W1 h + U x + b1) (He et al. 2015)",
    )


@validate(gate_bias=Real())
def highway(activation: str = "tanh", gate_bias: float = -2.0) -> Cell:
    r"""Highway block :math:`h_t = (1 - T) \odot h_{t-1} + T \odot H`.

    :math:`H = \phi(W_H h_{t-1} + U_H x_t + b_H)`, :math:`T = \sigma(W_T h_{t-1} + U_T x_t + b_T)`;
    ``W`` stacks rows (H, T). ``gate_bias`` is the initial b_T (Srivastava et al. 2015 use -1 to
    -3 so that blocks start by carrying their input).

    Examples
    --------
    >>> highway().param_shapes(4, 2)["W"]
    (8, 4)
    """
    phi = _activation(activation).sympy
    T, H, h = _s("T"), _s("H"), _s("h")
    latex = dict(_HIDDEN_LATEX)
    latex.update({"T": "T_{t}", "H": "H_{t}", "a_H": r"\tilde{H}_{t}", "a_T": r"\tilde{T}_{t}"})
    return Cell(
        name=f"highway-{activation}",
        state=("h",),
        next_state=("h_new",),
        stages=(
            Affine(("a_H", "a_T"), (("W", "h"), ("U", "x")), "b"),
            Pointwise(("H", "T"), (phi(_s("a_H")), sigmoid(_s("a_T")))),
            Pointwise(("h_new",), ((1 - T) * h + T * H,)),
        ),
        latex_names=latex,
        activation=activation,
        family="highway",
        description=f"highway block with {activation} transform (Srivastava et al. 2015)",
        bias_init={"b": {"a_T": float(gate_bias)}},
    )


# One entry per family: what the CLI lists, what torch interop and the prediction routes read.
register_cell(CellSpec("elman", elman, "tanh", elman=True, torch="RNN", description="Elman RNN"))
register_cell(
    CellSpec("irnn", irnn, elman=True, torch="RNN", description="identity-initialised ReLU RNN")
)
register_cell(CellSpec("lstm", lstm, torch="LSTM", description="LSTM, PyTorch gate order"))
register_cell(CellSpec("gru", gru, torch="GRU", description="GRU, PyTorch form"))
register_cell(CellSpec("residual", residual, "relu", description="residual block"))
register_cell(CellSpec("highway", highway, "tanh", description="highway block"))
