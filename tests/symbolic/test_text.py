"""Plain-text forms: str(derive(cell)) and str(unroll(cell, t)) with step-indexed names."""

from __future__ import annotations

import pytest

from gradtheory.cells import custom, elman, gru, highway, irnn, lstm, residual
from gradtheory.symbolic.derive import derive
from gradtheory.symbolic.unroll import unroll

LIBRARY = [elman("tanh"), elman("relu"), irnn(), lstm(), gru(), residual("tanh"), highway()]


def test_elman_text_exact():
    """tanh Elman: update, dh[t]/dh[t-1] = diag(1 - h[t]**2) @ W and the compact gradients."""
    text = str(derive(elman("tanh")))
    assert text.splitlines()[0] == "elman-tanh: h[t] = F(h[t-1], x[t])"
    for line in (
        "  a[t] = W @ h[t-1] + U @ x[t] + b",
        "  h[t] = tanh(a[t])",
        "  dh[t]/dh[t-1] = diag(1 - h[t]**2) @ W",
        "  dL/dW += (diag(1 - h[t]**2) @ delta_h[t]) @ h[t-1]^T",
        "  dL/db += diag(1 - h[t]**2) @ delta_h[t]",
    ):
        assert line in text.splitlines()


def test_lstm_and_gru_text():
    """LSTM: c[t] = c[t-1]*f[t] + g[t]*i[t], dc[t]/dc[t-1] = diag(f[t]), stacked gate adjoints;
    GRU: h[t] = h[t-1]*z[t] + n[t]*(1 - z[t]) and shared adjoints refer to the first one."""
    lines = derive(lstm()).text().splitlines()
    assert "  c[t] = c[t-1]*f[t] + g[t]*i[t]" in lines
    assert "  dc[t]/dc[t-1] = diag(f[t])" in lines
    assert "  dL/dW += [delta_a_i[t]; delta_a_f[t]; delta_a_g[t]; delta_a_o[t]] @ h[t-1]^T" in lines
    assert any(
        ln.startswith("  delta_a_f[t] = diag(c[t-1]*f[t]*(1 - f[t])) @ delta_c[t]") for ln in lines
    )
    lines = str(derive(gru())).splitlines()
    assert "  h[t] = h[t-1]*z[t] + n[t]*(1 - z[t])" in lines
    assert "  delta_ah_r[t] = delta_ax_r[t]" in lines


def test_custom_text():
    """Scalar maps: ordinary products, the Jacobian as a matrix [a, b; c, d]."""
    cell = custom(["1 - a*x**2 + y", "b*x"], state=["x", "y"], params={"a": 1.4, "b": 0.3})
    lines = str(derive(cell)).splitlines()
    assert "  d(x[t], y[t])/d(x[t-1], y[t-1]) = [-2*a*x[t-1], 1; b, 0]" in lines
    assert "  dL/db += delta_y[t]*x[t-1]" in lines
    text = str(derive(custom("r*h*(1 - h)", state="h", params={"r": 3.0})))
    assert "diag" not in text and "dh[t]/dh[t-1] = " in text


@pytest.mark.parametrize("cell", LIBRARY, ids=lambda c: c.name)
def test_no_sympy_class_names_in_text(cell):
    """No MatMul/MatrixSymbol/BlockMatrix/Derivation( internals leak into the text."""
    text = str(derive(cell))
    for word in ("MatMul", "MatAdd", "MatrixSymbol", "BlockMatrix", "Transpose", "Derivation("):
        assert word not in text
    assert "step Jacobian:" in text and "parameter gradients" in text


def test_unrolled_text():
    """str(unroll(elman, 2)): explicit states and each gradient as a sum of path products."""
    lines = str(unroll(elman("tanh"), 2)).splitlines()
    assert "  h_1 = tanh(b + h_0*w + u*x_1)" in lines
    assert "  dh_2/dh_0 = (w*(1 - h_2**2)) * (w*(1 - h_1**2))" in lines
    assert "  dh_2/db = (w*(1 - h_2**2)) * (1 - h_1**2) + (1 - h_2**2)" in lines
    assert repr(unroll(elman("tanh"), 2)).startswith("Unrolled(")
