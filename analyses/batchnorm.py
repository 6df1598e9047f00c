r"""Batch normalisation: out of saturation, but gradients explode in plain deep nets.

Claim: Batch normalisation keeps sigmoid and tanh units out of saturation, but in a plain deep
network it makes the gradient grow by a fixed factor per layer back at initialisation
(0.5 ln lambda_G, pi/(pi-1) for ReLU at large batch), so deep plain BN networks do not train;
residual BN networks grow only polynomially and train.

Source: lecture notes (batch normalisation helps sigmoid units out of saturation); Yang,
Pennington, Rao, Sohl-Dickstein and Schoenholz 2019 (mean-field theory of BN); Balduzzi et al.
2017, De and Smith 2020 (skip connections).

(a) Saturation (phi'(a) < 0.1 phi'(0)) of plain sigmoid and tanh chains with gain 4 on raw
pixels (0..16), with and without BN, against the Gaussian tail of a ~ N(0, q*) (mean field) and
a ~ N(0, 1) (BN). (b) The per-layer growth of ||dL/dH_l|| (whole batch) in plain BN chains
(ReLU, tanh, linear; B = 8..256) against ``gt.predict(net, batch=B)`` (0.5 ln lambda_G), and in
residual BN chains, whose growth decays like lambda_G / (2 (l - 1)). (c) Plain and residual
ReLU BN chains of depth 50 trained on digits vectors (momentum SGD, 5 seeds).
Run: ``python analyses/batchnorm.py [--quick]``.
"""

import math
import sys

import numpy as np
from sklearn.datasets import load_digits

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim, main
from gradtheory.figures import PALETTE, new_figure
from gradtheory.numeric.optim import make_optimizer  # no public optimizer object

#: activation -> |a| beyond which phi'(a) < 0.1 phi'(0)
SATURATION = {"tanh": 1.8184464592320668, "sigmoid": 3.6285488395157866}
#: saturated fractions: the measured one within 0.05 of the Gaussian tail
SATURATION_TOLERANCE = 0.05
#: growth rates: within 10 % of the prediction plus three standard errors over seeds
RELATIVE = 0.1


def _normal_tail(threshold: float, std: float) -> float:
    """P(|a| > threshold) for a ~ N(0, std^2)."""
    return math.erfc(threshold / (std * math.sqrt(2.0)))


def saturation(activation: str, depth: int, width: int, batch: int, seed: int) -> dict:
    """Per-layer pre-activation std and saturated fraction, plain vs BN (gain 4, raw pixels)."""
    images = load_digits().data  # raw 0..16 pixels: unnormalised inputs
    x = images[np.random.default_rng([seed, 2]).choice(len(images), batch, replace=False)]
    threshold, out = SATURATION[activation], {}
    for label, norm in (("plain", None), ("BN", "batch")):
        cell = gt.cells.elman(activation, norm=norm)
        net = gt.Network(cell, 64, width, depth=depth, tied=False, gain=4.0, seed=seed)
        traj = net.forward(x)
        # BN: the pre-activation is the normalised a; plain: the affine output itself
        a = np.array([env["a"] for env in traj.tape.envs]) if norm else traj.input_terms[0]
        out[label] = {
            "std": a.std(axis=(1, 2)),
            "saturated": (np.abs(a) > threshold).mean(axis=(1, 2)),
        }
    q_star = gt.mean_field(activation, 16.0, 0.0).q_star
    out["predicted"] = {
        "plain": _normal_tail(threshold, math.sqrt(q_star)),
        "BN": _normal_tail(threshold, 1.0),
    }
    return out


def growth(kind: str, activation: str, batch: int, width: int, depth: int, seeds) -> dict:
    """Measured and predicted per-layer rates of ln ||dL/dH_l|| (layers 2..L)."""
    factory = gt.cells.elman if kind == "plain" else gt.cells.residual
    measured, predicted, profiles, per_layer = [], [], [], []
    for s in seeds:
        net = gt.Network(
            factory(activation, norm="batch"), width, width, depth=depth, tied=False, seed=s
        )
        rng = np.random.default_rng([s, batch, 3])
        traj = net.forward(rng.normal(size=(batch, width)))
        grads = net.backward(traj, grad_state=rng.normal(size=(batch, width)))
        total = 0.5 * np.log(np.exp(2.0 * grads.adjoint_log_norms).sum(axis=1))
        rates = total[:-1] - total[1:]
        measured.append(float(np.mean(rates[1:])))
        per_layer.append(rates)
        predicted.append(gt.predict(net, batch=batch, seed=s))
        profiles.append(total - total[-1])
    rates = np.array(measured)
    return {
        "measured": float(rates.mean()),
        "stderr": _stderr(rates),
        "predicted": float(np.mean([p.rate for p in predicted])),
        "method": predicted[0].method,
        "regime": predicted[0].regime,
        "per_layer": np.mean([p.per_layer for p in predicted], axis=0),  # nan at layer 1
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


def _vectors(batch) -> tuple[np.ndarray, np.ndarray]:
    """A digits batch (x (64, B, 1) pixel sequences) as B 64-vectors and B labels."""
    x, y, _ = batch
    return x[:, :, 0].T, y[-1].argmax(axis=-1)


def train_digits(kind: str, depth: int, width: int, steps: int, seed: int, lr: float) -> dict:
    """SGD with momentum 0.9 on digits vectors (pixels / 16), batch 64; test accuracy in eval
    mode (running statistics). Stops cleanly if the loss stops being finite."""
    task = gt.tasks.digits()
    factory = gt.cells.elman if kind == "plain" else gt.cells.residual
    net = gt.Network(
        factory("relu", norm="batch"), 64, width, 10, depth=depth, tied=False, seed=seed
    )
    predicted = float(np.sum(gt.predict(net, batch=64, seed=seed).per_layer[1:]) / np.log(10.0))
    opt = make_optimizer("momentum", lr, beta=0.9)
    rng = np.random.default_rng([seed, 4])
    losses, first_ratio = [], float("nan")
    for step in range(steps):
        images, labels = _vectors(task.sample(64, rng))
        traj = net.forward(images)
        loss, grad = _softmax_grad(traj.outputs[-1], labels)
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
    images, labels = _vectors(task.test_set())
    with np.errstate(all="ignore"):
        logits = net.forward(images).outputs[-1]
    return {
        "loss": np.array(losses),
        "accuracy": float(np.mean(np.argmax(logits, axis=1) == labels)),
        "log10_ratio": first_ratio,
        "predicted_log10_ratio": predicted,
    }


def _row(quantity: str, predicted: float, measured: float, stderr: float) -> Comparison:
    """Agreement within 10 % of the prediction plus three standard errors over seeds."""
    tolerance = RELATIVE * abs(predicted) + 3.0 * stderr
    rule = "|measured - predicted| <= 0.1 |predicted| + 3 stderr (seeds)"
    agrees = bool(abs(measured - predicted) <= tolerance)
    return Comparison(quantity, predicted, measured, tolerance, rule, agrees)


def _stderr(values) -> float:
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


@claim()
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
        for label, style in (("plain", "-"), ("BN", "--")):
            frac = out[label]["saturated"]
            ax.plot(
                np.arange(1, sat_depth + 1), frac, style, color=PALETTE[k], label=f"{act}, {label}"
            )
            deep = float(frac[2:].mean())
            numbers[f"saturated fraction (layers 3..L), {act}, {label}"] = deep
            numbers[f"pre-activation std (layers 3..L), {act}, {label}"] = float(
                out[label]["std"][2:].mean()
            )
            arrays[f"saturated_{act}_{label}"] = frac
            quantity = f"saturated fraction, {act}, {label} (layers 3..L)"
            rows.append(Comparison(quantity, out["predicted"][label], deep, SATURATION_TOLERANCE))
    ax.set(xlabel="layer $l$", ylabel=r"fraction of units with $\phi'(a) < 0.1\,\phi'(0)$",
           title="(a) Saturation, gain 4, raw pixel inputs")  # fmt: skip
    ax.legend(fontsize=9)

    # (b) gradient growth
    ax_prof, ax_rate = axes[0, 1], axes[1, 0]
    configs = [("plain", a) for a in ("relu", "tanh", "linear")]
    configs += [("residual", a) for a in ("relu", "tanh")]
    show, tail = batches[1], slice(depth - depth // 3, depth)
    for k, (kind, act) in enumerate(configs):
        color = PALETTE[k + 2]
        pred_line, meas, errs = [], [], []
        for batch in batches:
            g = growth(kind, act, batch, width, depth, seeds)
            pred_line.append(g["predicted"])
            meas.append(g["measured"])
            errs.append(g["stderr"])
            name = f"{kind} BN {act}, B={batch}"
            quantity = f"rate per layer of ln||dL/dH_l||, {name} ({g['method']})"
            rows.append(_row(quantity, g["predicted"], g["measured"], g["stderr"]))
            if kind == "residual":  # the last third of the layers: per-layer growth near 1
                meas_tail = float(np.mean(g["seed_tail"]))
                pred_tail, se_tail = float(np.mean(g["per_layer"][tail])), _stderr(g["seed_tail"])
                quantity = f"rate per layer, last {depth // 3} layers, {name}"
                rows.append(_row(quantity, pred_tail, meas_tail, se_tail))
                numbers[f"growth factor per layer, last {depth // 3} layers, {name}"] = float(
                    np.exp(meas_tail)
                )
            numbers[f"measured rate, {name}"] = g["measured"]
            numbers[f"predicted rate, {name}"] = g["predicted"]
            if batch == show:
                layers = np.arange(depth + 1)
                ax_prof.plot(
                    layers, g["profile"] / np.log(10.0), color=color, label=f"{kind} {act}"
                )
                predicted_profile = np.concatenate(
                    [np.cumsum(np.nan_to_num(g["per_layer"])[::-1])[::-1], [0.0]]
                )
                ax_prof.plot(layers, predicted_profile / np.log(10.0), ":", color=color)
                arrays[f"profile_{kind}_{act}"] = g["profile"]
        ax_rate.plot(batches, pred_line, "-", color=color, label=f"{kind} {act}")
        ax_rate.errorbar(batches, meas, yerr=errs, fmt="o", color=color)
    ax_prof.set(
        xlabel="layer $l$",
        ylabel=r"$\log_{10}\|\partial L/\partial H_l\| - "
        r"\log_{10}\|\partial L/\partial H_L\|$",
    )
    ax_prof.set_title(f"(b) Gradient norm back through depth (B = {show}, width {width})")
    ax_prof.legend(fontsize=9)
    ax_rate.set_xscale("log", base=2)
    ax_rate.axhline(0.0, color="grey", lw=1, ls=":")
    ax_rate.set(xlabel="batch size $B$", ylabel="rate per layer (layers 2..L)",
                title="Predicted (lines, Yang et al. 2019) vs measured (dots)")  # fmt: skip
    ax_rate.legend(fontsize=9)

    # (c) trainability
    ax, ratio_name = axes[1, 1], "log10 ||dL/dH_1|| / ||dL/dH_L||"
    accuracy_name = f"test accuracy (mean of {len(t_seeds)} seeds), {{}} BN depth {t_depth}"
    for k, kind in enumerate(("plain", "residual")):
        runs = [train_digits(kind, t_depth, t_width, t_steps, s, lr) for s in t_seeds]
        acc = [r["accuracy"] for r in runs]
        curve = np.full((len(runs), t_steps), np.nan)
        for j, r in enumerate(runs):
            curve[j, : len(r["loss"])] = r["loss"]
        label = f"{kind} BN ReLU: test accuracy {np.mean(acc):.2f}"
        ax.plot(np.nanmean(curve, axis=0), color=PALETTE[k], label=label)
        numbers[accuracy_name.format(kind)] = float(np.mean(acc))
        numbers[f"test accuracy per seed, {kind}"] = acc
        ratios = [r["log10_ratio"] for r in runs]
        numbers[f"{ratio_name} at init, {kind}"] = float(np.mean(ratios))
        quantity = f"{ratio_name} at init, {kind} BN ReLU, depth {t_depth}, digits, B = 64"
        predicted = float(np.mean([r["predicted_log10_ratio"] for r in runs]))
        rows.append(_row(quantity, predicted, float(np.mean(ratios)), _stderr(ratios)))
        arrays[f"train_loss_{kind}"] = curve
    if not quick:  # the plain net's failure is not a matter of the learning rate
        for other in (0.001, 0.1):
            r = train_digits("plain", t_depth, t_width, t_steps, seed, other)
            numbers[f"test accuracy, plain, lr {other} (seed {seed})"] = r["accuracy"]
    ax.axhline(np.log(10.0), color="grey", lw=1, ls=":")
    ax.set(xlabel="training step", ylabel="cross-entropy (train batch)",
           title=f"(c) Digits, depth {t_depth}, width {t_width}, {len(t_seeds)} seeds")  # fmt: skip
    ax.legend(fontsize=9)

    training = dict(depth=t_depth, width=t_width, steps=t_steps, seeds=t_seeds,
                    optimizer="momentum 0.9", lr=lr, batch=64)  # fmt: skip
    settings = {
        "saturation": {"depth": sat_depth, "width": sat_width, "batch": sat_batch, "gain": 4.0},
        "growth": {"depth": depth, "width": width, "batches": list(batches), "seeds": seeds},
        "training": training,
        "agreement": "|measured - predicted| <= 0.1 |predicted| + 3 stderr (seeds); "
        "saturation: within 0.05",
    }
    latex = (
        r"\frac{\partial L}{\partial z_{bj}} = \frac{\gamma_j}{\sqrt{\sigma_j^2+\epsilon}}"
        r"\Big(g_{bj} - \tfrac1B\sum_c g_{cj} - \hat z_{bj}\tfrac1B\sum_c g_{cj}\hat z_{cj}\Big),"
        r"\qquad \lambda_G = \frac{B}{B-3}\,\frac{\mathbb E_u \operatorname{tr}((G - uu^\top)"
        r" D G D)}{\mathbb E_u \|G\phi(\sqrt B u)\|^2},\qquad \mathrm{rate} = \tfrac12\ln\lambda_G"
    )
    headline = [f"saturated fraction (layers 3..L), tanh, {label}" for label in ("BN", "plain")]
    headline += [accuracy_name.format(kind) for kind in ("plain", "residual")]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)


if __name__ == "__main__":
    sys.exit(main(__file__))
