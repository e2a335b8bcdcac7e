"""Write one API page per module of a package before Sphinx reads the sources.

For every importable module of ``api_package`` (``pkgutil.walk_packages``; modules whose
last name starts with ``_`` are skipped) the page ``<api_output>/<module>.rst`` holds the
module docstring (``automodule``) and, in source order, an ``autoclass``/``autofunction``
for each public class and function *defined* in that module (re-exports are documented
where they are defined; ``public_names`` resolves references to them).  A module that
fails to import is a warning, so with ``-W`` the build fails and names it.

Written this way rather than with ``autosummary :recursive:`` because a package attribute
that shadows a submodule of the same name (``scalebridge.homogenization.homogenize`` is
both) makes autosummary document the function in place of the module.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _members(module: Any) -> tuple[list[str], list[str]]:
    classes, functions = [], []
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj):
            classes.append(name)
        elif inspect.isfunction(obj):
            functions.append(name)

    def line(name: str) -> int:
        try:
            return inspect.getsourcelines(getattr(module, name))[1]
        except (OSError, TypeError):
            return 0

    return sorted(classes, key=line), sorted(functions, key=line)


def module_page(module: Any) -> str:
    """The reStructuredText of one module's page."""
    name = module.__name__
    classes, functions = _members(module)
    out = [name, "=" * len(name), "", f".. automodule:: {name}", "   :no-members:", ""]
    if classes:
        out += ["Classes", "-------", ""]
        for c in classes:
            out += [f".. autoclass:: {name}.{c}", "   :members:", ""]
    if functions:
        out += ["Functions", "---------", ""]
        out += [line for f in functions for line in (f".. autofunction:: {name}.{f}", "")]
    return "\n".join(out)


def module_names(package: str) -> list[str]:
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            names.append(info.name)
    return sorted(names)


def _write_pages(app: Any) -> None:
    package = app.config.api_package
    if not package:
        return
    out = Path(app.srcdir, app.config.api_output)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set()
    try:
        names = module_names(package)
    except Exception as exc:  # the package itself does not import
        logger.warning("api_pages: cannot import %s: %s", package, exc, type="api_pages")
        return
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            logger.warning(
                "api_pages: module %s does not import (%s: %s); fix it or the API reference "
                "misses it",
                name,
                type(exc).__name__,
                exc,
                type="api_pages",
            )
            continue
        path = out / f"{name}.rst"
        wanted.add(path.name)
        text = module_page(module)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for stale in out.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("api_package", "", "env", types=[str])
    app.add_config_value("api_output", "api/generated", "env", types=[str])
    app.connect("builder-inited", _write_pages)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
