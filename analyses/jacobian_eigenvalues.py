"""Eigenvalues of W and of the step Jacobian for each initialisation.

Claim: The initialisation places the eigenvalues of W (the step Jacobian at h = 0, b = 0) inside, on
or outside the unit circle; along a trajectory tanh' pulls the Jacobian's spectrum inward.

Source: lecture notes 001 and 003 (spectral radius); Saxe et al. 2014; Le et al. 2015.

For a tanh RNN the step Jacobian is J_t = diag(1 - h_t^2) W: from h = 0 with zero input and
zero bias it is W itself (with a bias b: diag(1 - tanh(b)^2) W). For each initialisation scheme
of ``gradtheory.numeric.init`` a 128-unit tanh RNN is drawn; the eigenvalues of W and of the
executor's step Jacobian after ``steps`` steps of N(0, 1) input are plotted with the unit circle.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, tolerances
from gradtheory.figures import PALETTE, new_figure

INITS = ("gaussian", "glorot", "he", "orthogonal", "identity", "torch")


def spectra(init: str, n: int, steps: int, seed: int) -> dict:
    """gt.spectra of W and of the step Jacobian after ``steps`` driven steps; ``J0_minus_W``:
    the step Jacobian at h = 0, x = 0 minus diag(1 - tanh(b)^2) W."""
    net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=n, init=init, seed=seed)
    W, b = net.params["W"], net.params["b"]
    x = np.random.default_rng([seed, 37]).normal(size=(steps, 1, 1))
    at_zero = gt.jacobians(net, net.forward(np.zeros((1, 1, 1))))[0, 0]
    return {"W": gt.spectra(W), "J": gt.spectra(gt.jacobians(net, net.forward(x))[-1, 0]),
            "J0_minus_W": float(np.max(np.abs(at_zero - (1.0 - np.tanh(b) ** 2)[:, None] * W))),
            "bias_zero": bool(not np.any(b))}  # fmt: skip


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    n, steps = 128, (50 if quick else 200)
    fig, axes = new_figure(2, 3, width=13.0, height=9.0)
    numbers, rows, arrays = {}, [], {}
    for ax, init in zip(axes.flat, INITS, strict=True):
        s = spectra(init, n, steps, seed)
        rho_w, rho_j = float(s["W"]["spectral_radius"]), float(s["J"]["spectral_radius"])
        s["W"].plot(ax, mfc="none", color="grey", ms=5, label=rf"eig(W): $\rho$ = {rho_w:.3f}")
        label = rf"eig($J_t$), t = {steps}: $\rho$ = {rho_j:.3f}"
        s["J"].plot(ax, circle=False, marker=".", color=PALETTE[3], label=label)
        ax.set(xlim=(-1.75, 1.75), ylim=(-1.75, 1.75), title=init)
        ax.legend(fontsize=10, loc="upper left")
        numbers.update({f"{init}: spectral radius of W": rho_w,
                        f"{init}: spectral radius of J_t (t = {steps})": rho_j,
                        f"{init}: sigma_max(W)": float(s["W"]["norm"])})  # fmt: skip
        zero = "(= W, b = 0)" if s["bias_zero"] else "(b != 0)"
        rows += [Comparison(f"{init}: step Jacobian from h = 0, x = 0 minus diag(1 - tanh(b)^2) W "
                            f"{zero}", 0.0, s["J0_minus_W"], tolerances.ONE_STEP),
                 Comparison(f"{init}: rho(J_t) <= sigma_max(W) (tanh' <= 1)",
                            numbers[f"{init}: sigma_max(W)"], rho_j, tolerances.ONE_STEP,
                            "at most")]  # fmt: skip
        arrays.update({f"{init}_W": s["W"]["eigenvalues"], f"{init}_J": s["J"]["eigenvalues"]})
    fig.suptitle(f"tanh RNN, n = {n}: eigenvalues against the unit circle", fontsize=14)
    latex = (r"J_t = \frac{\partial h_t}{\partial h_{t-1}} = "
             r"\operatorname{diag}\big(1 - h_t^{2}\big)\,W,\qquad J_t\big|_{h=0} = W")  # fmt: skip
    settings = {"n_hidden": n, "steps before J_t": steps, "inputs": "N(0, 1)", "inits": INITS}
    headline = [f"{init}: spectral radius of W" for init in INITS]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
