"""Private helpers: a Network seen as an autonomous map s -> F(s; x) for a constant input x.

:class:`MapEval` evaluates F, the step Jacobian dF/ds (through
:func:`gradtheory.numeric.tangent.step_jacobian`) and the vector-Jacobian product ``J^T v``
(reverse pass through the same program) at a batch of states. Evaluation never raises on
overflow: states that leave the floating-point range come back non-finite and callers decide.
"""

from __future__ import annotations

import numpy as np

from ..numeric import _jitgen
from ..numeric.program import AffineOp
from ..numeric.tangent import jacobian_product, step_jacobian
from . import _compiled

__all__ = ["MapEval", "check_states"]


def check_states(value, n_state: int, name: str) -> np.ndarray:
    """``value`` as a finite float64 array (B, n_state); a single state (n_state,) gives B = 1."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    array = np.array(array, dtype=np.float64, ndmin=1)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_state:
        raise ValueError(
            f"{name} must have shape (n_state,) or (B, n_state) with n_state = {n_state}, "
            f"got {np.shape(value)}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or Inf; expected finite states")
    return array


class MapEval:
    """F(s), dF/ds and J^T v of a tied Network at constant input ``x``.

    Parameters
    ----------
    net : Network
        A tied network (an RNN or a custom map).
    x : array, shape (n_in,), optional
        Constant input; zeros if None.

    Examples
    --------
    >>> ev = MapEval(gt.Network(gt.cells.custom("r*h*(1-h)", "h", params={"r": 2.0})))
    >>> ev.value(np.array([[0.5]]))
    array([[0.5]])
    """

    def __init__(self, net, x=None):
        from ..numeric.batchnorm import refuse_batch_coupled

        refuse_batch_coupled(net, "iterated-map analysis")
        if not getattr(net, "tied", False):
            raise ValueError("iterated-map analysis needs a tied network (an RNN or a custom map)")
        if getattr(net, "K", None) is not None:
            raise ValueError(
                f"this network holds K={net.K} systems (vary); analyse one with net.system(k)"
            )
        net._check_params()
        self.net = net
        self.n = net.n_state
        if x is None:
            x = np.zeros(net.n_in)
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 2 and x.shape[0] == 1:
            x = x[0]
        if x.shape != (net.n_in,):
            raise ValueError(
                f"x must be a constant input of shape (n_in,) = ({net.n_in},), got {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or Inf")
        self.x = x.astype(net.dtype)
        self._xs: dict[int, np.ndarray] = {}
        # compiled step (numba) for small float64 states, see analysis/_compiled.py
        self.jit = _compiled.kernels(net) if _compiled.available(net) else None
        if self.jit is not None:
            self.p = _jitgen.flat_params(net)[0]
            self.xc = np.ascontiguousarray(self.x, dtype=np.float64)

    def _entry(self, s: np.ndarray, record: bool) -> dict:
        xs = self._xs.get(s.shape[0])
        if xs is None:
            xs = self._xs[s.shape[0]] = np.broadcast_to(self.x, (s.shape[0], self.net.n_in))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.net._step(np.asarray(s, dtype=self.net.dtype), xs, 0, {}, record)

    def value(self, s: np.ndarray) -> np.ndarray:
        """F(s) for s (B, n_state) -> (B, n_state)."""
        if self.jit is not None:
            s = np.ascontiguousarray(s, dtype=np.float64)
            out = np.empty_like(s)
            self.jit.values(s, self.xc, self.p, out)
            return out
        return np.asarray(self._entry(s, False)["new_state"], dtype=np.float64)

    def value_jac(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """F(s) (B, n) and the step Jacobian dF/ds (B, n, n)."""
        if self.jit is not None:
            s = np.ascontiguousarray(s, dtype=np.float64)
            out, jac = np.empty_like(s), np.empty((*s.shape, s.shape[1]))
            self.jit.values_jac(s, self.xc, self.p, out, jac)
            return out, jac
        entry = self._entry(s, True)
        with np.errstate(over="ignore", invalid="ignore"):
            jac = step_jacobian(self.net, entry)
        return np.asarray(entry["new_state"], dtype=np.float64), np.asarray(jac, dtype=np.float64)

    def value_entry(self, s: np.ndarray) -> tuple[np.ndarray, dict]:
        """F(s) and the recorded step (for :meth:`jvp` / :meth:`vjp`)."""
        entry = self._entry(s, True)
        return np.asarray(entry["new_state"], dtype=np.float64), entry

    def jvp(self, entry: dict, tangent: np.ndarray) -> np.ndarray:
        """J @ tangent for tangent (B, n, k)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(jacobian_product(self.net, entry, tangent), dtype=np.float64)

    def vjp(self, entry: dict, cotangent: np.ndarray) -> np.ndarray:
        """J^T v for v (B, n): the reverse pass of one recorded step, (B, n)."""
        net, program, n = self.net, self.net.program, self.net.n_hidden
        params = net.layer_params(0)
        adj: dict = {}

        def add(name, value):
            adj[name] = value if name not in adj else adj[name] + value

        for block, name in zip(program.state, program.next_state, strict=True):
            add(name, net.split_state(cotangent)[block])
        kernel = sum(not isinstance(op, AffineOp) for op in program.ops)
        with np.errstate(over="ignore", invalid="ignore"):
            for op in reversed(program.ops):
                if isinstance(op, AffineOp):
                    if not any(o in adj for o in op.outputs):
                        continue
                    parts = [adj.get(o, np.zeros((cotangent.shape[0], n))) for o in op.outputs]
                    parts = [np.broadcast_to(p, (cotangent.shape[0], n)) for p in parts]
                    g = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
                    for weight, source in op.terms:
                        if source not in program.inputs:
                            add(source, g @ params[weight])
                else:
                    kernel -= 1
                    values = entry["partials"][kernel]
                    for (out, inp), value in list(zip(op.partials, values, strict=True)) + list(
                        op.constants.items()
                    ):
                        if (
                            out in adj
                            and inp not in program.scalar_params
                            and inp not in program.inputs
                        ):
                            add(inp, adj[out] * value)
        blocks = []
        for block in program.state:
            size = net.block_sizes[block]
            value = adj.get(block)
            shape = (cotangent.shape[0], size)
            blocks.append(np.zeros(shape) if value is None else np.broadcast_to(value, shape))
        return np.concatenate(blocks, axis=1).astype(np.float64)
