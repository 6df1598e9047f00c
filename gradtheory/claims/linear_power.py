"""Linear scalar RNN: the gradient through T steps is w^T (lecture notes, exploding/vanishing).

For h_t = w h_{t-1} + u x_t the chain rule gives dh_T/dh_0 = w^T: with w = 1.1 and T = 50 it is
117.39, with w = 0.9 it is 0.00515. The curve is measured with the executor's BPTT (adjoint
norms of a one-unit linear Elman network), and compared with the closed form.
"""

from __future__ import annotations

import numpy as np

from ..cells import elman
from ..figures import PALETTE, new_figure
from ..numeric.network import Network
from ._registry import ClaimResult, claim


def measured_gain(w: float, steps: int) -> np.ndarray:
    """|dh_T/dh_{T-k}| for k = 0..steps from BPTT on a one-unit linear RNN with weight w."""
    net = Network(
        elman("linear"), n_in=1, n_hidden=1, params={"W": [[w]], "U": [[1.0]], "b": [0.0]}
    )
    traj = net.forward(np.zeros((steps, 1, 1)), h0=[[1.0]])
    grads = net.backward(traj, grad_state=np.ones((1, 1)))
    return grads.adjoint_norms[::-1, 0]


@claim(
    "linear_power",
    "Linear recurrence: the gradient is w^T",
    "lecture notes 001 (univariate example); Bengio et al. 1994",
    "For a linear scalar RNN the gradient through T steps is w^T: 117.4 for w = 1.1 and "
    "0.00515 for w = 0.9 at T = 50.",
    ci=True,
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps = 60 if quick else 100
    weights = [0.9, 0.95, 1.0, 1.05, 1.1]
    fig, ax = new_figure()
    numbers = {}
    rows = []
    k = np.arange(steps + 1)
    for color, w in zip(PALETTE, weights, strict=False):
        measured = measured_gain(w, steps)
        ax.semilogy(k, measured, color=color, label=f"w = {w}")
        numbers[f"w={w}, T=50"] = float(measured[50])
        closed = w**50
        rows.append(
            {
                "quantity": f"dh_50/dh_0 at w = {w}",
                "predicted": closed,
                "measured": float(measured[50]),
                "agrees": bool(np.isclose(measured[50], closed, rtol=1e-12)),
            }
        )
    for w, _text in ((1.1, "117.4"), (0.9, "0.00515")):
        value = numbers[f"w={w}, T=50"]
        ax.plot([50], [value], "o", color="black")
        ax.annotate(
            f"$w^{{50}}$ = {value:.4g}",
            (50, value),
            textcoords="offset points",
            xytext=(-10, 10 if w > 1 else -20),
            ha="right",
        )
    ax.axvline(50, color="grey", lw=1, ls=":")
    ax.set_xlabel("number of steps T")
    ax.set_ylabel(r"$|\partial h_T / \partial h_0|$")
    ax.set_title(r"Linear scalar RNN: $\partial h_T/\partial h_0 = w^T$")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    summary = (
        f"BPTT gives {numbers['w=1.1, T=50']:.4g} for w = 1.1 and "
        f"{numbers['w=0.9, T=50']:.5g} for w = 0.9 at T = 50, equal to w^50."
    )
    return ClaimResult(
        fig,
        numbers,
        settings={"steps": steps, "weights": weights},
        latex=r"\frac{\partial h_T}{\partial h_0} = \prod_{t=1}^{T} w = w^{T}",
        comparisons=rows,
        summary=summary,
    )
