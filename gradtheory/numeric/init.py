"""Parameter initialisation schemes, seeded and reproducible.

Matrices acting on the state (recurrent and layer-to-layer weights) follow ``init``; matrices
acting on the input ``x`` use N(0, 1/n_in) unless the scheme is ``torch`` or ``glorot``; biases
are zero, or N(0, sigma_b2) when ``sigma_b2 > 0`` (the random-network convention), unless the
scheme is ``torch``. Stacked weights (LSTM's four gates) are initialised chunk by chunk.
"""

from __future__ import annotations

import numpy as np

__all__ = ["INITS", "init_matrix", "initial_params"]

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
        return (
            rng.normal(0.0, 1.0 / np.sqrt(cols), size=(rows, cols)) if cols else np.zeros((rows, 0))
        )
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


def initial_params(
    cell,
    n_hidden: int,
    n_in: int,
    n_out: int | None,
    layers: int | None,
    init: str,
    gain: float,
    sigma_b2: float,
    rng: np.random.Generator,
    dtype,
) -> dict:
    """All parameters of a network, initialised (``None`` for custom parameters without default).

    Parameters
    ----------
    cell : Cell
    n_hidden, n_in : int
    n_out : int or None
        Readout size; adds ``W_out`` (n_out, n_hidden), U(-1/sqrt(n), 1/sqrt(n)), and ``b_out`` = 0.
    layers : int or None
        None for a tied network; L for an untied one (a leading axis of length L on each
        parameter except the readout).
    init : str
        One of :data:`INITS`.
    gain, sigma_b2 : float
    rng : numpy.random.Generator
    dtype : NumPy floating type

    Returns
    -------
    dict of str to ndarray or None

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> p = initial_params(elman("tanh"), 2, 1, None, None, "identity", 1.0, 0.0,
    ...                    np.random.default_rng(0), np.float64)
    >>> p["W"]
    array([[1., 0.],
           [0., 1.]])
    """
    from ..symbolic.cell import Affine, BatchNorm

    if init not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}, got {init!r}")
    n = n_hidden
    shapes = cell.param_shapes(n, n_in)
    on_state, chunks = {}, {}
    for stage in cell.stages:
        if isinstance(stage, Affine):
            for weight, source in stage.terms:
                on_state[weight] = source not in cell.inputs
                chunks[weight] = len(stage.outputs)
            if stage.bias:
                chunks[stage.bias] = stage.outputs
    params: dict = {}
    for stage in cell.stages:  # batch-norm scale 1 and shift 0, as torch.nn.BatchNorm1d
        if isinstance(stage, BatchNorm):
            for name, value in ((stage.scale, 1.0), (stage.shift, 0.0)):
                if name:
                    params[name] = np.full((n,) if layers is None else (layers, n), value)
    for name in cell.matrix_params:
        if name in params:
            continue
        values = []
        for _ in range(layers or 1):
            if len(shapes[name]) == 2:
                rows, cols = shapes[name]
                values.append(
                    init_matrix(rng, init, rows, cols, chunks[name], gain, on_state[name], n)
                )
            else:
                values.append(_initial_bias(cell, rng, name, chunks[name], n, init, sigma_b2))
        params[name] = values[0] if layers is None else np.stack(values)
    for name, default in cell.scalar_params.items():
        params[name] = (
            None if default is None else np.full(() if layers is None else (layers,), default)
        )
    if n_out:
        bound = 1.0 / np.sqrt(n)
        params["W_out"] = rng.uniform(-bound, bound, size=(n_out, n))
        params["b_out"] = np.zeros(n_out)
    return {k: (None if v is None else np.asarray(v, dtype=dtype)) for k, v in params.items()}


def _initial_bias(cell, rng, name, outputs, n, init, sigma_b2) -> np.ndarray:
    if init == "torch":
        bias = rng.uniform(-1 / np.sqrt(n), 1 / np.sqrt(n), size=len(outputs) * n)
    elif sigma_b2 > 0:
        bias = rng.normal(0.0, np.sqrt(sigma_b2), size=len(outputs) * n)
    else:
        bias = np.zeros(len(outputs) * n)
    for chunk, value in cell.bias_init.get(name, {}).items():
        j = outputs.index(chunk)
        bias[j * n : (j + 1) * n] = value
    return bias
