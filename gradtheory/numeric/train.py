"""Training loop: tasks, optimisers, clipping, truncated BPTT, divergence handling.

``train`` records per step the loss and the gradient norm before and after clipping, snapshots
of ``ln ||dL/ds_t||`` every ``snapshot_every`` steps, and stops cleanly when the loss, the
gradient or the parameters stop being finite: ``History.diverged_at`` says at which step, the
last update is rolled back, and everything recorded so far is kept.

A blow-up short of that is reported, not hidden: when the loss grows above
:data:`BLOWUP_FACTOR` times the first step's loss, or the parameters' global norm above
:data:`BLOWUP_FACTOR` times its initial value, ``train`` warns once (``RuntimeWarning``),
records the step in ``History.blowup_at`` and carries on, so that exploding-gradient
experiments still run to the end.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .._deprecate import renamed
from .._progress import progress_bar
from .._validate import Bool, Int, Real, Shown, fail, require, validate
from ..io import save_result
from .optim import clip_by_norm, clip_by_value, global_norm, make_optimizer
from .trajectory import Trajectory

__all__ = ["BLOWUP_FACTOR", "History", "train"]

#: Growth (six orders of magnitude) of the loss over the first step's loss, or of the
#: parameter norm over its initial value, that counts as a blow-up (``History.blowup_at``).
BLOWUP_FACTOR = 1e6


@dataclass
class History:
    """What :func:`train` recorded; arrays have one entry per completed step.

    Attributes
    ----------
    loss, grad_norm, grad_norm_clipped : ndarray, shape (steps,)
    clipped : ndarray of bool, shape (steps,)
    snapshots : dict of int to ndarray, step -> mean over the batch of ln ||dL/ds_t||, (T+1,)
    scores : dict of int to float, step -> task score on a fresh batch
    diverged_at : int or None
        Step at which the loss, gradient or parameters stopped being finite (training stopped).
    blowup_at : int or None
        First step at which the loss or the parameter norm grew :data:`BLOWUP_FACTOR`-fold
        (training went on).
    message : str
    settings : dict
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    grad_norm_clipped: np.ndarray
    clipped: np.ndarray
    snapshots: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)
    diverged_at: int | None = None
    message: str = ""
    settings: dict = field(default_factory=dict)
    blowup_at: int | None = None

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.4g}" if len(self.loss) else "none"
        first = f"{self.loss[0]:.4g}" if len(self.loss) else "none"
        return (
            f"History(steps={len(self.loss)}, loss {first} -> {last}, "
            f"diverged_at={self.diverged_at}, blowup_at={self.blowup_at}, "
            f"snapshots={len(self.snapshots)}, scores={len(self.scores)})"
        )

    def plot(self, axes=None, *, smooth: int | None = None, **style):
        """Loss, and gradient norm with clipping events; returns the array of 2 Axes.
        ``smooth``: also draw the loss's trailing moving average over that many steps.

        >>> net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, n_out=1)
        >>> history = gt.train(net, gt.tasks.adding(10), steps=5, clip=0.1, progress=False)
        >>> [ax.get_title() for ax in history.plot(smooth=2)]
        ['loss', 'gradient norm']
        """
        from ..figures._plot_training import plot_history

        return plot_history(self, axes, smooth=smooth, **style)

    def save(self, stem) -> None:
        """Write ``stem.npz`` and ``stem.json`` atomically (no pickle)."""
        arrays = {
            "loss": self.loss,
            "grad_norm": self.grad_norm,
            "grad_norm_clipped": self.grad_norm_clipped,
            "clipped": self.clipped,
        }
        for step, values in self.snapshots.items():
            arrays[f"snapshot_{step}"] = values
        meta = {
            "diverged_at": self.diverged_at,
            "blowup_at": self.blowup_at,
            "message": self.message,
            "settings": self.settings,
            "scores": self.scores,
        }
        save_result(stem, arrays, meta)


def _window(traj: Trajectory, start: int, stop: int) -> Trajectory:
    return Trajectory(
        states=traj.states[start : stop + 1],
        hidden=traj.hidden[start : stop + 1],
        outputs=traj.outputs[start:stop],
        inputs=traj.inputs[start:stop],
        tape=traj.tape[start:stop],
        input_terms={k: v[start:stop] for k, v in traj.input_terms.items()},
    )


def gradient(net, task, x, y, mask, tbptt: int | None = None):
    """Loss, parameter gradients and mean ln||dL/ds_t|| of one batch (optionally truncated).

    With ``tbptt=k`` the state is carried through the whole sequence but the gradient is cut
    every k steps (Williams and Peng 1990): no dependency longer than k steps is seen.
    """
    traj = net.forward(x)
    loss, grad_out = task.loss_and_grad(traj.outputs, y, mask)
    if tbptt is None:
        grads = net.backward(traj, grad_out)
        return loss, grads.params, grads.adjoint_log_norms
    total = {k: np.zeros_like(v) for k, v in net.params.items()}
    logs = []
    steps = traj.steps
    for start in range(0, steps, tbptt):
        stop = min(start + tbptt, steps)
        part = net.backward(_window(traj, start, stop), grad_out[start:stop])
        for k, v in part.params.items():
            total[k] += v
        logs.append(part.adjoint_log_norms[1:] if start else part.adjoint_log_norms)
    return loss, total, np.concatenate(logs)


@renamed(batch_size="batch")
@validate(
    steps=Int(min=1),
    batch=Int(min=1),
    lr=Real(gt=0),
    clip=Real(gt=0, none=True),
    clip_value=Real(gt=0, none=True),
    tbptt=Int(min=1, none=True),
    reverse_input=Bool(),
    seed=Int(min=0),
    snapshot_every=Int(min=1, none=True),
    score_every=Int(min=1, none=True),
    callback_every=Int(min=1, none=True),
    progress=Bool(),
)
def train(
    net,
    task,
    *,
    steps: int,
    batch: int = 32,
    optimizer: str = "adam",
    lr: float = 1e-3,
    clip: float | None = None,
    clip_value: float | None = None,
    tbptt: int | None = None,
    reverse_input: bool = False,
    seed: int = 0,
    snapshot_every: int | None = None,
    score_every: int | None = None,
    callback=None,
    callback_every: int | None = None,
    progress: bool = True,
) -> History:
    """Train ``net`` in place on batches drawn from ``task``.

    Parameters
    ----------
    net : Network
    task : a task from :mod:`gradtheory.tasks` (``.sample``, ``.loss``, ``.score``)
    steps : int
        Number of parameter updates.
    batch : int
        Sequences per update (``batch_size=`` is the deprecated old name).
    optimizer : {"sgd", "momentum", "rmsprop", "adam"}
    clip : float, optional
        Clip the global gradient norm to ``clip`` (Pascanu et al. 2013, Algorithm 1).
    clip_value : float, optional
        Clip every gradient entry to [-clip_value, clip_value].
    tbptt : int, optional
        Truncated BPTT window k.
    reverse_input : bool
        Feed each input sequence backwards in time (Sutskever et al. 2014).
    snapshot_every, score_every : int, optional
        Record ln||dL/ds_t|| (batch mean) / the task score every so many steps.
    callback : callable(step, net, history), optional
        Called every ``callback_every`` steps (e.g. to predict and verify during training).
    progress : bool
        Show a progress bar (on a terminal, after a second of work).

    Returns
    -------
    History

    Examples
    --------
    >>> import gradtheory as gt
    >>> net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=8, n_out=1)
    >>> history = gt.train(net, gt.tasks.adding(20), steps=5, progress=False)
    >>> history.loss.shape
    (5,)
    """
    _check_setup(net, task, optimizer, callback, callback_every)
    opt = make_optimizer(optimizer, lr)
    rng = np.random.default_rng(seed)
    score_rng = np.random.default_rng([seed, 1])
    settings = {
        "steps": steps,
        "batch": batch,
        "optimizer": optimizer,
        "lr": lr,
        "clip": clip,
        "clip_value": clip_value,
        "tbptt": tbptt,
        "reverse_input": reverse_input,
        "seed": seed,
        "cell": net.cell.name,
        "n_hidden": net.n_hidden,
        "task": type(task).__name__,
    }
    record = {k: np.zeros(steps) for k in ("loss", "grad_norm", "grad_norm_clipped")}
    clipped = np.zeros(steps, dtype=bool)
    history = History(
        record["loss"], record["grad_norm"], record["grad_norm_clipped"], clipped, settings=settings
    )
    done = 0
    first_loss, first_norm = None, _param_norm(net)
    bar = progress_bar(steps, desc=f"train {net.cell.name}", enable=progress)
    with np.errstate(over="ignore", invalid="ignore"), bar:
        for step in range(steps):
            bar.update()
            x, y, mask = task.sample(batch, rng)
            if reverse_input:
                x = x[::-1]
            try:
                loss, grads, log_norms = gradient(net, task, x, y, mask, tbptt)
            except (ValueError, FloatingPointError) as err:
                history.diverged_at, history.message = step, f"diverged at step {step}: {err}"
                break
            norm = global_norm(grads)
            history.loss[step], history.grad_norm[step] = loss, norm
            if not (np.isfinite(loss) and np.isfinite(norm)):
                history.diverged_at = step
                history.message = f"diverged at step {step}: loss {loss}, gradient norm {norm}"
                done = step + 1
                break
            if clip is not None:
                grads, _, clipped[step] = clip_by_norm(grads, clip)
            if clip_value is not None:
                grads = clip_by_value(grads, clip_value)
            history.grad_norm_clipped[step] = global_norm(grads)
            backup = {k: v.copy() for k, v in net.params.items()}
            opt.step(net.params, grads)
            if not all(np.all(np.isfinite(v)) for v in net.params.values()):
                net.params.update(backup)
                history.diverged_at = step
                history.message = (
                    f"diverged at step {step}: parameters became non-finite (update undone)"
                )
                done = step + 1
                break
            done = step + 1
            first_loss = loss if first_loss is None else first_loss
            if history.blowup_at is None:
                _watch_blowup(history, step, loss, first_loss, _param_norm(net), first_norm)
            if snapshot_every and step % snapshot_every == 0:
                history.snapshots[step] = log_norms.mean(axis=1)
            if score_every and (step % score_every == 0 or step == steps - 1):
                history.scores[step] = _score(net, task, score_rng, batch, reverse_input)
            if callback is not None and callback_every and step % callback_every == 0:
                callback(step, net, history)
    for name in ("loss", "grad_norm", "grad_norm_clipped", "clipped"):
        setattr(history, name, getattr(history, name)[:done])
    return history


def _check_setup(net, task, optimizer, callback, callback_every) -> None:
    """Compatibility of the network, the task and the options given together."""
    from .network import Network
    from .optim import OPTIMIZERS

    if not isinstance(net, Network):
        fail("train", "net", "a gradtheory Network", net, wrong_type=True)
    for attribute in ("sample", "loss_and_grad", "n_in", "n_out"):
        if not hasattr(task, attribute):
            fail("train", "task", "a task from gradtheory.tasks", task, wrong_type=True)
    names = ", ".join(repr(name) for name in OPTIMIZERS)
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        fail("train", "optimizer", f"one of {names}", optimizer)
    expected_out = net.n_out or net.n_hidden
    require(
        net.n_in == task.n_in and expected_out == task.n_out,
        "train",
        "task",
        f"a task with n_in={net.n_in} and outputs of size {expected_out} (this network's)",
        Shown(f"a task with n_in={task.n_in}, n_out={task.n_out}"),
    )
    length = getattr(task, "T", None)
    if not net.tied and length is not None:
        require(
            length == net.depth,
            "train",
            "task",
            f"a task of length T = {net.depth}, the depth of this untied network",
            Shown(f"a task of length T = {length}"),
        )
    if callback is not None and not callable(callback):
        fail("train", "callback", "a callable(step, net, history) or None", callback)
    if callback is not None and callback_every is None:
        fail("train", "callback_every", "a positive integer when callback is given", None)
    if callback is None and callback_every is not None:
        fail("train", "callback", "given when callback_every is (it would be ignored)", None)


def _param_norm(net) -> float:
    return global_norm({k: v for k, v in net.params.items() if v is not None})


def _watch_blowup(history, step, loss, first_loss, norm, first_norm) -> None:
    """Set ``blowup_at`` and warn once when loss or parameter norm grew BLOWUP_FACTOR-fold."""
    tiny = np.finfo(float).tiny
    grew = {
        "loss": (loss, first_loss),
        "parameter norm": (norm, first_norm),
    }
    for what, (now, start) in grew.items():
        if now > BLOWUP_FACTOR * max(abs(start), tiny):
            history.blowup_at = step
            text = (
                f"train: {what} grew from {start:.3g} to {now:.3g} (more than "
                f"{BLOWUP_FACTOR:.0e}-fold) by step {step}; training goes on, "
                f"see History.blowup_at"
            )
            history.message = history.message or text
            warnings.warn(text, RuntimeWarning, stacklevel=5)  # the caller of train
            return


def _score(net, task, rng, batch, reverse_input) -> float:
    x, y, mask = task.sample(max(batch, 256), rng)
    if reverse_input:
        x = x[::-1]
    return float(task.score(net.forward(x, record=False).outputs, y, mask))
