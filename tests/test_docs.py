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


def test_gallery_pages_keep_claim_text_literal(tmp_path):
    """Claim text is full of reStructuredText markup characters (|x| is a substitution, *a* is
    emphasis, x_ is a link); the generated page must show it verbatim, with the rule column
    when a comparison states one, and parse without a single docutils warning."""
    from docutils import nodes
    from docutils.core import publish_doctree

    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    from claims_gallery import write_gallery

    figures, out = tmp_path / "figures", tmp_path / "claims"
    figures.mkdir()
    tricky = "|dh_T/dh_0| <= w^T * gamma_ for `T` = 50 [1]"
    meta = {
        "name": "demo",
        "title": "A *claim* with |bars|",
        "statement": tricky,
        "source": "notes_",
        "summary": "ok",
        "latex": "a = b\n\nc = d",
        "comparisons": [
            {
                "quantity": tricky,
                "predicted": 1.0,
                "measured": 1.5,
                "agrees": False,
                "rule": "|measured - predicted| <= 0.1",
            }
        ],
        "settings": {"T": 50},
        "seed": 0,
        "quick": False,
        "version": "0",
        "seconds": 1.0,
    }
    (figures / "demo.json").write_text(json.dumps(meta))
    (figures / "demo.png").write_bytes(b"")
    (figures / "orphan.json").write_text(json.dumps({**meta, "name": "orphan"}))  # no PNG
    written = write_gallery(figures, out)
    assert sorted(p.name for p in written) == ["demo.rst", "index.rst"]
    source = (out / "demo.rst").read_text()
    settings = {"report_level": 2, "halt_level": 2}  # any warning raises
    doctree = publish_doctree(source, settings_overrides=settings)
    text = doctree.astext()
    assert text.count(tricky) == 2  # statement and table row, verbatim
    header, row = ([entry.astext() for entry in r.children] for r in doctree.findall(nodes.row))
    assert header == ["quantity", "predicted", "measured", "rule", "agrees"]
    assert row == [tricky, "1", "1.5", "|measured - predicted| <= 0.1", "no"]
    assert "A *claim* with |bars|" in text


def test_docstring_plain_math_is_escaped_but_emphasis_kept():
    """Docstrings write |x|, ||v||, (K, *shape) and **params in prose; after the docs hook the
    text parses without docutils warnings, shows those characters verbatim, and real *emphasis*
    and ``literal`` spans stay what they were."""
    from docutils import nodes
    from docutils.core import publish_doctree

    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    from plain_markup import escape_markup

    lines = [
        "The *tape* holds ||dL/ds_t|| for every |x| > 0, shape (K, *shape); pass **params.",
        "Literal ``|a| * b`` stays.",
        "",
        "* a bullet with ``x * y``;",
        "  its second line.",
    ]
    escape_markup(None, "function", "f", None, {}, lines)
    settings = {"report_level": 2, "halt_level": 2}  # any warning raises
    doctree = publish_doctree("\n".join(lines), settings_overrides=settings)
    text = doctree.astext()
    assert "||dL/ds_t|| for every |x| > 0, shape (K, *shape); pass **params." in text
    assert [node.astext() for node in doctree.findall(nodes.emphasis)] == ["tape"]
    assert [node.astext() for node in doctree.findall(nodes.literal)] == ["|a| * b", "x * y"]
    assert len(list(doctree.findall(nodes.bullet_list))) == 1
