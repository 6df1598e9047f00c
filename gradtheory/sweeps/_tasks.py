"""Point functions behind ``gradtheory sweep train`` and ``gradtheory sweep verify``.

Top-level and importable, so that a spawned pool worker or a Dask worker can run them; their
keyword arguments are the options of ``gradtheory train`` / ``gradtheory verify``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["network_from_options", "task_from_options", "train_point", "verify_point"]


def network_from_options(
    cell: str,
    activation: str | None,
    hidden: int,
    init: str | None,
    gain: float,
    sigma_b2: float,
    depth: int | None,
    seed: int,
    n_in: int = 1,
    n_out: int | None = None,
):
    """The network the command-line options describe (``gradtheory train elman-tanh ...``).

    ``depth=None`` gives a tied network (an RNN over time), an integer an untied one of that
    many layers. Used by the CLI and by the point functions below.

    Examples
    --------
    >>> network_from_options("elman-tanh", None, 4, None, 1.0, 0.0, 3, 0)
    Network(elman-tanh, n_in=1, n_hidden=4, n_out=None, untied, L=3, float64)
    """
    from ..numeric.network import Network
    from ..symbolic.registry import cell_from_name

    return Network(
        cell_from_name(cell, activation),
        n_in=n_in,
        n_hidden=hidden,
        n_out=n_out,
        init=init,
        gain=gain,
        sigma_b2=sigma_b2,
        seed=seed,
        tied=depth is None,
        depth=depth,
    )


def task_from_options(task: str, T: int | None, option: str = "T"):
    """The training task the options describe: ``task`` of length ``T`` (default 50).

    The digits task has a fixed length (64 pixels), so a ``T`` for it is an error naming
    ``option`` (the CLI says ``--T``). Used by ``gradtheory train`` and :func:`train_point`.

    Examples
    --------
    >>> task_from_options("adding", None).T
    50
    """
    from ..numeric import tasks

    if task == "digits":
        if T is not None:
            raise ValueError(f"{option} does not apply to the digits task (always 64 pixels)")
        return tasks.digits()
    return tasks.make_task(task, T=50 if T is None else T)


def train_point(
    cell: str,
    *,
    activation: str | None = None,
    hidden: int = 32,
    init: str | None = None,
    gain: float = 1.0,
    sigma_b2: float = 0.0,
    depth: int | None = None,
    seed: int = 0,
    task: str = "adding",
    T: int | None = None,
    steps: int = 500,
    batch: int = 32,
    optimizer: str = "adam",
    lr: float = 1e-3,
    clip: float | None = None,
    tbptt: int | None = None,
) -> dict:
    """Train as ``gradtheory train`` does and return the final numbers.

    Returns
    -------
    dict
        ``final_loss`` (last step), ``baseline`` (loss of the best constant predictor),
        ``score`` (task score on a fresh batch at the end: accuracy, or 1 - MSE / baseline),
        ``accuracy`` (classification tasks only), ``diverged_at`` (step or None),
        ``steps_done``, ``final_grad_norm``, and ``loss`` (array, one entry per step).

    Examples
    --------
    >>> out = train_point("gru", task="adding", T=10, steps=3, hidden=4)
    >>> out["steps_done"], out["loss"].shape
    (3, (3,))
    """
    from ..numeric.train import train

    problem = task_from_options(task, T)
    net = network_from_options(
        cell, activation, hidden, init, gain, sigma_b2, depth, seed, problem.n_in, problem.n_out
    )
    history = train(
        net,
        problem,
        steps=steps,
        batch=batch,
        optimizer=optimizer,
        lr=lr,
        clip=clip,
        tbptt=tbptt,
        seed=seed,
        score_every=steps,  # scored at the first and the last step
        progress=False,
    )
    done = len(history.loss)
    last = max(history.scores) if history.scores else None
    score = history.scores[last] if last is not None and last == done - 1 else float("nan")
    outputs = {
        "final_loss": float(history.loss[-1]) if done else float("nan"),
        "baseline": float(problem.baseline),
        "score": float(score),
    }
    if problem.loss != "mse":
        outputs["accuracy"] = float(score)
    outputs.update(
        diverged_at=history.diverged_at,
        steps_done=done,
        final_grad_norm=float(history.grad_norm[-1]) if done else float("nan"),
        loss=np.asarray(history.loss, dtype=float),
    )
    return outputs


def verify_point(
    cell: str,
    *,
    activation: str | None = None,
    hidden: int = 32,
    init: str | None = None,
    gain: float = 1.0,
    sigma_b2: float = 0.0,
    depth: int | None = None,
    seed: int = 0,
    method: str = "auto",
    T: int = 200,
) -> dict:
    """Predict and measure as ``gradtheory verify`` does and return the comparison.

    Returns
    -------
    dict
        ``regime``, ``method_used`` (the theory), ``predicted_rate``, ``measured_rate``,
        ``measured_stderr``, ``tolerance``, ``agrees``.

    Examples
    --------
    >>> verify_point("elman-tanh", hidden=8, gain=0.5, T=40)["regime"]
    'vanishing'
    """
    from ..analysis.verify import verify

    net = network_from_options(cell, activation, hidden, init, gain, sigma_b2, depth, seed)
    check = verify(net, method=method, steps=T, seed=seed)
    return {
        "regime": check.predicted.regime,
        "method_used": check.predicted.method,
        "predicted_rate": float(check.predicted.rate),
        "measured_rate": float(check.measured_rate),
        "measured_stderr": float(check.measured_stderr),
        "tolerance": float(check.tolerance),
        "agrees": bool(check.agrees),
    }
