"""Theory's forecast: will the gradient vanish or explode going back through the chain, how fast?

``rate`` is the log growth of the gradient norm per step back (per layer for depth chains):
``||dL/ds_{t-k}|| ~ ||dL/ds_t|| e^{rate k}``. Four routes, each with its assumptions:

* ``linear``: a linear recurrence ``h -> W h``: ``rate = ln rho(W)`` (exact asymptotically; for
  normal W also the growth of every component).
* ``pascanu``: Pascanu, Mikolov and Bengio (2013, Sec. 3.1): ``||J_t|| <= gamma sigma_max(W)``
  with gamma = sup|phi'|, so ``rate <= ln(gamma sigma_max)``; when that is negative the gradient
  vanishes for every trajectory (sufficient condition). When it is positive, exploding is only
  possible (the condition is necessary, not sufficient) and this route does not decide.
* ``mean_field``: random Gaussian weights (sigma_w^2 = gain^2) and biases (sigma_b^2), infinite
  width: ``rate = 1/2 ln chi_1`` per layer for deep networks (Poole et al. 2016, Schoenholz et
  al. 2017), the mean-field largest Lyapunov exponent for random RNNs. No data needed.
* ``jacobian``: along the network's own trajectory driven by x: the growth rate of a tangent
  vector pushed through the recorded step Jacobians (forward mode, renormalised every step), i.e.
  the finite-time largest Lyapunov exponent; per layer for untied chains.

``regime`` is ``critical`` when ``|rate| <= band`` (default 0.01 per step: less than a factor
e over 100 steps), else ``vanishing`` or ``exploding``; ``horizon = ln(1000) / (-rate)`` is the
number of steps over which the gradient falls 1000-fold (inf unless vanishing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._repr import compact_repr
from .._validate import Choice, Int, NetworkArg, Real, fail, validate
from ..numeric.tangent import tangent_log_growth as _tangent_log_growth
from ..symbolic.registry import elman_activation
from .jacobians import pascanu_bound, pascanu_regime

__all__ = ["METHODS", "Prediction", "predict"]

METHODS = ("auto", "linear", "pascanu", "mean_field", "jacobian")
_LN1000 = float(np.log(1000.0))


@dataclass
class Prediction:
    """A forecast of gradient growth; see the module docstring for the methods.

    Attributes
    ----------
    regime : {"vanishing", "exploding", "critical"}
        (``"undecided"`` for the ``pascanu`` route when its bound is above the band: the
        condition is then necessary for exploding, not sufficient)
    rate : float
        Log growth of the gradient norm per step back (upper bound for ``pascanu``).
    horizon : float
        Steps until the gradient falls 1000-fold (inf unless vanishing).
    method : str
    band : float
        Half-width of the critical band around rate 0.
    per_layer : ndarray or None, shape (L,)
        Per-layer rates of an untied chain, layer 1 first.
    assumptions : list of str
    details : dict
    """

    __repr__ = compact_repr("regime", "rate", "horizon", "method")

    regime: str
    rate: float
    horizon: float
    method: str
    band: float
    per_layer: np.ndarray | None = None
    assumptions: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"{self.regime} (rate {self.rate:+.4f} per step, horizon {self.horizon:.1f} steps, "
            f"method {self.method})"
        )

    def plot(self, ax=None, *, steps: int | None = None, **style):
        """Predicted log gradient ratio over k steps back with the critical band and horizon
        (untied chains: the rate per layer); returns the Axes.

        >>> net = gt.Network(gt.cells.elman("linear"), n_in=1, n_hidden=4, gain=0.5)
        >>> gt.predict(net).plot().get_xlabel()
        'steps back k'
        """
        from ..figures._plot_theory import plot_prediction

        return plot_prediction(self, ax, steps=steps, **style)

    def _repr_latex_(self) -> str:
        from ..figures._plot_theory import latex_prediction

        return latex_prediction(self)


def _classify(rate: float, band: float) -> tuple[str, float]:
    if rate > band:
        return "exploding", float("inf")
    if rate < -band:
        return "vanishing", _LN1000 / -rate
    return "critical", (_LN1000 / -rate if rate < 0 else float("inf"))


def _elman_activation(net) -> str | None:
    """The activation's name if ``net`` has an Elman cell h = phi(W h + U x + b), else None."""
    act = elman_activation(net.cell)
    return None if act is None else act.name


@validate(
    net=NetworkArg(),
    method=Choice(*METHODS),
    steps=Int(min=1, none=True),
    batch=Int(min=1, none=True),
    band=Real(gt=0),
    warmup=Int(min=0, none=True),
    seed=Int(min=0),
)
def predict(
    net,
    x=None,
    *,
    method: str = "auto",
    steps: int | None = None,
    batch: int | None = None,
    h0=None,
    band: float = 0.01,
    warmup: int | None = None,
    seed: int = 0,
) -> Prediction:
    """Predict the regime and rate of gradient growth for ``net``.

    Parameters
    ----------
    net : Network
    x : array, optional
        Inputs (T, B, n_in) for the ``jacobian`` route; untied chains take (B, n_in).
        Default: zero input for ``steps`` steps from random initial states (autonomous).
    steps, batch : int, optional
        Length (default 200; untied chains: their depth) and number of those default
        sequences (default 8; for a batch-normalised chain, the batch size B of the theory).
        Given with ``x`` they would be unused, so that is an error.
    method : {"auto", "linear", "pascanu", "mean_field", "jacobian"}
        ``auto``: linear Elman cells -> ``linear``; untied Elman chains with Gaussian init
        and no data -> ``mean_field``; otherwise ``jacobian``.
    band : float
        Critical band half-width (per step).
    warmup : int, optional
        Steps discarded while the tangent vector aligns (default min(50, T // 4)).

    Returns
    -------
    Prediction
        For a network made by :meth:`~gradtheory.Network.vary`: a sequence of K Predictions
        (``.rate``, ``.horizon`` stacked), ``h0`` shared or one per system.

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("linear"), n_in=1, n_hidden=4, gain=0.5)
    >>> predict(net).method
    'linear'
    """
    if x is not None:
        for name, value in (("steps", steps), ("batch", batch)):
            if value is not None:
                fail("predict", name, "None when x is given (x fixes length and batch)", value)
    if getattr(net, "K", None) is not None:  # one Prediction per system
        from ._batch import per_system

        return per_system(
            lambda system, start: predict(
                system,
                x,
                method=method,
                steps=steps,
                batch=batch,
                h0=start,
                band=band,
                warmup=warmup,
                seed=seed,
            ),
            net,
            h0,
        )
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if getattr(net.cell, "norm", None) == "batch":  # batch-coupled: its own mean-field theory
        from .batchnorm import predict_batchnorm

        if method not in ("auto", "mean_field"):
            raise ValueError(
                f"predict: argument 'method' must be 'auto' or 'mean_field' for a "
                f"batch-normalised network; got {method!r}"
            )
        return predict_batchnorm(net, batch=8 if batch is None else batch, band=band, seed=seed)
    steps = 200 if steps is None else steps
    batch = 8 if batch is None else batch
    if not (np.isfinite(band) and band >= 0):
        raise ValueError(f"band must be a finite number >= 0, got {band!r}")
    method = resolve_method(net, x, method)
    route = {
        "linear": _linear,
        "pascanu": _pascanu,
        "mean_field": _mean_field,
        "jacobian": _jacobian,
    }[method]
    return route(net, x=x, steps=steps, batch=batch, h0=h0, band=band, warmup=warmup, seed=seed)


def resolve_method(net, x, method: str) -> str:
    """The route ``method="auto"`` stands for (other names are returned unchanged).

    Linear Elman RNNs -> ``linear``; untied Elman chains with Gaussian init and no data ->
    ``mean_field``; everything else -> ``jacobian``.
    """
    if method != "auto":
        return method
    activation = _elman_activation(net)
    if activation == "linear" and net.tied:
        return "linear"
    if activation and not net.tied and x is None and net.init == "gaussian":
        return "mean_field"
    return "jacobian"


def _recurrent_weights(net) -> list[np.ndarray]:
    """W of every step: one matrix for a tied network, one per layer for an untied one."""
    return [net.params["W"]] if net.tied else list(net.params["W"])


def _linear(net, band, **_) -> Prediction:
    if _elman_activation(net) != "linear":
        raise ValueError("method='linear' needs a linear Elman cell (gt.cells.elman('linear'))")
    Ws = _recurrent_weights(net)
    rates = np.array([np.log(np.max(np.abs(np.linalg.eigvals(W)))) for W in Ws])
    rate = float(rates.mean())
    regime, horizon = _classify(rate, band)
    normal = all(np.allclose(W @ W.T, W.T @ W, atol=1e-10) for W in Ws)
    return Prediction(
        regime,
        rate,
        horizon,
        "linear",
        band,
        per_layer=None if net.tied else rates,
        assumptions=[
            "linear recurrence: rate = ln spectral radius of W",
            "exact at every step for normal W"
            if normal
            else "W is not normal: ln rho(W) is the asymptotic rate only",
        ],
        details={"spectral_radius": float(np.exp(rate)), "normal": normal},
    )


def _pascanu(net, band, **_) -> Prediction:
    if _elman_activation(net) is None:
        raise ValueError("method='pascanu' needs an Elman cell (h = phi(W h + U x + b))")
    sigma, gamma = pascanu_bound(net)
    bounds = np.log(gamma * sigma)
    rate = float(bounds.mean())
    regime = pascanu_regime(rate, band)
    # a positive bound is necessary for exploding but decides nothing: no horizon
    horizon = _classify(rate, band)[1] if regime == "vanishing" else float("inf")
    sufficient = bool(rate < 0)
    return Prediction(
        regime,
        rate,
        horizon,
        "pascanu",
        band,
        per_layer=None if net.tied else bounds,
        assumptions=[
            f"||J_t|| <= gamma sigma_max(W), gamma = sup|phi'| = {gamma}",
            "rate is an upper bound; vanishing is guaranteed when it is < 0 "
            "(sufficient condition), exploding only possible when it is > 0 "
            "(necessary condition)",
        ],
        details={
            "sigma_max": sigma.tolist(),
            "gamma": gamma,
            "threshold": 1.0 / gamma,
            "vanishing_guaranteed": sufficient,
        },
    )


def _mean_field(net, band, **_) -> Prediction:
    from .mean_field import mean_field, rnn_mean_field

    activation = _elman_activation(net)
    if activation is None or net.init != "gaussian":
        raise ValueError(
            "method='mean_field' needs an Elman cell with init='gaussian' "
            "(weights N(0, gain^2/n), biases N(0, sigma_b2))"
        )
    sw, sb = net.init_stats_["sigma_w2"], net.init_stats_["sigma_b2"]
    if net.tied:
        theory = rnn_mean_field(activation, net.gain, sb)
        rate = float(theory.lyapunov)
        per_layer, chi1 = None, float(np.exp(2 * rate))
        assumptions = [
            "random recurrent network, W_ij ~ N(0, g^2/n), infinite width",
            "autonomous dynamics (inputs ignored)",
            theory.note,
        ]
    else:
        theory = mean_field(activation, sw, sb)
        rate, chi1 = float(theory.log_grad_growth_per_layer), float(theory.chi1)
        per_layer = np.full(net.depth, rate)
        assumptions = [
            "deep random network at initialisation, infinite width",
            "pre-activations Gaussian with variance at the fixed point q*",
        ]
    regime, horizon = _classify(rate, band)
    return Prediction(
        regime,
        rate,
        horizon,
        "mean_field",
        band,
        per_layer=per_layer,
        assumptions=[a for a in assumptions if a],
        details={"sigma_w2": sw, "sigma_b2": sb, "chi1": chi1, "q_star": float(theory.q_star)},
    )


def tangent_log_growth(net, traj, seed: int = 0) -> np.ndarray:
    """ln of the per-step growth of a random tangent pushed through the step Jacobians.

    Returns
    -------
    ndarray, shape (T, B)
        ``ln ||J_t v_{t-1}||`` with ``v`` renormalised to unit length after every step
        (:func:`gradtheory.numeric.tangent.tangent_log_growth` with one vector).
    """
    from ..numeric.batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "tangent_log_growth")
    rng = np.random.default_rng(seed)
    batch = traj.states.shape[1]
    v = rng.normal(size=(batch, net.n_state, 1)).astype(net.dtype)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return _tangent_log_growth(net, traj, v)[1][..., 0]


def default_inputs(net, x, steps: int, batch: int, seed: int):
    """Inputs and initial state for the trajectory-based routes (zero input by default)."""
    rng = np.random.default_rng([seed, 7])
    if x is None:
        length = steps if net.tied else net.depth
        x = np.zeros((length, batch, net.n_in), dtype=net.dtype)
        h0 = rng.normal(size=(batch, net.n_state)) if net.tied else None
        if not net.tied and net.n_in:
            x[0] = rng.normal(size=(batch, net.n_in))
        return x, h0
    return x, None


def _jacobian(net, x, steps, batch, h0, band, warmup, seed) -> Prediction:
    x, default_h0 = default_inputs(net, x, steps, batch, seed)
    with np.errstate(over="ignore", invalid="ignore"):
        traj = net.forward(x, h0 if h0 is not None else default_h0)
    bad = ~np.all(np.isfinite(traj.states), axis=(1, 2))
    if bad.any():
        raise FloatingPointError(
            f"the trajectory diverged (non-finite state at step {int(np.argmax(bad))}); "
            "pass a smaller h0, other inputs x, or fewer steps"
        )
    growth = tangent_log_growth(net, traj, seed)
    if np.isnan(growth).any() or np.isposinf(growth).any():
        raise FloatingPointError("the step Jacobians along the trajectory are not finite")
    T = growth.shape[0]
    if net.tied:
        skip = min(50, T // 4) if warmup is None else warmup
        per_step = growth[skip:]
        rate = float(np.mean(per_step))
        per_layer = None
    else:
        skip = 0 if warmup is None else warmup
        per_layer = growth.mean(axis=1)
        rate = float(per_layer[skip:].mean())
    regime, horizon = _classify(rate, band)
    sem = float(np.std(growth[skip:].mean(axis=0)) / np.sqrt(max(growth.shape[1] - 1, 1)))
    return Prediction(
        regime,
        rate,
        horizon,
        "jacobian",
        band,
        per_layer=per_layer,
        assumptions=[
            "finite-time largest Lyapunov exponent along this trajectory",
            f"first {skip} steps discarded while the tangent aligns",
        ],
        details={"steps": T, "batch": int(growth.shape[1]), "stderr": sem, "warmup": skip},
    )
