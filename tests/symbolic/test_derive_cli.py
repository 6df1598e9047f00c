"""`gradtheory derive CELL [--latex]`: the CLI prints the LaTeX or the plain-text derivation."""

from __future__ import annotations

from gradtheory.cli import main


def test_derive_lstm_latex(capsys):
    """LaTeX: Hadamard products, sigma gates, diag, f_t and the stacked gate adjoints."""
    assert main(["derive", "lstm", "--latex"]) == 0
    out = capsys.readouterr().out
    for piece in (r"\odot", r"\sigma", r"\operatorname{diag}", "f_{t}", r"\delta^{\tilde{f}}_{t}"):
        assert piece in out
    assert out.strip().startswith(r"\begin{aligned}") and out.strip().endswith(r"\end{aligned}")


def test_derive_gru_text(capsys):
    """Plain text (no --latex): the GRU update and its Jacobian, not a repr."""
    assert main(["derive", "gru"]) == 0
    out = capsys.readouterr().out
    assert "Derivation(" not in out
    assert "h[t] = h[t-1]*z[t] + n[t]*(1 - z[t])" in out
    assert "n[t] = tanh(ah_n[t]*r[t] + ax_n[t])" in out
    assert "dh[t]/dh[t-1] = diag(z[t]) + " in out
