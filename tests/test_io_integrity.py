"""Saves that cannot half-happen (issue 10, item 4).

Facts checked: the JSON carries the SHA-256 of the .npz written with it; ``load_result``
refuses a pair whose .npz was replaced without its JSON (what an interrupted save leaves:
the .npz is written first); a failing JSON write never replaces the .npz, because the JSON is
serialised before either file is written; results without the hash (older files) still load.
"""

import hashlib
import json

import numpy as np
import pytest

from gradtheory.io import HASH_KEY, MismatchedResultError, load_result, save_result


def test_json_carries_the_npz_hash(tmp_path):
    """The hash in the JSON is the SHA-256 of the .npz bytes; load_result hides the key."""
    save_result(tmp_path / "r", {"a": np.arange(4.0)}, {"seed": 3})
    digest = hashlib.sha256((tmp_path / "r.npz").read_bytes()).hexdigest()
    assert json.loads((tmp_path / "r.json").read_text())[HASH_KEY] == digest
    assert load_result(tmp_path / "r")[1] == {"seed": 3}


def test_interrupted_save_is_refused(tmp_path, monkeypatch):
    """New .npz + old JSON (the JSON write failed) is refused with a clear error."""
    import gradtheory.io as io_module

    save_result(tmp_path / "r", {"a": np.zeros(3)}, {"version": 1})
    real = io_module.write_atomic

    def fail_on_json(path, data):
        if str(path).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(io_module, "write_atomic", fail_on_json)
    with pytest.raises(OSError):
        save_result(tmp_path / "r", {"a": np.ones(3)}, {"version": 2})
    monkeypatch.undo()
    with pytest.raises(MismatchedResultError, match="SHA-256 differs"):
        load_result(tmp_path / "r")


def test_unserialisable_meta_leaves_old_result_intact(tmp_path):
    """A meta that cannot be written as JSON fails before the .npz is touched."""
    save_result(tmp_path / "r", {"a": np.zeros(2)}, {"ok": True})
    with pytest.raises(TypeError):
        save_result(tmp_path / "r", {"a": np.ones(2)}, {"bad": object()})
    arrays, meta = load_result(tmp_path / "r")
    np.testing.assert_array_equal(arrays["a"], np.zeros(2))
    assert meta == {"ok": True}


def test_result_without_hash_still_loads(tmp_path):
    """Files written before the hash existed load (unchecked)."""
    np.savez(tmp_path / "old.npz", a=np.arange(2.0))
    (tmp_path / "old.json").write_text(json.dumps({"seed": 0}))
    arrays, meta = load_result(tmp_path / "old")
    assert meta == {"seed": 0} and arrays["a"].tolist() == [0.0, 1.0]


def test_meta_may_not_use_the_hash_key(tmp_path):
    """The reserved key is refused by name instead of being silently overwritten."""
    with pytest.raises(ValueError, match=HASH_KEY):
        save_result(tmp_path / "r", {}, {HASH_KEY: "x"})
