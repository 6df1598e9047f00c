"""Source of the compiled time loops: a network's whole recorded forward and fused reverse pass.

For a tied network whose kernels all have a fused reverse pass (see
:mod:`gradtheory.numeric._fused`) and a scalar forward row (``step_<k>_<dtype>``, written by
:mod:`gradtheory.symbolic._fusedgen`), this writes, from the network's :class:`Plan`, two numba
functions per float type that run all T steps in one call:

* ``forward_<dtype>``: per step, the state terms of every affine op added by BLAS gemm
  (:func:`gradtheory.numeric._blas.gemm_rows`, ``beta = 1``: no add pass) to the precomputed
  input terms (or the bias), then every kernel's row function writing the next state, the
  kept values and the saved function values into the (T, ...) arrays of the NumPy executor;
* ``reverse_<dtype>``: per step, the readout's adjoint added to delta_{t+1}, the range check
  and rescaling of :mod:`gradtheory.numeric.backward` (same bounds, same steps), each kernel's
  ``vjp`` loop and the adjoint products through the recurrent weights, into the same arrays
  as the per-step reverse loop (weight gradients stay one product after the loop).

Where each named value lives is resolved here, once: a state block is a column range of
``S[t]`` (its adjoint of ``H[t]``), a next-state value one of ``S[t + 1]`` (``H[t + 1]``), an
affine output one of ``A<i>[t]`` (``G<i>[t]``), any other kernel output ``K_<name>[t]`` (its
adjoint a (B, n) work array). :func:`loop_source` returns None for a plan it does not cover
(the per-step paths remain): affine outputs that are next-state values, adjoints that flow
into a next-state value within a step, blocks that are not n wide.
"""

from __future__ import annotations

from .program import AffineStep, KernelStep

__all__ = ["GENERATOR", "affine_mode", "loop_source"]

#: Part of the cache key of generated loop modules (bump when the generated code changes).
GENERATOR = "loop-1"


#: Work arrays of :func:`gradtheory.numeric._blas.gemm_rows`, allocated once per loop.
_GEMM_WORK = ("    GI = numpy.empty(7, numpy.int32)", "    GS = numpy.empty(2, numpy.{d})")


def _gemm(a: str, b: str, c: str, beta: str) -> str:
    """The loop line ``c = a @ b + beta c`` (see :func:`gradtheory.numeric._blas.gemm_rows`)."""
    return f"        gemm_rows(GEMM, {a}, {b}, {c}, numpy.{{d}}({beta}), GI, GS)"


def affine_mode(ins: AffineStep) -> str:
    """How the forward loop forms affine op ``ins`` at step t before its state terms:
    ``"input"``: one input term (with the bias as one more input column) by gemm, in the loop
    (the (B, width) block stays in cache for the state terms and the kernel, instead of three
    passes of BLAS over a (T, B, width) array: its beta = 0 fill, then read and write);
    ``"pre"``: several input terms, precomputed for all steps; ``"bias"``: the bias copied;
    ``"set"``: nothing (the first state term overwrites)."""
    if len(ins.input_terms) == 1:
        return "input"
    if ins.input_terms:
        return "pre"
    return "bias" if ins.bias else "set"


def _layout(net):
    """(blocks: name -> column block index, next: name -> block index, chunk: name ->
    (op index, chunk index, single), kept: set) or None if not covered."""
    program, plan, n = net.program, net.plan, net.n_hidden
    blocks = {}
    for name, sl in net._blocks:
        if sl.stop - sl.start != n or sl.start % n:
            return None
        blocks[name] = sl.start // n
    following = dict(zip(program.next_state, (blocks[s] for s in program.state), strict=True))
    chunk = {}
    for ins in plan.forward:
        if isinstance(ins, AffineStep):
            outputs = program.ops[ins.index].outputs
            for j, name in enumerate(outputs):
                if name in following:
                    return None  # a seed: the per-step path handles it
                chunk[name] = (ins.index, j, len(outputs) == 1)
    kept = {
        name
        for ins in plan.forward
        if isinstance(ins, KernelStep)
        for name in ins.op.outputs
        if name not in following
    }
    return blocks, following, chunk, kept


def _forward(net, dtype: str, layout) -> tuple[list[str], list[str]] | None:
    blocks, following, chunk, kept = layout
    plan, single = net.plan, len(blocks) == 1
    env = {}  # name -> (2-D array expression at step t, column offset, full row)
    for name, j in blocks.items():
        env[name] = ("S[t]", f"{j} * n", single)
    for name, j in following.items():
        env[name] = ("S[t + 1]", f"{j} * n", single)
    for name, (i, j, one) in chunk.items():
        env[name] = (f"A{i}[t]", f"{j} * n", one)
    for name in kept:
        env[name] = (f"K_{name}[t]", "0", True)
    args, setup, body = ["T", "B", "n", "keep", "S", "GEMM"], list(_GEMM_WORK), []
    weights, kernels = [], []
    for ins in plan.forward:
        if isinstance(ins, AffineStep):
            i = ins.index
            args.append(f"A{i}")
            mode = affine_mode(ins)
            if mode == "pre" and not ins.state_terms:
                continue
            if mode == "input":  # COL<i>[t] = [state-term sources, x_t, 1]: see _loops
                args += [f"COL{i}", f"UT{i}"]
                start = f"{len(ins.state_terms)} * n"
                body.append(_gemm(f"COL{i}[t][:, {start}:]", f"UT{i}", f"A{i}[t]", "0.0"))
            if mode == "bias":
                args.append(f"BIAS{i}")
                body += [
                    f"        R = A{i}[t]",
                    "        for b in range(B):",
                    "            for c in range(R.shape[1]):",
                    f"                R[b, c] = BIAS{i}[c]",
                ]
            for k, (weight, source) in enumerate(ins.state_terms):
                if source not in env:
                    return None
                weights.append(f"WT_{weight}")
                array, offset, full = env[source]
                block = array if full else f"{array}[:, {offset}:{offset} + n]"
                beta = "0.0" if mode == "set" and k == 0 else "1.0"
                if mode == "input":  # the source's values for the weight gradient's product
                    body += [
                        f"        X = {array}",
                        f"        R = COL{i}[t]",
                        "        for b in range(B):",
                        "            for u in range(n):",
                        f"                R[b, {k} * n + u] = X[b, {offset} + u]",
                    ]
                body.append(_gemm(block, f"WT_{weight}", f"A{i}[t]", beta))
        else:
            op, number = ins.op, ins.number
            if not op.fused.get("step"):
                return None
            kernels.append(f"F{number}")
            call = ["B", "n"]
            for name in op.inputs:
                if name not in env:
                    return None
                array, offset, _ = env[name]
                call += [array, offset]
            call.append(f"F{number}[t * keep]")
            for name in op.outputs:
                array, offset, _ = env[name]
                call += [array, offset]
            body.append(f"        step_{number}_{{d}}({', '.join(call)})")
    args += sorted(set(weights)) + kernels + [f"K_{name}" for name in sorted(kept)]
    head = [f"def forward_{{d}}({', '.join(args)}):", *setup, "    for t in range(T):"]
    lines = [line.replace("{d}", dtype) for line in head + body]
    return [line.replace("{{d}}", dtype) for line in lines] + [""], args


_CHECK = """\
        if has_local:
            L_t = L[t]
            if scaled:
                for b in range(B):
                    q = 0.0
                    for u in range(n):
                        q += numpy.float64(L_t[b, u]) * numpy.float64(L_t[b, u])
                    if q > 0.0:
                        new_scale = max(LS[b], numpy.log(numpy.sqrt(q)))
                        keep_f = numpy.{d}(numpy.exp(LS[b] - new_scale))
                        add_f = numpy.{d}(numpy.exp(-new_scale))
                        for u in range(D.shape[1]):
                            D[b, u] *= keep_f
                        for u in range(n):
                            D[b, u] += L_t[b, u] * add_f
                        LS[b] = new_scale
            else:
                for b in range(B):
                    for u in range(n):
                        D[b, u] += L_t[b, u]
        if countdown == 0:
            countdown = every
            high_seen, low_seen, nan_seen = False, False, False
            for b in range(B):
                q = 0.0
                for u in range(D.shape[1]):
                    q += numpy.float64(D[b, u]) * numpy.float64(D[b, u])
                Q[b] = q
                nan_seen = nan_seen or q != q
                high_seen = high_seen or q > high2
                low_seen = low_seen or q < low2
            if (high_seen or low_seen) and not nan_seen:
                for b in range(B):
                    if Q[b] > high2 or (Q[b] < low2 and Q[b] > 0.0):
                        norm = numpy.sqrt(Q[b])
                        norm_f = numpy.{d}(norm)
                        for u in range(D.shape[1]):
                            D[b, u] /= norm_f
                        LS[b] += numpy.log(norm)
                        scaled = True
        countdown -= 1
        if scaled:
            for b in range(B):
                SR[t + 1, b] = LS[b]
        for b in range(B):  # delta_{t+1} is final: its squared norm, while in cache
            q = 0.0
            for u in range(D.shape[1]):
                q += numpy.float64(D[b, u]) * numpy.float64(D[b, u])
            SQ[t + 1, b] = q
"""


def _reverse(net, dtype: str, layout) -> tuple[list[str], list[str]] | None:
    blocks, following, chunk, _ = layout
    plan, single, program = net.plan, len(blocks) == 1, net.program
    args = ["T", "B", "n", "every", "high2", "low2", "has_local", "H", "L", "LS", "SR", "SQ"]
    args.append("GEMM")
    args += [f"G{i}" for i in sorted(plan.widths)]
    setup = ["    Z = numpy.zeros((B, n), numpy.{d})", "    Q = numpy.empty(B, numpy.float64)"]
    setup += list(_GEMM_WORK)
    body, others, weights, extra = [], set(), [], []

    def where(name):  # the adjoint's (array, offset, full row)
        if name in following:
            return ("D", f"{following[name]} * n", single)
        if name in blocks:
            return ("N", f"{blocks[name]} * n", single)
        if name in chunk:
            i, j, one = chunk[name]
            return (f"G{i}[t]", f"{j} * n", one)
        others.add(name)
        return (f"O_{name}", "0", True)

    has = set(following)  # names whose adjoint exists at this point of the step
    for ins in plan.reverse:
        if hasattr(ins, "number"):
            number = ins.number
            op = next(f.op for f in plan.forward if getattr(f, "number", -1) == number)
            fused = op.fused
            call = ["B", "n"]
            for k, _ in enumerate(fused["needed"]):
                extra += [f"N{number}_{k}", f"o{number}_{k}", f"h{number}_{k}"]
                call += [f"N{number}_{k}[t + h{number}_{k}]", f"o{number}_{k}"]
            extra.append(f"F{number}")
            call.append(f"F{number}[t]")
            for name in fused["outputs"]:
                call += list(where(name)[:2]) if name in has else ["Z", "0"]
            for name in fused["targets"]:
                if name in following:
                    return None
                call += [*where(name)[:2], str(name in has)]
                has.add(name)
            body.append(f"        vjp_{number}_{{d}}({', '.join(call)})")
            continue
        i = ins.index
        names = program.ops[i].outputs
        done = [name for name in names if name in has]
        if not done:
            body.append(f"        G{i}[t][:, :] = 0.0")
            continue
        for j, name in enumerate(names):
            if name not in has:
                body.append(f"        G{i}[t][:, {j} * n:{j + 1} * n] = 0.0")
        for weight, source in ins.state_terms:
            if source in following:
                return None
            weights.append(f"W_{weight}")
            array, offset, full = where(source)
            block = array if full else f"{array}[:, {offset}:{offset} + n]"
            beta = "1.0" if source in has else "0.0"
            body.append(_gemm(f"G{i}[t]", f"W_{weight}", block, beta))
            has.add(source)
    for name, j in blocks.items():
        if name not in has:
            body.append(f"        N[:, {j} * n:{j + 1} * n] = 0.0")
    setup += [f"    O_{name} = numpy.empty((B, n), numpy.{{d}})" for name in sorted(others)]
    args += sorted(set(weights)) + extra
    head = [f"def reverse_{{d}}({', '.join(args)}):", *setup]
    head += ["    countdown = 0", "    scaled = False", "    for t in range(T - 1, -1, -1):"]
    head += ["        D = H[t + 1]", "        N = H[t]", *_CHECK.rstrip("\n").split("\n")]
    lines = head + body + ["    return scaled", ""]
    return [line.replace("{{d}}", dtype).replace("{d}", dtype) for line in lines], args


def loop_source(net, kernel_module: str) -> tuple[str, dict] | None:
    """Source of the loop module of ``net`` (both float types) and each function's argument
    names, or None if the plan is not covered (see module)."""
    layout = _layout(net)
    if layout is None:
        return None
    lines = [
        f"# generated by gradtheory ({GENERATOR}) for {net.program.name!r}; safe to delete",
        "import sys",
        "import numba",
        "import numpy",
        "from gradtheory.numeric import _scalarmath",
        "from gradtheory.numeric._blas import gemm_rows",
        f"_K = sys.modules[{kernel_module!r}]",
        "_K._sm = _scalarmath  # the generated kernels' scalar activations",
        "",
    ]
    names = {}
    numbers = [ins.number for ins in net.plan.forward if isinstance(ins, KernelStep)]
    for dtype in ("float32", "float64"):
        for number in numbers:
            for kind in ("step", "vjp"):
                name = f"{kind}_{number}_{dtype}"
                lines.append(f"{name} = numba.njit(error_model='numpy')(_K.{name})")
        for build in (_forward, _reverse):
            made = build(net, dtype, layout)
            if made is None:
                return None
            source, args = made
            lines += source
            names[source[0][4 : source[0].index("(")]] = args
    return "\n".join(lines) + "\n", names
