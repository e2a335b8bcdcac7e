"""Read ``|x|`` in docstrings as absolute-value bars, not reStructuredText substitutions.

The package's docstrings write norms and absolute values as ``|A_K - a_hom|``; docutils
takes such a pair for an undefined substitution reference and fails the build.  The site
defines no substitutions, so every ``|text|`` pair in plain docstring text is escaped
(``\\|text\\|``).  Inline literals (````...````), interpreted text (```...```) and lines
that look like table rows (starting with ``|`` or ``+``) are left alone.
"""

from __future__ import annotations

import re
from typing import Any

_LITERAL = re.compile(r"(``.+?``|`[^`]+`)")
_BARS = re.compile(r"(?<![\\|])\|(?=[^\s|])([^|\n]*?[^\s|\\])\|(?!\|)")


def escape_bars(line: str) -> str:
    """Escape ``|text|`` pairs outside inline literals and interpreted text."""
    if "|" not in line or line.lstrip().startswith(("|", "+", ">>>", "...")):
        return line
    parts = _LITERAL.split(line)
    return "".join(p if i % 2 else _BARS.sub(r"\\|\1\\|", p) for i, p in enumerate(parts))


def _escape(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    lines[:] = [escape_bars(line) for line in lines]


def setup(app: Any) -> dict[str, Any]:
    # before numpydoc (priority 500) so its parsed sections see the escaped text
    app.connect("autodoc-process-docstring", _escape, priority=100)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
