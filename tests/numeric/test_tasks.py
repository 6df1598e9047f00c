"""Tests for gradtheory.numeric.tasks: structure, baselines and reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradtheory.numeric import tasks
from gradtheory.numeric.tasks import make_task, task_loss

ALL = [
    tasks.adding(20),
    tasks.copy_memory(15),
    tasks.temporal_order(30),
    tasks.flipflop(3, 40),
    tasks.latch(25),
    tasks.digits(),
    tasks.digits(permuted=True, seed=3),
    tasks.digits(depth=7),
    tasks.recall(6, reverse=True),
]


@pytest.mark.parametrize("task", ALL, ids=repr)
def test_shapes_and_attributes(task):
    """Contract (DESIGN.md, gt.tasks): time-major x (T,B,n_in), y (T,B,n_out), mask (T,B)."""
    x, y, mask = task.sample(5, np.random.default_rng(0))
    assert x.shape == (task.T, 5, task.n_in)
    assert y.shape == (task.T, 5, task.n_out)
    assert mask.shape == (task.T, 5)
    assert task.loss in ("mse", "cross_entropy")
    if task.target == "last":
        assert np.all(mask[-1] == 1) and np.all(mask[:-1] == 0)
    elif task.target == "recall":  # the output phase, after the go marker
        assert np.all(mask[-task.length :] == 1) and np.all(mask[: -task.length] == 0)
    else:
        assert task.target == "every" and np.all(mask == 1)
    assert np.isfinite(task.baseline) and task.baseline > 0


@pytest.mark.parametrize("task", ALL, ids=repr)
def test_reproducible(task):
    """Determinism: the same seed gives the same batch, a different seed a different one."""
    a = task.sample(7, np.random.default_rng(42))
    b = task.sample(7, np.random.default_rng(42))
    c = task.sample(7, np.random.default_rng(43))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not all(np.array_equal(u, v) for u, v in zip(a, c, strict=True))
    np.testing.assert_array_equal(task.sample(7, 42)[0], a[0])  # an int seed works too


def test_adding_baseline_is_one_sixth_by_monte_carlo():
    """Adding problem: constant 1 has MSE Var(U1 + U2) = 1/6 (Le et al. 2015, Sec. 4.1)."""
    task = tasks.adding(10)
    _, y, mask = task.sample(200_000, np.random.default_rng(1))
    s = y[-1, :, 0]
    sq = (s - 1.0) ** 2
    se = sq.std() / math.sqrt(sq.size)
    assert abs(sq.mean() - 1 / 6) < 4 * se
    assert abs(s.mean() - 1.0) < 4 * s.std() / math.sqrt(s.size)  # E S = 1 is the best constant
    loss, _ = task_loss("mse", np.ones_like(y), y, mask)
    assert loss == pytest.approx(sq.mean(), rel=1e-12)
    assert task.baseline == pytest.approx(1 / 6, abs=1e-15)


@pytest.mark.parametrize("T", [2, 7, 50])
def test_adding_two_markers_one_per_half(T):
    """Adding problem (Le et al. 2015): one marker in each half, target = sum of marked values."""
    x, y, _ = tasks.adding(T).sample(500, np.random.default_rng(T))
    markers = x[:, :, 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert np.all(markers[: T // 2].sum(0) == 1) and np.all(markers[T // 2 :].sum(0) == 1)
    np.testing.assert_allclose(y[-1, :, 0], (x[:, :, 0] * markers).sum(0), rtol=1e-15)
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] < 1))


def test_copy_memory_layout_and_baseline():
    """Copy memory (Arjovsky et al. 2016, Sec. 4.1): layout; baseline 10 ln 8 / (T + 20)."""
    T = 30
    task = tasks.copy_memory(T)
    assert task.T == T + 20 and task.n_in == 10 and task.n_out == 9
    assert task.baseline == pytest.approx(10 * math.log(8) / (T + 20), rel=1e-14)
    x, y, mask = task.sample(64, np.random.default_rng(0))
    tok, lab = x.argmax(-1), y.argmax(-1)
    assert np.all((tok[:10] >= 1) & (tok[:10] <= 8))
    assert np.all(tok[10 : T + 9] == 0) and np.all(tok[T + 9] == 9) and np.all(tok[T + 10 :] == 0)
    assert np.all(lab[: T + 10] == 0)
    np.testing.assert_array_equal(lab[T + 10 :], tok[:10])
    # The memoryless strategy (blank surely, then uniform over the 8 symbols) attains it.
    logits = np.full(y.shape, -1e3)
    logits[: T + 10, :, 0] = 0.0
    logits[T + 10 :, :, 1:] = 0.0
    loss, _ = task_loss("cross_entropy", logits, y, mask)
    assert loss == pytest.approx(10 * math.log(8) / (T + 20), rel=1e-12)
    assert task.score(y, y, mask) == 1.0


@pytest.mark.parametrize("T", [5, 10, 100, 137])
def test_temporal_order_positions(T):
    """Temporal order (Pascanu et al. 2013, Sec. 5.1): X/Y in [10%, 20%] and [50%, 60%] of T."""
    task = tasks.temporal_order(T)
    x, y, _ = task.sample(2000, np.random.default_rng(T))
    tok = x.argmax(-1)
    rel = tok >= 4
    assert np.all(rel.sum(0) == 2)
    _, b = np.nonzero(rel.T)  # per sequence, positions in increasing order
    t1, t2 = b[0::2], b[1::2]
    assert np.all((t1 >= 0.1 * T) & (t1 <= 0.2 * T))
    assert np.all((t2 >= 0.5 * T) & (t2 <= 0.6 * T))
    if T == 100:
        assert t1.min() == 10 and t1.max() == 20 and t2.min() == 50 and t2.max() == 60
    cls = 2 * (tok[t1, np.arange(2000)] == 5) + (tok[t2, np.arange(2000)] == 5)
    np.testing.assert_array_equal(y[-1].argmax(-1), cls)
    assert task.baseline == pytest.approx(math.log(4))


def test_flipflop_hand_example():
    """Flip-flop (Sussillo & Barak 2013): target = sign of the latest pulse, 0 before any."""
    x = np.array([0, 1, 0, -1, -1, 0, 1, 0], dtype=float).reshape(8, 1, 1)
    expected = np.array([0, 1, 1, -1, -1, -1, 1, 1], dtype=float)
    np.testing.assert_array_equal(tasks.FlipFlop.targets_from_inputs(x)[:, 0, 0], expected)


def test_flipflop_samples_and_baseline():
    """Flip-flop: running sign per channel; MSE of constant 0 matches the closed form."""
    task = tasks.flipflop(bits=2, T=60, p=0.05)
    x, y, mask = task.sample(4000, np.random.default_rng(5))
    assert set(np.unique(x)) <= {-1.0, 0.0, 1.0}
    assert abs(np.mean(x != 0) - 0.05) < 0.002
    for b in range(20):  # explicit loop, independent of the vectorised implementation
        for i in range(2):
            state = 0.0
            for t in range(60):
                state = x[t, b, i] if x[t, b, i] != 0 else state
                assert y[t, b, i] == state
    sq = y**2
    se = sq.mean(axis=(0, 2)).std() / math.sqrt(4000)
    assert abs(sq.mean() - task.baseline) < 4 * se
    assert task.score(np.zeros_like(y), y, mask) == pytest.approx(1 - sq.mean() / task.baseline)


def test_latch_class_in_first_inputs():
    """Latching (Bengio et al. 1994): the first L inputs encode the class, the rest is noise."""
    task = tasks.latch(30, L=4, noise=0.5)
    x, y, mask = task.sample(300, np.random.default_rng(2))
    c = y[-1].argmax(-1)
    np.testing.assert_array_equal(x[:4, :, 0], np.broadcast_to(2.0 * c - 1, (4, 300)))
    assert abs(x[4:].std() - 0.5) < 0.02
    assert task.score(y, y, mask) == 1.0


def test_digits_split_and_permutation():
    """Digits (sklearn load_digits, 1797 images): T=64 in [0,1]; the split covers all images."""
    task = tasks.digits()
    train, test = task.train_indices, task.test_indices
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(1797))
    assert test.size == round(0.2 * 1797)
    x, y, _ = task.test_set()
    assert x.shape == (64, test.size, 1) and y.shape == (64, test.size, 10)
    assert x.min() >= 0 and x.max() == 1.0
    from sklearn.datasets import load_digits

    d = load_digits()
    np.testing.assert_array_equal(x[:, 0, 0], d.data[test[0]] / 16)
    np.testing.assert_array_equal(y[-1].argmax(-1), d.target[test])
    p = tasks.digits(permuted=True, seed=1)
    np.testing.assert_array_equal(np.sort(p.permutation), np.arange(64))
    np.testing.assert_array_equal(p.permutation, tasks.digits(permuted=True, seed=1).permutation)
    np.testing.assert_array_equal(p.test_indices, test)  # split independent of the seed
    np.testing.assert_array_equal(p.test_set()[0][:, 0, 0], x[p.permutation, 0, 0])
    assert 2.29 < task.baseline <= math.log(10)


def test_digits_depth_is_the_image_at_the_first_layer():
    """Digits(depth=L): the same images and labels as the pixel sequence, as one 64-vector at
    step 0 of L (zeros after), for an untied network of depth L (what a deep classifier reads)."""
    flat, sequence = tasks.digits(depth=12), tasks.digits()
    assert (flat.n_in, flat.T, repr(flat)) == (64, 12, "Digits(permuted=False, seed=0, "
                                               "test_fraction=0.2, depth=12)")  # fmt: skip
    x, y, mask = flat.sample(9, np.random.default_rng(4))
    xs, ys, _ = sequence.sample(9, np.random.default_rng(4))  # same draws, same images
    np.testing.assert_array_equal(x[0], xs[:, :, 0].T)
    assert not x[1:].any()
    np.testing.assert_array_equal(y[-1], ys[-1])
    assert mask[-1].all() and not mask[:-1].any()
    assert flat.test_set()[0].shape == (12, sequence.test_indices.size, 64)
    assert flat.baseline == sequence.baseline
    with pytest.raises(ValueError, match="depth"):
        tasks.digits(depth=0)


def test_recall_lags_and_baseline():
    """Recall (Sutskever et al. 2014): in order every symbol waits L + 1 steps for its output,
    reversed symbol i (1-based) waits 2i; only the source is reversed; ln K is the loss of the
    uniform guess (zero logits) on the output steps."""
    L, K = 5, 3
    forward, backward = tasks.recall(L, K), tasks.recall(L, K, reverse=True)
    x, y, mask = forward.sample(40, np.random.default_rng(2))
    xr, yr, maskr = backward.sample(40, np.random.default_rng(2))
    assert (forward.T, forward.n_in, forward.n_out) == (2 * L + 1, K + 1, K)
    np.testing.assert_array_equal(y, yr)
    np.testing.assert_array_equal(mask, maskr)
    np.testing.assert_array_equal(xr[:L], x[:L][::-1])
    np.testing.assert_array_equal(xr[L:], x[L:])
    assert x[L, :, K].all() and not x[L + 1 :].any()
    read = lambda inputs, t: inputs[t, :, :K].argmax(-1)  # noqa: E731
    for i in range(1, L + 1):  # output i at step L + i
        np.testing.assert_array_equal(y[L + i].argmax(-1), read(x, i - 1))  # lag L + 1
        np.testing.assert_array_equal(y[L + i].argmax(-1), read(xr, L - i))  # lag 2i
    assert not mask[: L + 1].any() and mask[L + 1 :].all()
    uniform = task_loss("cross_entropy", np.zeros_like(y), y, mask)[0]
    assert math.isclose(uniform, forward.baseline, rel_tol=1e-12)
    assert math.isclose(forward.baseline, math.log(K))
    assert forward.score(y, y, mask) == 1.0


def test_task_loss_gradient_matches_finite_differences():
    """task_loss: analytic gradient equals central differences (both losses)."""
    rng = np.random.default_rng(0)
    o, mask = rng.normal(size=(3, 2, 4)), np.array([[1, 0], [0, 1], [1, 1.0]])
    for kind, y in [("mse", rng.normal(size=o.shape)), ("cross_entropy", np.eye(4)[[[0, 1]] * 3])]:
        _, g = task_loss(kind, o, y, mask)
        num = np.zeros_like(o)
        for i in np.ndindex(o.shape):
            e = np.zeros_like(o)
            e[i] = 1e-6
            num[i] = (
                task_loss(kind, o + e, y, mask)[0] - task_loss(kind, o - e, y, mask)[0]
            ) / 2e-6
        np.testing.assert_allclose(g, num, atol=1e-8)


def test_registry_and_validation():
    """make_task builds by name; bad names and arguments give clear errors."""
    assert set(tasks.TASKS) == {"adding", "copy_memory", "temporal_order", "flipflop", "latch",
                                "digits"}  # fmt: skip
    assert make_task("adding", T=12).T == 12
    with pytest.raises(ValueError, match=r"'addding'.*adding, copy_memory"):
        make_task("addding", T=10)
    with pytest.raises(ValueError, match="Adding: argument 'T' must be"):
        tasks.adding(0)
    with pytest.raises(TypeError, match="argument 'T' must be an integer"):
        tasks.adding(10.5)
    with pytest.raises(ValueError, match="p must be"):
        tasks.flipflop(p=1.5)
    with pytest.raises(ValueError, match="L must be <= T"):
        tasks.latch(3, L=5)
    with pytest.raises(ValueError, match="argument 'batch'"):
        tasks.adding(10).sample(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown loss"):
        task_loss("l1", np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), np.ones((1, 1)))
