"""Validated TOML configuration of the ``rve-study`` job.

Tables: ``[model]`` (a random model of `scalebridge.microstructure.random_models`:
``model = "RandomSpheres"`` and its parameters), ``[phases.<label>]`` (as in
``homogenize``) or ``[crystal]`` (one law rotated per grain of a `VoronoiPolycrystal`),
``[study]`` (sizes, realizations, resolution, conditions, statistics) and ``[run]``
(executor, workers).

Examples
--------
>>> cfg = load_rve_config()
>>> cfg.model["model"], cfg.study.bcs
('RandomSpheres', ['kubc', 'periodic', 'subc'])
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from scalebridge.io.config import ConfigError, PhaseSpec, _Section, data_file, validate_toml

__all__ = ["RVEStudyConfig", "build_study", "default_rve_config_path", "load_rve_config"]

DEFAULT_RVE_CONFIG = "rve_study_default.toml"
BCS = Literal["kubc", "periodic", "subc"]


class StudySpec(_Section):
    """Sizes, realizations and the statistics settings of the study."""

    sizes: list[Annotated[float, Field(gt=0)]] = Field(min_length=2)
    realizations: StrictInt = Field(ge=2)
    resolution: float = Field(gt=0)
    bcs: list[BCS] = Field(default_factory=lambda: ["kubc", "periodic", "subc"], min_length=1)
    seed: StrictInt = 0
    quantity: str | None = None
    rel_error: float = Field(default=0.01, gt=0, lt=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    descriptor_tol: float = Field(default=0.02, gt=0, lt=1)

    @field_validator("sizes")
    @classmethod
    def _distinct(cls, v: list[float]) -> list[float]:
        if len(set(v)) != len(v):
            raise ValueError(f"the sizes must be distinct, got {v}")
        return sorted(v)


class StudySolverSpec(_Section):
    method: Literal["auto", "fft", "fe"] = "auto"
    tol: float = Field(default=1e-6, gt=0, lt=1)


class RunSpec(_Section):
    """Where the solves run: see `scalebridge.parallel`."""

    executor: str = "processes"
    workers: StrictInt | None = Field(default=None, ge=1)
    threads_per_task: StrictInt = Field(default=1, ge=1)


class RVEStudyConfig(_Section):
    """The whole ``rve-study`` config."""

    model: dict[str, Any]
    phases: dict[Annotated[int, Field(ge=0)], PhaseSpec] | None = None
    crystal: PhaseSpec | None = None
    study: StudySpec
    solver: StudySolverSpec = StudySolverSpec()
    run: RunSpec = RunSpec()

    @model_validator(mode="after")
    def _materials(self) -> RVEStudyConfig:
        if (self.phases is None) == (self.crystal is None):
            raise ValueError("give either [phases.<label>] tables or one [crystal] table")
        if "model" not in self.model:
            raise ValueError('[model] needs model = <name>, e.g. model = "RandomSpheres"')
        return self

    def materials(self) -> dict[str, Any]:
        """The materials description of `scalebridge.rve.study.rve_study`."""
        if self.crystal is not None:
            return {"crystal": self.crystal.model_dump(exclude_none=True)}
        assert self.phases is not None
        return {str(k): v.model_dump(exclude_none=True) for k, v in self.phases.items()}


def default_rve_config_path() -> Path:
    """The built-in default (``scalebridge/data/rve_study_default.toml``)."""
    return data_file(DEFAULT_RVE_CONFIG)


def load_rve_config(path: str | Path | None = None) -> RVEStudyConfig:
    """Read and validate an ``rve-study`` TOML config (the built-in one when ``None``)."""
    p = default_rve_config_path() if path is None else Path(path)
    cfg = validate_toml(p, RVEStudyConfig)
    if "file" in cfg.model:  # an image: resolve its path against the config's folder
        resolved = (p.parent / Path(str(cfg.model["file"])).expanduser()).resolve()
        cfg = cfg.model_copy(update={"model": {**cfg.model, "file": str(resolved)}})
    return cfg


def build_study(cfg: RVEStudyConfig) -> tuple[Any, dict[str, Any]]:
    """The random model and the materials description, with errors as `ConfigError`."""
    from scalebridge.rve.study import materials_from_description, model_from_description

    try:
        model = model_from_description(cfg.model)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model: {exc}") from None
    mats = cfg.materials()
    if cfg.phases is not None:
        try:
            materials_from_description(mats)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"phases: {exc}") from None
    return model, mats
