"""Logistic map 3.5 x (1 - x): a 4-cycle, period doubling, chaos.

Claim: Iterating f(x) = 3.5 x (1 - x) converges to an attracting 4-cycle (negative Lyapunov
exponent); at r = 4 the map is chaotic with Lyapunov exponent ln 2.

Source: lecture notes 001 (iterated functions); May 1976.

The fixed points are 0 (multiplier r) and 1 - 1/r (multiplier 2 - r), stable for 1 < r < 3;
beyond r = 3 period doubling leads to a 4-cycle at r = 3.5 and to chaos. The Lyapunov exponent,
the mean of ln|f'(x_t)| = ln|r (1 - 2 x_t)| along the orbit, is the per-step growth of dx_T/dx_0:
of the gradient through the iterated map. ``gt.bifurcation`` (an up-sweep in r) gives the
diagram and the finite-time exponent per r, ``gt.attractor`` the cycle and its cobweb,
``gt.lyapunov`` the exponents at r = 3.5 and 4.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, tolerances
from gradtheory.figures import PALETTE, new_mosaic


def logistic(r: float) -> gt.Network:
    return gt.Network(gt.cells.custom("r*h*(1 - h)", state="h", params={"r": float(r)}))


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    r0, x0 = 3.5, 0.2
    n_r, transient, keep = (600, 400, 100) if quick else (3000, 1000, 300)
    lyap_steps = 5000 if quick else 100000
    rs, kw = np.linspace(2.5, 4.0, n_r), {"h0": [x0], "progress": False}
    bif = gt.bifurcation(logistic, "r", rs, transient=transient, keep=keep, sweep="up",
                         branches=False, **kw)  # fmt: skip
    lam_r = bif.up.lyapunov  # finite-time exponent per r over the kept steps
    branches = gt.bifurcation(logistic, "r", np.linspace(2.5, 4.0, 300), sweep="none",
                              interval=(-0.5, 1.5), **kw)  # fmt: skip
    both = logistic(r0).vary(r=[r0, 4.0])  # the two systems of the claim in one network
    att, chaos = gt.attractor(both, [x0], seed=seed)
    cycle = np.sort(att.points[:, 0])
    multiplier = float(np.prod(r0 * (1 - 2 * cycle))) if cycle.size else float("nan")
    lam35, lam4 = gt.lyapunov(both, steps=lyap_steps, seed=seed, **kw)[:, 0].tolist()
    fps = gt.fixed_points(logistic(r0), progress=False, interval=(-0.5, 1.5))

    fig, axes = new_mosaic("ab;ac", width=14.0, height=7.6, width_ratios=[1, 1.35])
    att.plot(axes["a"], net=logistic(r0), h0=[x0])
    bif.plot(axes["b"])
    branches.plot(axes["b"]).set(ylim=(-0.05, 1.05), xlabel="")
    ax = bif.plot_lyapunov(axes["c"], label=None)
    ax.sharex(axes["b"])
    label = rf"gt.lyapunov(): $\lambda(3.5)$ = {lam35:.3f}, $\lambda(4)$ = {lam4:.3f}"
    ax.plot([r0, 4.0], [lam35, lam4], "o", color=PALETTE[3], mec="black", ms=8, label=label)
    ax.axhline(np.log(2), color=PALETTE[3], ls=":", lw=1.5, label="ln 2")
    ax.set(title="", ylim=(max(-2.0, lam_r.min() - 0.1), 1))
    ax.legend(loc="lower left", fontsize=9.5)

    rows = [
        Comparison("Lyapunov exponent at r = 4", float(np.log(2)), lam4, 0.02),
        Comparison("Lyapunov exponent at r = 3.5 vs ln|multiplier of the cycle| / period",
                   float(np.log(abs(multiplier)) / max(cycle.size, 1)), lam35, 1e-3),
        Comparison("gt.attractor() at r = 3.5: kind", "cycle", att.kind, rule="equal"),
        Comparison("gt.attractor() at r = 3.5: exponent of the cycle vs gt.lyapunov()",
                   float(att.lyapunov), lam35, 1e-3),
        Comparison("gt.attractor() at r = 4: kind", "chaos", chaos.kind, rule="equal"),
        Comparison("gt.attractor() at r = 4: exponent vs ln 2", float(np.log(2)),
                   float(chaos.lyapunov), 0.05),
        Comparison("fixed points at r = 3.5 (fixed_points vs 0, 1 - 1/r)", [0.0, 1 - 1 / r0],
                   fps.points[:, 0].tolist(), tolerances.ROUNDING),
    ]  # fmt: skip
    first_chaotic = float(rs[np.argmax(lam_r > 0.01)])
    numbers = {"4-cycle points at r = 3.5": cycle.tolist(), "period at r = 3.5": int(att.period),
               "attractor kind at r = 4": chaos.kind, "cycle multiplier prod f'(x_i)": multiplier,
               "Lyapunov exponent at r = 3.5": lam35, "Lyapunov exponent at r = 4": lam4,
               "ln 2": float(np.log(2)), "fixed points at r = 3.5 stable": fps.stable.tolist(),
               "first r with positive finite-time exponent": first_chaotic}  # fmt: skip
    settings = {"r": r0, "x0": x0, "r_grid": [2.5, 4.0, n_r], "transient": transient,
                "kept": keep, "lyapunov_steps": lyap_steps}  # fmt: skip
    latex = (r"x_{t+1} = r x_t (1 - x_t),\quad \frac{\partial x_T}{\partial x_0} = "
             r"\prod_{t=0}^{T-1} r(1 - 2x_t),\quad \lambda = \lim_{T\to\infty}\frac1T"
             r"\sum_{t=0}^{T-1}\ln|r(1-2x_t)|")  # fmt: skip
    orbit = gt.cobweb(logistic(r0), x0, 60)["orbit"]
    arrays = {"r": rs, "lyapunov_r": lam_r, "cobweb_orbit": orbit}
    headline = ["4-cycle points at r = 3.5", *(f"Lyapunov exponent at r = {r}" for r in (3.5, 4))]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
