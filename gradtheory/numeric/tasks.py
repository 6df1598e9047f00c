"""Sequence tasks with long-range dependencies, as seeded batch generators.

Batches are time-major ``(x, y, mask)``: ``x`` (T, B, n_in), ``y`` (T, B, n_out) and ``mask``
(T, B), 1 where the loss applies (``target='last'``: only the final step; ``'every'``: all).
Loss conventions, shared by :func:`task_loss`, ``.baseline`` and ``.score``:

* ``'mse'``: mean over masked (t, b) and over output channels of ``(output - y) ** 2``;
* ``'cross_entropy'``: ``y`` one-hot, ``output`` logits; mean over masked (t, b) of
  ``-sum_k y_k log softmax(output)_k``.

``.baseline`` is that loss for the best predictor that ignores the input (derived per task).
``.score`` is accuracy for classification and ``1 - MSE / baseline`` for regression (the
fraction of the baseline error explained: 0 for the constant predictor, 1 for a perfect one).
Everything is deterministic given the ``numpy.random.Generator`` (or int seed) passed.

Example
-------
>>> x, y, mask = adding(50).sample(32, np.random.default_rng(0))
>>> x.shape, y.shape
((50, 32, 2), (50, 32, 1))
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

import numpy as np

from .._deprecate import renamed
from .._validate import Int, check

__all__ = ["TASKS", "Adding", "CopyMemory", "Digits", "FlipFlop", "Latch", "Recall", "Task",
           "TemporalOrder", "adding", "copy_memory", "digits", "flipflop", "latch", "make_task",
           "recall", "task_loss", "temporal_order"]  # fmt: skip

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


def _int(name: str, value: Any, minimum: int = 1, owner: Any = None) -> int:
    """An integer >= minimum, checked by the shared validator; ``owner`` names the task."""
    func = "tasks" if owner is None else type(owner).__name__
    return check(func, name, value, Int(min=minimum))


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(_int("rng seed", rng, 0))


def _last_mask(T: int, B: int) -> np.ndarray:
    mask = np.zeros((T, B))
    mask[-1] = 1.0
    return mask


def _one_hot_last(T: int, labels: np.ndarray, n: int) -> np.ndarray:
    y = np.zeros((T, labels.size, n))
    y[-1, np.arange(labels.size), labels] = 1.0
    return y


def task_loss(kind: str, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray):
    """Masked loss and its gradient with respect to ``outputs`` (see module conventions).

    Parameters
    ----------
    kind : 'mse' or 'cross_entropy'.
    outputs, y : (T, B, n_out) predictions (logits for cross-entropy) and targets.
    mask : (T, B) weights, 1 where the loss applies.

    Returns
    -------
    (loss, grad) : float and (T, B, n_out) array dL/d outputs.

    Examples
    --------
    >>> loss, grad = task_loss("mse", np.zeros((3, 2, 1)), np.ones((3, 2, 1)), np.ones((3, 2)))
    >>> loss, grad[0, 0]
    (1.0, array([-0.33333333]))
    """
    o, y, m = (np.asarray(a, dtype=float) for a in (outputs, y, mask))
    if o.shape != y.shape or m.shape != o.shape[:2]:
        raise ValueError(f"shapes differ: outputs {o.shape}, y {y.shape}, mask {m.shape}")
    count = m.sum()
    if count <= 0:
        raise ValueError("mask selects no step")
    w = m[..., None]
    if kind == "mse":
        d = o - y
        n = count * o.shape[-1]
        return float(np.sum(w * d * d) / n), 2.0 * w * d / n
    if kind == "cross_entropy":
        z = o - o.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        loss = -np.sum(w * y * logp) / count
        return float(loss), w * (np.exp(logp) * y.sum(-1, keepdims=True) - y) / count
    raise ValueError(f"unknown loss {kind!r}; valid: 'mse', 'cross_entropy'")


class Task:
    """Base class: ints ``n_in, n_out, T``, strings ``loss, target``; ``sample``, ``score``."""

    @renamed(batch_size="batch")
    def sample(self, batch: int, rng: np.random.Generator | int) -> Batch:
        """Draw a batch: x (T, B, n_in), y (T, B, n_out), mask (T, B).

        Examples
        --------
        >>> x, y, mask = gt.tasks.adding(10).sample(16, np.random.default_rng(0))
        >>> x.shape, y.shape, mask.shape
        ((10, 16, 2), (10, 16, 1), (10, 16))
        """
        return self._sample(_int("batch", batch, 1, self), _rng(rng))

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        raise NotImplementedError

    @property
    def baseline(self) -> float:
        """Loss of the best input-independent predictor (see the class docstring)."""
        raise NotImplementedError

    def loss_and_grad(self, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray):
        """``task_loss(self.loss, outputs, y, mask)``: (float, (T, B, n_out) gradient)."""
        return task_loss(self.loss, outputs, y, mask)

    def score(self, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
        """Accuracy over masked steps (classification) or ``1 - MSE / baseline`` (regression).

        Examples
        --------
        >>> task = gt.tasks.adding(10)
        >>> x, y, mask = task.sample(64, 0)
        >>> task.score(y, y, mask)  # perfect outputs
        1.0
        """
        if self.loss == "mse":
            return 1.0 - task_loss("mse", outputs, y, mask)[0] / self.baseline
        o, y, m = np.asarray(outputs), np.asarray(y), np.asarray(mask) > 0
        if o.shape != y.shape or m.shape != o.shape[:2]:
            raise ValueError(f"shapes differ: outputs {o.shape}, y {y.shape}, mask {m.shape}")
        return float(np.mean(o.argmax(-1)[m] == y.argmax(-1)[m]))

    def __repr__(self) -> str:
        names = inspect.signature(type(self)).parameters
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in names)
        return f"{type(self).__name__}({args})"


class Adding(Task):
    """Adding problem (Hochreiter & Schmidhuber 1997; version of Le, Jaitly & Hinton 2015).

    Channel 0 holds values U(0, 1); channel 1 is 0 except for two markers, one at a uniform
    position in the first half ``[0, T // 2)`` and one in the second half ``[T // 2, T)``.
    Target (last step, MSE): the sum S = U_1 + U_2 of the two marked values.
    Baseline: a constant c has MSE E[(S - c)^2] = Var S + (E S - c)^2, minimised by
    c = E S = 1, giving Var S = Var U_1 + Var U_2 = 1/12 + 1/12 = 1/6 ~ 0.1667.
    """

    n_in, n_out, loss, target = 2, 1, "mse", "last"

    def __init__(self, T: int):
        self.T = _int("T", T, 2, self)

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        T, cols = self.T, np.arange(B)
        x = np.zeros((T, B, 2))
        x[:, :, 0] = rng.random((T, B))
        i1 = rng.integers(0, T // 2, size=B)
        i2 = rng.integers(T // 2, T, size=B)
        x[i1, cols, 1] = 1.0
        x[i2, cols, 1] = 1.0
        y = np.zeros((T, B, 1))
        y[-1, :, 0] = x[i1, cols, 0] + x[i2, cols, 0]
        return x, y, _last_mask(T, B)

    @property
    def baseline(self) -> float:
        return 1.0 / 6.0


class CopyMemory(Task):
    """Copy memory (Arjovsky, Shah & Bengio 2016; Hochreiter & Schmidhuber 1997).

    Tokens: 0 blank, 1..K data symbols, K+1 delimiter (K = ``n_symbols``), one-hot inputs
    (n_in = K + 2). Input: ``length`` symbols uniform in 1..K, ``T - 1`` blanks, the delimiter,
    ``length`` blanks; total ``self.T = T + 2 * length`` steps (``self.delay = T``).
    Output classes 0..K (n_out = K + 1): blank for ``T + length`` steps, then the symbols.
    Loss at every step (cross-entropy). Baseline as in the paper: the memoryless strategy
    (blank, then uniform over the K symbols for the last ``length`` steps) scores
    ``length * ln K / (T + 2 * length)``, i.e. 10 ln 8 / (T + 20) with the defaults.
    ``score`` is the accuracy on the ``length`` recall steps only.
    """

    loss, target = "cross_entropy", "every"

    def __init__(self, T: int, n_symbols: int = 8, length: int = 10):
        self.delay = _int("T", T, 1, self)
        self.n_symbols = _int("n_symbols", n_symbols, 2, self)
        self.length = _int("length", length, 1, self)
        self.T = self.delay + 2 * self.length
        self.n_in, self.n_out = self.n_symbols + 2, self.n_symbols + 1

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        L, K = self.length, self.n_symbols
        seq = rng.integers(1, K + 1, size=(L, B))
        tokens = np.zeros((self.T, B), dtype=int)
        tokens[:L] = seq
        tokens[L + self.delay - 1] = K + 1
        labels = np.zeros((self.T, B), dtype=int)
        labels[-L:] = seq
        x = np.eye(self.n_in)[tokens]
        y = np.eye(self.n_out)[labels]
        return x, y, np.ones((self.T, B))

    def __repr__(self) -> str:
        return f"CopyMemory(T={self.delay}, n_symbols={self.n_symbols}, length={self.length})"

    @property
    def baseline(self) -> float:
        return self.length * math.log(self.n_symbols) / self.T

    def score(self, outputs: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
        L = self.length
        return super().score(np.asarray(outputs)[-L:], np.asarray(y)[-L:], np.asarray(mask)[-L:])


class Recall(Task):
    """Copy ``length`` symbols right after reading them (Sutskever, Vinyals & Le 2014, Sec. 3.3).

    Inputs (n_in = K + 1, K = ``n_symbols``): ``length`` one-hot symbols uniform in 0..K-1 at
    steps 0..L-1, a go marker (channel K) at step L, zeros after; T = 2L + 1. Targets (n_out =
    K): the symbols in their original order at steps L+1..2L (cross-entropy there only). In
    order every symbol waits L + 1 steps; with ``reverse`` the source is read backwards, so
    symbol i waits 2i steps (minimal lag 2, mean lag still L + 1). Only the source is reversed,
    unlike ``train(..., reverse_input=True)``, which flips the whole stream. Baseline: ln K.

    Examples
    --------
    >>> x, y, mask = gt.tasks.recall(3, reverse=True).sample(1, 0)
    >>> x[:3, 0].argmax(-1)[::-1].tolist() == y[4:, 0].argmax(-1).tolist()
    True
    """

    loss, target = "cross_entropy", "recall"  # the loss on the L steps after the go marker

    def __init__(self, length: int = 10, n_symbols: int = 4, reverse: bool = False):
        self.length = _int("length", length, 1, self)
        self.n_symbols = _int("n_symbols", n_symbols, 2, self)
        self.reverse = bool(reverse)
        self.n_in, self.n_out = self.n_symbols + 1, self.n_symbols
        self.T = 2 * self.length + 1

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        L, K = self.length, self.n_symbols
        seq = rng.integers(0, K, size=(L, B))
        cols = np.arange(B)[None, :]
        x = np.zeros((self.T, B, K + 1))
        x[np.arange(L)[:, None], cols, seq[::-1] if self.reverse else seq] = 1.0
        x[L, :, K] = 1.0
        y = np.zeros((self.T, B, K))
        y[np.arange(L + 1, self.T)[:, None], cols, seq] = 1.0
        mask = np.zeros((self.T, B))
        mask[L + 1 :] = 1.0
        return x, y, mask

    @property
    def baseline(self) -> float:
        return math.log(self.n_symbols)  # a uniform guess on the output steps


class TemporalOrder(Task):
    """Temporal order (Hochreiter & Schmidhuber 1997 exp. 6a; Pascanu et al. 2013 version).

    One-hot symbols (n_in = 6): distractors a, b, c, d (0-3) and relevant X, Y (4, 5). X or Y
    appears at t1 uniform in [ceil(T/10), floor(T/5)] and at t2 in [ceil(T/2), floor(3T/5)]
    (10-20 % and 50-60 % of the sequence); every other step is a random distractor. The class
    (last step, 4 classes) is 2 [first is Y] + [second is Y]: XX=0, XY=1, YX=2, YY=3.
    Baseline: classes are equiprobable, so the best constant prediction is uniform: ln 4.
    """

    n_in, n_out, loss, target = 6, 4, "cross_entropy", "last"

    def __init__(self, T: int):
        self.T = _int("T", T, 5, self)
        self.windows = ((-(-self.T // 10), self.T // 5), (-(-self.T // 2), 3 * self.T // 5))

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        cols = np.arange(B)
        (a1, b1), (a2, b2) = self.windows
        tokens = rng.integers(0, 4, size=(self.T, B))
        t1 = rng.integers(a1, b1 + 1, size=B)
        t2 = rng.integers(a2, b2 + 1, size=B)
        rel = rng.integers(0, 2, size=(2, B))
        tokens[t1, cols] = 4 + rel[0]
        tokens[t2, cols] = 4 + rel[1]
        x = np.eye(6)[tokens]
        return x, _one_hot_last(self.T, 2 * rel[0] + rel[1], 4), _last_mask(self.T, B)

    @property
    def baseline(self) -> float:
        return math.log(4.0)


class FlipFlop(Task):
    """``bits``-bit flip-flop (Sussillo & Barak 2013).

    Each input channel independently emits a pulse with probability ``p`` per step, of sign
    +1 or -1 with equal probability (else 0). Target channel i at step t (MSE, every step) is
    the sign of the latest pulse on channel i at or before t (the output switches on the pulse
    step itself), and 0 before its first pulse. Baseline: the target has mean 0 at every step,
    so the best constant is 0, with MSE = P(some pulse in 0..t) averaged over t:
    ``1 - (1 - p) (1 - (1 - p)^T) / (p T)``.
    """

    loss, target = "mse", "every"

    def __init__(self, bits: int = 3, T: int = 100, p: float = 0.05):
        self.bits = self.n_in = self.n_out = _int("bits", bits, 1, self)
        self.T = _int("T", T, 1, self)
        if not isinstance(p, (int, float, np.floating)) or not 0.0 < float(p) <= 1.0:
            raise ValueError(f"p must be a probability in (0, 1], got {p!r}")
        self.p = float(p)

    @staticmethod
    def targets_from_inputs(x: np.ndarray) -> np.ndarray:
        """Running sign of the latest pulse, 0 before any: (T, B, bits) -> (T, B, bits).

        Examples
        --------
        >>> FlipFlop.targets_from_inputs(np.array([0, 1, 0, -1.0]).reshape(4, 1, 1))[:, 0, 0]
        array([ 0.,  1.,  1., -1.])
        """
        x = np.asarray(x, dtype=float)
        y = np.zeros_like(x)
        state = np.zeros(x.shape[1:])
        for t in range(x.shape[0]):
            state = np.where(x[t] != 0, np.sign(x[t]), state)
            y[t] = state
        return y

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        shape = (self.T, B, self.n_in)
        pulse = rng.random(shape) < self.p
        x = np.where(pulse, np.where(rng.random(shape) < 0.5, -1.0, 1.0), 0.0)
        return x, self.targets_from_inputs(x), np.ones((self.T, B))

    @property
    def baseline(self) -> float:
        q = 1.0 - self.p
        return 1.0 - q * (1.0 - q**self.T) / (self.p * self.T)


class Latch(Task):
    """Information latching (Bengio, Simard & Frasconi 1994).

    A binary class c (equiprobable) is written into the first ``L`` inputs as ``2c - 1``
    (+1 or -1; the paper learns these values, we fix them); inputs ``L..T-1`` are Gaussian
    noise N(0, noise^2) carrying no information. The class is predicted at the last step
    (cross-entropy, 2 classes), so the network must latch it over ``T - L`` noisy steps.
    Baseline: equiprobable classes, uniform prediction: ln 2.
    """

    n_in, n_out, loss, target = 1, 2, "cross_entropy", "last"

    def __init__(self, T: int, L: int = 3, noise: float = 0.2):
        self.T = _int("T", T, 1, self)
        self.L = _int("L", L, 1, self)
        if self.L > self.T:
            raise ValueError(f"L must be <= T, got L={L}, T={T}")
        if not isinstance(noise, (int, float, np.floating)) or not 0.0 <= noise < math.inf:
            raise ValueError(f"noise must be a standard deviation >= 0, got {noise!r}")
        self.noise = float(noise)

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        c = rng.integers(0, 2, size=B)
        x = self.noise * rng.standard_normal((self.T, B, 1))
        x[: self.L, :, 0] = 2.0 * c - 1.0
        return x, _one_hot_last(self.T, c, 2), _last_mask(self.T, B)

    @property
    def baseline(self) -> float:
        return math.log(2.0)


@functools.lru_cache(maxsize=1)
def _digits_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data / 16.0, d.target.astype(int)


class Digits(Task):
    """Pixel-by-pixel digits: scikit-learn's bundled ``load_digits`` (1797 8x8 images, UCI).

    Pixels (scaled from 0..16 to [0, 1]) are read one per step in row-major order, or in a
    fixed permutation drawn from ``seed`` if ``permuted`` (as in the permuted MNIST of
    Le et al. 2015): T = 64, n_in = 1, 10 classes, loss at the last step. The train/test split
    is fixed (a permutation from ``default_rng(0)``, ``round(test_fraction * 1797)`` test
    images) and independent of ``seed``. ``sample`` draws train images with replacement;
    ``test_set()`` returns the whole test split. Baseline: entropy (nats) of the train labels.

    With ``depth=L`` the image is instead one 64-vector at the first of L steps (zeros after),
    the input of an untied network of depth L (n_in = 64, T = L; class at the last step).

    Examples
    --------
    >>> x, y, mask = gt.tasks.digits(depth=5).sample(3, 0)
    >>> x.shape, y.shape, float(abs(x[1:]).sum())
    ((5, 3, 64), (5, 3, 10), 0.0)
    """

    n_in, n_out, T, loss, target = 1, 10, 64, "cross_entropy", "last"

    def __init__(
        self,
        permuted: bool = False,
        seed: int = 0,
        test_fraction: float = 0.2,
        depth: int | None = None,
    ):
        if not 0.0 < float(test_fraction) < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        self.depth = None if depth is None else _int("depth", depth, 1, self)
        if self.depth is not None:
            self.n_in, self.T = 64, self.depth
        self.permuted, self.seed = bool(permuted), _int("seed", seed, 0, self)
        self.test_fraction = float(test_fraction)
        rng = np.random.default_rng(self.seed)
        self.permutation = rng.permutation(64) if self.permuted else np.arange(64)
        images, _ = _digits_data()
        order = np.random.default_rng(0).permutation(len(images))
        n_test = round(self.test_fraction * len(images))
        self.test_indices = np.sort(order[:n_test])
        self.train_indices = np.sort(order[n_test:])

    def _batch(self, idx: np.ndarray) -> Batch:
        images, labels = _digits_data()
        pixels = images[idx][:, self.permutation]
        if self.depth is None:  # one pixel per step
            x = pixels.T[:, :, None].copy()
        else:  # the whole image at the first step
            x = np.zeros((self.T, idx.size, 64))
            x[0] = pixels
        return x, _one_hot_last(self.T, labels[idx], 10), _last_mask(self.T, idx.size)

    def _sample(self, B: int, rng: np.random.Generator) -> Batch:
        return self._batch(self.train_indices[rng.integers(0, self.train_indices.size, B)])

    def test_set(self) -> Batch:
        """The test split: x (T, n_test, n_in), y (T, n_test, 10), mask (T, n_test)."""
        return self._batch(self.test_indices)

    @property
    def baseline(self) -> float:
        freq = np.bincount(_digits_data()[1][self.train_indices], minlength=10)
        freq = freq / freq.sum()
        return float(-np.sum(freq[freq > 0] * np.log(freq[freq > 0])))


adding, copy_memory, temporal_order = Adding, CopyMemory, TemporalOrder
flipflop, latch, digits, recall = FlipFlop, Latch, Digits, Recall

TASKS: dict[str, type[Task]] = {
    "adding": Adding,
    "copy_memory": CopyMemory,
    "temporal_order": TemporalOrder,
    "flipflop": FlipFlop,
    "latch": Latch,
    "digits": Digits,
}


def make_task(name: str, **kw: Any) -> Task:
    """Build a task by registry name, e.g. ``make_task('adding', T=100)``.

    Raises
    ------
    ValueError : unknown name (the message lists the valid names).
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid names: {', '.join(sorted(TASKS))}")
    return TASKS[name](**kw)
