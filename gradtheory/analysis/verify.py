"""Check a prediction against the gradient norms that backpropagation really produces.

The measurement is independent of the ``jacobian`` prediction route: the forecast pushes a
tangent *forward* through the step Jacobians, the measurement runs the executor's reverse-mode
BPTT from a random unit probe ``dL/ds_T`` (or the task's loss) and fits the slope of
``ln ||dL/ds_t||`` against the number of steps back, per sequence; the spread over sequences
gives the uncertainty. ``agrees`` is ``|measured - predicted| <= atol + 3 stderr`` (``pascanu``:
``measured <= bound + atol + 3 stderr``, since that route gives an upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._repr import compact_repr
from .._validate import Bool, Choice, Int, NetworkArg, Real, Shown, fail, require, validate
from .predict import METHODS, Prediction, default_inputs, predict, resolve_method

__all__ = ["Verification", "measure_rate", "track", "verify"]


@dataclass
class Verification:
    """Predicted against measured gradient growth.

    Attributes
    ----------
    predicted : Prediction
    measured_rate : float
        Fitted log growth of ||dL/ds_t|| per step back.
    measured_stderr : float
        Standard error of that slope over the batch.
    agrees : bool
    tolerance : float
        ``atol + 3 stderr`` actually used.
    log_norms : ndarray, shape (T+1,)
        Batch mean of ln||dL/ds_t||.
    window : tuple of int
        Steps (t_start, t_stop) used in the fit.
    per_layer : ndarray or None, shape (L,)
        Measured per-layer rates of an untied chain.
    """

    __repr__ = compact_repr("measured_rate", "measured_stderr", "agrees", "tolerance", "window")

    predicted: Prediction
    measured_rate: float
    measured_stderr: float
    agrees: bool
    tolerance: float
    log_norms: np.ndarray
    window: tuple
    per_layer: np.ndarray | None = None
    details: dict = field(default_factory=dict)

    def table(self) -> str:
        """A plain-text table of the comparison."""
        p = self.predicted
        rows = [
            ("method", p.method),
            ("predicted regime", p.regime),
            ("predicted rate / step", f"{p.rate:+.5f}"),
            ("measured rate / step", f"{self.measured_rate:+.5f} +- {self.measured_stderr:.5f}"),
            ("tolerance", f"{self.tolerance:.5f}"),
            ("horizon (1000-fold fall)", f"{p.horizon:.1f}"),
            ("agrees", "yes" if self.agrees else "NO"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def plot(self, ax=None, *, band: bool = True, predicted: dict | None = None, **style):
        """Measured mean ln||dL/ds_t|| against steps back, with the predicted line over the
        fitted window and, with ``band``, the tolerance around it; both rates in the legend.
        ``style`` goes to the measured line, ``predicted`` (a dict of Line2D properties) to the
        predicted one, so that several results can share one Axes. Returns the Axes.

        >>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=8, gain=0.5)
        >>> ax = gt.verify(net, steps=40, batch=2).plot(band=False, predicted={"color": "k"})
        >>> len(ax.collections), ax.lines[1].get_color()
        (0, 'k')
        """
        from ..figures import PALETTE, new_figure

        if ax is None:
            _, ax = new_figure()
        T = len(self.log_norms) - 1
        back = T - np.arange(T + 1)
        measured = f"measured (BPTT): rate {self.measured_rate:+.3g}/step"
        ax.plot(back, self.log_norms, **{"color": PALETTE[0], "label": measured, **style})
        start, stop = self.window
        anchor_t = stop
        k = np.linspace(T - stop, T - start, 50)
        line = self.log_norms[anchor_t] + self.predicted.rate * (k - (T - stop))
        label = f"predicted ({self.predicted.method}): rate {self.predicted.rate:+.3g}/step"
        ax.plot(k, line, "--", **{"color": PALETTE[3], "label": label, **(predicted or {})})
        if band:
            ax.fill_between(
                k,
                line - self.tolerance * (k - (T - stop)),
                line + self.tolerance * (k - (T - stop)),
                color=PALETTE[3],
                alpha=0.15,
            )
        ax.set_xlabel("steps back k")
        ax.set_ylabel(r"$\ln\|\partial L/\partial s_{T-k}\|$")
        ax.set_title("predicted and measured: " + ("agree" if self.agrees else "disagree"))
        ax.legend()
        return ax


def measure_rate(log_norms: np.ndarray, start: int, stop: int) -> tuple[float, float]:
    """Slope of ln||dL/ds_t|| against steps back over t in [start, stop], per sequence.

    Parameters
    ----------
    log_norms : ndarray, shape (T+1, B)

    Returns
    -------
    (mean slope, standard error over the batch)
    """
    t = np.arange(start, stop + 1)
    values = log_norms[start : stop + 1]
    finite = np.all(np.isfinite(values), axis=0)
    if not finite.any():
        raise FloatingPointError("every adjoint norm series has a zero or non-finite entry")
    slopes = -np.polyfit(t, values[:, finite], 1)[0]
    stderr = float(np.std(slopes, ddof=1) / np.sqrt(slopes.size)) if slopes.size > 1 else 0.0
    return float(np.mean(slopes)), stderr


@validate(
    net=NetworkArg(),
    method=Choice(*METHODS),
    steps=Int(min=1, none=True),
    batch=Int(min=1, none=True),
    atol=Real(min=0),
    warmup=Int(min=0, none=True),
    seed=Int(min=0),
)
def verify(
    net,
    x=None,
    task=None,
    *,
    prediction: Prediction | None = None,
    method: str = "auto",
    steps: int | None = None,
    batch: int | None = None,
    h0=None,
    atol: float = 0.02,
    warmup: int | None = None,
    seed: int = 0,
) -> Verification:
    """Predict, then measure the adjoint norms on real batches and compare.

    Parameters
    ----------
    net : Network
    x : array, optional
        Inputs (T, B, n_in) (untied: (B, n_in)); else a ``task`` batch; else zero input from
        random initial states.
    task : task, optional
        If given and ``x`` is None, a batch of the task and its loss gradient are used.
    steps, batch : int, optional
        Length (default 200) and number (default 16) of the zero-input sequences used when
        neither ``x`` nor ``task`` is given (``batch`` also sizes a task's batch). An argument
        that would be unused (``steps`` or ``batch`` with ``x``, ``steps`` with a task) is an
        error.
    prediction : Prediction, optional
        Use this forecast instead of calling :func:`predict` (with ``method``).
    atol : float
        Absolute tolerance on the rate per step; ``agrees`` also allows 3 standard errors.
    warmup : int, optional
        Steps excluded at both ends of the fit (default min(50, T // 4) for tied chains, 0 for
        untied ones).

    Returns
    -------
    Verification

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.elman("tanh"), n_in=1, n_hidden=32, gain=0.5)
    >>> verify(net).agrees
    True
    """
    if x is not None and task is not None:
        fail(
            "verify", "task", "None when x is given (x is measured, the task would be unused)", task
        )
    if x is not None:  # x fixes length and batch: the defaults' sizes would be unused
        for name, value in (("steps", steps), ("batch", batch)):
            if value is not None:
                fail("verify", name, "None when x is given (x fixes length and batch)", value)
    if task is not None and steps is not None:
        fail("verify", "steps", "None when a task is given (the task sets the length)", steps)
    steps = 200 if steps is None else steps
    batch = 16 if batch is None else batch
    if prediction is not None and method != "auto":
        fail("verify", "method", "'auto' when a prediction is given (it would be unused)", method)
    if prediction is not None and not isinstance(prediction, Prediction):
        fail("verify", "prediction", "a Prediction from gt.predict", prediction, wrong_type=True)
    from ..numeric.batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "verify")
    rng = np.random.default_rng([seed, 3])
    grad_outputs = None
    if x is None and task is not None:
        x, y, mask = task.sample(batch, rng)
        traj = net.forward(x, h0)
        _, grad_outputs = task.loss_and_grad(traj.outputs, y, mask)
        x_used, h0_used = x, h0
    else:
        x_used, default_h0 = default_inputs(net, x, steps, batch, seed)
        h0_used = h0 if h0 is not None else default_h0
        traj = net.forward(x_used, h0_used)
    # resolve "auto" on what the user gave, then forecast on the very batch measured below
    method = resolve_method(net, None if x is None and task is None else x_used, method)
    if prediction is None and method == "mean_field":
        prediction = predict(net, method="mean_field")  # from the initialisation, no data
    elif prediction is None:
        prediction = predict(
            net,
            x_used,
            method=method,
            h0=h0_used,
            warmup=warmup,
            seed=seed,
        )
    probe = None
    if grad_outputs is None:
        probe = rng.normal(size=(traj.states.shape[1], net.n_state))
        probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    sequences = traj.states.shape[1]
    require(
        sequences >= 2,
        "verify",
        "batch" if x is None else "x",
        "at least 2 sequences: the standard error of the rate is their spread",
        Shown(f"{sequences} sequence"),
    )
    grads = net.backward(traj, grad_outputs, grad_state=probe)
    log_norms = grads.adjoint_log_norms
    T = traj.steps
    if net.tied:
        skip = min(50, T // 4) if warmup is None else warmup
        start, stop = skip, T - skip
    else:
        start, stop = 0 if warmup is None else warmup, T
    if stop - start < 2:
        raise ValueError(f"too few steps to fit a rate: T={T}, warmup={warmup}")
    rate, stderr = measure_rate(log_norms, start, stop)
    per_layer = None
    if not net.tied:
        per_layer = np.mean(log_norms[:-1] - log_norms[1:], axis=1)
    tolerance = atol + 3 * stderr
    if prediction.method == "pascanu":
        agrees = rate <= prediction.rate + tolerance
    else:
        agrees = abs(rate - prediction.rate) <= tolerance
    return Verification(
        prediction,
        rate,
        stderr,
        bool(agrees),
        float(tolerance),
        np.mean(log_norms, axis=1),
        (start, stop),
        per_layer,
        details={
            "T": T,
            "batch": int(traj.states.shape[1]),
            "loss": "task" if grad_outputs is not None else "probe",
        },
    )


@validate(
    net=NetworkArg(),
    steps=Int(min=1),
    every=Int(min=1),
    method=Choice(*METHODS),
    verify_steps=Int(min=1, none=True),
    verify_batch=Int(min=2),
    seed=Int(min=0),
    progress=Bool(),
)
def track(
    net,
    task,
    *,
    steps: int,
    every: int,
    method: str = "auto",
    verify_steps: int | None = None,
    verify_task=None,
    verify_batch: int = 16,
    seed: int = 0,
    progress: bool = True,
    **train_kwargs,
) -> dict:
    """Train ``net`` on ``task`` and verify the prediction every ``every`` steps.

    Verification batches of ``verify_batch`` sequences come from ``verify_task`` if given
    (e.g. a longer version of the training task, so the fitted slope spans more steps), else
    from ``task``; with ``verify_steps`` set instead, from zero input over that many steps.
    The other keyword arguments (``batch``, ``lr``, ...) go to :func:`gradtheory.train`.

    Returns
    -------
    dict of arrays
        ``step``, ``predicted``, ``measured``, ``stderr``, ``agrees``, ``regime`` and the
        training ``history``.
    """
    from ..numeric.batchnorm import refuse_batch_coupled

    refuse_batch_coupled(net, "track")
    from ..numeric.train import train

    rows = []

    def checkpoint(step, current, history):
        check = verify(
            current,
            task=(verify_task or task) if verify_steps is None else None,
            method=method,
            steps=verify_steps,
            batch=verify_batch,
            seed=seed + step,
        )
        rows.append(
            (
                step,
                check.predicted.rate,
                check.measured_rate,
                check.measured_stderr,
                check.agrees,
                check.predicted.regime,
            )
        )

    history = train(
        net,
        task,
        steps=steps,
        seed=seed,
        progress=progress,
        callback=checkpoint,
        callback_every=every,
        **train_kwargs,
    )
    checkpoint(steps, net, history)
    names = ("step", "predicted", "measured", "stderr", "agrees", "regime")
    return {name: np.array([r[i] for r in rows]) for i, name in enumerate(names)} | {
        "history": history
    }
