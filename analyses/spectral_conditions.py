"""Spectral conditions: sigma_max < 1/gamma suffices for vanishing, > 1/gamma is needed to explode.

Claim: If gamma sigma_max(W) < 1 the gradient vanishes (sufficient); gamma sigma_max(W) > 1 is
necessary for it to explode but not sufficient.

Source: Pascanu, Mikolov and Bengio 2013 (Sec. 3.1); lecture notes 003 (spectral-radius
conditions).

With gamma = sup |phi'| (1 for tanh, 1/4 for the sigmoid), ||dh_t/dh_{t-1}|| <= gamma
sigma_max(W) bounds the gradient's log growth rate per step by ln(gamma sigma_max). Random
networks (orthogonal, i.e. normal, and Gaussian, i.e. non-normal, W rescaled to a chosen
gamma sigma_max) driven by random inputs are measured by BPTT (``verify``, ``pascanu`` route).
The lecture notes (003) state the conditions with the spectral radius: the right panel shows
the same networks against gamma rho(W).
"""

import numpy as np
from matplotlib.ticker import NullFormatter

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import PALETTE, new_figure
from gradtheory.symbolic.registry import ACTIVATIONS

#: The critical band of ``predict``: |rate| <= BAND counts as neither vanishing nor exploding.
BAND = 0.01


def sweep(activation: str, count: int, n: int, T: int, batch: int, seed: int) -> dict:
    """Measure ``count`` random networks with gamma sigma_max log-uniform in [0.25, 4]."""
    rng = np.random.default_rng([seed, 31, len(activation)])
    cell, gamma = gt.cells.elman(activation), ACTIVATIONS[activation].gamma
    records = []
    for k in range(count):
        target = float(np.exp(rng.uniform(np.log(0.25), np.log(4.0))))
        raw = rng.normal(size=(n, n))
        if k % 2:  # every other W orthogonal (normal), the rest Gaussian (non-normal)
            raw = np.linalg.qr(raw)[0]
        W = raw * (target / gamma / np.linalg.norm(raw, 2))
        net = gt.Network(cell, 1, n, params={"W": W}, seed=int(rng.integers(2**31)))
        check = gt.verify(net, rng.normal(size=(T, batch, 1)), method="pascanu", seed=seed + k)
        rho = gamma * float(np.max(np.abs(np.linalg.eigvals(net.params["W"]))))
        records.append((target, rho, check.predicted.rate, check.measured_rate, check.agrees))
    keys, columns = ("sigma", "rho", "bound", "measured", "agrees"), zip(*records, strict=True)
    out = {key: np.array(column) for key, column in zip(keys, columns, strict=True)}
    return out | {"normal": np.arange(count) % 2 == 1}


def _counts(r: dict) -> dict:
    below, above = r["sigma"] < 1.0, r["sigma"] > 1.0
    vanish, explode = r["measured"] < -BAND, r["measured"] > BAND
    rho_below = r["rho"] < 1.0
    counts = {"below": below, "below_vanished": below & vanish, "below_exploded": below & explode,
              "above": above, "above_not_exploded": above & ~explode,
              "above_exploded": above & explode, "bound_holds": r["agrees"],
              "total": np.ones_like(below), "rho_below": rho_below,
              "rho_below_vanished": rho_below & vanish}  # fmt: skip
    return {key: int(mask.sum()) for key, mask in counts.items()}


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    count, n, T, batch = (40, 32, 200, 8) if quick else (120, 64, 300, 16)
    fig, (ax, ax_rho) = new_figure(1, 2, width=13.0, height=5.0, sharey=True)
    results = {a: sweep(a, count, n, T, batch, seed) for a in ("tanh", "sigmoid")}
    numbers, rows = {}, []
    for color, marker, (activation, r) in zip(PALETTE, "os", results.items(), strict=False):
        gamma = ACTIVATIONS[activation].gamma
        for normal, kind in ((True, "orthogonal"), (False, "Gaussian")):
            pick, label = r["normal"] == normal, f"{activation} ($\\gamma$ = {gamma:g}), {kind} W"
            style = {"mfc": color if normal else "none", "color": color, "ls": "none"}
            for a, x in ((ax, r["sigma"]), (ax_rho, r["rho"])):
                a.semilogx(x[pick], r["measured"][pick], marker, label=label, **style)
        c = _counts(r)
        numbers.update({f"{activation}: {key}": value for key, value in c.items()})
        rows += [
            Comparison(f"{activation}: networks with gamma sigma_max < 1 that vanish (sufficient "
                       "condition)", c["below"], c["below_vanished"]),
            Comparison(f"{activation}: networks that explode with gamma sigma_max <= 1 (necessary "
                       "condition)", 0, c["below_exploded"]),
            Comparison(f"{activation}: networks with rate <= ln(gamma sigma_max) + tol", c["total"],
                       c["bound_holds"]),
            Comparison(f"{activation}: networks with gamma rho(W) < 1 that vanish (lecture notes "
                       "003, spectral radius)", c["rho_below"], c["rho_below_vanished"]),
        ]  # fmt: skip
    grid = np.geomspace(0.2, 5.0, 100)
    ax.semilogx(grid, np.log(grid), color="black", label=r"bound $\ln(\gamma\,\sigma_{\max})$")
    for a in (ax, ax_rho):
        a.axvline(1.0, color="grey", ls="--", lw=1.2)
        a.axhline(0.0, color="grey", ls=":", lw=1)
        a.set_ylim(-2.5, 1.6)
        a.set_xticks([0.125, 0.25, 0.5, 1, 2, 4], labels=["1/8", "1/4", "1/2", "1", "2", "4"])
        a.xaxis.set_minor_formatter(NullFormatter())
    ax.axvspan(0.2, 1.0, color=PALETTE[2], alpha=0.08)
    ax.text(0.22, 1.45, "vanishing guaranteed", fontsize=10, va="top")
    ax.text(1.05, 1.45, "exploding possible", fontsize=10, va="top")
    ax.set(xlabel=r"$\gamma\,\sigma_{\max}(W)$", ylabel="measured gradient growth rate per step",
           title=f"Pascanu et al. condition (n = {n}, T = {T})")  # fmt: skip
    ax.legend(fontsize=8.5, loc="lower right")
    ax_rho.set(xlabel=r"$\gamma\,\rho(W)$ (spectral radius)",
               title="Same networks against the spectral radius")  # fmt: skip
    settings = {"networks per activation": count, "n_hidden": n, "T": T, "batch": batch,
                "gamma sigma_max": "log-uniform in [0.25, 4]",
                "W": "alternately orthogonal and Gaussian, rescaled",
                "inputs": "N(0, 1), U ~ N(0, 1), b = 0",
                "vanish / explode": f"measured rate < -{BAND} / > {BAND}"}  # fmt: skip
    latex = (r"\Big\|\frac{\partial h_t}{\partial h_{t-1}}\Big\| = "
             r"\|\operatorname{diag}(\phi'(a_t))\,W\| \le \gamma\,\sigma_{\max}(W)"
             r"\ \Rightarrow\ \Big\|\frac{\partial h_T}{\partial h_{T-k}}\Big\| \le "
             r"(\gamma\,\sigma_{\max})^{k}")  # fmt: skip
    arrays = {f"{a}_{k}": v for a, r in results.items() for k, v in r.items()}
    headline = [f"{a}: above_not_exploded" for a in results] + [f"{a}: above" for a in results]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
