"""Docstrings write absolute values and norms as ``|x|`` and ``||v||``; reStructuredText would
read ``|x|`` as a substitution. Escape the bars before numpydoc and docutils see the text,
except inside doctest examples (shown verbatim)."""


def escape_bars(app, what, name, obj, options, lines: list[str]) -> None:
    in_example = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>"):
            in_example = True
        elif not stripped:
            in_example = False
        if not in_example and "|" in line:
            lines[i] = line.replace("\\|", "|").replace("|", "\\|")


def setup(app):
    app.connect("autodoc-process-docstring", escape_bars, priority=100)  # before numpydoc
    return {"parallel_read_safe": True, "parallel_write_safe": True}
