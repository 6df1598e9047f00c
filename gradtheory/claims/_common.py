"""Helpers shared by the claim scripts (claims never import one another): the four recurrent
models of the training claims, their seeds, training record and settings (seed bands and moving
averages: ``band``, ``smooth`` from the figures); the gated claims' product-of-gates estimate."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..cells import elman, gru, irnn, lstm
from ..figures import PALETTE
from ..figures._plot_training import moving_average as smooth  # noqa: F401 (claims use it)
from ..figures._plot_training import seed_band as band  # noqa: F401 (claims use it)
from ..numeric.network import Network
from ..sweeps._result import _half_width
from ._compare import Comparison

#: model label -> (cell factory, initialisation) used by :func:`make_net`.
MODELS = {
    "tanh RNN": (lambda: elman("tanh"), "gaussian"),
    "IRNN": (irnn, "identity"),
    "LSTM": (lstm, "torch"),
    "GRU": (gru, "torch"),
}

#: one colour per model, the same in every figure.
COLORS = dict(zip(MODELS, PALETTE, strict=False))


def make_net(model: str, n_in: int, n_hidden: int, n_out: int, seed: int = 0) -> Network:
    """Network for ``model`` in :data:`MODELS` with a linear readout, in single precision.

    The tanh RNN uses Gaussian recurrent weights N(0, 1/n) (gain 1, the edge of chaos); the
    IRNN identity recurrent weights and zero bias (Le et al. 2015); LSTM and GRU PyTorch's
    uniform initialisation U(-1/sqrt(n), 1/sqrt(n)). The gated cells train 1.7x faster in
    single than in double precision, and the training claims need no more precision.
    """
    factory, init = MODELS[model]
    return Network(factory(), n_in, n_hidden, n_out, init=init, seed=seed, dtype="float32")


def seed_list(seed: int, quick: bool) -> list[int]:
    """The training seeds of a claim: 5 at full size, 2 with ``quick``, starting at ``seed``."""
    return [seed + k for k in range(2 if quick else 5)]


def run_sweep(point, grid):
    """``gt.sweep(point, grid)`` that stops the claim if any point failed (no partial grids)."""
    from ..sweeps import sweep

    return sweep(point, grid).complete()


def fit(net, task, *, seed: int, measure=None, every: int | None = None, **train_args):
    """Train ``net`` on ``task`` (no progress bar); ``(record, history)``.

    ``record`` holds the training ``loss`` curve, ``test_loss`` and ``score`` on 1000 fresh
    sequences (NaN after a divergence), the fraction of steps clipped, ``diverged_at`` (-1:
    never) and, with ``measure``, ``measure(net)`` taken every ``every`` steps and at the end
    (``measured``) and the steps (``measured_at``)."""
    from ..numeric.train import train

    track = {}
    if measure is not None:
        train_args.update(callback=lambda step, now, _: track.update({step: measure(now)}))
    history = train(net, task, seed=seed, progress=False, callback_every=every, **train_args)
    diverged = history.diverged_at is not None
    x, y, mask = task.sample(1000, np.random.default_rng([seed, 7]))  # not a training batch
    out = None if diverged else net.forward(x, record=False).outputs
    record = {
        "loss": np.asarray(history.loss),
        "test_loss": np.nan if diverged else float(task.loss_and_grad(out, y, mask)[0]),
        "score": np.nan if diverged else float(task.score(out, y, mask)),
        "clipped_fraction": float(history.clipped.mean()) if history.clipped.size else 0.0,
        "diverged_at": int(history.diverged_at) if diverged else -1,
    }
    if measure is not None:
        track[len(history.loss)] = measure(net)
        record.update(measured_at=np.array(list(track)), measured=np.array(list(track.values())))
    return record, history


def interval(values) -> tuple[float, float]:
    """Mean and half-width of the 95 % Student-t interval of the mean over seeds (NaN: < 2)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), _half_width(values)


def seed_stats(numbers: dict, label: str, values) -> float:
    """Store ``label`` per seed and as mean with 95 % half-width in ``numbers``; the mean.

    Examples
    --------
    >>> numbers = {}
    >>> seed_stats(numbers, "accuracy", [0.5, 0.7])
    0.6
    >>> sorted(numbers)
    ['accuracy (mean, 95% half-width)', 'accuracy per seed']
    """
    values = [float(v) for v in values]
    numbers[f"{label} per seed"] = values
    numbers[f"{label} (mean, 95% half-width)"] = list(interval(values))
    return numbers[f"{label} (mean, 95% half-width)"][0]


def seeds_needed(n_seeds: int) -> int:
    """Seeds that must agree for a setting to count: 4 of 5 (n - 1 from 5 seeds), else all."""
    return n_seeds - 1 if n_seeds >= 5 else n_seeds


def seeds_row(quantity: str, values, threshold: float, below: bool = True) -> Comparison:
    """Decide a training outcome from the seeds: at least 4 of 5 (all of 2) on the right side."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError(
            f"seeds_row: argument 'values' must hold the seeds' results; got {values!r}"
        )
    count = int(np.sum(values < threshold) if below else np.sum(values > threshold))
    quantity = f"seeds with {quantity} {'<' if below else '>'} {threshold:g} (of {values.size})"
    return Comparison(quantity, seeds_needed(values.size), count, rule="at least")


def _plain(value):
    """``value`` as JSON can hold it (tuple keys joined by ", "), or None if it holds code."""
    if isinstance(value, dict):
        keys = [", ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in value]
        value = dict(zip(keys, map(_plain, value.values()), strict=True))
        return None if None in value.values() else value
    if isinstance(value, (list, tuple)):
        value = [_plain(v) for v in value]
        return None if None in value else value
    return value if isinstance(value, (bool, int, float, str)) else None


def constants(namespace: dict, **extra) -> dict:
    """A claim's settings: its upper-case module constants (names lower-cased) except those
    holding code and the shared ones (``MODELS``, ``COLORS``, ``PALETTE``), after the training
    defaults every claim uses unless ``extra`` overrides them (Adam, batch 32), and ``extra``.

    Examples
    --------
    >>> constants({"LR": 0.01, "BUDGET": {False: 3, True: 1}, "TASK": len}, batch=16)
    {'optimizer': 'adam', 'batch': 16, 'lr': 0.01, 'budget': {'False': 3, 'True': 1}}
    """
    names = [k for k in namespace if k.isupper() and k not in ("MODELS", "COLORS", "PALETTE")]
    plain = {k if len(k) == 1 else k.lower(): _plain(namespace[k]) for k in names}
    settings = {k: v for k, v in plain.items() if v is not None}
    return {"optimizer": "adam", "batch": 32, **settings, **extra}


def log_norm_product(log_cum: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """ln||exp(log_cum) * probe|| over the last axis, in log space (no underflow).

    Examples
    --------
    >>> float(log_norm_product(np.log([[2.0, 2.0]]), np.array([0.6, 0.8]))[0])
    0.6931471805599453
    """
    with np.errstate(divide="ignore"):
        terms = 2.0 * (log_cum + np.log(np.abs(probe)))
    return 0.5 * logsumexp(terms, axis=-1)


def unit_probe(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    """A random unit vector per sequence, (batch, n): the probe dL/ds_T sent back by BPTT."""
    probe = rng.normal(size=(batch, n))
    return probe / np.linalg.norm(probe, axis=1, keepdims=True)
