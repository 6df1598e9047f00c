"""The chain rule over n steps: the gradient is a product of local factors w phi'(a_j).

For a scalar Elman RNN h_t = phi(w h_{t-1} + u x_t + b), a_t = w h_{t-1} + u x_t + b, BPTT
gives dh_n/dh_0 = prod_{j=1}^{n} w phi'(a_j) and dh_n/dw as the sum over the steps k of such
products times h_{k-1} phi'(a_k) (lecture notes 002, worked by hand for n = 1, 2, 3). The size of
one factor decides everything: tanh' lies in (0, 1], sigmoid' in (0, 1/4], ReLU' and hard tanh'
in {0, 1}, linear' = 1. With w = 1 and random inputs the figure shows the distribution of the
per-step factor and |dh_n/dh_0| against n for each activation, from the executor's recorded step
Jacobians (checked against its BPTT), and the symbolic n = 3 sum from ``gradtheory.symbolic``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..cells import elman
from ..figures import PALETTE, new_figure
from ..numeric.network import Network
from ..numeric.tangent import step_jacobian
from ._registry import ClaimResult, claim

ACTIVATIONS = ["tanh", "sigmoid", "relu", "hardtanh", "linear"]


def step_factors(activation: str, steps: int, batch: int, seed: int, w: float = 1.0):
    """Per-step factors w phi'(a_t) (steps, batch) and the BPTT value of |dh_T/dh_0| (batch,).

    Inputs x_t ~ N(0, 1), u = 1, b = 0, h_0 = 0.
    """
    net = Network(
        elman(activation), n_in=1, n_hidden=1, params={"W": [[w]], "U": [[1.0]], "b": [0.0]}
    )
    x = np.random.default_rng([seed, 11]).normal(size=(steps, batch, 1))
    traj = net.forward(x, h0=np.zeros((batch, 1)))
    factors = np.stack([step_jacobian(net, entry)[:, 0, 0] for entry in traj.tape])
    bptt = net.backward(traj, grad_state=np.ones((batch, 1))).adjoint_norms[0]
    return factors, bptt


def symbolic_latex(steps: int = 3) -> tuple[str, str, str]:
    """(aligned LaTeX of the unrolled sums, one-line dh_n/dw, source) for the tanh Elman cell.

    Uses :func:`gradtheory.symbolic.unroll.unroll`; if that fails, builds the same sums with
    SymPy directly and says so in the returned source.
    """
    try:
        from ..symbolic.unroll import unroll

        unrolled = unroll(elman("tanh"), steps)
        return (unrolled.latex(), sp.latex(unrolled.gradient("w")), "gradtheory.symbolic.unroll")
    except Exception as error:
        w = sp.Symbol("w")
        h = sp.symbols(f"h_0:{steps + 1}")
        f = [None] + [1 - h[j] ** 2 for j in range(1, steps + 1)]
        dh0 = sp.Mul(*(w * f[j] for j in range(1, steps + 1)))
        dw = sp.Add(
            *(
                sp.Mul(*(w * f[j] for j in range(k + 1, steps + 1))) * h[k - 1] * f[k]
                for k in range(1, steps + 1)
            )
        )
        text = (
            r"\begin{aligned}" + rf"\frac{{\partial h_{steps}}}{{\partial h_0}} &= "
            f"{sp.latex(dh0)} \\\\ " + rf"\frac{{\partial h_{steps}}}{{\partial w}} &= "
            f"{sp.latex(dw)}" + r"\end{aligned}"
        )
        return text, sp.latex(dw), f"sympy fallback ({type(error).__name__}: {error})"


@claim(
    "chain_rule",
    "Chain rule over n steps: a product of factors w phi'(a)",
    "lecture notes 002 (BPTT by hand); lecture notes 001",
    "The BPTT gradient of a scalar RNN is a sum of products of per-step factors w phi'(a_j); "
    "tanh' is in (0, 1] and sigmoid' <= 1/4, so with |w| <= 1 the products vanish, ReLU' and "
    "hard tanh' are 0 or 1 and linear' = 1.",
    ci=True,
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps, batch = (60, 400) if quick else (100, 4000)
    n_show = 50
    fig, (ax0, ax1, ax2) = new_figure(
        1, 3, width=16.5, height=5.2, gridspec_kw={"width_ratios": [1, 1.2, 0.9]}
    )
    numbers, rows, arrays = {}, [], {}
    rng = np.random.default_rng(seed)
    n = np.arange(steps + 1)
    for i, (act, color) in enumerate(zip(ACTIVATIONS, PALETTE[: len(ACTIVATIONS)], strict=True)):
        factors, bptt = step_factors(act, steps, batch, seed)
        gain = np.concatenate([np.ones((1, batch)), np.cumprod(np.abs(factors), axis=0)])
        sample = factors[:, : min(batch, 100)].ravel()
        ax0.plot(
            i + rng.uniform(-0.3, 0.3, sample.size), sample, ".", color=color, alpha=0.25, ms=4
        )
        ax0.plot([i - 0.35, i + 0.35], [factors.max()] * 2, color="black", lw=2)
        mean = gain.mean(axis=1)
        lo, med, hi = np.quantile(gain, [0.1, 0.5, 0.9], axis=1)
        alive = np.mean(gain > 0, axis=1)
        ax1.semilogy(
            n, np.where(med > 0, med, np.nan), color=color, label=act if med[-1] > 0 else None
        )
        ax1.fill_between(n, lo, hi, where=lo > 0, color=color, alpha=0.15, lw=0)
        ax2.semilogy(
            n,
            np.where(alive > 0, alive, np.nan),
            color=color,
            label=act,
            ls=("-", "--", "-", "-", ":")[i],
        )
        numbers[f"{act}: max factor"] = float(factors.max())
        numbers[f"{act}: min factor"] = float(factors.min())
        numbers[f"{act}: mean |dh_{n_show}/dh_0|"] = float(mean[n_show])
        numbers[f"{act}: median |dh_{n_show}/dh_0|"] = float(med[n_show])
        numbers[f"{act}: fraction of zero gradients at n = {n_show}"] = float(
            np.mean(gain[n_show] == 0)
        )
        rows.append(
            {
                "quantity": f"{act}: |dh_{steps}/dh_0| product of factors vs BPTT (max rel. err.)",
                "predicted": float(gain[-1].mean()),
                "measured": float(np.abs(bptt).mean()),
                "agrees": bool(np.allclose(gain[-1], np.abs(bptt), rtol=1e-10, atol=1e-300)),
            }
        )
        arrays[f"{act}_mean_gain"] = mean
    bounds = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0, "hardtanh": 1.0, "linear": 1.0}
    for act, bound in bounds.items():
        rows.append(
            {
                "quantity": f"{act}: largest per-step factor <= {bound}",
                "predicted": bound,
                "measured": numbers[f"{act}: max factor"],
                "agrees": bool(numbers[f"{act}: max factor"] <= bound + 1e-12),
            }
        )
    ax0.axhline(0.25, color="grey", ls=":", lw=1.2)
    ax0.set_xticks(range(len(ACTIVATIONS)), ACTIVATIONS)
    ax0.set_ylabel(r"per-step factor $w\,\varphi'(a_t)$  ($w$ = 1)")
    ax0.set_title("one factor of the chain (bar: largest seen)")
    ax0.set_ylim(-0.05, 1.12)
    ax0.grid(axis="x", visible=False)
    ax1.set_xlabel("number of steps $n$")
    ax1.set_ylabel(r"$|\partial h_n/\partial h_0|$ (median; band 10-90%)")
    ax1.set_title(r"$\partial h_n/\partial h_0=\prod_j w\,\varphi'(a_j)$, $x_t\sim N(0,1)$")
    ax1.text(
        0.98,
        0.9,
        "ReLU, hard tanh: 0 or exactly 1\n(median 0; see right)",
        transform=ax1.transAxes,
        ha="right",
        va="top",
        fontsize=10,
    )
    ax1.set_ylim(1e-30, 10)
    ax1.legend(loc="lower left", fontsize=10, ncol=2)
    ax2.set_xlabel("number of steps $n$")
    ax2.set_ylabel(r"fraction with $\partial h_n/\partial h_0 \neq 0$")
    ax2.set_title("exact zeros: ReLU' and hard tanh' = 0")
    ax2.set_ylim(0.5 / batch, 2)
    ax2.legend(loc="lower right", fontsize=10)
    latex, dw_line, source = symbolic_latex(3)
    fig.suptitle(rf"tanh, $n$ = 3:  $\partial h_3/\partial w = {dw_line}$", fontsize=14)
    numbers["symbolic source"] = source
    tanh_mean, sig_mean = (
        numbers["tanh: median |dh_50/dh_0|"],
        numbers["sigmoid: median |dh_50/dh_0|"],
    )
    summary = (
        f"Largest per-step factors: tanh {numbers['tanh: max factor']:.3f}, sigmoid "
        f"{numbers['sigmoid: max factor']:.3f}, ReLU and hard tanh in {{0, 1}}, linear 1; "
        f"after 50 steps the median |dh/dh_0| is {tanh_mean:.2e} (tanh), {sig_mean:.2e} "
        f"(sigmoid), {numbers['relu: median |dh_50/dh_0|']:.3g} (ReLU: exactly 0 in a fraction "
        f"{numbers['relu: fraction of zero gradients at n = 50']:.2f}, else 1), "
        f"{numbers['linear: median |dh_50/dh_0|']:.3g} (linear). LaTeX from {source}."
    )
    settings = {
        "w": 1.0,
        "u": 1.0,
        "b": 0.0,
        "h0": 0.0,
        "inputs": "N(0, 1)",
        "steps": steps,
        "batch": batch,
    }
    return ClaimResult(fig, numbers, settings, latex, rows, summary, arrays)
