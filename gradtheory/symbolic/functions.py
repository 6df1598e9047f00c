"""Scalar SymPy functions used by the cell cores, each with its derivative and LaTeX form.

SymPy's own ``Heaviside`` and ``Max`` differentiate into ``DiracDelta`` and piecewise
expressions that neither print as textbook formulas nor generate clean NumPy code, so ReLU,
hard tanh and the logistic sigmoid are small :class:`sympy.Function` subclasses that carry
their own derivative (``fdiff``), their own LaTeX, and a fixed convention at the kinks:
ReLU'(0) = 0 and hardtanh'(+-1) = 0, the conventions PyTorch uses. Their NumPy twins are in
:mod:`gradtheory.symbolic._elementwise`; the activations built from them are listed, with their
traits, in :mod:`gradtheory.symbolic.registry`.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["box", "hardtanh", "relu", "sigmoid", "step"]


class _Named(sp.Function):
    """A one-argument function whose LaTeX is its ``latex_name`` applied to the argument."""

    latex_name: str

    def _latex(self, printer, exp=None):
        body = rf"{self.latex_name}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"


class _Indicator(sp.Function):
    """1 where the argument satisfies ``holds``, else 0; piecewise constant, so its derivative is 0.

    Printed as :math:`\\mathbb{1}[\\ldots]` around ``latex_condition`` (``{}``: the argument).
    """

    latex_condition: str

    @staticmethod
    def holds(x) -> bool:
        raise NotImplementedError

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_evalf(self, prec):
        return sp.Float(1 if self.holds(self.args[0].evalf(prec)) else 0, prec)

    def _latex(self, printer, exp=None):
        condition = self.latex_condition.format(printer._print(self.args[0]))
        return rf"\mathbb{{1}}\left[{condition}\right]"


class sigmoid(_Named):
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1 + e^{-x})`; its derivative is sigma (1 - sigma)."""

    nargs = 1
    latex_name = r"\sigma"

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0]))).evalf(prec)


class step(_Indicator):
    r"""Indicator :math:`\mathbb{1}[x > 0]`: the ReLU derivative, with ReLU'(0) = 0."""

    nargs = 1
    latex_condition = "{} > 0"

    @staticmethod
    def holds(x) -> bool:
        return x > 0


class relu(_Named):
    r"""Rectifier :math:`\max(x, 0)` with derivative :math:`\mathbb{1}[x > 0]` (0 at the kink)."""

    nargs = 1
    latex_name = r"\operatorname{ReLU}"

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _eval_evalf(self, prec):
        return sp.Max(self.args[0], 0).evalf(prec)


class box(_Indicator):
    r"""Indicator :math:`\mathbb{1}[|x| < 1]`: the hard-tanh derivative (0 at x = +-1)."""

    nargs = 1
    latex_condition = r"\left|{}\right| < 1"

    @staticmethod
    def holds(x) -> bool:
        return abs(x) < 1


class hardtanh(_Named):
    r"""Hard tanh :math:`\max(-1, \min(1, x))` with derivative :math:`\mathbb{1}[|x| < 1]`."""

    nargs = 1
    latex_name = r"\operatorname{hardtanh}"

    def fdiff(self, argindex=1):
        return box(self.args[0])

    def _eval_evalf(self, prec):
        return sp.Max(-1, sp.Min(1, self.args[0])).evalf(prec)


def __getattr__(name: str):
    # These lived here before the registry (gradtheory.symbolic.registry); kept, read from it,
    # for existing importers: name -> SymPy constructor, name -> sup |phi'|, the lookup.
    from . import registry

    if name == "ACTIVATIONS":
        return {key: record.sympy for key, record in registry.ACTIVATIONS.items()}
    if name == "ACTIVATION_GAMMA":
        return {key: record.gamma for key, record in registry.ACTIVATIONS.items()}
    if name == "activation":
        return lambda key: registry.activation(key).sympy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
