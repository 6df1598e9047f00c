"""Sweeps: a function over a grid of points, resumable, in-process, in a pool or on Dask.

See :func:`sweep` (also ``gradtheory.sweep``) and :func:`defaults`.
"""

from ._core import defaults, sweep
from ._result import SweepResult

__all__ = ["SweepResult", "defaults", "sweep"]
