"""Validated TOML configuration of the ``asymptotic`` job (see the built-in default,
``scalebridge/data/asymptotic_default.toml``).

>>> cfg = load_asymptotic_config()
>>> [c.name for c in cfg.coefficient], cfg.study.eps[-1]
(['Hou-Wu, separable', 'non-separable'], 0.03125)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, StrictInt, model_validator

from scalebridge.io.config import _Section, data_file, validate_toml

__all__ = ["AsymptoticConfig", "coefficient_from_expression", "load_asymptotic_config"]

DEFAULT_ASYMPTOTIC_CONFIG = "asymptotic_default.toml"
_NAMESPACE = {
    name: getattr(np, name)
    for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "where", "floor", "mod", "tanh")
}
_NAMESPACE["pi"] = math.pi


class CoefficientSpec(_Section):
    name: str = "a(y)"
    expression: str


class ProblemSpec(_Section):
    ndim: Annotated[int, Field(ge=1, le=3)] = 2
    f: float = 1.0
    lower: list[float] | None = None
    upper: list[float] | None = None

    @model_validator(mode="after")
    def _box(self) -> ProblemSpec:
        for name in ("lower", "upper"):
            v = getattr(self, name)
            if v is not None and len(v) != self.ndim:
                raise ValueError(f"{name} needs {self.ndim} entries (ndim), got {v}")
        return self


class StudySpec(_Section):
    eps: list[Annotated[float, Field(gt=0, lt=1)]] = Field(min_length=2)
    elements_per_period: StrictInt = Field(default=8, ge=2, le=64)
    order: Annotated[int, Field(ge=1, le=2)] = 2
    cell_resolution: StrictInt = Field(default=128, ge=8, le=1024)
    interior: float = Field(default=0.25, gt=0)
    scale_separation: list[Annotated[int, Field(ge=2)]] = Field(default_factory=list)


class AsymptoticConfig(_Section):
    coefficient: list[CoefficientSpec] = Field(min_length=1)
    problem: ProblemSpec = ProblemSpec()
    study: StudySpec


def coefficient_from_expression(expression: str, ndim: int, name: str = "a(y)") -> Any:
    """A `PeriodicCoefficient` from a numpy expression of ``y1, y2, y3``."""
    from scalebridge.asymptotic import PeriodicCoefficient

    try:
        code = compile(expression, "<coefficient>", "eval")
    except SyntaxError as exc:
        raise ValueError(
            f"expression: {expression!r} is not a valid expression: {exc.msg}"
        ) from None
    allowed = set(_NAMESPACE) | {f"y{i + 1}" for i in range(ndim)}
    unknown = sorted(set(code.co_names) - allowed)
    if unknown:
        raise ValueError(
            f"expression: unknown name(s) {unknown} in {expression!r}; allowed: "
            f"{', '.join(sorted(allowed))}"
        )

    def a(y: Any) -> Any:
        env = dict(_NAMESPACE)
        env.update({f"y{i + 1}": y[i] for i in range(ndim)})
        return np.broadcast_to(
            np.asarray(eval(code, {"__builtins__": {}}, env), dtype=float),
            y.shape[1:],
        )

    try:
        coef = PeriodicCoefficient.from_function(a, ndim, name=name)
        s = (np.arange(64) + 0.5) / 64
        grid = np.array(np.meshgrid(*([s] * ndim), indexing="ij"))
        vals = coef(grid)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"expression: {expression!r} cannot be evaluated: {exc}") from None
    if not np.all(vals > 0):
        raise ValueError(f"expression: {expression!r} is not positive on the unit cell")
    return coef


def default_asymptotic_config_path() -> Path:
    return data_file(DEFAULT_ASYMPTOTIC_CONFIG)


def load_asymptotic_config(path: str | Path | None = None) -> AsymptoticConfig:
    """Read and validate an ``asymptotic`` TOML config (the built-in one when ``None``)."""
    p = default_asymptotic_config_path() if path is None else Path(path)
    return validate_toml(p, AsymptoticConfig)
