"""The gradient regime moves during training; prediction and measurement follow it.

Four recurrent networks (tanh RNN, IRNN, LSTM, GRU) learn the adding problem, and three deep
untied networks (plain tanh, residual, highway) learn the 8x8 digits given at once at the first
layer (:class:`DeepDigits`). At checkpoints the step-Jacobian prediction of the gradient growth
rate (``gradtheory.analysis.verify``) is compared with two BPTT measurements: the gradient of
the task loss, and a random unit probe on the last state. Recurrent networks are checked on
longer sequences of the same task than they train on, so that the fit window is long.
"""

from __future__ import annotations

import numpy as np

from ..analysis.verify import verify
from ..cells import elman, gru, highway, irnn, lstm, residual
from ..figures import PALETTE, new_figure
from ..numeric import tasks
from ..numeric.network import Network
from ..numeric.train import train
from ._registry import ClaimResult, claim

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
    ``agrees``, ``probe_measured``, ``probe_agrees``, ``regime``, and ``loss`` per step.
    """
    rows = []
    probe_x = check_task.sample(32, np.random.default_rng([seed, 29]))[0]

    def checkpoint(step, current, _history=None):
        loss = verify(current, task=check_task, method="jacobian", batch=32, seed=seed)
        probe = verify(current, probe_x, method="jacobian", seed=seed)
        rows.append(
            (
                step,
                loss.predicted.rate,
                loss.measured_rate,
                loss.measured_stderr,
                loss.tolerance,
                loss.agrees,
                probe.measured_rate,
                probe.agrees,
                loss.predicted.regime,
            )
        )

    history = train(
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
    names = (
        "step",
        "predicted",
        "measured",
        "stderr",
        "tolerance",
        "agrees",
        "probe_measured",
        "probe_agrees",
        "regime",
    )
    out = {name: np.array([r[i] for r in rows]) for i, name in enumerate(names)}
    out["loss"] = history.loss
    return out


@claim(
    "regime_during_training",
    "The gradient regime during training: predicted vs measured",
    "Pascanu et al. 2013 (Sec. 3); Le et al. 2015; He et al. 2015; Srivastava et al. 2015",
    "As a network learns, the growth rate of its gradient changes; the step-Jacobian prediction "
    "tracks the measured rate at each checkpoint.",
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    T, T_check, n_rnn = (20, 100, 32) if quick else (40, 200, 64)
    depth, n_deep = (20, 32) if quick else (30, 64)
    steps, every = (300, 75) if quick else (1500, 250)
    lr = 3e-3
    results = {}
    for label, (factory, init) in RECURRENT.items():
        net = Network(
            factory(), n_in=2, n_hidden=n_rnn, n_out=1, init=init, seed=seed, dtype="float32"
        )
        results[label] = follow(
            net,
            tasks.adding(T),
            tasks.adding(T_check),
            steps=steps,
            every=every,
            lr=lr,
            seed=seed,
        )
    deep_task = DeepDigits(depth)
    for label, factory in DEEP.items():
        net = Network(
            factory(),
            n_in=64,
            n_hidden=n_deep,
            n_out=10,
            steps=depth,
            tied=False,
            init="gaussian",
            seed=seed,
            dtype="float32",
        )
        if "W2" in net.params:
            net.params["W2"] = net.params["W2"] / np.sqrt(depth)
        results[f"{label} (L = {depth})"] = follow(
            net, deep_task, deep_task, steps=steps, every=every, lr=lr, seed=seed
        )
    fig, axes = new_figure(2, 4, width=18.0, height=8.0, sharex=True)
    numbers, rows = {}, []
    colors = [c for c in PALETTE if c != "#F0E442"]  # yellow is too faint for markers
    for ax, color, (label, r) in zip(axes.flat, colors, results.items(), strict=False):
        ax.errorbar(
            r["step"],
            r["measured"],
            yerr=r["tolerance"],
            fmt="o",
            color=color,
            capsize=3,
            label="measured (task loss), bar = tolerance",
        )
        ax.plot(
            r["step"],
            r["probe_measured"],
            "^",
            mfc="none",
            color=color,
            ms=7,
            label="measured (random probe)",
        )
        ax.plot(r["step"], r["predicted"], "--", color=color, lw=1.8, label="predicted (Jacobian)")
        ax.axhline(0.0, color="grey", lw=1, ls=":")
        ax.set_title(label, fontsize=12)
        for step, pred, meas, ok in zip(
            r["step"], r["predicted"], r["measured"], r["agrees"], strict=True
        ):
            rows.append(
                {
                    "quantity": f"rate per step, {label}, training step {int(step)}",
                    "predicted": float(pred),
                    "measured": float(meas),
                    "agrees": bool(ok),
                }
            )
        numbers[f"{label}: rate at start / end (predicted)"] = [
            float(r["predicted"][0]),
            float(r["predicted"][-1]),
        ]
        numbers[f"{label}: rate at start / end (measured, task loss)"] = [
            float(r["measured"][0]),
            float(r["measured"][-1]),
        ]
        numbers[f"{label}: checkpoints agreeing (task loss / random probe)"] = [
            int(r["agrees"].sum()),
            int(r["probe_agrees"].sum()),
        ]
        numbers[f"{label}: loss first / last 10% of steps"] = [
            float(np.mean(r["loss"][: steps // 10])),
            float(np.mean(r["loss"][-steps // 10 :])),
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
        smooth = np.convolve(r["loss"], np.ones(window) / window, mode="valid")
        last.semilogy(np.arange(smooth.size) + window, smooth, color=color, lw=1.5, label=label)
    last.set_title("training loss (moving average)", fontsize=12)
    last.legend(fontsize=7, loc="lower left")
    agree = sum(r["agrees"] for r in rows)
    moves = "; ".join(
        f"{k} {v['predicted'][0]:+.3f} -> {v['predicted'][-1]:+.3f}" for k, v in results.items()
    )
    summary = (
        f"Predicted rate per step at the first -> last checkpoint: {moves}. "
        f"{agree} of {len(rows)} checkpoints agree with the task-loss measurement, "
        f"{sum(int(r['probe_agrees'].sum()) for r in results.values())} of {len(rows)} "
        f"with a random probe."
    )
    settings = {
        "adding T (train / check)": [T, T_check],
        "n_hidden recurrent": n_rnn,
        "deep task": f"digits, 64 pixels at layer 1, depth {depth}",
        "n_hidden deep": n_deep,
        "steps": steps,
        "checkpoint every": every,
        "optimizer": "adam",
        "lr": lr,
        "clip": 1.0,
        "dtype": "float32",
        "residual W2 scale": f"1/sqrt({depth})",
        "highway gate_bias": -2.0,
    }
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        comparisons=rows,
        summary=summary,
        latex=r"\mathrm{rate} = \lim \tfrac{1}{k}\ln\|J_t J_{t-1}\cdots "
        r"J_{t-k+1} v\|\ \text{(predicted)}\quad\text{vs}\quad "
        r"-\tfrac{d}{dt}\ln\|\partial L/\partial s_t\|\ \text{(BPTT)}",
    )
