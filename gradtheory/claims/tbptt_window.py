"""Truncated BPTT cannot learn a dependency longer than its window (Williams & Peng 1990).

Task: information latching (Bengio et al. 1994) with the class (+1 or -1) at step 1 only, then
N(0, 0.6^2) noise, and the class asked at step D: the gradient has to cross all D steps, from
the loss back to the one informative input. With truncated BPTT the sequence is cut into
windows of k steps (``train(..., tbptt=k)``): the forward pass carries the state through, but
no gradient crosses a window boundary, so the input and the loss share a window only when
k >= D. A tanh RNN is trained with the same seeds and budget for a sweep of k and two spans D;
chance accuracy is 0.5, and a run counts as learned above 0.9. The windows start at step 1, so
the loss's gradient reaches back only ``reach(k, D) = D - k floor((D - 1) / k)`` steps (windows
k that leave the same last window give identical runs); the second panel plots against it.
For k < D the net can still learn by bootstrapping: the forward pass may carry some of the
class across the window boundary by chance, and what the last window teaches the tied weights
(hold the state) then holds at every step.
"""

from __future__ import annotations

import numpy as np

from ..figures import PALETTE, new_figure
from ..numeric.tasks import latch
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import evaluate, make_net

NOISE, LR, STEPS, HIDDEN, LEARNED = 0.6, 3e-3, 400, 32, 0.9


def reach(k: int, D: int) -> int:
    """Steps the gradient of the loss at step D crosses with windows of k starting at step 1.

    Examples
    --------
    >>> reach(10, 30), reach(29, 30), reach(40, 30)
    (10, 1, 30)
    """
    return D - k * ((D - 1) // k) if k < D else D


def train_window(D: int, k: int | None, seed: int = 0, steps: int = STEPS):
    """Train a tanh RNN on the span-D latch task with TBPTT window ``k`` (None: full BPTT).

    Returns
    -------
    (accuracy, loss) : test accuracy on 1000 fresh sequences and the training-loss curve.
    """
    task = latch(D, L=1, noise=NOISE)
    net = make_net("tanh RNN", 1, HIDDEN, 2, seed=seed)
    hist = train(net, task, steps=steps, lr=LR, tbptt=k, seed=seed, progress=False)
    return evaluate(net, task, seed=seed)[1], hist.loss


def chance_memory(D: int, seed: int = 0, batch: int = 2000) -> np.ndarray:
    """Linear decodability of the class from an untrained net's state after t = 0..D steps.

    A least-squares readout of the +-1 class from ``[h_t, 1]`` is fitted on half of ``batch``
    sequences and its sign accuracy measured on the other half, for every t.
    """
    task = latch(D, L=1, noise=NOISE)
    net = make_net("tanh RNN", 1, HIDDEN, 2, seed=seed)
    x, y, _ = task.sample(batch, np.random.default_rng([seed, 3]))
    states = net.forward(x, record=False).states
    target = 2.0 * y[-1, :, 1] - 1.0
    half = batch // 2
    accuracy = np.zeros(D + 1)
    for t in range(D + 1):
        feats = np.column_stack([states[t], np.ones(batch)])
        w = np.linalg.lstsq(feats[:half], target[:half], rcond=None)[0]
        accuracy[t] = np.mean(np.sign(feats[half:] @ w) == target[half:])
    return accuracy


@claim(
    "tbptt_window",
    "Truncated BPTT only learns dependencies within its window",
    "lecture notes 002 (truncated BPTT); Williams & Peng 1990",
    "Truncated BPTT with window k cannot learn a dependency spanning more than k steps: on a "
    "latch task of span D the accuracy stays at chance for k < D and the task is learned "
    "for k >= D.",
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    spans = (15, 30)
    ks = (
        (5, 10, 14, 15, 29, 30)
        if quick
        else (2, 5, 8, 10, 12, 14, 15, 16, 20, 25, 28, 29, 30, 31, 35, 40, 50)
    )
    seeds = [seed + i for i in range(2 if quick else 6)]
    fig, (ax, ax2, ax3) = new_figure(1, 3, width=18.0, sharey=True)
    numbers, rows = {}, []
    acc = np.zeros((len(spans), len(ks), len(seeds)))
    memory = np.array([chance_memory(max(spans), sd)[1:] for sd in seeds])
    for i, D in enumerate(spans):
        for j, k in enumerate(ks):
            for s, sd in enumerate(seeds):
                acc[i, j, s] = train_window(D, k, sd)[0]
    ks_arr = np.array(ks)
    for i, (D, color) in enumerate(zip(spans, PALETTE, strict=False)):
        mean = acc[i].mean(axis=1)
        ax.plot(ks_arr, mean, "o-", color=color, label=f"span D = {D}")
        for s in range(len(seeds)):
            ax.plot(ks_arr, acc[i, :, s], ".", color=color, alpha=0.35, ms=6)
        ax.axvline(D, color=color, ls="--", lw=1.5)
        ax.annotate(
            f"k = D = {D}",
            (D, 0.62 + 0.08 * i),
            xytext=(4, 0),
            textcoords="offset points",
            color=color,
            fontsize=11,
        )
        below, above = mean[ks_arr < D], mean[ks_arr >= D]
        numbers[f"mean accuracy k < D, D={D}"] = float(below.mean())
        numbers[f"max accuracy k < D, D={D}"] = float(below.max())
        numbers[f"min accuracy k >= D, D={D}"] = float(above.min())
        for k, m in zip(ks, mean, strict=True):
            numbers[f"accuracy D={D}, k={k}"] = float(m)
        short, long_ = acc[i, ks_arr < D] > LEARNED, acc[i, ks_arr >= D] > LEARNED
        numbers[f"fraction learned k < D, D={D}"] = float(short.mean())
        numbers[f"fraction learned k >= D, D={D}"] = float(long_.mean())
        rows.append(
            {
                "quantity": f"fraction of runs with k < D = {D} that learn (acc > {LEARNED})",
                "predicted": 0.0,
                "measured": float(short.mean()),
                "agrees": bool(short.mean() == 0.0),
            }
        )
        rows.append(
            {
                "quantity": f"fraction of runs with k >= D = {D} that learn",
                "predicted": 1.0,
                "measured": float(long_.mean()),
                "agrees": bool(long_.mean() == 1.0),
            }
        )
    ax.axhline(0.5, color="grey", ls=":", lw=1.5, label="chance")
    ax.set_xlabel("TBPTT window k (steps)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.4, 1.04)
    ax.set_xlim(0, max(ks) + 2)
    ax.set_title(f"tanh RNN, {STEPS} steps, {len(seeds)} seeds (dots)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=10)
    rng = np.random.default_rng(0)
    for i, (D, color) in enumerate(zip(spans, PALETTE, strict=False)):
        r = np.array([reach(k, D) for k in ks], dtype=float)
        jitter = rng.uniform(-0.3, 0.3, size=acc[i].shape)
        short = ks_arr < D
        ax2.plot(
            (r[:, None] + jitter)[short].ravel(),
            acc[i][short].ravel(),
            "o",
            color=color,
            alpha=0.6,
            label=f"D = {D}, k < D",
        )
        ax2.plot(
            (r[:, None] + jitter)[~short].ravel(),
            acc[i][~short].ravel(),
            "*",
            ms=11,
            color=color,
            markeredgecolor="black",
            label=f"D = {D}, k >= D (full reach)",
        )
    ax2.axhline(0.5, color="grey", ls=":", lw=1.5)
    ax2.set_xlabel(r"gradient reach $D - k\lfloor (D-1)/k \rfloor$ (steps)")
    ax2.set_title("every run against how far its gradient reaches")
    ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=10)
    steps_since = np.arange(1, max(spans) + 1)
    for curve in memory:
        ax3.plot(steps_since, curve, color=PALETTE[4], alpha=0.35, lw=1)
    ax3.plot(
        steps_since,
        memory.mean(axis=0),
        color=PALETTE[4],
        lw=2.5,
        label="untrained net, linear readout",
    )
    ax3.axhline(0.5, color="grey", ls=":", lw=1.5)
    ax3.set_xlabel("steps since the class input")
    ax3.set_ylabel("readout accuracy")
    ax3.yaxis.set_tick_params(labelleft=True)
    ax3.set_title("class still in the untrained state?")
    ax3.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=10)
    for t in (min(spans) - 1, max(spans) - 1):
        numbers[f"untrained decodability after {t} steps"] = float(memory.mean(axis=0)[t - 1])
    summary = (
        "; ".join(
            f"D = {D}: {numbers[f'fraction learned k < D, D={D}']:.0%} of runs with k < D learn "
            f"(mean accuracy {numbers[f'mean accuracy k < D, D={D}']:.2f}), "
            f"{numbers[f'fraction learned k >= D, D={D}']:.0%} with k >= D (mean accuracy at least "
            f"{numbers[f'min accuracy k >= D, D={D}']:.2f})"
            for D in spans
        )
        + ". A linear readout "
        f"of the untrained net decodes the class with accuracy "
        f"{numbers[f'untrained decodability after {min(spans) - 1} steps']:.2f} after "
        f"{min(spans) - 1} steps and "
        f"{numbers[f'untrained decodability after {max(spans) - 1} steps']:.2f} after "
        f"{max(spans) - 1}: runs with k < D that learn can only have bootstrapped from that "
        "weak signal, since no gradient path reaches the class input."
    )
    settings = {
        "task": f"latch(D, L=1, noise={NOISE})",
        "spans": list(spans),
        "windows": list(ks),
        "seeds": seeds,
        "steps": STEPS,
        "lr": LR,
        "optimizer": "adam",
        "batch": 32,
        "n_hidden": HIDDEN,
        "model": "tanh RNN",
        "test_batch": 1000,
    }
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        latex=r"\frac{\partial L_t}{\partial \theta}\Big|_{k} = \sum_{s=t_0(t)}^{t}"
        r"\frac{\partial L_t}{\partial h_s}\frac{\partial^+ h_s}{\partial "
        r"\theta},\quad t_0(t) = k\lfloor t/k \rfloor",
        comparisons=rows,
        summary=summary,
        arrays={"accuracy": acc, "windows": ks_arr, "spans": np.array(spans)},
    )
