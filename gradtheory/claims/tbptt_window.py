"""Truncated BPTT cannot learn a dependency longer than its window (Williams & Peng 1990).

Task: information latching (Bengio et al. 1994) with the class (+1 or -1) at step 1 only, then
N(0, 0.5^2) noise, and the class asked at step D: the gradient has to cross all D steps, from
the loss back to the one informative input. With truncated BPTT the sequence is cut into
windows of k steps (``train(..., tbptt=k)``): the forward pass carries the state through, but
no gradient crosses a window boundary, so the input and the loss share a window only when
k >= D. A tanh RNN is trained with the same seeds and budget for a sweep of k and two spans D;
chance accuracy is 0.5.
"""

from __future__ import annotations

import numpy as np

from ..figures import PALETTE, new_figure
from ..numeric.tasks import latch
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import evaluate, make_net, single_thread, smooth

NOISE, LR, STEPS, HIDDEN = 0.5, 3e-3, 300, 32


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


@claim("tbptt_window", "Truncated BPTT only learns dependencies within its window",
       "lecture notes 002 (truncated BPTT); Williams & Peng 1990",
       "Truncated BPTT with window k cannot learn a dependency spanning more than k steps: on a "
       "latch task of span D the accuracy stays at chance for k < D and the task is learned "
       "for k >= D.")
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    spans = (15, 30)
    ks = (5, 10, 14, 15, 20, 29, 30, 40) if quick else (
        2, 5, 8, 10, 12, 14, 15, 16, 20, 25, 28, 29, 30, 31, 35, 40, 50)
    seeds = [seed + i for i in range(2 if quick else 5)]
    fig, (ax, ax2) = new_figure(1, 2, width=12.8)
    numbers, rows = {}, []
    acc = np.zeros((len(spans), len(ks), len(seeds)))
    curves = {}
    with single_thread():
        for i, D in enumerate(spans):
            for j, k in enumerate(ks):
                for s, sd in enumerate(seeds):
                    acc[i, j, s], loss = train_window(D, k, sd)
                    if D == max(spans) and k in (D - 1, D) and s == 0:
                        curves[k] = loss
    ks_arr = np.array(ks)
    for i, (D, color) in enumerate(zip(spans, PALETTE)):
        mean = acc[i].mean(axis=1)
        ax.plot(ks_arr, mean, "o-", color=color, label=f"span D = {D}")
        for s in range(len(seeds)):
            ax.plot(ks_arr, acc[i, :, s], ".", color=color, alpha=0.35, ms=6)
        ax.axvline(D, color=color, ls="--", lw=1.5)
        ax.annotate(f"k = D = {D}", (D, 0.62 + 0.08 * i), xytext=(4, 0), textcoords="offset points",
                    color=color, fontsize=11)
        below, above = mean[ks_arr < D], mean[ks_arr >= D]
        numbers[f"mean accuracy k < D, D={D}"] = float(below.mean())
        numbers[f"max accuracy k < D, D={D}"] = float(below.max())
        numbers[f"min accuracy k >= D, D={D}"] = float(above.min())
        for k, m in zip(ks, mean):
            numbers[f"accuracy D={D}, k={k}"] = float(m)
        rows.append({"quantity": f"best mean accuracy with k < D = {D}",
                     "predicted": "chance (0.5)", "measured": float(below.max()),
                     "agrees": bool(below.max() < 0.6)})
        rows.append({"quantity": f"worst mean accuracy with k >= D = {D}",
                     "predicted": "learned (> 0.9)", "measured": float(above.min()),
                     "agrees": bool(above.min() > 0.9)})
    ax.axhline(0.5, color="grey", ls=":", lw=1.5, label="chance")
    ax.set_xlabel("TBPTT window k (steps)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.4, 1.04)
    ax.set_title(f"tanh RNN, {STEPS} steps, {len(seeds)} seeds (dots)")
    ax.legend(loc="lower right")
    D = max(spans)
    for k, color in ((D - 1, PALETTE[3]), (D, PALETTE[2])):
        ax2.semilogy(smooth(curves[k], 10), color=color, label=f"k = {k}")
    ax2.axhline(np.log(2), color="black", ls="--", lw=1.5, label="chance, ln 2")
    ax2.set_xlabel("training step")
    ax2.set_ylabel("cross-entropy (moving avg. 10)")
    ax2.set_title(f"span D = {D}: one step short of the window")
    ax2.legend(loc="lower left")
    summary = "; ".join(
        f"D = {D}: mean accuracy {numbers[f'mean accuracy k < D, D={D}']:.2f} "
        f"(best {numbers[f'max accuracy k < D, D={D}']:.2f}) for k < D, at least "
        f"{numbers[f'min accuracy k >= D, D={D}']:.2f} for k >= D" for D in spans) + "."
    settings = {"task": f"latch(D, L=1, noise={NOISE})", "spans": list(spans), "windows": list(ks),
                "seeds": seeds, "steps": STEPS, "lr": LR, "optimizer": "adam", "batch": 32,
                "n_hidden": HIDDEN, "model": "tanh RNN", "test_batch": 1000}
    return ClaimResult(fig, numbers, settings=settings,
                       latex=r"\frac{\partial L_t}{\partial \theta}\Big|_{k} = \sum_{s=t_0(t)}^{t}"
                             r"\frac{\partial L_t}{\partial h_s}\frac{\partial^+ h_s}{\partial "
                             r"\theta},\quad t_0(t) = k\lfloor t/k \rfloor",
                       comparisons=rows, summary=summary,
                       arrays={"accuracy": acc, "windows": ks_arr, "spans": np.array(spans)})
