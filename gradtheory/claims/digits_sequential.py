"""Digits read one pixel at a time: GRU, LSTM and IRNN (Le, Jaitly & Hinton 2015, small scale).

scikit-learn's bundled 8x8 digits (1797 images, a fixed 80/20 train/test split) are fed one
pixel per step (T = 64, one input) in row-major order and, in the full run, in a fixed random
permutation that scatters neighbouring pixels across the sequence (as in permuted MNIST); the
class is read out after the last pixel. Every model gets the same budget (Adam, batch 32, 32
units, gradient norm clipped to 1) and its own learning rate; test accuracy on the 359
held-out images is recorded during training. Chance is about 10%.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from ..figures import new_figure
from ..numeric.tasks import digits
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import COLORS, make_net, smooth

LEARNING_RATES = {"GRU": 1e-2, "LSTM": 1e-2, "IRNN": 1e-3}
HIDDEN, CLIP = 32, 1.0


def train_digits(model: str, steps: int, permuted: bool, every: int, seed: int = 0):
    """Train ``model``; returns (training loss, {step: test accuracy})."""
    task = digits(permuted=permuted, seed=seed)
    x, y, mask = task.test_set()
    net = make_net(model, 1, HIDDEN, 10, seed=seed)
    track = {}

    def record(step, model_net, _history):
        track[step] = task.score(model_net.forward(x, record=False).outputs, y, mask)

    hist = train(
        net,
        task,
        steps=steps,
        lr=LEARNING_RATES[model],
        clip=CLIP,
        seed=seed,
        callback=record,
        callback_every=every,
        progress=False,
    )
    track[steps] = task.score(net.forward(x, record=False).outputs, y, mask)
    return hist.loss, track


@claim(
    "digits_sequential",
    "Pixel-by-pixel digits with gated and identity-initialised RNNs",
    "Le, Jaitly & Hinton 2015 (sequential and permuted MNIST), on scikit-learn's 8x8 digits",
    "Read one pixel per step (T = 64), digits are classified well above chance by GRU, LSTM "
    "and the identity-initialised ReLU RNN, also when the pixel order is permuted.",
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps = 600 if quick else 2000
    every = 50 if quick else 100
    orders = (False,) if quick else (False, True)
    fig, (ax, ax2) = new_figure(1, 2, width=13.0)
    numbers, rows, arrays = {}, [], {}
    baseline = digits().baseline
    for permuted in orders:
        tag = "permuted" if permuted else "row-major"
        ls = "--" if permuted else "-"
        for model in LEARNING_RATES:
            loss, track = train_digits(model, steps, permuted, every, seed)
            s = np.array(sorted(track))
            acc = np.array([track[k] for k in s])
            final = float(acc[-1])
            numbers[f"test accuracy, {model}, {tag}"] = final
            numbers[f"best test accuracy, {model}, {tag}"] = float(acc.max())
            arrays[f"accuracy_{model}_{tag}"] = acc
            arrays[f"loss_{model}_{tag}"] = loss
            label = f"{model}, {tag}: {final:.1%}"
            ax.plot(s, acc, ls, color=COLORS[model], label=label)
            ax2.semilogy(smooth(loss, 25), ls, color=COLORS[model], label=label)
            rows.append(
                {
                    "quantity": f"test accuracy, {model}, {tag}",
                    "predicted": "well above chance (> 0.5)",
                    "measured": final,
                    "agrees": final > 0.5,
                }
            )
    ax.axhline(0.1, color="grey", ls=":", lw=1.5, label="chance / label entropy")
    ax.set_ylim(0, 1)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (359 images)")
    ax.set_title("8x8 digits, one pixel per step (T = 64)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=11)
    ax2.axhline(baseline, color="grey", ls=":", lw=1.5)
    ax2.set_xlabel("training step")
    ax2.set_ylabel("training cross-entropy (moving avg. 25)")
    ax2.set_title(f"Adam, batch 32, {HIDDEN} units, clip 1")
    ax2.set_yticks([0.1, 0.2, 0.5, 1, 2, 5])
    ax2.set_yticklabels(["0.1", "0.2", "0.5", "1", "2", "5"])
    ax2.yaxis.set_minor_formatter(NullFormatter())
    summary = (
        "Test accuracy after "
        + f"{steps} steps: "
        + "; ".join(f"{m} {numbers[f'test accuracy, {m}, row-major']:.1%}" for m in LEARNING_RATES)
    )
    if len(orders) > 1:
        summary += " (row-major); permuted: " + "; ".join(
            f"{m} {numbers[f'test accuracy, {m}, permuted']:.1%}" for m in LEARNING_RATES
        )
    summary += " (chance about 10%)."
    settings = {
        "steps": steps,
        "eval_every": every,
        "orders": ["permuted" if p else "row-major" for p in orders],
        "learning_rates": LEARNING_RATES,
        "optimizer": "adam",
        "batch": 32,
        "n_hidden": HIDDEN,
        "clip_norm": CLIP,
        "test_images": 359,
    }
    return ClaimResult(
        fig, numbers, settings=settings, comparisons=rows, summary=summary, arrays=arrays
    )
