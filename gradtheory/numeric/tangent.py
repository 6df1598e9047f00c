"""Forward-mode products with the step Jacobian, assembled from the recorded partials.

``J_t V`` is propagated through the same program as the forward pass: an affine op maps the
tangent of its source by its weight, a kernel by ``diag(d out / d in)``. With ``V = I`` this
gives the full step Jacobian dS_t/dS_{t-1}; with a thin ``V`` (n_state, k) it gives the k
tangent vectors that Lyapunov spectra need at O(n^2 k) per step instead of O(n^3).
"""

from __future__ import annotations

import numpy as np

from .program import AffineOp

__all__ = ["jacobian_product", "step_jacobian"]


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
