"""Docstrings write mathematics in plain text: ``|x|`` and ``||v||`` for norms, ``(K, *shape)``
for shapes, ``**params`` for keyword arguments. reStructuredText would read ``|x|`` as a
substitution and a lone ``*`` as an unfinished emphasis, so before numpydoc and docutils see a
docstring, bars and unpaired stars are escaped: outside ``literal`` spans and doctest examples
(shown verbatim), keeping real ``*emphasis*`` and ``**strong**``, and leaving numpydoc's own
parameter names (``**values : array``) for numpydoc, which escapes them itself."""

import re

_PAIRED = re.compile(r"(?<![\w*\\])(\*\*?)(?=[^\s*])(.+?)(?<=[^\s*\\])\1(?![\w*])")
_STAR = re.compile(r"\*(?=\S)")
_PARAMETER = re.compile(r"^(\s*\**[A-Za-z_]\w*(?:\s*,\s*\**[A-Za-z_]\w*)*)( : .*)$")


def _escape_text(text: str) -> str:
    """Escape ``|``, and every ``*`` that could start inline markup (one followed by a non-space:
    ``* item`` bullets and ``a * b`` stay) and is not part of an emphasis or strong pair."""
    text = text.replace("\\|", "|").replace("|", "\\|")
    out, last = [], 0
    for match in _PAIRED.finditer(text):
        out.append(_STAR.sub(r"\\*", text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_STAR.sub(r"\\*", text[last:]))
    return "".join(out)


def escape_line(line: str) -> str:
    """One docstring line with its plain-text markup escaped (literal spans untouched)."""
    head, rest = "", line
    parameter = _PARAMETER.match(line)
    if parameter:  # numpydoc escapes the names; only the type text is ours to escape
        head, rest = parameter.group(1), parameter.group(2)
    pieces = rest.split("``")
    pieces[::2] = [_escape_text(piece) for piece in pieces[::2]]
    return head + "``".join(pieces)


def escape_markup(app, what, name, obj, options, lines: list[str]) -> None:
    in_example = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>"):
            in_example = True
        elif not stripped:
            in_example = False
        if not in_example and ("|" in line or "*" in line):
            lines[i] = escape_line(line)


def setup(app):
    app.connect("autodoc-process-docstring", escape_markup, priority=100)  # before numpydoc
    return {"parallel_read_safe": True, "parallel_write_safe": True}
