"""Parameter initialisation schemes, seeded and reproducible.

Matrices acting on the state (recurrent and layer-to-layer weights) follow ``init``; matrices
acting on the input ``x`` use N(0, 1/n_in) unless the scheme is ``torch`` or ``glorot``; biases
are zero, or N(0, sigma_b2) when ``sigma_b2 > 0`` (the random-network convention), unless the
scheme is ``torch``. Stacked weights (LSTM's four gates) are initialised chunk by chunk.
"""

from __future__ import annotations

import numpy as np

__all__ = ["INITS", "init_matrix"]

#: Initialisation name -> description.
INITS = {
    "gaussian": "N(0, gain^2 / fan_in): the random-network convention (sigma_w^2 = gain^2)",
    "glorot": "U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio 2010)",
    "he": "N(0, 2 gain^2 / fan_in) (He et al. 2015)",
    "orthogonal": "gain times a Haar-random orthogonal matrix per square chunk (Saxe et al. 2014)",
    "identity": "gain times the identity per square chunk, zero bias (Le et al. 2015)",
    "torch": "U(-1/sqrt(n), 1/sqrt(n)) for every parameter, PyTorch's RNN/LSTM/GRU default",
    "zeros": "all zeros (custom maps take their parameters from the cell's defaults)",
}


def init_matrix(
    rng: np.random.Generator,
    init: str,
    rows: int,
    cols: int,
    chunks: int,
    gain: float,
    on_state: bool,
    n_hidden: int,
) -> np.ndarray:
    """One weight matrix of shape (rows, cols), ``chunks`` stacked blocks of rows // chunks rows.

    Examples
    --------
    >>> init_matrix(np.random.default_rng(0), "identity", 2, 2, 1, 1.0, True, 2)
    array([[1., 0.],
           [0., 1.]])
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}, got {init!r}")
    if init == "torch":
        bound = 1.0 / np.sqrt(max(n_hidden, 1))
        return rng.uniform(-bound, bound, size=(rows, cols))
    if init == "glorot":
        per = rows // chunks
        bound = gain * np.sqrt(6.0 / (per + cols)) if per + cols else 0.0
        return rng.uniform(-bound, bound, size=(rows, cols))
    if not on_state:
        return rng.normal(0.0, 1.0 / np.sqrt(cols), size=(rows, cols)) if cols else np.zeros((rows, 0))
    per = rows // chunks
    blocks = []
    for _ in range(chunks):
        if init == "gaussian":
            block = rng.normal(0.0, gain / np.sqrt(cols), size=(per, cols))
        elif init == "he":
            block = rng.normal(0.0, gain * np.sqrt(2.0 / cols), size=(per, cols))
        elif init == "orthogonal":
            q, r = np.linalg.qr(rng.normal(size=(max(per, cols), max(per, cols))))
            q = q * np.sign(np.diag(r))  # Haar measure (Mezzadri 2007)
            block = gain * q[:per, :cols]
        elif init == "identity":
            block = gain * np.eye(per, cols)
        else:  # zeros
            block = np.zeros((per, cols))
        blocks.append(block)
    return np.concatenate(blocks, axis=0)
