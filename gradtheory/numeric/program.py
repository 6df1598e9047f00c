"""A cell compiled for NumPy: affine ops and generated kernels, cached on disk.

The first use of a cell derives and generates its kernels (SymPy); the source is written
atomically to the cache directory under a key of the cell definition and the package version,
and later runs import it directly, doing no symbolic work. The directory is
``$GRADTHEORY_CACHE`` if set, else ``~/.cache/gradtheory``; deleting it is always safe.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import __version__

__all__ = ["AffineOp", "KernelOp", "Program", "cache_dir", "load_program"]

_MEMORY: dict[str, Program] = {}


@dataclass(frozen=True)
class AffineOp:
    """``concat(outputs) = sum(weight @ source) + bias``."""

    outputs: tuple[str, ...]
    terms: tuple[tuple[str, str], ...]
    bias: str | None


@dataclass(frozen=True)
class KernelOp:
    """A generated element-wise kernel with its non-zero partial derivatives."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    partials: tuple[tuple[str, str], ...]
    constants: dict[tuple[str, str], float]
    values: Callable
    with_partials: Callable


@dataclass(frozen=True)
class Program:
    """Straight-line program of one step of a cell; see :func:`load_program`."""

    name: str
    state: tuple[str, ...]
    next_state: tuple[str, ...]
    inputs: tuple[str, ...]
    scalar_block: bool
    scalar_params: tuple[str, ...]
    ops: tuple[AffineOp | KernelOp, ...]


def cache_dir() -> Path:
    """Directory of generated kernels (``$GRADTHEORY_CACHE`` or ``~/.cache/gradtheory``)."""
    root = os.environ.get("GRADTHEORY_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "gradtheory"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _import(path: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_program(cell, *, use_disk: bool = True) -> Program:
    """Compile ``cell`` to a :class:`Program`, from memory, the disk cache, or by derivation.

    Parameters
    ----------
    cell : gradtheory.symbolic.cell.Cell
    use_disk : bool
        Read and write the on-disk cache (False forces a fresh derivation in memory).

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> load_program(elman("tanh")).ops[0].outputs
    ('a',)
    """
    key = f"{cell.key}-{__version__}"
    if key in _MEMORY and use_disk:
        return _MEMORY[key]
    module_name = f"gradtheory_kernels_{key.replace('-', '_').replace('.', '_')}"
    path = cache_dir() / f"{module_name}.py"
    module = None
    if use_disk and path.exists():
        try:
            module = _import(path, module_name)
            if getattr(module, "KEY", None) != cell.key:
                module = None
        except Exception:  # a truncated or foreign file: regenerate it
            module = None
    if module is None:
        from ..symbolic.codegen import module_source

        source = module_source(cell, __version__)
        if use_disk:
            try:
                _write_atomic(path, source)
                module = _import(path, module_name)
            except OSError:
                module = None
        if module is None:
            module = _module_from_source(source, module_name)
    program = _assemble(cell, module)
    if use_disk:
        _MEMORY[key] = program
    return program


def _module_from_source(source: str, module_name: str):
    import types

    module = types.ModuleType(module_name)
    exec(compile(source, f"<{module_name}>", "exec"), module.__dict__)  # our own generated code
    return module


def _assemble(cell, module) -> Program:
    from ..symbolic.cell import Affine

    kernels = {entry["stage"]: (number, entry) for number, entry in enumerate(module.SPEC)}
    ops: list[AffineOp | KernelOp] = []
    for index, stage in enumerate(cell.stages):
        if isinstance(stage, Affine):
            ops.append(AffineOp(stage.outputs, stage.terms, stage.bias))
        elif index in kernels:
            number, entry = kernels[index]
            ops.append(
                KernelOp(
                    inputs=tuple(entry["inputs"]),
                    outputs=tuple(entry["outputs"]),
                    partials=tuple(tuple(p) for p in entry["partials"]),
                    constants={tuple(k.split("|")): v for k, v in entry["constants"].items()},
                    values=getattr(module, f"values_{number}"),
                    with_partials=getattr(module, f"partials_{number}"),
                )
            )
    return Program(
        name=cell.name,
        state=cell.state,
        next_state=cell.next_state,
        inputs=cell.inputs,
        scalar_block=cell.scalar_block,
        scalar_params=tuple(cell.scalar_params),
        ops=tuple(ops),
    )
