"""Write one page per claim, and a gallery index, from the committed ``figures/<name>.json``.

Nothing is executed: each page shows what the last full ``gradtheory reproduce`` wrote: the
claim's title, statement and source, its derivation (LaTeX), its figure, the predicted-versus-
measured comparisons and the run's settings. The pages go to ``claims/`` in the source tree
(ignored by git) when conf.py is read.
"""

import json
import re
from pathlib import Path

_SPECIAL = re.compile(r"([^A-Za-z0-9\s])")


def text(value) -> str:
    """Plain text as reStructuredText: every markup character escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def number(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return text(f"{value:.4g}")
    return text(value)


def heading(title: str, mark: str) -> list[str]:
    escaped = text(title)
    return [escaped, mark * len(escaped), ""]


def claim_page(meta: dict, figure_dir: str) -> str:
    """The reStructuredText page of one claim."""
    name = meta["name"]
    lines = [f".. _claim-{name}:", "", *heading(meta["title"], "=")]
    lines += [f"**Claim.** {text(meta['statement'])}", ""]
    lines += [f"**Source.** {text(meta['source'])}", ""]
    lines += [f"**Result.** {text(meta['summary'])}", ""]
    latex = (meta.get("latex") or "").strip()
    if latex:
        body = [line for line in latex.splitlines() if line.strip()]  # a blank line splits math
        lines += [*heading("Derivation", "-"), ".. math::", "", *[f"   {b}" for b in body], ""]
    lines += [*heading("Figure", "-"), f".. image:: {figure_dir}/{name}.png"]
    lines += [f"   :alt: {name}", ""]
    rows = meta.get("comparisons") or []
    if rows:
        agreed = sum(bool(r.get("agrees")) for r in rows)
        lines += [*heading("Predicted and measured", "-")]
        lines += [f"They agree in {agreed} of {len(rows)} comparisons.", ""]
        # the tolerance rule, where the claim states one, is shown beside the numbers
        keys = ["quantity", "predicted", "measured", "agrees"]
        if any("rule" in row for row in rows):
            keys.insert(3, "rule")
        widths = " ".join(["40"] + ["15"] * (len(keys) - 1))
        lines += [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
        lines += [f"   * - {keys[0]}", *[f"     - {k}" for k in keys[1:]]]
        for row in rows:
            cells = [row.get(k, "") for k in keys]
            lines.append(f"   * - {number(cells[0])}")
            lines += [f"     - {number(c)}" for c in cells[1:]]
        lines.append("")
    settings = ", ".join(f"{k} = {v}" for k, v in (meta.get("settings") or {}).items())
    run = "quick" if meta.get("quick") else "full"
    lines += [
        *heading("Run", "-"),
        text(
            f"seed {meta.get('seed')}, {run} run, gradtheory {meta.get('version')}, "
            f"{meta.get('seconds')} s; settings: {settings}"
        ),
        "",
        f"Regenerate with ``gradtheory reproduce {name}`` (script: ``analyses/{name}.py``).",
        "",
    ]
    return "\n".join(lines)


def index_page(metas: list[dict], figure_dir: str) -> str:
    agreed = sum(bool(r.get("agrees")) for m in metas for r in m.get("comparisons") or [])
    total = sum(len(m.get("comparisons") or []) for m in metas)
    lines = [
        *heading("Claims gallery", "="),
        f"Each of the {len(metas)} claims is a script in ``analyses/`` that measures, compares",
        "with theory and draws; these pages show the committed full-size results (no claim runs",
        f"while the documentation builds). Predicted and measured agree in {agreed} of {total}",
        "comparisons; ``gradtheory reproduce --all`` regenerates them.",
        "",
        ".. toctree::",
        "   :hidden:",
        "",
        *[f"   {m['name']}" for m in metas],
        "",
    ]
    for meta in metas:
        lines += [
            f".. figure:: {figure_dir}/{meta['name']}.png",
            "   :width: 48%",
            f"   :alt: {meta['name']}",
            "",
            f"   :doc:`{meta['name']}`: {text(meta['title'])}",
            "",
        ]
    return "\n".join(lines)


def write_gallery(figures: Path, outdir: Path) -> list[Path]:
    """Write ``outdir/index.rst`` and ``outdir/<name>.rst`` for every ``figures/<name>.json``
    that has its PNG beside it; files whose text is unchanged are left alone."""
    metas = []
    for path in sorted(figures.glob("*.json")):
        meta = json.loads(path.read_text())
        if isinstance(meta, dict) and "name" in meta and (figures / f"{meta['name']}.png").exists():
            metas.append(meta)
    outdir.mkdir(parents=True, exist_ok=True)
    figure_dir = "/../figures"  # absolute to the source dir: docs/../figures
    pages = {outdir / "index.rst": index_page(metas, figure_dir)}
    pages.update({outdir / f"{m['name']}.rst": claim_page(m, figure_dir) for m in metas})
    for path, content in pages.items():
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
    return list(pages)
