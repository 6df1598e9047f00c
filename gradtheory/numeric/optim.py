"""First-order optimizers on dicts of NumPy arrays, and gradient clipping.

Optimizers follow ``torch.optim`` conventions (SGD, SGD with momentum/Nesterov, RMSprop with
``alpha=rho``, Adam with bias correction) and agree with it to rounding in float64.
``step(params, grads)`` updates the arrays of ``params`` in place; a gradient holding NaN or
Inf raises ``FloatingPointError`` naming the parameter before any array is changed.

Example
-------
>>> params = {"w": np.ones(2)}
>>> make_optimizer("adam", lr=0.1).step(params, {"w": np.ones(2)})
>>> params["w"]
array([0.9, 0.9])
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["SGD", "Adam", "Momentum", "Optimizer", "RMSProp", "clip_by_norm", "clip_by_value",
           "global_norm", "make_optimizer"]  # fmt: skip

Arrays = Mapping[str, np.ndarray]


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _unit(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def _eps(value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"eps must be a finite number >= 0, got {value!r}")
    return value


class Optimizer:
    """Base class: per-parameter state in ``self.state[name]``, step count in ``self.t``.

    Parameters
    ----------
    lr : learning rate, finite and > 0.
    """

    def __init__(self, lr: float):
        self.lr = _positive("lr", lr)
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray | int]] = {}

    def step(self, params: dict[str, np.ndarray], grads: Arrays) -> None:
        """Apply one update in place to ``params[name]`` for every ``name`` in ``grads``.

        Parameters
        ----------
        params : name -> float array, modified in place.
        grads : name -> array of the same shape (parameters without a gradient are skipped).

        Raises
        ------
        KeyError : a gradient has no parameter.  ValueError : shapes differ.
        FloatingPointError : a gradient contains NaN or Inf (nothing is updated).

        Examples
        --------
        >>> params = {"w": np.array([1.0, 2.0])}
        >>> SGD(0.1).step(params, {"w": np.array([1.0, -1.0])})
        >>> params["w"]
        array([0.9, 2.1])
        """
        checked = {}
        for name, g in grads.items():
            if name not in params:
                raise KeyError(f"gradient {name!r} has no parameter; parameters: {list(params)}")
            p, g = params[name], np.asarray(g)
            if not isinstance(p, np.ndarray) or p.shape != g.shape:
                raise ValueError(
                    f"parameter {name!r} must be an array of the gradient's shape {g.shape}"
                )
            if not np.all(np.isfinite(g)):
                raise FloatingPointError(f"non-finite gradient (NaN or Inf) for parameter {name!r}")
            checked[name] = g
        self.t += 1
        for name, g in checked.items():
            state = self.state.setdefault(name, {"t": 0})
            state["t"] += 1
            self._update(params[name], g, state)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k not in ("t", "state"))
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: ``p <- p - lr g``.

    Examples
    --------
    >>> params = {"w": np.array([1.0])}
    >>> SGD(0.1).step(params, {"w": np.array([1.0])})
    >>> params["w"]
    array([0.9])
    """

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        p -= self.lr * g


class Momentum(Optimizer):
    """Heavy-ball / Nesterov momentum as ``torch.optim.SGD(momentum=beta, dampening=0)``.

    ``b <- beta b + g`` (b = g at the first step), then ``p <- p - lr d`` with ``d = b``, or
    ``d = g + beta b`` if ``nesterov`` (Sutskever et al. 2013 in PyTorch's form).

    Examples
    --------
    >>> params = {"w": np.array([1.0])}
    >>> Momentum(0.1, beta=0.9, nesterov=True).step(params, {"w": np.array([1.0])})
    >>> params["w"]  # b = g = 1, d = g + 0.9 b = 1.9
    array([0.81])
    """

    def __init__(self, lr: float, beta: float = 0.9, nesterov: bool = False):
        super().__init__(lr)
        self.beta, self.nesterov = _unit("beta", beta), bool(nesterov)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if "buf" not in state:
            state["buf"] = np.array(g, dtype=float)
        else:
            state["buf"] = self.beta * state["buf"] + g
        d = g + self.beta * state["buf"] if self.nesterov else state["buf"]
        p -= self.lr * d


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton 2012) as ``torch.optim.RMSprop(alpha=rho)``.

    ``v <- rho v + (1 - rho) g^2``, ``p <- p - lr g / (sqrt(v) + eps)``, v starting at 0.

    Examples
    --------
    >>> params = {"w": np.array([1.0])}
    >>> RMSProp(1e-3).step(params, {"w": np.array([1.0])})
    >>> params["w"]  # v = 0.1: the first step is lr / sqrt(0.1)
    array([0.99683772])
    """

    def __init__(self, lr: float, rho: float = 0.9, eps: float = 1e-8):
        super().__init__(lr)
        self.rho, self.eps = _unit("rho", rho), _eps(eps)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        v = state.setdefault("v", np.zeros(g.shape))
        v *= self.rho
        v += (1.0 - self.rho) * g * g
        p -= self.lr * g / (np.sqrt(v) + self.eps)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) as ``torch.optim.Adam``.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, and with the per-parameter step t,
    ``p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.

    Examples
    --------
    >>> params = {"w": np.array([1.0])}
    >>> Adam(1e-3).step(params, {"w": np.array([1.0])})
    >>> params["w"]  # bias-corrected: the first step is lr
    array([0.999])
    """

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = _unit("beta1", beta1), _unit("beta2", beta2), _eps(eps)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        m = state.setdefault("m", np.zeros(g.shape))
        v = state.setdefault("v", np.zeros(g.shape))
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        t = state["t"]
        denom = np.sqrt(v) / math.sqrt(1.0 - self.beta2**t) + self.eps
        p -= (self.lr / (1.0 - self.beta1**t)) * m / denom


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "rmsprop": RMSProp,
    "adam": Adam,
}


def make_optimizer(name: str, lr: float, **kw: float) -> Optimizer:
    """Build an optimizer by name ('sgd', 'momentum', 'rmsprop', 'adam'; case-insensitive).

    Examples
    --------
    >>> make_optimizer("momentum", 0.01, beta=0.9, nesterov=True)
    Momentum(lr=0.01, beta=0.9, nesterov=True)
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key](lr, **kw)


def global_norm(grads: Arrays) -> float:
    """Euclidean norm of all arrays together, sqrt(sum_k ||g_k||^2), without overflow.

    Each array is divided by the largest absolute entry before squaring, so values up to the
    float64 maximum are handled (the result overflows to inf only if the norm itself does).
    NaN anywhere gives NaN; Inf (and no NaN) gives Inf.

    Examples
    --------
    >>> global_norm({"a": np.array([3.0]), "b": np.array([4.0])})
    5.0
    """
    arrays = [np.asarray(g, dtype=float) for g in grads.values()]
    maxima = [float(np.max(np.abs(a))) for a in arrays if a.size]
    if not maxima:
        return 0.0
    if any(math.isnan(m) for m in maxima):
        return math.nan
    scale = max(maxima)
    if scale == 0.0 or math.isinf(scale):
        return scale
    total = sum(float(np.sum(np.square(a / scale))) for a in arrays)
    return scale * math.sqrt(total)


def clip_by_norm(grads: Arrays, max_norm: float) -> tuple[dict[str, np.ndarray], float, bool]:
    """Rescale by the global norm (Pascanu, Mikolov & Bengio 2013, Algorithm 1).

    If ``||g|| > max_norm`` then ``g <- max_norm g / ||g||`` (new arrays), else ``g`` is returned
    unchanged (same arrays). A non-finite norm is not clipped, so that ``step`` refuses it.

    Parameters
    ----------
    grads : name -> array.
    max_norm : threshold eta > 0.

    Returns
    -------
    (clipped, norm_before, clipped_flag) : dict, float, bool.

    Examples
    --------
    >>> clip_by_norm({"w": np.array([3.0, 4.0])}, 1.0)
    ({'w': array([0.6, 0.8])}, 5.0, True)
    """
    eta = _positive("max_norm", max_norm)
    norm = global_norm(grads)
    if not math.isfinite(norm) or norm <= eta:
        return dict(grads), norm, False
    scale = eta / norm
    return {k: np.asarray(g, dtype=float) * scale for k, g in grads.items()}, norm, True


def clip_by_value(grads: Arrays, limit: float) -> dict[str, np.ndarray]:
    """Clip every entry to ``[-limit, limit]`` (new arrays; NaN stays NaN).

    Examples
    --------
    >>> clip_by_value({"w": np.array([-3.0, 0.5])}, 1.0)
    {'w': array([-1. ,  0.5])}
    """
    c = _positive("limit", limit)
    return {k: np.clip(g, -c, c) for k, g in grads.items()}
