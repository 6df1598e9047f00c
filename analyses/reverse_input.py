"""Reversing the input shortens the minimal time lag.

Claim: Feeding the source sequence reversed puts the first symbols to output next to their
inputs (minimal lag 2 instead of L + 1), which lets learning start and speeds it up.

Source: Sutskever, Vinyals & Le 2014; lecture notes 001.

Task (``gt.tasks.recall``): L random symbols (one-hot, K = 4) are read, a "go" marker follows,
and the L symbols must be output in their original order (cross-entropy on the L output steps;
chance accuracy 1/K). Read in order, every symbol waits exactly L + 1 steps for its output;
read reversed, symbol i waits 2i steps, so the first symbols to output are the most recent
(minimal lag 2) while the mean lag stays L + 1. Only the source is reversed, as in the paper:
``train(..., reverse_input=True)`` flips the whole input stream (the output phase too), which
would ask for the first symbol before it is read. Each model is trained from the same initial
weights on the same symbol sequences in both orders.

Disagreements: The tanh RNN learns the copy in order ({{test accuracy, tanh RNN, in order (mean,
95% half-width)}}): the constant lag L + 1 is within its memory, so reversal has no start-up
problem to solve, and reversed, the last symbols wait up to 2L steps, beyond it: its first
output is as good in both orders ({{accuracy of output 1, tanh RNN, in order}} in order,
{{accuracy of output 1, tanh RNN, reversed}} reversed), its last falls from {{accuracy of output
15, tanh RNN, in order}} to {{accuracy of output 15, tanh RNN, reversed}}. Reversal helps a
learner limited by the minimal lag (the gated cells here), not one limited by the maximal lag.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, _common, claim
from gradtheory.claims._common import COLORS
from gradtheory.figures import new_figure

LEARNING_RATES = {"tanh RNN": 3e-3, "LSTM": 1e-2, "GRU": 1e-2}
HIDDEN, SYMBOLS, LENGTH = 32, 4, 15
BUDGET = {False: 1000, True: 600}  # Adam steps at full size and with --quick
CALIBRATION = {
    "target": "reversal speeds up learning the copy (Sutskever et al. 2014, Sec. 3.3)",
    "tried": "1000 steps, 1 seed: in order vs reversed test accuracy: tanh RNN 0.99 vs 0.55, "
    "LSTM 0.31 vs 0.67, GRU 0.58 vs 0.68",
    "chosen": "1000 Adam steps (unchanged: the gated cells' gain shows; the tanh RNN learns the "
    "constant lag L + 1 in order and loses the lags up to 2L reversed)",
    "core-minutes (full size, idle core)": 3,
}


def recall_point(model: str, reverse: bool, seed: int, steps: int, length: int = LENGTH) -> dict:
    """Train ``model`` on one order; its score curve and final per-position test accuracy."""
    task = gt.tasks.recall(length, SYMBOLS, reverse=reverse)
    net = _common.make_net(model, task.n_in, HIDDEN, task.n_out, seed=seed)
    lr, every = LEARNING_RATES[model], max(steps // 20, 1)
    hist = gt.train(net, task, steps=steps, lr=lr, seed=seed, score_every=every, progress=False)
    x, y, _ = task.sample(1000, np.random.default_rng([seed, 11]))  # test accuracy per position
    out = net.forward(x, record=False).outputs[length + 1 :]
    positions = np.mean(out.argmax(-1) == y[length + 1 :].argmax(-1), axis=1)  # (L,)
    at, scores = np.array(list(hist.scores)), np.array(list(hist.scores.values()))
    return {"score_steps": at, "scores": scores, "positions": positions}


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    length, steps, seeds = LENGTH, BUDGET[quick], _common.seed_list(seed, quick)
    grid = dict(model=[*LEARNING_RATES], reverse=[False, True], seed=seeds, steps=[steps])
    result = _common.run_sweep(recall_point, grid)
    fig, (ax, ax2) = new_figure(1, 2, width=13.5)
    numbers, rows, arrays = {}, [], {}
    for model in LEARNING_RATES:
        final, color = {}, COLORS[model]
        for reverse, ls in ((False, "--"), (True, "-")):
            tag = "reversed" if reverse else "in order"
            records = result.select(model=model, reverse=reverse).records
            curves = np.array([r["scores"] for r in records])
            per_seed = np.array([r["positions"] for r in records])  # (seeds, L)
            pos, final[reverse] = per_seed.mean(axis=0), per_seed.mean(axis=1)
            _common.band(ax, records[0]["score_steps"], curves, color, f"{model}, {tag}", ls)
            ax2.plot(np.arange(1, length + 1), pos, ls, marker="o", ms=4, color=color)
            _common.seed_stats(numbers, f"test accuracy, {model}, {tag}", final[reverse])
            numbers[f"accuracy of output 1, {model}, {tag}"] = float(pos[0])
            numbers[f"accuracy of output {length}, {model}, {tag}"] = float(pos[-1])
            arrays[f"scores_{model.replace(' ', '_')}_{tag.replace(' ', '_')}"] = curves
        gain = final[True] - final[False]  # paired by seed: same weights, same symbols
        numbers[f"reversed minus in order, {model}"] = float(gain.mean())
        quantity = f"test accuracy reversed - in order, {model}"
        rows.append(_common.seeds_row(quantity, gain, 0.02, below=False))
    for a in (ax, ax2):
        a.axhline(1 / SYMBOLS, color="grey", ls=":", lw=1.5)
        a.set_ylim(0, 1.03)
    title = f"copy L = {length} symbols (mean of {len(seeds)} seeds, band min-max)"
    ax.set(xlabel="training step", ylabel="accuracy on the output steps", title=title)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    xlabel, title = "output position i (lag: L + 1 in order, 2i reversed)", "solid: reversed source"
    ax2.set(xlabel=xlabel, ylabel="final test accuracy", title=f"{title}, dashed: in order")
    settings = _common.constants(globals(), steps=steps, seeds=seeds, test_batch=1000)
    headline = [f"reversed minus in order, {m}" for m in LEARNING_RATES]
    latex = (
        r"\mathrm{lag}_i^{\mathrm{in\,order}} = L + 1,\qquad "
        r"\mathrm{lag}_i^{\mathrm{reversed}} = 2i,\qquad \tfrac{1}{L}\textstyle\sum_i 2i = L + 1"
    )
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
