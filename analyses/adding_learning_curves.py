"""Adding problem: IRNN, LSTM and GRU versus a tanh RNN.

Claim: On the adding problem the gated cells (LSTM, GRU) and the identity-initialised ReLU RNN
get below the constant-prediction MSE 1/6 at T = 100 and 200, while a tanh RNN stays at it as
T grows; gradient clipping by norm keeps the IRNN's training stable.

Source: Le, Jaitly & Hinton 2015; Hochreiter & Schmidhuber 1997.

The adding problem asks for the sum of the two marked values of a length-T sequence; predicting
the constant 1 scores the baseline MSE 1/6. Every model gets the same budget (steps, batch,
hidden size, Adam) and a per-cell learning rate, with the global gradient norm clipped; the
IRNN and the tanh RNN also run unclipped. Each setting runs over 5 seeds (2 with --quick) as one
``gt.sweep``. The final MSE on a fresh batch of 1000 sequences over the baseline below 0.9
counts as beating it; a setting is decided by its seeds (at least 4 of 5). The budget is
calibrated (``CALIBRATION``) so that the papers' results can show: they train far longer (Le et
al. up to 10^6 SGD steps), but with Adam the LSTM solves T = 100 in 1000 steps. The LSTM's
forget-gate bias starts at +1, nearer the f = 1 carousel of the 1997 LSTM.

Disagreements: The clipped tanh RNN beats the baseline on some seeds at T = 200 (MSE/baseline
{{MSE/baseline, tanh RNN, T=200, clipped per seed}}) but solves none. About 0.5 is what learning
only the second marked value gives (it lies in the last half; Var U_1 / Var(U_1 + U_2) = 1/2):
the long-lag first value is what the tanh RNN does not learn. The papers trained unclipped
SGD; unclipped, every seed stays at the baseline here too ({{MSE/baseline, tanh RNN, T=200,
unclipped per seed}}).
"""

from itertools import product

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, _common, claim
from gradtheory.claims._common import COLORS, MODELS
from gradtheory.figures import new_figure

#: Adam learning rate per cell (gated cells tolerate a larger one).
LEARNING_RATES = {"tanh RNN": 1e-3, "IRNN": 1e-3, "LSTM": 1e-2, "GRU": 1e-2}
HIDDEN, CLIP, BEATS, UNCLIPPED, FORGET_BIAS = 32, 1.0, 0.9, ("tanh RNN", "IRNN"), 1.0
#: lengths T and Adam steps: full size, and with --quick
BUDGET = {False: ((50, 100, 200), 4000), True: ((50,), 700)}
CALIBRATION = {
    "targets": "LSTM solves T = 100 and 200 (Hochreiter & Schmidhuber 1997), IRNN T = 200 and "
    "tanh RNN fails at T >= 150 (Le et al. 2015)",
    "tried (seed 0, clip 1, MSE/baseline on 300 fresh sequences at steps 250, 500, ...)": {
        "800 steps (before)": "LSTM T=100 0.94, T=200 1.0; IRNN T=200 0.96: not learned",
        "LSTM T=100, lr 1e-2": "0.97 at step 750, 0.018 at 1000, 0.0015 at 2000",
        "LSTM T=200, lr 1e-2, forget bias +1": "1.0 up to step 1750, 0.96 at 2000, 0.013 at "
        "2250, 0.0056 at 2500",
        "IRNN T=200, lr 1e-3": "1.0 at 750, 0.35 at 1500, 0.067 at 2000, 0.057 at 3000",
        "IRNN T=200, lr 3e-4": "0.64 at 2000, 0.28 at 3000",
        "tanh RNN T=200, lr 1e-3": "0.98 at 2000",
        "PyTorch (issue 12)": "the same LSTM solves T = 100 within 2000 Adam steps",
    },
    "checked at the chosen budget (5 seeds, clipped; final MSE/baseline)": {
        "LSTM T=100": "0.0015, 0.00051, 0.00075, 0.00054, 0.00039 (below 0.1 x baseline by "
        "steps 1239, 866, 1007, 961, 920)",
        "LSTM T=200": "0.0021, 0.0018, 0.00043, 0.00088, 0.00043 (by 2103, 1663, 1619, 2005, 1355)",
        "IRNN T=200": "0.023, 0.19, diverged at step 459, 0.023, 0.12: 4 of 5 below 0.9",
    },
    "chosen": "4000 Adam steps for every model (the LSTM at T = 200 and the IRNN need 2000-2500 "
    "with seed 0; the margin is for the seed-to-seed spread of the plateau's length); LSTM "
    "forget-gate bias +1 (Gers et al. 2000), nearer the carousel f = 1 of the 1997 LSTM",
    "core-minutes (full size, idle core; 5 x 5 x 0.6 x the 111 s of the 800-step 1-seed run)": 29,
}


def train_point(model: str, T: int, clipped: bool, seed: int, steps: int) -> dict:
    """Train ``model`` on adding(T) once; its loss curve and final test MSE / baseline."""
    task = gt.tasks.adding(T)
    net = _common.make_net(model, 2, HIDDEN, 1, seed=seed)
    if model == "LSTM":
        net.params["b"][HIDDEN : 2 * HIDDEN] += FORGET_BIAS  # gate rows i, f, g, o
    train = {"steps": steps, "lr": LEARNING_RATES[model], "clip": CLIP if clipped else None}
    record = _common.fit(net, task, seed=seed, **train)[0]
    return {**record, "ratio": record["test_loss"] / task.baseline}


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    (Ts, steps), seeds = BUDGET[quick], _common.seed_list(seed, quick)
    grid = [
        {"model": m, "T": T, "clipped": c, "seed": s, "steps": steps}
        for m, T, c, s in product(MODELS, Ts, (False, True), seeds)
        if c or m in UNCLIPPED
    ]
    result = _common.run_sweep(train_point, grid)
    fig, axes = new_figure(len(Ts), 2, sharey=True, squeeze=False, height=3.6 * len(Ts) + 0.6)
    numbers, rows, arrays, window = {}, [], {}, max(steps // 40, 5)
    legend = "model (mean final MSE / baseline); median of seeds, band min-max"
    for (i, T), (j, clipped) in product(enumerate(Ts), enumerate((False, True))):
        ax, tag = axes[i, j], "clipped" if clipped else "unclipped"
        for model in MODELS if clipped else UNCLIPPED:
            records = result.select(model=model, T=T, clipped=clipped).records
            key, ratios = f"{model}, T={T}, {tag}", [r["ratio"] for r in records]
            mean = _common.seed_stats(numbers, f"MSE/baseline, {key}", ratios)
            clipped_fraction = np.mean([r["clipped_fraction"] for r in records])
            numbers[f"fraction of steps clipped (mean), {key}"] = float(clipped_fraction)
            numbers[f"seeds diverged, {key}"] = sum(r["diverged_at"] >= 0 for r in records)
            loss = np.full((len(records), steps), np.nan)  # NaN after a divergence
            for curve, r in zip(loss, records, strict=True):
                curve[: r["loss"].size] = r["loss"]
            arrays[f"loss_{model.replace(' ', '_')}_T{T}_{tag}"] = loss
            curves = [_common.smooth(c, window) for c in loss if np.isfinite(c).all()]
            if curves:
                label = f"{model} ({mean:.2g})"
                _common.band(ax, np.arange(steps), curves, COLORS[model], label, center=np.median)
            if clipped and model != "tanh RNN":
                rows.append(_common.seeds_row(f"final MSE / baseline, {key}", ratios, BEATS))
        if clipped and T >= 150:  # where Le et al. (Fig. 2) report the tanh RNN at the baseline
            ratios = numbers[f"MSE/baseline, tanh RNN, T={T}, clipped per seed"]
            quantity = f"final MSE / baseline, tanh RNN, T={T}"
            rows.append(_common.seeds_row(quantity, ratios, BEATS, below=False))
        ax.axhline(1 / 6, color="black", ls="--", lw=1.5, label="baseline 1/6")
        title = f"T = {T}, " + (f"clip $\\|g\\| \\leq {CLIP:g}$" if clipped else "no clipping")
        ax.set(yscale="log", ylim=(1e-4, 300), xlabel="training step", title=title)
        ax.legend(title=legend, fontsize=9, title_fontsize=9, ncol=2)
        axes[i, 0].set_ylabel(f"MSE (moving avg. {window})")
    settings = _common.constants(globals(), T=list(Ts), steps=steps, seeds=seeds, test_batch=1000)
    latex = r"\mathrm{MSE}_{\mathrm{const}} = \mathrm{Var}(U_1 + U_2) = \tfrac{1}{6}"
    headline = [f"MSE/baseline, {m}, T={Ts[-1]}, clipped (mean, 95% half-width)" for m in MODELS]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
