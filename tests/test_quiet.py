"""Quiet and clean (issue 10, item 6): short reprs, progress bars only on a terminal.

Facts checked: the repr of every result type is one short line (shapes, headline numbers),
even for long runs; a progress bar is disabled when stderr is not a terminal, so nothing is
written into logs, and an enabled one waits ``DELAY_S`` before it appears.
"""

import functools
import io

import numpy as np

import gradtheory as gt
from gradtheory import _progress


@functools.cache
def _results():
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=16, n_out=1, gain=0.5)
    traj = net.forward(np.ones((300, 4, 1)))
    logistic = gt.Network(gt.cells.custom("r*h*(1 - h)", state="h", params={"r": 3.5}))
    plane = gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})
    grid = np.linspace(-1, 1, 30)
    task = gt.tasks.adding(10)
    adder = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=4, n_out=1)
    return [
        gt.train(adder, task, steps=300, progress=False),
        net.backward(traj, np.ones_like(traj.outputs)),
        traj,
        gt.predict(net),
        gt.verify(net),
        gt.fixed_points(plane, progress=False),
        gt.bifurcation(logistic, "r", np.linspace(2.8, 3.9, 40), h0=[0.3], progress=False),
        gt.basins(plane, grid, grid, steps=20),
        gt.attractor(logistic, [0.3]),
        gt.lyapunov(net, steps=200, return_details=True, progress=False),
        gt.mean_field("tanh", 1.5, 0.05),
        gt.rnn_mean_field("tanh", 1.2),
        gt.pascanu_conditions(net),
        gt.derive(gt.cells.lstm()),
        gt.unroll(gt.cells.elman("tanh"), 3),
    ]


def test_reprs_are_one_short_line():
    """Every result's repr is one line of at most 200 characters, with its class name."""
    for result in _results():
        text = repr(result)
        assert "\n" not in text and len(text) <= 200, text
        assert text.startswith(type(result).__name__), text


def test_history_repr_shows_headline_numbers():
    """History shows its length and first/last loss, not 300 numbers."""
    history = _results()[0]
    assert repr(history).startswith("History(steps=300, loss ")


def test_no_bar_when_stderr_is_not_a_terminal(capsys):
    """Under pytest stderr is captured (not a terminal): a requested bar stays silent."""
    bar = _progress.progress_bar(10, desc="x", enable=True)
    assert bar.disable
    net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=4, n_out=1)
    gt.train(net, gt.tasks.adding(10), steps=5, progress=True)
    assert capsys.readouterr().err == ""


def test_bar_on_a_terminal_waits_before_showing():
    """On a terminal the bar is enabled with tqdm's delay; switched off by the environment."""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert _progress.wanted(True, stream=Terminal())
    assert not _progress.wanted(False, stream=Terminal())
    assert _progress.DELAY_S >= 1.0


def test_environment_switch(monkeypatch):
    """GRADTHEORY_PROGRESS=0 turns bars off even on a terminal."""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("GRADTHEORY_PROGRESS", "0")
    assert not _progress.wanted(True, stream=Terminal())
