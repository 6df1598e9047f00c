"""Renamed arguments keep working with a warning that names the new name.

Fact checked (issue 13, item 4; DESIGN.md "Public surface"): one meaning per argument name:
``steps`` counts steps in time, ``depth`` the layers of an untied network, ``batch`` the number
of sequences. The old names (``Network(depth=)``, ``train(batch_size=)``,
``Task.sample(batch_size=)``) still work: they raise a ``DeprecationWarning`` naming the new
name and give exactly what the new name gives; giving both names is an error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradtheory as gt
from gradtheory._deprecate import renamed


@renamed(old="new")
def _echo(new: int = 0, other: int = 1) -> tuple[int, int]:
    return new, other


def test_decorator_warns_names_both_and_passes_the_value():
    """The old keyword reaches the new argument; the warning names function, old and new."""
    with pytest.warns(DeprecationWarning, match=r"_echo: argument 'old' is deprecated; use 'new'"):
        assert _echo(old=5, other=2) == (5, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _echo(new=5) == (5, 1)  # the new name: no warning
        assert _echo(7) == (7, 1)


def test_decorator_refuses_both_names_and_unknown_targets():
    """Both names at once is ambiguous: a TypeError naming both; a typo in the map fails early."""
    with pytest.raises(TypeError, match=r"got both 'old' .* and 'new'"):
        _echo(old=1, new=2)
    with pytest.raises(TypeError, match="has no argument"):
        renamed(x="missing")(lambda y: y)


def test_warning_points_at_the_caller():
    """stacklevel: the warning's file is this test, not gradtheory's wrapper."""
    with pytest.warns(DeprecationWarning) as caught:
        _echo(old=1)
    assert caught[0].filename == __file__


def test_network_steps_is_depth():
    """Network(steps=L) is the old spelling of depth=L: same parameters, a warning naming depth."""
    cell = gt.cells.elman("tanh")
    new = gt.Network(cell, n_in=1, n_hidden=3, tied=False, depth=4, seed=2)
    with pytest.warns(DeprecationWarning, match="Network: argument 'steps' .* use 'depth'"):
        old = gt.Network(cell, n_in=1, n_hidden=3, tied=False, steps=4, seed=2)
    assert old.depth == new.depth == 4
    assert all(np.array_equal(old.params[k], new.params[k]) for k in new.params)
    with pytest.warns(DeprecationWarning, match="Network.depth"):
        assert new.steps == 4
    with pytest.raises(TypeError, match="both 'steps'"):
        gt.Network(cell, n_in=1, n_hidden=3, tied=False, steps=4, depth=4)


def test_train_batch_size_is_batch():
    """train(batch_size=B) trains exactly like train(batch=B) (same seed, same losses)."""

    def run(**kw):
        net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3, n_out=1, seed=0)
        return gt.train(net, gt.tasks.adding(5), steps=3, progress=False, seed=1, **kw)

    new = run(batch=4)
    with pytest.warns(DeprecationWarning, match="train: argument 'batch_size' .* use 'batch'"):
        old = run(batch_size=4)
    np.testing.assert_array_equal(old.loss, new.loss)
    assert new.settings["batch"] == 4


def test_task_sample_batch_size_is_batch():
    """Task.sample(batch_size=B) draws the same batch as sample(batch=B)."""
    task = gt.tasks.adding(6)
    new = task.sample(batch=3, rng=0)
    with pytest.warns(DeprecationWarning, match="sample: argument 'batch_size' .* use 'batch'"):
        old = task.sample(batch_size=3, rng=0)
    for a, b in zip(old, new, strict=True):
        np.testing.assert_array_equal(a, b)
