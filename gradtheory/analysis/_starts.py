"""Private: starting points of a fixed-point search, and the test of the map's symmetry.

* :func:`trajectory_starts`: states visited by the map from random initial states, with noise
  (the first round; Sussillo & Barak 2013 start from visited states).
* :func:`later_starts`: later rounds, uniform in the box of everything seen so far and on
  segments between known fixed points.
* :func:`odd_map`: whether F(-s) = -F(s), tested on the network's own map.
"""

from __future__ import annotations

import numpy as np

from ._mapeval import MapEval

__all__ = ["later_starts", "odd_map", "trajectory_starts"]


def trajectory_starts(
    ev: MapEval, n_starts: int, noise: float, rng, steps: int = 64, bound: float = 1e6
) -> tuple[np.ndarray, np.ndarray]:
    """Trajectory samples (random initial states run on x, one random time each) + noise.

    Returns the starts and the visited states (for the box of later rounds).
    """
    s = rng.normal(0.0, 1.0, (n_starts, ev.n))
    traj = [s]
    for _ in range(steps):
        s = ev.value(s)
        traj.append(s)
    traj = np.stack(traj)
    pick = traj[rng.integers(0, steps + 1, n_starts), np.arange(n_starts)]
    pick = pick[np.all(np.isfinite(pick), axis=1) & (np.abs(pick).max(axis=1) < bound)]
    out = pick + noise * rng.normal(size=pick.shape)
    if ev.n == 2 and len(pick):
        lo, hi = pick.min(axis=0), pick.max(axis=0)
        pad = 0.1 * (hi - lo) + 0.1
        axes = [np.linspace(a - p, b + p, 21) for a, b, p in zip(lo, hi, pad, strict=True)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        out = np.vstack([out, grid])
    return out, pick


def later_starts(
    known: np.ndarray, visited: np.ndarray, n_starts: int, noise: float, rng
) -> np.ndarray:
    """Starts of a later round: uniform in the padded box of everything seen so far, and points
    on the segments between two known fixed points (saddles often lie between attractors)."""
    seen = np.vstack([visited, known]) if len(visited) else known
    if len(seen) == 0:
        return rng.normal(0.0, 1.0, (n_starts, known.shape[1]))
    lo, hi = seen.min(axis=0), seen.max(axis=0)
    pad = 0.1 * (hi - lo) + noise
    n_between = n_starts // 2 if len(known) >= 2 else 0
    uniform = rng.uniform(lo - pad, hi + pad, (n_starts - n_between, len(lo)))
    i = rng.integers(0, len(known), n_between)
    j = (i + rng.integers(1, max(len(known), 2), n_between)) % max(len(known), 1)
    t = rng.uniform(0.0, 1.0, (n_between, 1))
    between = known[i] + t * (known[j] - known[i]) if n_between else uniform[:0]
    between = between + noise * rng.normal(size=between.shape)
    return np.vstack([uniform, between])


def odd_map(ev: MapEval, seed: int = 0, n_probe: int = 48) -> bool:
    """Whether F(-s) = -F(s) holds for this network at this input, tested on the map itself.

    F is evaluated at random states on three scales (0.1, 1 and 10) and at their negatives,
    through the same program that runs the network, so bias, input and every parameter take
    part: any non-zero bias or input term, or an activation that is not odd, shows up as
    F(-s) + F(s) != 0. Tolerance: 1e-12 relative to |F| (float negation is exact and the
    products are symmetric, so an odd map gives 0 up to rounding of the kernels).
    """
    rng = np.random.default_rng([seed, 0x0DD])
    s = (
        rng.normal(size=(n_probe, ev.n))
        * np.repeat([0.1, 1.0, 10.0], -(-n_probe // 3))[:n_probe, None]
    )
    plus, minus = ev.value(s), ev.value(-s)
    if not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
        return False
    return bool(np.all(np.abs(plus + minus) <= 1e-12 * (1.0 + np.abs(plus))))
