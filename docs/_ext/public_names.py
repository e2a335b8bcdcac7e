"""Resolve references to public re-exports (``scalebridge.homogenize``) to their definition.

The API reference documents every object where it is defined
(``scalebridge.homogenization.homogenize.homogenize``), while docstrings and pages name it
where users import it from (``scalebridge.homogenize``, ``scalebridge.materials.Elasticity``,
or ``Microstructure`` inside ``scalebridge.microstructure``).  When the Python domain does
not find a target, this handler imports the name, takes the object's
``__module__.__qualname__`` and resolves that instead; names that are not scalebridge
objects stay unresolved, so a misspelt reference still fails the build.
"""

from __future__ import annotations

import importlib
from typing import Any


def _lookup(dotted: str) -> Any:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _canonical(obj: Any) -> str | None:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(obj, type(importlib)):  # a module
        return obj.__name__
    if not (module and qualname) or not module.startswith("scalebridge"):
        return None
    return f"{module}.{qualname}"


def _resolve(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    candidates = [target]
    module = node.get("py:module")
    if module and not target.startswith("scalebridge"):
        candidates.insert(0, f"{module}.{target}")
    for name in candidates:
        if not name.startswith("scalebridge"):
            continue
        canonical = _canonical(_lookup(name))
        if canonical is None or canonical == target:
            continue
        domain = env.get_domain("py")
        new = node.deepcopy()
        new["reftarget"] = canonical
        ref = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], canonical, new, contnode
        )
        if ref is not None:
            return ref
    return None


def setup(app: Any) -> dict[str, Any]:
    app.connect("missing-reference", _resolve)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
