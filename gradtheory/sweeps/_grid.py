"""Grid expansion: a dict of axes (Cartesian product) or a list of points, in a fixed order."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["canonical", "expand_grid"]

_SCALARS = (bool, int, float, str, type(None))


def _scalar(value, where: str):
    """A grid value as a plain Python scalar (NumPy scalars unwrapped), or a clear error."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, _SCALARS):
        raise TypeError(
            f"sweep: argument 'grid' must hold numbers, strings, booleans or None; "
            f"got {value!r} ({type(value).__name__}) at {where}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"sweep: argument 'grid' must hold finite numbers; got {value!r} at {where}"
        )
    return value


def _name(name, where: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"sweep: argument 'grid' must have names that are Python identifiers; "
            f"got {name!r} at {where}"
        )
    return name


def expand_grid(grid) -> list[dict]:
    """Points of ``grid`` in order: a dict's Cartesian product (last axis fastest) or a list.

    Parameters
    ----------
    grid : dict of str to sequence, or sequence of dict
        ``{"T": [50, 100], "seed": range(3)}`` gives 6 points, ``T`` outermost;
        a list of dicts is taken as the points themselves.

    Returns
    -------
    list of dict
        One dict per point, values as plain Python scalars.

    Examples
    --------
    >>> expand_grid({"T": [50, 100], "seed": range(2)})
    [{'T': 50, 'seed': 0}, {'T': 50, 'seed': 1}, {'T': 100, 'seed': 0}, {'T': 100, 'seed': 1}]
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("sweep: argument 'grid' must have at least one axis; got {}")
        axes = {}
        for name, values in grid.items():
            _name(name, f"axis {name!r}")
            if isinstance(values, (str, bytes)) or not isinstance(
                values, (Sequence, range, np.ndarray)
            ):
                raise TypeError(
                    f"sweep: argument 'grid' must map each name to a list of values; "
                    f"got {values!r} for {name!r}"
                )
            values = [_scalar(v, f"axis {name!r}") for v in values]
            if not values:
                raise ValueError(f"sweep: argument 'grid' has no values for axis {name!r}")
            axes[name] = values
        return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    if isinstance(grid, (Sequence, np.ndarray)) and not isinstance(grid, (str, bytes)):
        points = []
        for i, point in enumerate(grid):
            if not isinstance(point, Mapping):
                raise TypeError(
                    f"sweep: argument 'grid' must be a dict of axes or a list of dicts; "
                    f"item {i} is {point!r}"
                )
            points.append(
                {_name(k, f"point {i}"): _scalar(v, f"point {i}") for k, v in point.items()}
            )
        if not points:
            raise ValueError("sweep: argument 'grid' must have at least one point; got []")
        return points
    raise TypeError(
        f"sweep: argument 'grid' must be a dict of axes or a list of dicts; got {grid!r}"
    )


def canonical(point: dict) -> str:
    """Stable JSON text of a point (sorted names; floats written so that they read back exactly).

    Examples
    --------
    >>> canonical({"seed": 1, "T": 50.0})
    '{"T":50.0,"seed":1}'
    """
    return json.dumps(point, sort_keys=True, separators=(",", ":"), allow_nan=False)
