r"""Batch normalisation: units out of saturation, yet exploding gradients in plain deep nets.

Three parts, each with predicted-vs-measured rows:

(a) the lecture notes' point (batch normalisation keeps sigmoid/tanh units out of saturation):
    per-layer pre-activations of plain sigmoid and tanh chains with large weights (gain 4) and
    raw pixel inputs (0..16), with and without BN. Saturated means phi'(a) < 0.1 phi'(0).
    Predicted fraction: without BN the mean-field fixed point q* (a ~ N(0, q*)); with BN
    a ~ N(0, 1) per unit.
(b) the theory's point (Yang et al. 2019): the measured per-layer growth of ||dL/dH_l|| (whole
    batch) in plain BN chains (ReLU, tanh, linear; B from 8 to 256; width 256) against
    ``gt.predict(net, batch=B)`` (0.5 ln lambda_G), and residual BN chains, whose per-layer
    growth decays like lambda_G / (2 (l - 1)) (power law, near 1 per layer).
(c) trainability: plain and residual ReLU BN chains of depth 50, width 128, on the digits read
    as 64-dimensional vectors (SGD with momentum, 5 seeds): the plain net does not train.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis.mean_field import mean_field
from ..cells import elman, residual
from ..figures import PALETTE, new_figure
from ..numeric.network import Network
from ..numeric.optim import make_optimizer
from ..numeric.tasks import Digits, _digits_data
from ._registry import ClaimResult, claim

#: activation -> (phi', |a| beyond which phi'(a) < 0.1 phi'(0))
SATURATION = {"tanh": 1.8184464592320668, "sigmoid": 3.6285488395157866}


def _normal_tail(threshold: float, std: float) -> float:
    """P(|a| > threshold) for a ~ N(0, std^2)."""
    return math.erfc(threshold / (std * math.sqrt(2.0)))


def saturation(activation: str, depth: int, width: int, batch: int, seed: int) -> dict:
    """Per-layer pre-activation std and saturated fraction, plain vs BN (gain 4, raw pixels)."""
    images = _digits_data()[0] * 16.0  # raw 0..16 pixels: unnormalised inputs
    x = images[np.random.default_rng([seed, 2]).choice(len(images), batch, replace=False)]
    threshold, out = SATURATION[activation], {}
    for label, cell in (("plain", elman(activation)), ("BN", elman(activation, norm="batch"))):
        net = Network(cell, 64, width, steps=depth, tied=False, gain=4.0, seed=seed)
        traj = net.forward(x)
        a = np.array([env["a"] for env in traj.tape.envs]) if label == "BN" else None
        if a is None:  # plain: the pre-activation is the affine output
            a = traj.input_terms[0]
        out[label] = {
            "std": a.std(axis=(1, 2)),
            "saturated": (np.abs(a) > threshold).mean(axis=(1, 2)),
        }
    q_star = mean_field(activation, 16.0, 0.0).q_star
    out["predicted"] = {"plain": _normal_tail(threshold, math.sqrt(q_star)), "BN": 0.0}
    out["predicted"]["BN"] = _normal_tail(threshold, 1.0)
    return out


def growth(kind: str, activation: str, batch: int, width: int, depth: int, seeds) -> dict:
    """Measured and predicted per-layer rates of ln ||dL/dH_l|| (layers 2..L)."""
    from ..analysis.predict import predict

    factory = elman if kind == "plain" else residual
    measured, predicted, profiles, per_layer = [], [], [], []
    for s in seeds:
        net = Network(factory(activation, norm="batch"), width, width, steps=depth, tied=False,
                      seed=s)  # fmt: skip
        rng = np.random.default_rng([s, batch, 3])
        traj = net.forward(rng.normal(size=(batch, width)))
        grads = net.backward(traj, grad_state=rng.normal(size=(batch, width)))
        total = 0.5 * np.log(np.exp(2.0 * grads.adjoint_log_norms).sum(axis=1))
        rates = total[:-1] - total[1:]
        measured.append(float(np.mean(rates[1:])))
        per_layer.append(rates)
        pred = predict(net, batch=batch, seed=s)
        predicted.append(pred)
        profiles.append(total - total[-1])
    rates = np.array(measured)
    return {
        "measured": float(rates.mean()),
        "stderr": float(rates.std(ddof=1) / np.sqrt(len(rates))) if len(rates) > 1 else 0.0,
        "predicted": float(np.mean([p.rate for p in predicted])),
        "method": predicted[0].method,
        "regime": predicted[0].regime,
        "per_layer": np.mean([p.per_layer for p in predicted], axis=0),  # nan at layer 1
        "measured_per_layer": np.mean(per_layer, axis=0),
        "seed_tail": [float(np.mean(r[-(len(r) // 3) :])) for r in per_layer],
        "profile": np.mean(profiles, axis=0),
    }


def _softmax_grad(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    grad = np.exp(log_p)
    grad[rows, labels] -= 1.0
    return float(-log_p[rows, labels].mean()), grad / len(labels)


def train_digits(kind: str, depth: int, width: int, steps: int, seed: int, lr: float) -> dict:
    """SGD with momentum 0.9 on digits vectors (pixels / 16), batch 64; test accuracy in eval
    mode (running statistics). Stops cleanly if the loss stops being finite."""
    images, labels = _digits_data()
    task = Digits()
    train_idx, test_idx = task.train_indices, task.test_indices
    from ..analysis.predict import predict

    factory = elman if kind == "plain" else residual
    net = Network(factory("relu", norm="batch"), 64, width, 10, steps=depth, tied=False, seed=seed)
    predicted = float(np.sum(predict(net, batch=64, seed=seed).per_layer[1:]) / np.log(10.0))
    opt = make_optimizer("momentum", lr, beta=0.9)
    rng = np.random.default_rng([seed, 4])
    losses, first_ratio = [], float("nan")
    for step in range(steps):
        idx = train_idx[rng.integers(0, train_idx.size, 64)]
        traj = net.forward(images[idx])
        loss, grad = _softmax_grad(traj.outputs[-1], labels[idx])
        if not np.isfinite(loss):
            break
        grad_out = np.zeros_like(traj.outputs)
        grad_out[-1] = grad
        grads = net.backward(traj, grad_out)
        if step == 0:  # ||dL/dH_1|| / ||dL/dH_L|| at initialisation
            norms = 0.5 * np.log(np.exp(2.0 * grads.adjoint_log_norms).sum(axis=1))
            first_ratio = float((norms[1] - norms[-1]) / np.log(10.0))
        opt.step(net.params, grads.params)
        losses.append(loss)
    net.batchnorm.training = False
    with np.errstate(all="ignore"):
        logits = net.forward(images[test_idx]).outputs[-1]
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels[test_idx]))
    return {
        "loss": np.array(losses),
        "accuracy": accuracy,
        "log10_ratio": first_ratio,
        "predicted_log10_ratio": predicted,
    }


def _agree(predicted: float, measured: float, stderr: float) -> bool:
    """Agreement: within 10 % of the prediction plus three standard errors over seeds."""
    return bool(abs(measured - predicted) <= 0.1 * abs(predicted) + 3.0 * stderr)


@claim(
    "batchnorm",
    "Batch normalisation: out of saturation, but gradients explode in plain deep nets",
    "lecture notes (batch normalisation helps sigmoid units out of saturation); Yang, "
    "Pennington, Rao, Sohl-Dickstein and Schoenholz 2019 (mean-field theory of BN); "
    "Balduzzi et al. 2017, De and Smith 2020 (skip connections)",
    "Batch normalisation keeps sigmoid and tanh units out of saturation, but in a plain deep "
    "network it makes the gradient grow by a fixed factor per layer back at initialisation "
    "(0.5 ln lambda_G, pi/(pi-1) for ReLU at large batch), so deep plain BN networks do not "
    "train; residual BN networks grow only polynomially and train.",
)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    sat_depth, sat_width, sat_batch = (6, 64, 64) if quick else (20, 256, 128)
    width, depth = (128, 12) if quick else (256, 30)
    batches = (8, 64) if quick else (8, 32, 128, 256)
    seeds = [seed] if quick else [seed + k for k in range(3)]
    t_depth, t_width, t_steps = (10, 32, 20) if quick else (50, 128, 200)
    t_seeds = [seed] if quick else [seed + k for k in range(5)]
    lr = 0.01
    fig, axes = new_figure(2, 2, width=13.0, height=9.0)
    numbers, rows, arrays = {}, [], {}

    # (a) saturation
    ax = axes[0, 0]
    for k, act in enumerate(("sigmoid", "tanh")):
        out = saturation(act, sat_depth, sat_width, sat_batch, seed)
        layers = np.arange(1, sat_depth + 1)
        for label, style in (("plain", "-"), ("BN", "--")):
            frac = out[label]["saturated"]
            ax.plot(layers, frac, style, color=PALETTE[k], label=f"{act}, {label}")
            deep = float(frac[2:].mean())
            numbers[f"saturated fraction (layers 3..L), {act}, {label}"] = deep
            numbers[f"pre-activation std (layers 3..L), {act}, {label}"] = float(
                out[label]["std"][2:].mean()
            )
            arrays[f"saturated_{act}_{label}"] = frac
            rows.append(
                {
                    "quantity": f"saturated fraction, {act}, {label} (layers 3..L)",
                    "predicted": out["predicted"][label],
                    "measured": deep,
                    "agrees": bool(abs(deep - out["predicted"][label]) <= 0.05),
                }
            )
    ax.set_xlabel("layer $l$")
    ax.set_ylabel(r"fraction of units with $\phi'(a) < 0.1\,\phi'(0)$")
    ax.set_title("(a) Saturation, gain 4, raw pixel inputs")
    ax.legend(fontsize=9)

    # (b) gradient growth
    ax_prof, ax_rate = axes[0, 1], axes[1, 0]
    configs = [("plain", a) for a in ("relu", "tanh", "linear")]
    configs += [("residual", a) for a in ("relu", "tanh")]
    show = batches[1]
    for k, (kind, act) in enumerate(configs):
        color = PALETTE[k + 2]
        pred_line, meas, errs = [], [], []
        for batch in batches:
            g = growth(kind, act, batch, width, depth, seeds)
            pred_line.append(g["predicted"])
            meas.append(g["measured"])
            errs.append(g["stderr"])
            name = f"{kind} BN {act}, B={batch}"
            rows.append(
                {
                    "quantity": f"rate per layer of ln||dL/dH_l||, {name} ({g['method']})",
                    "predicted": g["predicted"],
                    "measured": g["measured"],
                    "agrees": _agree(g["predicted"], g["measured"], g["stderr"]),
                }
            )
            if kind == "residual":  # the last third of the layers: per-layer growth near 1
                tail = slice(depth - depth // 3, depth)
                pred_tail = float(np.mean(g["per_layer"][tail]))
                meas_tail = float(np.mean(g["seed_tail"]))
                se_tail = (
                    float(np.std(g["seed_tail"], ddof=1) / np.sqrt(len(seeds)))
                    if len(seeds) > 1
                    else 0.0
                )
                rows.append(
                    {
                        "quantity": f"rate per layer, last {depth // 3} layers, {name}",
                        "predicted": pred_tail,
                        "measured": meas_tail,
                        "agrees": _agree(pred_tail, meas_tail, se_tail),
                    }
                )
                numbers[f"growth factor per layer, last {depth // 3} layers, {name}"] = float(
                    np.exp(meas_tail)
                )
            numbers[f"measured rate, {name}"] = g["measured"]
            numbers[f"predicted rate, {name}"] = g["predicted"]
            if batch == show:
                layers = np.arange(depth + 1)
                ax_prof.plot(layers, g["profile"] / np.log(10.0), color=color,
                             label=f"{kind} {act}")  # fmt: skip
                predicted_profile = np.concatenate(
                    [np.cumsum(np.nan_to_num(g["per_layer"])[::-1])[::-1], [0.0]]
                )
                ax_prof.plot(layers, predicted_profile / np.log(10.0), ":", color=color)
                arrays[f"profile_{kind}_{act}"] = g["profile"]
        ax_rate.plot(batches, pred_line, "-", color=color, label=f"{kind} {act}")
        ax_rate.errorbar(batches, meas, yerr=errs, fmt="o", color=color)
    ax_prof.set_xlabel("layer $l$")
    ax_prof.set_ylabel(
        r"$\log_{10}\|\partial L/\partial H_l\| - \log_{10}\|\partial L/\partial H_L\|$"
    )
    ax_prof.set_title(f"(b) Gradient norm back through depth (B = {show}, width {width})")
    ax_prof.legend(fontsize=9)
    ax_rate.set_xscale("log", base=2)
    ax_rate.axhline(0.0, color="grey", lw=1, ls=":")
    ax_rate.set_xlabel("batch size $B$")
    ax_rate.set_ylabel("rate per layer (layers 2..L)")
    ax_rate.set_title("Predicted (lines, Yang et al. 2019) vs measured (dots)")
    ax_rate.legend(fontsize=9)

    # (c) trainability
    ax = axes[1, 1]
    train_numbers = {}
    for k, kind in enumerate(("plain", "residual")):
        runs = [train_digits(kind, t_depth, t_width, t_steps, s, lr) for s in t_seeds]
        acc = [r["accuracy"] for r in runs]
        train_numbers[kind] = acc
        curve = np.full((len(runs), t_steps), np.nan)
        for j, r in enumerate(runs):
            curve[j, : len(r["loss"])] = r["loss"]
        ax.plot(np.nanmean(curve, axis=0), color=PALETTE[k],
                label=f"{kind} BN ReLU: test accuracy {np.mean(acc):.2f}")  # fmt: skip
        numbers[f"test accuracy (mean of {len(runs)} seeds), {kind} BN depth {t_depth}"] = float(
            np.mean(acc)
        )
        numbers[f"test accuracy per seed, {kind}"] = acc
        ratios = [r["log10_ratio"] for r in runs]
        predicted_ratio = float(np.mean([r["predicted_log10_ratio"] for r in runs]))
        se = float(np.std(ratios, ddof=1) / np.sqrt(len(ratios))) if len(ratios) > 1 else 0.0
        numbers[f"log10 ||dL/dH_1|| / ||dL/dH_L|| at init, {kind}"] = float(np.mean(ratios))
        rows.append(
            {
                "quantity": f"log10 ||dL/dH_1|| / ||dL/dH_L|| at init, {kind} BN ReLU, "
                f"depth {t_depth}, digits, B = 64",
                "predicted": predicted_ratio,
                "measured": float(np.mean(ratios)),
                "agrees": _agree(predicted_ratio, float(np.mean(ratios)), se),
            }
        )
        arrays[f"train_loss_{kind}"] = curve
    if not quick:  # the plain net's failure is not a matter of the learning rate
        for other in (0.001, 0.1):
            r = train_digits("plain", t_depth, t_width, t_steps, seed, other)
            numbers[f"test accuracy, plain, lr {other} (seed {seed})"] = r["accuracy"]
    ax.axhline(np.log(10.0), color="grey", lw=1, ls=":")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy (train batch)")
    ax.set_title(f"(c) Digits, depth {t_depth}, width {t_width}, {len(t_seeds)} seeds")
    ax.legend(fontsize=9)

    plain_acc, res_acc = np.mean(train_numbers["plain"]), np.mean(train_numbers["residual"])
    failed = [r["quantity"] for r in rows if not r["agrees"]]
    summary = (
        f"With BN the saturated fraction of deep tanh units is "
        f"{numbers['saturated fraction (layers 3..L), tanh, BN']:.3f} against "
        f"{numbers['saturated fraction (layers 3..L), tanh, plain']:.3f} without. "
        f"{len(rows) - len(failed)} of {len(rows)} predicted-vs-measured rows agree"
        + (f" (not: {'; '.join(failed)})" if failed else "")
        + f". Depth {t_depth} on digits: plain BN test accuracy {plain_acc:.2f}, residual BN "
        f"{res_acc:.2f}."
    )
    settings = {
        "saturation": {"depth": sat_depth, "width": sat_width, "batch": sat_batch, "gain": 4.0},
        "growth": {"depth": depth, "width": width, "batches": list(batches), "seeds": seeds},
        "training": {
            "depth": t_depth,
            "width": t_width,
            "steps": t_steps,
            "seeds": t_seeds,
            "optimizer": "momentum 0.9",
            "lr": lr,
            "batch": 64,
        },
        "agreement": "|measured - predicted| <= 0.1 |predicted| + 3 stderr (seeds); "
        "saturation: within 0.05",
    }
    latex = (
        r"\frac{\partial L}{\partial z_{bj}} = \frac{\gamma_j}{\sqrt{\sigma_j^2+\epsilon}}"
        r"\Big(g_{bj} - \tfrac1B\sum_c g_{cj} - \hat z_{bj}\tfrac1B\sum_c g_{cj}\hat z_{cj}\Big),"
        r"\qquad \lambda_G = \frac{B}{B-3}\,\frac{\mathbb E_u \operatorname{tr}((G - uu^\top)"
        r" D G D)}{\mathbb E_u \|G\phi(\sqrt B u)\|^2},\qquad \mathrm{rate} = \tfrac12\ln\lambda_G"
    )
    return ClaimResult(
        fig,
        numbers,
        settings=settings,
        latex=latex,
        comparisons=rows,
        summary=summary,
        arrays=arrays,
    )
