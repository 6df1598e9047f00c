"""K systems of a varied network (:meth:`gradtheory.Network.vary`): one result per system."""

from __future__ import annotations

import numpy as np

__all__ = ["Results", "each_system", "per_system", "split_h0"]


class Results(tuple):
    """A sequence of K results, one per system of a varied network.

    Indexable and iterable like a tuple; an attribute read on the sequence gives the
    attribute of every result, stacked into an array with a leading K axis where the values
    are numbers or arrays of one shape, else as a list.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class R:
    ...     period: int
    >>> Results([R(1), R(4)]).period
    array([1, 4])
    """

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        values = [getattr(item, name) for item in self]
        try:
            arrays = [np.asarray(v) for v in values]
            if arrays and all(
                a.dtype.kind in "biufc" and a.shape == arrays[0].shape for a in arrays
            ):
                return np.stack(arrays)
        except (TypeError, ValueError):
            pass
        return values

    def __repr__(self) -> str:
        kind = type(self[0]).__name__ if len(self) else "result"
        return f"Results(K={len(self)} x {kind})"


def split_h0(h0, K: int, n_state: int, name: str = "h0") -> list:
    """Per-system initial states from (n,) shared, (K, n) or (K, B, n); None stays None."""
    if h0 is None:
        return [None] * K
    array = np.asarray(h0)
    if array.ndim <= 1:
        return [h0] * K
    if array.shape[0] != K or array.shape[-1] != n_state or array.ndim > 3:
        raise ValueError(
            f"{name} of a network with K={K} systems must have shape ({n_state},), "
            f"({K}, {n_state}) or ({K}, B, {n_state}); got {array.shape}"
        )
    return [array[k] for k in range(K)]


def each_system(function, net, *args, **kwargs) -> Results:
    """``function(system_k, *args, **kwargs)`` for every system k of ``net``: a Results."""
    return Results(function(net.system(k), *args, **kwargs) for k in range(net.K))


def per_system(function, net, h0, *args, h0_name: str = "h0", stack=None, **kwargs):
    """``function(system_k, h0_k, *args, **kwargs)`` for every system k; a Results or array."""
    starts = split_h0(h0, net.K, net.n_state, h0_name)
    out = [function(net.system(k), starts[k], *args, **kwargs) for k in range(net.K)]
    if stack:
        return np.stack([np.asarray(o) for o in out])
    return Results(out)
