"""Tests of gradtheory.io: .npz + JSON results, no pickle, atomic writes."""

import numpy as np
import pytest

from gradtheory.io import load_result, save_result


def test_round_trip(tmp_path):
    """Arrays and metadata come back equal; no temporary files are left behind."""
    save_result(
        tmp_path / "r",
        {"a": np.arange(3.0)},
        {"seed": 1, "x": np.float64(0.5), "inf": float("inf")},
    )
    arrays, meta = load_result(tmp_path / "r")
    np.testing.assert_array_equal(arrays["a"], np.arange(3.0))
    assert meta == {"seed": 1, "x": 0.5, "inf": "inf"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.npz"]


def test_object_arrays_are_refused(tmp_path):
    """Object arrays would need pickle: refused with the array's name."""
    with pytest.raises(TypeError, match="bad"):
        save_result(tmp_path / "r", {"bad": np.array([{}, 1], dtype=object)}, {})


def test_dotted_stem_and_numpy_nan(tmp_path):
    """A stem with dots keeps them (run.lr1e-3 -> run.lr1e-3.npz); NumPy NaN scalars save."""
    save_result(tmp_path / "run.lr1e-3", {"a": np.zeros(2)}, {"x": np.float64("nan")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.lr1e-3.json", "run.lr1e-3.npz"]
    assert load_result(tmp_path / "run.lr1e-3")[1] == {"x": "nan"}
