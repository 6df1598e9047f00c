"""Results of a forward and a backward pass."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Gradients", "Trajectory"]


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
    """

    states: np.ndarray
    hidden: np.ndarray
    outputs: np.ndarray
    inputs: np.ndarray
    tape: list = field(default_factory=list, repr=False)
    input_terms: dict = field(default_factory=dict, repr=False)

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return self.states.shape[0] - 1


@dataclass
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
        dL/dx_t.
    initial_state : ndarray, shape (B, n_state)
        dL/ds_0.
    """

    params: dict
    adjoint_log_norms: np.ndarray
    inputs: np.ndarray
    initial_state: np.ndarray

    @property
    def adjoint_norms(self) -> np.ndarray:
        """||dL/ds_t||, shape (T+1, B); inf where it exceeds the float range (see the log form)."""
        with np.errstate(over="ignore"):
            return np.exp(self.adjoint_log_norms)

    @property
    def norm(self) -> float:
        """Global norm of the parameter gradient."""
        return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in self.params.values())))
