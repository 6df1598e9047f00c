"""Gradients vanish inside basins of attraction and explode on their boundaries.

Claim: For an RNN with several attractors, ||dh_T/dh_0|| is tiny for initial states inside a
basin and large on the boundaries between basins.

Source: lecture notes 001 (after Hinton); Pascanu, Mikolov and Bengio 2013, Sec. 2.2.

Inside a basin of h -> tanh(W h + b) a small change of h_0 ends at the same attractor, so dh_T/dh_0,
a product of T contracting step Jacobians, vanishes; on a boundary between basins (the stable
manifold of a saddle) it moves the end point to another attractor and the gradient is large.
``gt.basins`` labels every initial state of a grid by the attractor it reaches (the stable fixed
points of ``gt.fixed_points``) and gives log10 ||dh_T/dh_0||_2 from the executor's step Jacobians.
"""

import numpy as np

import gradtheory as gt
from gradtheory.claims import ClaimResult, Comparison, claim
from gradtheory.figures import new_figure

W = [[1.8, -0.3], [0.3, 1.8]]  # a I + c R90: four equivalent attractors
B = [0.0, 0.0]


@claim(ci=True)
def run(quick: bool = False, seed: int = 0) -> ClaimResult:
    n, steps = (121, 30) if quick else (401, 30)
    inside_cells = 4 if quick else 12  # "inside": this many grid cells from any boundary
    # the autonomous two-unit tanh RNN h -> tanh(W h + b)
    net = gt.Network(gt.cells.elman("tanh"), 1, 2, params={"W": W, "U": [[0.0], [0.0]], "b": B})
    fps = gt.fixed_points(net, progress=False, seed=seed)
    attractors, saddles = fps.points[fps.stable], fps.points[[k == "saddle" for k in fps.kind]]
    grid = np.linspace(-1.5, 1.5, n)
    m = gt.basins(net, grid, grid, steps=steps, attractors=attractors)
    log_grad, edge, inside = m.log10_gradient, m.boundary, m.boundary_distance > inside_cells
    med_edge, med_in = float(np.median(log_grad[edge])), float(np.median(log_grad[inside]))
    end_distance = float(np.linalg.norm(m.final[..., None, :] - attractors, axis=-1).min(-1).max())

    fig, axes = new_figure(1, 3, width=16.5, height=5.4, width_ratios=[1, 1.2, 0.85])
    lo, hi = np.percentile(log_grad, [1, 99.8])
    m.plot(axes=axes, inside=inside_cells, saddles=saddles, cmap="magma", vmin=lo, vmax=hi)
    fig.suptitle(rf"$h_t = \tanh(W h_{{t-1}} + b)$, $W$ = {W}, $b$ = {tuple(B)}", fontsize=13)

    rows = [Comparison("median log10 ||dh_T/dh_0||: boundary cells minus inside basins (decades)",
                       3.0, med_edge - med_in, rule="at least"),
            Comparison("saddles found (fixed_points) vs attractors - 1 (planar basins)",
                       len(attractors) - 1, len(saddles), rule="at least")]  # fmt: skip
    numbers = {"attractors": attractors.tolist(), "saddles": saddles.tolist(),
               "median log10 gradient on boundaries": med_edge,
               "median log10 gradient inside basins": med_in,
               "boundary / inside ratio (median)": float(10 ** (med_edge - med_in)),
               "fraction of boundary cells": float(edge.mean()),
               "max distance of h_T from its attractor": end_distance}  # fmt: skip
    settings = {"W": W, "b": B, "T": steps, "grid": [-1.5, 1.5, n], "inside_cells": inside_cells}
    latex = r"\frac{\partial h_T}{\partial h_0} = \prod_{t=T}^{1} \mathrm{diag}(1 - h_t^2)\,W"
    arrays = {"grid": grid, "label": m.labels, "log_grad": log_grad}
    headline = ["median log10 gradient on boundaries", "median log10 gradient inside basins"]
    return ClaimResult(fig, numbers, rows, settings, latex, headline, arrays)
