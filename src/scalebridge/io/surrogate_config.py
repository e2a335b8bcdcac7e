"""Validated TOML configuration of the ``surrogate`` jobs (built-in default:
``scalebridge/data/surrogate_default.toml``).

The ``[macro]``, ``[rve]``, ``[solver]`` and ``[run]`` tables are those of the FE² job
(`scalebridge.io.fe2_config`, same defaults), so the surrogate is trained on, and
compared with FE² on, exactly the same RVE and macro problem.  ``[sampling]`` sets the
loading paths of the offline database, ``[database]`` its file, ``[surrogate]`` the
model and ``[compare]`` the FE² reference run.

>>> cfg = load_surrogate_config()
>>> cfg.sampling.paths, cfg.surrogate.model, cfg.fe2_config().rve.grid
(128, 'potential', 16)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from scalebridge.io.config import _Section, data_file, validate_toml
from scalebridge.io.fe2_config import FE2Config, MacroSpec, RunSpec, RVESpecConfig, SolverSpec

__all__ = ["SurrogateConfig", "load_surrogate_config"]

DEFAULT_SURROGATE_CONFIG = "surrogate_default.toml"
NonNegative = Annotated[float, Field(ge=0)]


class SamplingSpec(_Section):
    coordinates: Literal["components", "volumetric-deviatoric"] = "volumetric-deviatoric"
    lower: list[float] = Field(default_factory=lambda: [-0.01, -0.07, -0.07])
    upper: list[float] = Field(default_factory=lambda: [0.03, 0.07, 0.07])
    method: Literal["lhs", "sobol", "grid"] = "lhs"
    paths: StrictInt = Field(default=128, ge=1, le=100_000)
    steps: StrictInt = Field(default=10, ge=1, le=1000)
    seed: StrictInt = 0
    loading: Literal["monotonic", "cyclic"] = "monotonic"
    cycles: StrictInt = Field(default=1, ge=1, le=100)
    ratio: Annotated[float, Field(ge=-1, lt=1)] = -1.0
    to_boundary: StrictBool = True
    grading: Annotated[float, Field(ge=1, le=4)] = 2.0

    @model_validator(mode="after")
    def _box(self) -> SamplingSpec:
        if len(self.lower) != 3 or len(self.upper) != 3:
            raise ValueError(
                f"lower and upper need 3 values each (2D plane strain), got {self.lower}, "
                f"{self.upper}"
            )
        if any(lo > 0 or hi < 0 for lo, hi in zip(self.lower, self.upper, strict=True)):
            raise ValueError(
                f"the box must contain zero strain (radial paths start there): lower "
                f"{self.lower} <= 0 <= upper {self.upper}"
            )
        if all(lo == hi for lo, hi in zip(self.lower, self.upper, strict=True)):
            raise ValueError("the box is a single point; give lower < upper")
        return self


class DatabaseSpec(_Section):
    file: str = "database.h5"  # relative to the output folder unless absolute
    batch: StrictInt | None = Field(default=None, ge=1)


class SurrogateSpec(_Section):
    model: Literal["potential", "gp"] = "potential"
    holdout: Annotated[float, Field(ge=0, lt=1)] = 0.2
    seed: StrictInt = 0
    out_of_range: Literal["warn", "raise", "ignore"] = "warn"
    margin: NonNegative = 0.0
    # potential
    symmetry: Literal["auto", "isotropic", "square", "none"] = "auto"
    knots: StrictInt = Field(default=10, ge=0, le=64)
    knot_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.02
    degree: StrictInt = Field(default=2, ge=2, le=8)
    volumetric_order: StrictInt = Field(default=1, ge=0, le=4)
    harmonics: StrictInt = Field(default=4, ge=0, le=8)
    kappa: NonNegative = 1.0 / 12.0
    ridge: NonNegative = 1e-8
    tangent_weight: NonNegative = 0.3
    # gp
    max_points: StrictInt = Field(default=1200, ge=2, le=20_000)
    augment: StrictBool | None = None  # default: when the cell has the square symmetry


class CompareSpec(_Section):
    fe2: StrictBool = True  # run (or reuse) FE² on the same macro problem
    reuse: StrictBool = True  # reuse OUTPUT/fe2 when its settings match


class SurrogateConfig(_Section):
    macro: MacroSpec = MacroSpec()
    rve: RVESpecConfig = RVESpecConfig()
    solver: SolverSpec = SolverSpec()
    run: RunSpec = RunSpec()
    sampling: SamplingSpec = SamplingSpec()
    database: DatabaseSpec = DatabaseSpec()
    surrogate: SurrogateSpec = SurrogateSpec()
    compare: CompareSpec = CompareSpec()

    def fe2_config(self) -> FE2Config:
        """The FE² job of the same macro problem and RVE."""
        return FE2Config(macro=self.macro, rve=self.rve, solver=self.solver, run=self.run)


def load_surrogate_config(path: str | Path | None = None) -> SurrogateConfig:
    """The validated config at ``path``, or the built-in default."""
    return validate_toml(
        data_file(DEFAULT_SURROGATE_CONFIG) if path is None else path, SurrogateConfig
    )
