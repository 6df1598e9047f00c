"""A cell compiled for NumPy: affine ops and generated kernels, cached on disk.

The first use of a cell derives and generates its kernels (SymPy); the source is written
atomically to the cache directory under a key of the cell definition and the package version,
and later runs import it directly, doing no symbolic work. The directory is
``$GRADTHEORY_CACHE`` if set, else ``~/.cache/gradtheory``; deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .._version import __version__
from ..io import write_atomic

__all__ = [
    "AffineOp",
    "AffineReverse",
    "AffineStep",
    "BatchNormOp",
    "KernelOp",
    "KernelReverse",
    "KernelStep",
    "Partial",
    "Plan",
    "Program",
    "Seed",
    "Stack",
    "StackEntry",
    "build_plan",
    "cache_dir",
    "load_program",
]

_MEMORY: dict[str, Program] = {}


@dataclass(frozen=True)
class AffineOp:
    """``concat(outputs) = sum(weight @ source) + bias``."""

    outputs: tuple[str, ...]
    terms: tuple[tuple[str, str], ...]
    bias: str | None


@dataclass(frozen=True)
class BatchNormOp:
    """Batch normalisation (the cell's :class:`~gradtheory.symbolic.cell.BatchNorm` stage).

    Couples the samples, so only :mod:`gradtheory.numeric.batchnorm` executes it; per-sample
    plans (:func:`build_plan`) leave it out and batch-normalised networks never use them.
    """

    stage: object


@dataclass(frozen=True)
class KernelOp:
    """A generated element-wise kernel with its non-zero partial derivatives.

    ``fused`` (None if the kernel has none) describes its fused reverse pass (see
    :mod:`gradtheory.numeric._fused`): ``saving`` computes the values and stores the function
    values the partials need, ``vjp`` maps float type name to the loop that applies the
    partials to an adjoint from them.
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    partials: tuple[tuple[str, str], ...]
    constants: dict[tuple[str, str], float]
    values: Callable
    with_partials: Callable
    fused: dict | None = None
    saving: Callable | None = None
    vjp: dict | None = None


@dataclass(frozen=True)
class Program:
    """Straight-line program of one step of a cell; see :func:`load_program`."""

    name: str
    state: tuple[str, ...]
    next_state: tuple[str, ...]
    inputs: tuple[str, ...]
    scalar_block: bool
    scalar_params: tuple[str, ...]
    ops: tuple[AffineOp | KernelOp | BatchNormOp, ...]


def cache_dir() -> Path:
    """Directory of generated kernels (``$GRADTHEORY_CACHE`` or ``~/.cache/gradtheory``)."""
    root = os.environ.get("GRADTHEORY_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "gradtheory"


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode())


def _import(path: Path, module_name: str):
    """Import a generated file, registered in ``sys.modules`` (numba's cache finds the globals
    of a compiled function through its module's name)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _generator_fingerprint() -> str:
    """Hash of the code generators' sources, so that an edited generator never reuses old kernels.

    Read from the file without importing it (the warm path must not import SymPy).
    """
    global _FINGERPRINT
    if _FINGERPRINT is None:
        folder = Path(__file__).resolve().parent.parent / "symbolic"
        digest = hashlib.sha256()
        for name in ("codegen.py", "_fusedgen.py", "_elementwise.py"):
            digest.update((folder / name).read_bytes())
        _FINGERPRINT = digest.hexdigest()[:8]
    return _FINGERPRINT


_FINGERPRINT: str | None = None


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
    key = f"{cell.key}-{__version__}-{_generator_fingerprint()}"
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
    from ..symbolic.cell import Affine, BatchNorm

    kernels = {entry["stage"]: (number, entry) for number, entry in enumerate(module.SPEC)}
    ops: list[AffineOp | KernelOp] = []
    for index, stage in enumerate(cell.stages):
        if isinstance(stage, Affine):
            ops.append(AffineOp(stage.outputs, stage.terms, stage.bias))
        elif isinstance(stage, BatchNorm):
            ops.append(BatchNormOp(stage))
        elif index in kernels:
            number, entry = kernels[index]
            fused = entry.get("fused")
            ops.append(
                KernelOp(
                    inputs=tuple(entry["inputs"]),
                    outputs=tuple(entry["outputs"]),
                    partials=tuple(tuple(p) for p in entry["partials"]),
                    constants={tuple(k.split("|")): v for k, v in entry["constants"].items()},
                    values=getattr(module, f"values_{number}"),
                    with_partials=getattr(module, f"partials_{number}"),
                    fused=fused,
                    saving=getattr(module, f"saving_{number}", None) if fused else None,
                    vjp={
                        dtype: getattr(module, f"vjp_{number}_{dtype}")
                        for dtype in ("float32", "float64")
                    }
                    if fused
                    else None,
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


# -- execution plan ----------------------------------------------------------------------------
#: Kinds of target of a partial derivative in the reverse pass.
TO_AFFINE, TO_SINK, TO_ADJ = 0, 1, 2


class AffineStep(NamedTuple):
    """Forward instruction of affine op ``index``: ``sum(weight @ source) + bias``.

    ``state_terms`` and ``input_terms`` are ``(weight, source)`` pairs whose source is a state
    name, resp. an input; ``chunks`` gives ``(name, slice)`` per output (None for one output).
    """

    index: int
    state_terms: tuple[tuple[str, str], ...]
    input_terms: tuple[tuple[str, str], ...]
    bias: str | None
    chunks: tuple[tuple[str, slice], ...] | None


class KernelStep(NamedTuple):
    """Forward instruction: run generated kernel ``number`` (``op``)."""

    number: int
    op: KernelOp


class Partial(NamedTuple):
    """One non-zero partial derivative ``d out / d inp`` of a kernel, laid out for the reverse
    pass: ``partial`` indexes the kernel's non-constant partials (-1 for a constant, then
    ``constant`` holds it); ``kind`` is where the adjoint of ``inp`` goes (``TO_AFFINE``: chunk
    ``chunk`` of affine op ``op_index``, ``TO_SINK``: a scalar parameter or input, ``TO_ADJ``: a
    named value)."""

    out: str
    inp: str
    partial: int
    constant: float
    kind: int
    op_index: int | None
    chunk: slice | None


class StackEntry(NamedTuple):
    """Chunk ``chunk`` of a stacked partial holds partial ``partial`` (or ``constant`` if -1)."""

    chunk: int
    partial: int
    constant: float


class Stack(NamedTuple):
    """Partials of kernel output ``out`` with respect to all ``count`` outputs of affine op
    ``op_index``, stored side by side (see ``Plan.stacks``); absent chunks are 0."""

    out: str
    op_index: int
    count: int
    entries: tuple[StackEntry, ...]


class KernelReverse(NamedTuple):
    """Reverse instruction of kernel ``number``: its ``partials`` and ``stacks``."""

    number: int
    partials: tuple[Partial, ...]
    stacks: tuple[Stack, ...]


class AffineReverse(NamedTuple):
    """Reverse instruction of affine op ``index``: ``adj[source] += adj[out] @ weight``."""

    index: int
    state_terms: tuple[tuple[str, str], ...]


class Seed(NamedTuple):
    """A next-state name that is an affine output itself: chunk ``chunk`` of op ``op_index``."""

    name: str
    op_index: int
    chunk: slice | None


@dataclass(frozen=True)
class Plan:
    """A program laid out for the executor at one block size (no per-step lookups).

    Attributes
    ----------
    forward : tuple of AffineStep or KernelStep
        The ops in program order (batch-normalisation stages left out).
    reverse : tuple of KernelReverse or AffineReverse
        The same ops in reverse order.
    stacks : tuple of tuple of Stack
        Per kernel, one :class:`Stack` for every affine op whose outputs the kernel reads: the
        partials of ``out`` with respect to all chunks of the op are stored side by side as one
        (T, B, chunks, n) array, so that the reverse pass forms the op's adjoint in one
        broadcast product per ``out``.
    widths : dict of int to int
        Row count of every affine op (its number of outputs times the block size).
    sinks : tuple of str
        Names whose adjoint leaves the step: scalar parameters and scalar inputs.
    seeds : tuple of Seed
        Next-state names that are affine outputs themselves.
    """

    forward: tuple[AffineStep | KernelStep, ...]
    reverse: tuple[KernelReverse | AffineReverse, ...]
    widths: dict
    sinks: tuple
    seeds: tuple[Seed, ...] = ()
    stacks: tuple[tuple[Stack, ...], ...] = ()


def build_plan(program: Program, n: int) -> Plan:
    """Lay out ``program`` for block size ``n`` (1 for custom maps).

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> build_plan(load_program(elman("tanh")), 3).widths
    {0: 3}
    """
    forward, reverse, widths, stacks = [], [], {}, []
    chunk_of: dict[str, tuple[int, slice | None]] = {}
    position: dict[str, tuple[int, int, int]] = {}  # affine output -> (op index, chunk, chunks)
    sinks = tuple(program.scalar_params) + (program.inputs if program.scalar_block else ())
    number = 0
    for index, op in enumerate(program.ops):
        if isinstance(op, BatchNormOp):
            continue  # batch-coupled: see numeric.batchnorm
        if isinstance(op, AffineOp):
            state_terms = tuple((w, s) for w, s in op.terms if s not in program.inputs)
            input_terms = tuple((w, s) for w, s in op.terms if s in program.inputs)
            single = len(op.outputs) == 1
            chunks = (
                None
                if single
                else tuple((name, slice(j * n, (j + 1) * n)) for j, name in enumerate(op.outputs))
            )
            for j, name in enumerate(op.outputs):
                chunk_of[name] = (index, None if single else slice(j * n, (j + 1) * n))
                position[name] = (index, j, len(op.outputs))
            widths[index] = len(op.outputs) * n
            forward.append(AffineStep(index, state_terms, input_terms, op.bias, chunks))
            reverse.append(AffineReverse(index, state_terms))
        else:
            pairs = []
            varying = {pair: k for k, pair in enumerate(op.partials)}
            for out in op.outputs:
                for inp in op.inputs:
                    if (out, inp) not in varying and (out, inp) not in op.constants:
                        continue
                    k = varying.get((out, inp), -1)
                    const = op.constants.get((out, inp), 0.0)
                    if inp in chunk_of:
                        target = (TO_AFFINE, *chunk_of[inp])
                    elif inp in sinks:
                        target = (TO_SINK, None, None)
                    else:
                        target = (TO_ADJ, None, None)
                    pairs.append(Partial(out, inp, k, const, *target))
            grouped: dict = {}
            for pair in pairs:
                if pair.kind == TO_AFFINE:
                    op_index, j, count = position[pair.inp]
                    entry = StackEntry(j, pair.partial, pair.constant)
                    grouped.setdefault((pair.out, op_index, count), []).append(entry)
            stacks.append(tuple(Stack(o, i, c, tuple(e)) for (o, i, c), e in grouped.items()))
            forward.append(KernelStep(number, op))
            reverse.append(KernelReverse(number, tuple(pairs), stacks[-1]))
            number += 1
    seeds = tuple(Seed(name, *chunk_of[name]) for name in program.next_state if name in chunk_of)
    return Plan(tuple(forward), tuple(reversed(reverse)), widths, sinks, seeds, tuple(stacks))
