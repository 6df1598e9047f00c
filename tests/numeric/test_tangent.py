"""The one tangent-growth computation (numeric/tangent.py) against explicit Jacobian products.

Facts checked (Benettin et al. 1980; issue 13 item 4, one function per theory quantity):
pushing one vector v through the step Jacobians and renormalising every step, the summed log
growths are ln ||J_T ... J_1 v|| of the explicit product; with a full frame (k = n) they sum
to ln |det(J_T ... J_1)| = sum_t ln |det J_t| (slogdet). The products are short (T = 6), so
forming them is exact to rounding: tolerance 1e-10 relative (float64, a handful of flops).
"""

from __future__ import annotations

import numpy as np

import gradtheory as gt
from gradtheory.analysis.jacobians import jacobians
from gradtheory.numeric.tangent import renormalise, tangent_log_growth


def _chain(cell, n_hidden=3):
    net = gt.Network(cell, n_in=2, n_hidden=n_hidden, gain=1.4, sigma_b2=0.1, seed=3)
    x = np.random.default_rng(1).normal(size=(6, 2, 2))
    return net, net.forward(x, np.random.default_rng(2).normal(size=(2, net.n_state)))


def test_one_vector_matches_the_explicit_product():
    """sum_t ln growth_t = ln ||J_T...J_1 v|| for a unit v, for an Elman and an LSTM cell."""
    for cell in (gt.cells.elman("tanh"), gt.cells.lstm()):
        net, traj = _chain(cell)
        v = np.random.default_rng(4).normal(size=(2, net.n_state, 1))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        _, logs = tangent_log_growth(net, traj, v.copy())
        product = v
        for jac in jacobians(net, traj):
            product = jac @ product
        expected = np.log(np.linalg.norm(product[:, :, 0], axis=1))
        np.testing.assert_allclose(logs[:, :, 0].sum(axis=0), expected, rtol=1e-10)


def test_full_frame_sums_to_the_log_determinant():
    """k = n: sum_t sum_i ln|R_ii| = sum_t ln|det J_t| (slogdet of every step Jacobian)."""
    net, traj = _chain(gt.cells.gru())
    frame = np.broadcast_to(np.eye(net.n_state), (2, net.n_state, net.n_state)).copy()
    _, logs = tangent_log_growth(net, traj, frame)
    expected = np.linalg.slogdet(jacobians(net, traj))[1].sum(axis=0)
    np.testing.assert_allclose(logs.sum(axis=(0, 2)), expected, rtol=1e-10)


def test_renormalise_returns_an_orthonormal_frame_and_keeps_zero_vectors():
    """Q has orthonormal columns and Q R = frame; a zero vector gives -inf and stays zero."""
    frame = np.random.default_rng(5).normal(size=(3, 4, 2))
    q, logs = renormalise(frame)
    np.testing.assert_allclose(
        q.transpose(0, 2, 1) @ q, np.broadcast_to(np.eye(2), (3, 2, 2)), atol=1e-14
    )
    np.testing.assert_allclose(
        np.abs(np.linalg.det(frame.transpose(0, 2, 1) @ frame)) ** 0.5,
        np.exp(logs.sum(axis=1)),
        rtol=1e-12,
    )
    q, logs = renormalise(np.zeros((1, 3, 1)))
    assert logs[0, 0] == -np.inf and not q.any()
