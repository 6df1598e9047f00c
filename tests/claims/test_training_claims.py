"""Fast checks of the facts behind the training claims (adding, TBPTT, reversal, clipping,
latching, flip-flop, digits), each at a tiny size with the claim module's own functions."""

import numpy as np
import pytest

from gradtheory.claims import adding_learning_curves as adding_claim
from gradtheory.claims import clipping_pathological as clip_claim
from gradtheory.claims import digits_sequential as digits_claim
from gradtheory.claims import flipflop_gru as flipflop_claim
from gradtheory.claims import latching as latch_claim
from gradtheory.claims import reverse_input as reverse_claim
from gradtheory.claims import tbptt_window as tbptt_claim
from gradtheory.claims._common import interval, make_net, seeds_row, smooth
from gradtheory.numeric.tasks import adding, latch, recall
from gradtheory.numeric.train import gradient


def test_adding_gru_beats_constant_baseline():
    """Adding problem (Hochreiter & Schmidhuber 1997): a GRU gets well below the constant
    predictor's MSE 1/6 at T = 10, while the constant predictor scores exactly the baseline."""
    task = adding(10)
    _, y, mask = task.sample(20000, 0)
    assert task.loss_and_grad(np.ones_like(y), y, mask)[0] == pytest.approx(1 / 6, rel=0.03)
    res = adding_claim.train_point("GRU", 10, True, seed=0, steps=200)
    assert res["ratio"] < 0.3
    assert 0.0 <= res["clipped_fraction"] <= 1.0


def test_tbptt_gradient_never_reaches_inputs_outside_the_window():
    """Truncated BPTT (Williams & Peng 1990): with windows k < D the loss at step D sends no
    gradient to the state at step 0 (ln-norm -inf); with k >= D it does."""
    D = 12
    task = latch(D, L=1, noise=0.6)
    net = make_net("tanh RNN", 1, 8, 2)
    x, y, mask = task.sample(4, 0)
    for k, reaches in ((D - 1, False), (5, False), (D, True), (None, True)):
        log_norms = gradient(net, task, x, y, mask, tbptt=k)[2]
        assert np.isfinite(log_norms[0]).all() == reaches, k
    assert [tbptt_claim.reach(k, 30) for k in (10, 29, 30, 40)] == [10, 1, 30, 30]


def test_tbptt_window_one_step_short_does_not_learn():
    """A tanh RNN learns latch(30) with window k = 30 but stays at chance with k = 29."""
    short = tbptt_claim.window_point(30, 29, seed=0)["accuracy"]
    full = tbptt_claim.window_point(30, 30, seed=0)["accuracy"]
    assert short < 0.6 < 0.9 < full


def test_reverse_input_lets_lstm_start_learning():
    """Sutskever et al. 2014: copying 15 symbols, an LSTM stays at chance (0.25) when the
    source is read in order (every lag 16) but learns when it is reversed (lags 2, 4, ...),
    first on the earliest outputs."""
    x, _, _ = recall(4, reverse=True).sample(1, 0)  # the task the claim trains on
    x_in, _, _ = recall(4, reverse=False).sample(1, 0)
    assert np.array_equal(x[:4], x_in[3::-1])
    in_order = reverse_claim.recall_point("LSTM", False, seed=0, length=15, steps=300)["positions"]
    reversed_ = reverse_claim.recall_point("LSTM", True, seed=0, length=15, steps=300)["positions"]
    assert in_order.mean() < 0.3 and reversed_.mean() > 0.4
    assert reversed_[0] > 0.9 > 0.5 > reversed_[-1]


def test_clipping_prevents_divergence_and_divergence_stops_cleanly():
    """Pascanu et al. 2013: at SGD learning rate 0.3 the unclipped tanh RNN on adding(20)
    explodes; train stops at the first non-finite value, the clipped run stays finite."""
    plain = clip_claim.sgd_point("adding", 0.3, False, seed=0, steps=100)
    assert 0 <= plain["diverged_at"] < 100
    assert len(plain["loss"]) <= plain["diverged_at"] + 1
    clipped = clip_claim.sgd_point("adding", 0.3, True, seed=0, steps=100)
    assert clipped["diverged_at"] == -1 and np.isfinite(clipped["loss"]).all()
    assert clipped["clipped_fraction"] > 0 and np.isfinite(clipped["score"])


def test_latching_lstm_forget_bias_bridges_span_where_default_lstm_fails():
    """Latching (Bengio et al. 1994; Hochreiter & Schmidhuber 1997): at span 20 an LSTM with
    PyTorch's initialisation stays at chance, one with forget-gate bias +5 latches the bit."""
    labels = list(latch_claim.MODELS)
    assert latch_claim.latch_point(labels[1], 20, seed=0, steps=300)["accuracy"] < 0.6
    assert latch_claim.latch_point(labels[2], 20, seed=0, steps=300)["accuracy"] > 0.9


def test_flipflop_gru_bit_accuracy():
    """Sussillo & Barak 2013: a GRU holds three bits; bit accuracy counts signs after the
    first pulse only."""
    assert flipflop_claim.bit_accuracy(np.array([0.3, -0.1, 0.2]), np.array([1.0, 1.0, 0.0])) == 0.5
    from gradtheory.numeric.tasks import flipflop
    from gradtheory.numeric.train import train

    task = flipflop(3, 30)
    net = make_net("GRU", 3, 32, 3)
    train(net, task, steps=300, lr=1e-2, progress=False)
    x, y, _ = task.sample(200, 1)
    assert flipflop_claim.bit_accuracy(net.forward(x).outputs, y) > 0.95


def test_digits_gru_far_above_chance():
    """Pixel-by-pixel 8x8 digits (T = 64): a GRU is far above the 10% chance level after
    200 steps on the held-out images."""
    record = digits_claim.digits_point("GRU", False, seed=0, steps=200, every=100)
    assert record["measured_at"].tolist() == [0, 100, 200] and record["measured"][-1] > 0.4


def test_smooth_is_a_trailing_mean():
    """The learning-curve smoother averages the last ``window`` values."""
    assert np.allclose(smooth([1.0, 3.0, 5.0, 7.0], 2), [1.0, 2.0, 4.0, 6.0])


def test_seed_interval_and_decision():
    """95 % interval of the mean over seeds: Student t with n - 1 = 4 degrees of freedom
    (t = 2.776, scipy.stats); a setting is decided by at least 4 of 5 seeds, all of 2."""
    mean, half = interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and half == pytest.approx(2.7764451 * np.sqrt(2.5 / 5), rel=1e-6)
    assert seeds_row("x", [0.1, 0.1, 0.1, 0.1, 0.9], 0.5).agrees
    assert not seeds_row("x", [0.1, 0.1, 0.1, 0.9, 0.9], 0.5).agrees
    assert not seeds_row("x", [0.1, 0.9], 0.5).agrees
    with pytest.raises(ValueError, match="values"):
        seeds_row("x", [], 0.5)
