"""Cliffs in the loss along the hidden bias; clipping keeps descent stable.

Claim: For a recurrent unit with a large weight, the loss as a function of the hidden bias has a
cliff where the dynamics bifurcate; unclipped gradient descent that hits it jumps far away,
clipped descent stays.

Source: lecture notes 001 (cliffs); Pascanu, Mikolov and Bengio 2013, Fig. 6.

h_t = tanh(w h_{t-1} + b) with w = 5 is bistable for |b| < b_c = w sqrt(1 - 1/w) -
artanh(sqrt(1 - 1/w)) (saddle-node where w(1 - h^2) = 1). From the lower branch (h_0 = -1) h_T
stays low until b passes b_c, then jumps up within a narrow window of b: L(b) = (h_T - y)^2 / 2
has a plateau, a minimum at the edge and a wall where |dL/db| is orders of magnitude larger.
Plain gradient descent that reaches the wall is thrown far away; the same descent with the
gradient clipped by norm takes bounded steps and stays at the edge.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import PALETTE, new_mosaic

W, T, H0, TARGET = 5.0, 10, -1.0, -0.85


def unit(u: float, b: float) -> gt.Network:
    return gt.Network(gt.cells.elman("tanh"), 1, 1, params={"W": [[W]], "U": [[u]], "b": [b]})


def run_and_backprop(net: gt.Network, x: np.ndarray):
    """(loss (B,), Gradients) of L = (h_T - y)^2 / 2 for sequences ``x`` (T, B, 1) from h_0 = H0."""
    traj = net.forward(x, h0=np.full((x.shape[1], 1), H0))
    error = traj.states[-1] - TARGET  # dL/dh_T, (B, 1)
    return 0.5 * error[:, 0] ** 2, net.backward(traj, grad_state=error)


def loss_curve(bias):
    """L(b) and dL/db on a grid of biases in one batched BPTT pass: the bias is fed as a
    constant input (U = 1, b = 0), so every grid point is one sequence and dL/db = sum_t dL/dx_t."""
    bias = np.asarray(bias, float).ravel()
    loss, grads = run_and_backprop(unit(1.0, 0.0), np.repeat(bias[None, :, None], T, axis=0))
    return loss, grads.inputs.sum(axis=0)[:, 0]


def descend(b0: float, lr: float, iters: int, clip: float | None = None) -> dict:
    """Gradient descent on the bias alone with BPTT's gradient of the parameter, clipped by norm
    to at most ``clip`` (Pascanu et al. 2013, Alg. 1): ``b``, ``loss``, ``grad`` (unclipped),
    one entry per iterate."""
    net, history = unit(0.0, b0), []
    for _ in range(iters + 1):
        loss, grads = run_and_backprop(net, np.zeros((T, 1, 1)))
        g = float(grads.params["b"][0])
        history.append((float(net.params["b"][0]), float(loss[0]), g))
        step = g if clip is None or abs(g) <= clip else clip * np.sign(g)
        net.params["b"] = net.params["b"] - lr * step
    return dict(zip(("b", "loss", "grad"), np.array(history).T, strict=True))


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    lo, hi = 2.5, 3.35
    grid = np.linspace(lo, hi, 3000 if quick else 20000)
    loss, grad = loss_curve(grid)
    b0, lr, clip, iters = 2.6, 2.0, 0.02, 40
    plain, clipped = descend(b0, lr, iters), descend(b0, lr, iters, clip=clip)
    root = np.sqrt(1 - 1 / W)
    b_c = float(W * root - np.arctanh(root))  # the lower branch ends here (saddle-node)
    peak = int(np.argmax(np.abs(grad)))
    plateau = float(np.median(np.abs(grad[grid < b_c - 0.2])))

    fig, axes = new_mosaic("ac;bc", width=13.0, height=7.2, width_ratios=[1.6, 1])
    ax0, ax1, ax2 = axes["a"], axes["b"], axes["c"]
    ax1.sharex(ax0)
    ax0.plot(grid, loss, color="black", lw=1.8, label=r"$L(b) = \frac{1}{2}(h_T - y)^2$")
    ax1.semilogy(grid, np.abs(grad), color="black", lw=1.5, label=r"$|\partial L/\partial b|$")
    runs = ((plain, PALETTE[3], "o", 11, "plain GD"),
            (clipped, PALETTE[2], "s", 5, f"GD clipped at norm {clip}"))  # fmt: skip
    for r, color, marker, size, name in runs:
        inside = (r["b"] >= lo) & (r["b"] <= hi)
        style = {"color": color, "mfc": "none" if marker == "o" else color, "ms": size, "mew": 1.8}
        ax0.plot(r["b"][inside], r["loss"][inside], marker, **style, label=name)
        ax1.semilogy(r["b"][inside], np.abs(r["grad"][inside]) + 1e-300, marker, **style)
        ax2.semilogy(np.arange(1, iters + 1), abs(r["b"][1:] - b0), marker + "-", lw=1, **style,
                     label=name)  # fmt: skip
    away = np.flatnonzero((plain["b"] < lo) | (plain["b"] > hi))
    jump_at = int(away[0]) if away.size else -1
    if away.size:
        ax0.annotate(f"plain GD: step {jump_at} jumps to b = {plain['b'][jump_at]:.0f}",
                     xy=(lo, plain["loss"][jump_at]), xytext=(lo + 0.02, 0.35), color=PALETTE[3],
                     arrowprops={"arrowstyle": "->", "color": PALETTE[3]})  # fmt: skip
    for ax in (ax0, ax1):
        ax.axvline(b_c, color="grey", ls=":", lw=1.5)
    ax0.text(b_c - 0.01, 1.5, "saddle-node\n$b_c$", ha="right", color="dimgrey", fontsize=11)
    title = rf"one tanh unit, $w$ = {W:g}, $T$ = {T}, $h_0$ = {H0:g}, $y$ = {TARGET}"
    ax0.set(ylabel=r"loss $L$ at step $T$", title=title)
    ax1.set(xlabel="hidden bias $b$", ylabel=r"$|\partial L/\partial b|$")
    ax2.set(xlabel="gradient-descent step $k$", ylabel=r"distance travelled $|b_k - b_0|$",
            title=f"descent from $b_0$ = {b0}, lr = {lr}")  # fmt: skip
    for ax, where in ((ax0, "upper left"), (ax1, "upper left"), (ax2, "lower right")):
        ax.legend(loc=where, fontsize=10)

    # the batched input trick must agree with the parameter gradient at every finite iterate
    _, check_g = loss_curve(clipped["b"])
    consistent = bool(np.allclose(check_g, clipped["grad"], rtol=1e-9, atol=1e-12))
    numbers = {"saddle-node b_c": b_c, "cliff location (max |dL/db|)": float(grid[peak]),
               "max |dL/db|": float(np.abs(grad[peak])), "median |dL/db| on the plateau": plateau,
               "cliff / plateau gradient ratio": float(np.abs(grad[peak]) / plateau),
               "plain GD final b": float(plain["b"][-1]),
               "plain GD final loss": float(plain["loss"][-1]), "plain GD jump step": jump_at,
               "clipped GD final b": float(clipped["b"][-1]),
               "clipped GD final loss": float(clipped["loss"][-1]),
               "largest clipped GD step": float(np.max(np.abs(np.diff(clipped["b"]))))}  # fmt: skip
    rows = [Comparison("dL/db along clipped iterates: batched-input BPTT vs parameter BPTT",
                       float(clipped["grad"][-1]), float(check_g[-1]), 1e-9,
                       "every iterate: np.allclose(rtol=1e-9, atol=1e-12)", agrees=consistent),
            Comparison("cliff lies beyond the saddle-node b_c (finite T)", b_c, float(grid[peak]),
                       rule="at least")]  # fmt: skip
    settings = {"w": W, "T": T, "h0": H0, "target": TARGET, "b0": b0, "lr": lr, "clip": clip,
                "iters": iters, "grid": [lo, hi, grid.size]}  # fmt: skip
    latex = (r"\frac{\partial L}{\partial b} = (h_T - y)\sum_{k=1}^{T}\prod_{j=k+1}^{T}"
             r"w\,(1 - h_j^2)\,(1 - h_k^2)")  # fmt: skip
    arrays = {"b": grid, "loss": loss, "grad": grad, "plain_b": plain["b"],
              "clipped_b": clipped["b"]}  # fmt: skip
    headline = ["cliff / plateau gradient ratio", "plain GD final loss", "clipped GD final loss"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
