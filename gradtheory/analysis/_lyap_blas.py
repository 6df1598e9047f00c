"""Lyapunov spectra of large Elman-type networks at the matrix-product limit.

For a cell whose step is ``h' = phi(W h + (U x + b))`` (one affine map of the state, then an
element-wise kernel) the state and the k tangent vectors share the product with W: one
(n, n) @ (n, 1 + k) product per step gives the pre-activation and W Q together, and the
kernel's derivative scales the rows, J Q = diag(phi'(a)) W Q. The frame is re-orthonormalised
(:func:`gradtheory.numeric.tangent.renormalise`, Householder QR) every ``reortho`` steps:
between two QRs the columns only grow or shrink by their exponents, and ln|r_ii| of the
product of m steps is the sum of the m one-step values
(the QR of a product telescopes), so m > 1 changes the exponents only by the loss of
orthogonality in between, kept small by choosing m (see :func:`gradtheory.lyapunov`).
"""

from __future__ import annotations

import numpy as np

from ..numeric.program import AffineOp, KernelOp
from ..numeric.tangent import renormalise

__all__ = ["affine_pointwise_layout", "spectrum"]


def affine_pointwise_layout(net):
    """(weight, input terms, bias, kernel, partial index) of a one-affine-then-pointwise program.

    A layout check for this BLAS path (any pointwise kernel after one affine map on the state),
    not the "is this an Elman cell" test of the theory, which is
    :func:`gradtheory.symbolic.registry.elman_activation` alone.
    """
    program = net.program
    if not net.tied or len(program.state) != 1 or len(program.ops) != 2:
        return None
    affine, kernel = program.ops
    if not isinstance(affine, AffineOp) or not isinstance(kernel, KernelOp):
        return None
    state = program.state[0]
    state_terms = [(w, s) for w, s in affine.terms if s == state]
    if len(affine.outputs) != 1 or len(state_terms) != 1:
        return None
    if any(s != state and s not in program.inputs for _, s in affine.terms):
        return None
    name = affine.outputs[0]
    out = program.next_state[0]
    if kernel.inputs != (name,) or kernel.outputs != (out,) or kernel.constants:
        return None
    if (out, name) not in kernel.partials:
        return None
    inputs = tuple((w, s) for w, s in affine.terms if s != state)
    return state_terms[0][0], inputs, affine.bias, kernel, kernel.partials.index((out, name))


#: Largest ln condition number of the frame let build up between two QRs (e^10 ~ 2e4: the
#: QR of the product then loses about 4 of 16 digits, far below the exponents' noise).
SPREAD = 10.0
#: Rows of W per block of the fused products.
ROWS = 64
#: Most steps between two QRs (a QR of (512, 16) costs about 1/4 of a step's product).
MAX_EVERY = 32


def spectrum(net, structure, x, total, state, frame, warmup, reortho, block, n_blocks):
    """ln|r_ii| sums (B, k), block sums (n_blocks, B, k), the step of a divergence or -1, and
    what diverged.

    ``x`` (T, B, n_in) or None (autonomous, ``total`` steps), ``state`` (B, n), ``frame``
    (B, n, k). ``reortho``: steps between QRs, an int, or None to choose them from the spread
    of the last ln|r_ii| (at most MAX_EVERY steps and SPREAD of ln condition number).
    """
    weight, inputs, bias, kernel, which = structure
    W = net.params[weight]
    batch, n, k = frame.shape
    dtype = np.result_type(W, state)
    # the frames of all sequences side by side, (n, B k): one product per step for all; the
    # states take a separate (n, B) product (a 17th column would cost like 8 more in BLAS)
    m_state = np.ascontiguousarray(state.T, dtype=dtype)
    frames = np.ascontiguousarray(np.moveaxis(frame, 0, 1).reshape(n, batch * k), dtype=dtype)
    z_frames = np.empty_like(frames)
    m_frame, z_frame = frames.reshape(n, batch, k), z_frames.reshape(n, batch, k)
    a = np.empty_like(m_state)
    # both products in row blocks of W: each block of W is read from memory once and reused
    # from cache for the state product (measured on one core, n = 512, k = 16: 64-row blocks
    # do both products in 0.75x the time of one (512, 512) @ (512, 16) call)
    rows = [slice(i, min(i + ROWS, n)) for i in range(0, n, ROWS)]
    blocks = [(W[r], z_frames[r], a[r]) for r in rows]
    fixed = np.zeros((n, 1), dtype) if bias is None else net.params[bias].astype(dtype)[:, None]
    drive = None
    if x is not None and inputs:
        drive = sum(np.einsum("tbi,ni->tnb", x, net.params[w]) for w, _ in inputs)
    sums = np.zeros((batch, k))
    block_sums = np.zeros((n_blocks, batch, k))
    steps = total
    since, every = 0, (1 if reortho is None else reortho)
    for t in range(steps):
        for w_rows, z_rows, a_rows in blocks:
            np.matmul(w_rows, frames, out=z_rows)
            np.matmul(w_rows, m_state, out=a_rows)
        a += fixed
        if drive is not None:
            a += drive[t]
        result = kernel.with_partials(a)
        h, d = result[0], result[1 + which]
        m_state[...] = h
        np.multiply(z_frame, d[:, :, None], out=m_frame)
        since += 1
        measured = t + 1 - warmup
        if (
            since == every
            or t + 1 == warmup
            or t + 1 == steps
            or (measured > 0 and measured % block == 0)
        ):
            if not np.all(np.isfinite(h)):
                return sums, block_sums, t + 1, "state"
            q, logs = renormalise(np.moveaxis(m_frame, 1, 0))  # (B, n, k), (B, k)
            if np.isnan(logs).any() or (logs == np.inf).any():
                return sums, block_sums, t + 1, "frame"
            if reortho is None:  # keep the frame well conditioned: spread per step * m <= SPREAD
                with np.errstate(invalid="ignore"):
                    spread = float(np.max(logs) - np.min(logs)) / since
                every = int(np.clip(SPREAD / spread, 1, MAX_EVERY)) if spread > 0 else MAX_EVERY
            since = 0
            m_frame[...] = np.moveaxis(q, 0, 1)
            if measured > 0:
                sums += logs
                index = (measured - 1) // block
                if index < n_blocks:
                    block_sums[index] += logs
    return sums, block_sums, -1, None
