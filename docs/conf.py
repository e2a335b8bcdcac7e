"""Sphinx configuration of the scalebridge documentation site.

Build with ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``):
every warning — a broken link, a missing page, image or included script, an unresolved
cross-reference, a docstring that does not parse — fails the build.  Nothing heavy runs
here: tutorials and gallery scripts are executed by the test suite
(``tests/test_tutorials.py``, ``tests/test_examples.py``) and the site shows their source
and the figures committed under ``docs/img/tutorials/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import scalebridge  # noqa: E402  (the installed package: the API reference documents it)

project = "scalebridge"
author = "the scalebridge developers"
copyright = "the scalebridge developers, BSD-3-Clause"
release = scalebridge.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "scripts_check",
    "docstring_bars",
    "public_names",
    "api_pages",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

# ---------------------------------------------------------------- strictness
# With -W every warning is an error; nitpicky makes an unresolved Python reference
# (``{py:func}`scalebridge.homogenise``` in a page, a :class: role in a docstring) one.
nitpicky = True
nitpick_ignore_regex = [
    # Targets outside scalebridge: the build is offline (no intersphinx inventories), so
    # references to the standard library and to dependencies cannot resolve.  References
    # into scalebridge stay strict.
    (
        "py:.*",
        r"(os|tomllib|concurrent|collections|typing|pathlib|numpy|scipy|skfem|meshio"
        r"|matplotlib|dask|distributed|pyamg|ase|h5py|pydantic)(\..*)?",
    ),
    ("py:class", r"Client|Executor"),
]

# ---------------------------------------------------------------- MyST (Markdown pages)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# ---------------------------------------------------------------- API reference
api_package = "scalebridge"  # one page per module under api/generated (_ext/api_pages.py)
autodoc_typehints = "none"  # the numpydoc sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# ---------------------------------------------------------------- scripts on the site
# Every example and tutorial script must appear on some page (literalinclude): a script
# added without documentation fails the build (see _ext/scripts_check.py).
scripts_check_dirs = ["../examples", "../tutorials"]

# ---------------------------------------------------------------- HTML
html_theme = "furo"
html_title = f"scalebridge {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
pygments_style = "friendly"
