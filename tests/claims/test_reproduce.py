"""CI's quick reproduction of a representative subset of the claims (those marked ci=True)."""

import json

import pytest

from gradtheory.claims import load_all, run_claim

CI_CLAIMS = [name for name, entry in load_all().items() if entry.ci]


def test_every_claim_has_a_script_in_analyses():
    """Each registered claim has its standalone script analyses/<name>.py."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "analyses"
    missing = [name for name in load_all() if not (root / f"{name}.py").exists()]
    assert not missing


@pytest.mark.parametrize("name", CI_CLAIMS)
def test_quick_reproduction_writes_figure_and_numbers(name, tmp_path):
    """A quick run writes PNG, SVG and JSON whose comparisons all agree and whose metadata
    records the seed and the package version."""
    meta = run_claim(name, tmp_path, quick=True, seed=0)
    for suffix in ("png", "svg", "json"):
        assert (tmp_path / f"{name}.{suffix}").stat().st_size > 0
    saved = json.loads((tmp_path / f"{name}.json").read_text())
    assert saved["seed"] == 0 and saved["version"] and saved["summary"]
    disagreeing = [row for row in meta["comparisons"] if not row["agrees"]]
    assert not disagreeing, disagreeing


def test_same_seed_same_numbers(tmp_path):
    """Reproducibility: a training claim run twice with the same seed writes the same numbers."""
    first = run_claim("flipflop_gru", tmp_path / "a", quick=True, seed=0)
    second = run_claim("flipflop_gru", tmp_path / "b", quick=True, seed=0)
    assert first["numbers"] == second["numbers"] and first["summary"] == second["summary"]
