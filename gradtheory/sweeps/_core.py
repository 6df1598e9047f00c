"""``sweep``: run a function over a grid, resumably, wherever the points are sent.

The sweep's own process dispatches the points, collects the results and is the only writer of
the store: a worker (a pool process, a Dask worker) only computes and returns. A worker left
running after its sweep was killed therefore can never write late, and a remote cluster needs
no access to the store's disk.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import hashlib
import inspect
import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from .._progress import progress_bar
from ._executors import resolve_executor, run_point
from ._grid import expand_grid
from ._result import SweepResult
from ._store import Store, point_name

__all__ = ["defaults", "sweep"]


@dataclass(frozen=True)
class _Defaults:
    workers: int | None = None
    executor: object = None
    store_root: Path | None = None


_DEFAULTS: contextvars.ContextVar[_Defaults | None] = contextvars.ContextVar(
    "gradtheory_sweep_defaults", default=None
)


@contextlib.contextmanager
def defaults(*, workers: int | None = None, executor=None, store_root=None):
    """Where :func:`sweep` calls inside this block run, unless they say so themselves.

    A ``sweep`` called with ``store``, ``executor`` and ``workers`` all None takes them from the
    innermost ``defaults`` block: ``workers`` / ``executor`` as in :func:`sweep`, and with
    ``store_root`` the store ``store_root / <key>``, where ``<key>`` is the sweep's ``key=`` or
    else the function's ``module.name``. ``gradtheory reproduce --workers N --scheduler ADDR``
    wraps every claim in such a block, so that the sweeps a claim runs deep inside use the
    pool and resume from ``.gradtheory-store/``. Points themselves run inside an empty block:
    a sweep nested in a point runs in-process, without a store.

    Examples
    --------
    >>> from gradtheory.sweeps import defaults
    >>> with defaults(workers=None, store_root=None):
    ...     pass
    """
    if workers is not None and executor is not None:
        raise ValueError(
            f"defaults: arguments 'executor' and 'workers' exclude each other; got "
            f"executor={executor!r}, workers={workers!r}"
        )
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(
            f"defaults: argument 'workers' must be a positive integer; got {workers!r}"
        )
    if isinstance(executor, str) and "://" not in executor:
        raise ValueError(
            f"defaults: argument 'executor' must be an Executor, a dask.distributed.Client or a "
            f"scheduler address such as 'tcp://host:8786'; got {executor!r}"
        )
    token = _DEFAULTS.set(
        _Defaults(workers, executor, None if store_root is None else Path(store_root))
    )
    try:
        yield
    finally:
        _DEFAULTS.reset(token)


def _function_key(fn, key: str | None) -> str | None:
    """``key:<key>``, or the function's module path and a hash of its source (None if unknown)."""
    if key is not None:
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"sweep: argument 'key' must be a non-empty string; got {key!r}")
        return f"key:{key}"
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return None
    if module is None or qualname is None:
        return None
    return f"{module}.{qualname}:{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def _check_importable(fn) -> None:
    """A spawned worker receives ``fn`` by module and name: fail early, not once per point."""
    import pickle

    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise TypeError(
            f"sweep: argument 'fn' must be a top-level function importable by its module name "
            f"to run with 'workers'; got {fn!r} ({err})"
        ) from None


def _folder_name(fn, key: str | None) -> str:
    name = key or f"{getattr(fn, '__module__', 'fn')}.{getattr(fn, '__qualname__', 'fn')}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def sweep(
    fn,
    grid,
    *,
    store=None,
    executor=None,
    workers: int | None = None,
    progress: bool | None = None,
    key: str | None = None,
) -> SweepResult:
    """Call ``fn(**point)`` for every point of ``grid``; resumable, local or on a cluster.

    Parameters
    ----------
    fn : callable
        Returns a dict of outputs: numbers, strings, None or arrays (no objects). To run in
        other processes it must be a top-level function importable by its module name. Its
        randomness must come from the point (a ``seed`` axis, ``np.random.default_rng(seed)``).
        NumPy's legacy global generator is also seeded from the point, which makes old-style
        code reproducible except under a thread-based executor (its threads share that
        generator). Runs with one BLAS thread wherever it runs.
    grid : dict of str to sequence, or sequence of dict
        Axes whose Cartesian product (last axis fastest) gives the points, or the points.
    store : str or Path, optional
        Directory keeping one result per point (.npz, then JSON with its SHA-256; atomic).
        Points already there are not run again; failed points are not stored (retried).
        Results are named by a hash of ``fn``'s module path and source (or ``key``), the point
        and the package version. Only this process writes it, never a worker. An edit to code
        that ``fn`` calls (rather than to ``fn``) is not seen: give a new ``key`` or store.
    executor : concurrent.futures.Executor, dask.distributed.Client or str, optional
        Where points run; a string is a Dask scheduler address ("tcp://host:8786").
    workers : int, optional
        Run in a local pool of this many processes (``spawn`` start method: a script that
        uses it needs the ``if __name__ == "__main__":`` guard). A point whose worker process
        dies is reported failed (with any others running in the pool then) and the pool is
        started afresh for the rest.
    progress : bool, optional
        False: no progress bar. True or None (default): a bar on a terminal once the sweep
        has run 1 s (:mod:`gradtheory._progress`, the one way progress is shown).
    key : str, optional
        Names ``fn`` in the store instead of its module path and source.

    With ``store``, ``executor`` and ``workers`` all None the innermost :func:`defaults` apply;
    with none set either, points run one after another in this process.

    Returns
    -------
    SweepResult
        ``.records`` (finished points in grid order: point and outputs), ``.failed``.

    Raises
    ------
    ConnectionError
        ``executor`` is a scheduler address that cannot be reached.

    Examples
    --------
    >>> import gradtheory as gt
    >>> def square(x, seed):
    ...     return {"y": x * x + seed}
    >>> result = gt.sweep(square, {"x": [1, 2, 3], "seed": [0]})
    >>> [r["y"] for r in result.records]
    [1, 4, 9]
    """
    from .. import __version__

    if not callable(fn):
        raise TypeError(f"sweep: argument 'fn' must be callable; got {fn!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"sweep: argument 'progress' must be True, False or None; got {progress!r}")
    points = expand_grid(grid)
    if store is None and executor is None and workers is None:
        chosen = _DEFAULTS.get() or _Defaults()
        executor, workers = chosen.executor, chosen.workers
        if chosen.store_root is not None:
            store = chosen.store_root / _folder_name(fn, key)
    if workers is not None:
        _check_importable(fn)
    fn_key = _function_key(fn, key)
    if store is not None and fn_key is None:
        raise ValueError(
            f"sweep: argument 'key' must be given with a store when the source of 'fn' cannot "
            f"be read; got fn={fn!r}"
        )
    names = [point_name(fn_key or repr(fn), p, __version__) for p in points]
    unique = dict(zip(names, points, strict=True))  # a point given twice runs once
    state = Store(store, fn_key, __version__) if store is not None else None
    outputs: dict[str, dict] = {}
    errors: dict[str, str] = {}
    if state is not None:
        for name in unique:
            loaded = state.load(name)
            if loaded is not None:
                outputs[name] = loaded
    pending = deque(name for name in unique if name not in outputs)
    bar = progress_bar(
        len(unique), desc="sweep", enable=progress is not False, initial=len(outputs), leave=True
    )
    finished = False
    close = None
    try:
        if pending:
            pool, close, cap = resolve_executor(executor, workers)
            _run(fn, unique, pending, pool, cap, state, outputs, errors, bar)
        finished = True
    finally:
        bar.close()
        if state is not None:
            state.release_all()
        if close is not None:
            close(finished)
    records = [{**p, **outputs[n]} for n, p in zip(names, points, strict=True) if n in outputs]
    failed = [{**p, "error": errors[n]} for n, p in zip(names, points, strict=True) if n in errors]
    return SweepResult(points=points, records=records, failed=failed)


def _run(fn, unique, pending, pool, cap, state, outputs, errors, bar) -> None:
    """Dispatch ``pending`` points (claiming each in the store first) and collect results."""
    running: dict = {}
    blocked: list[str] = []

    def finish(name: str, ok: bool, value) -> None:
        if ok:
            if state is not None:
                state.save(name, unique[name], value)
            outputs[name] = value
        else:
            errors[name] = value
        if state is not None:
            state.release(name)
        bar.update(1)

    while pending or running or blocked:
        while pending and len(running) < cap:
            name = pending.popleft()
            if state is not None:
                if not state.claim(name):
                    blocked.append(name)  # another sweep is running it: wait for its result
                    continue
                loaded = state.load(name)  # finished by another sweep just before we claimed
                if loaded is not None:
                    state.release(name)
                    outputs[name] = loaded
                    bar.update(1)
                    continue
            if pool is None:
                finish(name, *run_point(fn, unique[name]))
            else:
                running[pool.submit(run_point, fn, unique[name])] = name
        if running:
            done, _ = concurrent.futures.wait(
                running, timeout=0.25, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                name = running.pop(future)
                try:
                    ok, value = future.result()
                except Exception as err:  # the worker died or the result could not come back
                    ok, value = False, f"{type(err).__name__}: {err}"
                finish(name, ok, value)
        elif blocked:
            time.sleep(0.25)
        for name in list(blocked):
            loaded = state.load(name)
            if loaded is not None:
                outputs[name] = loaded
                bar.update(1)
                blocked.remove(name)
            elif not running and not pending:
                blocked.remove(name)  # try to claim it again (its owner may have died)
                pending.append(name)


# ``gradtheory.sweep.defaults(...)`` reads naturally where ``gradtheory.sweep`` is the function.
sweep.defaults = defaults
