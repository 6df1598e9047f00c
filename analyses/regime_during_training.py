"""The gradient regime during training: predicted vs measured.

Claim: As a network learns, the growth rate of its gradient changes; the step-Jacobian
prediction tracks the measured rate at each checkpoint.

Source: Pascanu et al. 2013 (Sec. 3); Le et al. 2015; He et al. 2015; Srivastava et al. 2015.

Four recurrent networks (tanh RNN, IRNN, LSTM, GRU) learn the adding problem, and three deep
untied networks (plain tanh, residual, highway) learn the 8x8 digits given at once at the first
layer (:class:`DeepDigits`). At checkpoints the step-Jacobian prediction of the gradient growth
rate (``gradtheory.analysis.verify``) is compared with two BPTT measurements: the gradient of
the task loss, and a random unit probe on the last state. Recurrent networks are checked on
longer sequences of the same task than they train on, so that the fit window is long.
"""

import sys

import numpy as np

import gradtheory as gt
from gradtheory.cells import elman, gru, highway, irnn, lstm, residual
from gradtheory.claims import ClaimResult, Comparison, claim, main
from gradtheory.claims._common import run_sweep, seed_list, seeds_needed
from gradtheory.figures import PALETTE, new_figure
from gradtheory.numeric import tasks

RECURRENT = {
    "tanh RNN": (lambda: elman("tanh"), "gaussian"),
    "IRNN": (irnn, "identity"),
    "LSTM": (lstm, "torch"),
    "GRU": (gru, "torch"),
}
DEEP = {
    "plain tanh": lambda: elman("tanh"),
    "residual tanh": lambda: residual("tanh"),
    "highway tanh": lambda: highway("tanh", gate_bias=-2.0),
}


class DeepDigits(tasks.Task):
    """scikit-learn's 8x8 digits for a depth-L untied network: 64 pixels enter at layer 1.

    ``x`` is (L, B, 64), zero after the first layer; the 10-class target is read at layer L.
    """

    n_in, n_out, loss, target = 64, 10, "cross_entropy", "last"

    def __init__(self, depth: int):
        self.T = int(depth)
        self.digits = tasks.digits()

    def _sample(self, B: int, rng: np.random.Generator):
        pixels, labels, _ = self.digits.sample(B, rng)  # (64, B, 1) read pixel by pixel
        x = np.zeros((self.T, B, 64))
        x[0] = pixels[:, :, 0].T
        y = np.zeros((self.T, B, 10))
        y[-1] = labels[-1]
        mask = np.zeros((self.T, B))
        mask[-1] = 1.0
        return x, y, mask

    @property
    def baseline(self) -> float:
        return self.digits.baseline


def follow(net, task, check_task, *, steps: int, every: int, lr: float, seed: int) -> dict:
    """Train ``net`` and verify at every checkpoint (task loss and random probe).

    Returns
    -------
    dict of arrays: ``step``, ``predicted``, ``measured``, ``stderr``, ``tolerance``,
    ``agrees``, ``probe_measured``, ``probe_agrees``, and ``loss`` per step.
    """
    rows = []
    probe_x = check_task.sample(32, np.random.default_rng([seed, 29]))[0]

    def checkpoint(step, current, _history=None):
        loss = gt.verify(current, task=check_task, method="jacobian", batch=32, seed=seed)
        probe = gt.verify(current, probe_x, method="jacobian", seed=seed)
        rows.append(
            {
                "step": step,
                "predicted": loss.predicted.rate,
                "measured": loss.measured_rate,
                "stderr": loss.measured_stderr,
                "tolerance": loss.tolerance,
                "agrees": loss.agrees,
                "probe_measured": probe.measured_rate,
                "probe_agrees": probe.agrees,
            }
        )

    history = gt.train(
        net,
        task,
        steps=steps,
        lr=lr,
        clip=1.0,
        seed=seed,
        progress=False,
        callback=checkpoint,
        callback_every=every,
    )
    checkpoint(steps, net)
    return {**{k: np.array([r[k] for r in rows]) for k in rows[0]}, "loss": history.loss}


#: (adding T, check T, recurrent width, depth, deep width, steps, checkpoint every) by quick
SIZES = {True: (20, 100, 32, 20, 32, 300, 75), False: (40, 200, 64, 30, 64, 1500, 250)}
LR = 3e-3


def follow_point(label: str, seed: int, quick: bool) -> dict:
    """Train network ``label`` (recurrent on adding, or deep on digits) and follow its regime."""
    T, T_check, n_rnn, depth, n_deep, steps, every = SIZES[quick]
    if label in RECURRENT:
        factory, init = RECURRENT[label]
        net = gt.Network(
            factory(), n_in=2, n_hidden=n_rnn, n_out=1, init=init, seed=seed, dtype="float32"
        )
        out = follow(
            net, tasks.adding(T), tasks.adding(T_check), steps=steps, every=every, lr=LR, seed=seed
        )
    else:
        net = gt.Network(
            DEEP[label](),
            n_in=64,
            n_hidden=n_deep,
            n_out=10,
            depth=depth,
            tied=False,
            init="gaussian",
            seed=seed,
            dtype="float32",
        )
        if "W2" in net.params:
            net.params["W2"] = net.params["W2"] / np.sqrt(depth)
        task = DeepDigits(depth)
        out = follow(net, task, task, steps=steps, every=every, lr=LR, seed=seed)
    return out


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    T, T_check, n_rnn, depth, n_deep, steps, every = SIZES[quick]
    seeds, labels = seed_list(seed, quick), [*RECURRENT, *DEEP]
    result = run_sweep(follow_point, {"label": labels, "seed": seeds, "quick": [quick]})
    results = {}
    for label in labels:
        records = result.select(label=label).records
        title = label if label in RECURRENT else f"{label} (L = {depth})"
        results[title] = {
            k: np.array([r[k] for r in records])
            for k in records[0]
            if k not in ("label", "seed", "quick")
        }
    fig, axes = new_figure(2, 4, width=18.0, height=8.0, sharex=True)
    numbers, rows = {}, []
    colors = [c for c in PALETTE if c != "#F0E442"]  # yellow is too faint for markers
    needed = seeds_needed(len(seeds))
    for ax, color, (label, r) in zip(axes.flat, colors, results.items(), strict=False):
        step = r["step"][0]
        measured = (
            ("measured", "o", color, 4, "measured (task loss), one per seed"),
            ("probe_measured", "^", "none", 6, "measured (random probe)"),
        )
        for key, marker, face, size, legend in measured:  # one marker per seed and checkpoint
            for k in range(len(seeds)):
                ax.plot(
                    step,
                    r[key][k],
                    marker,
                    mfc=face,
                    color=color,
                    ms=size,
                    alpha=0.6,
                    label=legend if k == 0 else None,
                )
        ax.plot(
            step,
            r["predicted"].mean(axis=0),
            "--",
            color=color,
            lw=1.8,
            label="predicted (Jacobian), mean of seeds",
        )
        ax.axhline(0.0, color="grey", lw=1, ls=":")
        ax.set_title(label, fontsize=12)
        for i, at in enumerate(step):
            agreeing = int(r["agrees"][:, i].sum())
            rows.append(
                Comparison(
                    f"rate per step, {label}, training step {int(at)} (mean of seeds)",
                    float(r["predicted"][:, i].mean()),
                    float(r["measured"][:, i].mean()),
                    float(r["tolerance"][:, i].max()),
                    f"gt.verify agrees on at least {needed} of {len(seeds)} seeds",
                    agrees=agreeing >= needed,
                )
            )
        numbers[f"{label}: rate at start / end (predicted, mean of seeds)"] = [
            float(r["predicted"][:, 0].mean()),
            float(r["predicted"][:, -1].mean()),
        ]
        numbers[f"{label}: rate at start / end (measured, task loss, mean of seeds)"] = [
            float(r["measured"][:, 0].mean()),
            float(r["measured"][:, -1].mean()),
        ]
        numbers[f"{label}: seed-checkpoints agreeing (task loss / random probe)"] = [
            int(r["agrees"].sum()),
            int(r["probe_agrees"].sum()),
        ]
        numbers[f"{label}: loss first / last 10% of steps (mean of seeds)"] = [
            float(np.mean(r["loss"][:, : steps // 10])),
            float(np.mean(r["loss"][:, -steps // 10 :])),
        ]
    for ax in axes[:, 0]:
        ax.set_ylabel("gradient growth rate per step")
    for ax in axes[1]:
        ax.set_xlabel("training step")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=3, fontsize=11)
    last = axes.flat[-1]
    for color, (label, r) in zip(colors, results.items(), strict=False):
        window = max(1, steps // 20)
        smooth = np.convolve(r["loss"].mean(axis=0), np.ones(window) / window, mode="valid")
        last.semilogy(np.arange(smooth.size) + window, smooth, color=color, lw=1.5, label=label)
    last.set_title("training loss (moving average, mean of seeds)", fontsize=12)
    last.legend(fontsize=7, loc="lower left")
    settings = {
        "adding T (train / check)": [T, T_check],
        "n_hidden recurrent": n_rnn,
        "deep task": f"digits, 64 pixels at layer 1, depth {depth}",
        "n_hidden deep": n_deep,
        "steps": steps,
        "checkpoint every": every,
        "optimizer": "adam",
        "lr": LR,
        "seeds": seeds,
        "budget calibration": "none: the budget predates the seed sweep, not fitted to a paper",
        "clip": 1.0,
        "dtype": "float32",
        "residual W2 scale": f"1/sqrt({depth})",
        "highway gate_bias": -2.0,
    }
    latex = (
        r"\mathrm{rate} = \lim \tfrac{1}{k}\ln\|J_t J_{t-1}\cdots J_{t-k+1} v\|\ \text{(predicted)}"
        r"\quad\text{vs}\quad -\tfrac{d}{dt}\ln\|\partial L/\partial s_t\|\ \text{(BPTT)}"
    )
    headline = [k for k in numbers if "rate at start / end (predicted" in k]
    return ClaimResult(fig, numbers, rows, settings, latex, headline)


if __name__ == "__main__":
    sys.exit(main(__file__))
