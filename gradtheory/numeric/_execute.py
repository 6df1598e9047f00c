"""The forward loop: evaluate a network's plan over T steps into preallocated arrays.

Every value the backward pass needs ends up in a (T, B, size) array without per-step copies
of the state: each affine op writes its pre-activation into one (T, B, width) buffer (its input
terms and bias are computed for all steps first, as one large product, and the state terms are
added in place), kernels write the next state straight into ``states[t + 1]``, and only the
kernels' ``values`` functions run inside the loop; their partial derivatives are evaluated
later for all steps at once (see :class:`~gradtheory.numeric.trajectory.Tape`). Tied
networks that :mod:`gradtheory.numeric._loops` covers run the whole loop as one compiled call
filling the same arrays; this step-by-step loop is the fallback (untied networks, custom maps,
``GRADTHEORY_JIT=0``).
"""

from __future__ import annotations

import sys
from collections import OrderedDict

import numpy as np

from . import _fused
from .program import AffineStep, KernelStep
from .trajectory import Tape

__all__ = ["Pool", "execute", "input_terms", "pool_of"]


def _refcounts_work() -> bool:
    """True if sys.getrefcount sees references from views (CPython with the GIL)."""
    if getattr(sys, "_is_gil_enabled", lambda: True)() is False:
        return False
    a = np.empty(3)
    base = sys.getrefcount(a)
    view = a[1:]
    return sys.getrefcount(a) == base + 1 and view.base is a


class Pool:
    """Work arrays of one network, reused across passes when nothing else refers to them.

    Every forward and backward pass needs large (T, B, width) arrays. Fresh ones cost a page
    fault per 4 KB on first touch (glibc serves large requests with mmap), which made up a third
    of a training step on small networks. An array is handed out again only when no other
    object (no Trajectory, view or user variable) refers to it, judged by its reference count,
    so results returned earlier are never overwritten. At most two arrays are kept per
    (role, shape, dtype) and 32 such keys (least recently used dropped). Pooling is off where
    reference counts cannot be trusted (free-threaded Python).

    Examples
    --------
    >>> pool = Pool()
    >>> a = pool.empty("x", (2, 3), np.float64)
    >>> pool.empty("x", (2, 3), np.float64) is a  # still referenced by ``a``
    False
    """

    enabled = _refcounts_work()

    def __init__(self, max_keys: int = 32):
        self.max_keys = max_keys
        self._arrays: OrderedDict = OrderedDict()

    def empty(self, role: str, shape: tuple, dtype) -> np.ndarray:
        """An uninitialised array, reused if a pooled one of this role and shape is free."""
        if not self.enabled:
            return np.empty(shape, dtype)
        key = (role, tuple(shape), np.dtype(dtype).str)
        arrays = self._arrays.get(key)
        if arrays is None:
            arrays = self._arrays[key] = []
            while len(self._arrays) > self.max_keys:
                self._arrays.popitem(last=False)
        else:
            self._arrays.move_to_end(key)
            for array in arrays:
                if sys.getrefcount(array) <= 3:  # the list, this loop variable, the call
                    return array
        array = np.empty(shape, dtype)
        if len(arrays) < 2:
            arrays.append(array)
        return array

    def zeros(self, role: str, shape: tuple, dtype) -> np.ndarray:
        """Like :meth:`empty`, filled with zeros."""
        array = self.empty(role, shape, dtype)
        array.fill(0)
        return array


def pool_of(net) -> Pool:
    """The network's pool (created on first use; :meth:`Network.copy` starts a new one).

    A network's work arrays are not guarded by a lock: run one network from one thread at a
    time (copies are independent).
    """
    pool = net.__dict__.get("_pool")
    if pool is None:
        pool = net.__dict__["_pool"] = Pool()
    return pool


def input_terms(net, x: np.ndarray, layers) -> dict[int, np.ndarray]:
    """Input part plus bias of every affine op for all steps, (T, B, width) each.

    Parameters
    ----------
    net : Network
    x : ndarray, shape (T, B, n_in)
    layers : ndarray of int (T,) or None
        Layer of each step of an untied network (None when tied).

    Returns
    -------
    dict of int to ndarray
        One (T B)-long product per weight when tied, one batched product over steps when
        untied. Ops with a bias but no input term get the bias broadcast (a read-only view);
        the other arrays are fresh and writeable.

    Examples
    --------
    >>> import numpy as np, gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=3)
    >>> input_terms(net, np.ones((4, 5, 2)), None)[0].shape
    (4, 5, 3)
    """
    terms = {}
    steps, batch, n_in = x.shape
    pool = pool_of(net)
    for ins in net.plan.forward:
        if not isinstance(ins, AffineStep) or not (ins.input_terms or ins.bias):
            continue
        index, bias = ins.index, ins.bias
        width = net.plan.widths[index]
        total = None
        if (
            layers is None
            and bias is not None
            and len(ins.input_terms) == 1
            and np.ndim(net.params[bias]) == 1
        ):
            # the bias as one more input column: one product writes the (T, B, width) array,
            # instead of a product and a second full pass that adds the bias
            w = net.params[ins.input_terms[0][0]]
            dtype = np.result_type(x, w)
            augmented = np.empty((steps * batch, n_in + 1), dtype)
            augmented[:, :n_in] = x.reshape(steps * batch, n_in)
            augmented[:, n_in] = 1.0
            weights = np.concatenate([w, net.params[bias][:, None]], axis=1).astype(dtype)
            total = pool.empty(f"total{index}", (steps, batch, width), dtype)
            np.matmul(augmented, weights.T, out=total.reshape(steps * batch, width))
            terms[index] = total
            continue
        for weight, _ in ins.input_terms:
            w = net.params[weight]
            if layers is None and total is None:
                total = pool.empty(f"total{index}", (steps, batch, width), np.result_type(x, w))
                np.matmul(
                    x.reshape(steps * batch, n_in), w.T, out=total.reshape(steps * batch, width)
                )
                continue
            if layers is None:
                part = (x.reshape(steps * batch, n_in) @ w.T).reshape(steps, batch, width)
            else:
                part = np.matmul(x, np.swapaxes(w[layers], 1, 2))
            total = part if total is None else total + part
        if bias is not None:
            b = net.params[bias] if layers is None else net.params[bias][layers][:, None, :]
            if total is None:
                total = np.broadcast_to(b, (steps, batch, width))
            else:
                total += b
        terms[index] = total
    return terms


def execute(net, x: np.ndarray, state: np.ndarray, layers, record: bool):
    """Run ``net`` over ``x`` (T, B, n_in) from ``state`` (B, n_state).

    Returns
    -------
    states : ndarray, shape (T+1, B, n_state)
    tape : Tape or None
        None unless ``record``.
    totals : dict of int to ndarray
        Pre-activation of every affine op, (T, B, width).
    """
    if layers is None:
        from . import _loops

        done = _loops.forward(net, x, state, record)  # the whole loop compiled, if covered
        if done is not None:
            return done
    program, plan, n = net.program, net.plan, net.n_hidden
    steps, batch = x.shape[0], x.shape[1]
    dtype = np.result_type(state, x, net.dtype)
    pool = pool_of(net)
    states = pool.empty("states", (steps + 1, batch, net.n_state), dtype)
    states[0] = state
    pre = input_terms(net, x, layers)
    totals, bias_rows = {}, {}
    for ins in plan.forward:
        if isinstance(ins, AffineStep):
            index = ins.index
            given = pre.get(index)
            if given is not None and (not ins.state_terms or given.flags.writeable):
                totals[index] = given
            else:
                totals[index] = pool.empty(
                    f"total{index}", (steps, batch, plan.widths[index]), dtype
                )
                if given is not None:
                    bias_rows[index] = given
    next_slot = {name: sl for (_, sl), name in zip(net._blocks, program.next_state, strict=True)}
    kept = {
        name: pool.empty(f"kept-{name}", (steps, batch, n), dtype)
        for ins in plan.forward
        if isinstance(ins, KernelStep)
        for name in ins.op.outputs
        if name not in next_slot
    }
    scalar = program.scalar_block
    env_fixed = {}
    if scalar:
        for name in program.scalar_params:
            value = net.params[name]
            env_fixed[name] = value if layers is None else value[layers][:, None, None]
    weights = _transposed(net, None) if layers is None else None
    scratch = {i: pool.empty(f"scratch{i}", (batch, w), dtype) for i, w in plan.widths.items()}
    # a recorded run stores the function values the fused reverse pass needs, in place
    saved = (
        _fused.saved_arrays(net, steps, batch, dtype, pool)
        if record and (_fused.usable(net, dtype))
        else None
    )
    for t in range(steps):
        if layers is not None:
            weights = _transposed(net, int(layers[t]))
        state_t, new = states[t], states[t + 1]
        env = {name: state_t[:, sl] for name, sl in net._blocks}
        if scalar:
            for j, name in enumerate(program.inputs):
                env[name] = x[t, :, j : j + 1]
            for name, value in env_fixed.items():
                env[name] = value if layers is None else value[t]
        for ins in plan.forward:
            if isinstance(ins, AffineStep):
                index, state_terms, chunks = ins.index, ins.state_terms, ins.chunks
                total = totals[index][t]
                if state_terms:
                    if index in pre and index not in bias_rows:
                        for weight, source in state_terms:
                            total += np.matmul(env[source], weights[weight], out=scratch[index])
                    else:
                        (weight, source), rest = state_terms[0], state_terms[1:]
                        np.matmul(env[source], weights[weight], out=total)
                        for weight, source in rest:
                            total += np.matmul(env[source], weights[weight], out=scratch[index])
                        if index in bias_rows:
                            total += bias_rows[index][t]
                if chunks is None:
                    env[program.ops[index].outputs[0]] = total
                else:
                    for name, sl in chunks:
                        env[name] = total[:, sl]
            else:
                op = ins.op
                if saved is None:
                    result = op.values(*[env[name] for name in op.inputs])
                else:
                    result = op.saving(*[env[name] for name in op.inputs], *saved[ins.number][t])
                for name, value in zip(op.outputs, result, strict=True):
                    slot = next_slot.get(name)
                    if slot is not None:
                        new[:, slot] = value
                    else:
                        kept[name][t] = value
                    env[name] = value
    tape = None
    if record:
        tape = Tape(
            net,
            _tape_env(net, x, states, totals, kept, env_fixed, next_slot),
            np.zeros(steps, dtype=int) if layers is None else np.asarray(layers),
            saved=saved,
        )
    return states, tape, totals


def _transposed(net, layer: int | None) -> dict:
    """Weights of the affine ops acting on the state, transposed (views), for one layer."""
    params = net.layer_params(0 if layer is None else layer)
    return {
        w: params[w].T
        for ins in net.plan.forward
        if isinstance(ins, AffineStep)
        for w, _ in ins.state_terms
    }


def _tape_env(net, x, states, totals, kept, env_fixed, next_slot) -> dict:
    """Every named value of the run as a (T, B, size) array (views where possible)."""
    program = net.program
    env = {name: states[:-1, :, sl] for name, sl in net._blocks}
    for name, sl in next_slot.items():
        env.setdefault(name, states[1:, :, sl])
    if program.scalar_block:
        for j, name in enumerate(program.inputs):
            env[name] = x[:, :, j : j + 1]
        env.update(env_fixed)
    else:
        env["x"] = x
    for ins in net.plan.forward:
        if isinstance(ins, AffineStep):
            if ins.chunks is None:
                env[program.ops[ins.index].outputs[0]] = totals[ins.index]
            else:
                for name, sl in ins.chunks:
                    env[name] = totals[ins.index][:, :, sl]
    env.update(kept)
    return env
