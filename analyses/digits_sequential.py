"""Pixel-by-pixel digits with gated and identity-initialised RNNs.

Claim: Read one pixel per step (T = 64), digits are classified well above chance by GRU, LSTM
and the identity-initialised ReLU RNN, also when the pixel order is permuted.

Source: Le, Jaitly & Hinton 2015 (sequential and permuted MNIST), on scikit-learn's 8x8 digits.

scikit-learn's bundled 8x8 digits (1797 images, a fixed 80/20 train/test split) are fed one
pixel per step (T = 64, one input) in row-major order and, in the full run, in a fixed random
permutation that scatters neighbouring pixels across the sequence (as in permuted MNIST); the
class is read out after the last pixel. Every model gets the same budget (Adam, batch 32, 32
units, gradient norm clipped to 1) and its own learning rate; test accuracy on the 359
held-out images is recorded during training. Chance is about 10%.
"""

import sys

import numpy as np
from matplotlib.ticker import NullFormatter

import gradtheory as gt
from gradtheory.claims import ClaimResult, claim, main
from gradtheory.claims._common import (
    COLORS,
    interval,
    make_net,
    run_sweep,
    seed_list,
    seeds_row,
    smooth,
)
from gradtheory.figures import new_figure

LEARNING_RATES = {"GRU": 1e-2, "LSTM": 1e-2, "IRNN": 1e-3}
HIDDEN, CLIP = 32, 1.0


def train_digits(model: str, steps: int, permuted: bool, every: int, seed: int = 0):
    """Train ``model``; returns (training loss, {step: test accuracy})."""
    task = gt.tasks.digits(permuted=permuted, seed=seed)
    x, y, mask = task.test_set()
    net = make_net(model, 1, HIDDEN, 10, seed=seed)
    track = {}

    def record(step, model_net, _history):
        track[step] = task.score(model_net.forward(x, record=False).outputs, y, mask)

    hist = gt.train(
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


def digits_point(model: str, permuted: bool, seed: int, steps: int, every: int) -> dict:
    """One training run of the sweep: loss curve and test accuracy at every checkpoint."""
    loss, track = train_digits(model, steps, permuted, every, seed)
    return {
        "loss": np.asarray(loss),
        "eval_steps": np.array(sorted(track)),
        "accuracy": np.array([track[k] for k in sorted(track)]),
    }


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    (steps, every), seeds = ((600, 50) if quick else (2000, 100)), seed_list(seed, quick)
    orders = (False,) if quick else (False, True)
    grid = {
        "model": list(LEARNING_RATES),
        "permuted": list(orders),
        "seed": seeds,
        "steps": [steps],
        "every": [every],
    }
    result = run_sweep(digits_point, grid)
    fig, (ax, ax2) = new_figure(1, 2, width=13.0)
    numbers, rows, arrays = {}, [], {}
    for permuted in orders:
        tag, ls = ("permuted", "--") if permuted else ("row-major", "-")
        for model in LEARNING_RATES:
            records = result.select(model=model, permuted=permuted).records
            acc = np.array([r["accuracy"] for r in records])  # (seeds, checkpoints)
            loss = np.array([smooth(r["loss"], 25) for r in records])
            final = acc[:, -1]
            mean, half = interval(final)
            numbers[f"test accuracy (mean, 95% half-width), {model}, {tag}"] = [mean, half]
            numbers[f"test accuracy per seed, {model}, {tag}"] = final.tolist()
            arrays[f"accuracy_{model}_{tag}"], arrays[f"loss_{model}_{tag}"] = acc, loss
            label = f"{model}, {tag}: {mean:.1%}"
            s = records[0]["eval_steps"]
            ax.plot(s, acc.mean(axis=0), ls, color=COLORS[model], label=label)
            ax.fill_between(
                s, acc.min(axis=0), acc.max(axis=0), color=COLORS[model], alpha=0.15, lw=0
            )
            ax2.semilogy(np.median(loss, axis=0), ls, color=COLORS[model], label=label)
            rows.append(seeds_row(f"test accuracy, {model}, {tag}", final, 0.5, below=False))
    ax.axhline(0.1, color="grey", ls=":", lw=1.5, label="chance / label entropy")
    ax.set_ylim(0, 1)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (359 images)")
    ax.set_title(f"8x8 digits, one pixel per step (T = 64); {len(seeds)} seeds, band min-max")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=11)
    ax2.axhline(gt.tasks.digits().baseline, color="grey", ls=":", lw=1.5)
    ax2.set_xlabel("training step")
    ax2.set_ylabel("training cross-entropy (moving avg. 25)")
    ax2.set_title(f"Adam, batch 32, {HIDDEN} units, clip 1")
    ax2.set_yticks([0.1, 0.2, 0.5, 1, 2, 5])
    ax2.set_yticklabels(["0.1", "0.2", "0.5", "1", "2", "5"])
    ax2.yaxis.set_minor_formatter(NullFormatter())
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
        "seeds": seeds,
        "budget calibration": "none: today's 2000 Adam steps, no PyTorch calibration run",
    }
    headline = [k for k in numbers if k.startswith("test accuracy (mean")]
    return ClaimResult(fig, numbers, rows, settings, "", headline, arrays)


if __name__ == "__main__":
    sys.exit(main(__file__))
