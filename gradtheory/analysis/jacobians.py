"""Step Jacobians of a recorded trajectory, their spectra, and products in log space.

The gradient through a chain s_t = F(s_{t-1}, x_t) is a product of step Jacobians
J_t = dS_t/dS_{t-1}; this module extracts them from the tape of ``net.forward``, summarises their
spectra, computes the singular values of long products without forming them, and states the
spectral conditions of Pascanu, Mikolov & Bengio (2013) for vanishing and exploding gradients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._repr import compact_repr
from .._validate import Int, NetworkArg, Real, validate
from ..numeric.tangent import step_jacobian
from ..symbolic.registry import ACTIVATIONS, elman_activation

__all__ = [
    "PASCANU_REGIMES",
    "PascanuConditions",
    "Spectra",
    "jacobians",
    "pascanu_bound",
    "pascanu_conditions",
    "pascanu_regime",
    "product_log_singular_values",
    "spectra",
]


def _square_stack(value, name: str, min_ndim: int = 2) -> np.ndarray:
    """A finite real array (..., n, n); ValueError naming ``name`` otherwise."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    if array.ndim < min_ndim or array.shape[-1] != array.shape[-2] or array.shape[-1] == 0:
        raise ValueError(
            f"{name} must be a stack of square matrices (..., n, n), got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or Inf; expected finite values")
    return array.astype(np.float64, copy=False)


@validate(net=NetworkArg())
def jacobians(net, traj) -> np.ndarray:
    """Step Jacobians dS_t/dS_{t-1} of every recorded step.

    Parameters
    ----------
    net : Network
    traj : Trajectory
        From ``net.forward(x, record=True)`` (tied or untied; LSTM's state is (h, c) jointly).

    Returns
    -------
    ndarray, shape (T, B, n_state, n_state)
        ``out[t-1, b]`` is the Jacobian of step t for sequence b (memory T B n_state^2).

    Examples
    --------
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=3)
    >>> jacobians(net, net.forward(np.zeros((5, 2, 1)))).shape
    (5, 2, 3, 3)
    """
    from ..numeric._checks import trajectory_of

    trajectory_of(net, traj, "jacobians")
    from ..numeric.batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "jacobians")
    steps = traj.states.shape[0] - 1
    if len(traj.tape) != steps:
        raise ValueError("traj has no tape: run net.forward(x, record=True) before jacobians")
    batch = traj.states.shape[1]
    out = np.empty((steps, batch, net.n_state, net.n_state), dtype=net.dtype)
    for t, entry in enumerate(traj.tape):
        out[t] = step_jacobian(net, entry)
    return out


class Spectra(dict):
    """What :func:`spectra` returns: its dict of eigenvalues, singular values, spectral radii
    and norms, which draws itself (:meth:`plot`)."""

    def plot(self, ax=None, *, circle: bool = True, **style):
        """Every eigenvalue in the complex plane and, with ``circle``, the unit circle, where
        |lambda| = 1 separates contracting from expanding directions. ``style`` goes to the
        markers (e.g. ``marker``, ``color``, ``label``). Returns the Axes.

        >>> spectra(np.diag([2.0, -0.5])).plot().get_title()
        '2 eigenvalues and the unit circle'
        """
        from ..figures._plot_stability import plot_eigenvalues

        return plot_eigenvalues(self["eigenvalues"], ax, circle=circle, **style)


def spectra(jacobians) -> Spectra:
    """Eigenvalues, singular values and spectral radius of every matrix in a stack.

    Parameters
    ----------
    jacobians : array, shape (..., n, n)
        E.g. the (T, B, n, n) output of :func:`jacobians`.

    Returns
    -------
    Spectra
        A dict: ``eigenvalues`` (..., n) complex, by descending modulus; ``singular_values``
        (..., n) descending; ``spectral_radius`` (...,) the largest eigenvalue modulus;
        ``norm`` (...,) the largest singular value (spectral norm). ``.plot()`` draws it.

    Examples
    --------
    >>> float(spectra(np.diag([2.0, -0.5]))["spectral_radius"])
    2.0
    """
    mats = _square_stack(jacobians, "jacobians")
    eig = np.linalg.eigvals(mats)
    order = np.argsort(-np.abs(eig), axis=-1, kind="stable")
    eig = np.take_along_axis(eig, order, axis=-1)
    sv = np.linalg.svd(mats, compute_uv=False)
    return Spectra(
        eigenvalues=eig, singular_values=sv, spectral_radius=np.abs(eig[..., 0]), norm=sv[..., 0]
    )


def _qr_sweep(factors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass Q_t R_t = F_t Q_{t-1} over factors (T, B, n, n).

    Returns the R stack, sum_t ln|diag R_t| (B, n) and sum_t |ln|diag R_t|| (the rounding scale).
    """
    steps, batch, n, _ = factors.shape
    q = np.broadcast_to(np.eye(n), (batch, n, n))
    rs = np.empty_like(factors)
    logs = np.zeros((batch, n))
    scale = np.zeros((batch, n))
    with np.errstate(divide="ignore"):
        for t in range(steps):
            q, r = np.linalg.qr(factors[t] @ q)
            rs[t] = r
            step = np.log(np.abs(np.diagonal(r, axis1=-2, axis2=-1)))
            logs += step
            scale += np.abs(step)
    return rs, logs, scale


@validate(sweeps=Int(min=1, none=True), tol=Real(gt=0), max_sweeps=Int(min=1))
def product_log_singular_values(
    jacobians, *, sweeps: int | None = None, tol: float = 1e-12, max_sweeps: int = 200
) -> np.ndarray:
    """Natural-log singular values of J_T ... J_1, computed without forming the product.

    A forward sweep Q_t R_t = J_t Q_{t-1} (Q_0 = I) gives J_T...J_1 = Q_T R_T...R_1, so the
    product has the singular values of R_T...R_1 and ``sum_t ln|diag R_t|`` is exact for the
    diagonal of that triangular product (Benettin et al. 1980). Transposing it,
    R_1^T...R_T^T, and sweeping again is one step of the QR algorithm on the Gram matrix; the
    triangular product becomes diagonal at a rate (sigma_{i+1}/sigma_i)^2 per sweep, and then its
    log diagonal *is* the log singular values. Every factor stays of order one, so products far
    outside the floating-point range (exponents of +-10^5) are fine.

    Parameters
    ----------
    jacobians : array, shape (T, B, n, n) or (T, n, n)
        Factors in the order they are applied (J_1 first).
    sweeps : int, optional
        Fixed number of sweeps; ``1`` gives the classical Lyapunov R-values (exact only
        asymptotically). Default: sweep until the values change by less than ``tol``.
    tol : float
        Convergence tolerance (absolute, in log units), raised to the rounding floor
        ``64 eps sum_t |ln|diag R_t||`` for long chains.
    max_sweeps : int
        Upper bound when ``sweeps`` is None (a RuntimeWarning if it is reached).

    Returns
    -------
    ndarray, shape (B, n) or (n,)
        Descending; ``-inf`` for exactly singular products.

    Examples
    --------
    >>> product_log_singular_values(np.stack([np.diag([2.0, 0.5])] * 3)).round(4)  # ln(8)
    array([ 2.0794, -2.0794])
    """
    factors = _square_stack(jacobians, "jacobians", min_ndim=3)
    single = factors.ndim == 3
    if single:
        factors = factors[:, None]
    if factors.ndim != 4:
        raise ValueError(
            f"jacobians must have shape (T, B, n, n) or (T, n, n), got {factors.shape}"
        )
    if sweeps is not None and (isinstance(sweeps, bool) or int(sweeps) != sweeps or sweeps < 1):
        raise ValueError(f"sweeps must be a positive integer or None, got {sweeps!r}")
    limit = int(sweeps) if sweeps is not None else int(max_sweeps)
    previous = None
    for sweep in range(limit):
        rs, logs, scale = _qr_sweep(factors)
        logs = np.sort(logs, axis=-1)[..., ::-1]
        if sweeps is None and previous is not None:
            # rounding floor: each sweep re-sums T logs, so agreement is limited to ~eps sum|log|
            floor = np.maximum(
                tol, 64 * np.finfo(float).eps * np.max(scale, axis=-1, keepdims=True)
            )
            with np.errstate(invalid="ignore"):
                change = np.abs(logs - previous)
            if np.all((change <= floor) | (logs == previous)):
                break
        previous = logs
        factors = np.swapaxes(rs[::-1], -1, -2)
        if sweeps is None and sweep == limit - 1:
            warnings.warn(
                f"product_log_singular_values did not converge to tol={tol} in {limit} sweeps "
                "(nearly equal singular values); the result is approximate",
                RuntimeWarning,
                stacklevel=2,
            )
    return logs[0] if single else logs


#: The regime words of the Pascanu bound (those of :class:`gradtheory.Prediction`): the bound
#: decides "vanishing" when ln(gamma sigma_max) < 0 and nothing ("undecided") when it is > 0.
PASCANU_REGIMES = ("vanishing", "critical", "undecided")


def pascanu_regime(log_bound: float, band: float) -> str:
    """The regime the Pascanu bound decides: one of :data:`PASCANU_REGIMES`.

    ``log_bound = ln(gamma sigma_max)`` bounds the log growth of the gradient per step; below
    ``-band`` the gradient vanishes for every trajectory (sufficient condition), within the
    band the bound sits on the boundary, above it exploding is possible but not implied.

    Examples
    --------
    >>> pascanu_regime(-0.1, 0.01), pascanu_regime(0.0, 0.01), pascanu_regime(0.1, 0.01)
    ('vanishing', 'critical', 'undecided')
    """
    if log_bound < -band:
        return "vanishing"
    return "critical" if abs(log_bound) <= band else "undecided"


def pascanu_bound(net_or_W, activation: str | None = None) -> tuple[np.ndarray, float]:
    """sigma_max(W) of every step's recurrent matrix and gamma = sup|phi'|.

    The one computation of the bound ``||J_t|| <= gamma sigma_max(W_t)`` behind
    :func:`pascanu_conditions` and ``predict(method="pascanu")``.

    Returns
    -------
    sigma_max : ndarray, shape (L,)
        One value for a matrix (n, n) or a tied network, one per layer for a stack (L, n, n)
        or an untied network.
    gamma : float
    """
    if hasattr(net_or_W, "params") and hasattr(net_or_W, "cell"):
        net = net_or_W
        from ..numeric.batchnorm import refuse_batch_coupled

        refuse_batch_coupled(net, "pascanu_conditions")
        elman = elman_activation(net.cell)
        act = activation or (elman.name if elman else None)
        if elman is None:
            raise ValueError(
                f"net_or_W: pascanu_conditions applies to Elman-type cells h = phi(W h + U x + b); "
                f"{net.cell.name} is not one: pass its recurrent matrix and activation explicitly"
            )
        weight = net.params["W"]
    else:
        act = activation or "tanh"
        weight = net_or_W
    weight = _square_stack(weight, "net_or_W (the recurrent weight W)")
    if weight.ndim > 3:
        raise ValueError(
            f"net_or_W must be a matrix (n, n) or a stack (L, n, n), got {weight.shape}"
        )
    if act not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {act!r}")
    sigma = np.linalg.svd(weight.reshape(-1, *weight.shape[-2:]), compute_uv=False)[:, 0]
    return sigma, float(ACTIVATIONS[act].gamma)


@dataclass(frozen=True)
class PascanuConditions:
    """Spectral conditions for vanishing / exploding gradients of h = phi(W h + U x + b).

    Attributes
    ----------
    sigma_max : float
        Largest singular value of W (the largest over layers for an untied stack).
    gamma : float
        sup |phi'(x)| of the activation.
    threshold : float
        1 / gamma.
    vanishing_guaranteed : bool
        sigma_max < 1/gamma: every step Jacobian has norm <= gamma sigma_max < 1, so the
        gradient shrinks at least like (gamma sigma_max)^t (sufficient condition).
    exploding_possible : bool
        sigma_max > 1/gamma: necessary (not sufficient) for exploding gradients.
    regime : str
        :func:`pascanu_regime` of ln(gamma sigma_max) with a band of 1e-12 (rounding):
        ``"vanishing"`` (guaranteed), ``"undecided"`` (exploding possible) or ``"critical"``
        (on the boundary), the words of :class:`gradtheory.Prediction`.
    """

    __repr__ = compact_repr()

    sigma_max: float
    gamma: float
    threshold: float
    vanishing_guaranteed: bool
    exploding_possible: bool
    regime: str


def pascanu_conditions(net_or_W, activation: str | None = None) -> PascanuConditions:
    """Pascanu, Mikolov & Bengio (2013), Sec. 3.1: sigma_max(W) against 1/gamma.

    For h_t = phi(W h_{t-1} + U x_t + b) the step Jacobian is diag(phi'(a_t)) W, so
    ||J_t|| <= gamma sigma_max(W) with gamma = sup|phi'| (1 for tanh, 1/4 for the sigmoid).
    If sigma_max < 1/gamma, long-term gradients vanish for every input (sufficient condition);
    sigma_max > 1/gamma is necessary for exploding gradients but does not imply them.
    Reference: R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training recurrent
    neural networks", ICML 2013, Sec. 3.1 (Eq. 5-7).

    Parameters
    ----------
    net_or_W : Network or array, shape (n, n) or (L, n, n)
        An Elman-type network (its ``W`` and activation are used) or a recurrent weight matrix.
    activation : str, optional
        One of ``tanh, sigmoid, relu, linear, hardtanh``; needed with a matrix (default tanh),
        overrides the network's.

    Returns
    -------
    PascanuConditions

    Examples
    --------
    >>> pascanu_conditions(0.5 * np.eye(3), "tanh").regime
    'vanishing'
    """
    sigmas, gamma = pascanu_bound(net_or_W, activation)
    sigma = float(np.max(sigmas))
    with np.errstate(divide="ignore"):
        regime = pascanu_regime(float(np.log(gamma * sigma)), _BOUNDARY)
    return PascanuConditions(
        sigma, gamma, 1.0 / gamma, regime == "vanishing", regime == "undecided", regime
    )


#: Relative rounding band of sigma_max around 1/gamma taken as the boundary itself.
_BOUNDARY = 1e-12
