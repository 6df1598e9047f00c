"""Chain rule over n steps: a product of factors w phi'(a).

Claim: The BPTT gradient of a scalar RNN is a sum of products of per-step factors w phi'(a_j);
tanh' is in (0, 1] and sigmoid' <= 1/4, so with |w| <= 1 the products vanish, ReLU' and hard
tanh' are 0 or 1 and linear' = 1.

Source: lecture notes 002 (BPTT by hand); lecture notes 001.

For h_t = phi(w h_{t-1} + u x_t + b), BPTT gives dh_n/dh_0 = prod_j w phi'(a_j), and dh_n/dw
the sum over k of such products times h_{k-1} phi'(a_k). The figure (w = 1, x_t ~ N(0, 1)): the
executor's per-step factors, their product |dh_n/dh_0| (checked against BPTT), the n = 3 sum.
"""

import numpy as np
import sympy as sp

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, tolerances
from gradtheory.figures import PALETTE, new_figure
from gradtheory.symbolic.registry import ACTIVATIONS

#: activation -> gamma = sup phi' (the bound on one factor with w = 1), from the cell registry
BOUNDS = {a: ACTIVATIONS[a].gamma for a in ("tanh", "sigmoid", "relu", "hardtanh", "linear")}


def step_factors(activation: str, steps: int, batch: int, seed: int, w: float = 1.0):
    """Per-step factors w phi'(a_t) (steps, batch) and the BPTT value of |dh_T/dh_0| (batch,)."""
    params = {"W": [[w]], "U": [[1.0]], "b": [0.0]}
    net = gt.Network(gt.cells.elman(activation), n_in=1, n_hidden=1, params=params)
    x = np.random.default_rng([seed, 11]).normal(size=(steps, batch, 1))
    traj = net.forward(x, h0=np.zeros((batch, 1)))
    factors = gt.jacobians(net, traj)[:, :, 0, 0]
    return factors, net.backward(traj, grad_state=np.ones((batch, 1))).adjoint_norms[0]


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps, batch, n_show = (60, 400, 50) if quick else (100, 4000, 50)
    fig, (ax0, ax1, ax2) = new_figure(1, 3, width=16.5, height=5.2, width_ratios=[1, 1.2, 0.9])
    numbers, rows, arrays = {}, [], {}
    rng, n = np.random.default_rng(seed), np.arange(steps + 1)
    for i, (act, color) in enumerate(zip(BOUNDS, PALETTE, strict=False)):
        factors, bptt = step_factors(act, steps, batch, seed)
        gain = np.concatenate([np.ones((1, batch)), np.cumprod(np.abs(factors), axis=0)])
        sample = factors[:, : min(batch, 100)].ravel()
        ax0.plot(i + rng.uniform(-0.3, 0.3, sample.size), sample, ".", color=color, alpha=0.25)
        ax0.plot([i - 0.35, i + 0.35], [factors.max()] * 2, color="black", lw=2)
        lo, med, hi = np.quantile(gain, [0.1, 0.5, 0.9], axis=1)
        alive = np.mean(gain > 0, axis=1)
        label = act if med[-1] > 0 else None  # ReLU and hard tanh: median 0, not drawn
        ax1.semilogy(n, np.where(med > 0, med, np.nan), color=color, label=label)
        ax1.fill_between(n, lo, hi, where=lo > 0, color=color, alpha=0.15, lw=0)
        ls = ("-", "--", "-", "-", ":")[i]
        ax2.semilogy(n, np.where(alive > 0, alive, np.nan), color=color, label=act, ls=ls)
        numbers.update({f"{act}: max factor": float(factors.max()),
                        f"{act}: min factor": float(factors.min()),
                        f"{act}: mean |dh_{n_show}/dh_0|": float(gain[n_show].mean()),
                        f"{act}: median |dh_{n_show}/dh_0|": float(med[n_show]),
                        f"{act}: fraction of zero gradients at n = {n_show}":
                            float(np.mean(gain[n_show] == 0))})  # fmt: skip
        # the product of the recorded factors is an independent route to BPTT's adjoint
        error = np.max(np.abs(gain[-1] - np.abs(bptt)) / np.maximum(np.abs(bptt), 1e-300))
        quantity = f"{act}: |dh_{steps}/dh_0|, product of factors vs BPTT (max rel. difference)"
        rows.append(Comparison(quantity, 0.0, float(error), tolerances.ROUNDING))
        arrays[f"{act}_mean_gain"] = gain.mean(axis=1)
    rows += [Comparison(f"{act}: largest per-step factor", bound, numbers[f"{act}: max factor"],
                        tolerances.ONE_STEP, "at most")
             for act, bound in BOUNDS.items()]  # fmt: skip
    ax0.axhline(0.25, color="grey", ls=":", lw=1.2)
    ax0.set_xticks(range(len(BOUNDS)), list(BOUNDS))
    ax0.set(ylabel=r"per-step factor $w\,\varphi'(a_t)$  ($w$ = 1)", ylim=(-0.05, 1.12),
            title="one factor of the chain (bar: largest seen)")  # fmt: skip
    ax0.grid(axis="x", visible=False)
    title = r"$\partial h_n/\partial h_0=\prod_j w\,\varphi'(a_j)$, $x_t\sim N(0,1)$"
    ax1.set(xlabel="number of steps $n$", ylim=(1e-30, 10), title=title,
            ylabel=r"$|\partial h_n/\partial h_0|$ (median; band 10-90%)")  # fmt: skip
    ax1.text(0.98, 0.9, "ReLU, hard tanh: 0 or exactly 1\n(median 0; see right)",
             transform=ax1.transAxes, ha="right", va="top", fontsize=10)  # fmt: skip
    ax1.legend(loc="lower left", fontsize=10, ncol=2)
    ax2.set(xlabel="number of steps $n$", ylim=(0.5 / batch, 2),
            ylabel=r"fraction with $\partial h_n/\partial h_0 \neq 0$",
            title="exact zeros: ReLU' and hard tanh' = 0")  # fmt: skip
    ax2.legend(loc="lower right", fontsize=10)
    unrolled = gt.unroll(gt.cells.elman("tanh"), 3)  # the n = 3 sums, symbolically
    fig.suptitle(rf"tanh, $n$ = 3:  $\partial h_3/\partial w = {sp.latex(unrolled.gradient('w'))}$",
                 fontsize=14)  # fmt: skip
    settings = {"w": 1.0, "u": 1.0, "b": 0.0, "h0": 0.0, "inputs": "N(0, 1)", "steps": steps,
                "batch": batch}  # fmt: skip
    headline = [f"{a}: median |dh_{n_show}/dh_0|" for a in ("tanh", "sigmoid", "relu", "linear")]
    return ClaimResult(fig, numbers, rows, settings, unrolled.latex(), headline, arrays)
