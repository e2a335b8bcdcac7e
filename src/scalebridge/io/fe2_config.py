"""Validated TOML configuration of the ``fe2`` job (built-in default:
``scalebridge/data/fe2_default.toml``).

>>> cfg = load_fe2_config()
>>> cfg.rve.grid, cfg.macro.steps, cfg.run.executor
(16, 6, 'processes')
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictInt, model_validator

from scalebridge.io.config import _Section, data_file, validate_toml

__all__ = ["FE2Config", "load_fe2_config"]

DEFAULT_FE2_CONFIG = "fe2_default.toml"
Positive = Annotated[float, Field(gt=0)]


class MacroSpec(_Section):
    mesh: str | None = None  # a mesh file (meshio); the plate with a hole when omitted
    width: Positive = 1.0
    height: Positive = 1.0
    radius: Positive = 0.3
    size: Positive = 0.35
    hole_size: Positive = 0.15
    displacement: float = 0.02
    steps: StrictInt = Field(default=6, ge=1, le=1000)

    @model_validator(mode="after")
    def _hole(self) -> MacroSpec:
        if self.radius >= min(self.width, self.height):
            raise ValueError(
                f"radius {self.radius} must be smaller than width {self.width} and height "
                f"{self.height}"
            )
        return self


class MatrixSpec(_Section):
    E: Positive = 3500.0
    nu: Annotated[float, Field(gt=-1, lt=0.5)] = 0.35
    yield_stress: Positive = 40.0
    isotropic_modulus: Annotated[float, Field(ge=0)] = 300.0
    kinematic_modulus: Annotated[float, Field(ge=0)] = 0.0


class FibreSpec(_Section):
    E: Positive = 72000.0
    nu: Annotated[float, Field(gt=-1, lt=0.5)] = 0.22


class RVESpecConfig(_Section):
    grid: StrictInt = Field(default=16, ge=4, le=256)
    fibre_fraction: Annotated[float, Field(ge=0, lt=0.75)] = 0.35
    solver: Literal["fft", "fe"] = "fft"
    bc: Literal["periodic", "kubc"] = "periodic"
    matrix: MatrixSpec = MatrixSpec()
    fibre: FibreSpec = FibreSpec()

    @model_validator(mode="after")
    def _bc(self) -> RVESpecConfig:
        if self.solver == "fft" and self.bc != "periodic":
            raise ValueError(f"bc {self.bc!r} needs solver 'fe' (the FFT solver is periodic)")
        return self


class SolverSpec(_Section):
    tol: Annotated[float, Field(gt=0, lt=1)] = 1e-6
    max_iter: StrictInt = Field(default=12, ge=1, le=200)
    micro_tol: Annotated[float, Field(gt=0, lt=1)] = 1e-8


class RunSpec(_Section):
    executor: str = "processes"
    max_workers: StrictInt | None = Field(default=2, ge=1)


class FE2Config(_Section):
    macro: MacroSpec = MacroSpec()
    rve: RVESpecConfig = RVESpecConfig()
    solver: SolverSpec = SolverSpec()
    run: RunSpec = RunSpec()


def load_fe2_config(path: str | Path | None = None) -> FE2Config:
    """The validated config at ``path``, or the built-in default."""
    return validate_toml(data_file(DEFAULT_FE2_CONFIG) if path is None else path, FE2Config)
