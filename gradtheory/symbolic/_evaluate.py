"""Numeric evaluation of a derivation: one forward step and the step Jacobian at given values.

Private helpers of :class:`gradtheory.symbolic.derive.Derivation` (``forward_values`` and
``evaluate_jacobian``). Pointwise expressions are evaluated with ``sympy.lambdify`` and the
NumPy activations of :mod:`gradtheory.symbolic._elementwise`; this is the slow, obviously correct
path used to check the derivation, not the executor.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from . import _elementwise
from .cell import Affine, Cell

__all__ = ["evaluate", "evaluate_jacobian", "forward_values"]

_NUMERIC = {name: getattr(_elementwise, name) for name in _elementwise.__all__}


def evaluate(expr: sp.Expr, env: Mapping[str, object]) -> np.ndarray:
    """``expr`` evaluated element-wise with its symbols taken from ``env`` by name."""
    syms = sorted(sp.sympify(expr).free_symbols, key=lambda s: s.name)
    fn = sp.lambdify(syms, expr, modules=[_NUMERIC, "numpy"])
    return np.asarray(fn(*(env[s.name] for s in syms)), dtype=float)


def forward_values(cell: Cell, values: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Every name of ``cell`` after one step from ``values`` (parameters, state, inputs)."""
    env = {k: float(v) for k, v in cell.scalar_params.items() if v is not None}
    env.update({k: np.asarray(v, dtype=float) for k, v in values.items()})
    missing = [k for k in (*cell.state, *cell.inputs) if k not in env]
    if missing:
        raise ValueError(f"values must give the state and inputs; missing {missing}")
    for stage in cell.stages:
        if isinstance(stage, Affine):
            total = sum(env[w] @ env[s] for w, s in stage.terms)
            total = total + (env[stage.bias] if stage.bias else 0)
            for o, part in zip(stage.outputs, np.split(total, len(stage.outputs)), strict=True):
                env[o] = part
        else:
            for o, e in zip(stage.outputs, stage.exprs, strict=True):
                env[o] = evaluate(e, env)
    return env


def evaluate_jacobian(
    cell: Cell, blocks: Mapping, values: Mapping[str, object], n: int | None = None
) -> np.ndarray:
    """The step Jacobian (blocks in state order) of the path sums ``blocks`` at ``values``."""
    env = forward_values(cell, values)
    size = np.size(env[cell.state[0]])
    if n is not None and n != size:
        raise ValueError(f"n={n} does not match the state size {size}")

    def diag(expr) -> np.ndarray:
        return np.diag(np.broadcast_to(evaluate(expr, env), (size,)).astype(float))

    k = len(cell.state)
    out = np.zeros((k * size, k * size))
    for a, o in enumerate(cell.state):
        for b, i in enumerate(cell.state):
            for key, coeff in blocks[(o, i)].items():
                m = diag(coeff)
                for f in key:  # weight chunks (Mat) carry their own value
                    m = m @ (diag(f) if isinstance(f, sp.Basic) else f.value(env, size))
                out[a * size : (a + 1) * size, b * size : (b + 1) * size] += m
    return out
