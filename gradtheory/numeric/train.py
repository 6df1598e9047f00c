"""Training loop: tasks, optimisers, clipping, truncated BPTT, divergence handling.

``train`` records per step the loss and the gradient norm before and after clipping, snapshots
of ``ln ||dL/ds_t||`` every ``snapshot_every`` steps, and stops cleanly when the loss, the
gradient or the parameters stop being finite: ``History.diverged_at`` says at which step, the
last update is rolled back, and everything recorded so far is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..io import save_result
from .optim import clip_by_norm, clip_by_value, global_norm, make_optimizer
from .trajectory import Trajectory

__all__ = ["History", "train"]


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

    def plot(self, axes=None, **style):
        """Loss, and gradient norm with clipping events; returns the array of 2 Axes.

        >>> net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, n_out=1)
        >>> history = gt.train(net, gt.tasks.adding(10), steps=5, clip=0.1, progress=False)
        >>> [ax.get_title() for ax in history.plot()]
        ['loss', 'gradient norm']
        """
        from ..figures._plot_training import plot_history

        return plot_history(self, axes, **style)

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


def train(
    net,
    task,
    *,
    steps: int,
    batch_size: int = 32,
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
        Show a tqdm progress bar.

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
    from ._checks import positive_int

    steps = positive_int(steps, "steps")
    batch_size = positive_int(batch_size, "batch_size")
    if tbptt is not None:
        tbptt = positive_int(tbptt, "tbptt")
    for value, name in ((clip, "clip"), (clip_value, "clip_value")):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number or None, got {value!r}")
    expected_out = net.n_out or net.n_hidden
    if net.n_in != task.n_in or expected_out != task.n_out:
        raise ValueError(
            f"task needs n_in={task.n_in}, n_out={task.n_out}; the network has "
            f"n_in={net.n_in}, outputs of size {expected_out}"
        )
    opt = make_optimizer(optimizer, lr)
    rng = np.random.default_rng(seed)
    score_rng = np.random.default_rng([seed, 1])
    settings = {
        "steps": steps,
        "batch_size": batch_size,
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
    with np.errstate(over="ignore", invalid="ignore"):
        for step in tqdm(range(steps), disable=not progress, desc=f"train {net.cell.name}"):
            x, y, mask = task.sample(batch_size, rng)
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
            if snapshot_every and step % snapshot_every == 0:
                history.snapshots[step] = log_norms.mean(axis=1)
            if score_every and (step % score_every == 0 or step == steps - 1):
                history.scores[step] = _score(net, task, score_rng, batch_size, reverse_input)
            if callback is not None and callback_every and step % callback_every == 0:
                callback(step, net, history)
    for name in ("loss", "grad_norm", "grad_norm_clipped", "clipped"):
        setattr(history, name, getattr(history, name)[:done])
    return history


def _score(net, task, rng, batch_size, reverse_input) -> float:
    x, y, mask = task.sample(max(batch_size, 256), rng)
    if reverse_input:
        x = x[::-1]
    return float(task.score(net.forward(x, record=False).outputs, y, mask))
