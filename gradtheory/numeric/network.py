"""Network: numeric parameters for a cell, tied over time (an RNN) or untied over depth.

A tied network applies one parameter set at every step ``t`` (time); an untied network with
``depth=L`` has its own parameters per step (layer), stored with a leading axis of length L,
and its input enters at the first step only. The forward pass evaluates the generated kernels
and keeps what the backward pass and the step Jacobians need (the *tape*): for every step a
dict with ``env`` (every named value of the step), ``partials`` (per kernel, the non-constant
partial derivatives in the kernel's order) and ``layer``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._deprecate import renamed
from .._validate import Bool, Choice, Int, Real, check, fail, require
from ..symbolic.cell import Cell
from . import _checks
from . import batchnorm as _bn
from ._execute import execute as _execute
from .init import INITS, initial_params
from .program import build_plan, load_program
from .trajectory import Trajectory

__all__ = ["Network"]

_READOUT = ("W_out", "b_out")


def _warn_overflow(states: np.ndarray, x: np.ndarray, dtype) -> None:
    """Warn, naming the first step, when finite inputs gave a non-finite state (overflow).

    Callers that handle divergence themselves say so the NumPy way, with
    ``np.errstate(over="ignore")``, and get no warning.
    """
    if np.geterr()["over"] == "ignore" or np.isfinite(states).all():
        return
    bad = ~np.isfinite(states.reshape(states.shape[0], -1)).all(axis=1)
    step = int(np.argmax(bad))
    warnings.warn(
        f"Network.forward: the state stopped being finite at step {step} of {len(x)} "
        f"({np.dtype(dtype).name} overflow, largest finite {np.finfo(dtype).max:.3g}); "
        f"states from there on are inf/NaN",
        RuntimeWarning,
        stacklevel=3,
    )


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
    depth : int, optional
        Number of layers L of an untied network (``steps=`` is the deprecated old name).
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

    Notes
    -----
    Networks made by :func:`gradtheory.from_torch` also carry ``torch_batch_first_`` (and the
    module's bias layout) so that :meth:`to_torch` rebuilds the same module.

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=2, n_hidden=8, seed=0)
    >>> net.forward(np.zeros((5, 3, 2))).states.shape
    (6, 3, 8)
    """

    @renamed(steps="depth")
    def __init__(
        self,
        cell: Cell,
        n_in: int | None = None,
        n_hidden: int | None = None,
        n_out: int | None = None,
        *,
        params: dict | None = None,
        depth: int | None = None,
        tied: bool = True,
        init: str | None = None,
        gain: float = 1.0,
        sigma_b2: float = 0.0,
        seed: int = 0,
        dtype: str = "float64",
    ):
        if not isinstance(cell, Cell):
            raise TypeError(
                f"cell must be a gradtheory Cell (see gt.cells), got {type(cell).__name__}"
            )
        self.cell = cell
        self.program = load_program(cell)
        self.dtype = _checks.dtype(dtype)
        self.tied = check("Network", "tied", tied, Bool())
        if cell.norm and self.tied:
            raise ValueError(
                f"Network: argument 'tied' must be False for the batch-normalised cell "
                f"{cell.name!r} (normalisation is per layer of a depth chain); got tied=True"
            )
        if self.tied:
            if depth is not None:
                raise ValueError(
                    "Network: argument 'depth' is the number of layers of an untied network: "
                    "pass tied=False with it"
                )
            self.depth = None
        else:
            self.depth = _checks.positive_int(depth, "depth")
        if cell.scalar_block:
            for given, what, size in ((n_in, "n_in", len(cell.inputs)), (n_hidden, "n_hidden", 1)):
                if given is not None and given != size:
                    raise ValueError(
                        f"{what} of a custom map comes from the cell ({size}); got {given}"
                    )
            self.n_in, self.n_hidden = len(cell.inputs), 1
        else:
            self.n_hidden = _checks.positive_int(n_hidden, "n_hidden")
            self.n_in = _checks.nonnegative_int(n_in, "n_in")
        self.block_sizes = {name: self.n_hidden for name in cell.state}
        self.n_out = None if n_out is None else _checks.positive_int(n_out, "n_out")
        self.n_state = sum(self.block_sizes.values())
        self.init = cell.default_init if init is None else init
        self.init = check("Network", "init", self.init, Choice(*sorted(INITS)))
        # a bound that keeps gain**2 and the initial weights finite (float64 overflows at 1e308)
        self.gain = check("Network", "gain", gain, Real(min=0, max=1e150))
        self.sigma_b2 = check("Network", "sigma_b2", sigma_b2, Real(min=0, max=1e300))
        self.seed = check("Network", "seed", seed, Int(min=0))
        self.init_stats_ = {"init": self.init, "sigma_w2": self.gain**2, "sigma_b2": self.sigma_b2}
        self.plan = build_plan(self.program, self.n_hidden)
        self._blocks = tuple(
            (name, slice(j * self.n_hidden, (j + 1) * self.n_hidden))
            for j, name in enumerate(cell.state)
        )
        self.params = initial_params(
            cell,
            self.n_hidden,
            self.n_in,
            self.n_out,
            None if self.tied else self.depth,
            self.init,
            self.gain,
            self.sigma_b2,
            np.random.default_rng(seed),
            self.dtype,
        )
        if params is not None:
            if not isinstance(params, dict):
                raise TypeError(
                    f"params must be a dict of name -> value, got {type(params).__name__}"
                )
            self.set_params(params)
        overflowed = [
            k for k, v in self.params.items() if v is not None and not np.all(np.isfinite(v))
        ]
        if overflowed:
            fail(
                "Network",
                "gain",
                f"small enough that {overflowed} are finite in {np.dtype(self.dtype).name}",
                gain,
            )
        missing = [k for k, v in self.params.items() if v is None]
        if missing:
            raise ValueError(f"params must give values for {missing} (the cell has no default)")
        self.batchnorm = _bn.new_state(self) if cell.norm else None

    # -- parameters ------------------------------------------------------------------------
    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every parameter (with the leading layer axis L when untied)."""
        shapes = dict(self.cell.param_shapes(self.n_hidden, self.n_in))
        if self.n_out:
            shapes["W_out"], shapes["b_out"] = (self.n_out, self.n_hidden), (self.n_out,)
        layer = () if self.tied else (self.depth,)
        return {k: (v if k in _READOUT else layer + v) for k, v in shapes.items()}

    def set_params(self, values: dict) -> None:
        """Set parameters by name, checking names, shapes and finiteness; arrays are copied."""
        shapes = self.param_shapes
        for name, value in values.items():
            if name not in shapes:
                raise ValueError(
                    f"params has unknown name {name!r}; this network has {sorted(shapes)}"
                )
            array = _checks.array(value, f"params[{name!r}]", self.dtype)
            if array.shape != shapes[name]:
                if array.ndim == 0 and not self.tied and len(shapes[name]) == 1:
                    array = np.full(shapes[name], array, dtype=self.dtype)
                else:
                    raise ValueError(
                        f"params[{name!r}] must have shape {shapes[name]}, got {array.shape}"
                    )
            self.params[name] = np.array(array, dtype=self.dtype, copy=True)

    @property
    def steps(self) -> int | None:
        """Deprecated name of :attr:`depth` (the layers of an untied network)."""
        warnings.warn(
            "Network.steps is deprecated; use Network.depth (same meaning)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.depth

    #: Number of systems of a network made by :meth:`vary` (None for one system).
    K: int | None = None
    #: Names of the parameters that carry the leading K axis (see :meth:`vary`).
    varied: tuple[str, ...] = ()

    def vary(self, **values) -> Network:
        """K independent systems in one network: the named parameters get a leading K axis.

        Parameters
        ----------
        **values : array, shape (K,) or (K, *shape) broadcastable to the parameter's shape
            K values of each named parameter (several names vary together, equal K >= 1).
            The other parameters are shared by all K systems.

        Returns
        -------
        Network
            A copy with ``K`` set, ``varied`` naming the parameters and ``params[name]`` of
            shape (K, *shape). :func:`gradtheory.orbit`, :func:`gradtheory.lyapunov`,
            :func:`gradtheory.attractor`, :func:`gradtheory.fixed_points`,
            :func:`gradtheory.basins`, :func:`gradtheory.bifurcation` and
            :func:`gradtheory.predict` return one result per system; :meth:`system` gives
            system k alone.

        Examples
        --------
        >>> import gradtheory as gt
        >>> net = gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 3.0}))
        >>> net.vary(r=[2.5, 3.2, 3.5]).K
        3
        """
        if not self.tied:
            raise ValueError(
                "vary: untied (depth) networks cannot vary parameters; "
                "vary the parameters of a tied network (an RNN or a map)"
            )
        if not values:
            raise ValueError("vary: give at least one parameter, e.g. net.vary(r=[3.0, 3.5])")
        shapes = self.param_shapes
        if self.K is not None:
            raise ValueError(f"vary: this network already varies {list(self.varied)}")
        arrays, K = {}, None
        for name, value in values.items():
            if name not in shapes:
                raise ValueError(
                    f"vary: argument {name!r} is not a parameter; this network has {sorted(shapes)}"
                )
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(
                    f"vary: argument {name!r} must be an array of numbers; got {value!r}"
                ) from None
            if array.ndim == 0 or array.shape[0] < 1:
                raise ValueError(
                    f"vary: argument {name!r} must have a leading axis of K >= 1 values; "
                    f"got shape {array.shape}"
                )
            if not np.all(np.isfinite(array)):
                raise ValueError(f"vary: argument {name!r} must be finite; got NaN or Inf")
            if K is not None and array.shape[0] != K:
                raise ValueError(
                    f"vary: argument {name!r} has {array.shape[0]} values but the others have "
                    f"{K}; varied parameters must have equal lengths"
                )
            K = array.shape[0]
            shape = shapes[name]
            tail = array.shape[1:]
            try:
                if len(tail) > len(shape):
                    raise ValueError
                array = array.reshape((K,) + (1,) * (len(shape) - len(tail)) + tail)
                array = np.broadcast_to(array, (K, *shape))
            except ValueError:
                raise ValueError(
                    f"vary: argument {name!r} must have shape (K,) or (K, ...) broadcastable "
                    f"to the parameter's shape {shape}; got {np.shape(value)}"
                ) from None
            arrays[name] = np.array(array, dtype=self.dtype)
        clone = self.copy()
        clone.params.update(arrays)
        clone.K = K
        clone.varied = tuple(arrays)
        clone.__dict__.pop("_systems", None)
        return clone

    def system(self, k: int) -> Network:
        """System ``k`` of a varied network as an ordinary network (cached, do not edit)."""
        if self.K is None:
            return self
        systems = self.__dict__.setdefault("_systems", {})
        net = systems.get(k)
        if net is None:
            net = object.__new__(Network)
            net.__dict__.update(self.__dict__)
            for key in ("_pool", "_systems", "K", "varied", "_jit_layout"):
                net.__dict__.pop(key, None)
            net.params = {
                name: (value[k] if name in self.varied else value)
                for name, value in self.params.items()
            }
            systems[k] = net
        return net

    def layer_params(self, layer: int = 0) -> dict:
        """Parameters used at step ``layer`` (all steps of a tied network share them)."""
        if self.tied:
            return self.params
        return {k: (v if k in _READOUT else v[layer]) for k, v in self.params.items()}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_pool", None)  # work arrays: rebuilt on demand
        return state

    def copy(self) -> Network:
        """An independent copy (parameters copied)."""
        clone = object.__new__(Network)
        clone.__dict__.update(self.__dict__)
        clone.__dict__.pop("_pool", None)  # work arrays are never shared between networks
        clone.params = {k: v.copy() for k, v in self.params.items()}
        if getattr(self, "batchnorm", None) is not None:
            clone.batchnorm = self.batchnorm.copy()
        clone.__dict__.pop("_systems", None)
        return clone

    def to_torch(self, batch_first: bool | None = None):
        """The equivalent torch.nn.RNN, LSTM or GRU (see :func:`.torch_interop.to_torch`)."""
        from .torch_interop import to_torch

        return to_torch(self, batch_first=batch_first)

    # -- inputs ----------------------------------------------------------------------------
    def initial_state(self, batch: int, h0=None) -> np.ndarray:
        """``h0`` checked and broadcast to (B, n_state); zeros if None."""
        if h0 is None:
            return np.zeros((batch, self.n_state), dtype=self.dtype)
        h0 = _checks.array(h0, "h0", self.dtype, func="Network.forward")
        if h0.ndim == 1:
            h0 = np.broadcast_to(h0, (batch, h0.shape[0]))
        if h0.shape != (batch, self.n_state):
            raise ValueError(
                f"h0 must have shape ({batch}, {self.n_state}) or ({self.n_state},), got {h0.shape}"
            )
        return np.array(h0, dtype=self.dtype)

    def prepare_inputs(self, x, steps: int | None = None, batch: int | None = None) -> np.ndarray:
        """Check ``x`` and return it time-major (T, B, n_in) in the network's dtype.

        Untied networks accept (B, n_in) and place it at the first layer (zeros after).
        ``x=None`` means no input (zeros) and needs ``steps`` and ``batch``.
        """
        if x is None:
            steps = self.depth if steps is None else steps
            if steps is None or batch is None:
                raise ValueError("x=None needs steps (or an untied network) and batch")
            return np.zeros((steps, batch, self.n_in), dtype=self.dtype)
        x = _checks.array(x, "x", self.dtype, floating=True, func="Network.forward")
        if not self.tied and x.ndim == 2:
            padded = np.zeros((self.depth, *x.shape), dtype=self.dtype)
            padded[0] = x
            x = padded
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise ValueError(
                f"x must have shape (T, B, n_in={self.n_in}) (time-major), got {x.shape}"
            )
        if not self.tied and x.shape[0] != self.depth:
            raise ValueError(
                f"x of an untied network must have T = depth = {self.depth}, got {x.shape[0]}"
            )
        return x

    # -- forward ---------------------------------------------------------------------------
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
        if self.K is not None:
            raise ValueError(
                f"forward: this network holds K={self.K} systems (made by vary); run one with "
                "net.system(k).forward(...), or use the map analyses (orbit, lyapunov, ...)"
            )
        x = self.prepare_inputs(x)
        self._check_params()
        state = self.initial_state(x.shape[1], h0)
        if self.batchnorm is not None:
            return _bn.forward(self, x, state, record)
        layers = None if self.tied else np.arange(x.shape[0])
        states, tape, totals = _execute(self, x, state, layers, record)
        _warn_overflow(states, x, self.dtype)
        hidden = states[..., : self.n_hidden]
        outputs = hidden[1:]
        if self.n_out:
            outputs = outputs @ self.params["W_out"].T + self.params["b_out"]
        return Trajectory(
            states=states,
            hidden=hidden,
            outputs=outputs,
            inputs=x,
            tape=tape if record else [],
            input_terms=totals,
        )

    def step(self, state, x=None, layer: int = 0) -> np.ndarray:
        """One step of the map: s_t (B, n_state) from s_{t-1} (B, n_state) and x_t (B, n_in).

        ``layer`` picks the layer of an untied network (0..L-1); a tied network uses the same
        parameters at every step and accepts any ``layer >= 0``.
        """
        func = "Network.step"
        high = None if self.tied else self.depth - 1
        layer = check(func, "layer", layer, Int(min=0, max=high))
        state = _checks.array(state, "state", self.dtype, func=func)
        require(
            state.ndim == 2 and state.shape[1] == self.n_state,
            func,
            "state",
            f"of shape (B, {self.n_state})",
            state,
        )
        if x is None:
            x = np.zeros((state.shape[0], self.n_in), self.dtype)
        x = _checks.array(x, "x", self.dtype, func=func)
        require(
            x.shape[-1:] == (self.n_in,) and x.ndim <= 2 and x.shape[:-1] in ((), state.shape[:1]),
            func,
            "x",
            f"of shape (B, {self.n_in}) or ({self.n_in},)",
            x,
        )
        x = np.broadcast_to(x, (state.shape[0], self.n_in))
        if self.batchnorm is not None:
            return _bn.step(self, state, x, layer)
        return self._step(state, x, layer, {}, record=False)["new_state"]

    def _step(self, state, x_t, t, input_terms=None, record: bool = True) -> dict:
        """One step from ``state`` (B, n_state); ``t`` picks the layer of an untied network.

        Returns the tape entry of the step (``env``, ``partials``, ``layer``) with
        ``new_state`` added; only ``new_state`` when ``record`` is False.
        """
        _bn.refuse_batch_coupled(self, "Network._step")
        layers = None if self.tied else np.array([t])
        x = np.asarray(x_t)[None]
        states, tape, _ = _execute(self, x, state, layers, record)
        if not record:
            return {"new_state": states[1]}
        entry = tape[0]
        entry["new_state"] = states[1]
        return entry

    def _check_params(self) -> None:
        for name, value in self.params.items():
            _checks.finite(value, f"params[{name!r}]")

    def split_state(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """Views of the state blocks of a (..., n_state) array."""
        return {name: state[..., sl] for name, sl in self._blocks}

    def backward(self, traj: Trajectory, grad_outputs=None, *, grad_state=None):
        """Backpropagation through time; see :func:`gradtheory.numeric.backward.backward`."""
        from .backward import backward

        _checks.trajectory_of(self, traj, "Network.backward")
        for name, value in (("grad_outputs", grad_outputs), ("grad_state", grad_state)):
            if value is not None:
                _checks.array(value, name, self.dtype, func="Network.backward")
        if self.batchnorm is not None:
            return _bn.backward(self, traj, grad_outputs, grad_state=grad_state)
        return backward(self, traj, grad_outputs, grad_state=grad_state)

    def __repr__(self) -> str:
        kind = "tied" if self.tied else f"untied, L={self.depth}"
        if self.K is not None:
            kind += f", K={self.K} systems varying {list(self.varied)}"
        return (
            f"Network({self.cell.name}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
            f"n_out={self.n_out}, {kind}, {np.dtype(self.dtype).name})"
        )
