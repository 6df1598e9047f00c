"""Short ``repr`` for result types: shapes for arrays, a few digits for numbers, one line.

A result holds arrays of thousands of numbers; printing it in a notebook must show what it is,
not every value. ``__repr__ = compact_repr("regime", "rate")`` in a class body shows those
fields (all dataclass fields when none are named).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["compact_repr", "short"]


def short(value) -> str:
    """One short text for a field value.

    Examples
    --------
    >>> short(np.zeros((3, 4))), short(0.123456789), short({"a": 1, "b": 2})
    ('array(3, 4)', '0.1235', '{2 items}')
    """
    if isinstance(value, np.ndarray):
        if value.size == 1 and value.ndim <= 1:
            return short(value.reshape(()).item())
        return f"array{value.shape}" if value.ndim != 1 else f"array({value.shape[0]})"
    if isinstance(value, (bool, np.bool_)) or value is None:
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, dict):
        return f"{{{len(value)} items}}"
    if isinstance(value, (list, tuple)):
        if len(value) <= 4 and all(isinstance(v, (int, float, str, np.number)) for v in value):
            return "(" + ", ".join(short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
        return f"[{len(value)} items]"
    return type(value).__name__


def compact_repr(*fields: str):
    """A ``__repr__`` showing ``fields`` (default: every dataclass field) compactly."""

    def __repr__(self) -> str:
        names = fields or tuple(f.name for f in dataclasses.fields(self) if f.repr)
        body = ", ".join(f"{name}={short(getattr(self, name))}" for name in names)
        return f"{type(self).__name__}({body})"

    return __repr__
