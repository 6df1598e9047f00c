"""One declarative argument validator: the same message for the same mistake, naming the argument.

Every public function states what its arguments must be, either with the decorator

>>> @validate(steps=Int(min=1), lr=Real(gt=0), optimizer=Choice("sgd", "adam"))
... def fit(steps, lr=1e-3, optimizer="adam"):
...     return steps
>>> fit(3)
3
>>> fit(0)
Traceback (most recent call last):
ValueError: fit: argument 'steps' must be a positive integer; got 0

or, where arguments depend on one another (a trajectory of *this* network), with :func:`check`
and :func:`require` at the top of the function. The message is always::

    {function}: argument '{name}' must be {expected}; got {value}

A value of the wrong kind (a string for a count) raises :class:`ArgumentTypeError`, which is
both a ``TypeError`` and a ``ValueError``; a value of the right kind out of range raises
``ValueError``. Normalised values are passed on (``numpy.int64(3)`` becomes ``3``, arrays
become ``ndarray``).
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable

import numpy as np

__all__ = [
    "ArgumentTypeError",
    "Array",
    "Bool",
    "CellArg",
    "Choice",
    "Instance",
    "Int",
    "NetworkArg",
    "Real",
    "Shown",
    "Spec",
    "check",
    "convert",
    "describe",
    "fail",
    "message",
    "require",
    "validate",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (also a ``ValueError``, so either ``except`` catches it)."""


class _Invalid(Exception):
    """Raised by a spec; turned into the public message by :func:`check`."""

    def __init__(self, expected: str, wrong_type: bool = False):
        super().__init__(expected)
        self.expected, self.wrong_type = expected, wrong_type


class Shown(str):
    """Text shown as it is after "got" (for a value better described than printed)."""

    def __repr__(self) -> str:
        return str(self)


def describe(value) -> str:
    """A short description of ``value`` for a message (arrays by shape, long reprs cut)."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def message(func: str, name: str, expected: str, value) -> str:
    """The one message format: ``func: argument 'name' must be expected; got value``."""
    return f"{func}: argument '{name}' must be {expected}; got {describe(value)}"


def fail(func: str, name: str, expected: str, value, *, wrong_type: bool = False):
    """Raise the standard error (``ArgumentTypeError`` when ``wrong_type``)."""
    error = ArgumentTypeError if wrong_type else ValueError
    raise error(message(func, name, expected, value))


def require(condition: bool, func: str, name: str, expected: str, value) -> None:
    """Raise the standard ``ValueError`` unless ``condition`` (cross-argument checks)."""
    if not condition:
        fail(func, name, expected, value)


class Spec:
    """What an argument must be; ``none=True`` also admits None."""

    expected = "valid"

    def __init__(self, *, none: bool = False):
        self.none = none

    def describe(self) -> str:
        return self.expected + (" or None" if self.none else "")

    def normalise(self, value):  # pragma: no cover - overridden
        return value

    def __call__(self, value):
        if value is None:
            if self.none:
                return None
            raise _Invalid(self.describe(), wrong_type=True)
        return self.normalise(value)


def _bound_text(low, high, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


class Int(Spec):
    """An integer (not bool) in ``[min, max]``."""

    def __init__(self, min: int | None = None, max: int | None = None, *, none: bool = False):
        super().__init__(none=none)
        self.min, self.max = min, max
        if min == 1 and max is None:
            self.expected = "a positive integer"
        elif min == 0 and max is None:
            self.expected = "a non-negative integer"
        elif min is not None and max is not None:
            self.expected = f"an integer in {min}..{max}"
        else:
            bounds = _bound_text(min, max, False, False)
            self.expected = "an integer" + (f" {bounds}" if bounds else "")

    def normalise(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise _Invalid(self.describe(), wrong_type=True)
        value = int(value)
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            raise _Invalid(self.describe())
        return value


class Real(Spec):
    """A real number, finite unless ``finite=False``, with optional (open or closed) bounds."""

    def __init__(
        self,
        min: float | None = None,
        max: float | None = None,
        *,
        gt: float | None = None,
        lt: float | None = None,
        finite: bool = True,
        none: bool = False,
    ):
        super().__init__(none=none)
        self.low, self.low_open = (gt, True) if gt is not None else (min, False)
        self.high, self.high_open = (lt, True) if lt is not None else (max, False)
        self.finite = finite
        bounds = _bound_text(self.low, self.high, self.low_open, self.high_open)
        self.expected = ("a finite number" if finite else "a number") + (
            f" {bounds}" if bounds else ""
        )

    def normalise(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise _Invalid(self.describe(), wrong_type=True)
        value = float(value)
        if np.isnan(value) or (self.finite and not np.isfinite(value)):
            raise _Invalid(self.describe())
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise _Invalid(self.describe())
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            raise _Invalid(self.describe())
        return value


class Bool(Spec):
    """``True`` or ``False`` (NumPy booleans accepted)."""

    expected = "True or False"

    def normalise(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise _Invalid(self.describe(), wrong_type=True)
        return bool(value)


class Choice(Spec):
    """One of a fixed set of values (strings compared exactly)."""

    def __init__(self, *options, none: bool = False):
        super().__init__(none=none)
        self.options = options
        self.expected = "one of " + ", ".join(repr(o) for o in options)

    def normalise(self, value):
        try:
            ok = value in self.options
        except TypeError:
            ok = False
        if not ok:
            raise _Invalid(self.describe(), wrong_type=not isinstance(value, str))
        return value


class Instance(Spec):
    """An instance of ``types`` (described as ``what``, e.g. "a gradtheory Network")."""

    def __init__(self, types, what: str, *, none: bool = False):
        super().__init__(none=none)
        self.types, self.expected = types, what

    def normalise(self, value):
        if not isinstance(value, self.types):
            raise _Invalid(self.describe(), wrong_type=True)
        return value


class NetworkArg(Spec):
    """A :class:`gradtheory.Network` (imported when first checked, to keep layers apart)."""

    expected = "a gradtheory Network (gt.Network(cell, ...))"

    def normalise(self, value):
        from .numeric.network import Network

        if not isinstance(value, Network):
            raise _Invalid(self.describe(), wrong_type=True)
        return value


class CellArg(Spec):
    """A :class:`gradtheory.symbolic.cell.Cell` (see ``gt.cells``)."""

    expected = "a gradtheory Cell (see gt.cells)"

    def normalise(self, value):
        from .symbolic.cell import Cell

        if not isinstance(value, Cell):
            raise _Invalid(self.describe(), wrong_type=True)
        return value


class Array(Spec):
    """A real array: ``ndim`` (int or tuple of allowed), ``size`` > 0, finite unless told.

    ``shape`` may give a required shape with ``None`` for any length.
    """

    def __init__(
        self,
        ndim: int | tuple | None = None,
        *,
        shape: tuple | None = None,
        finite: bool = True,
        empty: bool = False,
        none: bool = False,
    ):
        super().__init__(none=none)
        self.ndim = (ndim,) if isinstance(ndim, int) else ndim
        self.shape, self.finite, self.empty = shape, finite, empty
        what = ("a finite real array" if finite else "a real array").replace(
            "a ", "a non-empty " if not empty else "a ", 1
        )
        if shape is not None:
            dims = ", ".join("any" if d is None else str(d) for d in shape)
            what += f" of shape ({dims}{',' if len(shape) == 1 else ''})"
        elif self.ndim is not None:
            what += f" with {' or '.join(str(n) for n in self.ndim)} dimension(s)"
        self.expected = what

    def normalise(self, value):
        try:
            out = np.asarray(value)
        except (ValueError, TypeError):
            raise _Invalid(self.describe(), wrong_type=True) from None
        if out.dtype.kind not in "fiub":
            raise _Invalid(self.describe(), wrong_type=True)
        bad = (self.ndim is not None and out.ndim not in self.ndim) or (
            not self.empty and out.size == 0
        )
        if self.shape is not None:
            bad = bad or out.ndim != len(self.shape)
            bad = bad or any(
                d is not None and d != s for d, s in zip(self.shape, out.shape, strict=False)
            )
        if bad or (self.finite and out.dtype.kind == "f" and not np.all(np.isfinite(out))):
            raise _Invalid(self.describe())
        return out


def check(func: str, name: str, value, spec: Spec | Callable):
    """Check one argument against ``spec``; return the normalised value or raise.

    Examples
    --------
    >>> check("orbit", "steps", 5, Int(min=1))
    5
    """
    try:
        return spec(value)
    except _Invalid as bad:
        fail(func, name, bad.expected, value, wrong_type=bad.wrong_type)


def convert(text: str, spec: Spec, parse: Callable = str):
    """Parse a command-line ``text`` with ``parse`` and check it against ``spec``.

    Raises ``ValueError("must be ...; got '...'")`` (the CLI adds the option's name).

    Examples
    --------
    >>> convert("3", Int(min=1), int)
    3
    >>> convert("-1", Int(min=1), int)
    Traceback (most recent call last):
    ValueError: must be a positive integer; got '-1'
    """
    try:
        value = parse(text)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"must be {spec.describe()}; got {text!r}") from None
    try:
        return spec(value)
    except _Invalid as bad:
        raise ValueError(f"must be {bad.expected}; got {text!r}") from None


def validate(**specs: Spec) -> Callable:
    """Decorator: check the named arguments of every call against their specs.

    Arguments left at their default are checked too (cheap, and it catches a bad default).
    The function's name in messages is its ``__qualname__`` (``Network.step``).
    """

    def decorate(function):
        signature = inspect.signature(function)
        unknown = set(specs) - set(signature.parameters)
        if unknown:
            raise TypeError(f"validate: {function.__qualname__} has no argument(s) {unknown}")
        label = function.__qualname__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"{label}: {err}") from None
            bound.apply_defaults()
            for name, spec in specs.items():
                bound.arguments[name] = check(label, name, bound.arguments[name], spec)
            return function(*bound.args, **bound.kwargs)

        wrapper.__signature__ = signature
        return wrapper

    return decorate
