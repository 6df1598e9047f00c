"""``gradtheory sweep train|verify`` and ``reproduce --workers/--scheduler`` (issue 12, item 4):
grid syntax (comma lists, half-open integer ranges), bad input (one line, exit 2), a failing
point (exit 1), the CSV, resume from the store, and the defaults reaching a claim's sweeps."""

from __future__ import annotations

import pandas as pd
import pytest

import gradtheory as gt
from gradtheory._cli_sweep import parse_values
from gradtheory.cli import main
from gradtheory.sweeps import _executors


def test_values_are_comma_lists_and_half_open_integer_ranges():
    assert parse_values("50,100,200", "--T", int) == [50, 100, 200]
    assert parse_values("0:5", "--seed", int) == [0, 1, 2, 3, 4]
    assert parse_values("3,0:2", "--seed", int) == [3, 0, 1]
    assert parse_values("1e-3, 0.01", "--lr", float) == [0.001, 0.01]
    assert parse_values("none,1.5", "--clip", float, default=None) == [None, 1.5]
    assert parse_values("gru,lstm", "CELL") == ["gru", "lstm"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--T", "50,,abc"], "argument '--T' must be integers separated by commas (or start:stop"),
        (["--seed", "5:2"], "argument '--seed' must be ranges start:stop with start < stop"),
        (["--seed", "2:2"], "with start < stop (stop excluded); got '2:2'"),
        (["--T", "5:x"], "argument '--T' must be integer ranges start:stop; got '5:x'"),
        (
            ["--lr", "0.1,fast"],
            "argument '--lr' must be a finite number > 0; got 'fast' in",
        ),
        (["--gain", "1.0:2.0"], "argument '--gain' must be a finite number"),
        (["--workers", "0"], "argument '--workers' must be a positive integer"),
        (["--workers", "2", "--scheduler", "tcp://h:1"], "exclude each other"),
    ],
)
def test_bad_grid_syntax_is_one_line_and_exit_2(capsys, options, message):
    assert main(["sweep", "train", "gru", "--steps", "2", *options]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("gradtheory sweep: error: ")
    assert message in captured.err


def test_unreachable_scheduler_is_one_line_and_exit_2(capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(_executors, "CONNECT_TIMEOUT", 1.0)
    code = main(["sweep", "verify", "elman", "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith(
        "gradtheory sweep: error: argument '--scheduler': cannot reach the Dask scheduler at "
        "'tcp://127.0.0.1:9'"
    )
    assert captured.err.count("\n") == 1


def test_train_grid_writes_one_row_per_point_and_resumes(tmp_path, capsys):
    """The numbers are those of gt.train called directly with the same settings."""
    out, store = tmp_path / "grid.csv", tmp_path / "store"
    argv = [
        "sweep",
        "train",
        "gru",
        "--task",
        "adding",
        "--T",
        "6,8",
        "--seed",
        "0:2",
        "--steps",
        "3",
        "--hidden",
        "4",
        "--store",
        str(store),
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert list(zip(table["seed"], table["T"], strict=True)) == [(0, 6), (0, 8), (1, 6), (1, 8)]
    assert table["steps_done"].tolist() == [3] * 4
    net = gt.Network(gt.cells.gru(), n_in=2, n_hidden=4, n_out=1, seed=1)
    history = gt.train(net, gt.tasks.adding(8), steps=3, seed=1, progress=False)
    assert table["final_loss"].iloc[3] == history.loss[-1]
    printed = capsys.readouterr().out
    assert "4 of 4 points finished" in printed and "final_loss" in printed
    stamps = {p: p.stat().st_mtime_ns for p in store.iterdir()}
    assert len(stamps) == 8  # one .npz and one .json per point
    assert main(argv) == 0  # everything read back from the store: nothing rewritten
    assert {p: p.stat().st_mtime_ns for p in store.iterdir()} == stamps
    assert pd.read_csv(out).equals(table)


def test_a_failing_point_gives_exit_1_and_its_row(tmp_path, capsys):
    out = tmp_path / "grid.csv"
    argv = [
        "sweep",
        "train",
        "gru",
        "--task",
        "adding,digits",
        "--T",
        "6",
        "--steps",
        "2",
        "--hidden",
        "4",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 1
    table = pd.read_csv(out)
    assert table["task"].tolist() == ["adding", "digits"]
    assert table["error"].isna().tolist() == [True, False]
    assert "T does not apply to the digits task" in table["error"].iloc[1]
    assert "1 failed" in capsys.readouterr().out


def test_reproduce_hands_workers_and_store_to_the_claims_sweeps(tmp_path, monkeypatch):
    from gradtheory.claims import _registry
    from gradtheory.figures import new_figure

    seen = {}

    def run(quick, seed):
        import _sweep_points as points

        result = gt.sweep(points.where, {"x": [0, 1]})
        seen["pids"] = {r["pid"] for r in result.records}
        fig, _ = new_figure()
        return _registry.ClaimResult(figure=fig, numbers={})

    from gradtheory import claims

    claims.load_all()  # register the real claims first, so that ours is not overwritten
    monkeypatch.setitem(
        _registry.CLAIMS,
        "sweep_probe",
        _registry.Claim("sweep_probe", "probe", "test", "a claim that sweeps", run),
    )
    monkeypatch.setattr(_registry, "STORE_ROOT", tmp_path / "store")
    monkeypatch.chdir(tmp_path)
    argv = [
        "reproduce",
        "sweep_probe",
        "--outdir",
        str(tmp_path / "fig"),
        "--no-report",
        "--quiet",
        "--workers",
        "2",
    ]
    assert main(argv) == 0
    assert __import__("os").getpid() not in seen["pids"]
    (folder,) = (tmp_path / "store" / "sweep_probe").iterdir()
    assert folder.name == "_sweep_points.where" and len(list(folder.glob("*.json"))) == 2
    assert main(["reproduce", "sweep_probe", "--workers", "0", "--no-report"]) == 2
