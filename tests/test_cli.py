"""Tests of the gradtheory command line."""

import json

import pytest

from gradtheory.cli import cell_from_name, main


def test_list_names_claims(capsys):
    """'gradtheory list' prints the registered claims."""
    assert main(["list"]) == 0
    assert "linear_power" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "foo"],
        ["reproduce", "no_such_claim"],
        ["reproduce"],
        ["train", "gru", "--task", "nope", "--quiet"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, capsys):
    """Bad arguments: exit status 2 and a one-line reason on stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gradtheory") and "\n" not in err


def test_cell_names():
    """Cell names with and without activations resolve to the library cells."""
    assert cell_from_name("elman", "relu").name == "elman-relu"
    assert cell_from_name("highway-tanh").name == "highway-tanh"
    with pytest.raises(ValueError, match="activation"):
        cell_from_name("lstm-tanh")


def test_predict_and_verify_commands(capsys):
    """predict prints the regime; verify prints its table and exits 0 when they agree."""
    assert main(["predict", "elman-tanh", "--gain", "0.5", "--hidden", "64"]) == 0
    assert "vanishing" in capsys.readouterr().out
    assert main(["verify", "elman-tanh", "--gain", "0.5", "--hidden", "64"]) == 0
    assert "agrees" in capsys.readouterr().out


def test_reproduce_and_report(tmp_path, capsys):
    """reproduce writes the PNG, SVG and JSON of a claim; report links them in Markdown."""
    assert main(["reproduce", "linear_power", "--quick", "--outdir", str(tmp_path), "--quiet"]) == 0
    for suffix in ("png", "svg", "json"):
        assert (tmp_path / f"linear_power.{suffix}").exists()
    meta = json.loads((tmp_path / "linear_power.json").read_text())
    assert meta["numbers"]["w=1.1, T=50"] == pytest.approx(1.1**50)
    report = (tmp_path / "REPORT.md").read_text()
    assert "linear_power.png" in report and "w^T" in report
