"""Code generation for the fused reverse pass: kernel partials as polynomials of saved values.

The partial derivatives of a kernel are, after differentiation, expressions in the kernel's
inputs and in function applications (``sigmoid(a_i)``, ``tanh(c_new)``): SymPy writes the
derivative of ``sigmoid`` as ``sigmoid (1 - sigmoid)`` and that of ``tanh`` as ``1 - tanh^2``.
If the forward pass stores the value of every such application (the *saved* values), the
vector-Jacobian product of the kernel, ``adj[in] = sum_out adj[out] d out / d in``, needs no
transcendental function at all: it is arithmetic on saved values, which a compiler vectorises.

For one kernel group (see :func:`gradtheory.symbolic.codegen.kernel_groups`) this writes:

* ``saving_<k>(inputs..., f_0, f_1, ...)``: NumPy, the kernel's outputs, and every saved value
  written into the preallocated array ``f_j`` (``out=``, no copy);
* ``vjp_<k>_<dtype>(...)``: a plain loop over (row, unit) for numba (see
  :mod:`gradtheory.numeric._fused`), one per float type so that constants keep the type.

A kernel whose partials contain anything but arithmetic once the saved values are substituted
gets neither (the executor then uses the stacked NumPy partials).
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

__all__ = ["fused_functions"]

#: Float types a vjp function is written for.
DTYPES = ("float32", "float64")


class _LoopPrinter(PythonCodePrinter):
    """Scalar arithmetic for numba: typed float constants, small integer powers as products."""

    def __init__(self, dtype: str):
        super().__init__({"fully_qualified_modules": True})
        self.dtype = dtype

    def _print_Integer(self, expr):
        return f"numpy.{self.dtype}({float(expr)!r})"

    def _print_Rational(self, expr):
        return f"numpy.{self.dtype}({float(expr)!r})"

    def _print_Float(self, expr):
        return f"numpy.{self.dtype}({float(expr)!r})"

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp.is_Integer and 1 <= abs(int(exp)) <= 4:
            product = "*".join([f"({self._print(base)})"] * abs(int(exp)))
            return product if int(exp) > 0 else f"numpy.{self.dtype}(1.0)/({product})"
        return f"({self._print(base)})**({self._print(exp)})"


def _arithmetic(expr: sp.Expr) -> bool:
    """True if ``expr`` is built from symbols and numbers by +, * and powers with number
    exponents only."""
    if expr.is_Symbol or expr.is_Number:
        return True
    if expr.is_Add or expr.is_Mul:
        return all(_arithmetic(a) for a in expr.args)
    if expr.is_Pow:
        return expr.args[1].is_Number and _arithmetic(expr.args[0])
    return False


def saved_values(partials: dict) -> tuple[list[sp.Expr], dict]:
    """The function applications the partials need, in evaluation order, and the partials
    rewritten in symbols ``f_0, f_1, ...`` standing for them (None if not arithmetic then)."""
    applications = set()
    for derivative in partials.values():
        applications |= derivative.atoms(sp.Function)
    ordered = sorted(applications, key=sp.default_sort_key)
    symbol = {app: sp.Symbol(f"f_{j}", real=True) for j, app in enumerate(ordered)}
    rewritten = {key: d.xreplace(symbol) for key, d in partials.items()}
    used = set().union(*(d.free_symbols for d in rewritten.values())) if rewritten else set()
    kept = [app for app in ordered if symbol[app] in used]
    # evaluation order: an application whose argument holds another one comes after it
    kept.sort(key=lambda app: (len(app.atoms(sp.Function)), sp.default_sort_key(app)))
    names = {app: sp.Symbol(f"f_{j}", real=True) for j, app in enumerate(kept)}
    rewritten = {key: d.xreplace(names) for key, d in partials.items()}
    if not all(_arithmetic(d) for d in rewritten.values()):
        return kept, None
    return kept, rewritten


def _lines(printer, exprs: list, prefix: str) -> tuple[list[str], list[str]]:
    """CSE of ``exprs``: the assignment lines (4 spaces deep) and the reduced expressions."""
    replacements, reduced = sp.cse(
        exprs, symbols=sp.numbered_symbols(prefix), optimizations="basic"
    )
    lines = [f"    {symbol} = {printer.doprint(value)}" for symbol, value in replacements]
    return lines, [printer.doprint(e) for e in reduced]


def _reduced(group: dict, kept: list, rename: dict, prefix: str):
    """``(names, replacements, reduced)``: each kept function value as a symbol ``f_j``
    (``names``), and the common subexpressions (symbols ``<prefix>0, ...``) of the kept
    values' arguments followed by the kernel's outputs, inputs renamed by ``rename``."""
    names = {app: sp.Symbol(f"f_{j}", real=True) for j, app in enumerate(kept)}
    arg_exprs = []
    for app in kept:
        inner = {other: names[other] for other in kept if other != app}
        arg_exprs += [a.xreplace(inner).xreplace(rename) for a in app.args]
    outputs = [group["exprs"][o].xreplace(names).xreplace(rename) for o in group["outputs"]]
    replacements, reduced = sp.cse(
        arg_exprs + outputs, symbols=sp.numbered_symbols(prefix), optimizations="basic"
    )
    return names, replacements, reduced


def _in_order(pending: list, what: str) -> list[str]:
    """The lines of ``pending`` ``(symbol, value, line)`` entries, each after the entries whose
    symbols its value uses (CSE orders its own assignments; the function calls slot in once
    their inputs exist)."""
    pending, local, done, lines = list(pending), {s for s, _, _ in pending}, set(), []
    while pending:
        for k, (symbol, value, line) in enumerate(pending):
            if (value.free_symbols & local) <= done:
                lines.append(line)
                done.add(symbol)
                del pending[k]
                break
        else:
            raise RuntimeError(f"{what}: circular saved values")  # not reachable
    return lines


def _saving(printer, number: int, group: dict, rename: dict, kept: list) -> list[str]:
    """NumPy source of ``saving_<number>``: outputs, with the saved values written in place.

    One CSE over the saved values' arguments and the outputs; its assignments and the calls
    that fill ``f_j`` are emitted in dependency order (an argument may use an earlier ``f_j``).
    """
    import numpy

    args = ", ".join([f"v_{n}" for n in group["inputs"]] + [f"f_{j}" for j in range(len(kept))])
    names, replacements, reduced = _reduced(group, kept, rename, "_t")
    pending = [
        (symbol, value, f"    {symbol} = {printer.doprint(value)}")
        for symbol, value in replacements
    ]
    position = 0
    for j, app in enumerate(kept):
        call_args = reduced[position : position + len(app.args)]
        position += len(app.args)
        placeholders = [sp.Symbol(f"ARG{i}") for i in range(len(app.args))]
        text = printer.doprint(app.func(*placeholders))
        head = text[: -len("(ARG0)")] if text.endswith("(ARG0)") else None
        ufunc = (
            head is not None
            and head.startswith("numpy.")
            and isinstance(getattr(numpy, head[len("numpy.") :], None), numpy.ufunc)
        )
        if ufunc or head == "_rt.sigmoid":  # in place: no temporary, no copy
            line = f"    {head}({printer.doprint(call_args[0])}, out=f_{j})"
        else:
            for i, arg in enumerate(call_args):
                text = text.replace(f"ARG{i}", f"({printer.doprint(arg)})")
            line = f"    numpy.copyto(f_{j}, {text})"
        pending.append((names[app], sp.Tuple(*call_args), line))
    body = [f"def saving_{number}({args}):", *_in_order(pending, f"saving_{number}")]
    returned = ", ".join(printer.doprint(e) for e in reduced[position:])
    body.append(f"    return ({returned},)")
    return [*body, ""]


def _vjp(number: int, group: dict, rewritten: dict, kept: list, dtype: str) -> tuple[list, dict]:
    """numba-ready source of ``vjp_<number>_<dtype>`` and its argument layout."""
    printer = _LoopPrinter(dtype)
    targets = [i for i in group["inputs"] if any((o, i) in rewritten for o in group["outputs"])]
    adjoints = []
    for inp in targets:
        terms = [
            sp.Symbol(f"g_{o}", real=True) * rewritten[(o, inp)]
            for o in group["outputs"]
            if (o, inp) in rewritten
        ]
        adjoints.append(sp.Add(*terms))
    free = set().union(*(e.free_symbols for e in adjoints))
    needed = [i for i in group["inputs"] if sp.Symbol(i, real=True) in free]
    outs = [o for o in group["outputs"] if sp.Symbol(f"g_{o}", real=True) in free]
    saved = [j for j in range(len(kept)) if sp.Symbol(f"f_{j}", real=True) in free]
    rename = {sp.Symbol(i, real=True): sp.Symbol(f"v_{i}") for i in needed}
    args = ["B", "n"]
    args += [a for i in needed for a in (f"X_{i}", f"ox_{i}")]
    args += ["F"]
    args += [a for o in outs for a in (f"G_{o}", f"og_{o}")]
    args += [a for i in targets for a in (f"R_{i}", f"or_{i}", f"m_{i}")]
    body = [f"def vjp_{number}_{dtype}({', '.join(args)}):"]
    body += [f"    T_{i} = numpy.empty(n, numpy.{dtype})" for i in targets]
    body.append("    for b in range(B):")
    body.append("        for u in range(n):")
    body += [f"            v_{i} = X_{i}[b, ox_{i} + u]" for i in needed]
    body += [f"            f_{j} = F[{j}, b, u]" for j in saved]
    body += [f"            g_{o} = G_{o}[b, og_{o} + u]" for o in outs]
    lines, reduced = _lines(printer, [e.xreplace(rename) for e in adjoints], "_u")
    body += ["        " + line for line in lines]
    body += [f"            T_{i}[u] = {value}" for i, value in zip(targets, reduced, strict=True)]
    for i in targets:  # separate copy loops: each touches two arrays, so it vectorises
        body += [
            f"        if m_{i}:",
            "            for u in range(n):",
            f"                R_{i}[b, or_{i} + u] += T_{i}[u]",
            "        else:",
            "            for u in range(n):",
            f"                R_{i}[b, or_{i} + u] = T_{i}[u]",
        ]
    layout = {"needed": needed, "saved": saved, "outputs": outs, "targets": targets}
    return [*body, ""], layout


class _ScalarPrinter(_LoopPrinter):
    """Scalar kernel values for numba: activations as ``_sm.<name>_<dtype>`` (see
    :mod:`gradtheory.numeric._scalarmath`), ``exp`` and ``log`` as NumPy's scalar functions."""

    def _print_Function(self, expr):
        name = type(expr).__name__
        if name in _SCALAR and len(expr.args) == 1:
            return f"_sm.{name}_{self.dtype}({self._print(expr.args[0])})"
        raise ValueError(f"no scalar function for {name}")

    _print_tanh = _print_exp = _print_log = _print_Function

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"


#: Functions with a scalar numba version in ``gradtheory.numeric._scalarmath`` (or NumPy).
_SCALAR = ("sigmoid", "tanh", "relu", "step", "hardtanh", "box")


def _print_scalar_call(printer, app, args: list) -> str:
    name = type(app).__name__
    if name in ("exp", "log"):
        return f"numpy.{name}({printer.doprint(args[0])})"
    return printer.doprint(app.func(*args))


def _step_row(number: int, group: dict, rename: dict, kept: list, dtype: str) -> list[str]:
    """numba-ready source of ``step_<number>_<dtype>``: the kernel's outputs and saved values
    for one (B, n) step, element by element (the compiled time loop's forward kernel).

    Arguments: ``B, n``, then ``X_<in>, ox_<in>`` per input (a 2-D array and the column offset
    of the input's block), ``F`` (count, B, n) for the saved values, ``O_<out>, oo_<out>`` per
    output; the same values as ``saving_<number>`` up to the rounding of the activations.
    """
    printer = _ScalarPrinter(dtype)
    rename_v = {sp.Symbol(n, real=True): sp.Symbol(f"v_{n}") for n in group["inputs"]}
    names, replacements, reduced = _reduced(group, kept, rename_v, "_s")
    pending = [(s, v, f"{s} = {printer.doprint(v)}") for s, v in replacements]
    position = 0
    for j, app in enumerate(kept):
        call_args = reduced[position : position + len(app.args)]
        position += len(app.args)
        pending.append((names[app], sp.Tuple(*call_args), f"f_{j} = " + _print_scalar_call(
            printer, app, call_args)))  # fmt: skip
    lines = _in_order(pending, f"step_{number}")
    ins, outs = group["inputs"], group["outputs"]
    count = len(kept)
    args = ["B", "n"] + [a for i in ins for a in (f"X_{i}", f"ox_{i}")] + ["F"]
    args += [a for o in outs for a in (f"O_{o}", f"oo_{o}")]
    # one work array for the inputs, one for the results: the element loop then touches two
    # arrays only, which LLVM vectorises (with one overlap check); the copies are plain loops
    body = [f"def step_{number}_{dtype}({', '.join(args)}):"]
    body.append(f"    WI = numpy.empty(({len(ins)}, n), numpy.{dtype})")
    body.append(f"    WO = numpy.empty(({count + len(outs)}, n), numpy.{dtype})")
    body.append("    for b in range(B):")
    for k, i in enumerate(ins):
        body += ["        for u in range(n):", f"            WI[{k}, u] = X_{i}[b, ox_{i} + u]"]
    body.append("        for u in range(n):")
    body += [f"            v_{i} = WI[{k}, u]" for k, i in enumerate(ins)]
    body += ["            " + line for line in lines]
    body += [f"            WO[{j}, u] = f_{j}" for j in range(count)]
    body += [
        f"            WO[{count + k}, u] = {printer.doprint(e)}"
        for k, e in enumerate(reduced[position:])
    ]
    for j in range(count):
        body += ["        for u in range(n):", f"            F[{j}, b, u] = WO[{j}, u]"]
    for k, o in enumerate(outs):
        body += [
            "        for u in range(n):",
            f"            O_{o}[b, oo_{o} + u] = WO[{count + k}, u]",
        ]
    if any("math." in line for line in body):  # a C library call numba would not vectorise
        raise ValueError(f"step_{number}: no scalar loop for this kernel")
    return [*body, ""]


def fused_functions(printer, number: int, group: dict, rename: dict) -> tuple[list, dict | None]:
    """Source lines of ``saving_<number>`` and ``vjp_<number>_<dtype>`` for one kernel group,
    and its SPEC entry (None, and no lines, if the partials are not arithmetic in saved values).

    ``printer`` and ``rename`` are the kernel printer and input renaming of ``codegen``.
    """
    if not group["partials"]:
        return [], None
    kept, rewritten = saved_values(group["partials"])
    if rewritten is None:
        return [], None
    lines = _saving(printer, number, group, rename, kept)
    layout = None
    for dtype in DTYPES:
        more, layout = _vjp(number, group, rewritten, kept, dtype)
        lines += more
    try:  # the compiled time loop's forward kernel (absent: the loop path is not used)
        steps = [line for dtype in DTYPES for line in _step_row(number, group, rename, kept, dtype)]
    except ValueError:
        steps = []
    return lines + steps, {"count": len(kept), "step": bool(steps), **layout}
