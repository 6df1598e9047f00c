"""Drawing theory's forecasts: the mean-field phase diagram and a Prediction's gradient decay;
and their formulas as LaTeX (``_repr_latex_`` in notebooks)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from ._axes import one_axes
from .style import PALETTE

__all__ = [
    "latex_mean_field",
    "latex_prediction",
    "plot_mean_field",
    "plot_phase_diagram",
    "plot_prediction",
]

_LN1000 = float(np.log(1000.0))


def plot_mean_field(
    result, ax=None, *, sigma_b2_max: float | None = None, points: int = 25, **style
):
    """The order-to-chaos line chi_1 = 1 in the (sigma_w^2, sigma_b^2) plane, both phases
    shaded, and this network's point marked with its chi_1 (custom activations: the point)."""
    from ..analysis.mean_field import critical_sigma_w2

    ax = one_axes(ax)
    top = sigma_b2_max or max(2.0 * result.sigma_b2, 0.5)
    # the line bends most near sigma_b2 = 0 (tanh: from 1 to ~2 by 0.1), so sample densely there
    sb = top * np.linspace(0.0, 1.0, points) ** 2
    line = None
    if result.activation != "custom":
        try:
            line = np.array([critical_sigma_w2(result.activation, b) for b in sb])
        except ValueError:  # no transition for this activation: only the point is drawn
            line = None
    right = max(result.sigma_w2, *(line if line is not None else [1.0])) * 1.3
    if line is not None:
        ax.plot(line, sb, color="black", label=r"$\chi_1 = 1$ (critical)")
        ax.fill_betweenx(
            sb, 0.0, line, color=PALETTE[0], alpha=0.15, lw=0, label=r"ordered: gradients vanish"
        )
        ax.fill_betweenx(
            sb, line, right, color=PALETTE[3], alpha=0.15, lw=0, label=r"chaotic: gradients explode"
        )
    marker_style = {"color": PALETTE[3] if result.chi1 > 1 else PALETTE[0], "ms": 10, **style}
    ax.plot(
        result.sigma_w2,
        result.sigma_b2,
        "*",
        linestyle="none",
        mec="black",
        label=rf"this network: $\chi_1$ = {result.chi1:.4g} ({result.regime})",
        **marker_style,
    )
    ax.set_xlim(0.0, right)
    ax.set_ylim(0.0, max(top, result.sigma_b2 * 1.1))
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    ax.set_title(f"mean-field phase diagram ({result.activation})")
    ax.legend(loc="upper left", fontsize=9)
    return ax


def plot_phase_diagram(result, ax=None, *, levels=(), line_points: int = 16, **style):
    """1/2 ln chi_1, the per-layer log growth of the gradient, over the (sigma_w^2, sigma_b^2)
    grid on a scale diverging at 0 (ordered below, chaotic above), its contours at ``levels``
    and the line chi_1 = 1, sampled densely near sigma_b^2 = 0 where it bends; for a single
    sigma_b^2, the curve against sigma_w^2 with the critical sigma_w^2."""
    from ..analysis.mean_field import critical_sigma_w2

    if "chi1" not in result:
        raise ValueError(f"PhaseDiagram.plot: the diagram must hold 'chi1'; got {list(result)}")
    ax = one_axes(ax)
    sw, sb = result["sigma_w2"], result["sigma_b2"]
    growth = 0.5 * np.log(result["chi1"])
    name = result.activation if isinstance(result.activation, str) else "custom"
    if len(sb) == 1:
        return _phase_cut(result.activation, name, sw, sb[0], growth[0], ax, **style)
    norm = TwoSlopeNorm(0.0, min(growth.min(), -1e-12), max(growth.max(), 1e-12))
    mesh_style = {"cmap": "PuOr_r", "shading": "gouraud", "norm": norm, **style}
    mesh = ax.pcolormesh(sw, sb, growth, **mesh_style)
    ax.figure.colorbar(mesh, ax=ax, label=r"$\frac{1}{2}\ln\chi_1$ per layer")
    if len(levels):
        contours = ax.contour(sw, sb, growth, levels=list(levels), colors="dimgrey")
        ax.clabel(contours, fontsize=9, fmt="%g")
    line_b = sb.max() * np.linspace(0.0, 1.0, line_points) ** 2
    try:
        line_w = [critical_sigma_w2(result.activation, b) for b in line_b]
    except ValueError:  # no transition for this activation: no line
        line_w = None
    if line_w is not None:
        ax.plot(line_w, line_b, "k-", lw=2.5, label=r"$\chi_1 = 1$ (critical_sigma_w2)")
        for x, text in ((0.06, "ordered\n(vanishing)"), (0.71, "chaotic\n(exploding)")):
            ax.text(x, 0.82, text, transform=ax.transAxes, fontsize=12)
    ax.set_xlabel(r"weight variance $\sigma_w^2$")
    ax.set_ylabel(r"bias variance $\sigma_b^2$")
    ax.set_title(f"{name} mean-field phase diagram")
    ax.grid(False)
    return ax


def _phase_cut(activation, name: str, sw, sb: float, growth, ax, **style):
    """A diagram of one sigma_b^2: 1/2 ln chi_1 against sigma_w^2 and the critical sigma_w^2."""
    from ..analysis.mean_field import critical_sigma_w2

    label = r"mean field $\frac{1}{2}\ln\chi_1$"
    ax.plot(sw, growth, **{"color": PALETTE[3], "label": label, **style})
    ax.axhline(0, color="grey", lw=1)
    try:
        critical = critical_sigma_w2(activation, sb)
        ax.axvline(
            critical, color="black", ls="--", label=rf"critical $\sigma_w^2$ = {critical:.3f}"
        )
    except ValueError:  # no transition for this activation
        pass
    ax.set_xlabel(r"weight variance $\sigma_w^2$")
    ax.set_ylabel(r"$\frac{1}{2}\ln\chi_1$ per layer")
    ax.set_title(rf"{name} mean field at $\sigma_b^2$ = {sb:g}")
    ax.legend(loc="best", fontsize=9)
    return ax


def plot_prediction(result, ax=None, *, steps: int | None = None, **style):
    """The forecast ln(||dL/ds_{T-k}|| / ||dL/ds_T||) = rate k over k steps back, the critical
    band around it and the horizon; for an untied chain, the rate of every layer."""
    ax = one_axes(ax)
    line_style = {"color": PALETTE[0], **style}
    if result.per_layer is not None:
        layers = np.arange(1, len(result.per_layer) + 1)
        ax.plot(layers, result.per_layer, "o-", label="predicted rate per layer", **line_style)
        ax.axhline(result.rate, color=PALETTE[3], ls="--", label=f"mean {result.rate:+.3g}")
        ax.axhspan(-result.band, result.band, color="grey", alpha=0.2, label="critical band")
        ax.set_xlabel("layer")
        ax.set_ylabel("log growth per layer")
    else:
        horizon = result.horizon if np.isfinite(result.horizon) else None
        span = steps or int(min(max(2 * (horizon or 100), 10), 10_000))
        k = np.linspace(0.0, span, 200)
        ax.plot(
            k, result.rate * k, label=f"{result.regime}: rate {result.rate:+.3g}/step", **line_style
        )
        ax.fill_between(
            k,
            -result.band * k,
            result.band * k,
            color="grey",
            alpha=0.2,
            lw=0,
            label="critical band",
        )
        if horizon is not None and horizon <= span:
            ax.axvline(horizon, color=PALETTE[3], ls=":", label=f"horizon {horizon:.1f} steps")
            ax.axhline(-_LN1000, color=PALETTE[3], ls=":", lw=0.8)
        ax.set_xlabel("steps back k")
        ax.set_ylabel(r"$\ln(\|\partial L/\partial s_{T-k}\| / \|\partial L/\partial s_T\|)$")
    ax.set_title(f"prediction ({result.method})")
    ax.legend(loc="best", fontsize=9)
    return ax


def latex_prediction(result) -> str:
    """The forecast as one formula (one ``$...$`` block, as notebooks expect)."""
    return (
        r"$\|\partial L/\partial s_{t-k}\| \approx e^{"
        + f"{result.rate:+.4g}"
        + r"\,k}\,\|\partial L/\partial s_t\| \quad \text{("
        + f"{result.regime}, method {result.method.replace('_', ' ')})"
        + "}$"
    )


def latex_mean_field(result) -> str:
    """chi_1's definition and value, and the per-layer gradient growth it gives."""
    return (
        r"$\chi_1 = \sigma_w^2\,\mathbb{E}_z\!\left[\phi'(\sqrt{q^*}z)^2\right] = "
        + f"{result.chi1:.4g}"
        + r",\quad \tfrac12\ln\chi_1 = "
        + f"{result.log_grad_growth_per_layer:.4g}"
        + r" \quad \text{("
        + f"{result.activation}, "
        + r"}\sigma_w^2 = "
        + f"{result.sigma_w2:g}"
        + r",\ \sigma_b^2 = "
        + f"{result.sigma_b2:g}"
        + r"\text{: "
        + f"{result.regime})"
        + "}$"
    )
