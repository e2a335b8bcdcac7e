"""Validated TOML configuration of the ``atomistic`` job (built-in default:
``scalebridge/data/atomistic_default.toml``).

>>> cfg = load_atomistic_config()
>>> cfg.problem.name, cfg.problem.size, cfg.methods.names[-1]
('vacancy', 121, 'bridging')
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator

from scalebridge.io.config import _Section, data_file, validate_toml

__all__ = ["AtomisticConfig", "load_atomistic_config"]

DEFAULT_ATOMISTIC_CONFIG = "atomistic_default.toml"
METHOD_NAMES = ("qc-energy", "qc-ghost-corrected", "qc-qnl", "qc-force", "bridging")
Positive = Annotated[float, Field(gt=0)]


class ProblemSpec(_Section):
    name: Literal["vacancy", "soft-bond"] = "vacancy"
    size: StrictInt = Field(default=121, ge=9, le=4001)
    strain: Annotated[float, Field(gt=-0.1, lt=0.1)] = 0.03
    cutoff: Annotated[float, Field(ge=1.5, le=3.0)] = 2.1
    softness: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5

    @model_validator(mode="after")
    def _size(self) -> ProblemSpec:
        if self.name == "vacancy" and self.size % 2 == 0:
            raise ValueError(f"size must be odd for the vacancy problem, got {self.size}")
        if self.name == "vacancy" and self.size < 21:
            raise ValueError(f"size must be >= 21 for the vacancy problem, got {self.size}")
        if self.strain == 0.0:
            raise ValueError("strain must be non-zero (the far-field stretch F = 1 + strain)")
        return self


class MethodsSpec(_Section):
    names: list[str] = Field(
        default_factory=lambda: ["qc-energy", "qc-ghost-corrected", "qc-force", "bridging"],
        min_length=1,
    )
    radii: list[Positive] = Field(default_factory=lambda: [2.0, 4.0, 8.0, 16.0], min_length=1)
    band: Positive = 4.0
    repeats: StrictInt = Field(default=1, ge=1, le=20)

    @field_validator("names")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if m not in METHOD_NAMES]
        if bad:
            raise ValueError(f"unknown method(s) {bad}; allowed: {list(METHOD_NAMES)}")
        if len(set(v)) != len(v):
            raise ValueError(f"methods are listed twice: {v}")
        return v


class PatchTestSpec(_Section):
    size: StrictInt = Field(default=25, ge=9, le=401)
    radius: Positive = 3.5
    F: list[list[float]] | None = None


class CauchyBornSpec(_Section):
    max_stretch: Annotated[float, Field(gt=1.0, le=2.0)] = 1.3
    kpoints: StrictInt = Field(default=16, ge=2, le=64)


class ChecksSpec(_Section):
    fully_refined: StrictBool = True


class PlotSpec(_Section):
    method: str = "qc-force"
    radius: Positive | None = None
    magnify: Positive = 5.0


class AtomisticConfig(_Section):
    problem: ProblemSpec = ProblemSpec()
    methods: MethodsSpec = MethodsSpec()
    patch_test: PatchTestSpec = PatchTestSpec()
    cauchy_born: CauchyBornSpec = CauchyBornSpec()
    checks: ChecksSpec = ChecksSpec()
    plot: PlotSpec = PlotSpec()

    @model_validator(mode="after")
    def _consistent(self) -> AtomisticConfig:
        if "qc-qnl" in self.methods.names and self.problem.name != "soft-bond":
            raise ValueError(
                "methods.names: 'qc-qnl' is implemented for chains only (problem.name = "
                "'soft-bond'); use 'qc-force' for the 2D problem"
            )
        if self.plot.method not in self.methods.names or self.plot.method == "bridging":
            qc = [m for m in self.methods.names if m.startswith("qc-")]
            raise ValueError(
                f"plot.method must be one of the QC methods run ({qc}), got {self.plot.method!r}"
            )
        d = 2 if self.problem.name == "vacancy" else 1
        F = self.patch_test.F
        if F is not None and (len(F) != d or any(len(row) != d for row in F)):
            raise ValueError(f"patch_test.F must be a {d}x{d} matrix for this problem, got {F}")
        return self


def load_atomistic_config(path: str | Path | None = None) -> AtomisticConfig:
    """The validated config at ``path``, or the built-in default."""
    return validate_toml(
        data_file(DEFAULT_ATOMISTIC_CONFIG) if path is None else path, AtomisticConfig
    )
