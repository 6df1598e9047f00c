"""Backpropagation through time (and depth) with the generated partial derivatives.

The adjoint ``delta_t = dL/ds_t`` is carried backward step by step: through each kernel by its
partials (``adj[in] += adj[out] * d out / d in``) and through each affine op by its weight
(``adj[source] += adj[out] @ W``). Each sequence keeps its adjoint as ``exp(log_scale) * v``;
every K steps (16 in float64, 4 in float32) rows whose norm left [LOW, HIGH] (1e-100 and 1e100
in float64, 1e-15 and 1e15 in float32) are rescaled, so the recorded ``ln ||dL/ds_t||`` stays
exact over chains whose gradient leaves the floating-point range (a row can leave the float
range between checks only if one step multiplies it by more than 1e13, resp. 1e5).

Every delta_t is kept in one (T+1, B, n_state) array and the norms are taken in one pass at
the end. The adjoint of every affine op's output at every step is written straight into one
(T, B, width) array; the weight, bias and input gradients are then a few large matrix products
after the loop (``sum_t g_t^T s_{t-1}`` as one (T B)-long GEMM when tied, one batched product
over layers when untied), which is where most of the time would otherwise go. The loop over
steps runs compiled, in one call, for tied networks that :mod:`gradtheory.numeric._loops`
covers; the Python loop below is the fallback.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _fused, _loops
from ._execute import pool_of
from ._fused import accumulate as _accumulate
from .program import TO_AFFINE, TO_SINK, AffineStep, KernelReverse
from .trajectory import Gradients, Trajectory

__all__ = ["backward"]

#: dtype -> (HIGH, LOW, K): rescaling bounds on ||v|| and steps between range checks.
_RANGE = {np.dtype(np.float64): (1e100, 1e-100, 16), np.dtype(np.float32): (1e15, 1e-15, 4)}


def backward(net, traj: Trajectory, grad_outputs=None, *, grad_state=None) -> Gradients:
    """Gradients of a loss whose derivative with respect to the outputs is ``grad_outputs``.

    Parameters
    ----------
    net : Network
    traj : Trajectory
        From ``net.forward(x)`` with ``record=True``.
    grad_outputs : array, shape like ``traj.outputs`` (T, B, n_out), optional
        dL/d outputs at every step (zeros where the loss does not look).
    grad_state : array, shape (B, n_state), optional
        An extra dL/ds_T on the final state (e.g. a probe vector for Jacobian products).

    Returns
    -------
    Gradients
        ``.params`` and ``.adjoint_log_norms`` (T+1, B), ``.adjoint_norms``, ``.inputs``.

    Examples
    --------
    >>> import numpy as np, gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3)
    >>> traj = net.forward(np.ones((4, 2, 1)))
    >>> net.backward(traj, np.ones_like(traj.outputs)).adjoint_norms.shape
    (5, 2)
    """
    plan, dtype, pool = net.plan, np.dtype(net.dtype), pool_of(net)
    steps, batch = traj.steps, traj.states.shape[1]
    if len(traj.tape) != steps:
        raise ValueError("traj has no tape: run net.forward(x, record=True) before backward")
    grads = {k: pool.zeros(f"grad-{k}", v.shape, v.dtype) for k, v in net.params.items()}
    local = _hidden_gradient(net, traj, grad_outputs, grads)
    history = pool.empty("adjoint", (steps + 1, batch, net.n_state), dtype)
    history[steps] = 0.0
    if grad_state is not None:
        grad_state = np.asarray(grad_state, dtype=dtype)
        if grad_state.shape != (batch, net.n_state):
            raise ValueError(
                f"grad_state must have shape ({batch}, {net.n_state}), got {grad_state.shape}"
            )
        history[steps] += grad_state
    high, low, every = _RANGE[dtype]
    log_scale = np.zeros(batch)  # the compiled loop updates it in place
    scale_rec = np.zeros((steps + 1, batch))  # log_scale of each history row
    # every row of these is written in its step (zeros where an op gets no adjoint), so they
    # are not zero-filled up front: at (T, B, n) = (100, 64, 128) that fill alone moved 13 MB
    g_affine = {i: pool.empty(f"g{i}", (steps, batch, w), dtype) for i, w in plan.widths.items()}
    g_sink = {name: np.zeros((steps, batch, 1), dtype) for name in plan.sinks}
    tape = traj.tape
    looped = tape.saved is not None and _loops.usable(net, dtype)
    fused = looped or (tape.saved is not None and _fused.usable(net, dtype))
    if not fused:
        tape.partials()
    done = None
    if looped:  # the whole loop compiled
        done = _loops.reverse(
            net, tape, history, local, log_scale, scale_rec, g_affine, (high, low, every)
        )
    if done is not None:
        scaled, squares = done
    else:
        squares = None
        scaled, log_scale = _reverse_steps(
            net, tape, history, local, scale_rec, g_affine, g_sink, pool, fused
        )
    delta = history[0]
    scale_rec[0] = log_scale
    if squares is None:
        squares = np.einsum("tbi,tbi->tb", history, history, dtype=np.float64)
    else:  # rows 1..T taken by the compiled loop
        squares[0] = np.einsum("bi,bi->b", delta, delta, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_norms = 0.5 * np.log(squares) + scale_rec
    if scaled:
        _unscale(g_affine, g_sink, scale_rec[1:], dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # an exploding gradient may overflow
        _gather(net, traj, g_affine, g_sink, grads)
        initial = delta * np.exp(log_scale)[:, None].astype(dtype)

    def inputs():  # dL/dx on first access only: a training step does not need it
        with np.errstate(over="ignore", invalid="ignore"):
            return _input_gradient(net, traj, g_affine, g_sink)

    return Gradients(
        params=grads, adjoint_log_norms=log_norms, inputs=inputs, initial_state=initial
    )


def _reverse_steps(net, tape, history, local, scale_rec, g_affine, g_sink, pool, fused: bool):
    """The reverse loop in Python, one step at a time (where no compiled loop covers ``net``):
    fills ``history`` (the adjoints), ``scale_rec``, ``g_affine`` and ``g_sink``; returns
    ``(scaled, log_scale)``, whether some sequence was rescaled and its final log-scales."""
    plan, n, steps = net.plan, net.n_hidden, len(tape)
    high, low, every = _RANGE[np.dtype(history.dtype)]
    log_scale = np.zeros(history.shape[1])
    scaled = False  # True once some sequence's adjoint has been rescaled
    seeded = sorted({seed.op_index for seed in plan.seeds})
    chunks: dict = {}  # one view per affine output name, so that id() identifies it
    seeds = [  # (name, its adjoint's (T, B, n) array, affine op index)
        (
            seed.name,
            chunks.setdefault(seed.name, _chunk(g_affine, seed.op_index, seed.chunk)),
            seed.op_index,
        )
        for seed in plan.seeds
    ]
    actions = _actions(net, tape, g_affine, g_sink, chunks, pool, fused)
    weights = net.params if net.tied else None
    blocks = net._blocks
    block_of = dict(blocks)
    seed_names = tuple(zip(net.program.next_state, (sl for _, sl in blocks), strict=True))
    countdown = 0
    for t in range(steps - 1, -1, -1):
        delta = history[t + 1]
        if local is not None:
            if scaled:
                log_scale = _add_scaled(delta, log_scale, local[t], n)
            else:
                delta[:, :n] += local[t]
        if countdown == 0:
            countdown = every
            changed, log_scale = _rescale(delta, log_scale, high, low)
            scaled = scaled or changed
        countdown -= 1
        if scaled:
            scale_rec[t + 1] = log_scale
        if weights is None:
            weights = net.layer_params(int(tape.layers[t]))
        new = history[t]
        adj = {name: delta[:, sl] for name, sl in seed_names}
        owned: set = set()  # names whose adjoint is a fresh array of this step (safe in place)
        written: set = set()  # affine ops whose adjoint at step t has been written
        direct: dict = {}  # state blocks whose adjoint was written straight into ``new``
        for index in seeded:
            g_affine[index][t] = 0.0
            written.add(index)
        for name, target, _ in seeds:
            target[t] += adj[name]
        if fused:
            seats = {name: (adj[name], delta, sl.start) for name, sl in seed_names}
            step_state = {
                "adj": adj,
                "owned": owned,
                "written": written,
                "direct": direct,
                "new": new,
                "seats": seats,
                "g_affine": g_affine,
            }
        for ins in actions:
            if isinstance(ins, _fused.FusedAction):
                _fused.run(ins, t, step_state)
            elif isinstance(ins, _KernelAction):
                for group in ins.groups:
                    a = adj.get(group.out)
                    if a is None:
                        continue
                    stack = group.stack
                    p = stack if np.ndim(stack) == 0 else stack[t]
                    if group.op_index in written:
                        group.g4[t] += np.multiply(p, a[:, None, :], out=group.spare)
                    else:
                        np.multiply(p, a[:, None, :], out=group.g4[t])
                        written.add(group.op_index)
                for pair in ins.pairs:
                    a = adj.get(pair.out)
                    if a is None:
                        continue
                    inp, p_all = pair.inp, pair.values
                    p = pair.constant if p_all is None else p_all[t]
                    if pair.kind == TO_SINK:
                        pair.sink[t] += a * p
                    elif inp in block_of and inp not in adj:  # straight into delta_{t}
                        adj[inp] = direct[inp] = np.multiply(a, p, out=new[:, block_of[inp]])
                        owned.add(inp)
                    elif p_all is None and pair.constant == 1.0:
                        _accumulate(adj, owned, inp, a, fresh=False)
                    else:
                        _accumulate(adj, owned, inp, a * p, fresh=True)
            elif ins.op_index in written:
                g = ins.g[t]
                for weight, source in ins.state_terms:
                    if source in block_of and source not in adj:
                        adj[source] = direct[source] = np.matmul(
                            g, weights[weight], out=new[:, block_of[source]]
                        )
                        owned.add(source)
                    else:
                        _accumulate(adj, owned, source, g @ weights[weight], fresh=True)
        if len(written) < len(g_affine):
            for index, g in g_affine.items():
                if index not in written:
                    g[t] = 0.0
        if not net.tied:
            weights = None
        for block, sl in blocks:
            value = adj.get(block)
            if value is None:
                new[:, sl] = 0.0
            elif value is not direct.get(block):
                new[:, sl] = value
    return scaled, log_scale


def _chunk(g_affine, index, sl):
    return g_affine[index] if sl is None else g_affine[index][:, :, sl]


class _Group(NamedTuple):
    """Adjoint of affine op ``op_index`` from kernel output ``out``: ``g4[t] (+)= stack[t] *
    adj[out]`` (``stack``: the stacked partials (T, B, count, n) or one constant; ``g4``: the
    op's adjoint as (T, B, count, n); ``spare``: scratch of one step's shape)."""

    out: str
    op_index: int
    stack: object
    g4: np.ndarray
    spare: np.ndarray


class _Pair(NamedTuple):
    """A partial whose target is not an affine op: ``values`` (T, B, n), or None for the
    number ``constant``; ``sink`` (T, B, 1) collects the adjoint when ``kind`` is TO_SINK."""

    out: str
    inp: str
    values: np.ndarray | None
    constant: float
    kind: int
    sink: np.ndarray | None


class _KernelAction(NamedTuple):
    pairs: tuple[_Pair, ...]
    groups: tuple[_Group, ...]


class _AffineAction(NamedTuple):
    """``adj[source] += g[t] @ weight`` for every state term; ``g`` is the op's adjoint."""

    state_terms: tuple[tuple[str, str], ...]
    g: np.ndarray
    op_index: int


def _actions(net, tape, g_affine, g_sink, chunks, pool, fused: bool) -> list:
    """The reverse plan with its arrays resolved once: stacked partials (or the fused
    kernels' loops), targets, scratch."""
    plan, n = net.plan, net.n_hidden
    partials, stacks = (None, None) if fused else (tape.partials(), tape.stacks())
    steps, batch = len(tape), tape.env[net.program.state[0]].shape[1]
    actions = []
    for ins in plan.reverse:
        if isinstance(ins, KernelReverse) and fused:
            op = next(f.op for f in plan.forward if getattr(f, "number", -1) == ins.number)
            actions.append(_fused.fused_action(net, tape, ins.number, op, pool))
        elif isinstance(ins, KernelReverse):
            number, pairs, groups = ins.number, [], []
            for stack in ins.stacks:
                index = stack.op_index
                g4 = g_affine[index].reshape(steps, batch, stack.count, n)
                spare = pool.empty(f"spare{index}", (batch, stack.count, n), g4.dtype)
                values = stacks[(number, stack.out, index)]
                groups.append(_Group(stack.out, index, values, g4, spare))
            for pair in ins.partials:
                if pair.kind == TO_AFFINE:
                    continue
                sink = g_sink[pair.inp] if pair.kind == TO_SINK else None
                values = partials[number][pair.partial] if pair.partial >= 0 else None
                pairs.append(_Pair(pair.out, pair.inp, values, pair.constant, pair.kind, sink))
            actions.append(_KernelAction(tuple(pairs), tuple(groups)))
        else:
            actions.append(_AffineAction(ins.state_terms, g_affine[ins.index], ins.index))
    return actions


def _hidden_gradient(net, traj, grad_outputs, grads):
    """dL/dh_t from dL/dy_t through the readout; fills the readout's own gradients."""
    if grad_outputs is None:
        return None
    grad_outputs = np.asarray(grad_outputs)
    if grad_outputs.dtype.kind not in "fiu":
        raise TypeError(f"grad_outputs must be a real array, got dtype {grad_outputs.dtype}")
    grad_outputs = grad_outputs.astype(net.dtype, copy=False)
    if grad_outputs.shape != traj.outputs.shape:
        raise ValueError(
            f"grad_outputs must have the shape of traj.outputs {traj.outputs.shape}, "
            f"got {grad_outputs.shape}"
        )
    if not net.n_out:
        return grad_outputs
    flat_g = grad_outputs.reshape(-1, net.n_out)
    grads["W_out"] += flat_g.T @ traj.hidden[1:].reshape(-1, net.n_hidden)
    grads["b_out"] += flat_g.sum(axis=0)
    return grad_outputs @ net.params["W_out"]


def _add_scaled(delta, log_scale, local, n_hidden):
    """delta * e^log_scale + local, kept in scaled form without overflow; returns log_scale."""
    local_norm = np.linalg.norm(local.astype(np.float64), axis=1)
    rows = local_norm > 0
    if rows.any():
        new_scale = np.maximum(log_scale[rows], np.log(local_norm[rows]))
        with np.errstate(under="ignore"):
            delta[rows] *= np.exp(log_scale[rows] - new_scale)[:, None].astype(delta.dtype)
            delta[rows, :n_hidden] += local[rows] * np.exp(-new_scale)[:, None].astype(delta.dtype)
        log_scale = log_scale.copy()
        log_scale[rows] = new_scale
    return log_scale


def _rescale(delta, log_scale, high, low):
    """Rescale (in place) the rows of ``delta`` whose norm left [low, high]."""
    if delta.dtype != np.float64:
        # in the array's own type first (several times faster than accumulating in float64):
        # squares within a factor 4 of the bounds prove every row in range, since this sum
        # differs from the float64 one by far less than that (overflow gives inf, underflow
        # a smaller sum: both fall through to the exact test)
        fast = np.einsum("ij,ij->i", delta, delta)
        if fast.max() < 0.25 * high * high and fast.min() > 4.0 * low * low:
            return False, log_scale
    sq = np.einsum("ij,ij->i", delta, delta, dtype=np.float64)
    if not (sq.max() > high * high or sq.min() < low * low):
        return False, log_scale
    out = (sq > high * high) | ((sq < low * low) & (sq > 0))
    if not out.any():
        return False, log_scale
    norm = np.sqrt(sq[out])
    delta[out] /= norm[:, None].astype(delta.dtype)
    log_scale = log_scale.copy()
    log_scale[out] += np.log(norm)
    return True, log_scale


def _unscale(g_affine, g_sink, scale_step, dtype) -> None:
    """Multiply the stored (scaled) adjoints of every step by their scale, in place."""
    with np.errstate(over="ignore", invalid="ignore"):
        factor = np.exp(scale_step)[:, :, None].astype(dtype)
        for g in (*g_affine.values(), *g_sink.values()):
            g *= factor


def _gather(net, traj, g_affine, g_sink, grads) -> None:
    """Weight, bias and scalar-parameter gradients from the stored adjoints (in place)."""
    program, plan = net.program, net.plan
    tied, rows = net.tied, traj.steps * traj.states.shape[1]
    layers = None if tied else np.asarray(traj.tape.layers)
    blocks = dict(net._blocks)
    for ins in plan.forward:
        if not isinstance(ins, AffineStep):
            continue
        g = g_affine[ins.index]
        flat = g.reshape(rows, -1)
        terms = ins.state_terms + ins.input_terms
        sources = [_source_values(traj, program, blocks, source) for _, source in terms]
        if tied:
            # one product for every weight and the bias of the op (their sources side by side,
            # the bias as a column of ones): g, the largest array here, is read once
            widths = [v.shape[-1] for v in sources]
            shape = (rows, sum(widths) + (ins.bias is not None))
            given = getattr(traj.tape, "columns", {}).get(ins.index)
            if given is not None and given.shape[-1] == shape[1] and given.size == rows * shape[1]:
                columns = given.reshape(shape)  # laid out by the compiled forward loop
            else:
                columns = pool_of(net).empty(f"columns{ins.index}", shape, flat.dtype)
                start = 0
                for values, width in zip(sources, widths, strict=True):
                    columns[:, start : start + width] = values.reshape(rows, width)
                    start += width
                if ins.bias is not None:
                    columns[:, start] = 1.0
            product = flat.T @ columns
            start = 0
            for (weight, _), width in zip(terms, widths, strict=True):
                grads[weight] += product[:, start : start + width]
                start += width
            if ins.bias is not None:
                grads[ins.bias] += product[:, start]
            continue
        if ins.bias is not None:
            _add(grads[ins.bias], g.sum(axis=1), layers)
        for (weight, _), values in zip(terms, sources, strict=True):
            _add(grads[weight], np.matmul(np.swapaxes(g, 1, 2), values), layers)
    for name in program.scalar_params:
        g = g_sink[name][:, :, 0]
        _add(grads[name], g.sum() if tied else g.sum(axis=1), layers)


def _source_values(traj, program, blocks, source) -> np.ndarray:
    """The (T, B, size) values an affine term reads: the inputs, a state block or a named
    value of the tape."""
    if source in program.inputs:
        return traj.inputs
    if source in blocks:
        return traj.states[:-1, :, blocks[source]]
    return traj.tape.env[source]


def _input_gradient(net, traj, g_affine, g_sink) -> np.ndarray:
    """dL/dx_t (T, B, n_in) from the stored adjoints of the affine ops and scalar inputs."""
    program = net.program
    rows = traj.steps * traj.states.shape[1]
    layers = None if net.tied else np.asarray(traj.tape.layers)
    grad_inputs = np.zeros(traj.inputs.shape, traj.inputs.dtype)
    flat_inputs = grad_inputs.reshape(rows, -1)
    for ins in net.plan.forward:
        if not isinstance(ins, AffineStep):
            continue
        g = g_affine[ins.index]
        for weight, _ in ins.input_terms:
            w = net.params[weight]
            if layers is None:
                flat_inputs += g.reshape(rows, -1) @ w
            else:
                grad_inputs += np.matmul(g, w[layers])
    for j, name in enumerate(program.inputs if program.scalar_block else ()):
        grad_inputs[:, :, j] += g_sink[name][:, :, 0]
    return grad_inputs


def _add(target: np.ndarray, value: np.ndarray, layers) -> None:
    """``target += value`` (tied) or ``target[layers] += value`` (untied, distinct layers)."""
    if layers is None:
        target += value
    else:
        target[layers] += value
