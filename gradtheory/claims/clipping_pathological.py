"""Clipping the gradient norm on a pathological task (Pascanu, Mikolov & Bengio 2013).

A tanh RNN (32 units, Gaussian recurrent weights of gain 1) learns the temporal-order problem
(Hochreiter & Schmidhuber 1997, exp. 6a; T = 20, 4 classes, chance loss ln 4) by plain SGD, once
without and once with clipping of the global gradient norm to 1 (Pascanu et al.'s Algorithm 1),
from the same initial weights on the same batches, at a moderate and a large learning rate.
The bottom row repeats the comparison on the adding problem (T = 20) at a learning rate at
which the unclipped run explodes: the trainer stops it at the first non-finite loss or
gradient (``History.diverged_at``), keeps what was recorded, and rolls back the last update.
"""

from __future__ import annotations

import numpy as np

from ..cells import elman
from ..figures import PALETTE, new_figure
from ..numeric.network import Network
from ..numeric.tasks import adding, temporal_order
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import evaluate, smooth

CLIP, T, HIDDEN, LOSS_TOP = 1.0, 20, 32, 1e3
ORDER_LRS, ADDING_LR = (0.1, 0.5), 0.3


def run_sgd(task, lr: float, clip: float | None, steps: int, seed: int):
    """Train a fresh tanh RNN (same ``seed``: same weights, same batches) by SGD."""
    net = Network(
        elman("tanh"),
        n_in=task.n_in,
        n_hidden=HIDDEN,
        n_out=task.n_out,
        init="gaussian",
        gain=1.0,
        seed=seed,
        dtype="float32",
    )
    hist = train(
        net, task, steps=steps, optimizer="sgd", lr=lr, clip=clip, seed=seed, progress=False
    )
    score = evaluate(net, task, seed=seed)[1] if hist.diverged_at is None else float("nan")
    return hist, score


def _trace(ax, ax_g, hist, color, ls, label, window):
    ax.semilogy(smooth(hist.loss, window), ls, color=color, label=label)
    ax_g.semilogy(hist.grad_norm, ls, color=color, lw=1, alpha=0.8, label=label)


@claim(
    "clipping_pathological",
    "Clipping the gradient norm tames exploding gradients",
    "Pascanu, Mikolov & Bengio 2013",
    "Rescaling the gradient to norm at most a threshold when it is larger keeps SGD on a "
    "pathological task stable at learning rates where the unclipped run jumps away or "
    "diverges, and lets it learn faster.",
    ci=True,
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    steps = 600 if quick else 1500
    seeds = [seed + i for i in range(1 if quick else 3)]
    window = max(steps // 60, 5)
    fig, axes = new_figure(2, 2, width=15.0, height=8.6)
    numbers, rows = {}, []
    order = temporal_order(T)
    for lr, color in zip(ORDER_LRS, (PALETTE[0], PALETTE[3]), strict=True):
        final = {}
        for clip, ls in ((None, "--"), (CLIP, "-")):
            tag = "clipped" if clip else "unclipped"
            runs = [run_sgd(order, lr, clip, steps, sd) for sd in seeds]
            tail = [float(np.mean(h.loss[-steps // 10 :])) / order.baseline for h, _ in runs]
            final[tag] = float(np.mean(tail))
            numbers[f"final loss / ln 4, lr={lr}, {tag}"] = final[tag]
            numbers[f"test accuracy, lr={lr}, {tag}"] = float(np.mean([s for _, s in runs]))
            frac = float(np.mean([h.clipped.mean() for h, _ in runs]))
            numbers[f"fraction of steps clipped, lr={lr}, {tag}"] = frac
            label = f"lr {lr}, {tag}" + (f" ({frac:.0%} of steps clipped)" if clip else "")
            _trace(axes[0, 0], axes[0, 1], runs[0][0], color, ls, label, window)
        rows.append(
            {
                "quantity": f"final loss / ln 4 (temporal order, SGD lr {lr})",
                "predicted": "clipped < unclipped",
                "measured": f"{final['clipped']:.3g} vs {final['unclipped']:.3g}",
                "agrees": final["clipped"] < final["unclipped"],
            }
        )
    task = adding(T)
    for clip, ls, color in ((None, "--", PALETTE[3]), (CLIP, "-", PALETTE[2])):
        tag = "clipped" if clip else "unclipped"
        hist, score = run_sgd(task, ADDING_LR, clip, steps, seed)
        div = hist.diverged_at
        numbers[f"adding, lr={ADDING_LR}, {tag}: diverged at step"] = div if div is not None else -1
        numbers[f"adding, lr={ADDING_LR}, {tag}: score 1 - MSE/baseline"] = score
        numbers[f"adding, lr={ADDING_LR}, {tag}: fraction clipped"] = float(hist.clipped.mean())
        label = f"lr {ADDING_LR}, {tag}" + (
            f", stopped at step {div}" if div is not None else f", score {score:.2f}"
        )
        _trace(axes[1, 0], axes[1, 1], hist, color, ls, label, 1 if div is not None else window)
        if div is not None:
            for ax in axes[1]:
                ax.axvline(div, color=color, ls=":", lw=1.5)
            peak = float(np.nanmax(np.where(np.isfinite(hist.loss), hist.loss, np.nan)))
            axes[1, 0].annotate(
                f"unclipped loss reaches {peak:.1e},\nthen stops at step {div}",
                (div, LOSS_TOP),
                xytext=(25, -40),
                textcoords="offset points",
                color=color,
                fontsize=10,
                arrowprops={"arrowstyle": "->", "color": color},
            )
            finite = hist.grad_norm[np.isfinite(hist.grad_norm)]
            numbers[f"adding, lr={ADDING_LR}, unclipped: last finite gradient norm"] = (
                float(finite[-1]) if finite.size else float("nan")
            )
        rows.append(
            {
                "quantity": f"adding T={T}, SGD lr {ADDING_LR}, {tag}",
                "predicted": "diverges" if clip is None else "stays finite",
                "measured": f"diverged at step {div}" if div is not None else "finite",
                "agrees": (div is not None) == (clip is None),
            }
        )
    for ax in axes[:, 1]:
        ax.axhline(CLIP, color="black", ls=":", lw=1.5, label="clip threshold")
        ax.set_ylabel(r"$\|\nabla_\theta L\|$ before clipping")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"training loss (moving avg. {window})")
    chance = axes[0, 0].axhline(order.baseline, color="grey", ls=":", lw=1.5, label="chance, ln 4")
    base = axes[1, 0].axhline(task.baseline, color="grey", ls=":", lw=1.5, label="baseline 1/6")
    axes[0, 0].set_title(
        f"temporal order, T = {T}: loss"
        + (f" (seed {seeds[0]} of {len(seeds)})" if len(seeds) > 1 else "")
    )
    axes[0, 1].set_title("gradient norm per step")
    axes[1, 0].set_title(f"adding, T = {T}, lr {ADDING_LR}: loss")
    axes[1, 1].set_title("gradient norm (dotted: stop)")
    axes[1, 0].set_ylim(1e-2, LOSS_TOP)
    for ax in axes.flat:
        ax.set_xlabel("training step")
    axes[0, 0].legend(handles=[chance], fontsize=10, loc="lower left")
    axes[1, 0].legend(handles=[base], fontsize=10, loc="center right")
    for ax in axes[:, 1]:
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
    lo, hi = ORDER_LRS
    div = numbers[f"adding, lr={ADDING_LR}, unclipped: diverged at step"]
    summary = (
        f"Temporal order (T={T}, SGD): final loss / ln 4 with vs without clipping is "
        f"{numbers[f'final loss / ln 4, lr={lo}, clipped']:.3g} vs "
        f"{numbers[f'final loss / ln 4, lr={lo}, unclipped']:.3g} at lr {lo} and "
        f"{numbers[f'final loss / ln 4, lr={hi}, clipped']:.3g} vs "
        f"{numbers[f'final loss / ln 4, lr={hi}, unclipped']:.3g} at lr {hi} "
        f"(test accuracy {numbers[f'test accuracy, lr={hi}, clipped']:.2f} vs "
        f"{numbers[f'test accuracy, lr={hi}, unclipped']:.2f}; "
        f"{numbers[f'fraction of steps clipped, lr={hi}, clipped']:.0%} of steps clipped). "
        + (
            f"Adding at lr {ADDING_LR}: the unclipped run diverged at step {div} and stopped "
            f"cleanly; the clipped one stayed finite"
            if div >= 0
            else f"Adding at lr {ADDING_LR}: the unclipped run did not diverge"
        )
        + f" (score {numbers[f'adding, lr={ADDING_LR}, clipped: score 1 - MSE/baseline']:.2f})."
    )
    settings = {
        "T": T,
        "steps": steps,
        "seeds": seeds,
        "optimizer": "sgd",
        "batch": 32,
        "order_lrs": list(ORDER_LRS),
        "adding_lr": ADDING_LR,
        "clip_norm": CLIP,
        "n_hidden": HIDDEN,
        "init": "gaussian, gain 1",
        "dtype": "float32",
    }
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        latex=r"g \leftarrow \frac{\eta}{\|g\|}\, g \quad \text{if } \|g\| > \eta",
        comparisons=rows,
        summary=summary,
    )
