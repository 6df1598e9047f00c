"""Backpropagation through time (and depth) with the generated partial derivatives.

The adjoint ``delta_t = dL/ds_t`` is carried backward step by step: through each kernel by its
partials (``adj[in] += adj[out] * d out / d in``) and through each affine op by its weight
(``adj[source] += adj[out] @ W``). Each sequence keeps its adjoint as ``exp(log_scale) * v``
and rescales ``v`` when its norm leaves [LOW, HIGH] (1e-100 and 1e100 in float64, 1e-15 and
1e15 in float32), so the recorded ``ln ||dL/ds_t||`` stays exact over chains whose gradient
leaves the floating-point range.

The adjoint of every affine op's output at every step is written straight into one
preallocated (T, B, width) array; the weight, bias and input gradients are then a few large
matrix products after the loop (``sum_t g_t^T s_{t-1}`` as one (T B)-long GEMM when tied, one
batched product over layers when untied), which is where most of the time would otherwise go.
"""

from __future__ import annotations

import numpy as np

from .program import TO_AFFINE, TO_SINK
from .trajectory import Gradients, Trajectory

__all__ = ["backward"]

_RANGE = {np.dtype(np.float64): (1e100, 1e-100), np.dtype(np.float32): (1e15, 1e-15)}


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
    plan, dtype, n = net.plan, np.dtype(net.dtype), net.n_hidden
    steps, batch = traj.steps, traj.states.shape[1]
    if len(traj.tape) != steps:
        raise ValueError("traj has no tape: run net.forward(x, record=True) before backward")
    grads = {k: np.zeros_like(v) for k, v in net.params.items()}
    local = _hidden_gradient(net, traj, grad_outputs, grads)
    delta = np.zeros((batch, net.n_state), dtype=dtype)
    if grad_state is not None:
        grad_state = np.asarray(grad_state, dtype=dtype)
        if grad_state.shape != (batch, net.n_state):
            raise ValueError(f"grad_state must have shape ({batch}, {net.n_state}), "
                             f"got {grad_state.shape}")
        delta += grad_state
    spare = np.empty_like(delta)
    high, low = _RANGE[dtype]
    high2, low2 = high * high, low * low
    squares = np.empty((steps + 1, batch), dtype=dtype)
    log_scale = np.zeros(batch)
    scaled = False  # True once some sequence's adjoint has been rescaled
    scale_norm = np.zeros((steps + 1, batch))  # log_scale at each recorded norm
    scale_step = np.zeros((steps, batch))  # log_scale of the adjoints stored for step t
    g_affine = {i: np.zeros((steps, batch, w), dtype) for i, w in plan.widths.items()}
    g_sink = {name: np.zeros((steps, batch, 1), dtype) for name in plan.sinks}
    tape = traj.tape
    chunks: dict = {}  # one view per affine output name, so that id() identifies it
    actions = _actions(plan, tape.partials(), g_affine, g_sink, chunks)
    seeds = [(name, chunks.setdefault(name, _chunk(g_affine, index, sl)), index)
             for name, index, sl in plan.seeds]
    weights = net.params if net.tied else None
    blocks = net._blocks
    seed_names = tuple(zip(net.program.next_state, (sl for _, sl in blocks)))
    for t in range(steps - 1, -1, -1):
        if local is not None:
            if scaled:
                log_scale = _add_scaled(delta, log_scale, local[t], n)
            else:
                delta[:, :n] += local[t]
        sq = np.einsum("ij,ij->i", delta, delta, out=squares[t + 1])
        if sq.max() > high2 or sq.min() < low2:
            if scaled:
                scale_norm[t + 1] = log_scale
            changed, log_scale = _rescale(delta, sq, log_scale, high2, low2)
            if changed and not scaled:
                scaled = True
                scale_norm[t + 1] = 0.0
        elif scaled:
            scale_norm[t + 1] = log_scale
        if scaled:
            scale_step[t] = log_scale
        if weights is None:
            weights = net.layer_params(int(tape.layers[t]))
        adj = {name: delta[:, sl] for name, sl in seed_names}
        written: set = set()
        for name, target, index in seeds:
            target[t] += adj[name]
            written.update((id(target), index))
        for ins in actions:
            if ins[0] == "K":
                for out, inp, p_all, const, kind, target, index in ins[1]:
                    a = adj.get(out)
                    if a is None:
                        continue
                    p = const if p_all is None else p_all[t]
                    if kind == TO_AFFINE:
                        view = target[t]
                        if id(target) in written:
                            view += a * p
                        else:
                            np.multiply(a, p, out=view)
                            written.update((id(target), index))
                    elif kind == TO_SINK:
                        target[t] += a * p
                    else:
                        c = a if (p_all is None and const == 1.0) else a * p
                        adj[inp] = c if inp not in adj else adj[inp] + c
            elif ins[3] in written:
                g = ins[2][t]
                for weight, source in ins[1]:
                    c = g @ weights[weight]
                    adj[source] = c if source not in adj else adj[source] + c
        if not net.tied:
            weights = None
        for block, sl in blocks:
            spare[:, sl] = adj.get(block, 0.0)
        delta, spare = spare, delta
    sq = np.einsum("ij,ij->i", delta, delta, out=squares[0])
    if scaled:
        scale_norm[0] = log_scale
    with np.errstate(divide="ignore"):
        log_norms = 0.5 * np.log(squares.astype(np.float64)) + scale_norm
    if scaled:
        _unscale(g_affine, g_sink, scale_step, dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # an exploding gradient may overflow
        grad_inputs = _gather(net, traj, g_affine, g_sink, grads)
    with np.errstate(over="ignore"):
        initial = delta * np.exp(log_scale)[:, None].astype(dtype)
    return Gradients(params=grads, adjoint_log_norms=log_norms, inputs=grad_inputs,
                     initial_state=initial)


def _chunk(g_affine, index, sl):
    return g_affine[index] if sl is None else g_affine[index][:, :, sl]


def _actions(plan, partials, g_affine, g_sink, chunks) -> list:
    """The reverse plan with its arrays resolved once: (T, ...) partials and adjoint targets."""
    actions = []
    for ins in plan.reverse:
        if ins[0] == "K":
            values = partials[ins[1]]
            pairs = []
            for out, inp, k, const, kind, index, sl in ins[2]:
                if kind == TO_AFFINE and inp not in chunks:
                    chunks[inp] = _chunk(g_affine, index, sl)
                target = (chunks[inp] if kind == TO_AFFINE
                          else g_sink[inp] if kind == TO_SINK else None)
                pairs.append((out, inp, values[k] if k >= 0 else None, const, kind, target, index))
            actions.append(("K", tuple(pairs)))
        else:
            g = g_affine[ins[1]]
            actions.append(("A", ins[2], g, ins[1]))
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
        raise ValueError(f"grad_outputs must have the shape of traj.outputs {traj.outputs.shape}, "
                         f"got {grad_outputs.shape}")
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


def _rescale(delta, sq, log_scale, high2, low2):
    """Rescale (in place) the rows of ``delta`` whose squared norm left [low2, high2]."""
    out = (sq > high2) | ((sq < low2) & (sq > 0))
    if not out.any():
        return False, log_scale
    norm = np.sqrt(sq[out].astype(np.float64))
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


def _gather(net, traj, g_affine, g_sink, grads) -> np.ndarray:
    """Weight, bias, scalar-parameter and input gradients from the stored adjoints."""
    program, plan = net.program, net.plan
    steps, batch = traj.steps, traj.states.shape[1]
    tied = net.tied
    layers = None if tied else np.asarray(traj.tape.layers)
    grad_inputs = np.zeros_like(traj.inputs)
    blocks = dict(net._blocks)
    for ins in plan.forward:
        if ins[0] != "A":
            continue
        _, index, state_terms, input_terms, bias, _ = ins
        g = g_affine[index]
        if bias is not None:
            _add(grads[bias], g.sum(axis=(0, 1)) if tied else g.sum(axis=1), layers)
        for weight, source in state_terms + input_terms:
            if source in program.inputs:
                values = traj.inputs
            elif source in blocks:
                values = traj.states[:-1, :, blocks[source]]
            else:
                values = traj.tape.env[source]
            if tied:
                flat = g.reshape(steps * batch, -1)
                grads[weight] += flat.T @ values.reshape(steps * batch, -1)
            else:
                _add(grads[weight], np.matmul(np.swapaxes(g, 1, 2), values), layers)
        for weight, _ in input_terms:
            w = net.params[weight]
            if tied:
                grad_inputs += (g.reshape(steps * batch, -1) @ w).reshape(grad_inputs.shape)
            else:
                grad_inputs += np.matmul(g, w[layers])
    for j, name in enumerate(program.inputs if program.scalar_block else ()):
        grad_inputs[:, :, j] += g_sink[name][:, :, 0]
    for name in program.scalar_params:
        g = g_sink[name][:, :, 0]
        _add(grads[name], g.sum() if tied else g.sum(axis=1), layers)
    return grad_inputs


def _add(target: np.ndarray, value: np.ndarray, layers) -> None:
    """``target += value`` (tied) or ``target[layers] += value`` (untied, distinct layers)."""
    if layers is None:
        target += value
    else:
        target[layers] += value
