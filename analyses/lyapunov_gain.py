"""Random tanh RNNs become chaotic at gain 1; gradients follow the exponent.

Claim: The largest Lyapunov exponent of a random tanh RNN with W ~ N(0, g^2/N) is negative for g
< 1 and positive for g > 1, and backpropagated gradients grow at that rate per step.

Source: Sompolinsky, Crisanti and Sommers 1988; Molgedey et al. 1992; Pascanu et al. 2013.

An autonomous RNN h_t = tanh(W h_{t-1}), W_ij ~ N(0, g^2/N), has h = 0 as its only attractor
for g < 1 (largest exponent ln rho(W) -> ln g) and is chaotic for g > 1 (Molgedey, Schuchhardt
and Schuster 1992 for this discrete map). The largest exponent is also the growth rate per step
back of a generic BPTT adjoint: it says whether gradients vanish (< 0) or explode (> 0). Per
gain, averaged over random networks: ``gt.lyapunov`` (QR method), the mean-field exponent
``gt.rnn_mean_field(...).lyapunov`` and the BPTT slope of ln||dL/ds_t|| (``gt.verify``).
"""

import numpy as np

import gradtheory as gt
from gradtheory.analysis.mean_field import phase_diagram
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import PALETTE, new_figure


def measure(gain: float, width: int, seeds, lyap_steps: int, bptt_steps: int, warmup: int) -> dict:
    """Lyapunov, BPTT and ln rho(W) for random networks of one gain (mean and spread over seeds)."""
    values = {"lyapunov": [], "bptt": [], "ln_rho": []}
    for s in seeds:
        net = gt.Network(gt.cells.elman("tanh"), 1, width, init="gaussian", gain=gain, seed=s)
        lyap = gt.lyapunov(net, steps=lyap_steps, k=1, warmup=warmup, batch=2, seed=s,
                           progress=False)  # fmt: skip
        check = gt.verify(net, method="mean_field", steps=bptt_steps, batch=8, seed=s)
        values["lyapunov"].append(float(lyap[0]))
        values["bptt"].append(check.measured_rate)
        values["ln_rho"].append(float(np.log(np.max(np.abs(np.linalg.eigvals(net.params["W"]))))))
    out = {key: float(np.mean(v)) for key, v in values.items()}
    for key in ("lyapunov", "bptt"):
        v = values[key]
        out[f"{key}_sem"] = float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0
    return out


def zero_crossing(x: np.ndarray, y: np.ndarray) -> float:
    """First x where y turns from negative to non-negative (linear interpolation; nan if none)."""
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    if not up.size:
        return float("nan")
    i = up[0]
    return float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))


@claim()
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    if quick:
        gains = np.array([0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.6, 2.0])
        width, seeds, lyap_steps, bptt_steps, warmup = 100, [seed], 300, 200, 100
    else:
        parts = [np.arange(3, 9) / 10, np.arange(18, 26) / 20, np.arange(13, 26, 2) / 10]
        gains = np.round(np.concatenate(parts), 3)
        width, seeds = 200, [seed + k for k in range(4)]
        lyap_steps, bptt_steps, warmup = 2000, 400, 300
    results = [measure(float(g), width, seeds, lyap_steps, bptt_steps, warmup) for g in gains]
    per_gain = {key: np.array([r[key] for r in results]) for key in results[0]}
    lyap, bptt, sem = per_gain["lyapunov"], per_gain["bptt"], per_gain["lyapunov_sem"]
    theory = np.array([gt.rnn_mean_field("tanh", float(g)).lyapunov for g in gains])
    fine = np.linspace(gains.min(), gains.max(), 30 if quick else 80)
    # the smooth curve: 1/2 ln chi_1 at sigma_w2 = g^2, the same formula as rnn_mean_field
    theory_fine = 0.5 * np.log(phase_diagram("tanh", fine**2, [0.0])["chi1"][0])

    fig, ax = new_figure(width=8.0, height=5.0)
    ax.plot(fine, theory_fine, color=PALETTE[3], label="mean field (N → ∞)")
    near = gains <= 1.15  # beyond, h = 0 is unstable and its linearisation is irrelevant
    ax.plot(gains[near], per_gain["ln_rho"][near], ":", color="grey", lw=2,
            label=r"$\ln\rho(W)$ (linearisation at $h=0$)")  # fmt: skip
    ax.errorbar(gains, lyap, yerr=3 * sem, color=PALETTE[0], capsize=3, fmt="o-", lw=1.5,
                label=r"largest Lyapunov exponent $\lambda_1$ (QR)")  # fmt: skip
    label = r"BPTT: growth of $\ln\|\partial L/\partial h_t\|$"
    ax.errorbar(gains, bptt, yerr=3 * per_gain["bptt_sem"], color=PALETTE[1], capsize=3, fmt="s",
                mfc="none", ms=8, mew=1.8, label=label)  # fmt: skip
    ax.axhline(0, color="black", lw=1)
    ax.axvline(1.0, color="black", ls="--", lw=1.2)
    ax.text(1.02, 0.03, "g = 1", transform=ax.get_xaxis_transform(), va="bottom")
    ax.set(xlabel=r"gain $g$  ($W_{ij}\sim N(0, g^2/N)$)", ylabel="exponent per step (natural log)",
           title=f"random tanh RNNs, N = {width}, {len(seeds)} network(s) per gain",
           ylim=(max(-1.3, float(np.min(theory_fine)) - 0.1), None))  # fmt: skip
    ax.legend(loc="lower right", fontsize=10)

    atol = 0.02  # per step, as in verify
    tol_mf, tol_bptt = atol + 3 * sem, atol + 3 * np.hypot(sem, per_gain["bptt_sem"])
    rows = []
    for g, t, lam, b, t1, t2 in zip(gains, theory, lyap, bptt, tol_mf, tol_bptt, strict=True):
        rows += [Comparison(f"g = {g:g}: mean-field vs Lyapunov exponent", float(t), float(lam),
                            float(t1)),
                 Comparison(f"g = {g:g}: Lyapunov exponent vs BPTT adjoint growth", float(lam),
                            float(b), float(t2))]  # fmt: skip
    first_chaotic = float(gains[np.argmax(lyap > 0.01)] if np.any(lyap > 0.01) else np.nan)
    agree_mf, agree_bptt = (sum(r.agrees for r in rows[k::2]) for k in (0, 1))
    numbers = {"g where lambda_1 crosses 0": zero_crossing(gains, lyap),
               "g where BPTT growth crosses 0": zero_crossing(gains, bptt),
               "first g with lambda_1 > 0.01 (clearly chaotic)": first_chaotic,
               "max |lambda_1 - BPTT growth|": float(np.max(np.abs(lyap - bptt))),
               "max |lambda_1 - mean field|": float(np.max(np.abs(lyap - theory))),
               "gains where mean field agrees (0.02 + 3 s.e.)": agree_mf,
               "gains where BPTT agrees with lambda_1": agree_bptt}  # fmt: skip
    for g, lam in zip(gains, lyap, strict=True):
        numbers[f"lambda_1 at g = {g:g}"] = float(lam)
    settings = {"width": width, "seeds": list(seeds), "gains": gains.tolist(),
                "lyapunov_steps": lyap_steps, "bptt_steps": bptt_steps, "bias": 0.0}  # fmt: skip
    latex = (r"\lambda_1 = \lim_{T\to\infty}\frac{1}{T}\ln\Big\|\prod_{t=1}^{T}"
             r"\mathrm{diag}(1-h_t^2)\,W\,v\Big\|,\quad \lambda_1^{\mathrm{MF}} = \tfrac12\ln\big("
             r"g^2\,\mathbb{E}_z[\tanh'^2(\sqrt{q^*}z)]\big)")  # fmt: skip
    arrays = {"gains": gains, "lyapunov": lyap, "bptt": bptt, "mean_field": theory,
              "ln_rho": per_gain["ln_rho"]}  # fmt: skip
    headline = [*list(numbers)[:2], "max |lambda_1 - BPTT growth|", "max |lambda_1 - mean field|"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
