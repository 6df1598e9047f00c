"""Logistic map 3.5 x (1 - x): a 4-cycle, period doubling, chaos.

Claim: Iterating f(x) = 3.5 x (1 - x) converges to an attracting 4-cycle (negative Lyapunov
exponent); at r = 4 the map is chaotic with Lyapunov exponent ln 2.

Source: lecture notes 001 (iterated functions); May 1976.

Lecture notes 001 use f(x) = 3.5 x (1 - x) to show that iterating even a simple function is
complicated. The fixed points are 0 (multiplier r) and 1 - 1/r (multiplier 2 - r), stable for
1 < r < 3; beyond r = 3 period doubling leads to a 4-cycle at r = 3.5 and to chaos (r = 4:
Lyapunov exponent ln 2). The Lyapunov exponent is the mean of ln|f'(x_t)| = ln|r (1 - 2 x_t)|
along the orbit: the per-step growth of the derivative dx_T/dx_0, i.e. of the gradient through
the iterated map. The bifurcation diagram, its fixed-point branches with their stability and the
finite-time exponent per r (ln|f'| averaged over the kept steps, from the step Jacobians) come
from ``gradtheory.analysis.bifurcation`` (an up-sweep in r with continuation); the cobweb and the
cycle from ``gradtheory.analysis.maps`` (cobweb, attractor), the exponents at r = 3.5 and 4 also
from ``gradtheory.analysis.lyapunov``.
"""

import sys

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, main, tolerances
from gradtheory.figures import PALETTE, new_figure


def logistic(r: float | None = None) -> gt.Network:
    """The logistic map as a network: r a parameter (given) or, if None, the input x_t = r."""
    if r is None:
        return gt.Network(gt.cells.custom("r*h*(1 - h)", state="h", inputs="r"))
    return gt.Network(gt.cells.custom("r*h*(1 - h)", state="h", params={"r": float(r)}))


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    r0, x0 = 3.5, 0.2
    n_r, transient, keep = (600, 400, 100) if quick else (3000, 1000, 300)
    lyap_steps = 5000 if quick else 100000
    rs = np.linspace(2.5, 4.0, n_r)
    sweep = gt.bifurcation(
        logistic,
        "r",
        rs,
        h0=[x0],
        transient=transient,
        keep=keep,
        sweep="up",
        branches=False,
        progress=False,
    ).up
    lam_r = sweep.lyapunov  # finite-time exponent per r over the kept steps
    r_line = np.linspace(2.5, 4.0, 300)
    branches = gt.bifurcation(
        logistic, "r", r_line, h0=[x0], sweep="none", interval=(-0.5, 1.5), progress=False
    ).branches
    att = gt.attractor(logistic(r0), [x0], seed=seed)  # cycle found and Newton-polished
    chaos = gt.attractor(logistic(4.0), [x0], seed=seed)
    cycle = np.sort(att.points[:, 0])
    multiplier = float(np.prod(r0 * (1 - 2 * cycle))) if cycle.size else float("nan")
    web = gt.cobweb(logistic(r0), x0, 60, span=(0.0, 1.0))
    lam35 = float(
        gt.lyapunov(logistic(r0), steps=lyap_steps, h0=[x0], progress=False, seed=seed)[0]
    )
    lam4 = float(
        gt.lyapunov(logistic(4.0), steps=lyap_steps, h0=[x0], progress=False, seed=seed)[0]
    )
    fps = gt.fixed_points(logistic(r0), progress=False, interval=(-0.5, 1.5))

    fig, axes = new_figure(2, 2, width=14.0, height=7.6, gridspec_kw={"width_ratios": [1, 1.35]})
    ax_c = axes[0, 0]
    gs = ax_c.get_gridspec()
    for ax in axes[:, 0]:
        ax.remove()
    ax_c = fig.add_subplot(gs[:, 0])
    ax_b, ax_l = axes[0, 1], axes[1, 1]
    ax_l.sharex(ax_b)

    ax_c.plot(*web["curve"].T, color="black", label=r"$f(x) = 3.5\,x(1-x)$")
    ax_c.plot(*web["diagonal"].T, color="grey", lw=1.2, label="$y = x$")
    ax_c.plot(*web["path"].T, color=PALETTE[0], lw=1.0, alpha=0.8, label=f"orbit from $x_0$ = {x0}")
    ax_c.plot(
        cycle,
        r0 * cycle * (1 - cycle),
        "o",
        color=PALETTE[3],
        ms=9,
        mec="black",
        label=f"attracting {att.period}-cycle",
    )
    ax_c.set_xlabel("$x_t$")
    ax_c.set_ylabel("$x_{t+1}$")
    ax_c.set_title("cobweb at r = 3.5")
    ax_c.set_xlim(0, 1)
    ax_c.set_ylim(0, 1)
    ax_c.legend(loc="lower center", bbox_to_anchor=(0.62, 0.0), fontsize=10)

    ax_b.plot(sweep.param, sweep.states[:, 0], ",", color="black", alpha=0.5)
    # x* = 1 - 1/r, then x* = 0; stability from the library's multipliers
    for branch in sorted(branches, key=lambda b: bool(np.allclose(b.points, 0.0))):
        v, p, st = branch.values, branch.points[:, 0], branch.stable
        if np.allclose(p, 0.0):
            ax_b.plot(
                v[~st], p[~st], "--", color=PALETTE[1], lw=2, label="$x^*=0$ unstable ($r>1$)"
            )
            continue
        ax_b.plot(v[st], p[st], color=PALETTE[2], lw=2.5, label=r"$x^*=1-1/r$ stable ($|2-r|<1$)")
        ax_b.plot(v[~st], p[~st], "--", color=PALETTE[2], lw=2, label="$x^*=1-1/r$ unstable")
    ax_b.plot(
        np.full(cycle.size, r0),
        cycle,
        "o",
        color=PALETTE[3],
        mec="black",
        ms=7,
        label=f"{att.period}-cycle at r = 3.5",
    )
    ax_b.set_ylabel("attractor $x$")
    ax_b.set_title("bifurcation diagram")
    ax_b.legend(loc="upper left", fontsize=9, framealpha=0.95)
    ax_b.set_ylim(-0.05, 1.05)
    ax_l.plot(rs, lam_r, color=PALETTE[0], lw=1)
    ax_l.axhline(0, color="black", lw=1)
    ax_l.axhline(np.log(2), color=PALETTE[3], ls=":", lw=1.5)
    ax_l.text(2.52, np.log(2) + 0.05, "ln 2", color=PALETTE[3])
    ax_l.set_ylim(max(-2.0, float(lam_r.min()) - 0.1), 1.0)
    ax_l.set_xlabel("$r$")
    ax_l.set_ylabel(r"Lyapunov exp. $\lambda$")
    for ax in (ax_b, ax_l):
        ax.axvline(r0, color=PALETTE[3], ls="--", lw=1.2)
    ax_l.plot(
        [r0, 4.0],
        [lam35, lam4],
        "o",
        color=PALETTE[3],
        mec="black",
        ms=8,
        label=rf"gt.lyapunov(): $\lambda(3.5)$ = {lam35:.3f}, $\lambda(4)$ = {lam4:.3f}",
    )
    ax_l.legend(loc="lower left", fontsize=9.5)

    rows = [
        Comparison("Lyapunov exponent at r = 4", float(np.log(2)), lam4, 0.02),
        Comparison(
            "Lyapunov exponent at r = 3.5 vs ln|multiplier of the cycle| / period",
            float(np.log(abs(multiplier)) / max(cycle.size, 1)),
            lam35,
            1e-3,
        ),
        Comparison("gt.attractor() at r = 3.5: kind", "cycle", att.kind, rule="equal"),
        Comparison(
            "gt.attractor() at r = 3.5: exponent of the cycle vs gt.lyapunov()",
            float(att.lyapunov),
            lam35,
            1e-3,
        ),
        Comparison("gt.attractor() at r = 4: kind", "chaos", chaos.kind, rule="equal"),
        Comparison(
            "gt.attractor() at r = 4: exponent vs ln 2",
            float(np.log(2)),
            float(chaos.lyapunov),
            0.05,
        ),
        Comparison(
            "fixed points at r = 3.5 (fixed_points vs 0, 1 - 1/r)",
            [0.0, 1 - 1 / r0],
            fps.points[:, 0].tolist(),
            tolerances.ROUNDING,
        ),
    ]
    numbers = {
        "4-cycle points at r = 3.5": cycle.tolist(),
        "period at r = 3.5": int(att.period),
        "attractor kind at r = 4": chaos.kind,
        "cycle multiplier prod f'(x_i)": multiplier,
        "Lyapunov exponent at r = 3.5": lam35,
        "Lyapunov exponent at r = 4": lam4,
        "ln 2": float(np.log(2)),
        "fixed points at r = 3.5 stable": [bool(s) for s in fps.stable],
        "first r with positive finite-time exponent": float(rs[np.argmax(lam_r > 0.01)]),
    }
    settings = {
        "r": r0,
        "x0": x0,
        "r_grid": [2.5, 4.0, n_r],
        "transient": transient,
        "kept": keep,
        "lyapunov_steps": lyap_steps,
    }
    latex = (
        r"x_{t+1} = r x_t (1 - x_t),\quad \frac{\partial x_T}{\partial x_0} = "
        r"\prod_{t=0}^{T-1} r(1 - 2x_t),\quad \lambda = \lim_{T\to\infty}\frac1T"
        r"\sum_{t=0}^{T-1}\ln|r(1-2x_t)|"
    )
    arrays = {"r": rs, "lyapunov_r": lam_r, "cobweb_orbit": web["orbit"]}
    headline = [
        "4-cycle points at r = 3.5",
        "Lyapunov exponent at r = 3.5",
        "Lyapunov exponent at r = 4",
    ]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)


if __name__ == "__main__":
    sys.exit(main(__file__))
