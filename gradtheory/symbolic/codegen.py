"""Code generation: each run of pointwise stages becomes one plain NumPy function.

Consecutive :class:`~gradtheory.symbolic.cell.Pointwise` stages are fused into a *kernel*: its
inputs are the names it reads from outside, its outputs the names read after it. SymPy
differentiates every output with respect to every input once; common subexpressions are
eliminated (``sympy.cse``) and a NumPy printer writes two functions per kernel, ``values`` (the
outputs) and ``partials`` (the outputs and every non-constant partial derivative). Constant
partials (the 1 of a skip connection) are recorded as numbers so that the executor can skip them.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from . import _elementwise
from ._fusedgen import fused_functions
from .cell import Affine, BatchNorm, Cell, Pointwise

__all__ = ["kernel_groups", "module_source"]

_PREFIX = "v_"


class _KernelPrinter(NumPyPrinter):
    """NumPy printer that prints gradtheory's SymPy functions (``sigmoid``, ``relu``...) as calls
    of their NumPy twins, ``_rt.<name>`` (see :mod:`gradtheory.symbolic._elementwise`)."""

    def _print_Integer(self, expr):
        # A Python int beyond float64's exact range would make NumPy fall back to object arrays
        # (np.exp(10**300) fails); as a float literal it follows float64 arithmetic (inf, warns).
        value = int(expr)
        return str(value) if abs(value) < 2**53 else repr(float(value))


def _twin_printer(name: str):
    def print_call(self, expr):
        return f"_rt.{name}({self._print(expr.args[0])})"

    return print_call


for _name in _elementwise.__all__:
    setattr(_KernelPrinter, f"_print_{_name}", _twin_printer(_name))


def kernel_groups(cell: Cell) -> list[dict]:
    """Fuse consecutive pointwise stages and derive their outputs and partials.

    Returns
    -------
    list of dict
        One per kernel, in stage order, with keys ``stage`` (index of its first stage),
        ``inputs``, ``outputs``, ``exprs`` (SymPy, in real symbols of the inputs) and ``partials``
        (dict (output, input) -> SymPy derivative, non-zero only).
    """
    cell = cell.with_real_symbols()  # the executor runs on real numbers
    runs: list[list[Pointwise]] = []
    starts: list[int] = []
    previous_pointwise = False
    for index, stage in enumerate(cell.stages):
        if isinstance(stage, Pointwise):
            if not previous_pointwise:
                runs.append([])
                starts.append(index)
            runs[-1].append(stage)
        previous_pointwise = isinstance(stage, Pointwise)
    used_later = _uses_after(cell)
    groups = []
    for start, run in zip(starts, runs, strict=False):
        definitions: dict[sp.Symbol, sp.Expr] = {}
        order: list[str] = []
        for stage in run:
            for out, expr in zip(stage.outputs, stage.exprs, strict=False):
                definitions[_real(out)] = expr.xreplace(definitions)
                order.append(out)
        end = start + len(run)
        outputs = [name for name in order if name in used_later[end]]
        inputs = sorted(
            {s.name for name in outputs for s in definitions[_real(name)].free_symbols},
            key=_input_order(cell),
        )
        exprs = {name: definitions[_real(name)] for name in outputs}
        partials = {}
        for out in outputs:
            for inp in inputs:
                derivative = sp.diff(exprs[out], _real(inp))
                if derivative != 0:
                    partials[(out, inp)] = derivative
        groups.append(
            {
                "stage": start,
                "inputs": inputs,
                "outputs": outputs,
                "exprs": exprs,
                "partials": partials,
            }
        )
    return groups


def _real(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _input_order(cell: Cell):
    rank = {name: i for i, name in enumerate(cell.state + cell.inputs + tuple(cell.scalar_params))}
    for stage in cell.stages:
        for out in stage.outputs:
            rank.setdefault(out, len(rank))
    return lambda name: rank[name]


def _uses_after(cell: Cell) -> list[set[str]]:
    """``uses[k]``: names read by stages k, k+1, ... or by ``next_state``."""
    uses = [set() for _ in range(len(cell.stages) + 1)]
    uses[-1] = set(cell.next_state)
    for index in range(len(cell.stages) - 1, -1, -1):
        stage = cell.stages[index]
        read = set()
        if isinstance(stage, Affine):
            read = {source for _, source in stage.terms}
        elif isinstance(stage, BatchNorm):  # executed by numeric.batchnorm, not a kernel
            read = {stage.source}
        else:
            read = {s.name for e in stage.exprs for s in e.free_symbols}
        uses[index] = uses[index + 1] | read
    return uses


def module_source(cell: Cell, version: str) -> str:
    """Python source of a module holding every kernel of ``cell`` and its ``SPEC`` literal.

    The module imports only NumPy and ``gradtheory.numeric._runtime``.
    """
    printer = _KernelPrinter({"fully_qualified_modules": True, "allow_unknown_functions": False})
    lines = [
        f"# generated by gradtheory {version} for {cell.name!r} (key {cell.key}); safe to delete",
        "import numpy",
        "from gradtheory.numeric import _runtime as _rt",
        "",
    ]
    spec = []
    for number, group in enumerate(kernel_groups(cell)):
        rename = {_real(n): _real(_PREFIX + n) for n in group["inputs"]}
        args = ", ".join(_PREFIX + n for n in group["inputs"])
        outputs = [group["exprs"][o].xreplace(rename) for o in group["outputs"]]
        constants, varying = {}, []
        for (out, inp), derivative in group["partials"].items():
            if derivative.is_number:
                constants[f"{out}|{inp}"] = float(derivative)
            else:
                varying.append(((out, inp), derivative.xreplace(rename)))
        lines += _function(printer, f"values_{number}", args, outputs)
        lines += _function(printer, f"partials_{number}", args, outputs + [d for _, d in varying])
        fused_lines, fused = fused_functions(printer, number, group, rename)
        lines += fused_lines
        spec.append(
            {
                "stage": group["stage"],
                "inputs": list(group["inputs"]),
                "outputs": list(group["outputs"]),
                "partials": [list(k) for k, _ in varying],
                "constants": constants,
                "fused": fused,
            }
        )
    lines.append(f"SPEC = {spec!r}")
    lines.append(f"KEY = {cell.key!r}")
    return "\n".join(lines) + "\n"


def _function(printer, name: str, args: str, exprs: list[sp.Expr]) -> list[str]:
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_t"), optimizations="basic")
    body = [f"def {name}({args}):"]
    for symbol, value in replacements:
        body.append(f"    {symbol} = {printer.doprint(value)}")
    returned = ", ".join(printer.doprint(e) for e in reduced)
    body.append(f"    return ({returned},)")
    body.append("")
    return body
