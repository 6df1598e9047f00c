"""Faults reported, not hidden (issue 10, items 3 and 5).

Facts checked: Adam with lr = 1e6 grows the loss by orders of magnitude; training warns, sets
``History.blowup_at`` (threshold ``BLOWUP_FACTOR``) and runs every step; a float32 network
whose state overflows warns naming the step; an untied network's ``step(layer=99)`` names
``layer``; ``verify`` with one sequence refuses (a standard error needs two) instead of
reporting 0.0; ``basins(tol=-1)`` (which never returned) raises.
"""

import warnings

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.numeric.train import BLOWUP_FACTOR


def test_blowup_warns_and_training_goes_on():
    """lr = 1e6: a RuntimeWarning, blowup_at set, all steps recorded, no divergence stop."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=8, n_out=1)
    with pytest.warns(RuntimeWarning, match="blowup_at"):
        history = gt.train(net, gt.tasks.adding(10), steps=20, lr=1e6, progress=False)
    assert history.blowup_at is not None and history.blowup_at < 20
    if history.diverged_at is None:
        assert len(history.loss) == 20
    assert history.loss.max() > BLOWUP_FACTOR * history.loss[0] or history.blowup_at == 0


def test_ordinary_training_has_no_blowup():
    """A modest learning rate leaves blowup_at None and warns about nothing."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=8, n_out=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = gt.train(net, gt.tasks.adding(10), steps=20, lr=1e-3, progress=False)
    assert history.blowup_at is None and history.diverged_at is None


def test_float32_overflow_in_forward_warns_with_the_step():
    """A ReLU float32 network with gain 50 overflows near step 41: the warning says where."""
    net = gt.Network(gt.cells.elman("relu"), n_in=1, n_hidden=4, gain=50, dtype="float32")
    with pytest.warns(RuntimeWarning, match=r"stopped being finite at step (\d+)") as record:
        traj = net.forward(np.ones((60, 2, 1), dtype=np.float32))
    message = str(next(w.message for w in record if "stopped being finite" in str(w.message)))
    step = int(message.split("at step ")[1].split()[0])
    finite = np.isfinite(traj.states.reshape(61, -1)).all(axis=1)
    assert finite[:step].all() and not finite[step]


def test_untied_step_names_layer():
    """step(layer=99) on a depth-3 network names the argument and the valid range."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2, tied=False, depth=3)
    with pytest.raises(ValueError, match=r"argument 'layer' must be an integer in 0\.\.2; got 99"):
        net.step(np.zeros((1, 2)), layer=99)


def test_verify_with_one_sequence_refuses():
    """batch=1 would give a standard error of 0.0 from one sequence: refused with the reason."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=8, gain=0.5)
    with pytest.raises(ValueError, match="argument 'batch' must be at least 2 sequences"):
        gt.verify(net, batch=1)
    with pytest.raises(ValueError, match="argument 'x'"):
        gt.verify(net, x=np.zeros((50, 1, 1)))


def test_verify_refuses_ignored_arguments():
    """x with a task, or a prediction with a method: one of them would be silently unused."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=4, n_out=1)
    with pytest.raises(ValueError, match="argument 'task'"):
        gt.verify(net, x=np.zeros((20, 2, 2)), task=gt.tasks.adding(20))
    prediction = gt.predict(net)
    with pytest.raises(ValueError, match="argument 'method'"):
        gt.verify(net, prediction=prediction, method="linear")


def test_basins_negative_tol_raises():
    """tol=-1 made the clustering loop forever; it is refused now."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})
    grid = np.linspace(-1, 1, 3)
    with pytest.raises(ValueError, match="argument 'tol' must be a finite number > 0; got -1"):
        gt.basins(net, grid, grid, tol=-1)


def test_train_refuses_mismatched_depth_and_ignored_callback_every():
    """A task of another length than an untied network's depth, and callback_every alone."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3, n_out=1, tied=False, depth=5)
    with pytest.raises(ValueError, match="argument 'task' must be a task of length T = 5"):
        gt.train(net, gt.tasks.adding(10), steps=1, progress=False)
    tied = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3, n_out=1)
    with pytest.raises(ValueError, match="argument 'callback'"):
        gt.train(tied, gt.tasks.adding(10), steps=1, callback_every=2, progress=False)


def test_gain_that_overflows_in_setup_is_refused():
    """gain = 1e300 overflowed gain**2 (OverflowError); now a ValueError naming gain."""
    with pytest.raises(ValueError, match="argument 'gain'"):
        gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2, gain=1e300)
    with pytest.raises(ValueError, match="argument 'gain'"):
        gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2, gain=1e40, dtype="float32")
