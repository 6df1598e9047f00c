"""The README's example runs as printed and its quoted numbers are what the code gives."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_its_numbers_hold(capsys):
    """Executes the README's Python block; checks the regime, rate and horizon quoted beside
    gt.predict and that the logistic map's 4-cycle is printed."""
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)  # the project's own README, not user data
    out = capsys.readouterr().out
    assert "vanishing (rate -0.0855 per step, horizon 80.8 steps" in out
    assert r"\operatorname{diag}\left(1 - h_{t}^{2}\right) W" in out
    history = namespace["history"]
    assert history.loss[-1] < history.loss[0] / 10
    cycle = np.sort(namespace["gt"].attractor(namespace["logistic"], h0=[0.2]).points.ravel())
    assert cycle == pytest.approx([0.38282, 0.50088, 0.82694, 0.87500], abs=1e-5)


def test_readme_main_command_leaves_the_checkout_clean():
    """Issue 10: the README's main command is a quick reproduce; a quick reproduce writes to
    figures/quick/ (the CLI's and run_claim's default), which .gitignore excludes."""
    from gradtheory.claims import default_outdir

    text = README.read_text()
    assert "gradtheory reproduce --all --quick" in text
    assert default_outdir(quick=True) == Path("figures/quick")
    ignored = (README.parent / ".gitignore").read_text().split()
    assert "figures/quick/" in ignored
