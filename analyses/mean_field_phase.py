"""Mean-field order-to-chaos transition predicts deep gradient growth.

Claim: Deep random tanh networks have an ordered phase (chi_1 < 1, gradients vanish) and a
chaotic phase (chi_1 > 1, gradients explode) separated by the line chi_1 = 1; the per-layer
growth of backpropagated gradients is 1/2 ln chi_1.

Source: Poole et al. 2016; Schoenholz et al. 2017.

A deep random network x_l = W_l phi(x_{l-1}) + b_l, W_ij ~ N(0, sigma_w^2/N), b_i ~
N(0, sigma_b^2), has at infinite width a stationary pre-activation variance q* and a
susceptibility chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]: E||delta_l||^2 shrinks (chi_1 < 1,
ordered) or grows (chi_1 > 1, chaotic) by chi_1 per layer; chi_1 = 1 is the line
``gt.critical_sigma_w2(sigma_b^2)``. Left: 1/2 ln chi_1 over (sigma_w^2, sigma_b^2) with the
line. Right: finite deep tanh networks (untied, Gaussian init) across sigma_w^2 at fixed
sigma_b^2, their per-layer growth of BPTT adjoint norms (``gt.verify``) against 1/2 ln chi_1.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import PALETTE, new_figure


def deep_check(sigma_w2: float, sigma_b2: float, depth: int, width: int, batch: int, seed: int):
    """gt.verify of a deep random tanh network: mean field 1/2 ln chi_1 vs BPTT per layer."""
    net = gt.Network(gt.cells.elman("tanh"), width, width, depth=depth, tied=False, init="gaussian",
                     gain=float(np.sqrt(sigma_w2)), sigma_b2=sigma_b2, seed=seed)  # fmt: skip
    return gt.verify(net, method="mean_field", batch=batch, seed=seed)


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    sigma_b2 = 0.05
    n_w, n_b = (12, 5) if quick else (36, 16)
    grid_w, grid_b = np.linspace(0.5, 4.0, n_w), np.linspace(0.0, 0.4, n_b)
    depth, width, batch = (30, 120, 8) if quick else (50, 400, 16)
    sweep_w2 = np.array([0.8, 1.4, 1.8, 2.4, 3.2] if quick else
                        [0.6, 0.9, 1.2, 1.5, 1.7, 1.8, 1.9, 2.1, 2.4, 2.8, 3.4, 4.0])  # fmt: skip
    diagram = gt.phase_diagram("tanh", grid_w, grid_b)
    sw_crit = gt.critical_sigma_w2("tanh", sigma_b2)
    checks = [deep_check(w, sigma_b2, depth, width, batch, seed) for w in sweep_w2]
    measured, stderr = np.array([(c.measured_rate, c.measured_stderr) for c in checks]).T
    predicted, agrees = np.array([c.predicted.rate for c in checks]), [c.agrees for c in checks]

    fig, (ax0, ax1) = new_figure(1, 2, width=12.8, height=4.6)
    diagram.plot(ax0, levels=[-0.3, -0.1, 0.05, 0.1], line_points=7 if quick else 16)
    ax0.plot(sweep_w2, 0 * sweep_w2 + sigma_b2, "o", color=PALETTE[2], mec="black",
             label=rf"networks on the right ($\sigma_b^2$ = {sigma_b2})")  # fmt: skip
    ax0.legend(loc="lower right", bbox_to_anchor=(1.0, 0.2), fontsize=9, framealpha=0.9)
    fine = np.linspace(sweep_w2.min(), sweep_w2.max(), 16 if quick else 60)
    gt.phase_diagram("tanh", fine, [sigma_b2], quantities=("chi1",)).plot(ax1)
    label = f"measured BPTT (L = {depth}, N = {width}; 3 s.e.)"
    ax1.errorbar(sweep_w2, measured, yerr=np.maximum(3 * stderr, 1e-9), fmt="o",
                 color=PALETTE[0], capsize=4, label=label)  # fmt: skip
    ax1.set(title=rf"deep tanh networks, $\sigma_b^2$ = {sigma_b2}",
            ylabel=r"growth of $\ln\|\partial L/\partial s_l\|$ per layer back")  # fmt: skip
    ax1.legend(loc="lower right", fontsize=10)

    rows = [Comparison.from_check(f"per-layer gradient growth at sigma_w2 = {w:g}", c)
            for w, c in zip(sweep_w2, checks, strict=True)]  # fmt: skip
    away = np.abs(sweep_w2 - sw_crit) > 0.2
    same_sign = np.sign(measured[away]) == np.sign(predicted[away])
    numbers = {"critical sigma_w2 at sigma_b2 = 0.05": sw_crit,
               "critical sigma_w2 at sigma_b2 = 0": gt.critical_sigma_w2("tanh", 0.0),
               "agreeing sigma_w2 values": int(sum(agrees)),
               "sigma_w2 values": len(sweep_w2),
               "max |measured - predicted|": float(np.abs(measured - predicted).max()),
               "sign agreement away from critical": bool(np.all(same_sign))}  # fmt: skip
    settings = {"sigma_b2": sigma_b2, "depth": depth, "width": width, "batch": batch,
                "sigma_w2_grid": [float(grid_w[0]), float(grid_w[-1]), n_w],
                "sigma_b2_grid": [float(grid_b[0]), float(grid_b[-1]), n_b],
                "sweep_sigma_w2": sweep_w2.tolist()}  # fmt: skip
    latex = (r"q^* = \sigma_w^2\,\mathbb{E}_z[\tanh^2(\sqrt{q^*}z)] + \sigma_b^2,\quad "
             r"\chi_1 = \sigma_w^2\,\mathbb{E}_z[\tanh'^2(\sqrt{q^*}z)],\quad "
             r"\frac{\|\delta_{l}\|}{\|\delta_{l+1}\|} \approx \sqrt{\chi_1}")  # fmt: skip
    arrays = {"sigma_w2": grid_w, "sigma_b2": grid_b, "chi1": diagram["chi1"],
              "xi_c": diagram["xi_c"], "sweep_sigma_w2": sweep_w2, "measured": measured,
              "stderr": stderr, "agrees": np.array(agrees), "predicted": predicted,
              "tolerance": np.array([c.tolerance for c in checks])}  # fmt: skip
    headline = ["critical sigma_w2 at sigma_b2 = 0.05", "max |measured - predicted|"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
