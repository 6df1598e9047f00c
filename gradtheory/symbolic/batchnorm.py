r"""Batch-normalised cells and the derivation of batch normalisation's gradient.

Batch normalisation (Ioffe and Szegedy 2015) normalises each unit over the B samples of a
batch, so one step of a batch-normalised chain maps the whole batch ``H_{l-1}`` (B, n) to
``H_l`` (B, n): its Jacobian is a (B n) x (B n) matrix, not B separate n x n ones. Per unit
``j`` with pre-activation column ``z = Z[:, j]`` (training mode, biased variance):

.. math::
    \mu = \tfrac1B \mathbf 1^\top z,\quad \sigma^2 = \tfrac1B \|z - \mu\mathbf 1\|^2,\quad
    \hat z = (z - \mu\mathbf 1)/\sqrt{\sigma^2 + \epsilon},\quad a = \gamma \hat z + \beta,

and the vector-Jacobian product is the three-term expression

.. math::
    \frac{\partial L}{\partial z} = \frac{\gamma}{\sqrt{\sigma^2+\epsilon}}\Big(
    \frac{\partial L}{\partial a} - \tfrac1B \mathbf 1\mathbf 1^\top \frac{\partial L}{\partial a}
    - \tfrac1B \hat z\, \hat z^\top \frac{\partial L}{\partial a}\Big),

i.e. the Jacobian block of a unit is ``gamma / sigma (I - 1 1^T / B - zhat zhat^T / B)``, which
is symmetric. :func:`explicit_batchnorm` derives the same from explicit symbols (the test
oracle); :class:`BatchNormDerivation` prints it for a cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .cell import Affine, BatchNorm, Cell, Pointwise
from .functions import activation as _activation

__all__ = [
    "NORMS",
    "BatchNormDerivation",
    "derive_batchnorm",
    "explicit_batchnorm",
    "normalized_cell",
]

#: Normalisations a library cell accepts through ``norm=``.
NORMS = ("batch",)

_LATEX = {"h": "h_{l-1}", "h_new": "h_{l}", "x": "x", "z": "z_{l}", "a": "a_{l}"}


def _s(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def normalized_cell(
    kind: str,
    activation: str,
    norm,
    *,
    eps: float = 1e-5,
    momentum: float = 0.1,
    affine: bool = True,
) -> Cell:
    r"""A library cell with normalisation before its activation (``gt.cells.elman(..., norm=)``).

    Parameters
    ----------
    kind : {"elman", "residual"}
    activation : str
    norm : {"batch"}
    eps : float
        Added to the batch variance (PyTorch's default 1e-5); ``cell.eps``.
    momentum : float
        Running-statistics update weight (PyTorch's default 0.1).
    affine : bool
        Learned per-unit scale ``gamma`` (init 1) and shift ``beta`` (init 0).

    Returns
    -------
    Cell
        Elman: ``h_l = phi(BN(W h_{l-1} + U x))``; residual: ``h_l = h_{l-1} +
        W2 phi(BN(W1 h_{l-1} + U x))``. No bias before the normalisation (it cancels).

    Examples
    --------
    >>> normalized_cell("elman", "relu", "batch").param_names
    ('W', 'U', 'gamma', 'beta')
    """
    if norm not in NORMS:
        raise ValueError(
            f"cells.{kind}: argument 'norm' must be None or one of {NORMS} "
            f"(layer normalisation is not implemented); got {norm!r}"
        )
    if not isinstance(affine, bool):
        raise TypeError(f"cells.{kind}: argument 'affine' must be a bool; got {affine!r}")
    for name, value in (("eps", eps), ("momentum", momentum)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"cells.{kind}: argument {name!r} must be a number; got {value!r}")
    if not eps > 0:
        raise ValueError(f"cells.{kind}: argument 'eps' must be > 0; got {eps!r}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"cells.{kind}: argument 'momentum' must be in [0, 1]; got {momentum!r}")
    phi = _activation(activation)
    scale, shift = ("gamma", "beta") if affine else (None, None)
    bn = BatchNorm(("a",), "z", scale, shift, float(eps), float(momentum))
    latex = dict(_LATEX)
    if kind == "elman":
        stages = (
            Affine(("z",), (("W", "h"), ("U", "x")), None),
            bn,
            Pointwise(("h_new",), (phi(_s("a")),)),
        )
        text = f"h_l = {activation}(BN(W h_(l-1) + U x))"
    elif kind == "residual":
        stages = (
            Affine(("z",), (("W1", "h"), ("U", "x")), None),
            bn,
            Pointwise(("u",), (phi(_s("a")),)),
            Affine(("v",), (("W2", "u"),), None),
            Pointwise(("h_new",), (_s("h") + _s("v"),)),
        )
        latex.update({"u": "u_{l}", "v": "v_{l}", "W1": "W_{1}", "W2": "W_{2}"})
        text = f"h_l = h_(l-1) + W2 {activation}(BN(W1 h_(l-1) + U x))"
    else:
        raise ValueError(f"normalized_cell: kind must be 'elman' or 'residual'; got {kind!r}")
    return Cell(
        name=f"{kind}-{activation}-bn",
        state=("h",),
        next_state=("h_new",),
        stages=stages,
        latex_names=latex,
        activation=activation,
        description=f"batch-normalised {kind} layer, {text} (depth chains only)",
    )


# -- derivation ---------------------------------------------------------------------------------
_B = sp.Symbol("B", integer=True, positive=True)

_VJP_LATEX = (
    r"\frac{\partial L}{\partial z_{bj}} &= \frac{\gamma_j}{\sqrt{\sigma_j^2+\epsilon}}"
    r"\Big(g_{bj} - \frac{1}{B}\sum_{c=1}^{B} g_{cj}"
    r" - \hat z_{bj}\,\frac{1}{B}\sum_{c=1}^{B} g_{cj}\,\hat z_{cj}\Big),"
    r"\quad g = \frac{\partial L}{\partial a_{l}}"
)


@dataclass
class BatchNormDerivation:
    r"""Derivation of a batch-normalised cell: forward, batch Jacobian, gradients, LaTeX.

    Attributes
    ----------
    cell : Cell
    jacobian : sympy matrix expression, shape (B, B)
        The batch block of unit j of the normalisation:
        ``gamma_j / sigma_j (I - 1 1^T / B - zhat_j zhat_j^T / B)``. The step's Jacobian is over
        the whole batch, (B n) x (B n): entry ((b, i), (c, k)) of ``dH_l / dH_{l-1}`` is
        ``phi'(a_bi) [block of unit i]_{bc} W_ik`` (Elman; the residual block adds
        ``delta_bc delta_ik`` and puts ``W_2`` after ``phi'``).
    vjp : sympy matrix expression, shape (B, 1)
        ``dL/dz_j`` of unit j in terms of ``g_j = dL/da_j`` (the three-term expression).
    param_gradients : dict of str to str
        LaTeX of each parameter's gradient contribution at one layer.

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> d = derive_batchnorm(elman("relu", norm="batch"))
    >>> d.jacobian.shape
    (B, B)
    """

    cell: Cell

    def __post_init__(self):
        stage = next(s for s in self.cell.stages if isinstance(s, BatchNorm))
        self.stage = stage
        ones = sp.OneMatrix(_B, 1)
        zhat = sp.MatrixSymbol("zhat_j", _B, 1)
        g = sp.MatrixSymbol("g_j", _B, 1)
        scale = sp.Symbol("gamma_j", real=True) if stage.scale else sp.S.One
        inv_std = 1 / sp.sqrt(sp.Symbol("sigma_j", positive=True) ** 2 + sp.Symbol("epsilon"))
        self.jacobian = (scale * inv_std) * (
            sp.Identity(_B) - ones * ones.T / _B - zhat * zhat.T / _B
        )
        self.vjp = self.jacobian * g
        self.param_gradients = self._param_gradients()

    def _weights(self) -> tuple[str, str]:
        affine = self.cell.stages[0]
        return affine.terms[0][0], affine.terms[1][0]

    def _param_gradients(self) -> dict:
        w, u = self._weights()
        wl = self.cell.latex_names.get(w, w)
        grads = {
            w: rf"\frac{{\partial L}}{{\partial {wl}}} &\mathrel{{+}}= "
            r"\Big(\frac{\partial L}{\partial Z_{l}}\Big)^{\top} H_{l-1}",
            u: r"\frac{\partial L}{\partial U} &\mathrel{+}= "
            r"\Big(\frac{\partial L}{\partial Z_{l}}\Big)^{\top} X",
        }
        if self.stage.scale:
            grads[self.stage.scale] = (
                r"\frac{\partial L}{\partial \gamma_j} &= \sum_{b=1}^{B} g_{bj}\,\hat z_{bj}"
            )
        if self.stage.shift:
            grads[self.stage.shift] = (
                r"\frac{\partial L}{\partial \beta_j} &= \sum_{b=1}^{B} g_{bj}"
            )
        if "W2" in self.cell.param_names:
            grads["W2"] = (
                r"\frac{\partial L}{\partial W_{2}} &\mathrel{+}= "
                r"\Big(\frac{\partial L}{\partial H_{l}}\Big)^{\top} \Phi_{l}"
            )
        return grads

    def _phi_prime(self) -> str:
        a = sp.Symbol("a", real=True)
        phi = _activation(self.cell.activation)
        derivative = sp.latex(sp.diff(phi(a), a), symbol_names={a: "a_{bi}"})
        return rf"\left({derivative}\right)"

    def latex(self) -> str:
        """``aligned`` LaTeX: forward, batch statistics, batch Jacobian, three-term VJP, gradients.

        Examples
        --------
        >>> from gradtheory.cells import elman
        >>> r"\\hat z_{bj}\\,\\frac{1}{B}" in derive_batchnorm(elman("tanh", norm="batch")).latex()
        True
        """
        w, _ = self._weights()
        wl = self.cell.latex_names.get(w, w)
        residual = "W2" in self.cell.param_names
        phi = sp.latex(_activation(self.cell.activation)(sp.Symbol("a_{l}")))
        scale = r"\gamma_j " if self.stage.scale else ""
        shift = r" + \beta_j" if self.stage.shift else ""
        lines = [
            rf"Z_{{l}} &= H_{{l-1}} {wl}^{{\top}} + X U^{{\top}}"
            r"\quad(\text{rows: the } B \text{ samples; no bias, normalisation cancels it})",
            r"\mu_j &= \frac{1}{B}\sum_{b=1}^{B} z_{bj},\quad "
            r"\sigma_j^2 = \frac{1}{B}\sum_{b=1}^{B} (z_{bj} - \mu_j)^2",
            r"\hat z_{bj} &= \frac{z_{bj} - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}},\quad "
            rf"a_{{bj}} = {scale}\hat z_{{bj}}{shift}"
            rf"\quad(\epsilon = {sp.latex(sp.Float(self.stage.eps, 3))})",
        ]
        if residual:
            lines += [rf"\Phi_{{l}} &= {phi}", r"H_{l} &= H_{l-1} + \Phi_{l} W_{2}^{\top}"]
        else:
            lines.append(rf"H_{{l}} &= {phi}")
        block = (
            r"\frac{\gamma_i}{\sqrt{\sigma_i^2+\epsilon}}"
            if self.stage.scale
            else r"\frac{1}{\sqrt{\sigma_i^2+\epsilon}}"
        )
        unit = (
            rf"{block}\Big(\delta_{{bc}} - \frac{{1}}{{B}} - "
            r"\frac{1}{B}\hat z_{bi}\hat z_{ci}\Big)"
        )
        if residual:
            jac = (
                r"\frac{\partial h_{bk}}{\partial h'_{cm}} &= \delta_{bc}\delta_{km} + "
                rf"\sum_i (W_2)_{{ki}}\,{self._phi_prime()}\,{unit}\,(W_1)_{{im}}"
            )
        else:
            jac = (
                r"\frac{\partial h_{bi}}{\partial h'_{cm}} &= "
                rf"{self._phi_prime()}\,{unit}\,{wl}_{{im}}"
            )
        lines += [
            r"\frac{\partial \operatorname{vec} H_{l}}{\partial \operatorname{vec} H_{l-1}} "
            r"&\in \mathbb{R}^{Bn \times Bn}\quad(\text{the batch is coupled: } "
            r"h' = H_{l-1},\ b, c \text{ samples})",
            jac,
            _VJP_LATEX if self.stage.scale else _VJP_LATEX.replace(r"\gamma_j", "1"),
            *self.param_gradients.values(),
        ]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def derive_batchnorm(cell: Cell) -> BatchNormDerivation:
    """The derivation of a batch-normalised cell (``gt.derive`` dispatches here)."""
    if cell.norm != "batch":
        raise ValueError(
            f"derive_batchnorm: argument 'cell' must be batch-normalised; got {cell!r}"
        )
    return BatchNormDerivation(cell)


def explicit_batchnorm(batch: int, units: int, *, affine: bool = True) -> dict:
    r"""Batch normalisation written with explicit symbols, differentiated by SymPy (test oracle).

    Parameters
    ----------
    batch, units : int
        B and n; small (B <= 4, n <= 3 keeps SymPy fast).
    affine : bool

    Returns
    -------
    dict
        ``z`` (B, n) symbols, ``gamma``, ``beta`` (n,) symbols, ``eps``, ``g`` (B, n) symbols
        (dL/da), ``a`` (B, n) expressions, ``vjp`` (B, n) expressions ``dL/dz`` obtained as
        ``d (sum g * a) / dz`` by SymPy, and ``three_term`` (B, n), the closed form.

    Examples
    --------
    >>> out = explicit_batchnorm(2, 1, affine=False)
    >>> sp.simplify(out["vjp"][0, 0] - out["three_term"][0, 0])
    0
    """
    z = sp.Matrix(batch, units, lambda b, j: sp.Symbol(f"z_{b}_{j}", real=True))
    g = sp.Matrix(batch, units, lambda b, j: sp.Symbol(f"g_{b}_{j}", real=True))
    gamma = [sp.Symbol(f"gamma_{j}", real=True) if affine else sp.S.One for j in range(units)]
    beta = [sp.Symbol(f"beta_{j}", real=True) if affine else sp.S.Zero for j in range(units)]
    eps = sp.Symbol("epsilon", positive=True)
    a = sp.zeros(batch, units)
    zhat = sp.zeros(batch, units)
    inv = []
    for j in range(units):
        mean = sum(z[:, j]) / batch
        var = sum((z[b, j] - mean) ** 2 for b in range(batch)) / batch
        inv.append(1 / sp.sqrt(var + eps))
        for b in range(batch):
            zhat[b, j] = (z[b, j] - mean) * inv[j]
            a[b, j] = gamma[j] * zhat[b, j] + beta[j]
    loss = sum(g[b, j] * a[b, j] for b in range(batch) for j in range(units))
    vjp = sp.Matrix(batch, units, lambda b, j: sp.diff(loss, z[b, j]))
    three = sp.zeros(batch, units)
    for j in range(units):
        gs = [gamma[j] * g[b, j] for b in range(batch)]
        mean_g = sum(gs) / batch
        mean_gz = sum(gs[b] * zhat[b, j] for b in range(batch)) / batch
        for b in range(batch):
            three[b, j] = inv[j] * (gs[b] - mean_g - zhat[b, j] * mean_gz)
    return {
        "z": z,
        "g": g,
        "gamma": gamma,
        "beta": beta,
        "eps": eps,
        "a": a,
        "vjp": vjp,
        "three_term": three,
    }
