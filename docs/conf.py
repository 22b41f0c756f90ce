"""Sphinx configuration of featcls's documentation.

Build (offline; nothing is downloaded and no example is executed)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from featcls_docs import write_api_pages  # noqa: E402

import featcls  # noqa: E402

project = "featcls"
author = "featcls developers"
copyright = "featcls developers"  # noqa: A001 - Sphinx's name
release = featcls.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "featcls_docs",
]

exclude_patterns = ["_build"]
templates_path = ["_templates"]
root_doc = "index"
default_role = "literal"

# -- API reference -----------------------------------------------------------------
# One page per public package, written from its __all__ before the build reads it.
write_api_pages(HERE / "api")
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections give the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# The families list their features under a "Features" heading, which numpydoc does
# not know: featcls_docs turns it into a rubric, and numpydoc's own signature pass
# would warn about it on every build.
warnings.filterwarnings("ignore", "Unknown section Features", UserWarning)

# -- Examples gallery --------------------------------------------------------------
# The scripts are shown, not run: building the docs executes none of them.
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": str(HERE / "auto_examples"),
    "filename_pattern": r"^$",  # execute nothing
    "plot_gallery": "False",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "show_signature": False,
    "write_computation_times": False,  # its pages load scripts from a CDN
}

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"featcls {release}"
html_static_path = ["_static"]
html_css_files = ["featcls.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}

# No intersphinx and no mathjax: the build reads nothing from the network and the
# pages open offline.
