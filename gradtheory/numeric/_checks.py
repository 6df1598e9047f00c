"""Argument checks of the numeric side, in the one message format of :mod:`gradtheory._validate`.

Each takes the argument's ``name`` and the public function ``func`` that received it.
"""

from __future__ import annotations

import numpy as np

from .._validate import Int, Real, Shown, check, fail

_DTYPES = {"float64": np.float64, "float32": np.float32}


def dtype(value, func: str = "Network") -> type:
    """``"float64"`` or ``"float32"`` (or the NumPy types) -> NumPy type."""
    try:
        name = np.dtype(value).name if not isinstance(value, str) else value
    except TypeError:
        name = None
    if name not in _DTYPES:
        fail(func, "dtype", "'float64' or 'float32'", value)
    return _DTYPES[name]


def positive_int(value, name: str, func: str = "Network") -> int:
    return check(func, name, value, Int(min=1))


def nonnegative_int(value, name: str, func: str = "Network") -> int:
    return check(func, name, value, Int(min=0))


def nonnegative_float(value, name: str, func: str = "Network") -> float:
    return check(func, name, value, Real(min=0))


def finite(array: np.ndarray, name: str, func: str = "Network") -> None:
    if not np.all(np.isfinite(array)):
        fail(func, name, "finite (no NaN or Inf)", np.asarray(array))


def array(value, name: str, dtype_, *, floating: bool = False, func: str = "Network") -> np.ndarray:
    """A finite real array of ``dtype_``; complex or non-numeric input is refused.

    With ``floating=True`` integer and boolean arrays are refused too (used for ``x``, so that
    an array of labels or token ids is not silently taken as the input).

    Examples
    --------
    >>> array([1.0, 2.0], "x", np.float32, floating=True).dtype
    dtype('float32')
    """
    try:
        out = np.asarray(value)
    except (ValueError, TypeError):
        fail(func, name, "a real numeric array", value, wrong_type=True)
    if out.dtype.kind not in "fiub":
        fail(func, name, "a real numeric array", value, wrong_type=True)
    if floating and out.dtype.kind != "f":
        fail(
            func,
            name,
            "a floating-point array (integer arrays are refused so that labels are not taken "
            "as inputs: cast with .astype(float))",
            value,
            wrong_type=True,
        )
    with np.errstate(over="ignore"):
        converted = out.astype(dtype_, copy=False)
    if not np.all(np.isfinite(converted)):  # one pass over a valid array (a large grad_outputs)
        if converted is not out and np.all(np.isfinite(out)):
            fail(func, name, f"representable in {np.dtype(dtype_).name} (it overflows)", value)
        finite(converted, name, func)
    return converted


def trajectory_of(net, traj, func: str, name: str = "traj") -> None:
    """``traj`` must come from ``net.forward`` (a trajectory of another network is refused).

    The tape keeps values computed with the parameters of the network that ran the forward
    pass; a backward pass or step Jacobians of another network would mix the two silently.
    """
    from .trajectory import Tape, Trajectory

    if not isinstance(traj, Trajectory):
        fail(func, name, "a Trajectory from net.forward(x)", traj, wrong_type=True)
    tape = traj.tape
    owner = getattr(tape, "net", net) if isinstance(tape, Tape) else net
    shape = traj.states.shape
    if owner is not net or shape[-1] != net.n_state or traj.inputs.shape[-1] != net.n_in:
        fail(
            func,
            name,
            f"a trajectory of this network ({net!r}: net.forward(x))",
            Shown(f"a trajectory of another network (states {shape})"),
        )
