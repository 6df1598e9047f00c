"""Sphinx configuration of the gradtheory documentation.

Build: ``pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html``.
The API reference is generated from ``gradtheory.__all__`` and the claims gallery from the
committed ``figures/*.json`` and ``figures/*.png`` (no claim is run); the tutorial is executed.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document (and execute the tutorial against) the checkout this file sits in, not whichever
# gradtheory happens to be installed: autodoc imports from sys.path, the notebook kernel is a
# subprocess that inherits PYTHONPATH.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

from api_pages import write_api_page  # noqa: E402
from claims_gallery import write_gallery  # noqa: E402

import gradtheory  # noqa: E402

# Generated pages are written now, before Sphinx lists the source files (a builder-inited hook
# would be too late for autosummary and the toctrees on a clean build).
write_api_page(DOCS / "api.rst")
write_gallery(ROOT / "figures", DOCS / "claims")

project = "gradtheory"
author = "the gradtheory authors"
copyright = "the gradtheory authors"
release = version = gradtheory.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "plain_markup",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "jupyter_execute"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_default_options = {"member-order": "bysource"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 240
nb_execution_show_tb = True

html_theme = "alabaster"
html_title = f"gradtheory {release}"
html_static_path = []
html_theme_options = {
    "description": "vanishing and exploding gradients: derived, executed, predicted, verified",
    "fixed_sidebar": True,
}
