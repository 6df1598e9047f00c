"""Same numbers wherever points run (issue 12, item 3): in-process, a ``workers=2`` spawn pool,
a concurrent.futures Executor, and a Dask LocalCluster (processes, 2 workers, 1 thread each)
reached both as a Client and by its scheduler address. Equality is exact (same machine and
builds): every point seeds itself from its coordinates and runs with one BLAS thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import _sweep_points as points
import numpy as np
import pytest

import gradtheory as gt

GRID = {"x": [0.5, 1.5, 2.5], "seed": [0, 1]}


def assert_identical(a, b) -> None:
    assert len(a.records) == len(b.records) == 6 and not a.failed and not b.failed
    for left, right in zip(a.records, b.records, strict=True):
        assert list(left) == list(right)
        for key, value in left.items():
            if isinstance(value, np.ndarray):
                assert value.dtype == right[key].dtype
                np.testing.assert_array_equal(right[key], value)
            else:
                assert right[key] == value and type(right[key]) is type(value), key


def test_identical_numbers_in_process_pool_executor_and_dask(tmp_path):
    distributed = pytest.importorskip("distributed")
    reference = gt.sweep(points.noisy, GRID)
    assert_identical(reference, gt.sweep(points.noisy, GRID, workers=2))
    with ThreadPoolExecutor(1) as pool:  # one thread: threads would share np.random's state
        assert_identical(reference, gt.sweep(points.noisy, GRID, executor=pool))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert_identical(reference, gt.sweep(points.noisy, GRID, executor=client))
        # By address, with a store that this process writes: a second call reads it back.
        by_address = gt.sweep(
            points.noisy, GRID, executor=cluster.scheduler_address, store=tmp_path
        )
        assert_identical(reference, by_address)
        pids = gt.sweep(points.where, {"x": [0, 1, 2, 3]}, executor=client).to_frame()["pid"]
        assert set(pids) <= set(client.run(lambda: __import__("os").getpid()).values())
    assert_identical(reference, gt.sweep(points.noisy, GRID, store=tmp_path))
