"""Argument checks of the numeric side: each error names the argument and what was expected."""

from __future__ import annotations

import numbers

import numpy as np

_DTYPES = {"float64": np.float64, "float32": np.float32}


def dtype(value) -> type:
    """``"float64"`` or ``"float32"`` (or the NumPy types) -> NumPy type."""
    name = np.dtype(value).name if not isinstance(value, str) else value
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {value!r}")
    return _DTYPES[name]


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def nonnegative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def nonnegative_float(value, name: str) -> float:
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def finite(array: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or Inf; expected finite values")


def array(value, name: str, dtype_, *, floating: bool = False) -> np.ndarray:
    """A finite real array of ``dtype_``; complex or non-numeric input is refused.

    With ``floating=True`` integer and boolean arrays are refused too (used for ``x``, so that
    an array of labels or token ids is not silently taken as the input).

    Examples
    --------
    >>> array([1.0, 2.0], "x", np.float32, floating=True).dtype
    dtype('float32')
    """
    out = np.asarray(value)
    if out.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {out.dtype}")
    if floating and out.dtype.kind != "f":
        raise TypeError(
            f"{name} must be a floating-point array, got dtype {out.dtype}; integer arrays are "
            f"refused so that labels are not taken as inputs (cast with .astype(float))"
        )
    out = out.astype(dtype_, copy=False)
    finite(out, name)
    return out
