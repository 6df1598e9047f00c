"""Mean-field theory of deep random networks and of random recurrent networks.

Signal propagation through x_l = W_l phi(x_{l-1}) + b_l, W_ij ~ N(0, sigma_w2/N),
b_i ~ N(0, sigma_b2) (Poole et al. 2016, "Exponential expressivity in deep neural networks through
transient chaos"; Schoenholz et al. 2017, "Deep information propagation"); z ~ N(0, 1) below.

Quadrature. Gauss-Hermite (hermegauss) was tried first and rejected: with 100 nodes its relative
error on E[tanh'(sqrt(q) z)^2] is 6e-8 at q = 1.4 and 15% at q = 20 (the nodes are too sparse
where phi varies), and across the jump of relu'/hardtanh' it converges only like n^(-1/2). We cut
|z| <= 12 (tail mass 4e-33) where sqrt(q) z crosses 0, +-1, +-4, +-16, +-64 or a kink, and use
32-node Gauss-Legendre per piece: against scipy.integrate.quad the relative error is <= 6e-15 for
tanh, sigmoid, relu and hardtanh integrands for every q in [1e-6, 1e6]. 2-D Gaussian averages
(correlation map) nest two such rules. ``MeanField.quadrature_error`` compares 32 and 64 nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.optimize import brentq

from .._repr import compact_repr
from .._validate import Real, validate

__all__ = [
    "PHASE_QUANTITIES",
    "MeanField",
    "PhaseDiagram",
    "RNNMeanField",
    "critical_sigma_w2",
    "mean_field",
    "phase_diagram",
    "rnn_mean_field",
]

Fn = Callable[[np.ndarray], np.ndarray]
CRITICAL_TOL = 1e-3  # |chi1 - 1| <= this is 'critical' (gradient depth scale >~ 2000 layers)
_N = 32  # Gauss-Legendre nodes per piece
_SPLITS = (0.0, *(s * 4.0**k for k in range(4) for s in (-1.0, 1.0)))  # cut points in x
_Z = 12.0  # truncation of the Gaussian for piecewise rules: P(|z| > 12) ~ 4e-33
_Q0 = 1e-30  # q used to evaluate the q -> 0+ limit
_QGRID = 10.0 ** np.arange(-30, 13)


def _resolve(activation) -> tuple[Fn, Fn, tuple[float, ...]]:
    """(phi, phi', kinks) of a registered activation's name, or of a pair (phi, dphi)."""
    from ..symbolic.registry import ACTIVATIONS

    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        record = ACTIVATIONS[activation.lower()]
        return record.numpy, record.derivative, record.kinks
    if isinstance(activation, tuple) and len(activation) == 2 and all(map(callable, activation)):
        return activation[0], activation[1], ()
    raise ValueError(
        f"activation must be one of {sorted(ACTIVATIONS)} or a pair (phi, dphi); got {activation!r}"
    )


def _check(**kw: float) -> None:
    for name, v in kw.items():
        ok = isinstance(v, (int, float, np.number)) and math.isfinite(v) and v >= 0
        if not ok:
            raise ValueError(f"{name} must be a finite non-negative number, got {v!r}")


_legendre = lru_cache(maxsize=8)(leggauss)


def _expect(f: Fn, a, b, kinks: tuple[float, ...], n: int) -> np.ndarray:
    """E_z[f(a + b z)], z ~ N(0, 1), for broadcastable arrays a, b >= 0 (kinks: where f bends).

    Gauss-Legendre with n nodes on each piece of |z| <= 12 cut where a + b z hits a kink or a
    point of ``_SPLITS`` (so that features of unit width in x are resolved at every q).
    """
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    shape, a, b = a.shape, a.reshape(-1, 1), b.reshape(-1, 1)
    cuts = np.asarray(sorted(set(kinks) | set(_SPLITS)))
    with np.errstate(divide="ignore", invalid="ignore"):
        zk = np.where(b > 0, (cuts - a) / b, _Z)
    edges = np.sort(np.concatenate([np.full_like(a, -_Z), np.clip(zk, -_Z, _Z), a * 0 + _Z], 1), 1)
    t, v = _legendre(n)
    mid, half = (edges[:, 1:] + edges[:, :-1]) / 2, (edges[:, 1:] - edges[:, :-1]) / 2
    keep = np.any(half > 0, axis=0)  # drop pieces that are empty for every (a, b)
    mid, half = mid[:, keep], half[:, keep]
    z = mid[..., None] + half[..., None] * t  # (m, pieces, n)
    w = half[..., None] * v * np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
    return (f(a[..., None] + b[..., None] * z) * w).sum((1, 2)).reshape(shape)


@dataclass(frozen=True)
class MeanField:
    """Mean-field signal-propagation summary of a deep random network (see :func:`mean_field`).

    ``q_star`` pre-activation variance fixed point (0, ``inf`` or ``nan`` in degenerate cases, see
    ``note``); ``c_star`` correlation fixed point (1 in the ordered phase); ``chi1`` =
    sigma_w2 E[phi'(sqrt(q*) z)^2]; ``chi_q`` = slope of the length map at q*; ``chi_c`` = slope of
    the correlation map at c*; ``xi_q``, ``xi_c`` = -1/ln(chi) (inf when chi >= 1);
    ``log_grad_growth_per_layer`` = 0.5 ln chi1; ``regime`` in {'ordered', 'critical', 'chaotic'}
    by chi1 (``CRITICAL_TOL``). The correlation map is C(c) = (sigma_w2 E[phi(u1) phi(u2)] +
    sigma_b2) / L(q), L the length map; at a finite q* > 0 its slope is the usual chi_c =
    sigma_w2 E[phi'(u1) phi'(u2)], but when q* is 0 (tanh with sigma_b2 = 0, sigma_w2 < 1: the
    network is asymptotically linear), inf or undetermined (relu, linear), C is the identity near
    c = 1, so chi_c = 1 and xi_c = inf: correlations are not forgotten, although chi1 < 1.
    """

    __repr__ = compact_repr(
        "activation", "sigma_w2", "sigma_b2", "q_star", "chi1", "xi_c", "regime"
    )

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    c_star: float
    chi1: float
    chi_q: float
    chi_c: float
    xi_q: float
    xi_c: float
    log_grad_growth_per_layer: float
    regime: str
    quadrature_error: float
    note: str = ""

    def plot(self, ax=None, *, sigma_b2_max: float | None = None, **style):
        """Phase diagram: the chi_1 = 1 line, both phases and this point; returns the Axes.

        >>> gt.mean_field("tanh", 1.5, 0.05).plot().get_title()
        'mean-field phase diagram (tanh)'
        """
        from ..figures._plot_theory import plot_mean_field

        return plot_mean_field(self, ax, sigma_b2_max=sigma_b2_max, **style)

    def _repr_latex_(self) -> str:
        from ..figures._plot_theory import latex_mean_field

        return latex_mean_field(self)


def _xi(chi: float) -> float:  # depth scales beyond ~1e12 layers (rounding) are reported as inf
    return math.inf if chi >= 1 - 1e-12 else (0.0 if chi <= 0 else -1.0 / math.log(chi))


def _compute(act, sw: float, sb: float, n: int = _N, correlation: bool = True) -> dict:
    """q*, c*, chi1, chi_q, chi_c; with ``correlation=False`` c* and chi_c are skipped (nan).

    The correlation fixed point costs ~30x the rest in the chaotic phase (a brentq over nested
    2-D Gaussian averages); chi1, chi_q and q* do not depend on it.
    """
    phi, dphi, kinks = act

    def length(q):  # the length map L(q), vectorized over q
        return sw * _expect(lambda x: phi(x) ** 2, 0.0, np.sqrt(q), kinks, n) + sb

    # chi_q = dL/dq = sw E[z phi(sqrt(q) z) phi'(sqrt(q) z)] / sqrt(q) = sw E[phi'^2 + phi phi'']
    # (Stein's lemma); we evaluate the first form, written in x = sqrt(q) z, so phi'' is not needed
    def slope_q(q):
        return float(sw * _expect(lambda x: x * phi(x) * dphi(x), 0.0, math.sqrt(q), kinks, n) / q)

    note, g0 = "", sw * float(phi(np.zeros(1))[0]) ** 2 + sb
    if g0 == 0 and slope_q(_Q0) <= 1:
        if abs(float(length(1.0)) - 1) < 1e-12 and abs(float(length(1e4)) / 1e4 - 1) < 1e-12:
            q, qe = math.nan, 1.0
            note = "length map is the identity (q_l = q_0 for every q_0): q* undetermined. "
        else:
            q, qe = 0.0, _Q0
            note = "q* = 0: the network is asymptotically linear; quantities are q -> 0+ limits. "
    else:
        g = length(_QGRID) - _QGRID
        neg = np.flatnonzero(g < 0)
        if neg.size == 0:
            q, qe = math.inf, float(_QGRID[-1])
            note = "no finite q*: activations grow without bound (relu: sigma_w2 >= 2, linear: "
            note += "sigma_w2 >= 1); quantities are q -> inf limits. "
        else:
            i = int(neg[0])
            lo = 0.0 if i == 0 else float(_QGRID[i - 1])
            q = brentq(lambda s: float(length(s)) - s, lo, float(_QGRID[i]), xtol=1e-300)
            qe = q if q > 0 else _Q0
    lq = float(length(qe))
    chi1 = float(sw * _expect(lambda x: dphi(x) ** 2, 0.0, math.sqrt(qe), kinks, n))
    chi_q = slope_q(qe)
    if not correlation:
        return dict(
            q_star=q, c_star=math.nan, chi1=chi1, chi_q=chi_q, chi_c=math.nan, note=note.strip()
        )
    # correlation map C(c) = (sw E[phi(u1) phi(u2)] + sb) / L(q), u = sqrt(q)(z1, c z1 + s z2)
    rq = math.sqrt(qe)

    def pair(f, c):
        s = math.sqrt(max(1 - c * c, 0.0))
        # for s < 1/2 the inner average is sharp near c x = cut: cut the outer line there too
        knots = tuple(kinks) + (tuple(k / c for k in (*kinks, *_SPLITS)) if s < 0.5 else ())

        def outer(x):
            return f(x) * _expect(f, c * x, rq * s, kinks, n)

        return float(_expect(outer, 0.0, rq, knots, n))

    chi_c1 = chi1 * qe / lq  # slope of C at c = 1
    c_star, chi_c = 1.0, chi_c1
    if chi_c1 > 1 + CRITICAL_TOL:
        cs = np.concatenate([[-1.0, -0.5, 0.0, 0.5, 0.8], 1 - 10.0 ** -np.arange(1.0, 7.0)])
        gc = [(sw * pair(phi, c) + sb) / lq - c for c in cs]
        i = max((k for k in range(len(cs)) if gc[k] >= 0), default=0)
        if i < len(cs) - 1:
            c_star = brentq(lambda c: (sw * pair(phi, c) + sb) / lq - c, cs[i], cs[i + 1])
            chi_c = sw * qe * pair(dphi, c_star) / lq
            c_star = float(c_star)
        else:
            note += "c* within 1e-6 of 1 (unresolved). "
    elif chi1 > 1 + CRITICAL_TOL:
        note += "gradients explode (chi1 > 1) but c* = 1: inputs do not decorrelate (no chaos). "
    return dict(q_star=q, c_star=c_star, chi1=chi1, chi_q=chi_q, chi_c=chi_c, note=note.strip())


def _build(name: str, sw: float, sb: float, err: float, r: dict) -> MeanField:
    chi1 = r["chi1"]
    regime = "critical" if abs(chi1 - 1) <= CRITICAL_TOL else ("ordered" if chi1 < 1 else "chaotic")
    extra = {
        "xi_q": _xi(r["chi_q"]),
        "xi_c": _xi(r["chi_c"]),
        "log_grad_growth_per_layer": 0.5 * math.log(chi1) if chi1 > 0 else -math.inf,
    }
    return MeanField(name, float(sw), float(sb), **r, **extra, regime=regime, quadrature_error=err)


@validate(sigma_w2=Real(min=0, max=1e100), sigma_b2=Real(min=0, max=1e100))
def mean_field(activation, sigma_w2: float, sigma_b2: float) -> MeanField:
    """Mean-field fixed points, susceptibilities and depth scales of a deep random network.

    Parameters
    ----------
    activation : str or (callable, callable)
        'tanh', 'sigmoid', 'relu' (relu'(0) = 0), 'linear', 'hardtanh', or a pair (phi, dphi) of
        vectorized scalar functions (kinks other than those at 0, +-1, +-4, ... are not cut).
    sigma_w2, sigma_b2 : float
        Weight variance times fan-in and bias variance (finite, >= 0).

    Returns
    -------
    MeanField
        Scalars; ``quadrature_error`` is the largest relative change of (q*, c*, chi1, chi_q,
        chi_c) between the 32- and 64-node rules. ``note`` explains degenerate cases.

    Notes
    -----
    q* is the fixed point of L(q) = sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2 that iteration reaches
    from small q (found by a log-grid bracket and brentq); c* is 1 unless the slope of C at c = 1
    exceeds 1 + CRITICAL_TOL, else the largest stable root below 1. Backpropagated errors obey
    E||delta_l||^2 = chi1 E||delta_{l+1}||^2 (Schoenholz et al. 2017), hence the gradient growth.

    Examples
    --------
    >>> mean_field("tanh", 3.0, 0.05).regime
    'chaotic'
    """
    _check(sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    act = _resolve(activation)
    r, r2 = _compute(act, sigma_w2, sigma_b2), _compute(act, sigma_w2, sigma_b2, 2 * _N)
    err = max(
        abs(r[k] - r2[k]) / max(abs(r2[k]), 1e-300) if math.isfinite(r2[k]) else 0.0
        for k in ("q_star", "c_star", "chi1", "chi_q", "chi_c")
    )
    name = activation.lower() if isinstance(activation, str) else "custom"
    return _build(name, sigma_w2, sigma_b2, err, r)


@validate(sigma_b2=Real(min=0, max=1e100))
def critical_sigma_w2(activation, sigma_b2: float) -> float:
    """sigma_w2 on the order-to-chaos line chi1 = 1 at bias variance ``sigma_b2`` (brentq).

    Parameters
    ----------
    activation : str or (callable, callable)
        As in :func:`mean_field`.
    sigma_b2 : float
        Bias variance, >= 0.

    Returns
    -------
    float

    Examples
    --------
    >>> critical_sigma_w2("relu", 0.1)  # He initialisation
    2.0
    """
    _check(sigma_b2=sigma_b2)
    act = _resolve(activation)

    def f(sw: float) -> float:  # chi1 only: the correlation fixed point is not needed
        return _compute(act, sw, sigma_b2, correlation=False)["chi1"] - 1.0

    lo, hi = 1e-3, 1.0
    if f(lo) >= 0:
        raise ValueError("chi1 >= 1 already at sigma_w2 = 1e-3; no order-to-chaos transition")
    while f(hi) < 0:
        lo, hi = hi, 2 * hi
        if hi > 1e8:
            raise ValueError("chi1 < 1 for all sigma_w2 <= 1e8; no order-to-chaos transition")
    return float(brentq(f, lo, hi, xtol=1e-14, rtol=1e-13))


PHASE_QUANTITIES = ("chi1", "xi_c", "q_star", "c_star")


class PhaseDiagram(dict):
    """What :func:`phase_diagram` returns: its dict of grids and quantities, with the
    ``activation`` kept for :meth:`plot`."""

    def __init__(self, activation, values: dict):
        super().__init__(values)
        self.activation = activation

    def plot(self, ax=None, *, levels=(), line_points: int = 16, **style):
        """1/2 ln chi_1 over the grid (needs 'chi1'), contours at ``levels`` and the line
        chi_1 = 1 at ``line_points`` values of sigma_b2; ``style`` goes to the colour mesh. A
        diagram of one sigma_b2 draws 1/2 ln chi_1 against sigma_w2 and the critical sigma_w2
        (``style`` to the curve). Returns the Axes.

        >>> gt.phase_diagram("tanh", [0.5, 1.5, 2.5], [0.0, 0.2]).plot().get_title()
        'tanh mean-field phase diagram'
        """
        from ..figures._plot_theory import plot_phase_diagram

        return plot_phase_diagram(self, ax, levels=levels, line_points=line_points, **style)


def phase_diagram(
    activation, sigma_w2_grid, sigma_b2_grid, quantities=PHASE_QUANTITIES
) -> PhaseDiagram:
    """chi1, xi_c, q*, c* on a grid of (sigma_b2, sigma_w2) (32-node rule, no error estimate).

    Parameters
    ----------
    activation : str or (callable, callable)
    sigma_w2_grid : array_like, shape (n_w,)
    sigma_b2_grid : array_like, shape (n_b,)
    quantities : iterable of str
        Which of 'chi1', 'xi_c', 'q_star', 'c_star' to compute (default all). Without 'xi_c'
        and 'c_star' the correlation fixed point, most of the cost in the chaotic phase, is
        skipped; the values returned are the same as with the default.

    Returns
    -------
    PhaseDiagram
        A dict: 'sigma_w2' (n_w,), 'sigma_b2' (n_b,), and each of ``quantities`` of shape
        (n_b, n_w) (rows are sigma_b2, as imshow expects); ``.plot()`` draws it.

    Examples
    --------
    >>> phase_diagram("tanh", [1.0, 2.0], [0.0], quantities=("chi1",))["chi1"].shape
    (1, 2)
    """
    keys = (quantities,) if isinstance(quantities, str) else tuple(dict.fromkeys(quantities))
    unknown = [k for k in keys if k not in PHASE_QUANTITIES]
    if unknown or not keys:
        raise ValueError(
            f"quantities must be a non-empty subset of {PHASE_QUANTITIES}, got {quantities!r}"
        )
    sw = np.asarray(sigma_w2_grid, float).ravel()
    sb = np.asarray(sigma_b2_grid, float).ravel()
    for v in sw:
        _check(sigma_w2_grid=v)
    for v in sb:
        _check(sigma_b2_grid=v)
    act = _resolve(activation)
    correlation = "xi_c" in keys or "c_star" in keys
    out = {k: np.empty((sb.size, sw.size)) for k in keys}
    for i, b in enumerate(sb):
        for j, w in enumerate(sw):
            m = _build("", w, b, math.nan, _compute(act, w, b, correlation=correlation))
            for k in keys:
                out[k][i, j] = getattr(m, k)
    return PhaseDiagram(activation, {"sigma_w2": sw, "sigma_b2": sb, **out})


@dataclass(frozen=True)
class RNNMeanField:
    """Mean-field state of h_t = phi(W h_{t-1} + b), W_ij ~ N(0, gain^2/N); see rnn_mean_field.

    ``q_star``: stationary pre-activation variance; ``lyapunov``: largest Lyapunov exponent (natural
    log per step); ``regime``: 'ordered' (< 0), 'critical', 'chaotic' (> 0); ``note``: caveats.
    """

    __repr__ = compact_repr()

    gain: float
    sigma_b2: float
    q_star: float
    lyapunov: float
    regime: str
    note: str


@validate(gain=Real(min=0, max=1e50), sigma_b2=Real(min=0, max=1e100))
def rnn_mean_field(activation, gain: float, sigma_b2: float = 0.0) -> RNNMeanField:
    """Mean-field largest Lyapunov exponent of an autonomous random RNN.

    lambda_max = 0.5 ln(gain^2 E[phi'(sqrt(q*) z)^2]), q* = gain^2 E[phi(sqrt(q*) z)^2] + sigma_b2
    (discrete-time analogue of Sompolinsky, Crisanti & Sommers 1988; Molgedey, Schuchhardt &
    Schuster 1992). For tanh with no bias q* = 0 and lambda = ln(gain) when gain < 1, chaos when
    gain > 1. Valid as N -> infinity only: at finite N the transition is smeared, and for tanh at
    gain < 1 the exponent is ln(spectral radius of W) (the linearisation at h = 0), which the
    circular law puts at gain only in the limit (fluctuations ~ sqrt(ln N / N) for Ginibre W).

    Parameters
    ----------
    activation : str or (callable, callable)
    gain : float
        g >= 0; W_ij ~ N(0, g^2/N).
    sigma_b2 : float
        Variance of the (fixed) bias.

    Returns
    -------
    RNNMeanField

    Examples
    --------
    >>> round(rnn_mean_field("tanh", 0.5).lyapunov, 12) == round(math.log(0.5), 12)
    True
    """
    _check(gain=gain, sigma_b2=sigma_b2)
    m = mean_field(activation, gain * gain, sigma_b2)
    note = f"{m.note} mean-field (N -> inf); finite N smears the transition and shifts lambda."
    lam = m.log_grad_growth_per_layer
    return RNNMeanField(float(gain), float(sigma_b2), m.q_star, lam, m.regime, note.strip())
