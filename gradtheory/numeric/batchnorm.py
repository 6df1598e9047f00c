r"""Executor of batch-normalised depth chains: forward, backward and batch Jacobian products.

A batch-normalised step couples the B samples of a batch (each unit is normalised by the
batch's mean and variance), so it cannot run on the per-sample plan of
:mod:`gradtheory.numeric._execute`. This module interprets the cell's program layer by layer
on the whole batch: affine ops as matrix products, the generated pointwise kernels as they
are, and :class:`~gradtheory.numeric.program.BatchNormOp` by hand-written NumPy formulas
(:func:`bn_forward`, :func:`bn_vjp`; the three-term gradient of
:mod:`gradtheory.symbolic.batchnorm`). No autodiff library is involved.

Training mode uses the batch statistics (biased variance) and updates running statistics as
``torch.nn.BatchNorm1d`` does (``running = (1 - m) running + m batch``, with the unbiased
variance B/(B-1) var); evaluation mode (``net.batchnorm.training = False``) uses the running
statistics, which makes every sample independent again.

Matrix-free products with the batch Jacobian of step t (``s_t -> s_{t+1}``, (B n) x (B n)):
:func:`batch_jvp`, :func:`batch_vjp`; :func:`batch_jacobian` materialises it for small tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .program import AffineOp, BatchNormOp, KernelOp
from .trajectory import Gradients, Trajectory

__all__ = [
    "BatchNormState",
    "batch_jacobian",
    "batch_jvp",
    "batch_vjp",
    "bn_forward",
    "bn_vjp",
    "refuse_batch_coupled",
]

#: Largest (B n_state) for which :func:`batch_jacobian` materialises the matrix.
MAX_EXPLICIT = 4096


def is_batch_coupled(net) -> bool:
    """True for a network whose steps normalise over the batch."""
    return getattr(getattr(net, "cell", None), "norm", None) == "batch"


def refuse_batch_coupled(net, func: str) -> None:
    """Raise a clear error if ``net`` is batch-normalised (``func`` works per sample).

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("relu", norm="batch"), 2, 3, depth=2, tied=False)
    >>> refuse_batch_coupled(net, "jacobians")
    Traceback (most recent call last):
    ...
    ValueError: jacobians: argument 'net' must be a network whose samples are independent; got a batch-normalised network ('elman-relu-bn') whose step couples the B samples (its Jacobian is (B n) x (B n)). Use gt.batch_jvp, gt.batch_vjp or gt.batch_jacobian for its Jacobian products, and gt.predict(net, batch=B) for its gradient growth.
    """  # noqa: E501
    if is_batch_coupled(net):
        raise ValueError(
            f"{func}: argument 'net' must be a network whose samples are independent; got a "
            f"batch-normalised network ({net.cell.name!r}) whose step couples the B samples "
            "(its Jacobian is (B n) x (B n)). Use gt.batch_jvp, gt.batch_vjp or "
            "gt.batch_jacobian for its Jacobian products, and gt.predict(net, batch=B) for "
            "its gradient growth."
        )


@dataclass
class BatchNormState:
    """Mode and running statistics of a batch-normalised network (``net.batchnorm``).

    Attributes
    ----------
    training : bool
        True: normalise by the batch's statistics and update the running ones; False
        (evaluation): normalise by the running statistics.
    running_mean, running_var : dict of str to ndarray, shape (L, n)
        Per normalisation stage (by output name); start at 0 and 1 as in PyTorch.
    batches_tracked : int
    """

    training: bool = True
    running_mean: dict = field(default_factory=dict)
    running_var: dict = field(default_factory=dict)
    batches_tracked: int = 0

    def copy(self) -> BatchNormState:
        """An independent copy."""
        return BatchNormState(
            self.training,
            {k: v.copy() for k, v in self.running_mean.items()},
            {k: v.copy() for k, v in self.running_var.items()},
            self.batches_tracked,
        )


def new_state(net) -> BatchNormState:
    """Fresh running statistics for ``net`` (zeros and ones, (L, n) per stage)."""
    shape = (net.depth, net.n_hidden)
    names = [op.stage.outputs[0] for op in net.program.ops if isinstance(op, BatchNormOp)]
    return BatchNormState(
        True,
        {k: np.zeros(shape, net.dtype) for k in names},
        {k: np.ones(shape, net.dtype) for k in names},
    )


# -- the normalisation itself -------------------------------------------------------------------
def bn_forward(z: np.ndarray, scale, shift, eps: float):
    """Training-mode batch normalisation of ``z`` (B, n) over its first axis.

    Returns
    -------
    a : ndarray (B, n)
        ``scale * zhat + shift`` (``zhat`` if scale and shift are None).
    zhat : ndarray (B, n)
    inv_std : ndarray (n,)
        1 / sqrt(var + eps), var the biased batch variance.
    mean, var : ndarray (n,)

    Examples
    --------
    >>> a, zhat, inv_std, mean, var = bn_forward(np.array([[0.0], [2.0]]), None, None, 0.0)
    >>> a.ravel().tolist(), mean.tolist(), var.tolist()
    ([-1.0, 1.0], [1.0], [1.0])
    """
    mean = z.mean(axis=0)
    centred = z - mean
    var = np.einsum("bj,bj->j", centred, centred) / z.shape[0]
    inv_std = 1.0 / np.sqrt(var + eps)
    zhat = centred * inv_std
    a = zhat if scale is None else zhat * scale
    if shift is not None:
        a = a + shift
    return a, zhat, inv_std, mean, var


def bn_vjp(grad_a: np.ndarray, zhat: np.ndarray, inv_std: np.ndarray, scale):
    r"""The three-term vector-Jacobian product of training-mode batch normalisation.

    ``dL/dz = scale * inv_std * (g - mean_b(g) - zhat * mean_b(g * zhat))`` with
    ``g = dL/da`` (B, n); the Jacobian of each unit is symmetric, so this is also the
    Jacobian-vector product.

    Returns
    -------
    grad_z : ndarray (B, n)
    grad_scale, grad_shift : ndarray (n,)
        ``sum_b g zhat`` and ``sum_b g``.

    Examples
    --------
    >>> zhat, inv = np.array([[-1.0], [1.0]]), np.array([1.0])
    >>> bn_vjp(np.array([[1.0], [1.0]]), zhat, inv, None)[0].ravel().tolist()  # a shift is lost
    [0.0, 0.0]
    """
    g = grad_a if scale is None else grad_a * scale
    grad_z = inv_std * (g - g.mean(axis=0) - zhat * np.einsum("bj,bj->j", g, zhat) / len(g))
    return grad_z, np.einsum("bj,bj->j", grad_a, zhat), grad_a.sum(axis=0)


# -- one layer ------------------------------------------------------------------------------------
def _layer_forward(net, params: dict, env: dict, layer: int) -> None:
    """Evaluate every op of the program at ``layer`` into ``env`` (name -> (B, size))."""
    state = net.batchnorm
    for op in net.program.ops:
        if isinstance(op, AffineOp):
            # a zero input (layers after the first of a depth chain) is None: no product
            parts = [env[src] @ params[w].T for w, src in op.terms if env[src] is not None]
            total = parts[0] if len(parts) == 1 else sum(parts[1:], parts[0])
            if op.bias is not None:
                total = total + params[op.bias]
            n = total.shape[1] // len(op.outputs)
            for j, name in enumerate(op.outputs):
                env[name] = total[:, j * n : (j + 1) * n]
        elif isinstance(op, BatchNormOp):
            st = op.stage
            out, z = st.outputs[0], env[st.source]
            scale = params[st.scale] if st.scale else None
            shift = params[st.shift] if st.shift else None
            if state.training:
                batch = z.shape[0]
                if batch < 2:
                    raise ValueError(
                        "forward: argument 'x' must hold a batch of at least 2 samples in "
                        "training mode (batch statistics of one sample are undefined; set "
                        "net.batchnorm.training = False to use running statistics); "
                        f"got B = {batch}"
                    )
                a, zhat, inv_std, mean, var = bn_forward(z, scale, shift, st.eps)
                m = st.momentum
                rm, rv = state.running_mean[out], state.running_var[out]
                rm[layer] = (1 - m) * rm[layer] + m * mean
                rv[layer] = (1 - m) * rv[layer] + m * var * batch / (batch - 1)
            else:
                inv_std = 1.0 / np.sqrt(state.running_var[out][layer] + st.eps)
                zhat = (z - state.running_mean[out][layer]) * inv_std
                a = zhat if scale is None else zhat * scale
                a = a if shift is None else a + shift
            env[out], env[f"{out}:zhat"], env[f"{out}:inv_std"] = a, zhat, inv_std
        else:
            values = op.values(*[env[name] for name in op.inputs])
            for name, value in zip(op.outputs, values, strict=True):
                env[name] = np.broadcast_to(value, env[op.inputs[0]].shape)


def _kernel_partials(op: KernelOp, env: dict) -> list:
    """``(out, in, partial)`` for every non-zero partial of kernel ``op`` at ``env``."""
    result = op.with_partials(*[env[name] for name in op.inputs])
    varying = result[len(op.outputs) :]
    pairs = [(o, i, p) for (o, i), p in zip(op.partials, varying, strict=True)]
    return pairs + [(o, i, c) for (o, i), c in op.constants.items()]


def _add(adj: dict, name: str, value) -> None:
    adj[name] = value if name not in adj else adj[name] + value


def _layer_vjp(net, params: dict, env: dict, adj: dict, grads: dict | None, layer: int) -> dict:
    """Reverse pass of one layer: ``adj`` (adjoints of next-state names) -> adjoints of inputs."""
    training = net.batchnorm.training
    for op in reversed(net.program.ops):
        if isinstance(op, KernelOp):
            for out, inp, p in _kernel_partials(op, env):
                if out in adj:
                    _add(adj, inp, adj[out] * p)
        elif isinstance(op, BatchNormOp):
            st = op.stage
            out = st.outputs[0]
            if out not in adj:
                continue
            g, zhat, inv_std = adj[out], env[f"{out}:zhat"], env[f"{out}:inv_std"]
            scale = params[st.scale] if st.scale else None
            if training:
                grad_z, g_scale, g_shift = bn_vjp(g, zhat, inv_std, scale)
            else:
                grad_z = g * inv_std * (1.0 if scale is None else scale)
                g_scale, g_shift = np.einsum("bj,bj->j", g, zhat), g.sum(axis=0)
            if grads is not None:
                if st.scale:
                    grads[st.scale][layer] += g_scale
                if st.shift:
                    grads[st.shift][layer] += g_shift
            _add(adj, st.source, grad_z)
        else:
            if not any(o in adj for o in op.outputs):
                continue
            ref = next(adj[o] for o in op.outputs if o in adj)
            g = np.concatenate([adj.get(o, np.zeros_like(ref)) for o in op.outputs], axis=1)
            if grads is not None and op.bias is not None:
                grads[op.bias][layer] += g.sum(axis=0)
            for w, src in op.terms:
                if env[src] is None:  # zero input: no gradient flows to it or from it
                    continue
                if grads is not None:
                    grads[w][layer] += g.T @ env[src]
                _add(adj, src, g @ params[w])
    return adj


def _layer_jvp(net, params: dict, env: dict, tangent: dict) -> dict:
    """Forward-mode pass of one layer: tangents of the state blocks -> tangents of all names."""
    training = net.batchnorm.training
    for op in net.program.ops:
        if isinstance(op, AffineOp):
            parts = [
                tangent[src] @ params[w].T
                for w, src in op.terms
                if src in tangent and env[src] is not None
            ]
            if parts:
                total = sum(parts)
                n = total.shape[1] // len(op.outputs)
                for j, name in enumerate(op.outputs):
                    tangent[name] = total[:, j * n : (j + 1) * n]
        elif isinstance(op, BatchNormOp):
            st = op.stage
            out = st.outputs[0]
            if st.source not in tangent:
                continue
            dz, zhat, inv_std = tangent[st.source], env[f"{out}:zhat"], env[f"{out}:inv_std"]
            scale = params[st.scale] if st.scale else None
            if training:  # the unit's Jacobian is symmetric: the VJP formula is the JVP
                tangent[out] = bn_vjp(dz, zhat, inv_std, scale)[0]
            else:
                tangent[out] = dz * inv_std * (1.0 if scale is None else scale)
        else:
            for out, inp, p in _kernel_partials(op, env):
                if inp in tangent:
                    _add(tangent, out, tangent[inp] * p)
    return tangent


# -- whole chains ---------------------------------------------------------------------------------
class BatchNormTape(Sequence):
    """Per-layer values of a batch-normalised forward pass (whole-batch, not per sample).

    Indexing it like a per-sample tape raises: its steps couple the samples.
    """

    def __init__(self, net, envs: list, layers: np.ndarray, training: bool):
        self.net, self.envs, self.layers, self.training = net, envs, layers, training

    def __len__(self) -> int:
        return len(self.envs)

    def __getitem__(self, index):
        refuse_batch_coupled(self.net, "Trajectory.tape[t]")

    def partials(self):
        refuse_batch_coupled(self.net, "Tape.partials")


def forward(net, x: np.ndarray, state: np.ndarray, record: bool) -> Trajectory:
    """Forward pass of a batch-normalised depth chain (called by ``Network.forward``)."""
    steps, batch = x.shape[0], x.shape[1]
    dtype = np.result_type(state, x, net.dtype)
    states = np.empty((steps + 1, batch, net.n_state), dtype)
    states[0] = state
    envs = []
    training = net.batchnorm.training
    for t in range(steps):
        params = net.layer_params(t)
        env = dict(net.split_state(states[t]))
        env["x"] = x[t] if t == 0 or x[t].any() else None
        _layer_forward(net, params, env, t)
        for (_, sl), name in zip(net._blocks, net.program.next_state, strict=True):
            states[t + 1][:, sl] = env[name]
        if record:
            envs.append(env)
    if training:
        net.batchnorm.batches_tracked += 1
    hidden = states[..., : net.n_hidden]
    outputs = hidden[1:]
    if net.n_out:
        outputs = outputs @ net.params["W_out"].T + net.params["b_out"]
    tape = BatchNormTape(net, envs, np.arange(steps), training) if record else []
    return Trajectory(states=states, hidden=hidden, outputs=outputs, inputs=x, tape=tape)


def step(net, state: np.ndarray, x: np.ndarray, layer: int) -> np.ndarray:
    """One layer applied to the whole batch ``state`` (B, n_state)."""
    env = dict(net.split_state(state))
    env["x"] = x
    _layer_forward(net, net.layer_params(layer), env, layer)
    return np.concatenate([env[name] for name in net.program.next_state], axis=1)


def _check_tape(net, traj, func: str) -> BatchNormTape:
    tape = getattr(traj, "tape", None)
    if not isinstance(tape, BatchNormTape) or len(tape) != traj.steps:
        raise ValueError(
            f"{func}: argument 'traj' must come from net.forward(x, record=True) of this "
            f"batch-normalised network; got {type(traj).__name__} without its tape"
        )
    return tape


def backward(net, traj: Trajectory, grad_outputs=None, *, grad_state=None) -> Gradients:
    """Backpropagation through a batch-normalised depth chain (called by ``Network.backward``).

    ``adjoint_log_norms`` (T+1, B) holds the per-sample rows ``ln ||dL/ds_t[b]||`` of the
    whole-batch adjoint (their root sum of squares is ``||dL/dS_t||``).
    """
    from .backward import _hidden_gradient

    tape = _check_tape(net, traj, "backward")
    steps, batch = traj.steps, traj.states.shape[1]
    dtype = np.dtype(net.dtype)
    grads = {k: np.zeros_like(v) for k, v in net.params.items()}
    local = _hidden_gradient(net, traj, grad_outputs, grads)
    history = np.zeros((steps + 1, batch, net.n_state), dtype)
    if grad_state is not None:
        grad_state = np.asarray(grad_state, dtype=dtype)
        if grad_state.shape != (batch, net.n_state):
            raise ValueError(
                f"backward: argument 'grad_state' must have shape ({batch}, {net.n_state}); "
                f"got {grad_state.shape}"
            )
        history[steps] += grad_state
    grad_x = np.zeros(traj.inputs.shape, dtype)
    saved = net.batchnorm.training
    net.batchnorm.training = tape.training  # differentiate the mode the forward pass used
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(steps - 1, -1, -1):
                if local is not None:
                    history[t + 1][:, : net.n_hidden] += local[t]
                delta = history[t + 1]
                adj = {
                    name: delta[:, sl]
                    for (_, sl), name in zip(net._blocks, net.program.next_state, strict=True)
                }
                adj = _layer_vjp(net, net.layer_params(t), tape.envs[t], adj, grads, t)
                for name, sl in net._blocks:
                    if name in adj:
                        history[t][:, sl] = adj[name]
                if "x" in adj:
                    grad_x[t] = adj["x"]
    finally:
        net.batchnorm.training = saved
    squares = np.einsum("tbi,tbi->tb", history, history, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_norms = 0.5 * np.log(squares)
    return Gradients(
        params=grads, adjoint_log_norms=log_norms, inputs=grad_x, initial_state=history[0]
    )


def _vectors(array, shape: tuple, name: str, func: str) -> tuple[np.ndarray, bool]:
    array = np.asarray(array, dtype=np.float64)
    if array.shape == shape:
        return array[..., None], True
    if array.ndim == 3 and array.shape[:2] == shape:
        return array, False
    raise ValueError(
        f"{func}: argument {name!r} must have shape {shape} or {(*shape, 'k')}; got {array.shape}"
    )


@contextmanager
def _product(net, traj, step: int, array, name: str, func: str):
    """Checked inputs of a batch Jacobian product, run in the tape's mode (train or eval).

    Yields ``(tape, t, vectors (B, n_state, k), out)``, ``out`` zeros like ``vectors``.
    """
    tape = _check_tape(net, traj, func)
    t = _step_index(traj, step, func)
    vectors, _ = _vectors(array, (traj.states.shape[1], net.n_state), name, func)
    saved, net.batchnorm.training = net.batchnorm.training, tape.training
    try:
        yield tape, t, vectors, np.zeros_like(vectors)
    finally:
        net.batchnorm.training = saved


def _step_index(traj, step: int, func: str) -> int:
    if isinstance(step, bool) or not isinstance(step, int | np.integer):
        raise TypeError(f"{func}: argument 'step' must be an int; got {step!r}")
    if not 0 <= step < traj.steps:
        raise ValueError(f"{func}: argument 'step' must be in [0, {traj.steps}); got {step!r}")
    return int(step)


def batch_jvp(net, traj: Trajectory, step: int, tangent) -> np.ndarray:
    r"""``J_t V``: the batch Jacobian of step ``s_t -> s_{t+1}`` applied to a whole-batch tangent.

    Parameters
    ----------
    net : Network
        Batch-normalised depth chain.
    traj : Trajectory
        ``net.forward(x)`` (records the mode it ran in).
    step : int
        ``t`` in [0, T).
    tangent : array, shape (B, n_state) or (B, n_state, k)

    Returns
    -------
    ndarray, same shape as ``tangent``

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("linear", norm="batch"), 2, 3, depth=2, tied=False)
    >>> traj = net.forward(np.random.default_rng(0).normal(size=(4, 2)))
    >>> bool(np.abs(batch_jvp(net, traj, 1, np.ones((4, 3)))).max() < 1e-12)  # a shared shift
    True
    """
    with _product(net, traj, step, tangent, "tangent", "batch_jvp") as (tape, t, vectors, out):
        for k in range(vectors.shape[2]):
            tan = dict(net.split_state(vectors[:, :, k]))
            tan = _layer_jvp(net, net.layer_params(t), tape.envs[t], tan)
            for (_, sl), name in zip(net._blocks, net.program.next_state, strict=True):
                out[:, sl, k] = tan.get(name, 0.0)
    return out[..., 0] if np.ndim(tangent) == 2 else out


def batch_vjp(net, traj: Trajectory, step: int, cotangent) -> np.ndarray:
    r"""``J_t^T U``: the transposed batch Jacobian of step ``s_t -> s_{t+1}`` applied to ``U``.

    Same arguments as :func:`batch_jvp` (``cotangent`` (B, n_state) or (B, n_state, k)).

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("tanh", norm="batch"), 2, 3, depth=2, tied=False)
    >>> traj = net.forward(np.random.default_rng(0).normal(size=(4, 2)))
    >>> batch_vjp(net, traj, 1, np.ones((4, 3))).shape
    (4, 3)
    """
    with _product(net, traj, step, cotangent, "cotangent", "batch_vjp") as (tape, t, vectors, out):
        for k in range(vectors.shape[2]):
            adj = {
                name: vectors[:, sl, k]
                for (_, sl), name in zip(net._blocks, net.program.next_state, strict=True)
            }
            adj = _layer_vjp(net, net.layer_params(t), tape.envs[t], adj, None, t)
            for name, sl in net._blocks:
                if name in adj:
                    out[:, sl, k] = adj[name]
    return out[..., 0] if np.ndim(cotangent) == 2 else out


def batch_jacobian(net, traj: Trajectory, step: int) -> np.ndarray:
    r"""The explicit batch Jacobian dS_{t+1}/dS_t, shape (B n_state, B n_state), sample-major.

    Row ``b * n_state + i`` is unit i of sample b. Only for small batches and widths
    (B n_state <= 4096); use :func:`batch_jvp` / :func:`batch_vjp` otherwise.

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("relu", norm="batch"), 2, 3, depth=2, tied=False)
    >>> traj = net.forward(np.random.default_rng(0).normal(size=(4, 2)))
    >>> batch_jacobian(net, traj, 1).shape
    (12, 12)
    """
    _check_tape(net, traj, "batch_jacobian")
    batch, n = traj.states.shape[1], net.n_state
    if batch * n > MAX_EXPLICIT:
        raise ValueError(
            f"batch_jacobian: B n_state must be <= {MAX_EXPLICIT} to materialise the "
            f"Jacobian; got {batch} x {n} = {batch * n} (use batch_jvp / batch_vjp)"
        )
    basis = np.eye(batch * n).reshape(batch, n, batch * n)
    return batch_jvp(net, traj, step, basis).reshape(batch * n, batch * n)
