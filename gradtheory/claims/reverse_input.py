"""Reversing the source sequence shortens the minimal time lag (Sutskever et al. 2014).

Task (:class:`Recall`): L random symbols (one-hot, K = 4) are read, a "go" marker follows, and
the L symbols must be output in their original order (cross-entropy on the L output steps;
chance accuracy 1/K). Read in order, every symbol waits exactly L + 1 steps for its output;
read reversed, symbol i waits 2i steps, so the first symbols to output are the most recent
(minimal lag 2) while the mean lag stays L + 1. Only the source is reversed, as in the paper:
``train(..., reverse_input=True)`` flips the whole input stream (the output phase too), which
would ask for the first symbol before it is read. Each model is trained from the same initial
weights on the same symbol sequences in both orders.
"""

from __future__ import annotations

import numpy as np

from ..figures import new_figure
from ..numeric.tasks import Task
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import COLORS, make_net

LEARNING_RATES = {"tanh RNN": 3e-3, "LSTM": 1e-2, "GRU": 1e-2}
HIDDEN, SYMBOLS = 32, 4


class Recall(Task):
    """Copy ``length`` symbols after a go marker; ``reverse`` feeds the source backwards.

    Inputs (n_in = K + 1): one-hot symbols at steps 0..L-1, the go marker (channel K) at step L,
    zeros after. Targets (n_out = K): the symbols in original order at steps L+1..2L.

    Examples
    --------
    >>> x, y, mask = Recall(3).sample(2, 0)
    >>> x.shape, y.shape, mask.sum(axis=0).tolist()
    ((7, 2, 5), (7, 2, 4), [3.0, 3.0])
    """

    loss, target = "cross_entropy", "every"

    def __init__(self, length: int = 15, n_symbols: int = SYMBOLS, reverse: bool = False):
        self.length, self.n_symbols, self.reverse = int(length), int(n_symbols), bool(reverse)
        self.n_in, self.n_out = self.n_symbols + 1, self.n_symbols
        self.T = 2 * self.length + 1

    def _sample(self, B: int, rng: np.random.Generator):
        L, K = self.length, self.n_symbols
        seq = rng.integers(0, K, size=(L, B))
        cols = np.arange(B)[None, :]
        x = np.zeros((self.T, B, K + 1))
        x[np.arange(L)[:, None], cols, seq[::-1] if self.reverse else seq] = 1.0
        x[L, :, K] = 1.0
        y = np.zeros((self.T, B, K))
        y[np.arange(L + 1, self.T)[:, None], cols, seq] = 1.0
        mask = np.zeros((self.T, B))
        mask[L + 1 :] = 1.0
        return x, y, mask

    @property
    def baseline(self) -> float:
        return float(np.log(self.n_symbols))  # uniform guess on the output steps

    def position_accuracy(self, net, batch: int = 1000, seed: int = 0) -> np.ndarray:
        """Test accuracy of each output position 1..L on fresh sequences, shape (L,)."""
        x, y, _ = self.sample(batch, np.random.default_rng([seed, 11]))
        out = net.forward(x, record=False).outputs[self.length + 1 :]
        return np.mean(out.argmax(-1) == y[self.length + 1 :].argmax(-1), axis=1)


def run_pair(model: str, length: int, steps: int, seed: int):
    """Train ``model`` in both orders; returns {reverse: (score steps, scores, per-position)}."""
    out = {}
    for reverse in (False, True):
        task = Recall(length, reverse=reverse)
        net = make_net(model, task.n_in, HIDDEN, task.n_out, seed=seed)
        hist = train(
            net,
            task,
            steps=steps,
            lr=LEARNING_RATES[model],
            seed=seed,
            score_every=max(steps // 20, 1),
            progress=False,
        )
        out[reverse] = (
            np.array(list(hist.scores)),
            np.array(list(hist.scores.values())),
            task.position_accuracy(net, seed=seed),
        )
    return out


@claim(
    "reverse_input",
    "Reversing the input shortens the minimal time lag",
    "Sutskever, Vinyals & Le 2014; lecture notes 001",
    "Feeding the source sequence reversed puts the first symbols to output next to their "
    "inputs (minimal lag 2 instead of L + 1), which lets learning start and speeds it up.",
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    length = 15
    steps = 600 if quick else 1000
    seeds = [seed + i for i in range(1 if quick else 3)]
    models = list(LEARNING_RATES)
    fig, (ax, ax2) = new_figure(1, 2, width=13.5)
    numbers, rows, arrays = {}, [], {}
    results = {m: [run_pair(m, length, steps, sd) for sd in seeds] for m in models}
    for model in models:
        color = COLORS[model]
        final = {}
        for reverse, ls in ((False, "--"), (True, "-")):
            x = results[model][0][reverse][0]
            curves = np.array([r[reverse][1] for r in results[model]])
            pos = np.array([r[reverse][2] for r in results[model]]).mean(axis=0)
            tag = "reversed" if reverse else "in order"
            final[reverse] = float(pos.mean())
            ax.plot(x, curves.mean(axis=0), ls, color=color, label=f"{model}, {tag}")
            ax2.plot(np.arange(1, length + 1), pos, ls, marker="o", ms=4, color=color)
            numbers[f"test accuracy, {model}, {tag}"] = final[reverse]
            numbers[f"accuracy of output 1, {model}, {tag}"] = float(pos[0])
            numbers[f"accuracy of output {length}, {model}, {tag}"] = float(pos[-1])
            arrays[f"scores_{model.replace(' ', '_')}_{tag.replace(' ', '_')}"] = curves
        gain = final[True] - final[False]
        numbers[f"reversed minus in order, {model}"] = gain
        rows.append(
            {
                "quantity": f"test accuracy reversed - in order, {model}",
                "predicted": "> 0 (reversal helps)",
                "measured": gain,
                "agrees": bool(gain > 0.02),
            }
        )
    for a in (ax, ax2):
        a.axhline(1 / SYMBOLS, color="grey", ls=":", lw=1.5)
        a.set_ylim(0, 1.03)
    ax.set_xlabel("training step")
    ax.set_ylabel("accuracy on the output steps")
    ax.set_title(
        f"copy L = {length} symbols" + (f" (mean of {len(seeds)} seeds)" if len(seeds) > 1 else "")
    )
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3)
    ax2.set_xlabel("output position i (lag: L + 1 in order, 2i reversed)")
    ax2.set_ylabel("final test accuracy")
    ax2.set_title("solid: reversed source, dashed: in order")
    summary = (
        "Final test accuracy in order vs reversed: "
        + "; ".join(
            f"{m} {numbers[f'test accuracy, {m}, in order']:.2f} vs "
            f"{numbers[f'test accuracy, {m}, reversed']:.2f}"
            for m in models
        )
        + f" (chance {1 / SYMBOLS:.2f}, {steps} steps). Reversed, output 1 reaches "
        + ", ".join(f"{numbers[f'accuracy of output 1, {m}, reversed']:.2f} ({m})" for m in models)
        + "."
    )
    settings = {
        "length": length,
        "n_symbols": SYMBOLS,
        "steps": steps,
        "seeds": seeds,
        "learning_rates": LEARNING_RATES,
        "optimizer": "adam",
        "batch": 32,
        "n_hidden": HIDDEN,
        "test_batch": 1000,
    }
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        latex=r"\mathrm{lag}_i^{\mathrm{in\,order}} = L + 1,\qquad "
        r"\mathrm{lag}_i^{\mathrm{reversed}} = 2i,\qquad "
        r"\tfrac{1}{L}\textstyle\sum_i 2i = L + 1",
        comparisons=rows,
        summary=summary,
        arrays=arrays,
    )
