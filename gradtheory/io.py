"""Saving results safely: arrays to .npz (never pickled), metadata to JSON, written atomically.

A result is a pair ``stem.npz`` + ``stem.json``. The .npz is written first, then the JSON,
which carries the SHA-256 of the .npz bytes (key :data:`HASH_KEY`); each file is replaced
atomically (temporary file, fsync, ``os.replace``). A save interrupted between the two
leaves a new .npz beside the old JSON, whose hash no longer matches, and
:func:`load_result` refuses such a pair instead of returning new arrays with old metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["HASH_KEY", "MismatchedResultError", "load_result", "save_result", "write_atomic"]

#: JSON key holding the SHA-256 (hex) of the .npz written with it.
HASH_KEY = "npz_sha256"


class MismatchedResultError(ValueError):
    """The .npz and .json of a result do not belong together (an interrupted save)."""


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())  # the bytes are on disk before the name points at them
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def _suffixed(stem: Path, suffix: str) -> Path:
    """``stem`` + suffix, keeping any dots in the stem (``run.lr1e-3`` -> ``run.lr1e-3.npz``)."""
    return stem.with_name(stem.name + suffix)


def save_result(stem: str | Path, arrays: dict, meta: dict) -> tuple[Path, Path]:
    """Write ``stem.npz`` (arrays, ``allow_pickle`` never needed), then ``stem.json`` (meta).

    The JSON gets one more key, :data:`HASH_KEY`, the SHA-256 of the .npz (``meta`` must not
    use it); :func:`load_result` checks it and removes it again.

    Examples
    --------
    >>> import tempfile
    >>> stem = Path(tempfile.mkdtemp()) / "run"
    >>> [p.name for p in save_result(stem, {"loss": np.zeros(3)}, {"seed": 0})]
    ['run.npz', 'run.json']
    """
    import io

    stem = Path(stem)
    buffer = io.BytesIO()
    clean = {k: np.asarray(v) for k, v in arrays.items()}
    for key, value in clean.items():
        if value.dtype == object:
            raise TypeError(f"arrays[{key!r}] has dtype object, which .npz could only pickle")
    if HASH_KEY in meta:
        raise ValueError(f"save_result: argument 'meta' must not use the key {HASH_KEY!r}")
    np.savez(buffer, **clean)
    data = buffer.getvalue()
    # the JSON is checked before anything is written, so a bad meta never replaces the .npz
    text = json.dumps(
        {**_jsonable(meta), HASH_KEY: hashlib.sha256(data).hexdigest()},
        indent=2,
        sort_keys=True,
        allow_nan=False,
    )
    npz = write_atomic(_suffixed(stem, ".npz"), data)
    js = write_atomic(_suffixed(stem, ".json"), text.encode())
    return npz, js


def load_result(stem: str | Path) -> tuple[dict, dict]:
    """Read what :func:`save_result` wrote (no pickle is ever loaded).

    Raises :class:`MismatchedResultError` when the .npz is not the one the JSON was written
    with. Results written before the hash existed (no :data:`HASH_KEY`) load unchecked.
    """
    stem = Path(stem)
    npz_path, json_path = _suffixed(stem, ".npz"), _suffixed(stem, ".json")
    meta = json.loads(json_path.read_text())
    data = npz_path.read_bytes()
    expected = meta.pop(HASH_KEY, None)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise MismatchedResultError(
            f"load_result: {npz_path} does not match {json_path} (SHA-256 differs): the save "
            f"was interrupted between the two files; re-run or restore both"
        )
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        arrays = {k: loaded[k] for k in loaded.files}
    return arrays, meta
