"""Renamed arguments: the old keyword keeps working, with a ``DeprecationWarning`` naming the new.

One vocabulary across the public API (README, "Names"): ``steps`` counts steps of a process in
time, ``depth`` the layers of an untied network, ``batch`` the number of sequences. Functions
whose arguments were renamed to fit it carry :func:`renamed`, outermost, so that the warning
points at the caller's line.

>>> @renamed(batch_size="batch")
... def sample(batch=1):
...     return batch
>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     sample(batch_size=4)
4
>>> print(caught[0].message)
sample: argument 'batch_size' is deprecated; use 'batch' (same meaning)
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable

__all__ = ["renamed"]


def renamed(**old_to_new: str) -> Callable:
    """Decorator: accept each old keyword name for its new one, with a ``DeprecationWarning``.

    Parameters
    ----------
    **old_to_new : str
        ``old="new"`` pairs; ``new`` must be an argument of the decorated function.

    Giving both names in one call is a ``TypeError`` naming both.
    """

    def decorate(function):
        parameters = inspect.signature(function).parameters
        missing = {new for new in old_to_new.values() if new not in parameters}
        if missing:
            raise TypeError(f"renamed: {function.__qualname__} has no argument(s) {missing}")
        label = function.__qualname__
        if label.endswith(".__init__"):  # the user calls the class
            label = label[: -len(".__init__")]

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(
                        f"{label}: got both '{old}' (the old name) and '{new}'; pass only '{new}'"
                    )
                warnings.warn(
                    f"{label}: argument '{old}' is deprecated; use '{new}' (same meaning)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        wrapper.renamed_arguments = dict(old_to_new)
        return wrapper

    return decorate
