"""One Markdown document: each claim, its derivation, its figure and predicted-vs-measured numbers.

The report is assembled from what ``reproduce`` wrote (``<outdir>/<name>.json`` and ``.png``),
so it shows exactly the numbers of the last run. Where rows disagree, the claim script's
``Disagreements:`` paragraph explains why, quoting that run's numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

from .io import write_atomic

__all__ = ["write_report"]


def _format(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


def _section(meta: dict) -> list[str]:
    lines = [
        f"## {meta['title']}",
        "",
        f"*Claim.* {meta['statement']}",
        "",
        f"*Source.* {meta['source']}",
        "",
        f"*Result.* {meta['summary']}",
        "",
    ]
    if meta.get("explanation"):
        lines += [f"*Why rows disagree.* {meta['explanation']}", ""]
    if meta.get("latex"):
        lines += ["$$", meta["latex"].strip(), "$$", ""]
    lines += [f"![{meta['name']}]({meta['name']}.png)", ""]
    rows = meta.get("comparisons") or []
    if rows:
        keys = ("quantity", "predicted", "measured", "rule", "agrees")
        lines += ["| " + " | ".join(keys) + " |", "|---" * len(keys) + "|"]
        lines += ["| " + " | ".join(_format(row.get(k, "")) for k in keys) + " |" for row in rows]
        lines.append("")
    settings = ", ".join(f"{k}={v}" for k, v in meta.get("settings", {}).items())
    lines += [
        f"<sub>seed {meta['seed']}, {'quick' if meta['quick'] else 'full'} run, "
        f"gradtheory {meta['version']}, {meta['seconds']} s; settings: {settings}</sub>",
        "",
    ]
    return lines


def write_report(outdir: str | Path = "figures", output: str | Path | None = None) -> Path:
    """Write ``outdir/REPORT.md`` from the claims' JSON files and return its path.

    Examples
    --------
    >>> import tempfile
    >>> write_report(tempfile.mkdtemp()).name  # no claim run there yet: a report of none
    'REPORT.md'
    """
    from .claims import load_all
    from .claims._registry import explain

    outdir = Path(outdir)
    output = Path(output) if output else outdir / "REPORT.md"
    claims = load_all()
    lines = [
        "# gradtheory: claims reproduced",
        "",
        "Each section states a claim, shows its derivation and figure, and compares what "
        "theory predicts with what the executor measures. Regenerate with "
        "`gradtheory reproduce --all` and `gradtheory report`.",
        "",
    ]
    missing = []
    agreed = total = 0
    sections, unexplained = [], []
    for name in claims:
        path = outdir / f"{name}.json"
        if not path.exists():
            missing.append(name)
            continue
        meta = json.loads(path.read_text())
        rows = meta.get("comparisons") or []
        if claims[name].disagreements and not all(r.get("agrees") for r in rows):
            # the script's current explanation, quoting the numbers of the run on disk
            meta["explanation"] = explain(claims[name].disagreements, meta["numbers"])
        total += len(rows)
        agreed += sum(bool(r.get("agrees")) for r in rows)
        if not all(r.get("agrees") for r in rows) and not meta.get("explanation"):
            unexplained.append(name)
        sections += _section(meta)
    lines += [f"Predicted and measured agree in {agreed} of {total} comparisons.", ""]
    if agreed < total:
        lines += [
            "Each claim whose rows disagree explains why in its section, with the evidence of "
            "the run, except: " + (", ".join(unexplained) or "none") + ".",
            "",
        ]
    if missing:
        lines += [
            "Not reproduced yet: " + ", ".join(missing) + " (run `gradtheory reproduce NAME`).",
            "",
        ]
    lines += sections
    write_atomic(output, "\n".join(lines).encode())
    return output
