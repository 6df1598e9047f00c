"""Tests of gradtheory.numeric.train: learning, clipping, truncation, divergence, saving."""

import numpy as np
import pytest

from gradtheory.cells import elman, gru
from gradtheory.io import load_result
from gradtheory.numeric import tasks
from gradtheory.numeric.network import Network
from gradtheory.numeric.train import gradient, train


def test_gru_learns_short_adding_problem():
    """A GRU trained with Adam beats the adding problem's constant baseline (MSE 1/6) tenfold
    at T = 10 (Hochreiter and Schmidhuber 1997; Le et al. 2015 report the same for longer T)."""
    net = Network(gru(), n_in=2, n_hidden=16, n_out=1, seed=1)
    history = train(net, tasks.adding(10), steps=300, lr=1e-2, progress=False, seed=1)
    assert history.diverged_at is None
    assert np.mean(history.loss[-20:]) < tasks.adding(10).baseline / 10


def test_same_seed_same_history():
    """Reproducibility: the same seeds give the same losses to the last bit."""
    runs = []
    for _ in range(2):
        net = Network(elman("tanh"), n_in=2, n_hidden=4, n_out=1, seed=3)
        runs.append(train(net, tasks.adding(8), steps=5, seed=7, progress=False).loss)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_clipping_bounds_the_applied_norm():
    """Clipping by norm (Pascanu et al. 2013, Alg. 1): applied norm = min(norm, eta)."""
    net = Network(elman("tanh"), n_in=2, n_hidden=8, n_out=1, gain=1.5, seed=0)
    history = train(net, tasks.adding(20), steps=10, clip=0.01, progress=False)
    np.testing.assert_allclose(
        history.grad_norm_clipped, np.minimum(history.grad_norm, 0.01), rtol=1e-10
    )
    np.testing.assert_array_equal(history.clipped, history.grad_norm > 0.01)


def test_divergence_stops_cleanly_and_keeps_history():
    """Training that overflows stops at the step it diverged, keeps the history recorded so far
    and leaves finite parameters (the bad update is undone)."""
    net = Network(elman("relu"), n_in=2, n_hidden=16, n_out=1, gain=3.0, seed=0)
    history = train(net, tasks.adding(50), steps=50, lr=1.0, optimizer="sgd", progress=False)
    assert history.diverged_at is not None and history.diverged_at < 50
    assert f"step {history.diverged_at}" in history.message
    assert len(history.loss) in (history.diverged_at, history.diverged_at + 1)
    assert all(np.all(np.isfinite(v)) for v in net.params.values())


def test_full_window_truncation_equals_bptt():
    """tbptt with a window at least T long is exactly full BPTT."""
    net = Network(elman("tanh"), n_in=2, n_hidden=5, n_out=1, seed=2)
    task = tasks.adding(12)
    x, y, mask = task.sample(4, np.random.default_rng(0))
    _, full, _ = gradient(net, task, x, y, mask)
    _, truncated, _ = gradient(net, task, x, y, mask, tbptt=12)
    for name in full:
        np.testing.assert_allclose(truncated[name], full[name], rtol=1e-12, atol=1e-15)


def test_truncation_cuts_the_gradient_beyond_the_window():
    """With the loss at the last step only and window k, dL/ds_t is exactly zero for steps
    before the last window (Williams and Peng 1990): nothing older than k steps is learned."""
    net = Network(elman("tanh"), n_in=2, n_hidden=5, n_out=1, seed=2)
    task = tasks.adding(12)
    x, y, mask = task.sample(3, np.random.default_rng(0))
    _, _, log_norms = gradient(net, task, x, y, mask, tbptt=4)
    assert np.all(np.isneginf(log_norms[:8]))
    assert np.all(np.isfinite(log_norms[9:]))


def test_history_saves_without_pickle(tmp_path):
    """History.save writes .npz + .json that load back without pickle."""
    net = Network(elman("tanh"), n_in=2, n_hidden=3, n_out=1)
    history = train(net, tasks.adding(5), steps=3, progress=False, snapshot_every=1)
    history.save(tmp_path / "run")
    arrays, meta = load_result(tmp_path / "run")
    np.testing.assert_array_equal(arrays["loss"], history.loss)
    assert meta["settings"]["steps"] == 3 and "snapshot_0" in arrays


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2, "clip": -1.0}, "clip"),
        ({"steps": 2, "optimizer": "lbfgs"}, "lbfgs"),
    ],
)
def test_bad_arguments_are_named(kwargs, word):
    """Bad training arguments raise an error naming the argument."""
    net = Network(elman("tanh"), n_in=2, n_hidden=3, n_out=1)
    with pytest.raises(ValueError, match=word):
        train(net, tasks.adding(5), progress=False, **kwargs)


def test_task_and_network_sizes_must_match():
    """A network whose input size differs from the task's is refused with both sizes named."""
    net = Network(elman("tanh"), n_in=3, n_hidden=3, n_out=1)
    with pytest.raises(ValueError, match="n_in=2"):
        train(net, tasks.adding(5), steps=1, progress=False)
