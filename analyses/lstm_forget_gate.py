"""LSTM with forget gate near 1: gradient rate near zero.

Claim: With the forget gate near 1 (large forget bias, negative input bias) both the predicted
and the measured growth rate of the LSTM's gradient are near zero; with the default or a
negative forget bias the gradient vanishes quickly.

Source: Hochreiter and Schmidhuber 1997; Gers et al. 2000; lecture notes 001 and 004.

With f = sigmoid(b_f) near 1 and the input gate shut, the cell's Jacobian block dc_t/dc_{t-1} =
diag(f_t) is close to the identity, so the predicted (step-Jacobian route of ``gt.verify``) and
measured (BPTT) log growth rates of ||dL/ds_t|| are both near zero. The contrast: default
(PyTorch) initialisation, a forget bias of +1 (Jozefowicz et al. 2015) and a negative one, where
f_t is about 1/2 or smaller and the gradient vanishes fast.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import PALETTE, new_figure

#: label -> (forget-gate bias, input-gate bias); None keeps the default initialisation.
SETTINGS = {"default init": (None, None), "$b_f = +1$": (1.0, None),
            "$b_f = +5,\\ b_i = -5$": (5.0, -5.0), "$b_f = -3$": (-3.0, None)}  # fmt: skip


def lstm_network(n_hidden: int, n_in: int, forget_bias, input_bias, seed: int) -> gt.Network:
    """An LSTM at PyTorch's default init with the forget (and input) gate biases overwritten."""
    net, n = gt.Network(gt.cells.lstm(), n_in=n_in, n_hidden=n_hidden, seed=seed), n_hidden
    for bias, gate in ((input_bias, slice(0, n)), (forget_bias, slice(n, 2 * n))):
        if bias is not None:
            net.params["b"][gate] = bias
    return net


def _plain(label: str) -> str:
    return label.replace("$", "").replace("\\ ", " ")


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    n_hidden, n_in, T, batch = (32, 4, 200, 16) if quick else (64, 4, 400, 32)
    x = np.random.default_rng([seed, 5]).normal(size=(T, batch, n_in))
    fig, (ax, ax_zoom) = new_figure(1, 2, width=13.0, height=4.8)
    numbers, rows, checks = {}, [], {}
    for color, (label, (bf, bi)) in zip(PALETTE, SETTINGS.items(), strict=False):
        net = lstm_network(n_hidden, n_in, bf, bi, seed)
        check = checks[label] = gt.verify(net, x, method="jacobian", seed=seed)
        predicted = {"color": "black", "label": None}  # named once in the legend, below
        check.plot(ax, band=False, predicted=predicted, color=color, label=f"{label}: measured")
        # ln f_t along the trajectory: the carousel's own per-step rate
        log_f = -np.logaddexp(0.0, -net.forward(x).tape.env["a_f"])
        name = _plain(label)
        numbers.update({f"predicted rate, {name}": check.predicted.rate,
                        f"measured rate, {name}": check.measured_rate,
                        f"mean ln f_t, {name}": float(np.mean(log_f))})  # fmt: skip
        rows.append(Comparison.from_check(f"gradient growth rate per step, {name}", check))
    ax.plot([], [], "--", color="black", lw=1.2, label="predicted (Jacobian route)")
    ax.set_title(f"LSTM, n = {n_hidden}: gradient vs steps back")
    ax.legend(fontsize=9, loc="lower left")
    near = list(SETTINGS)[2]
    checks[near].plot(ax_zoom).set_title(f"Zoom: {near} (f near 1)")
    ax_zoom.legend(fontsize=10, loc="lower left")
    settings = {"n_hidden": n_hidden, "n_in": n_in, "T": T, "batch": batch, "inputs": "N(0, 1)",
                "init": "torch (PyTorch default)",
                "biases": {_plain(k): v for k, v in SETTINGS.items()}}  # fmt: skip
    latex = (r"\frac{\partial c_t}{\partial c_{t-1}} = \operatorname{diag}(f_t),\quad "
             r"f_t = \sigma(W_f h_{t-1} + U_f x_t + b_f) \to 1 \ (b_f \gg 0)\ \Rightarrow\ "
             r"\ln\Big\|\prod_t \operatorname{diag}(f_t)\Big\| \approx "
             r"\sum_t \ln f_t \approx 0")  # fmt: skip
    headline = [f"mean ln f_t, {_plain(near)}", "measured rate, default init"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline)
