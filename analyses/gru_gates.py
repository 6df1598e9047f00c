"""GRU update gate: z -> 1 copies the state and its gradient.

Claim: With the update gate z -> 1 the GRU copies its state and the gradient passes unchanged;
near z = 1 the gradient through T steps is the product of the z_t.

Source: Cho et al. 2014; lecture notes 002 and 004 (GRU).

For h_t = (1 - z_t) n_t + z_t h_{t-1} the step Jacobian is diag(z_t) + E_t, E_t = diag(1 - z_t)
[dn_t/dh_{t-1} + diag((h_{t-1} - n_t) z_t) W_z]. The copy path alone predicts p =
ln||(prod_t z_t) v|| for BPTT's ln||dL/dh_0|| (unit probe v on h_T). As ||diag(z_t)|| <= 1, the
terms of prod_t (diag(z_t) + E_t^T) with an E have norm <= e^eps - 1, eps = sum_t ||E_t||_2 (from
the executor's step Jacobians), so |ln||dL/dh_0|| - p| <= -ln(1 - delta), delta = (e^eps - 1)
e^-p, where delta < 1: the claim's regime, tested with that bound plus float64 rounding. Where
delta >= 1 (z far from 1) nothing bounds the copy path, and the second-order term ||E_t^T v||^2
>= 0 (the cross term averages out over random weights) makes the gradient decay more slowly.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, tolerances
from gradtheory.claims._common import log_norm_product, unit_probe
from gradtheory.figures import PALETTE, new_figure

#: z-gate biases of the sweep (50 saturates z to 1 in float64).
BIASES = (-2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 50.0)


def through_time(bias: float, x: np.ndarray, h0: np.ndarray, probe: np.ndarray, seed: int):
    """GRU (PyTorch init, b_xz = bias, b_hz = 0) from h0 (B, n) with the unit probe dL/dh_T:
    per sequence (B,) the ``measured`` ln||dL/dh_0||, the copy path's ``product``
    ln||(prod_t z_t) * probe||, ``eps`` = sum_t ||J_t - diag(z_t)||_2; the gates ``z``."""
    n = h0.shape[1]
    net = gt.Network(gt.cells.gru(), n_in=x.shape[2], n_hidden=n, seed=seed)
    net.params["b_x"][n : 2 * n], net.params["b_h"][n : 2 * n] = bias, 0.0
    traj = net.forward(x, h0)
    z = 1.0 / (1.0 + np.exp(-(traj.tape.env["ax_z"] + traj.tape.env["ah_z"])))
    neglected = gt.jacobians(net, traj) - z[..., None] * np.eye(n)  # E_t, (T, B, n, n)
    return {"measured": net.backward(traj, grad_state=probe).adjoint_log_norms[0],
            "product": log_norm_product(np.cumsum(np.log(z[::-1]), axis=0)[-1], probe), "z": z,
            "eps": np.linalg.norm(neglected, 2, axis=(-2, -1)).sum(axis=0)}  # fmt: skip


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    n_hidden, n_in, T, batch = (32, 2, 100, 8) if quick else (64, 2, 200, 16)
    rng = np.random.default_rng([seed, 17])
    x = rng.normal(size=(T, batch, n_in))
    h0 = 0.5 * rng.normal(size=(batch, n_hidden))
    probe = unit_probe(rng, batch, n_hidden)
    outs = [through_time(b, x, h0, probe, seed) for b in BIASES]
    keys = ("z", "measured", "product", "eps")
    mean_z, meas, prod, eps = (np.array([out[k].mean() for out in outs]) for k in keys)
    delta = [(np.exp(out["eps"]) - 1) * np.exp(-out["product"]) for out in outs]  # (B,) per bias
    bound = [float(np.mean(-np.log1p(-d))) if d.max() < 1 else np.inf for d in delta]
    near = np.isfinite(bound)  # the copy path's bound exists on every sequence
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
    ax_log.axvspan(one_minus.min(), max(1.0 - mean_z[near & open_]), color=PALETTE[2], alpha=0.1,
                   label=r"copy path bounded ($\delta < 1$)")  # fmt: skip
    ylabel = r"decay per step $-\ln\|\partial L/\partial h_0\|\,/\,T$"
    ax_log.set(xlabel=r"$1 - \bar z$", ylabel=ylabel)
    saturated = float(np.exp(meas[~open_][0])) if (~open_).any() else float("nan")
    ax_log.set_title(rf"Near $z = 1$; at $z = 1$: ratio = {saturated:.15f}", fontsize=12)
    ax_log.legend(loc="upper left")
    numbers, rows = {}, []
    for bias, z, m, p, e, ok, tol in zip(BIASES, mean_z, meas, prod, eps, near, bound, strict=True):
        numbers.update({f"b_z = {bias:g}: mean z": float(z),
                        f"b_z = {bias:g}: ln |dL/dh_0| measured": float(m),
                        f"b_z = {bias:g}: ln |prod z_t * probe|": float(p),
                        f"b_z = {bias:g}: eps = sum_t ||E_t|| (mean)": float(e)})  # fmt: skip
        quantity = f"ln gradient through {T} steps, mean z = {z:.5f}"
        if ok:
            numbers[f"b_z = {bias:g}: bound on |measured - product|"] = tol
        quantity += ": prod z_t within its bound" if ok else " (delta >= 1): > prod z_t"
        rule, tol = ("abs", tol + tolerances.ROUNDING) if ok else ("above", 0.0)
        rows.append(Comparison(quantity, float(p), float(m), tol, rule))
    numbers["|dL/dh_0| / |dL/dh_T| at z = 1"] = saturated
    settings = {"n_hidden": n_hidden, "n_in": n_in, "T": T, "batch": batch, "init": "torch",
                "z biases (b_xz; b_hz = 0)": list(BIASES), "inputs": "N(0, 1)", "h0": "0.5 N(0, 1)",
                "copy path bounded": "delta = (e^eps - 1) e^-p < 1 on every sequence"}  # fmt: skip
    latex = (
        r"\frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(z_t) + "
        r"\operatorname{diag}(1-z_t)\Big[\frac{\partial n_t}{\partial h_{t-1}} + "
        r"\operatorname{diag}\big((h_{t-1}-n_t)\odot z_t\big)W_z\Big],\qquad "
        r"\Big|\ln\Big\|\frac{\partial L}{\partial h_0}\Big\| - \ln\Big\|\prod_t z_t\,v\Big\|\Big|"
        r"\le -\ln\big(1 - (e^{\sum_t\|E_t\|} - 1)\,e^{-p}\big)"
    )
    arrays = {"mean_z": mean_z, "measured": meas, "product": prod, "eps": eps, "near": near}
    headline = ["|dL/dh_0| / |dL/dh_T| at z = 1"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
