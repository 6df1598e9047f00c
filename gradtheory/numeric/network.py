"""Network: numeric parameters for a cell, tied over time (an RNN) or untied over depth.

A tied network applies one parameter set at every step ``t`` (time); an untied network with
``steps=L`` has its own parameters per step (layer), stored with a leading axis of length L,
and its input enters at the first step only. The forward pass evaluates the generated kernels
and keeps what the backward pass and the step Jacobians need (the *tape*).
"""

from __future__ import annotations

import numpy as np

from ..symbolic.cell import Affine, Cell
from . import _checks
from .init import init_matrix
from .program import AffineOp, load_program
from .trajectory import Trajectory

__all__ = ["Network"]


class Network:
    """Numeric parameters and the forward pass of a cell.

    Parameters
    ----------
    cell : Cell
        From :mod:`gradtheory.cells`.
    n_in, n_hidden : int
        Input and hidden sizes (vector cells). Custom maps take both from the cell.
    n_out : int, optional
        Size of a linear readout ``y_t = W_out h_t + b_out``; none if omitted.
    params : dict, optional
        Values to set (for custom maps, e.g. ``{"r": 3.5}``); the rest are initialised.
    steps : int, optional
        Number of layers L of an untied (depth) network.
    tied : bool
        True: one parameter set for every step (RNN over time). False: one per layer.
    init : str, optional
        One of :data:`gradtheory.numeric.init.INITS`; default is the cell's own.
    gain : float
        Scale of the state-to-state weights; ``sigma_w^2 = gain^2`` for ``init="gaussian"``.
    sigma_b2 : float
        Variance of random biases (0: zero biases).
    seed : int
    dtype : {"float64", "float32"}

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=8, seed=0)
    >>> net.forward(np.zeros((5, 3, 2))).states.shape
    (6, 3, 8)
    """

    def __init__(
        self,
        cell: Cell,
        n_in: int | None = None,
        n_hidden: int | None = None,
        n_out: int | None = None,
        *,
        params: dict | None = None,
        steps: int | None = None,
        tied: bool = True,
        init: str | None = None,
        gain: float = 1.0,
        sigma_b2: float = 0.0,
        seed: int = 0,
        dtype: str = "float64",
    ):
        if not isinstance(cell, Cell):
            raise TypeError(f"cell must be a gradtheory Cell (see gt.cells), got {type(cell).__name__}")
        self.cell = cell
        self.program = load_program(cell)
        self.dtype = _checks.dtype(dtype)
        self.tied = bool(tied)
        if self.tied:
            if steps is not None:
                raise ValueError("steps is the depth of an untied network: pass tied=False with it")
            self.steps = None
        else:
            self.steps = _checks.positive_int(steps, "steps (the depth L, required with tied=False)")
        if cell.scalar_block:
            for given, what in ((n_in, "n_in"), (n_hidden, "n_hidden")):
                if given is not None and given != {"n_in": len(cell.inputs), "n_hidden": 1}[what]:
                    raise ValueError(f"{what} of a custom map comes from the cell; got {given}")
            self.n_in, self.n_hidden = len(cell.inputs), 1
            self.block_sizes = {name: 1 for name in cell.state}
        else:
            self.n_hidden = _checks.positive_int(n_hidden, "n_hidden")
            self.n_in = _checks.nonnegative_int(n_in, "n_in")
            self.block_sizes = {name: self.n_hidden for name in cell.state}
        self.n_out = None if n_out is None else _checks.positive_int(n_out, "n_out")
        self.n_state = sum(self.block_sizes.values())
        self.init = init or cell.default_init
        self.gain = float(gain)
        self.sigma_b2 = _checks.nonnegative_float(sigma_b2, "sigma_b2")
        self.seed = seed
        self.init_stats_ = {"init": self.init, "sigma_w2": self.gain**2, "sigma_b2": self.sigma_b2}
        self.params = self._initial_params(np.random.default_rng(seed))
        if params:
            self.set_params(params)
        missing = [k for k, v in self.params.items() if v is None]
        if missing:
            raise ValueError(f"params must give values for {missing} (the cell has no default)")

    # -- parameters ------------------------------------------------------------------------
    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every parameter (with the leading layer axis L when untied)."""
        shapes = dict(self.cell.param_shapes(self.n_hidden, self.n_in))
        if self.n_out:
            shapes["W_out"], shapes["b_out"] = (self.n_out, self.n_hidden), (self.n_out,)
        layer = () if self.tied else (self.steps,)
        return {k: (layer + v if k not in ("W_out", "b_out") else v) for k, v in shapes.items()}

    def _initial_params(self, rng: np.random.Generator) -> dict:
        cell, n = self.cell, self.n_hidden
        layers = 1 if self.tied else self.steps
        params: dict = {}
        shapes = cell.param_shapes(n, self.n_in)
        on_state = {}
        chunks = {}
        for stage in cell.stages:
            if isinstance(stage, Affine):
                for weight, source in stage.terms:
                    on_state[weight] = source not in cell.inputs
                    chunks[weight] = len(stage.outputs)
                if stage.bias:
                    chunks[stage.bias] = stage.outputs
        for name in cell.matrix_params:
            values = []
            for _ in range(layers):
                if len(shapes[name]) == 2:
                    rows, cols = shapes[name]
                    values.append(init_matrix(rng, self.init, rows, cols, chunks[name], self.gain,
                                              on_state[name], n))
                else:
                    values.append(self._initial_bias(rng, name, chunks[name]))
            params[name] = values[0] if self.tied else np.stack(values)
        for name, default in cell.scalar_params.items():
            params[name] = None if default is None else np.full(() if self.tied else (layers,), default)
        if self.n_out:
            bound = 1.0 / np.sqrt(n)
            params["W_out"] = rng.uniform(-bound, bound, size=(self.n_out, n))
            params["b_out"] = np.zeros(self.n_out)
        return {k: (None if v is None else np.asarray(v, dtype=self.dtype)) for k, v in params.items()}

    def _initial_bias(self, rng, name, outputs) -> np.ndarray:
        n = self.n_hidden
        if self.init == "torch":
            bias = rng.uniform(-1 / np.sqrt(n), 1 / np.sqrt(n), size=len(outputs) * n)
        elif self.sigma_b2 > 0:
            bias = rng.normal(0.0, np.sqrt(self.sigma_b2), size=len(outputs) * n)
        else:
            bias = np.zeros(len(outputs) * n)
        for chunk, value in self.cell.bias_init.get(name, {}).items():
            j = outputs.index(chunk)
            bias[j * n : (j + 1) * n] = value
        return bias

    def set_params(self, values: dict) -> None:
        """Set parameters by name, checking shapes; arrays are copied into ``.params``."""
        shapes = self.param_shapes
        for name, value in values.items():
            if name not in shapes:
                raise ValueError(f"params has unknown name {name!r}; this network has {sorted(shapes)}")
            array = np.asarray(value, dtype=self.dtype)
            if array.shape != shapes[name]:
                if array.ndim == 0 and not self.tied and len(shapes[name]) == 1:
                    array = np.full(shapes[name], array, dtype=self.dtype)
                else:
                    raise ValueError(f"params[{name!r}] must have shape {shapes[name]}, got {array.shape}")
            _checks.finite(array, f"params[{name!r}]")
            self.params[name] = array.copy()

    def layer_params(self, layer: int = 0) -> dict:
        """Parameters used at step ``layer`` (all steps of a tied network share them)."""
        if self.tied:
            return self.params
        return {k: (v if k in ("W_out", "b_out") else v[layer]) for k, v in self.params.items()}

    def copy(self) -> Network:
        """An independent copy (parameters copied)."""
        clone = object.__new__(Network)
        clone.__dict__.update(self.__dict__)
        clone.params = {k: v.copy() for k, v in self.params.items()}
        return clone

    # -- forward ---------------------------------------------------------------------------
    def initial_state(self, batch: int, h0=None) -> np.ndarray:
        """``h0`` checked and broadcast to (B, n_state); zeros if None."""
        if h0 is None:
            return np.zeros((batch, self.n_state), dtype=self.dtype)
        h0 = _checks.array(h0, "h0", self.dtype)
        if h0.ndim == 1:
            h0 = np.broadcast_to(h0, (batch, h0.shape[0]))
        if h0.shape != (batch, self.n_state):
            raise ValueError(f"h0 must have shape ({batch}, {self.n_state}) or ({self.n_state},), got {h0.shape}")
        return np.array(h0, dtype=self.dtype)

    def prepare_inputs(self, x, steps: int | None = None, batch: int | None = None) -> np.ndarray:
        """Check ``x`` and return it time-major (T, B, n_in).

        Untied networks accept (B, n_in) and place it at the first layer (zeros after).
        ``x=None`` means no input (zeros) and needs ``steps`` and ``batch``.
        """
        if x is None:
            if steps is None:
                steps = self.steps
            if steps is None or batch is None:
                raise ValueError("x=None needs steps (or an untied network) and a batch size")
            return np.zeros((steps, batch, self.n_in), dtype=self.dtype)
        x = _checks.array(x, "x", self.dtype)
        if not self.tied and x.ndim == 2:
            padded = np.zeros((self.steps,) + x.shape, dtype=self.dtype)
            padded[0] = x
            x = padded
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise ValueError(f"x must have shape (T, B, n_in={self.n_in}), got {x.shape}")
        if not self.tied and x.shape[0] != self.steps:
            raise ValueError(f"x of an untied network must have T = steps = {self.steps}, got {x.shape[0]}")
        return x

    def forward(self, x, h0=None, *, record: bool = True) -> Trajectory:
        """Run the network over ``x`` (T, B, n_in) from ``h0`` (B, n_state).

        Parameters
        ----------
        x : array, shape (T, B, n_in); for untied networks also (B, n_in)
        h0 : array, shape (B, n_state) or (n_state,), optional
        record : bool
            Keep the tape needed by :meth:`backward` and :func:`gradtheory.jacobians`.

        Returns
        -------
        Trajectory
        """
        x = self.prepare_inputs(x)
        steps, batch = x.shape[0], x.shape[1]
        self._check_params()
        state = self.initial_state(batch, h0)
        states = np.empty((steps + 1, batch, self.n_state), dtype=self.dtype)
        states[0] = state
        input_terms = self._input_terms(x) if self.tied else {}
        tape = []
        for t in range(steps):
            entry = self._step(state, x[t], t, input_terms, record)
            state = entry.pop("new_state")
            states[t + 1] = state
            if record:
                tape.append(entry)
        hidden = states[..., : self.n_hidden]
        outputs = hidden[1:]
        if self.n_out:
            outputs = hidden[1:] @ self.params["W_out"].T + self.params["b_out"]
        return Trajectory(states=states, hidden=hidden, outputs=outputs, inputs=x, tape=tape,
                          input_terms=input_terms)

    def step(self, state, x=None, layer: int = 0) -> np.ndarray:
        """One step of the map: s_t from s_{t-1} (B, n_state) and x_t (B, n_in)."""
        state = _checks.array(state, "state", self.dtype)
        if state.ndim != 2 or state.shape[1] != self.n_state:
            raise ValueError(f"state must have shape (B, {self.n_state}), got {state.shape}")
        x = np.zeros((state.shape[0], self.n_in), self.dtype) if x is None else _checks.array(x, "x", self.dtype)
        x = np.broadcast_to(x, (state.shape[0], self.n_in))
        return self._step(state, x, layer, {}, record=False)["new_state"]

    def _check_params(self) -> None:
        for name, value in self.params.items():
            _checks.finite(value, f"params[{name!r}]")

    def _input_terms(self, x: np.ndarray) -> dict[int, np.ndarray]:
        """Input part (+ bias) of every affine op for all steps at once: one large product."""
        terms = {}
        steps, batch = x.shape[:2]
        flat = x.reshape(steps * batch, self.n_in)
        for index, op in enumerate(self.program.ops):
            if isinstance(op, AffineOp):
                total = None
                for weight, source in op.terms:
                    if source in self.program.inputs:
                        part = flat @ self.params[weight].T
                        total = part if total is None else total + part
                if op.bias:
                    total = self.params[op.bias] + (0 if total is None else total)
                if total is not None:
                    terms[index] = np.broadcast_to(total, (steps * batch, total.shape[-1])).reshape(steps, batch, -1)
        return terms

    def split_state(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Views of the state blocks of a (..., n_state) array."""
        blocks, offset = {}, 0
        for name in self.program.state:
            size = self.block_sizes[name]
            blocks[name] = state[..., offset : offset + size]
            offset += size
        return blocks

    def _step(self, state, x_t, t, input_terms, record: bool) -> dict:
        program, n = self.program, self.n_hidden
        params = self.layer_params(0 if self.tied else t)
        env = self.split_state(state)
        if program.scalar_block:
            for j, name in enumerate(program.inputs):
                env[name] = x_t[:, j : j + 1]
            for name in program.scalar_params:
                env[name] = params[name]
        else:
            env["x"] = x_t
        partials = []
        for index, op in enumerate(program.ops):
            if isinstance(op, AffineOp):
                total = input_terms[index][t] if index in input_terms else None
                for weight, source in op.terms:
                    if index in input_terms and source in program.inputs:
                        continue
                    part = env[source] @ params[weight].T
                    total = part if total is None else total + part
                if op.bias and index not in input_terms:
                    total = total + params[op.bias]
                for j, name in enumerate(op.outputs):
                    env[name] = total[:, j * n : (j + 1) * n]
                env[("affine", index)] = total
            else:
                args = [env[name] for name in op.inputs]
                if record:
                    result = op.with_partials(*args)
                    partials.append(result[len(op.outputs) :])
                else:
                    result = op.values(*args)
                for name, value in zip(op.outputs, result):
                    env[name] = value
        blocks = []
        for block, name in zip(program.state, program.next_state):
            value = env[name]
            expected = (state.shape[0], self.block_sizes[block])
            blocks.append(value if np.shape(value) == expected else np.broadcast_to(value, expected))
        new_state = np.concatenate(blocks, axis=1) if len(blocks) > 1 else np.array(blocks[0], dtype=self.dtype, copy=None)
        return {"new_state": new_state, "env": env, "partials": partials, "layer": 0 if self.tied else t}

    def backward(self, traj: Trajectory, grad_outputs=None, *, grad_state=None):
        """Backpropagation through time; see :func:`gradtheory.numeric.backward.backward`."""
        from .backward import backward

        return backward(self, traj, grad_outputs, grad_state=grad_state)

    def __repr__(self) -> str:
        kind = "tied" if self.tied else f"untied, L={self.steps}"
        return (f"Network({self.cell.name}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"n_out={self.n_out}, {kind}, {np.dtype(self.dtype).name})")
