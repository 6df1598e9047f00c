"""gt.sweep: grid order, failures, outputs, the store and its resume, defaults, bad input.

The facts checked are the contract of issue 12 (items 1-3) and the save protocol of issue 10
(item 4): a point's files are its .npz, then a JSON carrying the .npz's SHA-256.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _sweep_points as points
import numpy as np
import pytest

import gradtheory as gt
from gradtheory.sweeps import _executors, _store, defaults


def starts(log: Path) -> list[tuple[int, int]]:
    """(x, seed) of every call that started, from the log that ``points.slow`` writes."""
    if not log.exists():
        return []
    return [tuple(int(v) for v in line.split()[1:]) for line in log.read_text().splitlines()]


def test_dict_grid_is_the_cartesian_product_last_axis_fastest():
    result = gt.sweep(points.fails_at_two, {"x": [3, 1], "seed": [5, 0, 7]})
    expected = [(3, 5), (3, 0), (3, 7), (1, 5), (1, 0), (1, 7)]
    assert [(r["x"], r["seed"]) for r in result.records] == expected
    assert [r["y"] for r in result.records] == [x + s for x, s in expected]
    assert result.points == [{"x": x, "seed": s} for x, s in expected]


def test_pool_keeps_grid_order_and_spawns_workers_that_import_afresh(monkeypatch):
    """The first point is slowest, so the pool finishes the others before it; a forked worker
    would inherit MARK = 'parent', a spawned one re-imports the module and sees 'fresh'."""
    monkeypatch.setattr(points, "MARK", "parent")
    grid = [{"x": 0, "pause": 1.0}, {"x": 1, "pause": 0.0}, {"x": 2, "pause": 0.0}]
    result = gt.sweep(points.where, grid, workers=2)
    assert [r["x"] for r in result.records] == [0, 1, 2]
    assert [r["mark"] for r in result.records] == ["fresh"] * 3
    assert os.getpid() not in {r["pid"] for r in result.records}
    assert gt.sweep(points.where, {"x": [0]}).records[0]["mark"] == "parent"


def test_a_failing_point_is_reported_and_the_sweep_goes_on():
    result = gt.sweep(points.fails_at_two, {"x": [1, 2, 3], "seed": [0, 1]})
    assert [(r["x"], r["seed"]) for r in result.records] == [(1, 0), (1, 1), (3, 0), (3, 1)]
    assert [(f["x"], f["seed"]) for f in result.failed] == [(2, 0), (2, 1)]
    assert result.failed[0]["error"] == "ValueError: x = 2 is not allowed"
    assert repr(result) == "SweepResult(6 points (x: 3, seed: 2); 4 finished, 2 failed)"


def test_complete_passes_a_full_grid_and_names_the_first_failure():
    """SweepResult.complete(): a script that needs the whole grid stops with the first error."""
    full = gt.sweep(points.fails_at_two, {"x": [1, 3], "seed": [0]})
    assert full.complete() is full
    partial = gt.sweep(points.fails_at_two, {"x": [1, 2, 3], "seed": [0, 1]})
    with pytest.raises(RuntimeError, match=r"^2 of 6 point\(s\) failed; first: .*x = 2 is not"):
        partial.complete()


def test_outputs_that_cannot_be_stored_fail_their_point():
    def bad(x):
        return {"x": 1.0} if x == 0 else ({"y": object()} if x == 1 else [x])

    result = gt.sweep(bad, {"x": [0, 1, 2]})
    assert result.records == []
    errors = [f["error"] for f in result.failed]
    assert "output 'x' has the name of a grid axis" in errors[0]
    assert "output 'y' is not numeric or text" in errors[1]
    assert "must return a dict" in errors[2]


def test_frame_has_scalars_as_columns_and_no_arrays():
    frame = gt.sweep(points.noisy, {"x": [0.5, 2.0], "seed": [3]}).to_frame()
    assert list(frame.columns) == ["x", "seed", "value", "norm", "legacy", "flag", "nothing"]
    assert frame["flag"].tolist() == [False, True]
    assert len(frame) == 2


def test_store_resumes_only_missing_points_with_the_same_numbers(tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    grid = {"x": [1, 2], "seed": [0, 1], "log": [str(log)], "pause": [0.0]}
    first = gt.sweep(points.slow, grid, store=store)
    # Remove one point's JSON: that point, and only that one, must run again.
    victim = _store.point_name(
        gt.sweeps._core._function_key(points.slow, None), first.points[2], gt.__version__
    )
    (store / f"{victim}.json").unlink()
    second = gt.sweep(points.slow, grid, store=store)
    assert starts(log) == [(1, 0), (1, 1), (2, 0), (2, 1), (2, 0)]
    assert second.records == first.records
    assert len(list(store.glob("*.json"))) == 4 and not list(store.glob("*.lock"))


def test_stored_files_follow_the_save_protocol(tmp_path):
    """.npz loads without pickle; the JSON names its SHA-256; a torn pair counts as missing."""
    import hashlib

    result = gt.sweep(points.noisy, {"x": [1.5], "seed": [2]}, store=tmp_path)
    (meta_path,) = tmp_path.glob("*.json")
    meta = json.loads(meta_path.read_text())
    npz = meta_path.with_suffix(".npz")
    assert meta["npz_sha256"] == hashlib.sha256(npz.read_bytes()).hexdigest()
    assert meta["point"] == {"x": 1.5, "seed": 2}
    with np.load(npz, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["solution"], result.records[0]["solution"])
    again = gt.sweep(points.noisy, {"x": [1.5], "seed": [2]}, store=tmp_path)
    for key, value in result.records[0].items():
        assert (
            np.array_equal(again.records[0][key], value)
            if key == "solution"
            else (again.records[0][key] == value and type(again.records[0][key]) is type(value))
        )
    npz.write_bytes(npz.read_bytes()[:-10])  # torn: the hash no longer matches
    name = meta_path.stem
    assert _store.Store(tmp_path, meta["function"], gt.__version__).load(name) is None


def test_failed_points_are_not_stored_and_are_retried(tmp_path):
    result = gt.sweep(points.fails_at_two, {"x": [1, 2], "seed": [0]}, store=tmp_path)
    assert len(result.failed) == 1 and len(list(tmp_path.glob("*.json"))) == 1


def test_names_depend_on_function_key_point_and_version():
    a = _store.point_name("m.f:abc", {"x": 1}, "0.1.0")
    assert a != _store.point_name("n.f:abc", {"x": 1}, "0.1.0")  # same name, other module
    assert a != _store.point_name("m.f:abd", {"x": 1}, "0.1.0")  # edited source
    assert a != _store.point_name("m.f:abc", {"x": 1.0}, "0.1.0")
    assert a != _store.point_name("m.f:abc", {"x": 1}, "0.2.0")
    assert a == _store.point_name("m.f:abc", {"x": 1}, "0.1.0")


def test_key_replaces_the_function_in_the_store(tmp_path):
    gt.sweep(points.fails_at_two, {"x": [1], "seed": [0]}, store=tmp_path, key="adder")
    # Another function under the same key reads the stored result instead of running.
    result = gt.sweep(points.where, {"x": [1], "seed": [0]}, store=tmp_path, key="adder")
    assert result.records == [{"x": 1, "seed": 0, "y": 1}]


def test_defaults_give_store_and_workers_to_sweeps_called_deep_inside(tmp_path):
    with defaults(store_root=tmp_path):
        gt.sweep(points.fails_at_two, {"x": [1], "seed": [0]})
        with ThreadPoolExecutor(1) as pool, defaults(executor=pool):  # innermost: no store
            inner = gt.sweep(points.where, {"x": [1]})
    folder = tmp_path / "_sweep_points.fails_at_two"
    assert len(list(folder.glob("*.json"))) == 1
    assert inner.records[0]["thread"] != threading.get_ident()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_sweep_points.fails_at_two"]
    assert gt.sweep.defaults is defaults


def test_each_point_runs_with_one_blas_thread():
    from threadpoolctl import threadpool_info

    def threads(x):
        return {"n": max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")}

    assert gt.sweep(threads, {"x": [0]}).records[0]["n"] == 1


def test_the_global_generator_is_seeded_from_the_point_and_restored():
    np.random.seed(123)  # noqa: NPY002
    expected = np.random.rand()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    a = gt.sweep(points.noisy, {"x": [1.0, 2.0], "seed": [0]})
    assert np.random.rand() == expected  # noqa: NPY002
    b = gt.sweep(points.noisy, {"x": [2.0], "seed": [0]})
    assert a.records[1]["legacy"] == b.records[0]["legacy"] != a.records[0]["legacy"]


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"fn": 3}, TypeError, "argument 'fn' must be callable"),
        ({"grid": {"x": 3}}, TypeError, "must map each name to a list"),
        ({"grid": {"x": []}}, ValueError, "no values for axis 'x'"),
        ({"grid": {"x": [object()]}}, TypeError, "must hold numbers"),
        ({"grid": {"x": [float("nan")]}}, ValueError, "finite numbers"),
        ({"grid": {"1x": [1]}}, ValueError, "Python identifiers"),
        ({"grid": [1, 2]}, TypeError, "item 0 is 1"),
        ({"grid": []}, ValueError, "at least one point"),
        ({"workers": 0}, ValueError, "argument 'workers' must be a positive integer"),
        ({"fn": lambda x, seed: {}, "workers": 1}, TypeError, "top-level function importable"),
        ({"executor": "localhost"}, ValueError, "scheduler address such as"),
        ({"executor": 3.5}, TypeError, "argument 'executor' must be"),
        ({"workers": 2, "executor": "tcp://x:1"}, ValueError, "exclude each other"),
        ({"key": ""}, ValueError, "argument 'key' must be a non-empty string"),
        ({"progress": "yes"}, TypeError, "argument 'progress'"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, text):
    call = {"fn": points.fails_at_two, "grid": {"x": [1], "seed": [0]}} | kwargs
    with pytest.raises(error, match=text):
        gt.sweep(call.pop("fn"), call.pop("grid"), **call)


def test_unreachable_scheduler_is_one_clear_line(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(_executors, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(ConnectionError) as info:
        gt.sweep(points.fails_at_two, {"x": [1], "seed": [0]}, executor="tcp://127.0.0.1:9")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("sweep: argument 'executor': cannot reach the Dask scheduler")
    assert "'tcp://127.0.0.1:9'" in message


def test_plot_draws_mean_band_and_seeds_and_needs_other_axes_fixed():
    result = gt.sweep(points.fails_at_two, {"x": [0, 1, 3], "seed": [0, 1, 2]})
    ax = result.plot("x", "y")
    mean_line = [line for line in ax.lines if line.get_linestyle() == "-"]
    assert len(mean_line) == 1
    np.testing.assert_allclose(mean_line[0].get_ydata(), [1.0, 2.0, 4.0])  # mean over seeds
    assert len(ax.collections) == 1  # the 95% band
    two = gt.sweep(points.fails_at_two, {"x": [0, 1], "seed": [0, 1], "z": [0, 1]})
    with pytest.raises(ValueError, match=r"axes \['z'\] vary"):
        two.plot("x", "y")
    ax = two.plot("x", "y", hue="z")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["z = 0", "z = 1"]


def test_summary_is_mean_and_t_interval_over_seeds_per_setting():
    """The 95% interval is scipy.stats.t.interval of the mean (an independent computation)."""
    from scipy import stats

    result = gt.sweep(points.noisy, {"x": [0.5, 1.5], "seed": [0, 1, 2]})
    table = result.summary(outputs=["value", "flag", "nothing"])
    assert table["x"].tolist() == [0.5, 1.5] and table["n"].tolist() == [3, 3]
    assert table["flag"].tolist() == [0.0, 1.0]  # fraction of True
    assert table["nothing"].isna().all()  # None everywhere: no mean
    values = [r["value"] for r in result.records if r["x"] == 1.5]
    low, high = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert table["value"].iloc[1] == pytest.approx(np.mean(values), rel=1e-12)
    assert table["value_ci95"].iloc[1] == pytest.approx((high - low) / 2, rel=1e-12)
    with pytest.raises(ValueError, match="argument 'by' must name grid axes"):
        result.summary(by=["nope"])
