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


class sigmoid(sp.Function):
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1 + e^{-x})`; its derivative is sigma (1 - sigma)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0]))).evalf(prec)

    def _latex(self, printer, exp=None):
        body = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"


class step(sp.Function):
    r"""Indicator :math:`\mathbb{1}[x > 0]`: the ReLU derivative, with ReLU'(0) = 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_evalf(self, prec):
        return sp.Float(1 if self.args[0].evalf(prec) > 0 else 0, prec)

    def _latex(self, printer, exp=None):
        return rf"\mathbb{{1}}\left[{printer._print(self.args[0])} > 0\right]"


class relu(sp.Function):
    r"""Rectifier :math:`\max(x, 0)` with derivative :math:`\mathbb{1}[x > 0]` (0 at the kink)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _eval_evalf(self, prec):
        return sp.Max(self.args[0], 0).evalf(prec)

    def _latex(self, printer, exp=None):
        body = rf"\operatorname{{ReLU}}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"


class box(sp.Function):
    r"""Indicator :math:`\mathbb{1}[|x| < 1]`: the hard-tanh derivative (0 at x = +-1)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_evalf(self, prec):
        return sp.Float(1 if abs(self.args[0].evalf(prec)) < 1 else 0, prec)

    def _latex(self, printer, exp=None):
        return rf"\mathbb{{1}}\left[\left|{printer._print(self.args[0])}\right| < 1\right]"


class hardtanh(sp.Function):
    r"""Hard tanh :math:`\max(-1, \min(1, x))` with derivative :math:`\mathbb{1}[|x| < 1]`."""

    nargs = 1

    def fdiff(self, argindex=1):
        return box(self.args[0])

    def _eval_evalf(self, prec):
        return sp.Max(-1, sp.Min(1, self.args[0])).evalf(prec)

    def _latex(self, printer, exp=None):
        body = rf"\operatorname{{hardtanh}}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"


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
