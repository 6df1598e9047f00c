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
gradient (``History.diverged_at``), keeps what was recorded, and rolls back the last update.
Every setting runs over 5 seeds (2 with --quick) as one ``gt.sweep``, paired by seed (same
weights and batches with and without clipping); a comparison holds for at least 4 of 5 seeds.
"""

import sys

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, claim, main
from gradtheory.claims._common import evaluate, interval, run_sweep, seed_list, seeds_row, smooth
from gradtheory.figures import PALETTE, new_figure

CLIP, T, HIDDEN, LOSS_TOP = 1.0, 20, 32, 1e3
ORDER_LRS, ADDING_LR = (0.1, 0.5), 0.3
TASKS = {"temporal order": gt.tasks.temporal_order, "adding": gt.tasks.adding}


def sgd_point(task: str, lr: float, clipped: bool, seed: int, steps: int) -> dict:
    """Train a fresh tanh RNN by SGD (same ``seed``: same weights, same batches)."""
    problem = TASKS[task](T)
    net = gt.Network(
        gt.cells.elman("tanh"),
        n_in=problem.n_in,
        n_hidden=HIDDEN,
        n_out=problem.n_out,
        init="gaussian",
        gain=1.0,
        seed=seed,
        dtype="float32",
    )
    hist = gt.train(
        net,
        problem,
        steps=steps,
        optimizer="sgd",
        lr=lr,
        clip=CLIP if clipped else None,
        seed=seed,
        progress=False,
    )
    diverged = hist.diverged_at is not None
    score = float("nan") if diverged else evaluate(net, problem, seed=seed)[1]
    return {
        "final": float(np.mean(hist.loss[-steps // 10 :])) / problem.baseline,
        "score": score,
        "diverged_at": int(hist.diverged_at) if diverged else -1,
        "clipped_fraction": float(hist.clipped.mean()) if hist.clipped.size else 0.0,
        "loss": np.asarray(hist.loss),
        "grad_norm": np.asarray(hist.grad_norm),
    }


def _trace(ax, ax_g, record, color, ls, label, window):
    ax.semilogy(smooth(record["loss"], window), ls, color=color, label=label)
    ax_g.semilogy(record["grad_norm"], ls, color=color, lw=1, alpha=0.8, label=label)


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps, seeds = 600 if quick else 1500, seed_list(seed, quick)
    points = [{"task": "temporal order", "lr": lr} for lr in ORDER_LRS] + [
        {"task": "adding", "lr": ADDING_LR}
    ]
    grid = [
        {**p, "clipped": c, "seed": s, "steps": steps}
        for p in points
        for c in (False, True)
        for s in seeds
    ]
    result = run_sweep(sgd_point, grid)
    window = max(steps // 60, 5)
    fig, axes = new_figure(2, 2, width=15.0, height=8.6)
    numbers, rows = {}, []
    for p in points:
        top = p["task"] == "temporal order"
        ax, ax_g = axes[0 if top else 1]
        finals = {}
        for clipped, ls in ((False, "--"), (True, "-")):
            records = result.select(**p, clipped=clipped).records
            tag, key = "clipped" if clipped else "unclipped", f"{p['task']}, lr={p['lr']}"
            finals[clipped] = np.array([r["final"] for r in records])
            diverged = np.array([r["diverged_at"] >= 0 for r in records])
            numbers[f"final loss / baseline (mean, 95% half-width), {key}, {tag}"] = list(
                interval(finals[clipped])
            )
            numbers[f"test score per seed, {key}, {tag}"] = [r["score"] for r in records]
            numbers[f"diverged at step per seed (-1: never), {key}, {tag}"] = [
                r["diverged_at"] for r in records
            ]
            frac = float(np.mean([r["clipped_fraction"] for r in records]))
            numbers[f"fraction of steps clipped, {key}, {tag}"] = frac
            color = (
                PALETTE[0 if p["lr"] == ORDER_LRS[0] else 3]
                if top
                else PALETTE[2 if clipped else 3]
            )
            label = f"lr {p['lr']}, {tag}" + (f" ({frac:.0%} of steps clipped)" if clipped else "")
            div = records[0]["diverged_at"]
            _trace(ax, ax_g, records[0], color, ls, label, 1 if div >= 0 else window)
            if not top:
                rows.append(
                    seeds_row(
                        f"a non-finite loss or gradient, adding T={T}, SGD lr {p['lr']}, {tag}",
                        diverged.astype(float),
                        0.5,
                        below=clipped,
                    )
                )
            if not top and div >= 0:
                for a in (ax, ax_g):
                    a.axvline(div, color=color, ls=":", lw=1.5)
                peak = float(
                    np.nanmax(np.where(np.isfinite(records[0]["loss"]), records[0]["loss"], np.nan))
                )
                ax.annotate(
                    f"unclipped loss reaches {peak:.1e},\nthen stops at step {div}",
                    (div, LOSS_TOP),
                    xytext=(25, -40),
                    textcoords="offset points",
                    color=color,
                    fontsize=10,
                    arrowprops={"arrowstyle": "->", "color": color},
                )
        if top:
            rows.append(
                seeds_row(
                    f"final loss / ln 4 clipped minus unclipped (temporal order, SGD lr {p['lr']})",
                    finals[True] - finals[False],
                    0.0,
                )
            )
    order, adding = TASKS["temporal order"](T), TASKS["adding"](T)
    for ax in axes[:, 1]:
        ax.axhline(CLIP, color="black", ls=":", lw=1.5, label="clip threshold")
        ax.set_ylabel(r"$\|\nabla_\theta L\|$ before clipping")
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
    for ax in axes[:, 0]:
        ax.set_ylabel(f"training loss (moving avg. {window})")
    chance = axes[0, 0].axhline(order.baseline, color="grey", ls=":", lw=1.5, label="chance, ln 4")
    base = axes[1, 0].axhline(adding.baseline, color="grey", ls=":", lw=1.5, label="baseline 1/6")
    axes[0, 0].set_title(f"temporal order, T = {T}: loss (seed {seeds[0]} of {len(seeds)})")
    axes[0, 1].set_title("gradient norm per step")
    axes[1, 0].set_title(f"adding, T = {T}, lr {ADDING_LR}: loss (seed {seeds[0]})")
    axes[1, 1].set_title("gradient norm (dotted: stop)")
    axes[1, 0].set_ylim(1e-2, LOSS_TOP)
    for ax in axes.flat:
        ax.set_xlabel("training step")
    axes[0, 0].legend(handles=[chance], fontsize=10, loc="lower left")
    axes[1, 0].legend(handles=[base], fontsize=10, loc="center right")
    settings = {
        "T": T,
        "steps": steps,
        "seeds": seeds,
        "budget calibration": "none: the budget predates the seed sweep, not fitted to a paper",
        "optimizer": "sgd",
        "batch": 32,
        "order_lrs": list(ORDER_LRS),
        "adding_lr": ADDING_LR,
        "clip_norm": CLIP,
        "n_hidden": HIDDEN,
        "init": "gaussian, gain 1",
        "dtype": "float32",
    }
    latex = r"g \leftarrow \frac{\eta}{\|g\|}\, g \quad \text{if } \|g\| > \eta"
    headline = [k for k in numbers if k.startswith("final loss") and "temporal order" in k]
    return ClaimResult(fig, numbers, rows, settings, latex, headline)


if __name__ == "__main__":
    sys.exit(main(__file__))
