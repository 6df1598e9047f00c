"""Latching information over longer spans: tanh RNN versus LSTM.

Claim: The probability that gradient descent teaches a tanh RNN to latch a bit through noise
falls as the span grows; an LSTM whose forget gate starts open bridges longer spans.

Source: Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber 1997.

Task: ``latch(T, L=3, noise=0.5)``: the class (+1 or -1) is shown for 3 steps, followed by
T - 3 steps of N(0, 0.5^2) noise, and asked at step T. To hold the bit robustly against the
noise the network needs attracting states, where the gradient of the loss with respect to the
early inputs vanishes (Bengio et al.'s dilemma), so the chance that gradient descent finds a
latch falls as T grows. The noise is set above the task's default 0.2 so that robustness to it
matters at these short spans. Compared: a tanh RNN (Gaussian weights, gain 1), an LSTM with
PyTorch's initialisation (forget gate near 0.5 at first), and an LSTM whose forget-gate bias
starts at +5 (f ~ 0.99: close to Hochreiter & Schmidhuber's constant error carousel, f = 1).
A run succeeds when its accuracy on 1000 fresh sequences exceeds 0.9.
"""

import sys

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, main
from gradtheory.claims._common import evaluate, interval, make_net, run_sweep
from gradtheory.figures import PALETTE, new_figure

NOISE, HIDDEN, SUCCESS, FORGET_BIAS = 0.5, 32, 0.9, 5.0
#: label -> (cell of make_net, forget-gate bias added, Adam learning rate, colour)
MODELS = {
    "tanh RNN": ("tanh RNN", 0.0, 3e-3, PALETTE[0]),
    "LSTM (PyTorch init)": ("LSTM", 0.0, 1e-2, PALETTE[2]),
    f"LSTM, forget bias +{FORGET_BIAS:g}": ("LSTM", FORGET_BIAS, 1e-2, PALETTE[3]),
}


def train_latch(label: str, T: int, steps: int, seed: int) -> float:
    """Train model ``label`` of :data:`MODELS` on latch(T) and return its test accuracy."""
    cell, bias, lr, _ = MODELS[label]
    net = make_net(cell, 1, HIDDEN, 2, seed=seed)
    if bias:
        net.params["b"][HIDDEN : 2 * HIDDEN] += bias  # gate rows i, f, g, o
    task = gt.tasks.latch(T, noise=NOISE)
    gt.train(net, task, steps=steps, lr=lr, seed=seed, progress=False)
    return evaluate(net, task, seed=seed)[1]


def latch_point(label: str, T: int, seed: int, steps: int) -> dict:
    """One training run of the sweep."""
    return {"accuracy": train_latch(label, T, steps, seed)}


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    Ts = (10, 20, 40, 80) if quick else (10, 20, 40, 80, 160)
    seeds = [seed + i for i in range(2 if quick else 5)]
    steps = 300 if quick else 400
    grid = {"label": list(MODELS), "T": list(Ts), "seed": seeds, "steps": [steps]}
    records = run_sweep(latch_point, grid).records
    acc = np.array([r["accuracy"] for r in records]).reshape(len(MODELS), len(Ts), len(seeds))
    success = (acc > SUCCESS).mean(axis=2)
    fig, (ax, ax2) = new_figure(1, 2, width=13.0)
    numbers, rows = {}, []
    for m, (label, (*_, color)) in enumerate(MODELS.items()):
        x = np.array(Ts) * 2.0 ** (0.06 * (m - 1))  # small offsets keep equal curves visible
        style = {"color": color, "marker": "os^"[m], "ls": ("-", "--", "-.")[m], "ms": 7}
        ax.plot(x, success[m], label=label, **style)
        ax2.plot(x, acc[m].mean(axis=1), label=label, **style)
        for s in range(len(seeds)):
            ax2.plot(x, acc[m, :, s], ".", color=color, alpha=0.4, ms=7)
        for j, T in enumerate(Ts):
            numbers[f"success rate, {label}, T={T}"] = float(success[m, j])
            numbers[f"mean accuracy, 95% half-width, {label}, T={T}"] = list(interval(acc[m, j]))
    for a in (ax, ax2):
        a.set_xscale("log", base=2)
        a.set_xticks(Ts)
        a.set_xticklabels([str(T) for T in Ts])
        a.set_xlabel("span T (steps from the class to the question)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel(f"success rate (accuracy > {SUCCESS}, {len(seeds)} seeds)")
    ax.set_title(f"latch(T), noise {NOISE}, {steps} Adam steps")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    ax2.axhline(0.5, color="grey", ls=":", lw=1.5, label="chance")
    ax2.set_ylim(0.4, 1.03)
    ax2.set_ylabel("test accuracy (dots: seeds)")
    ax2.set_title("accuracy per run")
    labels = list(MODELS)
    tanh, gated = success[0], success[2]
    rows += [
        Comparison(
            f"tanh RNN success rate, T={Ts[-1]} minus T={Ts[0]} (falls with T)",
            0.0,
            float(tanh[-1] - tanh[0]),
            rule="below",
        ),
        Comparison(
            f"success rate at T={Ts[-1]}, {labels[2]} minus tanh RNN",
            0.0,
            float(gated[-1] - tanh[-1]),
            rule="above",
        ),
    ]
    settings = {
        "T": list(Ts),
        "noise": NOISE,
        "L": 3,
        "seeds": seeds,
        "budget calibration": "none: the budget predates the seed sweep, not fitted to a paper",
        "steps": steps,
        "n_hidden": HIDDEN,
        "optimizer": "adam",
        "batch": 32,
        "success": SUCCESS,
        "learning_rates": {k: v[2] for k, v in MODELS.items()},
        "forget_bias": FORGET_BIAS,
        "test_batch": 1000,
    }
    headline = [f"success rate, {label}, T={Ts[-1]}" for label in MODELS]
    return ClaimResult(
        fig, numbers, rows, settings, "", headline, {"accuracy": acc, "T": np.array(Ts)}
    )


if __name__ == "__main__":
    sys.exit(main(__file__))
