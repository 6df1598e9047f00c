r"""Mean-field prediction of gradient growth in batch-normalised depth chains.

Yang, Pennington, Rao, Sohl-Dickstein and Schoenholz (ICLR 2019, "A Mean Field Theory of Batch
Normalization") show that a plain batch-normalised network explodes gradients at
initialisation: going back one layer multiplies the expected squared gradient norm by a factor
``lambda_G > 1`` that no weight variance removes (the normalisation is scale invariant). This
module evaluates that factor.

Derivation (wide layers, gradient independence, as in the paper). For one unit, the batch
column of pre-activations ``z`` (B,) is Gaussian with the batch covariance of the layer below.
The forward fixed point is permutation symmetric (the paper's BSB1 point), so the centred
column ``G z`` (``G = I - 1 1^T / B``) is isotropic in the (B-1)-dimensional space orthogonal
to 1: ``G z = r u`` with ``u`` uniform on that sphere, independent of ``r^2 ~ s^2
chi^2_{B-1}``, and the normalised output is ``y = sqrt(B) u`` (eps negligible). With
``D = diag(phi'(y))`` and the unit's Jacobian ``J = sqrt(B) / r (I - u u^T) G``, the gradient
covariance maps as ``Pi <- sigma_w^2 E[J^T D Pi D J]``; its top eigenvector is ``G`` (a positive,
permutation-equivariant map), so

.. math::
    \lambda_G = \frac{B}{B-3}\,
    \frac{\mathbb E_u\,\operatorname{tr}\big((G - u u^\top) D G D\big)}
         {\mathbb E_u\,\|G\,\phi(\sqrt B\,u)\|^2}

(``E[1/chi^2_{B-1}] = 1/(B-3)``; the weight variance cancels). Closed forms: linear
``(B-2)/(B-3)``; B -> infinity ``E[phi'(g)^2] / Var phi(g)`` for g ~ N(0, 1), which is
``pi / (pi - 1)`` for ReLU (the paper's value) and is >= 1 for every activation by the
Gaussian Poincare inequality. Other cases are evaluated by seeded Monte Carlo over ``u``.

Residual chains ``h_l = h_{l-1} + W_2 phi(BN(W_1 h_{l-1}))``: the skip adds variance each
layer, so ``||h_{l-1}||^2`` grows like ``sum_{k<l} s_k`` (``s_k = ||W_{2,k}||_F^2 / n``) and
the branch's contribution shrinks: the squared-norm ratio at layer l is
``1 + lambda_G s_l / sum_{k<l} s_k`` (``1 + lambda_G / (l - 1)`` for equal scales), a power
law ``~ L^{lambda_G}`` overall instead of an exponential.

The paper's rates are for the squared norm; :class:`~gradtheory.analysis.predict.Prediction`
``.rate`` is ``ln`` of the norm per layer, ``0.5 ln lambda``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..numeric._runtime import relu, sigmoid
from .predict import Prediction, _classify

__all__ = ["batchnorm_gradient_factor", "predict_batchnorm"]

_PHI = {
    "linear": (lambda y: y, lambda y: np.ones_like(y)),
    "relu": (relu, lambda y: (y > 0).astype(float)),
    "tanh": (np.tanh, lambda y: 1.0 - np.tanh(y) ** 2),
    "sigmoid": (sigmoid, lambda y: sigmoid(y) * (1.0 - sigmoid(y))),
    "hardtanh": (lambda y: np.clip(y, -1.0, 1.0), lambda y: (np.abs(y) < 1).astype(float)),
}

#: Gaussian draws per Monte Carlo evaluation (samples times batch size).
DRAWS = 1_000_000


def _sphere(batch: int, samples: int, seed: int) -> np.ndarray:
    """``sqrt(B) u`` for ``samples`` draws of u uniform on the unit sphere orthogonal to 1."""
    g = np.random.default_rng([seed, batch]).normal(size=(samples, batch))
    g -= g.mean(axis=1, keepdims=True)
    return g * (np.sqrt(batch) / np.linalg.norm(g, axis=1, keepdims=True))


def _terms(y: np.ndarray, activation: str, gamma: float, beta: float):
    """Per-draw numerator tr((G - uu^T) D G D) and denominator ||G phi(a)||^2."""
    batch = y.shape[1]
    phi, dphi = _PHI[activation]
    a = gamma * y + beta
    d = gamma * dphi(a)
    u = y / np.sqrt(batch)
    sum_d, sum_du = d.sum(axis=1), (d * u).sum(axis=1)
    trace_gdgd = (1 - 2 / batch) * (d * d).sum(axis=1) + sum_d**2 / batch**2
    u_dgd_u = ((d * u) ** 2).sum(axis=1) - sum_du**2 / batch
    f = phi(a)
    centred = (f * f).sum(axis=1) - f.sum(axis=1) ** 2 / batch
    return trace_gdgd - u_dgd_u, centred


def _large_batch(activation: str, gamma: float, beta: float) -> float:
    """E[phi'(a)^2] / Var phi(a), a = gamma g + beta, g ~ N(0, 1) (Gauss-Hermite, 160 nodes)."""
    if activation == "relu" and beta == 0.0:
        return math.pi / (math.pi - 1.0)
    if activation == "relu" and gamma > 0:  # truncated-normal moments, exact
        t = beta / gamma
        cdf, pdf = 0.5 * math.erfc(-t / math.sqrt(2)), math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
        mean = beta * cdf + gamma * pdf
        second = (beta**2 + gamma**2) * cdf + beta * gamma * pdf
        return gamma**2 * cdf / (second - mean**2)
    if activation == "linear":
        return 1.0
    nodes, weights = np.polynomial.hermite_e.hermegauss(160)
    weights = weights / weights.sum()
    phi, dphi = _PHI[activation]
    a = gamma * nodes + beta
    mean = weights @ phi(a)
    return float(weights @ (gamma * dphi(a)) ** 2 / (weights @ (phi(a) - mean) ** 2))


@lru_cache(maxsize=256)  # pure function of hashable arguments; predictions reuse it
def batchnorm_gradient_factor(
    activation: str,
    batch,
    *,
    gamma: float = 1.0,
    beta: float = 0.0,
    seed: int = 0,
    draws: int = DRAWS,
) -> tuple[float, float, str]:
    r"""``lambda_G``: growth of the expected squared gradient norm per plain BN layer, back.

    Parameters
    ----------
    activation : {"linear", "relu", "tanh", "sigmoid", "hardtanh"}
    batch : int >= 4, or math.inf
        Batch size B (the factor is infinite for B <= 3: ``E[1/chi^2_{B-1}]`` diverges).
    gamma, beta : float
        Normalisation scale and shift (1 and 0 at initialisation).
    seed : int
        Seeds the Monte Carlo draws.
    draws : int
        Gaussian numbers drawn (samples = draws // B).

    Returns
    -------
    factor : float
    stderr : float
        Monte Carlo standard error (0 for closed forms).
    evaluation : str
        ``"closed form"`` or ``"monte carlo"``.

    Examples
    --------
    >>> batchnorm_gradient_factor("linear", 8)[0]  # (B - 2) / (B - 3)
    1.2
    >>> round(batchnorm_gradient_factor("relu", math.inf)[0], 4)  # pi / (pi - 1)
    1.4669
    """
    if activation not in _PHI:
        raise ValueError(
            f"batchnorm_gradient_factor: argument 'activation' must be one of {sorted(_PHI)}; "
            f"got {activation!r}"
        )
    if batch == math.inf:
        return _large_batch(activation, gamma, beta), 0.0, "closed form"
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 4:
        raise ValueError(
            "batchnorm_gradient_factor: argument 'batch' must be an integer >= 4 or math.inf "
            f"(the expected squared norm is infinite for B <= 3); got {batch!r}"
        )
    batch = int(batch)
    if activation == "linear" and gamma != 0:
        return (batch - 2) / (batch - 3), 0.0, "closed form"
    samples = max(2000, draws // batch)
    num, den = _terms(_sphere(batch, samples, seed), activation, gamma, beta)
    ratio = num.mean() / den.mean()
    # delta-method standard error of a ratio of means
    resid = num - ratio * den
    stderr = float(resid.std(ddof=1) / np.sqrt(samples) / den.mean()) * batch / (batch - 3)
    return float(ratio * batch / (batch - 3)), stderr, "monte carlo"


def predict_batchnorm(net, *, batch=8, band: float = 0.01, seed: int = 0) -> Prediction:
    r"""Per-layer gradient growth of a batch-normalised depth chain at initialisation.

    Plain chains (``elman(..., norm="batch")``): rate ``0.5 ln lambda_G`` per layer (see the
    module docstring), with each layer's mean scale and shift. Residual chains: rate
    ``0.5 ln(1 + lambda_G s_l / sum_{k<l} s_k)`` at layer l, which decays with depth; the regime
    is then ``"critical"`` (power-law, not exponential, growth). Layer 1 normalises ``U x``, not
    ``W s_0``, and is not predicted (nan in ``per_layer``); ``.rate`` is the mean of the rest.

    Parameters
    ----------
    net : Network
        Batch-normalised depth chain in training mode.
    batch : int >= 4 or math.inf
    band : float
    seed : int

    Returns
    -------
    Prediction
        ``.method`` is ``"batchnorm_closed_form"`` or ``"batchnorm_monte_carlo"``;
        ``.details`` holds ``lambda`` (per layer, squared norm), ``stderr`` and the kind.

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("linear", norm="batch"), 4, 4, depth=3, tied=False)
    >>> p = predict_batchnorm(net, batch=8)
    >>> p.method, round(p.rate, 4)  # 0.5 ln(6 / 5)
    ('batchnorm_closed_form', 0.0912)
    """
    if not net.batchnorm.training:
        raise ValueError(
            "predict: argument 'net' must be in training mode (net.batchnorm.training = True): "
            "the prediction is for batch statistics; in evaluation mode the normalisation is "
            "a fixed affine map per sample"
        )
    params, layers = net.params, net.depth
    stage = next(op.stage for op in net.program.ops if hasattr(op, "stage"))
    gammas = params[stage.scale].mean(axis=1) if stage.scale else np.ones(layers)
    betas = params[stage.shift].mean(axis=1) if stage.shift else np.zeros(layers)
    factors, errors, kinds, known = [], [], set(), {}
    for gamma, beta in zip(gammas, betas, strict=True):
        key = (float(gamma), float(beta))
        if key not in known:  # at initialisation every layer has gamma = 1, beta = 0
            known[key] = batchnorm_gradient_factor(
                net.cell.activation, batch, gamma=key[0], beta=key[1], seed=seed
            )
        lam, err, kind = known[key]
        factors.append(lam)
        errors.append(err)
        kinds.add(kind)
    factors = np.array(factors)
    residual = "W2" in params
    assumptions = [
        "wide layers, Gaussian weights, gradient independence (Yang et al. 2019)",
        "permutation-symmetric (BSB1) batch statistics at the normalisation's input",
        "eps small against the batch variance; scale and shift taken per layer as their mean",
    ]
    per_layer = np.full(layers, np.nan)
    if residual:
        s = np.einsum("lij,lij->l", params["W2"], params["W2"]) / net.n_hidden
        before = np.cumsum(s)[:-1]
        per_layer[1:] = 0.5 * np.log1p(factors[1:] * s[1:] / before)
        assumptions.append("skip variance adds up: sum of the earlier branches' ||W2||_F^2 / n")
    else:
        per_layer[1:] = 0.5 * np.log(factors[1:])
    rate = float(np.mean(per_layer[1:])) if layers > 1 else float("nan")
    if residual:
        regime = "critical"
        horizon = float("inf")
        growth = "power law: the per-layer rate falls like lambda_G / (2 (l - 1))"
    else:
        regime, horizon = _classify(rate, band)
        growth = "exponential"
    method = "batchnorm_monte_carlo" if "monte carlo" in kinds else "batchnorm_closed_form"
    return Prediction(
        regime=regime,
        rate=rate,
        horizon=horizon,
        method=method,
        band=band,
        per_layer=per_layer,
        assumptions=assumptions,
        details={
            "lambda": factors.tolist(),
            "stderr": errors,
            "batch": batch if batch == math.inf else int(batch),
            "growth": growth,
            "large_batch_lambda": _large_batch(
                net.cell.activation, float(gammas.mean()), float(betas.mean())
            ),
            "seed": seed,
        },
    )
