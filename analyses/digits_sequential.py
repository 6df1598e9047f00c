"""Pixel-by-pixel digits with gated and identity-initialised RNNs.

Claim: Read one pixel per step (T = 64), digits are classified well above chance by GRU, LSTM
and the identity-initialised ReLU RNN, also when the pixel order is permuted, as accurately as
the same models trained by PyTorch with the same data and budget.

Source: Le, Jaitly & Hinton 2015 (sequential and permuted MNIST), on scikit-learn's 8x8 digits.

scikit-learn's bundled 8x8 digits (1797 images, a fixed 80/20 train/test split) are fed one pixel
per step (T = 64, one input) in row-major order and, in the full run, in a fixed random permutation
that scatters neighbouring pixels across the sequence (as in permuted MNIST); the class is read out
after the last pixel. Every model gets the same budget (Adam, batch 32, 32 units, gradient norm
clipped to 1) and its own learning rate; test accuracy on the 359 held-out images is recorded during
training, over 5 seeds (2 with --quick). Chance is about 10%. No paper reports numbers for 8x8
digits, so the target accuracy of each setting was fixed before the runs from a PyTorch calibration
(``TARGETS``): the PyTorch accuracy less 0.1; a setting agrees when at least 4 of 5 seeds reach it.
"""

from itertools import product

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, _common, claim
from gradtheory.figures import new_figure

LEARNING_RATES = {"GRU": 1e-2, "LSTM": 1e-2, "IRNN": 1e-3}
HIDDEN, CLIP, MARGIN = 32, 1.0, 0.1
#: (steps, evaluate every) at full size and with --quick
BUDGET = {False: (2000, 100), True: (600, 50)}
#: test accuracy of torch.nn.GRU / LSTM / RNN(relu) after 500 and 2000 Adam steps with the same
#: data, sizes, learning rates, clipping and initial weights (make_net, to_torch), seed 0.
PYTORCH = {
    ("GRU", "row-major"): (0.777, 0.919), ("LSTM", "row-major"): (0.755, 0.958),
    ("IRNN", "row-major"): (0.546, 0.624), ("GRU", "permuted"): (0.733, 0.841),
    ("LSTM", "permuted"): (0.721, 0.85), ("IRNN", "permuted"): (0.117, 0.337),
}  # fmt: skip
#: target per setting: the PyTorch accuracy less MARGIN (500 steps for --quick's 600)
TARGETS = {q: {k: round(v[not q] - MARGIN, 3) for k, v in PYTORCH.items()} for q in (True, False)}
CALIBRATION = {
    "target": f"the PyTorch accuracy ('pytorch') - {MARGIN}, fixed before the full-size runs",
    "core-minutes (full size, idle core)": 5,
}


def digits_point(model: str, permuted: bool, seed: int, steps: int, every: int) -> dict:
    """Train ``model``; its training loss, and its accuracy on the test images (``measured``)."""
    task = gt.tasks.digits(permuted=permuted, seed=seed)
    x, y, mask = task.test_set()
    net = _common.make_net(model, 1, HIDDEN, 10, seed=seed)
    measure = lambda now: task.score(now.forward(x, record=False).outputs, y, mask)  # noqa: E731
    train = {"steps": steps, "lr": LEARNING_RATES[model], "clip": CLIP}
    return _common.fit(net, task, seed=seed, measure=measure, every=every, **train)[0]


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    (steps, every), seeds = BUDGET[quick], _common.seed_list(seed, quick)
    orders = [False] if quick else [False, True]
    grid = dict(model=[*LEARNING_RATES], permuted=orders, seed=seeds, steps=[steps], every=[every])
    result = _common.run_sweep(digits_point, grid)
    fig, (ax, ax2) = new_figure(1, 2, width=13.0)
    numbers, rows, arrays = {}, [], {}
    for permuted, model in product(orders, LEARNING_RATES):
        tag, ls = ("permuted", "--") if permuted else ("row-major", "-")
        color = _common.COLORS[model]
        records = result.select(model=model, permuted=permuted).records
        acc = np.array([r["measured"] for r in records])  # (seeds, checkpoints)
        loss = np.array([_common.smooth(r["loss"], 25) for r in records])
        mean = _common.seed_stats(numbers, f"test accuracy, {model}, {tag}", acc[:, -1])
        arrays[f"accuracy_{model}_{tag}"], arrays[f"loss_{model}_{tag}"] = acc, loss
        label, target = f"{model}, {tag}: {mean:.1%}", TARGETS[quick][model, tag]
        _common.band(ax, records[0]["measured_at"], acc, color, label, ls)
        ax2.semilogy(np.median(loss, axis=0), ls, color=color, label=label)
        rows.append(_common.seeds_row(f"test accuracy, {model}, {tag}", acc[:, -1], target, False))
    title = f"8x8 digits, one pixel per step (T = 64); {len(seeds)} seeds, band min-max"
    ax.axhline(0.1, color="grey", ls=":", lw=1.5, label="chance / label entropy")
    ax.set(ylim=(0, 1), xlabel="training step", ylabel="test accuracy (359 images)", title=title)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=11)
    ax2.axhline(gt.tasks.digits().baseline, color="grey", ls=":", lw=1.5)
    title = f"Adam, batch 32, {HIDDEN} units, clip 1"
    ax2.set(xlabel="training step", ylabel="training cross-entropy (moving avg. 25)", title=title)
    settings = _common.constants(globals(), steps=steps, seeds=seeds, test_images=359)
    headline = [k for k in numbers if k.startswith("test accuracy") and "(mean" in k]
    return ClaimResult(fig, numbers, rows, settings, "", headline, arrays)
