"""Sphinx configuration of gradlab's documentation (``sphinx-build -W -b html docs docs/_build/html``)."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the packages document themselves from this checkout, installed or not

project = "gradlab"
author = "the gradlab authors"
copyright = "the gradlab authors"

extensions = [
    "sphinx.ext.autodoc",    # the API reference, from the docstrings
    "sphinx.ext.napoleon",   # which are Google style: Args / Shape / Returns / Raises
    "sphinx.ext.viewcode",
    "sphinxarg.ext",         # the command line, from gradlab.cli.build_parser()
    "myst_nb",               # Markdown pages (MyST) and the tutorial notebooks, shown as saved, never executed
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "README.md", "**/.ipynb_checkpoints"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Shape:" is a section of PyTorch-style docstrings, as Args and Returns are.
napoleon_custom_sections = ["Shape"]

html_theme = "alabaster"
html_title = "gradlab"


# Docstrings are plain text (../shared house style): math such as ``|x|``, ``e**-x`` or ``kaiming_uniform_`` is
# written as it reads, not escaped for reStructuredText. Before napoleon reads them, the characters that
# reStructuredText would take for markup (substitutions, emphasis, references) are escaped, outside ``literals``,
# `interpreted text`, ``::`` literal blocks and doctests. Real markup errors and broken references still fail -W.
_MARKUP_FREE = re.compile(r"(``.+?``|:\w+:`[^`]+`|`[^`]+`_{0,2})")


def _escape_plain(line: str) -> str:
    parts = _MARKUP_FREE.split(line)
    for index in range(0, len(parts), 2):
        parts[index] = re.sub(r"(?<=\w)_(?!\w)", r"\\_", re.sub(r"([*|])", r"\\\1", parts[index]))
    return "".join(parts)


def _escape_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    literal_indent = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if stripped.startswith((">>>", "... ")):
            continue
        lines[index] = _escape_plain(line)
        if stripped.endswith("::"):
            literal_indent = indent


def setup(app):
    app.connect("autodoc-process-docstring", _escape_docstring, priority=400)  # napoleon's priority is 500
