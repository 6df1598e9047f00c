"""Adding problem: tanh RNN, IRNN, LSTM and GRU under one budget, with and without clipping.

The adding problem (Hochreiter & Schmidhuber 1997, version of Le, Jaitly & Hinton 2015) asks
for the sum of the two marked values of a length-T sequence; predicting the constant 1 scores
the baseline MSE 1/6. Every model gets the same budget (steps, batch, hidden size, Adam) and a
per-cell learning rate; each is trained once without and once with clipping of the global
gradient norm, from the same initial weights and the same batches. The final MSE is measured on
a fresh batch of 1000 sequences and divided by the baseline: below 0.9 counts as beating it.
"""

from __future__ import annotations

import numpy as np

from ..figures import new_figure
from ..numeric.tasks import adding
from ..numeric.train import train
from ._registry import ClaimResult, claim
from ._train_common import COLORS, MODELS, evaluate, make_net, smooth

#: Adam learning rate per cell (gated cells tolerate a larger one).
LEARNING_RATES = {"tanh RNN": 1e-3, "IRNN": 1e-3, "LSTM": 1e-2, "GRU": 1e-2}
CLIP = 1.0
BEATS = 0.9
YMAX = 300.0


def run_cell(
    model: str,
    T: int,
    steps: int,
    clip: float | None,
    *,
    n_hidden: int = 32,
    batch: int = 32,
    seed: int = 0,
) -> dict:
    """Train ``model`` on adding(T) and return its loss curve and final MSE / baseline."""
    task = adding(T)
    net = make_net(model, 2, n_hidden, 1, seed=seed)
    hist = train(
        net,
        task,
        steps=steps,
        batch_size=batch,
        lr=LEARNING_RATES[model],
        clip=clip,
        seed=seed,
        progress=False,
    )
    loss, _ = evaluate(net, task, seed=seed)
    return {
        "loss": hist.loss,
        "ratio": loss / task.baseline,
        "diverged_at": hist.diverged_at,
        "clipped": float(hist.clipped.mean()) if hist.clipped.size else 0.0,
    }


@claim(
    "adding_learning_curves",
    "Adding problem: IRNN, LSTM and GRU versus a tanh RNN",
    "Le, Jaitly & Hinton 2015; Hochreiter & Schmidhuber 1997",
    "On the adding problem the gated cells (LSTM, GRU) and the identity-initialised ReLU RNN "
    "get below the constant-prediction MSE 1/6, while a tanh RNN stays at it as T grows; "
    "gradient clipping by norm keeps the IRNN's training stable.",
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    Ts = (50,) if quick else (50, 100, 200)
    steps = 700 if quick else 800
    clips = (None, CLIP)
    fig, axes = new_figure(
        len(Ts), 2, sharey=True, squeeze=False, height=3.6 * len(Ts) if len(Ts) > 1 else 4.2
    )
    numbers, rows, arrays = {}, [], {}
    window = max(steps // 40, 5)
    for i, T in enumerate(Ts):
        for j, clip in enumerate(clips):
            ax = axes[i, j]
            tag = "clipped" if clip else "unclipped"
            for model in MODELS:
                res = run_cell(model, T, steps, clip, seed=seed)
                key = f"{model}, T={T}, {tag}"
                numbers[f"MSE/baseline, {key}"] = res["ratio"]
                numbers[f"fraction of steps clipped, {key}"] = res["clipped"]
                if res["diverged_at"] is not None:
                    numbers[f"diverged at step, {key}"] = res["diverged_at"]
                arrays[f"loss_{model.replace(' ', '_')}_T{T}_{tag}"] = res["loss"]
                curve = smooth(res["loss"], window)
                ax.semilogy(curve, color=COLORS[model], label=f"{model} ({res['ratio']:.2g})")
                late = steps // 10  # the IRNN's large start is not a spike
                if curve[late:].max(initial=0.0) > YMAX:
                    peak = int(late + np.argmax(curve[late:]))
                    ax.annotate(
                        f"{model} off scale:\n{curve[peak]:.0e} at step {peak}",
                        (peak, YMAX),
                        xytext=(0, -40),
                        textcoords="offset points",
                        ha="center",
                        fontsize=9,
                        color=COLORS[model],
                        arrowprops={"arrowstyle": "->", "color": COLORS[model]},
                    )
                if clip and model != "tanh RNN":
                    rows.append(
                        {
                            "quantity": f"final MSE / baseline, {key}",
                            "predicted": f"< {BEATS} (beats 1/6)",
                            "measured": res["ratio"],
                            "agrees": res["ratio"] < BEATS,
                        }
                    )
            ax.axhline(1 / 6, color="black", ls="--", lw=1.5, label="baseline 1/6")
            ax.set_title(
                f"T = {T}, " + (f"clip $\\|g\\| \\leq {clip:g}$" if clip else "no clipping")
            )
            ax.set_xlabel("training step")
            ax.legend(
                title="model (final MSE / baseline)",
                fontsize=9,
                title_fontsize=9,
                loc="upper right",
                ncol=2,
                framealpha=0.6,
            )
        axes[i, 0].set_ylabel(f"MSE (moving avg. {window})")
    for ax in axes.flat:
        ax.set_ylim(max(ax.get_ylim()[0], 1e-4), YMAX)
    ratios = {k: v for k, v in numbers.items() if k.startswith("MSE/")}
    beat = sum(v < BEATS for v in ratios.values())

    def pair(model, T):
        key = f"MSE/baseline, {model}, T={T}"
        return f"{model} {numbers[key + ', unclipped']:.2g} / {numbers[key + ', clipped']:.2g}"

    summary = (
        f"Test MSE / baseline (unclipped / clipped) after {steps} Adam steps: "
        + " ".join(f"T = {T}: " + ", ".join(pair(m, T) for m in MODELS) + "." for T in Ts)
        + f" {beat} of {len(ratios)} runs beat the baseline (ratio < {BEATS})."
    )
    settings = {
        "T": list(Ts),
        "steps": steps,
        "batch": 32,
        "n_hidden": 32,
        "optimizer": "adam",
        "learning_rates": LEARNING_RATES,
        "clip_norm": CLIP,
        "dtype": "float32",
        "test_batch": 1000,
        "beats_threshold": BEATS,
    }
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        latex=r"\mathrm{MSE}_{\mathrm{const}} = \mathrm{Var}(U_1 + U_2) = "
        r"\tfrac{1}{12} + \tfrac{1}{12} = \tfrac{1}{6}",
        comparisons=rows,
        summary=summary,
        arrays=arrays,
    )
