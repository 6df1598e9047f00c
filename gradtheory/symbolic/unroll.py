r"""Unroll a scalar recurrence symbolically and write its gradient as the BPTT sum of products.

For :math:`s_t = F(s_{t-1}, x_t; \theta)` the chain rule over t steps gives

.. math:: \frac{\partial s_t}{\partial \theta} = \sum_{k=1}^{t}
   \Big(\prod_{j=k+1}^{t} \frac{\partial F}{\partial s}\Big|_j\Big)
   \frac{\partial F}{\partial \theta}\Big|_k ,

a sum over the paths from every step k to step t. :func:`unroll` builds the explicit states and
this sum with the local derivatives written in step symbols (``h_j``, gate values ``z_j``...),
so that the activation derivatives are visible, e.g. ``w (1 - h_j^2)`` for the tanh Elman cell.
Vector library cells are read with n = n_in = 1: ``W, U, b`` become scalars ``w, u, b``.
Expressions grow with t, so unrolling stops at :data:`MAX_UNROLL_STEPS`; for longer chains derive
one step and loop numerically (``gt.Network(...).forward`` / ``.backward``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import sympy as sp

from .._validate import CellArg, Int, validate
from ._paths import Mat, PathSum, paths
from ._text import unrolled_text
from .cell import Affine, Cell
from .latex import CellLatexPrinter, chunk_suffix

__all__ = ["MAX_UNROLL_STEPS", "Unrolled", "unroll"]

#: Longest chain :func:`unroll` writes out symbolically.
MAX_UNROLL_STEPS = 20


def _real(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _like(base: sp.Symbol, name: str) -> sp.Symbol:
    """A symbol called ``name`` with the assumptions of ``base`` (``h`` -> ``h_3``)."""
    return sp.Symbol(name, **base.assumptions0)


@dataclass
class Unrolled:
    r"""A scalar recurrence unrolled for ``steps`` steps.

    Attributes
    ----------
    states : list of sympy.Expr
        ``states[0]`` is the initial-state symbol: the ``h0`` given to :func:`unroll`, else
        ``h_0`` (the state's name with ``_0``, with the assumptions of the cell's state symbol);
        ``states[t]`` is explicit in it, the inputs ``x_1..x_t`` and the parameters.
    params : dict of str to sympy.Symbol
        Scalar parameters (``w, u, b`` for an Elman cell, real; for a custom cell the cell's
        own symbols, e.g. the user's ``r`` for the logistic map).
    inputs : list of dict
        ``inputs[t - 1]``: input name -> symbol at step t (``x_t``, with the assumptions of the
        cell's input symbol).

    Examples
    --------
    >>> from gradtheory.cells import custom
    >>> u = unroll(custom("r*h*(1 - h)", state="h", params={"r": 3.5}), 2)
    >>> u.states[1]
    h_0*r*(1 - h_0)
    """

    cell: Cell
    steps: int
    params: dict[str, sp.Symbol] = field(default_factory=dict)
    states: list[sp.Expr] = field(default_factory=list)
    inputs: list[dict[str, sp.Symbol]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    _mats: dict[tuple[str, int], str] = field(default_factory=dict, repr=False)
    _explicit: dict[sp.Symbol, sp.Expr] = field(default_factory=dict, repr=False)
    _names: dict[str, str] = field(default_factory=dict, repr=False)
    _paths: dict[str, PathSum] = field(default_factory=dict, repr=False)

    # -- step symbols -----------------------------------------------------------------------
    @property
    def state_name(self) -> str:
        return self.cell.state[0]

    def symbol(self, name: str, j: int) -> sp.Symbol:
        """Symbol of cell name ``name`` at step ``j`` (the state at step j for the new state)."""
        if name == self.cell.next_state[0]:
            name, j = self.state_name, j + 1
        if name == self.state_name:
            if j == 1:
                return self.states[0]
            return _like(self.cell.symbol(name), f"{name}_{j - 1}")
        return _like(self.cell.symbol(name), f"{name}_{j}")

    def _at(self, expr: sp.Expr, j: int) -> sp.Expr:
        names = {*self.cell.state, *self.cell.next_state, *self.cell.inputs}
        names |= {o for stage in self.cell.stages for o in stage.outputs}
        return expr.xreplace({self.cell.symbol(n): self.symbol(n, j) for n in names})

    def _scalar(self, s: PathSum, j: int) -> sp.Expr:
        terms = []
        for key, coeff in s.items():
            factors = [self._at(coeff, j)]
            factors += [
                self.params[self._mats[(f.weight, f.chunk)]]
                if isinstance(f, Mat)
                else self._at(f, j)
                for f in key
            ]
            terms.append(sp.Mul(*factors))
        return sp.Add(*terms)

    def _down(self, seed: str) -> PathSum:
        """``d next_state / d seed`` as a path sum (cached)."""
        if seed not in self._paths:
            self._paths[seed] = paths(self.cell, seed).get(self.cell.next_state[0], {})
        return self._paths[seed]

    def _run(self, state: sp.Expr, step_in: dict[str, sp.Symbol]) -> dict[str, sp.Expr]:
        cell = self.cell
        env = {cell.state[0]: state, **step_in, **{p: self.params[p] for p in cell.scalar_params}}
        for stage in cell.stages:
            if isinstance(stage, Affine):
                for index, out in enumerate(stage.outputs):
                    env[out] = sp.Add(
                        *(self.params[self._mats[(w, index)]] * env[src] for w, src in stage.terms)
                    )
                    if stage.bias:
                        env[out] += self.params[self._mats[(stage.bias, index)]]
            else:
                for out, expr in zip(stage.outputs, stage.exprs, strict=True):
                    env[out] = expr.xreplace({s: env[s.name] for s in expr.free_symbols})
        return env

    # -- local derivatives ------------------------------------------------------------------
    def factors(self, t: int | None = None) -> list[sp.Expr]:
        """Local derivatives ``dF/ds`` at steps 1..t (``[w (1 - h_1^2), ...]`` for tanh Elman)."""
        t = self._check_t(t)
        return [self._scalar(self._down(self.state_name), j) for j in range(1, t + 1)]

    def local(self, wrt: str | sp.Symbol, j: int) -> sp.Expr:
        """``dF/d wrt`` at step ``j`` for a parameter or an input name, in step symbols."""
        name = self._param_name(wrt)
        if name in self.cell.inputs or self.cell.scalar_block:
            return self._scalar(self._down(name), j)
        total = sp.S.Zero
        for stage in self.cell.stages:
            if not isinstance(stage, Affine):
                continue
            for index, out in enumerate(stage.outputs):
                down = self._scalar(self._down(out), j)
                for w, src in stage.terms:
                    if self._mats[(w, index)] == name:
                        total += down * self._at(self.cell.symbol(src), j)
                if stage.bias and self._mats[(stage.bias, index)] == name:
                    total += down
        return total

    def _param_name(self, wrt) -> str:
        name = wrt.name if isinstance(wrt, sp.Symbol) else wrt
        if not isinstance(name, str):
            raise TypeError(f"wrt must be a name or a SymPy symbol, got {type(wrt).__name__}")
        name = self.aliases.get(name, name)
        if name not in self.params and name not in self.cell.inputs:
            raise ValueError(
                f"wrt={wrt!r} is not a parameter; parameters are {sorted(self.params)}"
            )
        if isinstance(wrt, sp.Symbol) and name in self.params and wrt != self.params[name]:
            _mismatch(wrt, self.params[name])
        return name

    def _check_t(self, t: int | None) -> int:
        t = self.steps if t is None else t
        if not isinstance(t, Integral) or isinstance(t, bool) or not 1 <= t <= self.steps:
            raise ValueError(f"t must be an integer in 1..{self.steps}, got {t!r}")
        return int(t)

    # -- gradients ---------------------------------------------------------------------------
    def gradient(
        self, wrt: str | sp.Symbol, t: int | None = None, *, explicit: bool = False
    ) -> sp.Expr:
        r"""``d s_t / d wrt`` as the BPTT sum over paths of products of local derivatives.

        Parameters
        ----------
        wrt : str or sympy.Symbol
            A parameter (``"w"``; matrix names such as ``"W"`` are accepted as aliases), the
            initial state (``"h_0"`` or ``states[0]``) or an input at one step (``"x_3"``).
        t : int, optional
            Step of the differentiated state; default ``steps``.
        explicit : bool
            If True, replace the step symbols (``h_j``, gates) by their explicit expressions,
            which gives an expression equal to ``sp.diff(states[t], wrt)``.

        Examples
        --------
        >>> from gradtheory.cells import elman
        >>> unroll(elman("tanh"), 2).gradient("h_0")
        w**2*(1 - h_1**2)*(1 - h_2**2)
        """
        t = self._check_t(t)
        terms = self.path_terms(wrt, t)
        out = sp.Add(*(sp.Mul(*factors) for factors in terms))
        return self.explicit(out) if explicit else out

    def path_terms(self, wrt: str | sp.Symbol, t: int | None = None) -> list[list[sp.Expr]]:
        """The summands of :meth:`gradient`, each a list of factors (latest step first)."""
        t = self._check_t(t)
        J = self.factors(t)
        name = wrt.name if isinstance(wrt, sp.Symbol) else wrt
        if name in (self.states[0].name, self.state_name):
            if isinstance(wrt, sp.Symbol) and name == self.states[0].name and wrt != self.states[0]:
                _mismatch(wrt, self.states[0])
            return [J[::-1]]
        for j, step in enumerate(self.inputs, start=1):
            for inp, sym in step.items():
                if name == sym.name:
                    if isinstance(wrt, sp.Symbol) and wrt != sym:
                        _mismatch(wrt, sym)
                    return [] if j > t else [[*J[j:][::-1], self.local(inp, j)]]
        self._param_name(wrt)
        return [[*J[k:][::-1], self.local(wrt, k)] for k in range(1, t + 1)]

    def explicit(self, expr: sp.Expr) -> sp.Expr:
        """Replace step symbols by their explicit expressions in ``s_0``, inputs, parameters."""
        return expr.xreplace(self._explicit)

    # -- LaTeX -----------------------------------------------------------------------------------
    def _tex(self, expr: sp.Expr) -> str:
        return CellLatexPrinter(self._names).doprint(expr)

    def _product_tex(self, factors: list[sp.Expr]) -> str:
        printer = CellLatexPrinter(self._names)
        parts = [printer.parenthesize(f, 50, strict=False) for f in factors if f != 1]
        return r" \cdot ".join(parts) if parts else "1"

    def latex(self, t: int | None = None) -> str:
        r"""The update, the local derivative and each gradient as an explicit sum of products."""
        t = self._check_t(t)
        s = lambda j: self._tex(self.symbol(self.cell.next_state[0], j))  # noqa: E731
        lines = [f"{s(j)} &= {self._tex(self.explicit_step(j))}" for j in range(1, min(t, 2) + 1)]
        lines.append(
            rf"\frac{{\partial {s(1)}}}{{\partial {self._tex(self.states[0])}}} &= "
            f"{self._tex(self.factors(1)[0])}"
        )
        for wrt in [self.states[0].name, *self.params]:
            body = " + ".join(self._product_tex(p) for p in self.path_terms(wrt, t)) or "0"
            label = self._tex(self.params[wrt] if wrt in self.params else self.states[0])
            lines.append(rf"\frac{{\partial {s(t)}}}{{\partial {label}}} &= {body}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def explicit_step(self, j: int) -> sp.Expr:
        """The update at step ``j`` in terms of the state symbol of step ``j - 1``."""
        env = self._run(self.symbol(self.state_name, j), self.inputs[j - 1])
        return env[self.cell.next_state[0]]

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def __str__(self) -> str:
        return unrolled_text(self)

    def __repr__(self) -> str:
        return f"Unrolled({self.cell.name!r}, steps={self.steps}, params={list(self.params)})"


@validate(cell=CellArg(), steps=Int(min=1))
def unroll(cell: Cell, steps: int, *, h0: sp.Symbol | None = None) -> Unrolled:
    """Unroll a one-state scalar recurrence for ``steps`` steps (at most :data:`MAX_UNROLL_STEPS`).

    Parameters
    ----------
    cell : Cell
        One state variable: a custom scalar map, or a vector library cell read with n = 1.
    steps : int
    h0 : sympy.Symbol, optional
        Your own symbol for the initial state, used as ``states[0]``; default ``h_0`` (the
        state's name with ``_0``, with the assumptions of the cell's state symbol).

    Examples
    --------
    >>> from gradtheory.cells import elman
    >>> unroll(elman("tanh"), 1).states[1]
    tanh(b + h_0*w + u*x_1)
    >>> import sympy as sp
    >>> from gradtheory.cells import custom
    >>> w, h, s0 = sp.symbols("w h s0")
    >>> unroll(custom(w * h, state=h, params=[w]), 3, h0=s0).states[3]
    s0*w**3
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a gradtheory Cell, got {type(cell).__name__}")
    if len(cell.state) != 1:
        raise ValueError(
            f"cell must have one state variable to unroll; {cell.name!r} has "
            f"state {cell.state} (derive(cell) handles several blocks)"
        )
    if not isinstance(steps, Integral) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    steps = int(steps)
    if steps > MAX_UNROLL_STEPS:
        raise ValueError(
            f"steps={steps} exceeds MAX_UNROLL_STEPS={MAX_UNROLL_STEPS}; for long "
            "chains use the numeric executor (gt.Network(...).forward / .backward)"
        )
    if h0 is not None and not isinstance(h0, sp.Symbol):
        raise TypeError(f"unroll: argument 'h0' must be a SymPy Symbol; got {h0!r}")
    u = Unrolled(cell, steps)
    taken = {*cell.state, *cell.next_state, *cell.inputs}
    taken |= {o for stage in cell.stages for o in stage.outputs}
    for stage in cell.stages:
        if isinstance(stage, Affine):
            k = len(stage.outputs)
            for w in [w for w, _ in stage.terms] + ([stage.bias] if stage.bias else []):
                for index, out in enumerate(stage.outputs):
                    base = w.lower() if w.lower() not in taken else w
                    sfx = chunk_suffix(stage.outputs, out)
                    name = f"{base}_{sfx}" if sfx else base
                    u._mats[(w, index)] = name
                    u.params[name] = _real(name)
                if k == 1:
                    u.aliases[w] = u._mats[(w, 0)]
    u.params.update({p: cell.symbol(p) for p in cell.scalar_params})
    state = cell.state[0]
    u.states.append(_like(cell.symbol(state), f"{state}_0") if h0 is None else h0)
    _check_names(u, taken)
    u._names = {p: sp.latex(sym) for p, sym in u.params.items()}
    for j in range(1, steps + 1):
        step_in = {n: u.symbol(n, j) for n in cell.inputs}
        u.inputs.append(step_in)
        env = u._run(u.states[-1], step_in)
        for out in taken - set(cell.state) - set(cell.inputs):
            u._explicit[u.symbol(out, j)] = env[out]
            latex = cell.latex_names.get(out)
            if latex and "_{t}" in latex:
                u._names[u.symbol(out, j).name] = latex.replace("_{t}", f"_{{{j}}}")
        u.states.append(env[cell.next_state[0]])
    return u


def _check_names(u: Unrolled, taken: set[str]) -> None:
    """Step symbols (``h_3``, ``x_2``, ``z_1``) must not reuse a parameter's or h0's name."""
    owner = {}
    for j in range(1, u.steps + 1):
        for name in taken:
            symbol = u.symbol(name, j)
            if symbol is not u.states[0]:
                owner.setdefault(symbol.name, f"step symbol of {name!r} at step {j}")
    if u.states[0].name in owner or u.states[0].name in u.params:
        raise ValueError(
            f"unroll: argument 'h0' must not share its name with a step symbol or a parameter; "
            f"got {u.states[0]!r}"
        )
    for p in u.params:
        if p in owner:
            raise ValueError(
                f"unroll: parameter {p!r} has the name of the {owner[p]}; rename the parameter"
            )


def _mismatch(given: sp.Symbol, own: sp.Symbol):
    raise ValueError(
        f"wrt={given!r} has the name of the unrolled symbol {own!r} but other assumptions "
        f"({given.assumptions0} vs {own.assumptions0}); pass the Unrolled's own symbol "
        f"(u.params, u.states[0], u.inputs) or its name"
    )
