"""Fail the build when an example or tutorial script is on no page of the site.

``scripts_check_dirs`` (paths relative to the configuration directory) lists folders of
Python scripts; every ``*.py`` in them whose name does not start with ``_`` must be
included by some page (``literalinclude`` records the file as a dependency of that
page).  Folders that do not exist are skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _check(app: Any, env: Any) -> None:
    included = set()
    for deps in env.dependencies.values():
        included.update(Path(app.srcdir, d).resolve() for d in deps)
    for folder in app.config.scripts_check_dirs:
        root = Path(app.confdir, folder).resolve()
        if not root.is_dir():
            continue
        for script in sorted(root.glob("*.py")):
            if not script.name.startswith("_") and script.resolve() not in included:
                logger.warning(
                    "script %s is not included by any page: add it to the gallery or the "
                    "tutorials (literalinclude)",
                    script.relative_to(root.parent),
                    type="scripts_check",
                )


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("scripts_check_dirs", [], "env", types=[list])
    app.connect("env-check-consistency", _check)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
