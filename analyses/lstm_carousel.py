"""LSTM constant error carousel: dc_T/dc_0 = 1 when f = 1, i = 0.

Claim: The LSTM cell passes its gradient unchanged when the forget gate is 1 and the input gate
0: dc_T/dc_0 = I. Otherwise the gradient through c decays as the product of the f_t.

Source: Hochreiter and Schmidhuber 1997; lecture notes 001 and 004 (LSTM gates).

The cell block of the LSTM step Jacobian is dc_t/dc_{t-1} = diag(f_t), and with the input gate
shut (i = 0) the other paths into c_t vanish, so dc_T/dc_0 = prod_t diag(f_t): I when f = 1,
which b_f = +50, b_i = -50 give to the last bit in float64 (checked by the executor's forward
mode and BPTT). Smaller forget biases: the decay back in time against the recorded f_t.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, tolerances
from gradtheory.claims._common import log_norm_product, unit_probe
from gradtheory.figures import PALETTE, new_figure
from gradtheory.numeric.tangent import jacobian_product

#: Forget-gate bias for f = 1 exactly in float64 (sigmoid(50) rounds to 1).
SATURATE = 50.0
#: Target forget-gate values sigma(b_f) of the sweep (1 means b_f = SATURATE).
FORGET = (1.0, 0.999, 0.99, 0.95, 0.9, 0.5)


def carousel(forget: float, x: np.ndarray, c0: np.ndarray, probe: np.ndarray, seed: int) -> dict:
    """LSTM (default init, b_i = -SATURATE, sigma(b_f) = forget) from h_0 = 0, c_0 (B, n), with
    the unit probe dL/dc_T (B, n): ``measured`` ln||dL/ds_{T-k}|| (BPTT) and ``product``
    ln||(last k f_t) * probe|| (T+1, B), gates ``f`` (T, B, n), ``dc_dc0`` (B, n, n) by forward
    mode."""
    (batch, n), zeros = c0.shape, np.zeros_like(c0)
    net = gt.Network(gt.cells.lstm(), n_in=x.shape[2], n_hidden=n, seed=seed)
    net.params["b"][:n] = -SATURATE
    net.params["b"][n : 2 * n] = SATURATE if forget >= 1.0 else np.log(forget / (1.0 - forget))
    traj = net.forward(x, np.concatenate([zeros, c0], axis=1))
    grads = net.backward(traj, grad_state=np.concatenate([zeros, probe], axis=1))
    f = 1.0 / (1.0 + np.exp(-traj.tape.env["a_f"]))
    log_cum = np.concatenate([np.zeros((1, batch, n)), np.cumsum(np.log(f[::-1]), axis=0)])
    tangent = np.zeros((batch, 2 * n, n))
    tangent[:, n:, :] = np.eye(n)  # d(h_0, c_0)/dc_0
    for entry in traj.tape:
        tangent = jacobian_product(net, entry, tangent)
    return {"measured": grads.adjoint_log_norms[::-1], "product": log_norm_product(log_cum, probe),
            "f": f, "dc_dc0": tangent[:, n:, :]}  # fmt: skip


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    n_hidden, n_in, T, batch = (16, 2, 100, 8) if quick else (64, 2, 300, 16)
    rng = np.random.default_rng([seed, 13])
    x = rng.normal(size=(T, batch, n_in))
    c0 = rng.normal(size=(batch, n_hidden))
    probe = unit_probe(rng, batch, n_hidden)
    fig, (ax, zoom) = new_figure(1, 2, width=13.0, height=4.8)
    numbers, rows = {}, []
    for color, forget in zip(PALETTE, FORGET, strict=False):
        result = carousel(forget, x, c0, probe, seed)
        meas, prod = (result[key].mean(axis=1) / np.log(10.0) for key in ("measured", "product"))
        label = "f = 1 exactly" if forget >= 1.0 else rf"$\sigma(b_f)$ = {forget}"
        ax.plot(meas, color=color, label=f"{label} (mean f = {result['f'].mean():.4f})")
        ax.plot(prod, ":", color="black", lw=1.5)
        if forget >= 0.99:
            zoom.plot(meas, color=color, label=label)
            zoom.plot(prod, ":", color="black", lw=1.5)
        m_end, p_end = float(result["measured"][-1].mean()), float(result["product"][-1].mean())
        numbers[f"ln |dL/ds_0| measured, sigma(b_f) = {forget}"] = m_end
        numbers[f"ln |prod f_t * probe|, sigma(b_f) = {forget}"] = p_end
        if forget < 1.0:
            quantity = f"ln gradient through {T} steps, sigma(b_f) = {forget} (prod f_t)"
            rows.append(Comparison(quantity, p_end, m_end, tolerances.GATE_PRODUCT, "rel, floor 1"))
            continue
        dev = float(np.max(np.abs(result["dc_dc0"] - np.eye(n_hidden))))
        numbers["max |dc_T/dc_0 - I| (f = 1, i = 0)"] = dev
        numbers["all f_t == 1.0 in float64"] = bool(np.all(result["f"] == 1.0))
        numbers["|dL/dc_0| / |dL/dc_T| (f = 1, i = 0)"] = float(np.exp(m_end))
        rows += [Comparison(f"dc_T/dc_0 over T = {T} steps (f = 1, i = 0): max deviation from I",
                            0.0, dev, tolerances.ROUNDING),
                 Comparison("|dL/dc_0| / |dL/dc_T| (f = 1, i = 0)", 1.0, float(np.exp(m_end)),
                            tolerances.ROUNDING)]  # fmt: skip
    ax.plot([], [], ":", color="black", lw=1.5, label="product of the $f_t$ times the probe")
    ylabel = r"$\log_{10}\|\partial L/\partial s_{T-k}\|$"
    ax.set(xlabel="steps back $k$", ylabel=ylabel + r"  (probe on $c_T$)",
           title=f"LSTM, input gate shut ($b_i = -{SATURATE:g}$), n = {n_hidden}")  # fmt: skip
    zoom.set(xlabel="steps back $k$", ylabel=ylabel, title="Zoom: forget gate at or near 1")
    ax.legend(fontsize=9, loc="lower left")
    text = f"f = 1, i = 0:  max $|\\partial c_T/\\partial c_0 - I|$ = {dev:.1e}"
    zoom.legend(fontsize=10, loc="lower left", title=text, title_fontsize=11)
    derivation = gt.derive(gt.cells.lstm())  # the c-rows of the LSTM step Jacobian
    cc, ch = (derivation.printer.doprint(derivation.block_jacobians["c", s]) for s in "ch")
    latex = (rf"\frac{{\partial c_t}}{{\partial c_{{t-1}}}} = {cc},\quad "
             rf"\frac{{\partial c_t}}{{\partial h_{{t-1}}}} = {ch}")  # fmt: skip
    settings = {"n_hidden": n_hidden, "n_in": n_in, "T": T, "batch": batch, "b_i": -SATURATE,
                "forget targets": list(FORGET), "h0": 0, "c0": "N(0, 1)"}  # fmt: skip
    headline = ["max |dc_T/dc_0 - I| (f = 1, i = 0)", "|dL/dc_0| / |dL/dc_T| (f = 1, i = 0)"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline)
