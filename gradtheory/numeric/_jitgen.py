"""Numba source for one step of a small cell, generated from the same derivation as the kernels.

For a cell at fixed sizes (block size ``nh``, input size ``n_in``) this writes two scalar
functions, ``step(s, x, p, out, w)`` (the next state) and ``step_jac(s, x, p, out, jac, w)``
(also the step Jacobian dF/ds, propagated forward through the program: an affine op maps the
tangent of its source by its weight, a kernel by the partials that SymPy derived for the NumPy
kernels, see :func:`gradtheory.symbolic.codegen.kernel_groups`). ``p`` is every parameter of
the cell raveled into one vector (order :func:`param_layout`), ``x`` the constant input and
``w`` a work vector of ``NW`` numbers. Callers append loops (:mod:`gradtheory.analysis._compiled`)
that call these functions, and the module is written to the kernel cache and compiled by numba
with ``cache=True``: a new process imports the cached machine code and does no symbolic work.

The compiled path is used when numba imports and ``GRADTHEORY_JIT`` is not ``0``.
"""

from __future__ import annotations

import os

import numpy as np

from .. import __version__
from .program import _import, _write_atomic, cache_dir

__all__ = ["flat_params", "jit_enabled", "load", "param_layout"]

_MEMORY: dict = {}
#: Bumped whenever the generated step code changes (part of the cache file name).
_GENERATOR = "step-1"
_NUMBA: list = []  # [bool] once numba's importability is known
MAX_STATE = 16  # larger states stay on BLAS (the per-step work is matrix products)


def jit_enabled() -> bool:
    """True when compiled loops may be used (numba importable, ``GRADTHEORY_JIT`` not 0)."""
    if os.environ.get("GRADTHEORY_JIT", "1").strip() in ("0", "false", "no", "off"):
        return False
    if not _NUMBA:
        try:
            import numba  # noqa: F401

            _NUMBA.append(True)
        except Exception:  # any failure to import means: use NumPy
            _NUMBA.append(False)
    return _NUMBA[0]


def param_layout(cell, nh: int, n_in: int) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Offset and shape of every parameter of ``cell`` in the flat vector ``p``."""
    layout, offset = {}, 0
    shapes = cell.param_shapes(nh, n_in)
    for name in cell.param_names:
        shape = shapes[name]
        layout[name] = (offset, shape)
        offset += int(np.prod(shape, dtype=int))
    return layout


def flat_params(net, params: dict | None = None) -> np.ndarray:
    """Parameters of a tied network as (K, m) rows (K = 1 unless the network varies some)."""
    params = net.params if params is None else params
    layout = net.__dict__.get("_jit_layout")
    if layout is None:
        layout = net.__dict__["_jit_layout"] = param_layout(net.cell, net.n_hidden, net.n_in)
    K = getattr(net, "K", None) or 1
    size = sum(int(np.prod(shape, dtype=int)) for _, shape in layout.values())
    flat = np.empty((K, size))
    varied = getattr(net, "varied", ())
    for name, (offset, shape) in layout.items():
        width = int(np.prod(shape, dtype=int))
        value = params[name]
        flat[:, offset : offset + width] = (
            value.reshape(K, width) if name in varied else value.reshape(1, width)
        )
    return flat


def load(net, drivers: str):
    """The compiled module of ``net``'s cell at its sizes (from memory, disk, or generated)."""
    import hashlib

    tag = hashlib.sha256((drivers + _HELPERS + _GENERATOR).encode()).hexdigest()[:10]
    key = (net.cell.key, net.n_hidden, net.n_in, __version__, tag)
    module = _MEMORY.get(key)
    if module is not None:
        return module
    name = f"gradtheory_jit_{net.cell.key}_{net.n_hidden}_{net.n_in}_{tag}"
    path = cache_dir() / f"{name}.py"
    if path.exists():
        try:
            module = _import(path, name)
            if getattr(module, "KEY", None) != net.cell.key:
                module = None
        except Exception:  # a truncated or foreign file: regenerate it
            module = None
    if module is None:
        source = step_source(net.cell, net.n_hidden, net.n_in) + drivers
        _write_atomic(path, source)
        module = _import(path, name)
    _MEMORY[key] = module
    return module


# -- source generation -------------------------------------------------------------------------
_HELPERS = """
@njit(cache=True, inline="always")
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True, inline="always")
def _relu(z):
    return z if z > 0.0 else 0.0


@njit(cache=True, inline="always")
def _step(z):
    return 1.0 if z > 0.0 else 0.0


@njit(cache=True, inline="always")
def _hardtanh(z):
    return 1.0 if z > 1.0 else (-1.0 if z < -1.0 else z)


@njit(cache=True, inline="always")
def _box(z):
    return 1.0 if abs(z) < 1.0 else 0.0

"""


def _printer():
    from sympy.printing.pycode import PythonCodePrinter

    class Printer(PythonCodePrinter):
        def _helper(self, name, expr):
            return f"_{name}({self._print(expr.args[0])})"

        def _print_sigmoid(self, expr):
            return self._helper("sigmoid", expr)

        def _print_relu(self, expr):
            return self._helper("relu", expr)

        def _print_step(self, expr):
            return self._helper("step", expr)

        def _print_hardtanh(self, expr):
            return self._helper("hardtanh", expr)

        def _print_box(self, expr):
            return self._helper("box", expr)

    return Printer({"fully_qualified_modules": True, "allow_unknown_functions": False})


class _Layout:
    """Where every named vector (and its tangent) lives while the step runs."""

    def __init__(self, cell, nh, n_in):
        self.cell, self.nh, self.n_in = cell, nh, n_in
        self.n = nh * len(cell.state)
        self.params = param_layout(cell, nh, n_in)
        self.value = {name: ("s", j * nh) for j, name in enumerate(cell.state)}
        self.tangent = {name: ("I", j * nh) for j, name in enumerate(cell.state)}
        self.size = 0

    def alloc(self, count):
        offset, self.size = self.size, self.size + count
        return offset

    def load(self, name, i):
        """Source text of element ``i`` (a loop variable's name) of ``name``."""
        if name in self.cell.scalar_params:
            return f"p[{self.params[name][0]}]"
        if self.cell.scalar_block and name in self.cell.inputs:
            return f"x[{self.cell.inputs.index(name)}]"
        if name not in self.value:
            raise NotImplementedError(f"compiled step cannot read {name!r} element-wise")
        where, offset = self.value[name]
        return f"{where}[{offset} + {i}]"


def step_source(cell, nh: int, n_in: int, inline: bool = False) -> str:
    """Source of the numba module (helpers, ``step``, ``step_jac``) without the loops."""
    import sympy as sp

    from ..symbolic.cell import Affine
    from ..symbolic.codegen import kernel_groups

    printer = _printer()
    groups = {g["stage"]: g for g in kernel_groups(cell)}
    lay = _Layout(cell, nh, n_in)
    value_lines, jac_lines = [], []
    for index, stage in enumerate(cell.stages):
        if isinstance(stage, Affine):
            _affine(stage, lay, value_lines, jac_lines)
        elif index in groups:
            _kernel(groups[index], cell, lay, printer, sp, value_lines, jac_lines)
    n = lay.n
    copy_out = []
    for j, name in enumerate(cell.next_state):
        copy_out.append(f"    for i in range({nh}):")
        copy_out.append(f"        out[{j * nh} + i] = {lay.load(name, 'i')}")
    jac_out = [
        f"    for i in range({n}):",
        f"        for k in range({n}):",
        "            jac[i, k] = 0.0",
    ]
    for j, name in enumerate(cell.next_state):
        kind, offset = lay.tangent.get(name, (None, 0))
        if kind == "I":
            jac_out += [
                f"    for i in range({nh}):",
                f"        jac[{j * nh} + i, {offset} + i] = 1.0",
            ]
        elif kind == "w":
            jac_out += [
                f"    for i in range({nh}):",
                f"        for k in range({n}):",
                f"            jac[{j * nh} + i, k] = w[{offset} + i * {n} + k]",
            ]
    size = max(lay.size, 1)
    m = sum(int(np.prod(shape, dtype=int)) for _, shape in lay.params.values())
    head = [
        f"# generated by gradtheory {__version__} for {cell.name!r} (key {cell.key}), "
        f"nh={nh}, n_in={n_in}; safe to delete",
        "import math",
        "import numpy as np",
        "from numba import njit",
        "",
        f"N = {n}",
        f"NW = {size}",
        f"M = {m}",
        f"N_IN = {n_in}",
        f"KEY = {cell.key!r}",
        f"INLINE = {'always' if inline else 'never'!r}",
        _HELPERS,
        "@njit(cache=True, inline=INLINE)",
        "def step(s, x, p, out, w):",
        *value_lines,
        *copy_out,
        "",
        "",
        "@njit(cache=True, inline=INLINE)",
        "def step_jac(s, x, p, out, jac, w):",
        *jac_lines,
        *copy_out,
        *jac_out,
        "",
    ]
    return "\n".join(head) + "\n"


def _affine(stage, lay, value_lines, jac_lines):
    nh, n = lay.nh, lay.n
    rows = len(stage.outputs) * nh
    offset = lay.alloc(rows)
    body = [f"    for i in range({rows}):"]
    body.append(
        f"        acc = p[{lay.params[stage.bias][0]} + i]" if stage.bias else "        acc = 0.0"
    )
    for weight, source in stage.terms:
        w_off, (_, cols) = lay.params[weight]
        if source in lay.cell.inputs:
            src = "x[{j}]"
        else:
            where, s_off = lay.value[source]
            src = f"{where}[{s_off} + {{j}}]"
        body.append(f"        for j in range({cols}):")
        body.append(f"            acc += p[{w_off} + i * {cols} + j] * {src.format(j='j')}")
    body.append(f"        w[{offset} + i] = acc")
    value_lines += body
    jac_lines += body
    for chunk, name in enumerate(stage.outputs):
        lay.value[name] = ("w", offset + chunk * nh)
    # tangent: sum over terms whose source moves with the state
    moving = [(w, s) for w, s in stage.terms if s in lay.tangent]
    if not moving:
        return
    t_off = lay.alloc(rows * n)
    jac_lines += [f"    for i in range({rows * n}):", f"        w[{t_off} + i] = 0.0"]
    for weight, source in moving:
        w_off, (_, cols) = lay.params[weight]
        kind, s_off = lay.tangent[source]
        if kind == "I":
            jac_lines += [
                f"    for i in range({rows}):",
                f"        for j in range({cols}):",
                f"            w[{t_off} + i * {n} + {s_off} + j] += p[{w_off} + i * {cols} + j]",
            ]
        else:
            jac_lines += [
                f"    for i in range({rows}):",
                f"        for j in range({cols}):",
                f"            a = p[{w_off} + i * {cols} + j]",
                f"            for k in range({n}):",
                f"                w[{t_off} + i * {n} + k] += a * w[{s_off} + j * {n} + k]",
            ]
    for chunk, name in enumerate(stage.outputs):
        lay.tangent[name] = ("w", t_off + chunk * nh * n)


def _kernel(group, cell, lay, printer, sp, value_lines, jac_lines):
    nh, n = lay.nh, lay.n
    rename = {cell.symbol(name): sp.Symbol("v_" + name, real=True) for name in group["inputs"]}
    loads = [f"        v_{name} = {lay.load(name, 'i')}" for name in group["inputs"]]
    outputs = group["outputs"]
    exprs = [group["exprs"][o].xreplace(rename) for o in outputs]
    offsets = {o: lay.alloc(nh) for o in outputs}
    stores = [f"        w[{offsets[o]} + i] = _o{j}" for j, o in enumerate(outputs)]
    value_lines += [f"    for i in range({nh}):", *loads]
    value_lines += _assign(printer, sp, [f"_o{j}" for j in range(len(outputs))], exprs)
    value_lines += stores
    # partials with respect to inputs that move with the state
    pairs = [
        (o, inp, d.xreplace(rename))
        for (o, inp), d in group["partials"].items()
        if inp in lay.tangent
    ]
    moving_out = sorted({o for o, _, _ in pairs}, key=outputs.index)
    t_offsets = {o: lay.alloc(nh * n) for o in moving_out}
    jac_lines += [f"    for i in range({nh}):", *loads]
    jac_lines += _assign(
        printer,
        sp,
        [f"_o{j}" for j in range(len(outputs))] + [f"_d{j}" for j in range(len(pairs))],
        exprs + [d for _, _, d in pairs],
    )
    jac_lines += stores
    for o in moving_out:
        t_off = t_offsets[o]
        mine = [(j, inp) for j, (oo, inp, _) in enumerate(pairs) if oo == o]
        jac_lines += [f"        for k in range({n}):"]
        terms = [
            f"_d{j} * w[{lay.tangent[inp][1]} + i * {n} + k]"
            for j, inp in mine
            if lay.tangent[inp][0] == "w"
        ]
        jac_lines += [f"            w[{t_off} + i * {n} + k] = {' + '.join(terms) or '0.0'}"]
        for j, inp in mine:
            if lay.tangent[inp][0] == "I":
                jac_lines += [f"        w[{t_off} + i * {n} + {lay.tangent[inp][1]} + i] += _d{j}"]
    for o in outputs:
        lay.value[o] = ("w", offsets[o])
    for o in moving_out:
        lay.tangent[o] = ("w", t_offsets[o])


def _assign(printer, sp, names, exprs):
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_t"), optimizations="basic")
    lines = [f"        {symbol} = {printer.doprint(value)}" for symbol, value in replacements]
    lines += [
        f"        {name} = {printer.doprint(e)}" for name, e in zip(names, reduced, strict=True)
    ]
    return lines
