"""Exchange parameters with PyTorch's ``nn.RNN`` (tanh or ReLU), ``nn.LSTM`` and ``nn.GRU``.

PyTorch is an optional dependency, imported only inside these functions. The mapping is the
table in :mod:`gradtheory.symbolic.library`: ``W = weight_hh_l0``, ``U = weight_ih_l0`` and

* Elman (``nn.RNN``) and LSTM have one bias ``b = bias_ih_l0 + bias_hh_l0`` (only the sum
  enters the recurrence); :func:`from_torch` remembers ``bias_hh_l0`` so that :func:`to_torch`
  splits the (possibly trained) sum back as ``bias_ih = b - bias_hh``;
* GRU keeps both: ``b_x = bias_ih_l0``, ``b_h = bias_hh_l0`` (its n-rows sit inside the reset
  gate, so the two are not interchangeable).

Only single-layer, unidirectional modules without projection map to one gradtheory cell.
gradtheory is time-major; ``batch_first`` is stored on the network (``torch_batch_first_``)
so that a round trip keeps it. The LSTM state of gradtheory is ``[h, c]`` concatenated.
"""

from __future__ import annotations

import numpy as np

from .._validate import Bool, Choice, NetworkArg, validate

__all__ = ["from_torch", "to_torch"]


def _torch_mode(cell) -> str | None:
    """``module.mode`` of the torch.nn module computing ``cell`` ("RNN_TANH", "LSTM"...), or None.

    Read from the registry: the family's ``torch`` module and, for ``nn.RNN``, the activation's
    ``torch`` nonlinearity; an Elman family is confirmed from the cell's stages.
    """
    from ..symbolic.registry import elman_activation

    spec = cell.spec
    if spec is None or spec.torch is None:
        return None
    if spec.torch != "RNN":
        return spec.torch
    act = elman_activation(cell)
    return f"RNN_{act.torch.upper()}" if act is not None and act.torch else None


def _supported() -> str:
    """``"elman('tanh'), elman('relu'), irnn(), lstm(), gru()"``, from the registry."""
    from ..symbolic.registry import ACTIVATIONS, CELLS

    out = []
    for spec in CELLS.values():
        if spec.torch == "RNN" and spec.takes_activation:
            out += [f"{spec.name}({a.name!r})" for a in ACTIVATIONS.values() if a.torch]
        elif spec.torch:
            out.append(f"{spec.name}()")
    return ", ".join(out)


def _cell_for_mode(mode: str):
    """The library cell for a torch ``module.mode`` (the first registered family that fits)."""
    from ..symbolic.registry import ACTIVATIONS, CELLS

    for spec in CELLS.values():
        if spec.torch == mode:
            return spec.build()
        if spec.torch == "RNN" and spec.takes_activation:
            for act in ACTIVATIONS.values():
                if act.torch and mode == f"RNN_{act.torch.upper()}":
                    return spec.build(act.name)
    return None


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "PyTorch is needed for from_torch/to_torch but is not installed; install it with "
            "`pip install torch` (or `pip install gradtheory[torch]`)"
        ) from err
    return torch


@validate(dtype=Choice("float64", "float32", none=True))
def from_torch(module, *, dtype: str | None = None):
    """A :class:`~gradtheory.Network` with the parameters of a PyTorch recurrent module.

    Parameters
    ----------
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        Single layer, unidirectional, no ``proj_size``; ``bias`` and ``batch_first`` either way.
    dtype : {"float64", "float32"}, optional
        Default: the module's own (float32 or float64).

    Returns
    -------
    Network
        Tied, without readout; ``torch_batch_first_`` records ``module.batch_first``.

    Examples
    --------
    >>> import torch
    >>> net = from_torch(torch.nn.GRU(3, 8))
    >>> net.params["W"].shape
    (24, 8)
    """
    torch = _torch()
    from .network import Network

    cell = _cell_for_mode(module.mode) if isinstance(module, torch.nn.RNNBase) else None
    if cell is None:
        raise TypeError(f"module must be a torch.nn.RNN, LSTM or GRU, got {type(module).__name__}")
    if module.num_layers != 1:
        raise ValueError(
            f"module has num_layers={module.num_layers}; only single-layer modules "
            f"map to one gradtheory cell (split it into one module per layer)"
        )
    if module.bidirectional:
        raise ValueError("module is bidirectional; gradtheory cells run forward in time only")
    if getattr(module, "proj_size", 0):
        raise ValueError(
            f"module has proj_size={module.proj_size}; LSTM projections have no "
            f"gradtheory counterpart"
        )
    weight = module.weight_hh_l0
    if dtype is None:
        if weight.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"module dtype {weight.dtype} is not float32 or float64; pass dtype=")
        dtype = "float64" if weight.dtype == torch.float64 else "float32"

    def value(tensor):
        return tensor.detach().cpu().double().numpy().copy()

    n = module.hidden_size
    rows = cell.param_shapes(n, module.input_size)["W"][0]  # n times the number of gates
    b_ih = value(module.bias_ih_l0) if module.bias else np.zeros(rows)
    b_hh = value(module.bias_hh_l0) if module.bias else np.zeros(rows)
    params = {"W": value(module.weight_hh_l0), "U": value(module.weight_ih_l0)}
    split_bias = "b_x" in cell.param_names  # GRU: the two biases are not interchangeable
    if split_bias:
        params.update(b_x=b_ih, b_h=b_hh)
    else:
        params["b"] = b_ih + b_hh
    net = Network(
        cell, n_in=module.input_size, n_hidden=n, params=params, init="torch", dtype=dtype
    )
    net.torch_batch_first_ = bool(module.batch_first)
    net.torch_bias_ = bool(module.bias)
    if not split_bias:
        net.torch_bias_hh_ = b_hh.astype(net.dtype)
    return net


@validate(net=NetworkArg(), batch_first=Bool(none=True))
def to_torch(net, batch_first: bool | None = None):
    """The PyTorch module computing the same recurrence as ``net``.

    Parameters
    ----------
    net : Network
        Tied Elman (tanh or ReLU, including ``irnn``), LSTM or GRU network without readout.
    batch_first : bool, optional
        Default: ``net.torch_batch_first_`` if the network came from :func:`from_torch`, else
        False (time-major, like gradtheory).

    Returns
    -------
    torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        In the network's dtype; ``bias=False`` only if the network came from a bias-free
        module and its biases are still zero.

    Examples
    --------
    >>> lstm = to_torch(gt.Network(gt.cells.lstm(), n_in=2, n_hidden=4))
    >>> lstm, lstm.weight_hh_l0.dtype
    (LSTM(2, 4), torch.float64)
    """
    torch = _torch()
    kind = _torch_mode(net.cell)
    if kind is None:
        raise ValueError(f"net has cell {net.cell.name!r}; to_torch supports {_supported()}")
    if not net.tied:
        raise ValueError("net is untied (a depth network); PyTorch's recurrent modules are tied")
    if net.n_out:
        raise ValueError(
            f"net has a readout (n_out={net.n_out}) that torch.nn.{kind[:4]} lacks; "
            f"build the network without n_out and use torch.nn.Linear"
        )
    if batch_first is None:
        batch_first = getattr(net, "torch_batch_first_", False)
    p = net.params
    biases = [p["b_x"], p["b_h"]] if kind == "GRU" else [p["b"]]
    bias = not (getattr(net, "torch_bias_", True) is False and not any(np.any(b) for b in biases))
    dtype = torch.float64 if np.dtype(net.dtype) == np.float64 else torch.float32
    options = dict(
        input_size=net.n_in,
        hidden_size=net.n_hidden,
        num_layers=1,
        bias=bias,
        batch_first=bool(batch_first),
        dtype=dtype,
    )
    if kind.startswith("RNN"):
        module = torch.nn.RNN(nonlinearity=kind[4:].lower(), **options)
    else:
        module = getattr(torch.nn, kind)(**options)
    with torch.no_grad():
        module.weight_hh_l0.copy_(torch.from_numpy(np.array(p["W"])))
        module.weight_ih_l0.copy_(torch.from_numpy(np.array(p["U"])))
        if bias:
            if kind == "GRU":
                b_ih, b_hh = p["b_x"], p["b_h"]
            else:
                b_hh = getattr(net, "torch_bias_hh_", np.zeros_like(p["b"]))
                b_ih = p["b"] - b_hh
            module.bias_ih_l0.copy_(torch.from_numpy(np.array(b_ih)))
            module.bias_hh_l0.copy_(torch.from_numpy(np.array(b_hh)))
    return module
