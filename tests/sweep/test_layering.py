"""sweeps/ sits below the interfaces: it never imports the CLI (ARCHITECTURE.md, layers).

Fact checked (issue 13 item 4): the network-from-options builder that the CLI and the sweep
point functions share lives in ``sweeps/_tasks.py``, so no module of ``gradtheory/sweeps``
imports ``gradtheory.cli`` or ``gradtheory._cli_*`` (read from the source with ``ast``,
lazy imports inside functions included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import gradtheory.sweeps


def test_sweeps_never_import_the_cli():
    folder = Path(gradtheory.sweeps.__file__).parent
    offending = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(n.split(".")[-1] == "cli" or n.split(".")[-1].startswith("_cli") for n in names):
                offending.append(f"{path.name}: {ast.unparse(node)}")
    assert offending == []
