"""Truncated BPTT only learns dependencies within its window.

Claim: Truncated BPTT with window k cannot learn a dependency spanning more than k steps: on a
latch task of span D the accuracy stays at chance for k < D and the task is learned for k >= D.

Source: lecture notes 002 (truncated BPTT); Williams & Peng 1990.

Task: information latching (Bengio et al. 1994) with the class (+1 or -1) at step 1 only, then
N(0, 0.6^2) noise, and the class asked at step D: the gradient has to cross all D steps, from
the loss back to the one informative input. With truncated BPTT the sequence is cut into
windows of k steps (``train(..., tbptt=k)``): the forward pass carries the state through, but
no gradient crosses a window boundary, so the input and the loss share a window only when
k >= D. A tanh RNN is trained with the same seeds and budget for a sweep of k and two spans D;
chance accuracy is 0.5, and a run counts as learned above 0.9. The windows start at step 1, so
the loss's gradient reaches back only ``reach(k, D) = D - k floor((D - 1) / k)`` steps (windows
k that leave the same last window give identical runs); the second panel plots against it.

Disagreements: No gradient crosses a window boundary, but the forward pass carries the class
across it: a linear readout of the untrained state finds it after 14 steps
({{untrained decodability after 14 steps}}; chance 0.5) and barely after 29 ({{untrained
decodability after 29 steps}}). What the last window teaches the tied weights (keep and read the
state) then holds at every step, so runs with k < D learn ({{fraction learned k < D, D=15}} of
them at D = 15, {{fraction learned k < D, D=30}} at D = 30, where less of the class survives),
while every k >= D run does. The notes' claim holds for the gradient, not for this bootstrap.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, _common, claim
from gradtheory.figures import PALETTE, new_figure

NOISE, LR, STEPS, HIDDEN, LEARNED, SPANS = 0.6, 3e-3, 400, 32, 0.9, (15, 30)
#: TBPTT windows k at full size and with --quick
WINDOWS = {
    False: (2, 5, 8, 10, 12, 14, 15, 16, 20, 25, 28, 29, 30, 31, 35, 40, 50),
    True: (5, 10, 14, 15, 29, 30),
}
CALIBRATION = {
    "target": "k >= D learns (every seed); k < D does not learn through the gradient (lecture "
    "notes 002), though the forward pass can carry the class across a window boundary",
    "tried": "400 steps, 6 seeds: every run with k >= D learns; 78% (D = 15) and 26% (D = 30) "
    "of the runs with k < D learn by bootstrapping; more steps give it more chances",
    "chosen": "400 Adam steps (unchanged: enough for every k >= D run to learn)",
    "core-minutes (full size, idle core)": 2,
}


def reach(k: int, D: int) -> int:
    """Steps the gradient of the loss at step D crosses with windows of k starting at step 1
    (``reach(10, 30) == 10``, ``reach(29, 30) == 1``, ``reach(40, 30) == 30``)."""
    return D - k * ((D - 1) // k) if k < D else D


def window_point(D: int, k: int | None, seed: int, steps: int = STEPS) -> dict:
    """Train a tanh RNN on the span-D latch task with TBPTT window ``k`` (None: full BPTT);
    its test accuracy on 1000 fresh sequences."""
    task = gt.tasks.latch(D, L=1, noise=NOISE)
    net = _common.make_net("tanh RNN", 1, HIDDEN, 2, seed=seed)
    return {"accuracy": _common.fit(net, task, seed=seed, steps=steps, lr=LR, tbptt=k)[0]["score"]}


def chance_memory(D: int, seed: int = 0, batch: int = 2000) -> np.ndarray:
    """Linear decodability of the class from an untrained net's state after t = 0..D steps.

    A least-squares readout of the +-1 class from ``[h_t, 1]`` is fitted on half of ``batch``
    sequences and its sign accuracy measured on the other half, for every t.
    """
    task = gt.tasks.latch(D, L=1, noise=NOISE)
    x, y, _ = task.sample(batch, np.random.default_rng([seed, 3]))
    states = _common.make_net("tanh RNN", 1, HIDDEN, 2, seed=seed).forward(x, record=False).states
    target, half, accuracy = 2.0 * y[-1, :, 1] - 1.0, batch // 2, np.zeros(D + 1)
    for t in range(D + 1):
        feats = np.column_stack([states[t], np.ones(batch)])
        w = np.linalg.lstsq(feats[:half], target[:half], rcond=None)[0]
        accuracy[t] = np.mean(np.sign(feats[half:] @ w) == target[half:])
    return accuracy


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    ks, seeds = np.array(WINDOWS[quick]), _common.seed_list(seed, quick)
    result = _common.run_sweep(window_point, {"D": list(SPANS), "k": ks.tolist(), "seed": seeds})
    acc = np.array([r["accuracy"] for r in result.records]).reshape(len(SPANS), len(ks), -1)
    memory = np.array([chance_memory(max(SPANS), sd)[1:] for sd in seeds])
    fig, (ax, ax2, ax3) = new_figure(1, 3, width=18.0, sharey=True)
    result.plot("k", "accuracy", hue="D", ax=ax)
    numbers, rows, jitter = {}, [], np.random.default_rng(0).uniform(-0.3, 0.3, acc.shape[1:])
    n, needed = len(seeds), _common.seeds_needed(len(seeds))
    for i, (D, color) in enumerate(zip(SPANS, PALETTE, strict=False)):
        ax.axvline(D, color=color, ls="--", lw=1.5)
        for k, mean in zip(ks, acc[i].mean(axis=1), strict=True):
            numbers[f"accuracy D={D}, k={k}"] = float(mean)
        learned = (acc[i] > LEARNED).sum(axis=1)  # seeds that learn, per window
        x = np.array([reach(k, D) for k in ks], dtype=float)[:, None] + jitter
        for part, side, agreeing, what, style in (
            (ks < D, "<", n - learned, f"stay below {LEARNED}", {"marker": "o", "alpha": 0.6}),
            (ks >= D, ">=", learned, "learn", {"marker": "*", "ms": 11, "mec": "black"}),
        ):
            fraction = float(learned[part].sum() / (n * part.sum()))
            numbers[f"fraction learned k {side} D, D={D}"] = fraction
            quantity = f"windows k {side} D = {D} where at least {needed} of {n} seeds {what}"
            count = int((agreeing[part] >= needed).sum())
            rows.append(Comparison(quantity, int(part.sum()), count, rule="equal"))
            xs, ys = x[part].ravel(), acc[i][part].ravel()
            ax2.plot(xs, ys, ls="", color=color, label=f"D = {D}, k {side} D", **style)
    title = f"tanh RNN, {STEPS} steps, {len(seeds)} seeds (dashed: k = D)"
    ax.set(xlabel="TBPTT window k (steps)", ylabel="test accuracy", ylim=(0.4, 1.04), title=title)
    xlabel = r"gradient reach $D - k\lfloor (D-1)/k \rfloor$ (steps)"
    ax2.set(xlabel=xlabel, title="every run against how far its gradient reaches")
    steps_since = np.arange(1, max(SPANS) + 1)
    _common.band(ax3, steps_since, memory, PALETTE[4], "untrained net, linear readout")
    title = "class still in the untrained state?"
    ax3.set(xlabel="steps since the class input", ylabel="readout accuracy", title=title)
    ax3.yaxis.set_tick_params(labelleft=True)
    for a in (ax, ax2, ax3):
        a.axhline(0.5, color="grey", ls=":", lw=1.5)
        a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=10)
    for t in (min(SPANS) - 1, max(SPANS) - 1):
        numbers[f"untrained decodability after {t} steps"] = float(memory.mean(axis=0)[t - 1])
    settings = _common.constants(globals(), windows=ks.tolist(), seeds=seeds, test_batch=1000)
    latex = (
        r"\frac{\partial L_t}{\partial \theta}\Big|_{k} = \sum_{s=t_0(t)}^{t}"
        r"\frac{\partial L_t}{\partial h_s}\frac{\partial^+ h_s}{\partial "
        r"\theta},\quad t_0(t) = k\lfloor t/k \rfloor"
    )
    arrays = {"accuracy": acc, "windows": ks, "spans": np.array(SPANS)}
    headline = [f"fraction learned k {c} D, D={D}" for D in SPANS for c in ("<", ">=")]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
