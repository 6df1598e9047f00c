"""Doctest namespace: every docstring example may use ``gt`` and ``np`` without importing them.

pytest collects the package's docstrings (``--doctest-modules``, see pyproject.toml); this file
only exists for that run and is never imported by the library itself.
"""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    import gradtheory

    doctest_namespace["gt"] = gradtheory
    doctest_namespace["np"] = np


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# torch is optional: without it, its interop examples are not collected (and nothing else is lost)
collect_ignore = [] if _importable("torch") else ["numeric/torch_interop.py"]


@pytest.fixture(autouse=True)
def _close_figures():
    """Examples that draw leave no figure open for the next one."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
