"""Adding problem: IRNN, LSTM and GRU versus a tanh RNN.

Claim: On the adding problem the gated cells (LSTM, GRU) and the identity-initialised ReLU RNN
get below the constant-prediction MSE 1/6, while a tanh RNN stays at it as T grows; gradient
clipping by norm keeps the IRNN's training stable.

Source: Le, Jaitly & Hinton 2015; Hochreiter & Schmidhuber 1997.

The adding problem asks for the sum of the two marked values of a length-T sequence; predicting
the constant 1 scores the baseline MSE 1/6. Every model gets the same budget (steps, batch,
hidden size, Adam) and a per-cell learning rate, without and with clipping of the global
gradient norm, over 5 seeds (2 with --quick) as one ``gt.sweep``. The final MSE on a fresh batch
of 1000 sequences over the baseline below 0.9 counts as beating it; a setting is decided by its
seeds (at least 4 of 5). The budget (800 Adam steps) is today's, not calibrated to the papers'.
"""

import sys

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, claim, main
from gradtheory.claims._common import (
    COLORS,
    MODELS,
    evaluate,
    interval,
    make_net,
    run_sweep,
    seed_list,
    seeds_row,
    smooth,
)
from gradtheory.figures import new_figure

#: Adam learning rate per cell (gated cells tolerate a larger one).
LEARNING_RATES = {"tanh RNN": 1e-3, "IRNN": 1e-3, "LSTM": 1e-2, "GRU": 1e-2}
CLIP, BEATS, YMAX = 1.0, 0.9, 300.0


def train_point(model: str, T: int, clipped: bool, seed: int, steps: int) -> dict:
    """Train ``model`` on adding(T) once; its loss curve and final test MSE / baseline."""
    task = gt.tasks.adding(T)
    net = make_net(model, 2, 32, 1, seed=seed)
    clip = CLIP if clipped else None
    hist = gt.train(
        net,
        task,
        steps=steps,
        batch=32,
        lr=LEARNING_RATES[model],
        clip=clip,
        seed=seed,
        progress=False,
    )
    ratio = evaluate(net, task, seed=seed)[0] / task.baseline
    clipped_fraction = float(hist.clipped.mean()) if hist.clipped.size else 0.0
    diverged = -1 if hist.diverged_at is None else int(hist.diverged_at)
    return {
        "ratio": ratio,
        "clipped_fraction": clipped_fraction,
        "diverged_at": diverged,
        "loss": np.asarray(hist.loss),
    }


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    Ts, steps, seeds = (
        ((50,) if quick else (50, 100, 200)),
        700 if quick else 800,
        seed_list(seed, quick),
    )
    grid = {
        "model": list(MODELS),
        "T": list(Ts),
        "clipped": [False, True],
        "seed": seeds,
        "steps": [steps],
    }
    result = run_sweep(train_point, grid)
    fig, axes = new_figure(
        len(Ts), 2, sharey=True, squeeze=False, height=3.6 * len(Ts) if len(Ts) > 1 else 4.2
    )
    numbers, rows, arrays = {}, [], {}
    window = max(steps // 40, 5)
    for i, T in enumerate(Ts):
        for j, clipped in enumerate((False, True)):
            ax, tag = axes[i, j], "clipped" if clipped else "unclipped"
            for model in MODELS:
                records = result.select(model=model, T=T, clipped=clipped).records
                ratios = [r["ratio"] for r in records]
                key = f"{model}, T={T}, {tag}"
                mean, half = interval(ratios)
                numbers[f"MSE/baseline mean, 95% half-width, {key}"] = [mean, half]
                numbers[f"MSE/baseline per seed, {key}"] = ratios
                numbers[f"fraction of steps clipped (mean), {key}"] = float(
                    np.mean([r["clipped_fraction"] for r in records])
                )
                numbers[f"seeds diverged, {key}"] = sum(r["diverged_at"] >= 0 for r in records)
                curves = np.array(
                    [smooth(r["loss"], window) for r in records if r["loss"].size == steps]
                )
                arrays[f"loss_{model.replace(' ', '_')}_T{T}_{tag}"] = np.array(
                    [
                        np.pad(r["loss"], (0, steps - r["loss"].size), constant_values=np.nan)
                        for r in records
                    ]
                )
                if curves.size:
                    ax.semilogy(
                        np.median(curves, axis=0),
                        color=COLORS[model],
                        label=f"{model} ({mean:.2g})",
                    )
                    ax.fill_between(
                        np.arange(steps),
                        curves.min(axis=0),
                        curves.max(axis=0),
                        color=COLORS[model],
                        alpha=0.15,
                        lw=0,
                    )
                if clipped and model != "tanh RNN":
                    rows.append(seeds_row(f"final MSE / baseline, {key}", ratios, BEATS))
            ax.axhline(1 / 6, color="black", ls="--", lw=1.5, label="baseline 1/6")
            ax.set_title(
                f"T = {T}, " + (f"clip $\\|g\\| \\leq {CLIP:g}$" if clipped else "no clipping")
            )
            ax.set_xlabel("training step")
            ax.legend(
                title="model (mean final MSE / baseline)",
                fontsize=9,
                title_fontsize=9,
                loc="upper right",
                ncol=2,
                framealpha=0.6,
            )
        axes[i, 0].set_ylabel(f"MSE (moving avg. {window}; median, band min-max of seeds)")
    for ax in axes.flat:
        ax.set_ylim(max(ax.get_ylim()[0], 1e-4), YMAX)
    settings = {
        "T": list(Ts),
        "steps": steps,
        "seeds": seeds,
        "batch": 32,
        "n_hidden": 32,
        "optimizer": "adam",
        "learning_rates": LEARNING_RATES,
        "clip_norm": CLIP,
        "dtype": "float32",
        "test_batch": 1000,
        "beats_threshold": BEATS,
        "solved": "at least 4 of 5 seeds (all of 2 with --quick) below the threshold",
        "budget calibration": "none: today's 800 Adam steps (the papers train far longer)",
    }
    latex = r"\mathrm{MSE}_{\mathrm{const}} = \mathrm{Var}(U_1 + U_2) = \tfrac{1}{6}"
    headline = [f"MSE/baseline mean, 95% half-width, {m}, T={Ts[-1]}, clipped" for m in MODELS]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)


if __name__ == "__main__":
    sys.exit(main(__file__))
