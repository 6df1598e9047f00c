"""The store under kills and sharing (issue 12, item 2): after a SIGKILL of the sweep's process
while its workers are mid-point, a restart stores every point exactly once with the same numbers,
the orphaned workers exit and never write; two sweeps sharing a store run each point once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import _sweep_points as points
import pytest

import gradtheory as gt
from gradtheory.sweeps import _store

SCRIPT = Path(__file__).with_name("_sweep_script.py")


def started(log: Path) -> list[tuple[int, int]]:
    """(pid, x) of every point that started, in order."""
    if not log.exists():
        return []
    return [tuple(int(v) for v in line.split()[:2]) for line in log.read_text().splitlines()]


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigkill_mid_point_then_restart_stores_every_point_once(tmp_path):
    store, log, n, pause = tmp_path / "store", tmp_path / "log", 8, 0.6
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(store), str(log), str(n), str(pause), "2"], env=env
    )
    try:
        # Kill once two points are stored and both workers have started a point since then.
        def mid_point():
            stored = len(list(store.glob("*.json"))) if store.exists() else 0
            return stored >= 2 and len(started(log)) >= stored + 2

        wait_for(mid_point, 120, "two stored points and two running ones")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    after_kill = listing(store)
    workers = {pid for pid, _ in started(log)}
    assert proc.pid not in workers and len(workers) == 2
    # The orphaned workers notice their parent is gone and exit (their running point unfinished).
    wait_for(lambda: not any(alive(pid) for pid in workers), 15, "orphaned workers to exit")
    time.sleep(pause)  # any point still running when the parent died would have finished now
    assert listing(store) == after_kill, "a file appeared or changed after the kill"
    done_before = {json.loads(p.read_text())["point"]["x"] for p in store.glob("*.json")}
    runs_before = len(started(log))
    assert 2 <= len(done_before) < n

    grid = {"x": list(range(n)), "seed": [0], "log": [str(log)], "pause": [pause]}
    result = gt.sweep(points.slow, grid, store=store)
    assert [r["y"] for r in result.records] == [10 * x for x in range(n)]
    rerun = [x for _, x in started(log)[runs_before:]]
    assert sorted(rerun) == sorted(set(range(n)) - done_before)  # only the missing, each once
    names = sorted(p.stem for p in store.glob("*.json"))
    assert len(names) == n and names == sorted(p.stem for p in store.glob("*.npz"))
    assert not list(store.glob("*.lock"))  # the dead sweep's locks were broken and released


def test_two_sweeps_sharing_a_store_run_each_point_once(tmp_path):
    store, log, n = tmp_path / "store", tmp_path / "log", 6
    gate = tmp_path / "gate"
    gate.mkdir()
    command = [sys.executable, str(SCRIPT), str(store), str(log), str(n), "0.4", "0", str(gate)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        # Start both sweeps at the same moment, once both have imported gradtheory.
        wait_for(lambda: len(list(gate.iterdir())) == 2, 120, "both sweeps to be ready")
        (gate / "go").touch()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in procs] == [0, 0]
    for text in outputs:
        assert json.loads(text) == [10 * x for x in range(n)]
    assert sorted(x for _, x in started(log)) == list(range(n))
    assert len({pid for pid, _ in started(log)}) == 2  # both did part of the work
    assert len(list(store.glob("*.json"))) == n and not list(store.glob("*.lock"))


def test_a_lock_left_by_a_dead_process_is_broken(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    assert not alive(pid)
    store = _store.Store(tmp_path, "f", "0")
    (tmp_path / "p.lock").write_text(
        _store._process_token(os.getpid()).replace(f" {os.getpid()} ", f" {pid} ")
    )
    assert store.claim("p")
    assert (tmp_path / "p.lock").read_text() == store.token
    other = _store.Store(tmp_path, "f", "0")
    assert not other.claim("p")  # held by a live process (this one)
    store.release("p")
    assert other.claim("p")


@pytest.mark.parametrize("torn", ["json_missing", "npz_missing", "npz_replaced"])
def test_a_point_whose_pair_is_incomplete_runs_again(tmp_path, torn):
    """Kills between the two writes leave a .npz without JSON, or a JSON whose .npz differs."""
    log = tmp_path / "log"
    grid = {"x": [1], "seed": [0], "log": [str(log)], "pause": [0.0]}
    gt.sweep(points.slow, grid, store=tmp_path / "s")
    (meta,) = (tmp_path / "s").glob("*.json")
    npz = meta.with_suffix(".npz")
    if torn == "json_missing":
        meta.unlink()
    elif torn == "npz_missing":
        npz.unlink()
    else:
        npz.write_bytes(npz.read_bytes().replace(b"y", b"z", 1))
    result = gt.sweep(points.slow, grid, store=tmp_path / "s")
    assert result.records[0]["y"] == 10 and len(started(log)) == 2
