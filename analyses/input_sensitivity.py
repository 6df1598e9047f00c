"""Sensitivity of h_t to the first input decays over time.

Claim: The sensitivity ||dh_t/dx_1|| of the hidden state to the first input fades over time; how
fast depends on the architecture and its initialisation.

Source: lecture notes (vanishing sensitivity figure after Graves 2012); Hochreiter et al. 2001.

For a tanh RNN, an LSTM, a GRU and an IRNN at their default initialisations, dh_t/dx_1 is
computed exactly with the executor: dS_1/dx_1 by reverse mode over the first step (one one-hot
dL/dS_1 per state unit), pushed forward through the recorded step Jacobians; BPTT from a probe
on h_t (``Gradients.inputs[0]``) checks it.
"""

import numpy as np
from matplotlib.colors import LogNorm

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, tolerances
from gradtheory.figures import PALETTE, new_figure
from gradtheory.numeric.tangent import jacobian_product

MODELS = {
    "tanh RNN (gaussian, gain 1)": gt.cells.elman("tanh"),
    "LSTM (PyTorch init)": gt.cells.lstm(),
    "GRU (PyTorch init)": gt.cells.gru(),
    "IRNN (identity init)": gt.cells.irnn(),
}


def sensitivity(net: gt.Network, x: np.ndarray, check_at: int, seed: int = 0) -> dict:
    """``norms`` ||dh_t/dx_1||_F (T, B) and ``check``, the max relative difference between
    forward-mode u^T dh_t/dx_1 and BPTT's ``Gradients.inputs[0]`` (probe u on h_t, t = check_at)."""
    (batch, n_in), n, n_state = x[0].shape, net.n_hidden, net.n_state
    # dS_1/dx_1 (B, n_state, n_in) by reverse mode over the first step, a one-hot probe per unit
    probes = np.tile(np.eye(n_state), (batch, 1))
    first = net.backward(net.forward(np.repeat(x[:1], n_state, axis=1)), grad_state=probes)
    tangents = [first.inputs[0].reshape(batch, n_state, n_in)]
    for entry in net.forward(x).tape[1:]:
        tangents.append(jacobian_product(net, entry, tangents[-1]))
    norms = np.array([np.linalg.norm(tangent[:, :n], axis=(1, 2)) for tangent in tangents])
    probe = np.zeros((batch, n_state))
    probe[:, :n] = np.random.default_rng([seed, 23]).normal(size=(batch, n))
    reverse = net.backward(net.forward(x[:check_at]), grad_state=probe).inputs[0]
    forward = np.einsum("bs,bsk->bk", probe, tangents[check_at - 1])
    error = np.max(np.abs(forward - reverse)) / np.max(np.abs(forward))
    return {"norms": norms, "check": float(error)}


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    n_hidden, T, batch = (32, 60, 16) if quick else (64, 150, 32)
    x, check_at = np.random.default_rng([seed, 19]).normal(size=(T, batch, 1)), T // 2
    table, numbers, rows = [], {}, []
    for label, cell in MODELS.items():
        result = sensitivity(gt.Network(cell, 1, n_hidden, seed=seed), x, check_at, seed)
        mean = result["norms"].mean(axis=1)
        table.append(mean)
        for t in (1, 10, T // 2, T):
            numbers[f"log10 mean |dh_t/dx_1|, t = {t}, {label}"] = float(np.log10(mean[t - 1]))
        zero = float(np.mean(result["norms"][-1] == 0.0))
        numbers[f"fraction of sequences with dh_T/dx_1 = 0, {label}"] = zero
        quantity = f"forward vs reverse mode u^T dh_{check_at}/dx_1, {label}"
        rows.append(Comparison(f"{quantity} (max relative difference)", 0.0, result["check"],
                               tolerances.ROUNDING))  # fmt: skip
    table = np.array(table)
    fig, (ax, ax_line) = new_figure(2, 1, width=10.0, height=7.5, height_ratios=[1.0, 1.3])
    positive = table[table > 0]
    norm = LogNorm(vmin=max(positive.min(), 1e-30), vmax=positive.max())
    edges = (np.arange(0.5, T + 1), np.arange(len(MODELS) + 1))
    mesh = ax.pcolormesh(*edges, np.where(table > 0, table, norm.vmin), norm=norm, cmap="viridis")
    ax.set_yticks(np.arange(len(MODELS)) + 0.5, labels=list(MODELS), fontsize=10)
    ax.invert_yaxis()
    ax.grid(False)
    ax.set(xlabel="time step $t$", title="Sensitivity to the first input, batch mean of "
           r"$\|\partial h_t/\partial x_1\|$")  # fmt: skip
    fig.colorbar(mesh, ax=ax, label=r"$\|\partial h_t/\partial x_1\|$ (log scale)")
    for color, label, mean in zip(PALETTE, MODELS, table, strict=False):
        ax_line.semilogy(np.arange(1, T + 1), mean, color=color, label=label)
    ax_line.set(xlabel="time step $t$", ylabel=r"$\|\partial h_t/\partial x_1\|$",
                title=f"n = {n_hidden}, inputs N(0, 1), {batch} sequences")  # fmt: skip
    ax_line.legend(fontsize=10, loc="lower left")
    settings = {"n_hidden": n_hidden, "T": T, "batch": batch, "n_in": 1,
                "inputs": "N(0, 1) at every step", "average": "arithmetic mean over the batch",
                "inits": {k: c.default_init for k, c in MODELS.items()}}  # fmt: skip
    latex = (r"\frac{\partial h_t}{\partial x_1} = J_t J_{t-1}\cdots J_2\,\frac{\partial h_1}"
             r"{\partial x_1},\qquad J_k = \frac{\partial s_k}{\partial s_{k-1}}")  # fmt: skip
    headline = [f"log10 mean |dh_t/dx_1|, t = {T}, {label}" for label in MODELS]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, {"sensitivity": table})
