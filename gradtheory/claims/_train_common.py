"""Shared helpers of the training claims (adding, tbptt, reverse input, clipping, latching, ...).

:func:`make_net` builds the four recurrent models compared across the claims (the BLAS thread
count is set once for every claim by ``run_claim``).
"""

from __future__ import annotations

import numpy as np

from ..cells import elman, gru, irnn, lstm
from ..figures import PALETTE
from ..numeric.network import Network

__all__ = ["COLORS", "MODELS", "evaluate", "make_net", "smooth"]

#: model label -> (cell factory, initialisation) used by :func:`make_net`.
MODELS = {
    "tanh RNN": (lambda: elman("tanh"), "gaussian"),
    "IRNN": (irnn, "identity"),
    "LSTM": (lstm, "torch"),
    "GRU": (gru, "torch"),
}

#: one colour per model, the same in every figure.
COLORS = dict(zip(MODELS, PALETTE, strict=False))


def make_net(
    model: str, n_in: int, n_hidden: int, n_out: int, seed: int = 0, dtype: str = "float32"
) -> Network:
    """Network for ``model`` in :data:`MODELS` with a linear readout.

    The tanh RNN uses Gaussian recurrent weights N(0, 1/n) (gain 1, the edge of chaos); the
    IRNN identity recurrent weights and zero bias (Le et al. 2015); LSTM and GRU PyTorch's
    uniform initialisation U(-1/sqrt(n), 1/sqrt(n)). Single precision by default: the gated
    cells train 1.7x faster than in double and the training claims need no more precision.

    Examples
    --------
    >>> make_net("GRU", 2, 8, 1).n_hidden
    8
    """
    factory, init = MODELS[model]
    return Network(
        factory(), n_in=n_in, n_hidden=n_hidden, n_out=n_out, init=init, seed=seed, dtype=dtype
    )


def smooth(values, window: int) -> np.ndarray:
    """Trailing moving average of ``values`` over ``window`` entries (shorter at the start).

    Examples
    --------
    >>> smooth([1.0, 3.0, 5.0], 2)
    array([1., 2., 4.])
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    # a windowed sum, not differences of a running sum: a 1e28 spike must not wipe out
    # the small values after it by cancellation
    sums = np.convolve(values, np.ones(window))[: values.size]
    return sums / np.minimum(np.arange(1, values.size + 1), window)


def evaluate(net, task, batch: int = 1000, seed: int = 12345, reverse: bool = False):
    """Loss and score of ``net`` on a fresh batch of ``task`` (seeded, independent of training).

    Returns
    -------
    (loss, score) : floats, the task's loss and its ``score`` (accuracy or 1 - MSE/baseline).
    """
    x, y, mask = task.sample(batch, np.random.default_rng([seed, 7]))
    if reverse:
        x = x[::-1]
    out = net.forward(x, record=False).outputs
    return float(task.loss_and_grad(out, y, mask)[0]), float(task.score(out, y, mask))
