"""Write the API reference page from ``gradtheory.__all__`` (conf.py calls it).

The page lists every public name in one ``autosummary`` table whose stubs autosummary then
generates, so a name added to ``__all__`` appears in the reference without editing the docs.
"""

from pathlib import Path

import gradtheory

_KINDS = (
    ("Result types", lambda obj: isinstance(obj, type)),
    ("Functions", callable),
    ("Modules", lambda obj: True),
)


def _page() -> str:
    names = sorted((n for n in gradtheory.__all__ if not n.startswith("_")), key=str.lower)
    lines = [
        "API reference",
        "=============",
        "",
        "Every public name of ``gradtheory`` (``import gradtheory as gt``), generated from the",
        "docstrings; each result type's ``plot`` method draws it in the house style.",
        "",
        ".. currentmodule:: gradtheory",
        "",
    ]
    done = set()
    for title, test in _KINDS:
        chosen = [n for n in names if n not in done and test(getattr(gradtheory, n))]
        done.update(chosen)
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {n}" for n in chosen] + [""]
    return "\n".join(lines)


def write_api_page(path: Path) -> Path:
    """Write the page to ``path`` unless it already holds this text (keeps Sphinx's cache)."""
    text = _page()
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
