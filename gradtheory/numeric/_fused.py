"""The fused reverse pass: each kernel's vector-Jacobian product as one compiled loop per step.

The partial derivatives of the generated kernels are arithmetic in the function values the
forward pass computes anyway (``sigmoid(a)`` has derivative ``sigmoid (1 - sigmoid)``, see
:mod:`gradtheory.symbolic._fusedgen`). When numba is available, the forward pass of a recorded
run stores those values (``saving_<k>`` writes them in place, ``(T, count, B, n)`` per
kernel), and the reverse pass maps, at each step, the adjoints of a kernel's outputs to the
adjoints of its inputs in one generated loop (``vjp_<k>_<dtype>``, compiled with
``cache=True`` next to the generated kernels): no (T, B, n) partial arrays, no transcendental
function in the reverse pass, one pass over the data instead of a dozen NumPy calls. The
adjoints of affine outputs are written straight into the op's (T, B, width) adjoint array, those
of state blocks straight into the next adjoint row.

``GRADTHEORY_JIT=0``, a missing numba, another float type, scalar-block cells (custom maps)
and kernels with scalar-parameter inputs keep the NumPy path (stacked partials). Tied
networks run the same vjp loops from one compiled loop over all steps instead
(:mod:`gradtheory.numeric._loops`); this step-by-step driver serves untied networks.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np

from ._jitgen import jit_enabled
from .program import AffineStep, BatchNormOp, KernelOp

__all__ = ["FusedAction", "accumulate", "fused_action", "run", "saved_arrays", "usable"]

_COMPILED: dict = {}
_AFFINE, _BLOCK, _OTHER = 0, 1, 2


def usable(net, dtype) -> bool:
    """True if ``net``'s kernels run their fused reverse pass at ``dtype``."""
    program = net.program
    if program.scalar_block or np.dtype(dtype).name not in ("float32", "float64"):
        return False
    kernels = [op for op in program.ops if isinstance(op, KernelOp)]
    if not kernels or any(isinstance(op, BatchNormOp) for op in program.ops):
        return False
    sinks = set(net.plan.sinks)
    if any(op.fused is None or sinks & set(op.inputs) for op in kernels):
        return False
    return jit_enabled()


def saved_arrays(net, steps: int, batch: int, dtype, pool) -> list[np.ndarray]:
    """Per kernel, the (T, count, B, n) array its ``saving`` function fills step by step."""
    kernels = [op for op in net.program.ops if isinstance(op, KernelOp)]
    return [
        pool.empty(f"saved{k}", (steps, op.fused["count"], batch, net.n_hidden), dtype)
        for k, op in enumerate(kernels)
    ]


def _compiled(op: KernelOp, dtype: np.dtype):
    function = op.vjp[dtype.name]
    jitted = _COMPILED.get(function)
    if jitted is None:
        import numba

        # numba's on-disk cache needs the function's module importable by name (a kernel
        # module built in memory, when the cache directory is not writable, is not)
        cache = getattr(sys.modules.get(function.__module__), "__file__", None) is not None
        jitted = numba.njit(cache=cache, error_model="numpy")(function)
        _COMPILED[function] = jitted
    return jitted


def _seat(view: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``(parent, offset, shift)`` with ``view[t] == parent[t + shift][:, offset:offset + k]``
    and ``parent`` C-contiguous (a copy when ``view`` is not such a slice)."""
    parent = view.base
    if (
        isinstance(parent, np.ndarray)
        and parent.ndim == 3
        and parent.flags.c_contiguous
        and parent.dtype == view.dtype
        and parent.strides == view.strides
        and parent.shape[1] == view.shape[1]
    ):
        gap = view.__array_interface__["data"][0] - parent.__array_interface__["data"][0]
        shift, rest = divmod(gap, parent.strides[0])
        offset, odd = divmod(rest, view.itemsize)
        if not odd and offset + view.shape[2] <= parent.shape[2] and rest < parent.strides[1]:
            return parent, offset, shift
    if view.flags.c_contiguous:
        return view, 0, 0
    return np.ascontiguousarray(view), 0, 0


class FusedAction(NamedTuple):
    """One kernel's fused reverse step, its arrays resolved for a whole backward pass."""

    function: object
    needed: tuple  # (parent, offset, shift) per input the partials read
    saved: np.ndarray  # (T, count, B, n)
    outputs: tuple  # output names whose adjoint the loop reads
    targets: tuple  # (name, kind, op index or None, column offset, slice or None)
    missing: tuple  # (op index, column slices of that op this kernel does not reach)
    zeros: np.ndarray  # (B, n) adjoint of an output nothing depends on
    scratch: dict  # name -> (B, n) work array, for adjoints of other named values


def fused_action(net, tape, number: int, op: KernelOp, pool) -> FusedAction:
    """Resolve kernel ``number``'s fused reverse step against a recorded ``tape``."""
    plan, n = net.plan, net.n_hidden
    batch = tape.env[net.program.state[0]].shape[1]
    dtype = np.dtype(tape.saved[number].dtype)
    blocks = dict(net._blocks)
    layout, chunk_of, covered = op.fused, {}, {}
    for ins in plan.forward:
        if isinstance(ins, AffineStep):
            outputs = net.program.ops[ins.index].outputs
            for j, name in enumerate(outputs):
                chunk_of[name] = (ins.index, j * n, len(outputs))
    targets = []
    for name in layout["targets"]:
        if name in chunk_of:
            index, offset, _ = chunk_of[name]
            targets.append((name, _AFFINE, index, offset, None))
            covered.setdefault(index, set()).add(offset)
        elif name in blocks:
            targets.append((name, _BLOCK, None, blocks[name].start, blocks[name]))
        else:
            targets.append((name, _OTHER, None, 0, None))
    missing = tuple(
        (index, tuple(slice(o, o + n) for o in range(0, plan.widths[index], n) if o not in seen))
        for index, seen in covered.items()
    )
    return FusedAction(
        function=_compiled(op, dtype),
        needed=tuple(_seat(tape.env[name]) for name in layout["needed"]),
        saved=tape.saved[number],
        outputs=tuple(layout["outputs"]),
        targets=tuple(targets),
        missing=missing,
        zeros=pool.zeros(f"fused-zeros{number}", (batch, n), dtype),
        scratch={
            name: pool.empty(f"fused-{number}-{name}", (batch, n), dtype)
            for name, kind, *_ in targets
            if kind == _OTHER
        },
    )


def accumulate(adj: dict, owned: set, name: str, value, fresh: bool) -> None:
    """adj[name] += value, in place only when adj[name] is this step's own array."""
    if name not in adj:
        adj[name] = value
        if fresh:
            owned.add(name)
    elif name in owned:
        adj[name] += value
    else:
        adj[name] = adj[name] + value
        owned.add(name)


def run(action: FusedAction, t: int, state: dict) -> None:
    """Step ``t`` of the reverse pass through one kernel.

    ``state`` holds the reverse loop's bookkeeping for this step: ``adj`` (name -> adjoint),
    ``owned``, ``written`` (affine ops whose adjoint row is initialised), ``direct`` (state
    blocks written straight into ``new``), ``new`` (the adjoint row being formed), ``seats``
    (seed name -> (its adjoint view, parent row, column offset)) and ``g_affine``.
    """
    adj, written, g_affine, new = state["adj"], state["written"], state["g_affine"], state["new"]
    saved = action.saved[t]
    batch, n = saved.shape[1], saved.shape[2]
    args: list = [batch, n]
    for parent, offset, shift in action.needed:
        args += (parent[t + shift], offset)
    args.append(saved)
    seats = state["seats"]
    for name in action.outputs:
        value = adj.get(name)
        seat = seats.get(name)
        if value is None:
            args += (action.zeros, 0)
        elif seat is not None and seat[0] is value:
            args += (seat[1], seat[2])
        else:
            args += (np.ascontiguousarray(value), 0)
    after = []
    for name, kind, index, offset, block in action.targets:
        if kind == _AFFINE:
            args += (g_affine[index][t], offset, index in written)
        elif kind == _BLOCK and (name not in adj or adj[name] is state["direct"].get(name)):
            args += (new, offset, name in adj)
            after.append((name, block, None))
        else:
            args += (action.scratch[name], 0, False)
            after.append((name, None, action.scratch[name]))
    action.function(*args)
    for index, slices in action.missing:
        if index not in written:
            for sl in slices:
                g_affine[index][t][:, sl] = 0.0
            written.add(index)
    for name, block, scratch in after:
        if scratch is None:
            if name not in adj:
                adj[name] = state["direct"][name] = new[:, block]
                state["owned"].add(name)
        else:
            accumulate(adj, state["owned"], name, scratch, fresh=True)
