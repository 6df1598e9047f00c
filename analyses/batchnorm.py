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

Disagreements: lambda_G is the infinite-width limit. At B = 256 the linear chain's predicted
rate ({{predicted rate, plain BN linear, B=256}}) is so small that an O(1/width) correction
exceeds 10 %: measured {{measured rate, plain BN linear, B=256}} at width 256, falling toward
the prediction as the width doubles ({{measured rate, plain BN linear, B=256, width 512}},
{{measured rate, plain BN linear, B=256, width 1024}}).
"""

import math

import numpy as np
from sklearn.datasets import load_digits

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import PALETTE, new_figure

#: activation -> |a| beyond which phi'(a) < 0.1 phi'(0)
SATURATION = {"tanh": 1.8184464592320668, "sigmoid": 3.6285488395157866}
#: saturated fractions: the measured one within 0.05 of the Gaussian tail
SATURATION_TOLERANCE = 0.05
#: growth rates: within 10 % of the prediction plus three standard errors over seeds
RELATIVE, AGREEMENT = 0.1, "|measured - predicted| <= 0.1 |predicted| + 3 stderr (seeds)"
#: the two kinds of deep networks
CELLS = {"plain": gt.cells.elman, "residual": gt.cells.residual}


def saturation(activation: str, depth: int, width: int, batch: int, seed: int) -> dict:
    """Per-layer pre-activation std and saturated fraction, plain vs BN (gain 4, raw pixels),
    and the fractions predicted: P(|a| > threshold) for a ~ N(0, q*) (plain) or N(0, 1) (BN)."""
    images = load_digits().data  # raw 0..16 pixels: unnormalised inputs
    x = images[np.random.default_rng([seed, 2]).choice(len(images), batch, replace=False)]
    threshold = SATURATION[activation]
    stds = {"plain": math.sqrt(gt.mean_field(activation, 16.0, 0.0).q_star), "BN": 1.0}
    out = {"predicted": {k: math.erfc(threshold / (s * math.sqrt(2.0))) for k, s in stds.items()}}
    for label, norm in (("plain", None), ("BN", "batch")):
        cell = gt.cells.elman(activation, norm=norm)
        traj = gt.Network(cell, 64, width, depth=depth, tied=False, gain=4.0, seed=seed).forward(x)
        # BN: the pre-activation is the normalised a; plain: the affine output itself
        a = np.array([env["a"] for env in traj.tape.envs]) if norm else traj.input_terms[0]
        saturated = (np.abs(a) > threshold).mean(axis=(1, 2))
        out[label] = {"std": a.std(axis=(1, 2)), "saturated": saturated}
    return out


def _log_norms(grads) -> np.ndarray:
    """ln ||dL/dH_l|| of the whole batch, per layer l (from the per-sequence log norms)."""
    return 0.5 * np.log(np.exp(2.0 * grads.adjoint_log_norms).sum(axis=1))


def growth(kind: str, activation: str, batch: int, width: int, depth: int, seeds) -> dict:
    """Measured and predicted per-layer rates of ln ||dL/dH_l|| (layers 2..L)."""
    measured, predicted, profiles, tails = [], [], [], []
    for s in seeds:
        cell = CELLS[kind](activation, norm="batch")
        net = gt.Network(cell, width, width, depth=depth, tied=False, seed=s)
        rng = np.random.default_rng([s, batch, 3])
        traj = net.forward(rng.normal(size=(batch, width)))
        total = _log_norms(net.backward(traj, grad_state=rng.normal(size=(batch, width))))
        rates = total[:-1] - total[1:]
        measured.append(float(np.mean(rates[1:])))
        tails.append(float(np.mean(rates[-(len(rates) // 3) :])))
        predicted.append(gt.predict(net, batch=batch, seed=s))
        profiles.append(total - total[-1])
    return {
        "measured": float(np.mean(measured)),
        "stderr": _stderr(measured),
        "predicted": float(np.mean([p.rate for p in predicted])),
        "method": predicted[0].method,
        "regime": predicted[0].regime,
        "per_layer": np.mean([p.per_layer for p in predicted], axis=0),  # nan at layer 1
        "seed_rates": measured,
        "seed_tail": tails,
        "profile": np.mean(profiles, axis=0),
    }


def train_digits(kind: str, depth: int, width: int, steps: int, seed: int, lr: float) -> dict:
    """``gt.train`` with momentum 0.9 on digits vectors (pixels / 16), batch 64; test accuracy
    in eval mode (running statistics). ``loss`` has one entry per step, NaN after a divergence
    (training stops cleanly there)."""
    task = gt.tasks.digits(depth=depth)
    cell = CELLS[kind]("relu", norm="batch")
    net = gt.Network(cell, 64, width, 10, depth=depth, tied=False, seed=seed)
    predicted = float(np.sum(gt.predict(net, batch=64, seed=seed).per_layer[1:]) / np.log(10.0))
    x, y, mask = task.sample(64, np.random.default_rng([seed, 4]))  # ||dL/dH_1|| / ||dL/dH_L||
    traj = net.forward(x)
    norms = _log_norms(net.backward(traj, task.loss_and_grad(traj.outputs, y, mask)[1]))
    history = gt.train(net, task, steps=steps, batch=64, optimizer="momentum", lr=lr, seed=seed,
                       progress=False)  # fmt: skip
    net.batchnorm.training = False
    x, y, mask = task.test_set()
    with np.errstate(all="ignore"):
        accuracy = task.score(net.forward(x).outputs, y, mask)
    losses = np.pad(history.loss, (0, steps - len(history.loss)), constant_values=np.nan)
    ratio = float((norms[1] - norms[-1]) / np.log(10.0))
    return dict(loss=losses, accuracy=accuracy, log10_ratio=ratio, predicted_log10_ratio=predicted)


def _row(quantity: str, predicted: float, per_seed: list[float]) -> Comparison:
    """The mean over seeds within 10 % of the prediction plus three standard errors."""
    measured = float(np.mean(per_seed))
    tolerance = RELATIVE * abs(predicted) + 3.0 * _stderr(per_seed)
    agrees = bool(abs(measured - predicted) <= tolerance)
    return Comparison(quantity, predicted, measured, tolerance, AGREEMENT, agrees)


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
    (ax_sat, ax_prof), (ax_rate, ax_train) = axes
    numbers, rows, arrays, sat_layers = {}, [], {}, np.arange(1, sat_depth + 1)

    # (a) saturation
    for k, act in enumerate(("sigmoid", "tanh")):
        out = saturation(act, sat_depth, sat_width, sat_batch, seed)
        for label, ls in (("plain", "-"), ("BN", "--")):
            frac, deep = out[label]["saturated"], float(out[label]["saturated"][2:].mean())
            ax_sat.plot(sat_layers, frac, ls, color=PALETTE[k], label=f"{act}, {label}")
            numbers[f"saturated fraction (layers 3..L), {act}, {label}"] = deep
            std = float(out[label]["std"][2:].mean())
            numbers[f"pre-activation std (layers 3..L), {act}, {label}"] = std
            arrays[f"saturated_{act}_{label}"] = frac
            quantity = f"saturated fraction, {act}, {label} (layers 3..L)"
            rows.append(Comparison(quantity, out["predicted"][label], deep, SATURATION_TOLERANCE))
    ylabel = r"fraction of units with $\phi'(a) < 0.1\,\phi'(0)$"
    ax_sat.set(xlabel="layer $l$", ylabel=ylabel, title="(a) Saturation, gain 4, raw pixel inputs")

    # (b) gradient growth
    configs = [("plain", a) for a in ("relu", "tanh", "linear")]
    configs += [("residual", a) for a in ("relu", "tanh")]
    show, tail, layers = batches[1], slice(depth - depth // 3, depth), np.arange(depth + 1)
    last, ln10 = f"last {depth // 3} layers", np.log(10.0)
    for k, (kind, act) in enumerate(configs):
        color, label = PALETTE[k + 2], f"{kind} {act}"
        runs = [growth(kind, act, batch, width, depth, seeds) for batch in batches]
        for batch, g in zip(batches, runs, strict=True):
            name = f"{kind} BN {act}, B={batch}"
            quantity = f"rate per layer of ln||dL/dH_l||, {name} ({g['method']})"
            rows.append(_row(quantity, g["predicted"], g["seed_rates"]))
            if kind == "residual":  # the last third of the layers: per-layer growth near 1
                measured = float(np.mean(g["seed_tail"]))
                predicted = float(np.mean(g["per_layer"][tail]))
                rows.append(_row(f"rate per layer, {last}, {name}", predicted, g["seed_tail"]))
                numbers[f"growth factor per layer, {last}, {name}"] = float(np.exp(measured))
            numbers[f"measured rate, {name}"] = g["measured"]
            numbers[f"predicted rate, {name}"] = g["predicted"]
            if batch == show:  # predicted: the per-layer rates summed from the top
                ax_prof.plot(layers, g["profile"] / ln10, color=color, label=label)
                summed = np.cumsum(np.nan_to_num(g["per_layer"])[::-1])[::-1]
                ax_prof.plot(layers, np.concatenate([summed, [0.0]]) / ln10, ":", color=color)
                arrays[f"profile_{kind}_{act}"] = g["profile"]
        values = {key: [g[key] for g in runs] for key in ("predicted", "measured", "stderr")}
        ax_rate.plot(batches, values["predicted"], "-", color=color, label=label)
        ax_rate.errorbar(batches, values["measured"], yerr=values["stderr"], fmt="o", color=color)
    ylabel = r"$\log_{10}\|\partial L/\partial H_l\| - \log_{10}\|\partial L/\partial H_L\|$"
    title = f"(b) Gradient norm back through depth (B = {show}, width {width})"
    ax_prof.set(xlabel="layer $l$", ylabel=ylabel, title=title)
    ax_rate.set_xscale("log", base=2)
    ax_rate.axhline(0.0, color="grey", lw=1, ls=":")
    title = "Predicted (lines, Yang et al. 2019) vs measured (dots)"
    ax_rate.set(xlabel="batch size $B$", ylabel="rate per layer (layers 2..L)", title=title)

    for wide in (2 * width, 4 * width):  # lambda_G is the infinite-width limit
        g = growth("plain", "linear", batches[-1], wide, depth, seeds)
        numbers[f"measured rate, plain BN linear, B={batches[-1]}, width {wide}"] = g["measured"]

    # (c) trainability
    ratio_name = "log10 ||dL/dH_1|| / ||dL/dH_L||"
    accuracy_name = f"test accuracy (mean of {len(t_seeds)} seeds), {{}} BN depth {t_depth}"
    for k, kind in enumerate(("plain", "residual")):
        runs = [train_digits(kind, t_depth, t_width, t_steps, s, lr) for s in t_seeds]
        acc, ratios = [r["accuracy"] for r in runs], [r["log10_ratio"] for r in runs]
        curve = arrays[f"train_loss_{kind}"] = np.array([r["loss"] for r in runs])
        label = f"{kind} BN ReLU: test accuracy {np.mean(acc):.2f}"
        ax_train.plot(np.nanmean(curve, axis=0), color=PALETTE[k], label=label)
        numbers[accuracy_name.format(kind)] = float(np.mean(acc))
        numbers[f"test accuracy per seed, {kind}"] = acc
        numbers[f"{ratio_name} at init, {kind}"] = float(np.mean(ratios))
        quantity = f"{ratio_name} at init, {kind} BN ReLU, depth {t_depth}, digits, B = 64"
        predicted = float(np.mean([r["predicted_log10_ratio"] for r in runs]))
        rows.append(_row(quantity, predicted, ratios))
    if not quick:  # the plain net's failure is not a matter of the learning rate
        for other in (0.001, 0.1):
            r = train_digits("plain", t_depth, t_width, t_steps, seed, other)
            numbers[f"test accuracy, plain, lr {other} (seed {seed})"] = r["accuracy"]
    ax_train.axhline(np.log(10.0), color="grey", lw=1, ls=":")
    title = f"(c) Digits, depth {t_depth}, width {t_width}, {len(t_seeds)} seeds"
    ax_train.set(xlabel="training step", ylabel="cross-entropy (train batch)", title=title)
    for ax in (ax_sat, ax_prof, ax_rate, ax_train):
        ax.legend(fontsize=9)

    training = dict(depth=t_depth, width=t_width, steps=t_steps, seeds=t_seeds,
                    optimizer="momentum 0.9", lr=lr, batch=64)  # fmt: skip
    settings = {
        "saturation": {"depth": sat_depth, "width": sat_width, "batch": sat_batch, "gain": 4.0},
        "growth": {"depth": depth, "width": width, "batches": list(batches), "seeds": seeds},
        "training": training,
        "agreement": f"{AGREEMENT}; saturation: within 0.05",
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
