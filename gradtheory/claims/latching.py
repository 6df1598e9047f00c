"""Information latching gets harder with the span T (Bengio, Simard & Frasconi 1994).

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

from __future__ import annotations

import numpy as np

from ..figures import PALETTE, new_figure
from ..numeric.tasks import latch
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import evaluate, make_net

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
    task = latch(T, noise=NOISE)
    train(net, task, steps=steps, lr=lr, seed=seed, progress=False)
    return evaluate(net, task, seed=seed)[1]


@claim(
    "latching",
    "Latching information over longer spans: tanh RNN versus LSTM",
    "Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber 1997",
    "The probability that gradient descent teaches a tanh RNN to latch a bit through noise "
    "falls as the span grows; an LSTM whose forget gate starts open bridges longer spans.",
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    Ts = (10, 20, 40, 80) if quick else (10, 20, 40, 80, 160)
    seeds = [seed + i for i in range(2 if quick else 5)]
    steps = 300 if quick else 400
    acc = np.zeros((len(MODELS), len(Ts), len(seeds)))
    for m, label in enumerate(MODELS):
        for j, T in enumerate(Ts):
            for s, sd in enumerate(seeds):
                acc[m, j, s] = train_latch(label, T, steps, sd)
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
            numbers[f"mean accuracy, {label}, T={T}"] = float(acc[m, j].mean())
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
    rows.append(
        {
            "quantity": f"tanh RNN success rate, T={Ts[0]} -> T={Ts[-1]}",
            "predicted": "falls with T",
            "measured": f"{tanh[0]:.2f} -> {tanh[-1]:.2f}",
            "agrees": bool(tanh[-1] < tanh[0]),
        }
    )
    rows.append(
        {
            "quantity": f"success rate at T={Ts[-1]}, {labels[2]} vs tanh RNN",
            "predicted": "LSTM higher",
            "measured": f"{gated[-1]:.2f} vs {tanh[-1]:.2f}",
            "agrees": bool(gated[-1] > tanh[-1]),
        }
    )
    summary = (
        "Success rate (accuracy > 0.9) by span T = "
        + ", ".join(map(str, Ts))
        + ": "
        + "; ".join(
            f"{label} " + ", ".join(f"{v:.2f}" for v in success[m])
            for m, label in enumerate(labels)
        )
        + f" ({len(seeds)} seeds, {steps} steps)."
    )
    settings = {
        "T": list(Ts),
        "noise": NOISE,
        "L": 3,
        "seeds": seeds,
        "steps": steps,
        "n_hidden": HIDDEN,
        "optimizer": "adam",
        "batch": 32,
        "success": SUCCESS,
        "learning_rates": {k: v[2] for k, v in MODELS.items()},
        "forget_bias": FORGET_BIAS,
        "test_batch": 1000,
    }
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        comparisons=rows,
        summary=summary,
        arrays={"accuracy": acc, "T": np.array(Ts)},
    )
