"""A GRU learns the 3-bit flip-flop (Sussillo & Barak 2013).

Three input channels emit sparse +1/-1 pulses (probability 0.05 per step each); each output
must hold the sign of its channel's latest pulse (MSE at every step). The trained network
stores 3 bits, i.e. 2^3 = 8 stable states. Bit accuracy is the fraction of (step, channel)
pairs after the channel's first pulse whose output has the sign of the target, measured on
500 fresh sequences every few steps during training.
"""

from __future__ import annotations

import numpy as np

from ..figures import PALETTE, new_figure
from ..numeric.tasks import flipflop
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import make_net, smooth

BITS, T, HIDDEN, LR, TARGET = 3, 100, 32, 1e-2, 0.95


def bit_accuracy(outputs: np.ndarray, y: np.ndarray) -> float:
    """Fraction of entries with a nonzero target whose output has the target's sign.

    Examples
    --------
    >>> bit_accuracy(np.array([0.3, -0.1, 0.2]), np.array([1.0, 1.0, 0.0]))
    0.5
    """
    sel = y != 0
    return float(np.mean(np.sign(outputs[sel]) == y[sel]))


@claim(
    "flipflop_gru",
    "A GRU learns the 3-bit flip-flop",
    "Sussillo & Barak 2013",
    "A small gated RNN trained on the 3-bit flip-flop holds each bit until the next pulse on "
    "its channel, with over 95% bit accuracy.",
    ci=True,
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps = 400 if quick else 1500
    every = 20 if quick else 50
    task = flipflop(BITS, T)
    x_eval, y_eval, _ = task.sample(500, np.random.default_rng([seed, 21]))
    net = make_net("GRU", BITS, HIDDEN, BITS, seed=seed)
    track = {}

    def record(step, model, _history):
        track[step] = bit_accuracy(model.forward(x_eval, record=False).outputs, y_eval)

    hist = train(
        net,
        task,
        steps=steps,
        lr=LR,
        seed=seed,
        progress=False,
        callback=record,
        callback_every=every,
    )
    out = net.forward(x_eval, record=False).outputs
    final = bit_accuracy(out, y_eval)
    track[steps] = final
    first = next((s for s, a in sorted(track.items()) if a > TARGET), None)
    mse = float(np.mean((out - y_eval) ** 2))
    fig, axes = new_figure(BITS, 2, width=13.5, height=7.0)
    grid = axes[0, 1].get_gridspec()
    for ax in axes[:, 1]:
        ax.remove()
    curve_ax = fig.add_subplot(grid[:, 1])
    b = int(np.argmax([np.abs(x_eval[:, i]).sum() for i in range(x_eval.shape[1])]))
    t = np.arange(T)
    for ch, ax in enumerate(axes[:, 0]):
        pulses = np.nonzero(x_eval[:, b, ch])[0]
        ax.vlines(pulses, 0, x_eval[pulses, b, ch], color=PALETTE[1], lw=2.5, label="input pulse")
        ax.step(t, y_eval[:, b, ch], where="post", color="black", lw=1.5, ls="--", label="target")
        ax.plot(t, out[:, b, ch], color=PALETTE[0], lw=2, label="GRU output")
        ax.set_ylim(-1.4, 1.4)
        ax.set_ylabel(f"bit {ch + 1}")
    axes[0, 0].set_title("a test sequence")
    axes[-1, 0].set_xlabel("time step t")
    axes[-1, 0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=10)
    curve_ax.semilogy(
        smooth(hist.loss, 10) / task.baseline,
        color=PALETTE[0],
        label="training MSE / baseline (moving avg. 10)",
    )
    s = np.array(sorted(track))
    n_bits = int(np.count_nonzero(y_eval))
    err = np.maximum(1.0 - np.array([track[k] for k in s]), 0.5 / n_bits)
    curve_ax.semilogy(
        s,
        err,
        "o-",
        color=PALETTE[3],
        ms=4,
        label=f"bit error rate (test; no error drawn at 1/{2 * n_bits})",
    )
    curve_ax.axhline(1 - TARGET, color=PALETTE[3], ls=":", lw=1.5, label="5% bit errors")
    curve_ax.set_xlabel("training step")
    curve_ax.set_ylabel("error (log scale)")
    curve_ax.set_title(f"GRU, {HIDDEN} units, T = {T}: bit accuracy {final:.3%}")
    curve_ax.legend(loc="upper right", fontsize=10)
    numbers = {
        "bit accuracy": final,
        "test MSE": mse,
        "test MSE / baseline": mse / task.baseline,
        "first step above 95% bit accuracy": first if first is not None else -1,
        "training steps": steps,
    }
    rows = [
        {
            "quantity": "bit accuracy after training",
            "predicted": f"> {TARGET:.0%}",
            "measured": final,
            "agrees": final > TARGET,
        }
    ]
    reached = (
        f"first above {TARGET:.0%} at step {first}"
        if first is not None
        else f"never above {TARGET:.0%} within the budget"
    )
    summary = (
        f"After {steps} Adam steps the GRU ({HIDDEN} units) reaches {final:.3%} bit "
        f"accuracy on 500 test sequences of T = {T} ({reached}; test MSE "
        f"{mse / task.baseline:.3g} x baseline)."
    )
    settings = {
        "bits": BITS,
        "T": T,
        "p": task.p,
        "n_hidden": HIDDEN,
        "steps": steps,
        "lr": LR,
        "optimizer": "adam",
        "batch": 32,
        "eval_every": every,
        "test_batch": 500,
    }
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        comparisons=rows,
        summary=summary,
        arrays={
            "loss": hist.loss,
            "eval_steps": s,
            "bit_accuracy": np.array([track[k] for k in s]),
        },
    )
