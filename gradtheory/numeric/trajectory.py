"""Results of a forward and a backward pass, and the tape that links them.

The :class:`Tape` keeps every named value of a forward pass as one (T, B, size) array (the
state blocks are views of ``Trajectory.states``, the affine outputs views of one buffer per
affine op). The partial derivatives of the kernels depend only on these values, so they are
computed for all steps at once, in chunks of steps, the first time they are needed (by
:func:`~gradtheory.numeric.backward.backward` or a step Jacobian), not step by step in the
forward loop. ``tape[t]`` is the step s_t -> s_{t+1} as a dict with ``env`` (name -> (B, size)),
``partials`` (per kernel, its non-constant partials in the kernel's order) and ``layer``;
``tape[a:b]`` is a tape of those steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._repr import compact_repr

__all__ = ["Gradients", "Tape", "Trajectory"]

#: Bytes per array in one chunk of the vectorised partials. A kernel allocates a temporary per
#: operation; chunks of 128 KB keep them in cache (the LSTM kernel over (T, B, n) =
#: (100, 64, 128) float64 runs 2.3 times faster in 128 KB chunks than in 2 MB ones, and chunks
#: of 64 KB to 256 KB are within 10 % of each other).
CHUNK_BYTES = 1 << 17


class Tape(Sequence):
    """What a forward pass recorded, as arrays over steps; indexable like a list of steps.

    Parameters
    ----------
    net : Network
    env : dict of str to ndarray
        Every named value: (T, B, size) arrays, or arrays that broadcast against them
        (0-d scalar parameters of a tied custom map, (T, 1, 1) for an untied one).
    layers : ndarray of int, shape (T,)
        Parameter layer used at each step (all zero when tied).
    partials : list of tuple of ndarray, optional
        Already computed partials (T, B, size), per kernel.

    Examples
    --------
    >>> import numpy as np, gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=2)
    >>> tape = net.forward(np.ones((3, 1, 1))).tape
    >>> len(tape), tape[0]["partials"][0][0].shape
    (3, (1, 2))
    """

    def __init__(self, net, env: dict, layers: np.ndarray, partials=None, stacks=None, saved=None):
        self.net = net
        self.env = env
        self.layers = layers
        self._partials = partials
        self._stacks = stacks
        #: per kernel, the function values its fused reverse pass reads (T, count, B, n), or
        #: None (see :mod:`gradtheory.numeric._fused`); a slice of the tape drops them
        self.saved = saved

    def __len__(self) -> int:
        return len(self.layers)

    def partials(self) -> list[tuple[np.ndarray, ...]]:
        """Partials of every kernel at every step, (T, B, size) each (computed once)."""
        if self._partials is None:
            self._partials, self._stacks = _all_partials(self.net, self.env, len(self))
        return self._partials

    def stacks(self) -> dict:
        """(kernel, out, op index) -> partials of ``out`` by all chunks of the op (T, B, k, n).

        A number instead of an array when it is one constant (see ``Plan.stacks``).
        """
        self.partials()
        return self._stacks

    def __getitem__(self, index):
        steps = len(self)
        if isinstance(index, slice):
            start, stop, stride = index.indices(steps)
            if stride != 1:
                raise ValueError("a tape can only be sliced with step 1")
            cut = slice(start, stop)
            env = {k: (v[cut] if _per_step(v, steps) else v) for k, v in self.env.items()}
            partials = (
                None
                if self._partials is None
                else [tuple(p[cut] for p in kernel) for kernel in self._partials]
            )
            return Tape(self.net, env, self.layers[cut], partials)
        t = int(index)
        if t < 0:
            t += steps
        if not 0 <= t < steps:
            raise IndexError(f"step {index} out of range for a tape of {steps} steps")
        env = {k: (v[t] if _per_step(v, steps) else v) for k, v in self.env.items()}
        partials = [tuple(p[t] for p in kernel) for kernel in self.partials()]
        return {"env": env, "partials": partials, "layer": int(self.layers[t])}

    def __repr__(self) -> str:
        return f"Tape({len(self)} steps, {len(self.env)} names)"


def _per_step(value, steps: int) -> bool:
    return np.ndim(value) == 3 and value.shape[0] == steps


def _all_partials(net, env: dict, steps: int) -> tuple[list, dict]:
    """Evaluate every kernel's partials over all steps, in chunks of (step, sequence) rows.

    Partials with respect to the outputs of an affine op are written side by side into its
    stacked array (see ``Plan.stacks``); the per-kernel tuples are views into those arrays.
    """
    from ._execute import pool_of
    from .program import KernelOp

    kernels = [op for op in net.program.ops if isinstance(op, KernelOp)]
    first = env[net.program.state[0]]
    batch, width = first.shape[1], net.n_hidden
    rows = steps * batch
    dtype = np.result_type(first.dtype, net.dtype)
    pool = pool_of(net)
    flat = {}
    for name, value in env.items():  # (T, B, size) -> (T B, size); views for the tape's arrays
        if _per_step(value, steps):
            value = np.broadcast_to(value, (steps, batch, value.shape[2]))
            flat[name] = value.reshape(rows, value.shape[2])
        else:
            flat[name] = value
    chunk = max(1, CHUNK_BYTES // (dtype.itemsize * width))
    result, stacks = [], {}
    for number, op in enumerate(kernels):
        nout, slots = len(op.outputs), {}
        for stack in net.plan.stacks[number]:
            key, count, entries = (number, stack.out, stack.op_index), stack.count, stack.entries
            if count == 1 and entries[0].partial < 0:  # a single constant: no array needed
                stacks[key] = entries[0].constant
                continue
            array = pool.empty(f"stack{number}-{key[1]}-{key[2]}", (rows, count * width), dtype)
            for j in set(range(count)) - {entry.chunk for entry in entries}:
                array[:, j * width : (j + 1) * width] = 0  # a partial that is identically 0
            for entry in entries:
                part = array[:, entry.chunk * width : (entry.chunk + 1) * width]
                if entry.partial < 0:
                    part.fill(entry.constant)
                else:
                    slots[entry.partial] = part
            stacks[key] = array.reshape(steps, batch, count, width)
        for k in range(len(op.partials)):
            if k not in slots:
                slots[k] = pool.empty(f"partial{number}-{k}", (rows, width), dtype)
        for start in range(0, rows, chunk) if op.partials else ():
            stop = min(start + chunk, rows)
            args = [
                (flat[name][start:stop] if np.ndim(flat[name]) == 2 else flat[name])
                for name in op.inputs
            ]
            for k, value in enumerate(op.with_partials(*args)[nout:]):
                slots[k][start:stop] = value
        result.append(tuple(slots[k].reshape(steps, batch, width) for k in range(len(slots))))
    return result, stacks


@dataclass
class Trajectory:
    """What :meth:`Network.forward` computed.

    Attributes
    ----------
    states : ndarray, shape (T+1, B, n_state)
        Full state at every step, blocks concatenated (LSTM: h then c); ``states[0]`` is h0.
    hidden : ndarray, shape (T+1, B, n_hidden)
        The first state block (the hidden output).
    outputs : ndarray, shape (T, B, n_out)
        Readout of ``hidden[1:]`` if the network has one, else ``hidden[1:]``.
    inputs : ndarray, shape (T, B, n_in)
    tape : Tape
        Empty when the forward pass ran with ``record=False``.
    input_terms : dict of int to ndarray
        Pre-activation of every affine op, (T, B, width) (input terms, bias and state terms).
    """

    __repr__ = compact_repr("states", "hidden", "outputs", "inputs")

    states: np.ndarray
    hidden: np.ndarray
    outputs: np.ndarray
    inputs: np.ndarray
    tape: Sequence = field(default_factory=list, repr=False)
    input_terms: dict = field(default_factory=dict, repr=False)

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return self.states.shape[0] - 1

    def plot(self, ax=None, *, sequence: int = 0, units: int = 8, **style):
        """The first ``units`` hidden units of one ``sequence`` over t; returns the Axes.

        >>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=4)
        >>> net.forward(np.ones((10, 2, 1))).plot().get_xlabel()
        'step t'
        """
        from ..figures._plot_training import plot_trajectory

        return plot_trajectory(self, ax, sequence=sequence, units=units, **style)


class Gradients:
    """What :meth:`Network.backward` computed.

    Attributes
    ----------
    params : dict of str to ndarray
        dL/dtheta, same keys and shapes as ``Network.params``.
    adjoint_log_norms : ndarray, shape (T+1, B)
        ln ||dL/ds_t|| for every step and sequence, kept in log space so long chains neither
        overflow nor underflow (-inf where the adjoint is exactly zero).
    inputs : ndarray, shape (T, B, n_in)
        dL/dx_t, computed on first access (a training step does not need it).
    initial_state : ndarray, shape (B, n_state)
        dL/ds_0.
    """

    def __init__(
        self,
        params: dict,
        adjoint_log_norms: np.ndarray,
        inputs=None,
        initial_state: np.ndarray | None = None,
    ):
        self.params = params
        self.adjoint_log_norms = adjoint_log_norms
        self._inputs = inputs  # an array, or a function computing it
        self.initial_state = initial_state

    @property
    def inputs(self) -> np.ndarray:
        """dL/dx_t, shape (T, B, n_in)."""
        if callable(self._inputs):
            self._inputs = self._inputs()
        return self._inputs

    @property
    def adjoint_norms(self) -> np.ndarray:
        """||dL/ds_t||, shape (T+1, B); inf where it exceeds the float range (see the log form)."""
        with np.errstate(over="ignore"):
            return np.exp(self.adjoint_log_norms)

    @property
    def norm(self) -> float:
        """Global norm of the parameter gradient (overflow-free, see ``optim.global_norm``)."""
        from .optim import global_norm

        return global_norm(self.params)

    def __repr__(self) -> str:
        return f"Gradients(params={sorted(self.params)}, steps={len(self.adjoint_log_norms) - 1})"

    def plot(self, ax=None, *, prediction=None, **style):
        """ln ||dL/ds_t|| over t (batch mean and spread), with ``prediction``'s slope if given;
        returns the Axes.

        >>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=8, gain=0.5)
        >>> traj = net.forward(np.ones((30, 4, 1)))
        >>> grads = net.backward(traj, np.ones_like(traj.outputs))
        >>> grads.plot(prediction=gt.predict(net)).get_xlabel()
        'step t'
        """
        from ..figures._plot_training import plot_gradients

        return plot_gradients(self, ax, prediction=prediction, **style)
