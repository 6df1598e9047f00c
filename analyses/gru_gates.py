"""GRU update gate: z -> 1 copies the state and its gradient.

Claim: With the update gate z -> 1 the GRU copies its state and the gradient passes unchanged;
near z = 1 the gradient through T steps is the product of the z_t.

Source: Cho et al. 2014; lecture notes 002 and 004 (GRU).

For h_t = (1 - z_t) n_t + z_t h_{t-1} the step Jacobian is
diag(z_t) + diag(1 - z_t) dn_t/dh_{t-1} + diag((h_{t-1} - n_t) z_t (1 - z_t)) W_z; when z_t is
near 1 the first term dominates and dh_T/dh_0 is close to prod_t diag(z_t) (exactly I at
z = 1). The z-gate bias is swept; BPTT's ||dL/dh_0|| for a unit probe on h_T is compared with
||(prod_t z_t) * probe|| built from the recorded gates of the same sequences.
"""

import sys

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, main, tolerances
from gradtheory.claims._common import log_norm_product, unit_probe
from gradtheory.figures import PALETTE, new_figure

#: z-gate biases of the sweep (50 saturates z to 1 in float64).
BIASES = (-2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 50.0)


def gate_network(n_hidden: int, n_in: int, bias: float, seed: int) -> gt.Network:
    """GRU at PyTorch's default init with the update-gate bias b_xz = bias and b_hz = 0."""
    net = gt.Network(gt.cells.gru(), n_in=n_in, n_hidden=n_hidden, seed=seed)
    bx, bh = net.params["b_x"].copy(), net.params["b_h"].copy()
    bx[n_hidden : 2 * n_hidden], bh[n_hidden : 2 * n_hidden] = bias, 0.0
    net.set_params({"b_x": bx, "b_h": bh})
    return net


def through_time(net: gt.Network, x: np.ndarray, h0: np.ndarray, probe: np.ndarray) -> dict:
    """``measured`` ln||dL/dh_{T-k}|| and its ``product``-of-z estimate (T+1, B); gates ``z``."""
    traj = net.forward(x, h0)
    grads = net.backward(traj, grad_state=probe)
    z = np.array([1.0 / (1.0 + np.exp(-(e["env"]["ax_z"] + e["env"]["ah_z"]))) for e in traj.tape])
    log_cum = np.concatenate([np.zeros((1, *z.shape[1:])), np.cumsum(np.log(z[::-1]), axis=0)])
    return {"measured": grads.adjoint_log_norms[::-1], "product": log_norm_product(log_cum, probe),
            "z": z}  # fmt: skip


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    n_hidden, n_in, T, batch = (32, 2, 100, 8) if quick else (64, 2, 200, 16)
    rng = np.random.default_rng([seed, 17])
    x = rng.normal(size=(T, batch, n_in))
    h0 = 0.5 * rng.normal(size=(batch, n_hidden))
    probe = unit_probe(rng, batch, n_hidden)
    outs = [through_time(gate_network(n_hidden, n_in, b, seed), x, h0, probe) for b in BIASES]
    mean_z = np.array([out["z"].mean() for out in outs])
    meas, prod = (
        np.array([out[key][-1].mean() for out in outs]) for key in ("measured", "product")
    )
    fig, (ax, ax_log) = new_figure(1, 2, width=13.0, height=4.8)
    ax.plot(mean_z, meas, "o-", color=PALETTE[0], label="measured (BPTT)")
    ax.plot(mean_z, prod, "s--", color=PALETTE[3], label="product of the $z_t$ times the probe")
    ax.set(xlabel=r"mean update gate $\bar z$", title=f"GRU (n = {n_hidden}): through {T} steps",
           ylabel=rf"$\ln\|\partial L/\partial h_0\|$ over T = {T} steps")  # fmt: skip
    ax.legend(loc="upper left")
    open_ = mean_z < 1.0
    one_minus = 1.0 - mean_z[open_]
    ax_log.loglog(one_minus, -meas[open_] / T, "o-", color=PALETTE[0], label="measured (BPTT)")
    ax_log.loglog(one_minus, -prod[open_] / T, "s--", color=PALETTE[3], label=r"product of $z_t$")
    ax_log.loglog(one_minus, one_minus, ":", color="grey", label=r"$1 - \bar z$")
    ax_log.set(
        xlabel=r"$1 - \bar z$", ylabel=r"decay per step $-\ln\|\partial L/\partial h_0\|\,/\,T$"
    )
    saturated = float(np.exp(meas[~open_][0])) if (~open_).any() else float("nan")
    ax_log.set_title(rf"Near $z = 1$; at $z = 1$: ratio = {saturated:.15f}", fontsize=12)
    ax_log.legend(loc="upper left")
    numbers, rows = {}, []
    for bias, z, m, p in zip(BIASES, mean_z, meas, prod, strict=True):
        numbers[f"b_z = {bias:g}: mean z"] = float(z)
        numbers[f"b_z = {bias:g}: ln |dL/dh_0| measured"] = float(m)
        numbers[f"b_z = {bias:g}: ln |prod z_t * probe|"] = float(p)
        quantity = f"ln gradient through {T} steps, mean z = {z:.5f} (prod z_t)"
        rows.append(
            Comparison(quantity, float(p), float(m), tolerances.GATE_PRODUCT, "rel, floor 1")
        )
    numbers["|dL/dh_0| / |dL/dh_T| at z = 1"] = saturated
    settings = {"n_hidden": n_hidden, "n_in": n_in, "T": T, "batch": batch,
                "z biases (b_xz; b_hz = 0)": list(BIASES), "inputs": "N(0, 1)", "h0": "0.5 N(0, 1)",
                "init": "torch"}  # fmt: skip
    latex = (
        r"\frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(z_t) + "
        r"\operatorname{diag}(1-z_t)\frac{\partial n_t}{\partial h_{t-1}} + "
        r"\operatorname{diag}\big((h_{t-1}-n_t)\odot z_t\odot(1-z_t)\big)W_z"
        r"\ \xrightarrow{z_t\to 1}\ I,\qquad "
        r"\frac{\partial h_T}{\partial h_0}\approx\prod_{t=1}^{T}\operatorname{diag}(z_t)"
    )
    arrays = {"mean_z": mean_z, "measured": meas, "product": prod}
    headline = ["|dL/dh_0| / |dL/dh_T| at z = 1"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)


if __name__ == "__main__":
    sys.exit(main(__file__))
