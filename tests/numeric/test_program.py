"""The kernel cache: made once, reloaded without SymPy, repaired if corrupt, written atomically."""

from __future__ import annotations

import numpy as np
import pytest

import gradtheory as gt
from gradtheory.numeric import program
from gradtheory.symbolic import codegen


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory (GRADTHEORY_CACHE) and an empty in-memory cache."""
    monkeypatch.setenv("GRADTHEORY_CACHE", str(tmp_path))
    monkeypatch.setattr(program, "_MEMORY", {})
    return tmp_path


def _no_sympy(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("module_source was called: the cache was not used")

    monkeypatch.setattr(codegen, "module_source", refuse)


def test_cache_dir_follows_environment(cache):
    """GRADTHEORY_CACHE names the directory (DESIGN.md, code generation)."""
    assert program.cache_dir() == cache


def test_first_load_writes_the_generated_module(cache):
    """Deriving a cell writes one importable Python file holding its kernels and key."""
    cell = gt.cells.gru()
    loaded = program.load_program(cell)
    files = list(cache.glob("gradtheory_kernels_*.py"))
    assert len(files) == 1
    text = files[0].read_text()
    assert f"KEY = {cell.key!r}" in text and "import sympy" not in text
    assert [type(op).__name__ for op in loaded.ops] == ["AffineOp", "AffineOp", "KernelOp"]


def test_second_load_reads_disk_without_sympy(cache, monkeypatch):
    """After the in-memory cache is cleared, the program comes from disk: module_source (the
    SymPy code generator) is never called, and the kernels compute the same values."""
    cell = gt.cells.lstm()
    first = program.load_program(cell)
    program._MEMORY.clear()
    _no_sympy(monkeypatch)
    second = program.load_program(cell)
    assert second is not first
    args = [np.linspace(-2, 2, 7) + k for k in range(5)]
    for a, b in zip(
        first.ops[1].with_partials(*args), second.ops[1].with_partials(*args), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    # and a network built now runs without SymPy too
    net = gt.Network(cell, n_in=1, n_hidden=2)
    net.backward(net.forward(np.ones((3, 1, 1))), np.ones((3, 1, 2)))


def test_memory_cache_returns_the_same_program(cache, monkeypatch):
    """Within a process the second load is the same object (no disk access needed)."""
    cell = gt.cells.elman("tanh")
    first = program.load_program(cell)
    _no_sympy(monkeypatch)
    assert program.load_program(cell) is first


@pytest.mark.parametrize("garbage", ["def values_0(:\n", "KEY = 'someone-else'\nSPEC = []\n", ""])
def test_corrupted_cache_file_is_regenerated(cache, garbage):
    """A truncated, foreign or empty cache file is detected (syntax error or wrong KEY) and
    regenerated in place."""
    cell = gt.cells.elman("sigmoid")
    program.load_program(cell)
    (path,) = cache.glob("gradtheory_kernels_*.py")
    path.write_text(garbage)
    program._MEMORY.clear()
    loaded = program.load_program(cell)
    assert f"KEY = {cell.key!r}" in path.read_text()
    np.testing.assert_allclose(loaded.ops[1].values(np.array([0.0]))[0], [0.5])


def test_write_is_atomic(cache, monkeypatch):
    """The file is written to a temporary name and renamed (os.replace): no .tmp file remains,
    and if the rename fails nothing partial is left while the program still loads (in memory)."""
    program.load_program(gt.cells.elman("relu"))
    assert not list(cache.glob("*.tmp"))

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(program.os, "replace", broken_replace)
    loaded = program.load_program(gt.cells.elman("hardtanh"))
    assert loaded.name == "elman-hardtanh"
    assert not list(cache.glob("*.tmp"))
    assert len(list(cache.glob("gradtheory_kernels_*.py"))) == 1  # only the relu module


def test_use_disk_false_derives_afresh(cache):
    """use_disk=False neither reads nor writes the cache."""
    program.load_program(gt.cells.highway(), use_disk=False)
    assert not list(cache.iterdir())


def test_plan_lays_out_chunks_and_partials():
    """build_plan: LSTM's affine op has width 4n and its kernel's partials map to gate chunks."""
    plan = program.build_plan(program.load_program(gt.cells.lstm()), 3)
    assert plan.widths == {0: 12}
    affine = plan.forward[0]
    assert (affine.state_terms, affine.input_terms, affine.bias) == (
        (("W", "h"),),
        (("U", "x"),),
        "b",
    )
    assert [name for name, _ in affine.chunks] == ["a_i", "a_f", "a_g", "a_o"]
    pairs = plan.reverse[0].partials
    assert {(p.out, p.inp) for p in pairs if p.kind == program.TO_AFFINE} == {
        (o, f"a_{g}") for o in ("c_new", "h_new") for g in "ifg"
    } | {("h_new", "a_o")}
