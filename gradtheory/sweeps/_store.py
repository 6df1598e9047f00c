"""A sweep's store: one result per point, written by the sweep's own process, never by a worker.

Layout: ``DIR/<name>.npz`` (every non-None output, ``allow_pickle=False``), then
``DIR/<name>.json`` (the point, the output names and kinds, the .npz's SHA-256), each written
atomically with :func:`gradtheory.io.write_atomic`. A point is done when its JSON exists and
the .npz it names has that hash; anything else (a kill between the two writes, a torn file)
counts as missing and the point is run again. ``DIR/<name>.lock`` (created with ``O_EXCL``)
says which process is running the point, so that two sweeps sharing a store run it once; a
lock whose process is gone (same host) is broken and the point taken over.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import time
from pathlib import Path

import numpy as np

from ..io import write_atomic
from ._grid import canonical

__all__ = ["Store", "point_name"]


def point_name(fn_key: str, point: dict, version: str) -> str:
    """Name of a point's files: a hash of the function key, the point and the package version."""
    text = json.dumps({"fn": fn_key, "point": canonical(point), "version": version})
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _process_token(pid: int) -> str:
    """``host pid start-time``: names one process, even after its pid is reused."""
    start = ""
    try:  # Linux: field 22 of /proc/PID/stat is the start time in clock ticks since boot
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        pass
    return f"{socket.gethostname()} {pid} {start}"


def _alive(token: str) -> bool:
    """Whether the process a lock names still runs (locks from another host count as alive)."""
    host, pid, *start = token.split(" ")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return _process_token(int(pid)) == token if start and start[0] else True


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


class Store:
    """Results of one function's points in directory ``root`` (see the module docstring)."""

    def __init__(self, root: str | Path, fn_key: str, version: str):
        self.root = Path(root)
        self.fn_key = fn_key
        self.version = version
        self.token = _process_token(os.getpid())
        self.held: set[str] = set()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(
                f"sweep: argument 'store' must be a directory that can be created; "
                f"got {str(root)!r} ({err.strerror})"
            ) from None

    def name(self, point: dict) -> str:
        return point_name(self.fn_key, point, self.version)

    def load(self, name: str) -> dict | None:
        """The stored outputs of point ``name``, or None where it is missing or torn."""
        try:
            meta = json.loads((self.root / f"{name}.json").read_text())
            blob = (self.root / f"{name}.npz").read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(blob).hexdigest() != meta.get("npz_sha256"):
            return None
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        outputs = {}
        for key, kind in meta["outputs"]:  # a list of pairs: the function's order
            if kind == "none":
                outputs[key] = None
            elif kind == "scalar":
                outputs[key] = arrays[key].item()
            else:
                outputs[key] = arrays[key]
        return outputs

    def save(self, name: str, point: dict, outputs: dict) -> None:
        """Write the .npz, then the JSON naming its SHA-256 (both atomic)."""
        kinds = {}
        arrays = {}
        for key, value in outputs.items():
            if value is None:
                kinds[key] = "none"
                continue
            kinds[key] = "array" if isinstance(value, np.ndarray) else "scalar"
            arrays[key] = np.asarray(value)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        blob = buffer.getvalue()
        write_atomic(self.root / f"{name}.npz", blob)
        meta = {
            "function": self.fn_key,
            "point": point,
            "version": self.version,
            "outputs": list(kinds.items()),
            "npz_sha256": hashlib.sha256(blob).hexdigest(),
        }
        text = json.dumps(meta, indent=1, sort_keys=True, allow_nan=False)
        write_atomic(self.root / f"{name}.json", text.encode())

    def claim(self, name: str) -> bool:
        """Take the lock of point ``name``; False where a live process holds it."""
        lock = self.root / f"{name}.lock"
        for _ in range(3):
            try:
                handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    owner = lock.read_text()
                except FileNotFoundError:
                    continue  # released meanwhile: try again
                if owner and _alive(owner):
                    return False
                if not owner and time.time() - _mtime(lock) < 10.0:
                    return False  # being written this instant by its creator
                # Break a dead owner's lock by renaming it to a name only we use, so that two
                # sweeps that both found it dead cannot both break it and both take it.
                grave = lock.with_name(f"{lock.name}.{os.getpid()}.stale")
                try:
                    os.rename(lock, grave)
                except FileNotFoundError:
                    continue
                if grave.read_text() != owner:  # someone else's fresh lock: put it back
                    os.rename(grave, lock)
                    return False
                grave.unlink()
                continue
            with os.fdopen(handle, "w") as stream:
                stream.write(self.token)
            self.held.add(name)
            return True
        return False

    def release(self, name: str) -> None:
        if name in self.held:
            self.held.discard(name)
            (self.root / f"{name}.lock").unlink(missing_ok=True)

    def release_all(self) -> None:
        for name in list(self.held):
            self.release(name)
