"""From a validated config to the objects :func:`scalebridge.homogenize` takes.

Library errors (a generator or a material constructor rejecting its parameters) are
re-raised as :class:`~scalebridge.io.config.ConfigError` with the config field path in
front, e.g. ``microstructure.radius: ...`` or ``phases.1.nu: ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scalebridge.io.config import ConfigError, FileSpec, HomogenizeConfig

__all__ = ["build_microstructure", "build_problem"]


def _wrap(prefix: str, exc: ValueError, fields: dict[str, Any]) -> ConfigError:
    """Re-raise a library ``ValueError`` with the config field path in front."""
    msg = str(exc)
    head = re.match(r"^(\w+): (.*)$", msg, re.S)
    if head and head.group(1) in fields:
        return ConfigError(f"{prefix}.{head.group(1)}: {head.group(2)}")
    return ConfigError(f"{prefix}: {msg}")


def build_microstructure(spec: Any) -> Any:
    """Generate or load the microstructure described by a ``[microstructure]`` spec."""
    from scalebridge import microstructure as msmod

    params = spec.model_dump(exclude={"generator"}, exclude_none=True)
    try:
        if isinstance(spec, FileSpec):
            path = Path(params["file"])
            params = {k: v for k, v in params.items() if k != "file"}
            if not path.is_file():
                raise ConfigError(f"microstructure.file: no such file: {path}")
            return msmod.load_microstructure(path, **params)
        return getattr(msmod, spec.generator)(**params)
    except ConfigError:
        raise
    except ValueError as exc:
        raise _wrap("microstructure", exc, type(spec).model_fields) from None
    except OSError as exc:
        raise ConfigError(
            f"microstructure.file: cannot read {getattr(spec, 'file', '?')}: {exc}"
        ) from None


def build_problem(
    config: HomogenizeConfig,
) -> tuple[Any, dict[int, Any], dict[str, Any]]:
    """Build ``(microstructure, {label: law}, solver_kwargs)`` from a validated config.

    ``solver_kwargs["bc"]`` is passed through unchanged, ``"all"`` included: the caller
    runs :func:`scalebridge.apparent_tensors` for it (``bcs=ALL_BCS``) instead of
    :func:`scalebridge.homogenize`.

    Raises
    ------
    ConfigError
        If a generator or a material constructor rejects its parameters, if the phases mix
        conduction and elasticity, or if a label present in the microstructure has no phase.
    """
    ms = build_microstructure(config.microstructure)
    from scalebridge.materials import Conductivity, Elasticity

    kinds = {spec.law for spec in config.phases.values()}
    if len(kinds) > 1:
        raise ConfigError("phases: all phases must use the same law (conduction or elasticity)")
    laws: dict[int, Any] = {}
    for label, spec in sorted(config.phases.items()):
        cls = Conductivity if spec.law == "conduction" else Elasticity
        try:
            laws[label] = cls(**spec.parameters())
        except (ValueError, TypeError) as exc:
            raise _wrap(f"phases.{label}", ValueError(str(exc)), type(spec).model_fields) from None
    missing = [p for p in ms.phases if p not in laws]
    if missing:
        raise ConfigError(
            f"phases: no law for phase label(s) {missing} present in the microstructure "
            f"(labels present: {list(ms.phases)}); add a [phases.{missing[0]}] table"
        )
    return ms, laws, config.solver_kwargs()
