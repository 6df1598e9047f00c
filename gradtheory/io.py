"""Saving results safely: arrays to .npz (never pickled), metadata to JSON, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["load_result", "save_result", "write_atomic"]


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
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
    """Write ``stem.npz`` (arrays, ``allow_pickle`` never needed) and ``stem.json`` (meta).

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
    np.savez(buffer, **clean)
    npz = write_atomic(_suffixed(stem, ".npz"), buffer.getvalue())
    text = json.dumps(_jsonable(meta), indent=2, sort_keys=True, allow_nan=False)
    js = write_atomic(_suffixed(stem, ".json"), text.encode())
    return npz, js


def load_result(stem: str | Path) -> tuple[dict, dict]:
    """Read what :func:`save_result` wrote (no pickle is ever loaded)."""
    stem = Path(stem)
    with np.load(_suffixed(stem, ".npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(_suffixed(stem, ".json").read_text())
    return arrays, meta
