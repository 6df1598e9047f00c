"""Where points run: in-process, a local ``spawn`` process pool, any Executor, or Dask.

Every point runs through :func:`run_point`, in-process too: one BLAS thread (threadpoolctl),
NumPy's legacy global generator seeded from the point itself, and errors turned into text, so
that a point's numbers never depend on where or in which order it ran.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import multiprocessing
import os
import threading
import time
import traceback

import numpy as np
from threadpoolctl import threadpool_limits

from ._grid import canonical

__all__ = ["resolve_executor", "run_point"]

#: Seconds to wait for a Dask scheduler named by its address before giving up.
CONNECT_TIMEOUT = 10.0


def _normalise(outputs, point: dict) -> dict:
    """Check ``fn``'s return value: a dict of str to scalars, None or arrays (never objects)."""
    if not isinstance(outputs, dict):
        raise TypeError(f"the function must return a dict of outputs; got {type(outputs).__name__}")
    clean = {}
    for key, value in outputs.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"output names must be identifiers; got {key!r}")
        if key in point:
            raise ValueError(f"output {key!r} has the name of a grid axis")
        if value is None:
            clean[key] = None
            continue
        if isinstance(value, np.ndarray) or not np.isscalar(value):
            array = np.asarray(value)
            if array.dtype == object:
                raise TypeError(f"output {key!r} is not numeric or text: {value!r}")
            clean[key] = array
        else:
            clean[key] = np.asarray(value).item()
    return clean


def run_point(fn, point: dict) -> tuple[bool, object]:
    """``fn(**point)`` with one BLAS thread; (True, outputs) or (False, error text)."""
    from ._core import defaults

    digest = hashlib.sha256(canonical(point).encode()).digest()
    # Code that draws from NumPy's legacy global generator gets numbers fixed by the point too;
    # the caller's generator state is put back afterwards (points may run in-process).
    saved = np.random.get_state()  # noqa: NPY002
    np.random.seed(int.from_bytes(digest[:4], "little"))  # noqa: NPY002
    try:
        with threadpool_limits(limits=1, user_api="blas"), defaults():
            return True, _normalise(fn(**point), point)
    except Exception as err:
        lines = traceback.format_exception_only(type(err), err)
        return False, "".join(lines).strip()
    finally:
        np.random.set_state(saved)  # noqa: NPY002


def _exit_with_parent(parent: int) -> None:
    """Pool-worker initializer: exit as soon as the sweep's process is gone (killed, say)."""

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "sweep: argument 'executor' names a Dask scheduler, but dask.distributed is not "
            "installed (pip install 'gradtheory[dask]')"
        ) from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConnectionError(
            f"sweep: argument 'executor': cannot reach the Dask scheduler at {address!r} "
            f"within {CONNECT_TIMEOUT:g} s ({reason})"
        ) from None


def _dask_cap(client) -> int:
    try:
        return max(2 * sum(client.nthreads().values()), 2)
    except Exception:  # a cluster still starting its workers: any modest cap will do
        return 64


def resolve_executor(executor, workers):
    """(Executor or None for in-process, ``close(wait)`` for what was opened here, in-flight cap).

    The cap (twice the workers) keeps points queued here rather than in the executor, so that
    a point is locked in a shared store only shortly before it runs.
    """
    if executor is not None and workers is not None:
        raise ValueError(
            f"sweep: arguments 'executor' and 'workers' exclude each other; got "
            f"executor={executor!r}, workers={workers!r}"
        )
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ValueError(
                f"sweep: argument 'workers' must be a positive integer; got {workers!r}"
            )
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=int(workers),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        return pool, lambda wait: pool.shutdown(wait=wait, cancel_futures=True), 2 * int(workers)
    if executor is None:
        return None, lambda wait: None, 1
    if isinstance(executor, str):
        if "://" not in executor:
            raise ValueError(
                f"sweep: argument 'executor' must be an Executor, a dask.distributed.Client or a "
                f"scheduler address such as 'tcp://host:8786'; got {executor!r}"
            )
        client = _dask_client(executor)
        return client.get_executor(pure=False), lambda wait: client.close(), _dask_cap(client)
    if isinstance(executor, concurrent.futures.Executor):
        cap = 2 * (getattr(executor, "_max_workers", None) or 32)
        return executor, lambda wait: None, cap
    if type(executor).__module__.startswith("distributed") and hasattr(executor, "get_executor"):
        return executor.get_executor(pure=False), lambda wait: None, _dask_cap(executor)
    raise TypeError(
        f"sweep: argument 'executor' must be a concurrent.futures.Executor, a "
        f"dask.distributed.Client or a scheduler address; got {type(executor).__name__}"
    )
