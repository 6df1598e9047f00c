"""The documentation builds with warnings as errors, the tutorial executed (an exception in
any cell fails the build), and the generated pages exist: one per claim with its figure and
table, one per public name. Skipped only when the ``docs`` extra is not installed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

for _module in ("sphinx", "numpydoc", "myst_nb", "ipykernel"):
    pytest.importorskip(_module, reason="the docs extra is not installed")

import gradtheory  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    done = subprocess.run(
        [*command, str(ROOT / "docs"), str(out)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-4000:]

    # the tutorial ran: its printed table and its figures are in the page
    tutorial = (out / "tutorial.html").read_text()
    assert "measured rate / step" in tutorial and "final loss" in tutorial
    assert tutorial.count("<img") >= 5

    # the gallery: every committed claim (JSON with its PNG) has a page with figure and table
    claims = [
        json.loads(path.read_text())
        for path in sorted((ROOT / "figures").glob("*.json"))
        if path.with_suffix(".png").exists()
    ]
    assert claims
    for meta in claims:
        page = (out / "claims" / f"{meta['name']}.html").read_text()
        assert f"{meta['name']}.png" in page
        if meta.get("comparisons"):
            assert "predicted" in page and "measured" in page

    # the API reference: a page for every public name
    for name in gradtheory.__all__:
        if not name.startswith("_"):
            assert (out / "generated" / f"gradtheory.{name}.html").exists(), name
