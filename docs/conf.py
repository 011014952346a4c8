"""Sphinx configuration for sknorm's documentation site.

Build with warnings as errors (see ``docs/README.md``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``SKNORM_DOCS_QUICK=1`` runs the gallery's examples in their quick mode (the
``SKNORM_EXAMPLE_QUICK`` switch ``tests/test_examples.py`` uses): that is what
CI builds. Without it the examples run in full (tens of minutes).
"""

import os
import pathlib
import sys
import tempfile

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from docutils.nodes import SkipNode as _SkipNode  # noqa: E402

import sknorm  # noqa: E402

project = "sknorm"
author = "sknorm developers"
copyright = "sknorm developers"
version = release = sknorm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "README.md", "auto_examples/*.ipynb"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_favicon = "_static/favicon.png"

# -- API pages ---------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Cross-reference the names used in docstrings' "See Also" to their pages.
default_role = "literal"

# -- Markdown (user guide pages moved from the README) -----------------------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# -- Intersphinx, offline ----------------------------------------------------
# The build machine has no internet, so the inventories of scikit-learn and
# NumPy cannot be fetched. ``docs/_inventories/*.inv`` are small inventories
# listing only the targets these docs reference (written by
# ``docs/_inventories/make_inventories.py`` with ``sphinx.util.inventory``).
# Each mapping tries the real ``objects.inv`` first only when
# ``SKNORM_DOCS_ONLINE=1``; links always point at the real sites.
_ONLINE = os.environ.get("SKNORM_DOCS_ONLINE", "") not in ("", "0")
_INV = HERE / "_inventories"


def _inventories(url, name):
    local = str(_INV / f"{name}.inv")
    return (url, (None, local) if _ONLINE else local)


intersphinx_mapping = {
    "sklearn": _inventories("https://scikit-learn.org/stable/", "sklearn"),
    "numpy": _inventories("https://numpy.org/doc/stable/", "numpy"),
}
intersphinx_timeout = 5

# -- Gallery -----------------------------------------------------------------
QUICK = os.environ.get("SKNORM_DOCS_QUICK", "") not in ("", "0")
if QUICK:
    os.environ["SKNORM_EXAMPLE_QUICK"] = "1"
# The examples also save their PNG next to themselves: keep the checkout
# clean by sending those copies to a scratch folder.
os.environ.setdefault(
    "SKNORM_EXAMPLE_OUTDIR", tempfile.mkdtemp(prefix="sknorm-gallery-")
)
os.environ.setdefault("MPLBACKEND", "Agg")

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "image_scrapers": ("matplotlib",),
}

# -- Math, offline ----------------------------------------------------------
# The only formulas are in docstrings inherited from scikit-learn (the R² of
# ``score``). MathJax would come from a CDN, which the offline build machines
# and the browser test cannot reach (a console error), so by default formulas
# are shown as their LaTeX source in a code span. ``SKNORM_DOCS_ONLINE=1``
# renders them with MathJax.
if _ONLINE:
    extensions.append("sphinx.ext.mathjax")
else:
    html_math_renderer = "latex_source"


def _visit_inline_math(self, node):
    self.body.append(
        self.starttag(node, "code", "", CLASS="math docutils literal")
        + self.encode(node.astext())
        + "</code>"
    )
    raise _SkipNode


def _visit_block_math(self, node):
    self.body.append(
        self.starttag(node, "pre", "", CLASS="math")
        + self.encode(node.astext())
        + "</pre>\n"
    )
    raise _SkipNode


def setup(app):
    """Register the offline math renderer."""
    app.add_html_math_renderer(
        "latex_source",
        inline_renderers=(_visit_inline_math, None),
        block_renderers=(_visit_block_math, None),
    )


# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknorm {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
# A first visit with no stored theme mode would log "Got invalid theme mode"
# as a console error; name the default.
html_context = {"default_mode": "light"}
