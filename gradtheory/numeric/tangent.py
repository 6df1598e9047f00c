"""Forward-mode products with the step Jacobian, assembled from the recorded partials.

``J_t V`` is propagated through the same program as the forward pass: an affine op maps the
tangent of its source by its weight, a kernel by ``diag(d out / d in)``. With ``V = I`` this
gives the full step Jacobian dS_t/dS_{t-1}; with a thin ``V`` (n_state, k) it gives the k
tangent vectors that Lyapunov spectra need at O(n^2 k) per step instead of O(n^3).
"""

from __future__ import annotations

import numpy as np

from .program import AffineOp

__all__ = ["jacobian_product", "renormalise", "step_jacobian", "tangent_log_growth"]


def jacobian_product(net, entry: dict, tangent: np.ndarray) -> np.ndarray:
    """``J_t @ tangent`` for one recorded step.

    Parameters
    ----------
    net : Network
    entry : dict
        One element of ``Trajectory.tape`` (the step s_{t-1} -> s_t).
    tangent : ndarray, shape (B, n_state, k)

    Returns
    -------
    ndarray, shape (B, n_state, k)

    Examples
    --------
    >>> import numpy as np, gradtheory as gt
    >>> net = gt.Network(gt.cells.lstm(), n_in=1, n_hidden=2)
    >>> entry = net.forward(np.ones((3, 4, 1))).tape[1]
    >>> jacobian_product(net, entry, np.ones((4, 4, 1))).shape
    (4, 4, 1)
    """
    from .batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "jacobian_product")
    program, n = net.program, net.n_hidden
    params = net.layer_params(entry["layer"])
    tangents = dict(net.split_state(np.swapaxes(tangent, 1, 2)))  # blocks as (B, k, size)
    tangents = {k: np.swapaxes(v, 1, 2) for k, v in tangents.items()}  # (B, size, k)
    kernel_number = 0
    for op in program.ops:
        if isinstance(op, AffineOp):
            total = None
            for weight, source in op.terms:
                if source in tangents:
                    part = np.matmul(params[weight], tangents[source])
                    total = part if total is None else total + part
            if total is not None:
                for j, name in enumerate(op.outputs):
                    tangents[name] = total[:, j * n : (j + 1) * n]
        else:
            values = entry["partials"][kernel_number]
            kernel_number += 1
            pairs = list(zip(op.partials, values, strict=True)) + list(op.constants.items())
            for out in op.outputs:
                total = None
                for (o, inp), value in pairs:
                    if o != out or inp not in tangents:
                        continue
                    factor = np.asarray(value)
                    part = (
                        tangents[inp]
                        if factor.ndim == 0 and factor == 1.0
                        else (
                            factor[..., None] * tangents[inp]
                            if factor.ndim
                            else factor * tangents[inp]
                        )
                    )
                    total = part if total is None else total + part
                if total is not None:
                    tangents[out] = total
    batch, _, k = tangent.shape
    blocks = []
    for block, name in zip(program.state, program.next_state, strict=True):
        value = tangents.get(name)
        shape = (batch, net.block_sizes[block], k)
        blocks.append(
            np.zeros(shape, net.dtype) if value is None else np.broadcast_to(value, shape)
        )
    return np.concatenate(blocks, axis=1)


def step_jacobian(net, entry: dict) -> np.ndarray:
    """Full step Jacobian dS_t/dS_{t-1}, shape (B, n_state, n_state), for one recorded step.

    Examples
    --------
    >>> import numpy as np, gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("linear"), n_in=1, n_hidden=2,
    ...                  params={"W": [[0.5, 0.0], [0.0, 2.0]]})
    >>> step_jacobian(net, net.forward(np.ones((1, 1, 1))).tape[0])[0]
    array([[0.5, 0. ],
           [0. , 2. ]])
    """
    from .batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "step_jacobian")
    batch = entry["env"][net.program.state[0]].shape[0]
    eye = np.broadcast_to(np.eye(net.n_state, dtype=net.dtype), (batch, net.n_state, net.n_state))
    return jacobian_product(net, entry, eye)


def renormalise(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One re-orthonormalisation of tangent vectors and the log of their growth.

    The one place the package measures the growth of tangent vectors (Benettin et al. 1980):
    ``frame = Q R`` with Q orthonormal; ``ln|diag R|`` is the log growth of each direction since
    the last call. One vector (k = 1) is simply divided by its norm.

    Parameters
    ----------
    frame : ndarray, shape (B, n, k)

    Returns
    -------
    q : ndarray, shape (B, n, k)
        Orthonormal columns (a zero vector stays zero).
    log_growth : ndarray, shape (B, k)
        ``ln|R_ii|`` (``-inf`` for a vector that vanished).

    Examples
    --------
    >>> q, log_growth = renormalise(np.array([[[3.0], [4.0]]]))
    >>> q[0, :, 0], log_growth.round(4)
    (array([0.6, 0.8]), array([[1.6094]]))
    """
    if frame.shape[-1] == 1:
        norms = np.linalg.norm(frame, axis=-2)
        with np.errstate(divide="ignore"):
            log_growth = np.log(norms)
        return frame / np.where(norms > 0, norms, 1.0)[:, None, :], log_growth
    q, r = np.linalg.qr(frame)
    with np.errstate(divide="ignore"):
        return q, np.log(np.abs(np.diagonal(r, axis1=-2, axis2=-1)))


def tangent_log_growth(net, traj, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Push tangent vectors through the recorded step Jacobians, renormalising every step.

    The forward-tangent growth of the Jacobian product J_T ... J_1 along a trajectory: its
    mean over steps is the finite-time Lyapunov exponent (k = 1: the largest), which is the
    gradient growth rate that :func:`gradtheory.predict` (``jacobian`` route) and
    :func:`gradtheory.lyapunov` report.

    Parameters
    ----------
    net : Network
    traj : Trajectory
        From ``net.forward(x, record=True)``.
    frame : ndarray, shape (B, n_state, k)
        Orthonormal starting vectors.

    Returns
    -------
    frame : ndarray, shape (B, n_state, k)
        The vectors after the last step.
    log_growth : ndarray, shape (T, B, k)
        ``ln|R_ii|`` of every step (:func:`renormalise`).

    Examples
    --------
    >>> half = {"W": 0.5 * np.eye(2)}
    >>> net = gt.Network(gt.cells.elman("linear"), n_in=1, n_hidden=2, params=half)
    >>> traj = net.forward(np.zeros((3, 1, 1)))
    >>> np.exp(tangent_log_growth(net, traj, np.array([[[1.0], [0.0]]]))[1][:, 0, 0])
    array([0.5, 0.5, 0.5])
    """
    log_growth = np.empty((len(traj.tape), frame.shape[0], frame.shape[-1]))
    for t, entry in enumerate(traj.tape):
        frame, log_growth[t] = renormalise(jacobian_product(net, entry, frame))
    return frame, log_growth
