"""Single-unit RNN: saddle-node bifurcations, hysteresis and exploding dh_T/db.

Claim: The map h -> tanh(w h + b) with w = 5 is bistable for |b| < b_c = 3.03; sweeping b shows
hysteresis, and the gradient dh_T/db explodes at the saddle-node bifurcations, w (1 - h^2) = 1.

Source: Pascanu, Mikolov and Bengio 2013, Sec. 2.2.

For |b| < b_c the unit has two stable fixed points and an unstable one between them; at |b| = b_c a
stable one and the unstable one collide (saddle-node) where the map's slope is one, w (1 - h^2) = 1:
h* = +-sqrt(1 - 1/w), b_c = w sqrt(1 - 1/w) - artanh(sqrt(1 - 1/w)). Sweeping b slowly up and then
down (``gt.bifurcation``, each b held for ``hold`` steps), the state follows one branch until it
disappears and jumps to the other. On a branch dh*/db = (1 - h*^2) / (1 - w (1 - h*^2)) diverges at
the bifurcation; the BPTT gradient dh_T/db of the network run for T steps at fixed b peaks there.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import PALETTE, new_figure

W = 5.0
#: the one-unit tanh RNN's weights: the bias enters as the constant input x (U = 1, b = 0)
PARAMS = {"W": [[W]], "U": [[1.0]], "b": [0.0]}


def gradient_at(net: gt.Network, biases: np.ndarray, steps: int, h0: float) -> np.ndarray:
    """BPTT dh_T/db for each bias (one sequence per bias, batched), from h_0 = ``h0``."""
    x = np.repeat(np.asarray(biases, float)[None, :, None], steps, axis=0)
    traj = net.forward(x, h0=np.full((x.shape[1], 1), h0))
    return net.backward(traj, grad_state=np.ones((x.shape[1], 1))).inputs.sum(axis=0)[:, 0]


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    net, root = gt.Network(gt.cells.elman("tanh"), 1, 1, params=PARAMS), np.sqrt(1 - 1 / W)
    b_c = float(W * root - np.arctanh(root))
    n_b, hold, steps = (401, 60, 60) if quick else (2001, 200, 100)
    grid = np.linspace(-5, 5, n_b)
    # up from h = -1, then down continuing from the up sweep's end (h = +1 at b = 5); each b is
    # held for hold = transient + keep steps
    bif = gt.bifurcation(net, "x", grid, h0=[-1.0], transient=hold - 4, keep=4, progress=False)
    up, down = bif.up.final[:, 0], bif.down.final[::-1, 0]
    jump_up, jump_down = float(grid[np.argmax(up > 0)]), float(grid[np.flatnonzero(down < 0)[-1]])
    lower = next(b for b in bif.branches if b.stable.all() and b.points[0, 0] < 0)
    fine = np.linspace(-5, 5, 4 * n_b)
    grad_lower, grad_upper = (gradient_at(net, fine, steps, h0) for h0 in (-1.0, 1.0))
    h_low = lower.points[:, 0]
    sens = (1 - h_low**2) / (1 - W * (1 - h_low**2))

    fig, (ax0, ax1) = new_figure(2, 1, width=8.5, height=8.0, sharex=True)
    bif.plot(ax0, final=True, multistable=True)  # the bias is the input x
    ax0.plot([b_c, -b_c], [-root, root], "o", color="black", ms=9, mfc="white", mew=2)
    ax0.set(xlabel="", ylabel=r"state $h$", ylim=(-1.15, 1.15), xlim=(-5.2, 5.2),
            title=rf"$h \mapsto \tanh({W:g}\,h + b)$: saddle-nodes at $b = \pm${b_c:.3f} "
                  r"($w(1-h^2)=1$, circles)")  # fmt: skip
    ax0.legend(loc="lower left", bbox_to_anchor=(0.24, 0.12), fontsize=9.5, framealpha=0.95)
    for h0, grad, color in ((-1, grad_lower, PALETTE[0]), (1, grad_upper, PALETTE[4])):
        ax1.semilogy(fine, np.abs(grad), color=color, label=rf"BPTT, $h_0={h0:+d}$, $T$ = {steps}")
    label = r"lower branch $dh^*/db=\frac{1-h^{*2}}{1-w(1-h^{*2})}$"
    ax1.semilogy(lower.values, np.abs(sens), ":", color="black", lw=2, label=label)
    for ax in (ax0, ax1):
        ax.vlines([-b_c, b_c], 0, 1, transform=ax.get_xaxis_transform(), colors="grey", ls=":")
    ax1.set(xlabel="bias $b$", ylabel=r"$|\partial h_T/\partial b|$", ylim=(1e-9, None))
    ax1.legend(loc="upper center", fontsize=9.5)

    # u - w tanh(u) = b: three roots inside the window |b| < b_c, one outside
    found = {b: gt.fixed_points(net, x=np.array([b]), progress=False) for b in (0.0, 2.0, 4.0)}
    step = grid[1] - grid[0]
    rows = [*(Comparison(f"number of fixed points at b = {b:g} (analytic vs fixed_points)",
                         3 if abs(b) < b_c else 2 if abs(b) == b_c else 1, len(fp), rule="equal")
              for b, fp in found.items()),
            Comparison("up-sweep jump location vs saddle-node b_c (two grid steps)", b_c, jump_up,
                       2 * step),
            Comparison("down-sweep jump location vs -b_c (two grid steps)", -b_c, jump_down,
                       2 * step)]  # fmt: skip
    peak = int(np.argmax(np.abs(grad_lower)))
    far = np.abs(fine + 1.0) < 0.25  # deep in the bistable window on the lower branch, b ~ -1
    median_far, at0 = float(np.median(abs(grad_lower[far]))), found[0.0]
    numbers = {"b_c (analytic)": b_c, "h at saddle-node": float(root),
               "up-sweep jump at b": jump_up, "down-sweep jump at b": jump_down,
               "hysteresis width": jump_up - jump_down,
               "peak |dh_T/db| (from h_0 = -1)": float(np.abs(grad_lower[peak])),
               "b at peak": float(fine[peak]),
               "median |dh_T/db| on the lower branch near b = -1": median_far,
               "stable fixed points at b = 0": at0.points[at0.stable, 0].tolist()}  # fmt: skip
    settings = {"w": W, "grid": [-5, 5, n_b], "hold": hold, "T": steps}
    latex = (r"h^* = \tanh(w h^* + b),\quad \frac{dh^*}{db} = \frac{1-h^{*2}}{1 - w(1-h^{*2})},"
             r"\quad w(1-h^{*2}) = 1 \Rightarrow b_c = w\sqrt{1-1/w} - \operatorname{artanh}"
             r"\sqrt{1-1/w}")  # fmt: skip
    arrays = dict(b=grid, up=up, down=down, b_fine=fine, grad_lower=grad_lower,
                  grad_upper=grad_upper)  # fmt: skip
    headline = ["b_c (analytic)", "hysteresis width", "peak |dh_T/db| (from h_0 = -1)",
                "median |dh_T/db| on the lower branch near b = -1"]  # fmt: skip
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
