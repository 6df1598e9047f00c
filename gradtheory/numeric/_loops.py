"""Compiled time loops: a tied network's forward pass and fused reverse pass in one call each.

The per-step executors (:mod:`gradtheory.numeric._execute`, :mod:`gradtheory.numeric.backward`)
make a dozen Python, NumPy and numba calls per time step; on small blocks ((B, n) = (32, 32))
those calls, not the arithmetic, are the step's cost. Where :mod:`gradtheory.numeric._loopgen`
covers a network (tied; every kernel with a fused reverse pass and a scalar row, see
:func:`usable`), the whole loop over steps runs as one generated numba function per pass and
float type, with the recurrent products as BLAS gemm calls inside it. It fills the same
arrays as the per-step paths (states, affine pre-activations, kept and saved values; the
adjoint history, the affine adjoints and the log-scales), so everything before and after the
loop (the input-term product, the tape, the weight-gradient product, the norms) is shared.

The module is generated once per cell and written next to the kernels with ``cache=True``
(numba's machine code in ``__pycache__`` there): a new process compiles nothing.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from . import _execute, _fused
from ._blas import gemm_functions
from ._jitgen import jit_enabled
from ._loopgen import GENERATOR, affine_mode, loop_source
from .program import AffineStep, KernelOp, _generator_fingerprint, _import, _write_atomic, cache_dir
from .trajectory import Tape

__all__ = ["forward", "reverse", "usable"]

_MODULES: dict = {}  # loop-module key -> {function name: (dispatcher, argument names)} or None
_BY_PROGRAM: dict = {}  # id(program) -> (program, _MODULES entry)
_FINGERPRINT: list = []
_USABLE: dict = {}  # (id(program), dtype) -> (program, bool)
_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}  # (.name is slow)


def _fingerprint() -> str:
    """Hash of the loop generator's source (an edited generator never reuses old loops)."""
    if not _FINGERPRINT:
        source = Path(__file__).with_name("_loopgen.py").read_bytes()
        _FINGERPRINT.append(hashlib.sha256(source).hexdigest()[:8])
    return _FINGERPRINT[0]


def _functions(net):
    """The compiled loop functions of ``net``'s cell (None where the plan is not covered)."""
    known = _BY_PROGRAM.get(id(net.program))  # the warm path: no key to compute
    if known is not None and known[0] is net.program:
        return known[1]
    kernels = [op for op in net.program.ops if isinstance(op, KernelOp)]
    key = f"{net.cell.key}-{__version__}-{_generator_fingerprint()}-{GENERATOR}-{_fingerprint()}"
    if key not in _MODULES:
        _MODULES[key] = None
        _MODULES[key] = _build(net, kernels, key)
    _BY_PROGRAM[id(net.program)] = (net.program, _MODULES[key])
    return _MODULES[key]


def _build(net, kernels, key):
    if kernels[0].values.__module__ not in sys.modules:
        return None  # a kernel module built in memory (no writable cache): per-step paths
    made = loop_source(net, kernels[0].values.__module__)
    if made is None:
        return None
    source, names = made
    import numba

    module_name = f"gradtheory_loops_{key.replace('-', '_').replace('.', '_')}"
    path = cache_dir() / f"{module_name}.py"
    module, cache = None, False
    in_file = getattr(sys.modules.get(kernels[0].values.__module__), "__file__", None)
    if in_file is not None:  # numba caches only functions of a module importable from a file
        try:
            if not path.exists() or path.read_text() != source:
                _write_atomic(path, source)
            module, cache = _import(path, module_name), True
        except OSError:
            module = None
    if module is None:
        import types

        module = types.ModuleType(module_name)
        exec(compile(source, f"<{module_name}>", "exec"), module.__dict__)  # our own code
    plain = numba.njit(cache=cache, error_model="numpy")
    # the reverse loop's only multi-term sums are its float64 sums of squares (range checks,
    # adjoint norms): reassociation lets LLVM vectorise them (no other flag: NaN stays NaN)
    summing = numba.njit(cache=cache, error_model="numpy", fastmath={"reassoc"})
    return {
        name: ((summing if name.startswith("reverse") else plain)(getattr(module, name)), args)
        for name, args in names.items()
    }


def _call(net, dtype, function, args):
    """``function(*args)``; None, and the per-step paths from then on for this program, if
    numba cannot compile it (a kernel expression the scalar printer got wrong: the loop
    failed before touching any array)."""
    from numba.core.errors import NumbaError

    try:
        result = function(*args)
    except NumbaError as error:
        _USABLE[(id(net.program), dtype)] = (net.program, False)
        warnings.warn(
            f"compiled time loop of {net.program.name!r} not compiled ({type(error).__name__}); "
            "using the per-step executor",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    return True if result is None else result


def usable(net, dtype) -> bool:
    """True if ``net`` runs its recorded passes as compiled loops at ``dtype``."""
    if not net.tied or not jit_enabled():
        return False
    dtype = np.dtype(dtype)
    key = (id(net.program), dtype)  # the rest depends on the program only: checked once
    known = _USABLE.get(key)
    if known is None or known[0] is not net.program:
        known = _USABLE[key] = (
            net.program,
            dtype in _NAMES and _fused.usable(net, dtype) and _functions(net) is not None,
        )
    return known[1]


def forward(net, x: np.ndarray, state: np.ndarray, record: bool):
    """The forward pass as one compiled loop; see :func:`gradtheory.numeric._execute.execute`.

    Returns (states, tape or None, totals), or None when the loop does not apply.
    """
    dtype = np.dtype(net.dtype)
    if np.result_type(state, x, dtype) != dtype or not usable(net, dtype):
        return None
    plan, n, pool = net.plan, net.n_hidden, _execute.pool_of(net)
    steps, batch = x.shape[0], x.shape[1]
    states = pool.empty("states", (steps + 1, batch, net.n_state), dtype)
    states[0] = state
    modes = {ins.index: affine_mode(ins) for ins in plan.forward if isinstance(ins, AffineStep)}
    pre = _execute.input_terms(net, x, None) if "pre" in modes.values() else {}
    values = {"T": steps, "B": batch, "n": n, "keep": int(record), "S": states}
    values["GEMM"] = gemm_functions()[_NAMES[dtype]]
    totals, columns = {}, {}
    for ins in plan.forward:
        if not isinstance(ins, AffineStep):
            continue
        index, mode = ins.index, modes[ins.index]
        if mode == "pre":
            total = np.ascontiguousarray(pre[index], dtype)
        else:
            total = pool.empty(f"total{index}", (steps, batch, plan.widths[index]), dtype)
        if mode == "input":  # [state-term sources, x, 1]: the input product's operand per
            # step, and (the loop filling in the sources) the weight gradient's after it
            bias, sources = ins.bias is not None, len(ins.state_terms) * n
            width = sources + x.shape[2] + bias
            columns[index] = pool.empty(f"columns{index}", (steps, batch, width), dtype)
            columns[index][:, :, sources : sources + x.shape[2]] = x
            weight = net.params[ins.input_terms[0][0]]
            if bias:
                columns[index][:, :, -1] = 1.0
                weight = np.concatenate([weight, net.params[ins.bias][:, None]], axis=1)
            values[f"COL{index}"] = columns[index]
            values[f"UT{index}"] = np.ascontiguousarray(weight.T, dtype)
        if mode == "bias":
            values[f"BIAS{index}"] = np.ascontiguousarray(net.params[ins.bias], dtype)
        totals[index] = values[f"A{index}"] = total
        for weight, _ in ins.state_terms:
            values[f"WT_{weight}"] = np.ascontiguousarray(net.params[weight].T, dtype)
    next_slot = {
        name: sl for (_, sl), name in zip(net._blocks, net.program.next_state, strict=True)
    }
    kept = {}
    for ins in plan.forward:
        if not isinstance(ins, AffineStep):
            for name in ins.op.outputs:
                if name not in next_slot:
                    kept[name] = values[f"K_{name}"] = pool.empty(
                        f"kept-{name}", (steps, batch, n), dtype
                    )
    if record:
        saved = _fused.saved_arrays(net, steps, batch, dtype, pool)
    else:
        kernels = [op for op in net.program.ops if isinstance(op, KernelOp)]
        saved = [
            pool.empty(f"saved-step{k}", (1, op.fused["count"], batch, n), dtype)
            for k, op in enumerate(kernels)
        ]
    for k, array in enumerate(saved):
        values[f"F{k}"] = array
    function, args = _functions(net)[f"forward_{_NAMES[dtype]}"]
    if not _call(net, dtype, function, [values[name] for name in args]):
        return None
    tape = None
    if record:
        env = _execute._tape_env(net, x, states, totals, kept, {}, next_slot)
        tape = Tape(net, env, np.zeros(steps, dtype=int), saved=saved)
        tape.columns = columns  # read by backward._gather (a slice of the tape drops them)
    return states, tape, totals


def reverse(net, tape, history, local, log_scale, scale_rec, g_affine, bounds):
    """The reverse loop of :func:`gradtheory.numeric.backward.backward` as one compiled call.

    Fills ``history[:T]`` (the adjoints, rescaled as there), ``g_affine`` and, once some
    adjoint has been rescaled, ``log_scale`` and ``scale_rec``. ``bounds`` is (HIGH, LOW, K)
    of ``backward._RANGE``.

    Returns
    -------
    scaled : bool
        Whether some adjoint was rescaled.
    squares : ndarray, shape (T+1, B)
        Squared norms (float64) of the history rows 1..T, taken as each became final; row 0
        is left for the caller.
    """
    dtype = history.dtype
    steps, batch, n = len(tape), history.shape[1], net.n_hidden
    high, low, every = bounds
    has_local = local is not None
    local = np.ascontiguousarray(local, dtype) if has_local else np.zeros((1, batch, n), dtype)
    values = {
        "T": steps, "B": batch, "n": n, "every": every, "high2": high * high,
        "low2": low * low, "has_local": has_local, "H": history, "L": local,
        "LS": log_scale, "SR": scale_rec, "GEMM": gemm_functions()[_NAMES[dtype]],
        "SQ": np.empty((steps + 1, batch)),
    }  # fmt: skip
    for index, g in g_affine.items():
        values[f"G{index}"] = g
    for ins in net.plan.forward:
        if isinstance(ins, AffineStep):
            for weight, _ in ins.state_terms:
                values[f"W_{weight}"] = np.ascontiguousarray(net.params[weight], dtype)
            continue
        number = ins.number
        for k, name in enumerate(ins.op.fused["needed"]):
            parent, offset, shift = _fused._seat(tape.env[name])
            values[f"N{number}_{k}"] = parent
            values[f"o{number}_{k}"], values[f"h{number}_{k}"] = offset, shift
        values[f"F{number}"] = tape.saved[number]
    function, args = _functions(net)[f"reverse_{_NAMES[dtype]}"]
    scaled = _call(net, dtype, function, [values[name] for name in args])
    return None if scaled is None else (bool(scaled), values["SQ"])
