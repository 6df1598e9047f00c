"""Depth: plain networks degrade, residual ones do not.

Claim: Going back through a deep plain network the gradient norm changes exponentially with
depth (vanishing or exploding), while a residual network's Jacobian I + dF/dx keeps it of order
one; highway carry gates interpolate.

Source: He et al. 2015; Srivastava et al. 2015; lecture notes 000 and 001 (Jacobian I + dF/dx).

Untied chains of depth L: plain tanh (gain 1 and 1.5) and ReLU (He gain sqrt 2) Elman layers,
residual tanh blocks with a small second weight (W2 scaled by 1/sqrt(L)), and highway tanh
blocks with transform-gate bias -2 and -5. One input batch enters at layer 1, a unit probe
dL/ds_L is sent back, and BPTT's ln ||dL/ds_l|| is recorded for several seeds. Per-layer rates
are predicted by the mean-field chi_1 (plain Gaussian networks) and by the step Jacobians along
the trajectory (all) with ``gt.verify``.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, _common, claim
from gradtheory.figures import PALETTE, new_figure

#: name -> (cell, network keyword arguments, mean-field route applies, figure label)
MODELS = {
    "plain tanh, gain 1": (gt.cells.elman("tanh"), {"gain": 1.0}, True, None),
    "plain tanh, gain 1.5": (gt.cells.elman("tanh"), {"gain": 1.5}, True, None),
    "plain ReLU, He (gain sqrt 2)": (gt.cells.elman("relu"), {"gain": np.sqrt(2.0)}, True,
                                     "plain ReLU, He (gain $\\sqrt{2}$)"),
    "residual tanh, W2/sqrt L": (gt.cells.residual("tanh"), {"gain": 1.0}, False,
                                 "residual tanh, $W_2/\\sqrt{L}$"),
    "highway tanh, b_T=-2": (gt.cells.highway("tanh", gate_bias=-2.0), {"gain": 1.0}, False,
                             "highway tanh, $b_T=-2$"),
    "highway tanh, b_T=-5": (gt.cells.highway("tanh", gate_bias=-5.0), {"gain": 1.0}, False,
                             "highway tanh, $b_T=-5$"),
}  # fmt: skip


def gradient_profile(name: str, depth: int, width: int, seeds, x: np.ndarray) -> dict:
    """``jacobian`` and ``mean_field`` Verifications per seed (none where the route does not
    apply; Gaussian init, residual W2 scaled by 1/sqrt(depth)), ``gate``, the mean highway
    transform gate (nan otherwise), and ``log_norms`` (seeds, L+1), BPTT's ln||dL/ds_l||."""
    cell, kwargs, mean_field, _ = MODELS[name]
    out = {"jacobian": [], "mean_field": [], "gate": []}
    for s in seeds:
        net = gt.Network(cell, width, width, depth=depth, tied=False, init="gaussian", seed=s,
                         **kwargs)  # fmt: skip
        if "W2" in net.params:
            net.params["W2"] = net.params["W2"] / np.sqrt(depth)
        out["jacobian"].append(gt.verify(net, x, method="jacobian", seed=s))
        if mean_field:
            out["mean_field"].append(gt.verify(net, x, method="mean_field", seed=s))
        if "highway" in net.cell.name:
            a_T = net.forward(x).tape.env["a_T"]
            out["gate"].append(float(np.mean(1.0 / (1.0 + np.exp(-a_T)))))
    out["gate"] = float(np.mean(out["gate"])) if out["gate"] else float("nan")
    out["log_norms"] = np.array([c.log_norms for c in out["jacobian"]])
    return out


def _row(name: str, route: str, checks) -> Comparison:
    """Mean predicted and measured rate over the seeds; agrees when verify agrees on every seed."""
    predicted = float(np.mean([c.predicted.rate for c in checks]))
    measured = float(np.mean([c.measured_rate for c in checks]))
    tolerance = float(np.max([c.tolerance for c in checks]))
    rule, agrees = "gt.verify agrees on every seed", all(c.agrees for c in checks)
    return Comparison(
        f"rate per layer, {name} ({route})", predicted, measured, tolerance, rule, agrees
    )


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    depth, width = (50, 64) if quick else (100, 128)
    seeds, batch = [seed + k for k in range(3 if quick else 5)], 16
    x = np.random.default_rng([seed, 11]).normal(size=(batch, width))
    fig, (ax, ax_rate) = new_figure(1, 2, width=13.0, height=4.8)
    layers = np.arange(depth + 1)
    numbers, rows, arrays = {}, [], {}
    for k, (color, name) in enumerate(zip(PALETTE, MODELS, strict=False)):
        prof = gradient_profile(name, depth, width, seeds, x)
        log10, jac = prof["log_norms"] / np.log(10.0), prof["jacobian"]
        mean = log10.mean(axis=0)
        _common.band(ax, layers, log10, color, MODELS[name][3] or name, alpha=0.2)
        ax_rate.plot(layers[1:], np.mean([c.per_layer for c in jac], axis=0), color=color, lw=1.5)
        ax_rate.plot(layers[1:], np.mean([c.predicted.per_layer for c in jac], axis=0), "--",
                     color=color, lw=1.5)  # fmt: skip
        numbers[f"log10 |dL/ds_0| / |dL/ds_L|, {name}"] = float(mean[0] - mean[-1])
        spread = float(np.ptp(log10[:, 0]))
        numbers[f"spread over seeds (log10, max - min at layer 0), {name}"] = spread
        rows.append(jac_row := _row(name, "jacobian", jac))
        if prof["mean_field"]:
            rows.append(_row(name, "mean_field", prof["mean_field"]))
            chi1 = prof["mean_field"][0].predicted.details["chi1"]
            numbers[f"mean-field chi_1, {name}"] = float(chi1)
        if np.isfinite(prof["gate"]):
            numbers[f"mean transform gate T, {name}"] = prof["gate"]
            tol, carry = float(np.mean([c.tolerance for c in jac])), float(np.log1p(-prof["gate"]))
            quantity = f"rate per layer, {name} (carry only: ln(1 - mean T))"
            rows.append(Comparison(quantity, carry, jac_row.measured, tol))
        arrays[f"log_norms_{k}"] = prof["log_norms"]
    ylabel = r"$\log_{10}\|\partial L/\partial s_l\|$  ($\|\partial L/\partial s_L\|=1$)"
    title = f"Gradient norm through depth (L = {depth}, width {width}, {len(seeds)} seeds)"
    ax.set(xlabel="layer $l$", ylabel=ylabel, title=title)
    ax.legend(fontsize=9, loc="best")
    ax_rate.axhline(0.0, color="grey", lw=1, ls=":")
    ax_rate.set(
        xlabel="layer $l$",
        ylabel=r"rate $\ln\|\delta_{l-1}\| - \ln\|\delta_l\|$ per layer",
        title="Per-layer rate: measured (solid), Jacobian route (dashed)",
    )
    settings = {"depth": depth, "width": width, "seeds": seeds, "batch": batch, "init": "gaussian",
                "residual W2 scale": f"1/sqrt({depth})", "highway gate_bias": [-2.0, -5.0],
                "probe": "unit random dL/ds_L"}  # fmt: skip
    latex = (r"J_l^{\mathrm{plain}} = \operatorname{diag}(\phi'(a_l))\,W_l,\qquad "
             r"J_l^{\mathrm{res}} = I + W_{2,l}\operatorname{diag}(\phi'(a_l))\,W_{1,l},\qquad "
             r"\frac{\partial L}{\partial s_0} = J_1^{\top}\cdots J_L^{\top}"
             r"\frac{\partial L}{\partial s_L},\qquad "
             r"\mathrm{rate}_{\mathrm{MF}} = \tfrac12\ln\chi_1,\ "
             r"\chi_1 = \sigma_w^2\,\mathbb{E}[\phi'(\sqrt{q^*}z)^2]")  # fmt: skip
    headline = [k for k in numbers if k.startswith("log10")]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
