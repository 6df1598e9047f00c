"""Backpropagation through time (and depth) with the generated partial derivatives.

The adjoint ``delta_t = dL/ds_t`` is carried backward step by step: through each kernel by its
partials (``adj[in] += adj[out] * d out / d in``) and through each affine op by its weight
(``adj[source] += adj[out] @ W``). Each sequence keeps its adjoint as ``exp(log_scale) * v``
and rescales ``v`` when its norm leaves [1e-100, 1e100], so the recorded
``ln ||dL/ds_t||`` stays exact over chains whose gradient leaves the floating-point range.

For tied weights the per-step weight gradients are gathered into one large matrix product
after the loop (``sum_t delta_t^T s_{t-1}`` as a (T B)-long GEMM), which is where most of the
time would otherwise go.
"""

from __future__ import annotations

import numpy as np

from .program import AffineOp
from .trajectory import Gradients, Trajectory

__all__ = ["backward"]

_HIGH, _LOW = 1e100, 1e-100


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
    program, dtype = net.program, net.dtype
    steps, batch = traj.steps, traj.states.shape[1]
    if len(traj.tape) != steps:
        raise ValueError("traj has no tape: run net.forward(x, record=True) before backward")
    grads = {k: np.zeros_like(v) for k, v in net.params.items()}
    g_hidden = _hidden_gradient(net, traj, grad_outputs, grads)
    delta = np.zeros((batch, net.n_state), dtype=dtype)
    if grad_state is not None:
        grad_state = np.asarray(grad_state, dtype=dtype)
        if grad_state.shape != (batch, net.n_state):
            raise ValueError(f"grad_state must have shape ({batch}, {net.n_state}), got {grad_state.shape}")
        delta += grad_state
    log_scale = np.zeros(batch)
    log_norms = np.empty((steps + 1, batch))
    grad_inputs = np.zeros_like(traj.inputs)
    deferred = {i: np.zeros(traj.input_terms[i].shape[:2] + (traj.input_terms[i].shape[2],), dtype)
                for i in traj.input_terms} if net.tied else {}
    affine_sources = _state_sources(program)
    tied_grads = {i: np.zeros((steps, batch, _width(net, op)), dtype)
                  for i, op in enumerate(program.ops) if isinstance(op, AffineOp) and net.tied}
    for t in range(steps, 0, -1):
        if g_hidden is not None:
            delta, log_scale = _add_local(delta, log_scale, g_hidden[t - 1], net.n_hidden)
        delta, log_scale, log_norms[t] = _rescale(delta, log_scale)
        scale = None if not log_scale.any() else np.exp(log_scale)[:, None].astype(dtype)
        entry = traj.tape[t - 1]
        delta = _step_backward(net, entry, delta, scale, grads, grad_inputs[t - 1], tied_grads, t - 1)
    delta, log_scale, log_norms[0] = _rescale(delta, log_scale)
    if net.tied:
        _gather_tied(net, traj, tied_grads, affine_sources, grads, grad_inputs)
    del deferred
    with np.errstate(over="ignore"):
        initial = delta * np.exp(log_scale)[:, None]
    return Gradients(params=grads, adjoint_log_norms=log_norms, inputs=grad_inputs,
                     initial_state=initial)


def _width(net, op: AffineOp) -> int:
    return len(op.outputs) * net.n_hidden


def _state_sources(program) -> dict[int, list[tuple[str, str]]]:
    return {i: [(w, s) for w, s in op.terms if s not in program.inputs]
            for i, op in enumerate(program.ops) if isinstance(op, AffineOp)}


def _hidden_gradient(net, traj, grad_outputs, grads):
    """dL/dh_t from dL/dy_t through the readout; fills the readout's own gradients."""
    if grad_outputs is None:
        return None
    grad_outputs = np.asarray(grad_outputs, dtype=net.dtype)
    if grad_outputs.shape != traj.outputs.shape:
        raise ValueError(f"grad_outputs must have the shape of traj.outputs {traj.outputs.shape}, "
                         f"got {grad_outputs.shape}")
    if not net.n_out:
        return grad_outputs
    hidden = traj.hidden[1:]
    flat_g = grad_outputs.reshape(-1, net.n_out)
    grads["W_out"] += flat_g.T @ hidden.reshape(-1, net.n_hidden)
    grads["b_out"] += flat_g.sum(axis=0)
    return grad_outputs @ net.params["W_out"]


def _add_local(delta, log_scale, local, n_hidden):
    """delta_scaled * e^log_scale + local, kept in scaled form without overflow."""
    if not log_scale.any():
        delta[:, :n_hidden] += local
        return delta, log_scale
    local_norm = np.linalg.norm(local, axis=1)
    rows = local_norm > 0
    if rows.any():
        new_scale = np.maximum(log_scale[rows], np.log(local_norm[rows]))
        delta[rows] *= np.exp(log_scale[rows] - new_scale)[:, None]
        delta[rows, :n_hidden] += local[rows] * np.exp(-new_scale)[:, None]
        log_scale = log_scale.copy()
        log_scale[rows] = new_scale
    return delta, log_scale


def _rescale(delta, log_scale):
    norm = np.linalg.norm(delta.astype(np.float64), axis=1)
    with np.errstate(divide="ignore"):
        log_norm = np.log(norm) + log_scale
    out = (norm > _HIGH) | ((norm < _LOW) & (norm > 0))
    if out.any():
        delta = delta.copy()
        delta[out] /= norm[out, None].astype(delta.dtype)
        log_scale = log_scale.copy()
        log_scale[out] += np.log(norm[out])
    return delta, log_scale, log_norm


def _accumulate(adj: dict, name: str, value) -> None:
    adj[name] = value if name not in adj else adj[name] + value


def _step_backward(net, entry, delta, scale, grads, grad_input_t, tied_grads, t):
    program, n = net.program, net.n_hidden
    env, layer = entry["env"], entry["layer"]
    params = net.layer_params(layer)
    adj = {}
    for block, name in zip(program.state, program.next_state):
        adj[name] = net.split_state(delta)[block]
    kernels = [op for op in program.ops if not isinstance(op, AffineOp)]
    kernel_number = len(kernels)
    for index in range(len(program.ops) - 1, -1, -1):
        op = program.ops[index]
        if isinstance(op, AffineOp):
            if not any(o in adj for o in op.outputs):
                continue
            g = np.concatenate([adj.get(o, np.zeros_like(env[o])) for o in op.outputs], axis=1) \
                if len(op.outputs) > 1 else adj[op.outputs[0]]
            true_g = g if scale is None else g * scale
            if net.tied:
                tied_grads[index][t] = true_g
            else:
                if op.bias:
                    grads[op.bias][layer] += true_g.sum(axis=0)
            for weight, source in op.terms:
                if source in program.inputs:
                    if not net.tied:
                        grads[weight][layer] += true_g.T @ env[source]
                        grad_input_t += true_g @ params[weight]
                    continue
                _accumulate(adj, source, g @ params[weight])
                if not net.tied:
                    grads[weight][layer] += true_g.T @ env[source]
        else:
            kernel_number -= 1
            partial_values = entry["partials"][kernel_number]
            pairs = list(zip(op.partials, partial_values)) + list(op.constants.items())
            for (out, inp), value in pairs:
                if out not in adj:
                    continue
                contribution = adj[out] if (np.ndim(value) == 0 and value == 1.0) else adj[out] * value
                if inp in program.scalar_params:
                    total = contribution if scale is None else contribution * scale
                    if net.tied:
                        grads[inp] += total.sum()
                    else:
                        grads[inp][layer] += total.sum()
                elif program.scalar_block and inp in program.inputs:
                    j = program.inputs.index(inp)
                    total = contribution if scale is None else contribution * scale
                    grad_input_t[:, j] += np.broadcast_to(total, (grad_input_t.shape[0], 1))[:, 0]
                else:
                    _accumulate(adj, inp, contribution)
    blocks = []
    for block in program.state:
        value = adj.get(block)
        size = net.block_sizes[block]
        blocks.append(np.zeros((delta.shape[0], size), net.dtype) if value is None
                      else np.broadcast_to(value, (delta.shape[0], size)))
    return np.concatenate(blocks, axis=1) if len(blocks) > 1 else np.array(blocks[0], copy=True)


def _gather_tied(net, traj, tied_grads, affine_sources, grads, grad_inputs):
    """Weight and input gradients of a tied network as one (T B)-long product per weight."""
    program = net.program
    steps, batch = traj.steps, traj.states.shape[1]
    for index, g_all in tied_grads.items():
        op = program.ops[index]
        flat_g = g_all.reshape(steps * batch, -1)
        if op.bias:
            grads[op.bias] += flat_g.sum(axis=0)
        for weight, source in op.terms:
            if source in program.inputs:
                flat_x = traj.inputs.reshape(steps * batch, -1)
                grads[weight] += flat_g.T @ flat_x
                grad_inputs += (flat_g @ net.params[weight]).reshape(steps, batch, -1)
            else:
                values = np.stack([entry["env"][source] for entry in traj.tape])
                grads[weight] += flat_g.T @ values.reshape(steps * batch, -1)
