"""The command's output for scripts and people: ``--json`` is strict JSON carrying the result's
numbers, tables are aligned, ``--plot FILE`` writes the result's figure in FILE's format."""

import json

import pytest

from gradtheory.cli import main


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_predict_json_matches_the_library(capsys):
    """predict --json holds what gt.predict returns for the same network (linear route: the
    rate is ln rho(W), Bengio et al. 1994), so scripts need not parse the table."""
    import numpy as np

    import gradtheory as gt

    assert main(["predict", "elman-linear", "--gain", "0.5", "--hidden", "8", "--json"]) == 0
    record = _json(capsys)
    net = gt.Network(gt.cells.elman("linear"), n_in=1, n_hidden=8, gain=0.5, seed=0)
    rho = np.abs(np.linalg.eigvals(net.params["W"])).max()
    assert record["method"] == "linear"
    assert record["rate"] == pytest.approx(np.log(rho), rel=1e-12)
    assert record["regime"] == "vanishing"


def test_predict_table_is_aligned(capsys):
    """Every row's value starts in the same column."""
    assert main(["predict", "elman-tanh", "--gain", "0.5", "--hidden", "16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {len(line) - len(line.split("  ")[-1].lstrip()) for line in lines}
    assert len(lines) >= 4 and len(starts) == 1


def test_verify_json_and_plot(tmp_path, capsys):
    """verify --json: strict JSON (inf/nan as strings) with agrees and the exit status 0 when
    they agree; --plot writes a PNG."""
    figure = tmp_path / "verify.png"
    argv = ["verify", "elman-tanh", "--gain", "0.5", "--hidden", "16", "--T", "80"]
    assert main([*argv, "--json", "--plot", str(figure)]) == 0
    record = _json(capsys)
    assert record["agrees"] is True
    assert record["predicted"]["regime"] == "vanishing"
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_train_json_plot_and_bad_plot_suffix(tmp_path, capsys):
    """train --json reports the per-step loss of the run; clipping at 0.01 clips every step;
    an unknown figure suffix is refused before any training (exit 2, one line)."""
    figure = tmp_path / "history.svg"
    argv = ["train", "gru", "--T", "8", "--steps", "6", "--hidden", "4", "--clip", "0.01"]
    assert main([*argv, "--json", "--plot", str(figure)]) == 0
    record = _json(capsys)
    assert len(record["loss"]) == record["steps"] == 6
    assert record["clipped_steps"] == 6
    assert figure.read_text().lstrip().startswith("<?xml")
    assert main([*argv, "--plot", str(tmp_path / "history.gif")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--plot" in err and "\n" not in err
    assert not (tmp_path / "history.gif").exists()
