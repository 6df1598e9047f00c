"""Clipping the gradient norm tames exploding gradients.

Claim: Rescaling the gradient to norm at most a threshold when it is larger keeps SGD on a
pathological task stable at learning rates where the unclipped run jumps away or diverges, and
lets it learn faster.

Source: Pascanu, Mikolov & Bengio 2013.

A tanh RNN (32 units, Gaussian recurrent weights of gain 1) learns the temporal-order problem
(Hochreiter & Schmidhuber 1997, exp. 6a; T = 20, 4 classes, chance loss ln 4) by plain SGD, once
without and once with clipping of the global gradient norm to 1 (Pascanu et al.'s Algorithm 1),
from the same initial weights on the same batches, at a moderate and a large learning rate.
The bottom row repeats the comparison on the adding problem (T = 20) at a learning rate at
which the unclipped run explodes: the trainer stops it at the first non-finite loss or
gradient (``History.diverged_at``) and keeps what was recorded. Every setting runs over 5 seeds
(2 with --quick) as one ``gt.sweep``, paired by seed; a comparison holds for 4 of 5 seeds.
"""

from itertools import product

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, _common, claim
from gradtheory.figures import PALETTE, new_figure

CLIP, T, HIDDEN, ORDER_LRS, ADDING_LR = 1.0, 20, 32, (0.1, 0.5), 0.3
TASKS = {"temporal order": gt.tasks.temporal_order, "adding": gt.tasks.adding}
BUDGET = {False: 1500, True: 600}  # SGD steps at full size and with --quick
CALIBRATION = {
    "target": "clipped SGD learns temporal order (T = 20) where unclipped SGD does not, and "
    "stays finite on adding where unclipped SGD explodes (Pascanu et al. 2013, Sec. 5)",
    "tried": "1500 steps, 1 seed: final loss / ln 4 0.0033 (clipped) vs 0.53 at lr 0.1, 0.041 "
    "vs 3.1 at lr 0.5; adding lr 0.3 unclipped diverged at step 19",
    "chosen": "1500 SGD steps (unchanged: the comparisons need no more)",
    "core-minutes (full size, idle core)": 2,
}


def sgd_point(task: str, lr: float, clipped: bool, seed: int, steps: int) -> dict:
    """Train a fresh tanh RNN by SGD (same ``seed``: same weights, same batches)."""
    problem = TASKS[task](T)
    net = _common.make_net("tanh RNN", problem.n_in, HIDDEN, problem.n_out, seed=seed)
    train = {"steps": steps, "optimizer": "sgd", "lr": lr, "clip": CLIP if clipped else None}
    record, hist = _common.fit(net, problem, seed=seed, **train)
    final = float(np.mean(hist.loss[-steps // 10 :])) / problem.baseline
    norms = {"grad_norm": hist.grad_norm, "grad_norm_clipped": hist.grad_norm_clipped}
    return {**record, **norms, "final": final, "clipped_steps": hist.clipped}


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps, seeds = BUDGET[quick], _common.seed_list(seed, quick)
    cases = [("temporal order", lr) for lr in ORDER_LRS] + [("adding", ADDING_LR)]
    grid = [
        {"task": task, "lr": lr, "clipped": c, "seed": s, "steps": steps}
        for (task, lr), c, s in product(cases, (False, True), seeds)
    ]
    result = _common.run_sweep(sgd_point, grid)
    fig, axes = new_figure(2, 2, width=15.0, height=8.6)
    numbers, rows = {}, []
    for n, ((task, lr), clipped) in enumerate(product(cases, (False, True))):
        records = result.select(task=task, lr=lr, clipped=clipped).records
        tag = "clipped" if clipped else "unclipped"
        key, finals = f"{task}, lr={lr}, {tag}", [r["final"] for r in records]
        _common.seed_stats(numbers, f"final loss / baseline, {key}", finals)
        numbers[f"test score per seed, {key}"] = [r["score"] for r in records]
        diverged = [r["diverged_at"] for r in records]
        numbers[f"diverged at step per seed (-1: never), {key}"] = diverged
        frac = float(np.mean([r["clipped_fraction"] for r in records]))
        numbers[f"fraction of steps clipped, {key}"] = frac
        if task == "adding":
            quantity = f"a non-finite loss or gradient, adding T={T}, SGD lr {lr}, {tag}"
            rows.append(_common.seeds_row(quantity, np.array(diverged) >= 0, 0.5, below=clipped))
        elif clipped:
            unclipped = numbers[f"final loss / baseline, {task}, lr={lr}, unclipped per seed"]
            quantity = f"final loss / ln 4 clipped minus unclipped (temporal order, SGD lr {lr})"
            rows.append(_common.seeds_row(quantity, np.subtract(finals, unclipped), 0.0))
        r = records[0]  # seed 0 drawn with History.plot: loss, gradient norm, clipping
        curves = [r[k] for k in ("loss", "grad_norm", "grad_norm_clipped", "clipped_steps")]
        diverged_at, clip = (r["diverged_at"] if r["diverged_at"] >= 0 else None), clipped and CLIP
        history = gt.History(*curves, diverged_at=diverged_at, settings={"clip": clip})
        label = f"lr {lr}, {tag}" + (f" ({frac:.0%} clipped)" if clipped else "")
        style = {"color": PALETTE[n], "ls": "-" if clipped else "--"}
        for ax in history.plot(axes=axes[int(task == "adding")], **style):
            for line in ax.lines:  # name History.plot's curves after the setting
                if line.get_label() in ("training loss", "before clipping"):
                    line.set_label(label)
    for ax, (task, _) in zip(axes[:, 0], cases[1:], strict=True):
        ax.axhline(TASKS[task](T).baseline, color="grey", ls=":", lw=1.5, label="baseline")
        ax.set_title(f"{task}, T = {T}: training loss (seed {seeds[0]} of {len(seeds)})")
    axes[1, 0].set_ylim(1e-2, 1e3)
    for ax in axes.flat:
        ax.legend(fontsize=8)
    init = "gaussian, gain 1"
    settings = _common.constants(globals(), steps=steps, seeds=seeds, optimizer="sgd", init=init)
    latex = r"g \leftarrow \frac{\eta}{\|g\|}\, g \quad \text{if } \|g\| > \eta"
    headline = [k for k in numbers if k.startswith("final loss") and "(mean" in k][:4]
    return ClaimResult(fig, numbers, rows, settings, latex, headline)
