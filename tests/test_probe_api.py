"""Probe: bad input thrown at every public entry point fails cleanly and names the argument.

Fact checked (issue 10, item 3): for each argument of each public function, values of the wrong
kind (text, None, containers), out of range (zero or negative counts, negative or non-finite
tolerances) or overflowing in set-up raise ``ValueError`` or ``TypeError`` whose message names
the argument, within a few seconds (a SIGALRM turns a hang into a failure), and never a bare
``IndexError``, ``NameError``, ``RecursionError`` or ``OverflowError``. Hypothesis draws the
values; ``max_examples`` is kept small because each probe only reaches the argument checks.
"""

from __future__ import annotations

import math
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradtheory as gt

PROBE = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@contextmanager
def time_limit(seconds: int = 10):
    """Fail instead of hanging (the probe found calls that never returned)."""

    def stop(signum, frame):
        raise TimeoutError(f"call did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- bad values by kind ---------------------------------------------------------------------
_WRONG_TYPE = st.sampled_from(["3", "abc", [1], (2,), {}, 1j, object()])
_NONFINITE = st.sampled_from([math.nan, math.inf, -math.inf])
BAD = {
    "count": st.one_of(st.integers(max_value=0), _WRONG_TYPE, st.floats(0.5, 9.5), st.booleans()),
    "count_or_none": st.one_of(st.integers(max_value=0), _WRONG_TYPE, st.floats(0.5, 9.5)),
    "nonneg": st.one_of(st.integers(max_value=-1), _WRONG_TYPE, st.floats(0.5, 9.5)),
    "positive": st.one_of(st.floats(max_value=0.0, allow_nan=False), _NONFINITE, _WRONG_TYPE),
    "nonneg_real": st.one_of(
        st.floats(max_value=-1e-300, allow_nan=False), _NONFINITE, _WRONG_TYPE
    ),
    "huge": st.one_of(st.floats(min_value=1e200, max_value=1e308), _NONFINITE, _WRONG_TYPE),
    "choice": st.one_of(st.text(max_size=8).filter(lambda s: s not in _CHOICES), _WRONG_TYPE),
    "bool": st.one_of(st.sampled_from(["yes", 2, 0.5, [True]])),
}
_CHOICES = {"auto", "linear", "pascanu", "mean_field", "jacobian", "both", "up", "down", "none"}
_CHOICES |= {"adam", "sgd", "momentum", "rmsprop", "float64", "float32", "gaussian", "glorot"}
_CHOICES |= {"he", "orthogonal", "identity", "torch", "zeros"}


# -- small systems --------------------------------------------------------------------------
def elman(**kw):
    return gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2, **kw)


def logistic():
    return gt.Network(gt.cells.custom("r*h*(1 - h)", state="h", params={"r": 3.5}))


def plane():
    return gt.Network(gt.cells.elman("tanh"), n_in=0, n_hidden=2, params={"W": 2 * np.eye(2)})


def adding_net():
    return gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3, n_out=1)


_H0 = np.array([0.3])
_AXIS = np.linspace(-1, 1, 4)
# (entry point, argument, kind, call taking the bad value)
PROBES = [
    ("train", "steps", "count", lambda v: gt.train(adding_net(), gt.tasks.adding(5), steps=v)),
    *[
        (
            "train",
            name,
            kind,
            lambda v, name=name: gt.train(
                adding_net(), gt.tasks.adding(5), steps=1, progress=False, **{name: v}
            ),
        )
        for name, kind in [
            ("batch", "count"),
            ("lr", "positive"),
            ("clip", "positive"),
            ("clip_value", "positive"),
            ("tbptt", "count_or_none"),
            ("seed", "nonneg"),
            ("optimizer", "choice"),
            ("snapshot_every", "count_or_none"),
            ("score_every", "count_or_none"),
            ("progress", "bool"),
        ]
    ],
    *[
        ("predict", name, kind, lambda v, name=name: gt.predict(elman(), **{name: v}))
        for name, kind in [
            ("steps", "count"),
            ("batch", "count"),
            ("band", "positive"),
            ("method", "choice"),
            ("seed", "nonneg"),
            ("warmup", "nonneg"),
        ]
    ],
    *[
        ("verify", name, kind, lambda v, name=name: gt.verify(elman(), **{name: v}))
        for name, kind in [
            ("steps", "count"),
            ("batch", "count"),
            ("atol", "nonneg_real"),
            ("method", "choice"),
            ("seed", "nonneg"),
        ]
    ],
    *[
        ("lyapunov", name, kind, lambda v, name=name: gt.lyapunov(elman(), steps=50, **{name: v}))
        for name, kind in [
            ("k", "count_or_none"),
            ("batch", "count"),
            ("warmup", "nonneg"),
            ("block", "count_or_none"),
            ("seed", "nonneg"),
        ]
    ],
    ("lyapunov", "steps", "count_or_none", lambda v: gt.lyapunov(elman(), steps=v)),
    *[
        ("fixed_points", name, kind, lambda v, name=name: gt.fixed_points(plane(), **{name: v}))
        for name, kind in [
            ("n_starts", "count"),
            ("noise", "nonneg_real"),
            ("seed", "nonneg"),
            ("tol_q", "positive"),
            ("dedup_tol", "positive"),
            ("max_iter", "count"),
        ]
    ],
    ("orbit", "steps", "count", lambda v: gt.orbit(logistic(), _H0, v)),
    ("orbit", "bound", "positive", lambda v: gt.orbit(logistic(), _H0, 5, bound=v)),
    *[
        ("attractor", name, kind, lambda v, name=name: gt.attractor(logistic(), _H0, **{name: v}))
        for name, kind in [
            ("transient", "nonneg"),
            ("max_period", "count"),
            ("tol", "positive"),
            ("bound", "positive"),
            ("lyap_steps", "count"),
            ("seed", "nonneg"),
        ]
    ],
    *[
        (
            "basins",
            name,
            kind,
            lambda v, name=name: gt.basins(plane(), _AXIS, _AXIS, steps=5, **{name: v}),
        )
        for name, kind in [("tol", "positive"), ("window", "count"), ("bound", "positive")]
    ],
    ("basins", "steps", "count", lambda v: gt.basins(plane(), _AXIS, _AXIS, steps=v)),
    *[
        (
            "bifurcation",
            name,
            kind,
            lambda v, name=name: gt.bifurcation(
                logistic(), "r", [3.0, 3.5], h0=_H0, progress=False, **{name: v}
            ),
        )
        for name, kind in [
            ("transient", "nonneg"),
            ("keep", "count"),
            ("sweep", "choice"),
            ("max_period", "count"),
            ("tol", "positive"),
        ]
    ],
    ("cobweb", "steps", "count", lambda v: gt.cobweb(logistic(), _H0, v)),
    ("mean_field", "sigma_w2", "nonneg_real", lambda v: gt.mean_field("tanh", v, 0.0)),
    ("mean_field", "sigma_b2", "nonneg_real", lambda v: gt.mean_field("tanh", 1.0, v)),
    ("mean_field", "sigma_w2", "huge", lambda v: gt.mean_field("tanh", v, 0.0)),
    ("critical_sigma_w2", "sigma_b2", "nonneg_real", lambda v: gt.critical_sigma_w2("tanh", v)),
    ("rnn_mean_field", "gain", "nonneg_real", lambda v: gt.rnn_mean_field("tanh", v)),
    ("unroll", "steps", "count", lambda v: gt.unroll(gt.cells.elman("tanh"), v)),
    ("derive", "cell", "choice", lambda v: gt.derive(v)),
    (
        "product_log_singular_values",
        "tol",
        "positive",
        lambda v: gt.product_log_singular_values(np.ones((3, 1, 2, 2)), tol=v),
    ),
    *[
        ("Network", name, kind, lambda v, name=name: elman(**{name: v}))
        for name, kind in [
            ("gain", "nonneg_real"),
            ("gain", "huge"),
            ("sigma_b2", "nonneg_real"),
            ("seed", "nonneg"),
            ("init", "choice"),
            ("dtype", "choice"),
            ("tied", "bool"),
        ]
    ],
    (
        "Network",
        "n_hidden",
        "count",
        lambda v: gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=v),
    ),
    ("Network", "n_in", "nonneg", lambda v: gt.Network(gt.cells.elman("tanh"), n_in=v, n_hidden=2)),
    (
        "Network",
        "n_out",
        "count",
        lambda v: gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2, n_out=v),
    ),
    (
        "Network.step",
        "layer",
        "nonneg",
        lambda v: elman(tied=False, depth=3).step(np.zeros((1, 2)), layer=v),
    ),
    ("adding", "T", "count", lambda v: gt.tasks.adding(v)),
    ("to_torch", "batch_first", "bool", lambda v: gt.to_torch(elman(), batch_first=v)),
]


@pytest.mark.parametrize(
    "entry, name, kind, call", PROBES, ids=[f"{p[0]}-{p[1]}-{p[2]}" for p in PROBES]
)
def test_bad_argument_is_named(entry, name, kind, call):
    """A bad value raises ValueError/TypeError naming the argument, quickly."""
    if name == "batch_first":
        pytest.importorskip("torch")

    @PROBE
    @given(value=BAD[kind])
    def probe(value):
        with time_limit(20), pytest.raises((ValueError, TypeError)) as info:
            call(value)
        assert name in str(info.value), (entry, value, str(info.value))
        assert not isinstance(info.value, (IndexError, NameError, RecursionError))

    probe()


def test_message_format_is_shared():
    """The same mistake gives the same words in different functions (one validator)."""
    messages = []
    for call in (
        lambda: gt.orbit(logistic(), _H0, 0),
        lambda: gt.unroll(gt.cells.elman("tanh"), 0),
        lambda: gt.basins(plane(), _AXIS, _AXIS, steps=0),
    ):
        with pytest.raises(ValueError) as info:
            call()
        messages.append(str(info.value).split(": ", 1)[1])
    assert messages == ["argument 'steps' must be a positive integer; got 0"] * 3


@st.composite
def expressions(draw):
    """Random arithmetic over h, r and numbers, including towers of powers and long sums."""
    atoms = st.sampled_from(["h", "r", "2", "10", "10.0", "0.5", "1e300", "400", "0"])
    parts = draw(st.lists(atoms, min_size=1, max_size=12))
    ops = draw(st.lists(st.sampled_from(["+", "-", "*", "/", "**", "^"]), min_size=len(parts)))
    text = parts[0]
    for op, atom in zip(ops, parts[1:], strict=False):
        text += op + atom
    funcs = draw(st.lists(st.sampled_from(["tanh", "exp", "sin", "relu"]), max_size=3))
    for f in funcs:
        text = f"{f}({text})"
    return text


@settings(max_examples=60, deadline=None)
@given(text=expressions())
def test_custom_expressions_never_hang_or_fail_badly(text):
    """A custom cell from any arithmetic string builds, runs one step, or raises ValueError."""
    with time_limit(20):
        try:
            cell = gt.cells.custom(text, state="h", params={"r": 3.5})
        except (ValueError, TypeError) as err:
            assert "expression" in str(err) or "update" in str(err)
            return
        net = gt.Network(cell)
        with np.errstate(all="ignore"):
            out = net.step(np.array([[0.25]]))
        assert out.shape == (1, 1)


def test_trajectory_of_another_network_is_refused():
    """backward and jacobians refuse a trajectory that another network's forward pass made."""
    one, other = elman(), gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3)
    traj = other.forward(np.ones((4, 2, 1)))
    for call in (lambda: one.backward(traj), lambda: gt.jacobians(one, traj)):
        with pytest.raises(ValueError, match="argument 'traj' must be a trajectory of this"):
            call()
    same = elman()
    with pytest.raises(ValueError, match="argument 'traj'"):
        same.backward(elman().forward(np.ones((4, 2, 1))))
