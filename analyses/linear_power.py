"""Linear recurrence: the gradient is w^T.

Claim: For a linear scalar RNN the gradient through T steps is w^T: 117.4 for w = 1.1 and
0.00515 for w = 0.9 at T = 50.

Source: lecture notes 001 (univariate example); Bengio et al. 1994.

For h_t = w h_{t-1} + u x_t the chain rule gives dh_T/dh_0 = w^T, compared with BPTT's
adjoint norms of a one-unit linear Elman network. Run: ``python analyses/linear_power.py``.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, tolerances
from gradtheory.figures import PALETTE, new_figure

WEIGHTS = [0.9, 0.95, 1.0, 1.05, 1.1]


def measured_gain(w: float, steps: int) -> np.ndarray:
    """|dh_T/dh_{T-k}| for k = 0..steps from BPTT on a one-unit linear RNN with weight w."""
    net = gt.Network(gt.cells.elman("linear"), 1, 1, params={"W": [[w]], "U": [[1.0]], "b": [0.0]})
    traj = net.forward(np.zeros((steps, 1, 1)), h0=[[1.0]])
    return net.backward(traj, grad_state=np.ones((1, 1))).adjoint_norms[::-1, 0]


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps = 60 if quick else 100
    gains = {w: measured_gain(w, steps) for w in WEIGHTS}
    numbers = {f"w={w}, T=50": float(g[50]) for w, g in gains.items()}
    rows = [Comparison(f"dh_50/dh_0 at w = {w}", w**50, float(g[50]), tolerances.ROUNDING, "rel")
            for w, g in gains.items()]  # fmt: skip
    fig, ax = new_figure()
    for color, (w, gain) in zip(PALETTE, gains.items(), strict=False):
        ax.semilogy(gain, color=color, label=f"w = {w}")
    for w, dy in ((1.1, 10), (0.9, -20)):
        ax.plot([50], [gains[w][50]], "o", color="black")
        ax.annotate(f"$w^{{50}}$ = {gains[w][50]:.4g}", (50, gains[w][50]), ha="right",
                    textcoords="offset points", xytext=(-10, dy))  # fmt: skip
    ax.axvline(50, color="grey", lw=1, ls=":")
    ax.set(xlabel="number of steps T", ylabel=r"$|\partial h_T / \partial h_0|$",
           title=r"Linear scalar RNN: $\partial h_T/\partial h_0 = w^T$")  # fmt: skip
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    latex = r"\frac{\partial h_T}{\partial h_0} = \prod_{t=1}^{T} w = w^{T}"
    settings = {"steps": steps, "weights": WEIGHTS}
    return ClaimResult(fig, numbers, rows, settings, latex, ["w=1.1, T=50", "w=0.9, T=50"])
