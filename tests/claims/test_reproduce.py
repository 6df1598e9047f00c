"""The claim framework: discovery of the scripts in analyses/, rows, generated summaries and
where results go; and CI's quick reproduction of the claims marked ci=True."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gradtheory.claims import ANALYSES, Comparison, load_all, run_claim
from gradtheory.claims._compare import summarise

CI_CLAIMS = [name for name, entry in load_all().items() if entry.ci]


def test_registry_is_the_analyses_folder():
    """Every script analyses/<name>.py is a registered claim, and nothing else is; each states
    a title, a claim and a source in its docstring."""
    scripts = {p.stem for p in ANALYSES.glob("*.py") if not p.stem.startswith("_")}
    claims = load_all()
    assert set(claims) == scripts and len(scripts) >= 20
    assert all(c.title and c.statement and c.source for c in claims.values())


def test_no_claim_imports_another():
    """Issue 13: a claim is one readable script; shared code lives in gradtheory.claims."""
    for path in ANALYSES.glob("*.py"):
        text = path.read_text()
        others = [n for n in load_all() if n != path.stem and f"claims.{n} " in text + " "]
        assert not others, (path.name, others)
        assert "from ." not in text, path.name


def test_claim_importable_by_name_in_a_fresh_process():
    """Worker processes import a claim's point function by module name (spawn start method)."""
    code = "import gradtheory.claims.flipflop_gru as m; print(m.train_point.__module__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ANALYSES.parent,
    )
    assert out.stdout.strip() == "gradtheory.claims.flipflop_gru"


def test_script_run_directly_hands_over_to_the_registry(tmp_path):
    """``python analyses/<name>.py`` runs the claim through ``main`` (the registered module,
    importable by name in workers) and writes its results, without a ``__main__`` block."""
    root = ANALYSES.parent
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    script = [sys.executable, str(ANALYSES / "linear_power.py"), "--quick", "--outdir", tmp_path]
    out = subprocess.run(script, capture_output=True, text=True, check=True, cwd=root, env=env)
    assert out.stdout.startswith("linear_power (") and "5 of 5 comparisons agree" in out.stdout
    assert json.loads((tmp_path / "linear_power.json").read_text())["quick"] is True


def test_comparison_rules_and_generated_summary():
    """Rows decide from their rule and tolerance (arrays element by element; shapes must
    match); the summary sentence is generated from rows and headline numbers."""
    assert Comparison("a", 1.0, 1.0 + 1e-11, 1e-10, "rel").agrees
    assert not Comparison("a", 1.0, 1.1, 0.05, "abs").agrees
    assert not Comparison("a", [1.0, 2.0], [1.0], 0.1).agrees
    assert Comparison("a", 4, 5, rule="at least").agrees
    assert not Comparison("a", 0.25, 0.3, 1e-12, "at most").agrees
    row = Comparison("a", 1.0, 1.5, 0.1, "given test", agrees=True).row()
    assert row["agrees"] is True and row["rule"] == "given test"
    with pytest.raises(ValueError, match="'rule'"):
        Comparison("a", 1.0, 1.0, rule="close")
    rows = [Comparison("good", 1.0, 1.0), Comparison("bad", 0.0, 1.0)]
    assert summarise(rows, {"x": np.float64(2.0)}, []) == "1 of 2 comparisons agree (not: bad)."


def test_quick_run_goes_to_the_ignored_folder(tmp_path, monkeypatch):
    """Issue 10: without an outdir a quick run writes figures/quick/, never figures/."""
    monkeypatch.chdir(tmp_path)
    run_claim("linear_power", quick=True)
    assert (tmp_path / "figures/quick/linear_power.json").exists()
    assert not (tmp_path / "figures/linear_power.json").exists()


@pytest.mark.parametrize("name", CI_CLAIMS)
def test_quick_reproduction_writes_figure_and_numbers(name, tmp_path):
    """A quick run writes PNG, SVG and JSON whose comparisons all agree and whose metadata
    records the seed, the package version and each row's rule."""
    meta = run_claim(name, tmp_path, quick=True, seed=0)
    for suffix in ("png", "svg", "json"):
        assert (tmp_path / f"{name}.{suffix}").stat().st_size > 0
    saved = json.loads((tmp_path / f"{name}.json").read_text())
    assert saved["seed"] == 0 and saved["version"] and saved["summary"]
    assert all(row["rule"] for row in saved["comparisons"])
    disagreeing = [row for row in meta["comparisons"] if not row["agrees"]]
    assert not disagreeing, disagreeing


def test_disagreements_paragraph_explains_failing_rows_with_the_runs_numbers(tmp_path, monkeypatch):
    """Issue 12: a remaining disagreement is explained in REPORT.md with the evidence; the
    claim's ``Disagreements:`` paragraph is shown only when a row disagrees, its ``{{name}}``
    quotes filled from the run's numbers."""
    import types

    import matplotlib.pyplot as plt

    from gradtheory.claims import CLAIMS, ClaimResult, claim
    from gradtheory.report import _section

    doc = "Fake.\n\nClaim: x is 1.\n\nSource: none.\n\nDisagreements: because {{evidence}}.\n"
    for measured, shown in ((1.5, "because 0.1235."), (1.0, None)):
        module = types.ModuleType("fake_claim", doc)
        module.__file__ = str(tmp_path / "fake_claim.py")
        monkeypatch.setitem(sys.modules, "fake_claim", module)

        def run(quick=False, seed=0, measured=measured):
            rows = [Comparison("x", 1.0, measured, 0.1, "abs")]
            return ClaimResult(plt.figure(), {"evidence": 0.123456}, rows)

        run.__module__ = "fake_claim"
        claim()(run)
        try:
            meta = run_claim("fake_claim", tmp_path)
        finally:
            CLAIMS.pop("fake_claim")
        assert meta.get("explanation") == shown
        section = "\n".join(_section(meta))
        assert ("*Why rows disagree.* because 0.1235." in section) == (shown is not None)


def test_explanation_quotes_and_missing_numbers():
    """Quotes are filled with the run's numbers; one the run lacks is marked (a quick run's grid
    is smaller), or refused with ``strict``."""
    from gradtheory.claims._registry import explain

    assert explain("{{a}} and {{b, c=1}}", {"a": 2, "b, c=1": [1.0, 2.0]}) == "2 and [1, 2]"
    assert explain("see {{gone}}", {}) == "see [gone: not in this run]"
    with pytest.raises(ValueError, match="'missing'"):
        explain("see {{missing}}", {"a": 1.0}, strict=True)


def test_every_disagreement_in_the_committed_report_is_explained_with_its_evidence():
    """Issue 12: each remaining disagreement of the full-size results in figures/ is explained
    in its claim's Disagreements paragraph, and every number it quotes exists in that run."""
    from gradtheory.claims._registry import explain

    figures = ANALYSES.parent / "figures"
    if not figures.is_dir():
        pytest.skip("no committed figures/ beside the analyses (an installed wheel)")
    for name, entry in load_all().items():
        path = figures / f"{name}.json"
        if not path.exists():
            continue
        meta = json.loads(path.read_text())
        if all(row["agrees"] for row in meta["comparisons"]):
            continue
        assert entry.disagreements, f"{name}: rows disagree and no Disagreements paragraph"
        explain(entry.disagreements, meta["numbers"], strict=True)
