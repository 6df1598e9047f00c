"""LaTeX output: textbook notation (diag, Hadamard, transposes, sigma), no SymPy internals."""

from __future__ import annotations

import pytest
import sympy as sp

from gradtheory.cells import custom, elman, gru, highway, irnn, lstm, residual
from gradtheory.symbolic.derive import derive
from gradtheory.symbolic.latex import CellLatexPrinter, cell_latex, chunk_latex
from gradtheory.symbolic.registry import ACTIVATIONS

INTERNALS = (
    "Lambda",
    "DiagMatrix",
    "PermuteDims",
    "HadamardProduct",
    "MatrixSymbol",
    "Function",
    "Diag(",
    "MatMul",
    "MatAdd",
    "Transpose",
    "BlockMatrix",
    "Symbol",
    "\\mathbb{I}",
)
LIBRARY = [
    *(elman(a) for a in ACTIVATIONS),
    irnn(),
    lstm(),
    gru(),
    residual("tanh"),
    residual("relu"),
    highway(),
]


def test_elman_tanh_jacobian_latex_exact():
    """The tanh Elman step Jacobian prints as the textbook diag(1 - h_t^2) W."""
    assert (
        derive(elman("tanh")).latex_jacobian() == r"\operatorname{diag}\left(1 - h_{t}^{2}\right) W"
    )


def test_residual_and_lstm_block_latex_exact():
    """Residual: I + W_2 diag(1 - u_t^2) W_1; LSTM cell-to-cell block: diag(f_t)."""
    assert derive(residual("tanh")).latex_jacobian() == (
        r"I + W_{2} \operatorname{diag}\left(1 - u_{t}^{2}\right) W_{1}"
    )
    d = derive(lstm())
    assert (
        d.printer.doprint(d.block_jacobians[("c", "c")]) == r"\operatorname{diag}\left(f_{t}\right)"
    )


def test_lstm_latex_uses_hadamard_sigma_and_gate_chunks():
    """LSTM derivation: c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t with σ gates and chunks W_f, and the
    parameter gradients use δ and transposes ^⊤."""
    text = derive(lstm()).latex()
    for piece in (
        r"\odot",
        r"\sigma",
        "W_{f}",
        r"\delta^{c}_{t}",
        r"h_{t-1}^{\top}",
        r"\tanh{\left(c_{t} \right)}",
        r"\operatorname{diag}",
    ):
        assert piece in text
    assert r"c_{t} &= c_{t-1} \odot f_{t} + g_{t} \odot i_{t}" in text
    assert text.startswith("\\begin{aligned}") and text.endswith("\\end{aligned}")
    assert derive(lstm())._repr_latex_().startswith("$$\\begin{aligned}")


@pytest.mark.parametrize("cell", LIBRARY, ids=lambda c: c.name)
def test_no_sympy_internals_in_any_derivation(cell):
    """Every library derivation prints without SymPy class names leaking into the LaTeX."""
    text = derive(cell).latex()
    for word in INTERNALS:
        assert word not in text, word


def test_scalar_cells_use_ordinary_multiplication():
    """Custom scalar maps print products as ordinary multiplication (no ⊙)."""
    text = derive(custom("r*h*(1 - h)", state="h", params={"r": 3.5})).latex()
    assert r"\odot" not in text
    assert r"h_{t} &= h_{t-1} r \left(1 - h_{t-1}\right)" in text


def test_printer_pieces():
    """Printer rules: names table, ⊙ only between vectors, ^{\\top} for transposes, chunk names."""
    f, c = sp.Symbol("f"), sp.Symbol("c")
    names = {"f": "f_{t}", "c": "c_{t-1}", "h": "h_{t-1}"}
    vec = CellLatexPrinter(names, hadamard=True)
    assert vec.doprint(f * c) == r"c_{t-1} \odot f_{t}"
    assert vec.doprint(2 * f) == r"2 f_{t}"
    assert vec.doprint(-f * c) == r"- c_{t-1} \odot f_{t}"
    assert vec.doprint(f * (1 - f)) == r"f_{t} \odot \left(1 - f_{t}\right)"
    assert CellLatexPrinter(names).doprint(f * c) == r"c_{t-1} f_{t}"
    w = sp.MatrixSymbol("W_f", 3, 3)
    assert CellLatexPrinter({"W_f": "W_{f}"}).doprint(w.T) == r"W_{f}^{\top}"
    assert chunk_latex("W", "f") == "W_{f}" and chunk_latex("b_{x}", "r") == "b_{x,r}"
    assert cell_latex(sp.Symbol("i") * sp.Symbol("g"), lstm()) == r"g_{t} \odot i_{t}"


def test_stacked_parameter_gradients_define_each_chunk_adjoint_once():
    r"""LSTM: one line \delta^{\tilde{f}}_{t} = ... per gate, then dL/dW += [\delta^{\tilde i}_t;
    ...] h_{t-1}^T; no diag(...) repeated inside the gradient lines (textbook BPTT layout)."""
    lines = derive(lstm()).latex().splitlines()
    column = (
        r"\left[\begin{matrix}\delta^{\tilde{i}}_{t}\\\delta^{\tilde{f}}_{t}\\"
        r"\delta^{\tilde{g}}_{t}\\\delta^{\tilde{o}}_{t}\end{matrix}\right]"
    )
    assert (
        rf"\frac{{\partial L}}{{\partial W}} &\mathrel{{+}}= {column} h_{{t-1}}^{{\top}} \\"
        in lines
    )
    assert (
        rf"\frac{{\partial L}}{{\partial U}} &\mathrel{{+}}= {column} x_{{t}}^{{\top}} \\" in lines
    )
    assert rf"\frac{{\partial L}}{{\partial b}} &\mathrel{{+}}= {column}" in lines
    for gate in "ifgo":
        (line,) = [ln for ln in lines if ln.startswith(rf"\delta^{{\tilde{{{gate}}}}}_{{t}} &= ")]
        assert r"\operatorname{diag}" in line
    assert not any(r"\partial L" in ln and r"\operatorname{diag}" in ln for ln in lines)


def test_gru_shared_adjoints_refer_to_the_first_definition():
    r"""GRU: r and z read a^x + a^h, so \delta^{\tilde{r}^{h}} = \delta^{\tilde{r}^{x}}; the
    candidate's hidden chunk differs (it is gated by r_t)."""
    text = derive(gru()).latex()
    assert r"\delta^{\tilde{r}^{h}}_{t} &= \delta^{\tilde{r}^{x}}_{t} \\" in text
    assert r"\delta^{\tilde{z}^{h}}_{t} &= \delta^{\tilde{z}^{x}}_{t} \\" in text
    assert r"\delta^{\tilde{n}^{h}}_{t} &= \operatorname{diag}\left(r_{t} \odot" in text


def test_elman_parameter_gradients_stay_compact():
    """Single-chunk cells keep dL/dW += (diag(1 - h_t^2) delta_t) h_{t-1}^T, no adjoint lines."""
    lines = derive(elman("tanh")).latex().splitlines()
    assert (
        r"\frac{\partial L}{\partial W} &\mathrel{+}= \left(\operatorname{diag}\left(1 - "
        r"h_{t}^{2}\right) \delta_{t}\right) h_{t-1}^{\top} \\"
    ) in lines
    assert not any(ln.startswith(r"\delta") for ln in lines)
