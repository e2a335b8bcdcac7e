"""Validated TOML configuration of the ``homogenize`` job.

A config has three tables: ``[microstructure]`` (a generator and its parameters, or a
``file``), ``[phases.<label>]`` (one constitutive law per phase label) and ``[solver]``.
Every problem in a config is reported at once, one line each, as ``field.path: message``,
in a :class:`ConfigError`.

Examples
--------
>>> cfg = parse_config({
...     "microstructure": {"generator": "laminate", "shape": [8, 8]},
...     "phases": {"0": {"law": "conduction", "k": 1.0}, "1": {"law": "conduction", "k": 2.0}},
... })
>>> cfg.solver.bc, cfg.microstructure.volume_fraction
('periodic', 0.5)
"""

from __future__ import annotations

import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "ConfigError",
    "HomogenizeConfig",
    "default_config_path",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG = "homogenize_default.toml"


class ConfigError(ValueError):
    """A configuration file or table is invalid.

    Parameters
    ----------
    problems : str or list of str
        One ``field.path: message`` line per problem.
    source : str, optional
        The config file, named in front of the message. Both are kept as attributes.
    """

    def __init__(self, problems: str | list[str], source: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.problems) == 1:
            text = head + self.problems[0]
        else:
            text = f"{head}{len(self.problems)} problems in config:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(text)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- microstructure
class _GridSpec(_Section):
    shape: list[StrictInt]
    size: list[float] | None = None

    @field_validator("shape")
    @classmethod
    def _shape(cls, v: list[int]) -> list[int]:
        if len(v) not in (2, 3) or any(n < 1 for n in v):
            raise ValueError(f"expected 2 or 3 positive integers (a 2D or 3D grid), got {v}")
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not all(math.isfinite(s) and s > 0 for s in v):
            raise ValueError(f"every edge length must be positive and finite, got {v}")
        return v

    @model_validator(mode="after")
    def _size_matches_shape(self) -> _GridSpec:
        if self.size is not None and len(self.size) != len(self.shape):
            raise ValueError(
                f"size: expected {len(self.shape)} edge lengths (one per axis of "
                f"shape={self.shape}), got {len(self.size)}"
            )
        return self


class LaminateSpec(_GridSpec):
    """Parameters of :func:`scalebridge.microstructure.laminate`."""

    generator: Literal["laminate"]
    volume_fraction: float = 0.5
    axis: StrictInt = 0


class SphereSpec(_GridSpec):
    """Parameters of :func:`scalebridge.microstructure.sphere`."""

    generator: Literal["sphere"]
    radius: float | None = None
    volume_fraction: float | None = None


class CoatedInclusionSpec(_GridSpec):
    """Parameters of :func:`scalebridge.microstructure.coated_inclusion`."""

    generator: Literal["coated_inclusion"]
    core_radius: float
    shell_radius: float


class CheckerboardSpec(_GridSpec):
    """Parameters of :func:`scalebridge.microstructure.checkerboard`."""

    generator: Literal["checkerboard"]
    cells: StrictInt = 2


class RandomInclusionsSpec(_GridSpec):
    """Parameters of :func:`scalebridge.microstructure.random_inclusions`."""

    generator: Literal["random_inclusions"]
    volume_fraction: float
    radius: float
    seed: StrictInt | None = None
    min_distance: float = 0.0


class FileSpec(_Section):
    """A microstructure read by :func:`scalebridge.microstructure.load_microstructure`."""

    generator: Literal["file"] = "file"
    file: str
    size: list[float] | None = None
    threshold: float | None = None


_GENERATORS: dict[str, type[_Section]] = {
    "laminate": LaminateSpec,
    "sphere": SphereSpec,
    "coated_inclusion": CoatedInclusionSpec,
    "checkerboard": CheckerboardSpec,
    "random_inclusions": RandomInclusionsSpec,
    "file": FileSpec,
}

MicrostructureSpec = Annotated[
    LaminateSpec
    | SphereSpec
    | CoatedInclusionSpec
    | CheckerboardSpec
    | RandomInclusionsSpec
    | FileSpec,
    Field(discriminator="generator"),
]


# --------------------------------------------------------------------------- phases
class ElasticitySpec(_Section):
    """Isotropic (``E``/``nu`` or ``K``/``G``) or anisotropic (Mandel ``C``) elasticity."""

    law: Literal["elasticity"]
    E: float | None = Field(default=None, gt=0)
    nu: float | None = None
    K: float | None = Field(default=None, gt=0)
    G: float | None = Field(default=None, gt=0)
    C: list[list[float]] | None = None

    @field_validator("nu")
    @classmethod
    def _nu(cls, v: float | None) -> float | None:
        if v is not None and not -1.0 < v < 0.5:
            raise ValueError(f"must satisfy -1 < nu < 0.5, got {v}")
        return v

    @model_validator(mode="after")
    def _one_set(self) -> ElasticitySpec:
        given = [k for k in ("E", "nu", "K", "G", "C") if getattr(self, k) is not None]
        if sorted(given) not in (["E", "nu"], ["G", "K"], ["C"]):
            raise ValueError(
                f"give exactly one of (E, nu), (K, G) or C (Mandel matrix); got "
                f"{', '.join(given) or 'none'}"
            )
        return self

    def parameters(self) -> dict[str, Any]:
        """Keyword arguments for :class:`scalebridge.materials.Elasticity`."""
        return self.model_dump(exclude={"law"}, exclude_none=True)


class ConductionSpec(_Section):
    """Isotropic (scalar ``k``) or anisotropic (matrix ``k``) conductivity."""

    law: Literal["conduction"]
    k: float | list[list[float]]

    @field_validator("k", mode="before")
    @classmethod
    def _k_type(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float | list):
            raise ValueError(f"expected a positive number or a 2x2/3x3 matrix, got {v!r}")
        return v

    @field_validator("k")
    @classmethod
    def _k(cls, v: float | list[list[float]]) -> float | list[list[float]]:
        if isinstance(v, float) and not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be positive and finite, got {v}")
        if isinstance(v, list) and (len(v) not in (2, 3) or any(len(r) != len(v) for r in v)):
            raise ValueError(f"a conductivity matrix must be 2x2 or 3x3, got {v}")
        return v

    def parameters(self) -> dict[str, Any]:
        """Keyword arguments for :class:`scalebridge.materials.Conductivity`."""
        return {"k": self.k}


_LAWS: dict[str, type[_Section]] = {"conduction": ConductionSpec, "elasticity": ElasticitySpec}
PhaseSpec = Annotated[ConductionSpec | ElasticitySpec, Field(discriminator="law")]


# --------------------------------------------------------------------------- solver
class SolverSpec(_Section):
    """Arguments of :func:`scalebridge.homogenize` that choose and stop the solver.

    ``bc = "all"`` runs :func:`scalebridge.apparent_tensors` instead: the apparent tensors
    under SUBC, periodic and KUBC conditions side by side, with their ordering checks.
    """

    bc: Literal["periodic", "kubc", "subc", "all"] = "periodic"
    method: Literal["auto", "fft", "fe"] = "auto"
    discretization: Literal["fe", "fourier", "rotated"] = "fe"
    tol: float = Field(default=1e-6, gt=0, lt=1)
    max_iter: StrictInt = Field(default=1000, ge=1)


class HomogenizeConfig(_Section):
    """The whole ``homogenize`` config: microstructure, phases and solver."""

    microstructure: MicrostructureSpec
    phases: dict[Annotated[int, Field(ge=0)], PhaseSpec]
    solver: SolverSpec = SolverSpec()

    @field_validator("microstructure", mode="before")
    @classmethod
    def _file_tag(cls, v: Any) -> Any:
        if isinstance(v, dict) and "file" in v and "generator" not in v:
            return {**v, "generator": "file"}
        return v

    def solver_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`scalebridge.homogenize` (``bc`` may be ``"all"``)."""
        s = self.solver
        return {
            "bc": s.bc,
            "solver": s.method,
            "discretization": s.discretization,
            "tol": s.tol,
            "max_iter": s.max_iter,
        }


# --------------------------------------------------------------------------- messages
def _allowed(model: type[BaseModel]) -> str:
    names = ", ".join(n for n in model.model_fields if n not in ("generator", "law"))
    for kind, tags in (("generator", _GENERATORS), ("law", _LAWS)):
        tag = next((t for t, m in tags.items() if m is model and t != "file"), None)
        if tag is not None:
            return f"allowed keys for {kind} {tag!r}: {names}"
    return f"allowed keys here: {names}"


def _names(tags: dict[str, Any]) -> str:
    return ", ".join(t for t in tags if t != "file")


def _describe(err: dict[str, Any]) -> tuple[str, str]:
    """Turn one pydantic error into ``(field.path, message)``."""
    loc = list(err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    model: type[BaseModel] = HomogenizeConfig
    if loc[:1] == ["microstructure"] and len(loc) > 1 and loc[1] in _GENERATORS:
        model = _GENERATORS[str(loc.pop(1))]
    elif loc[:1] == ["solver"]:
        model = SolverSpec
    elif loc[:1] == ["phases"] and len(loc) > 2 and loc[2] in _LAWS:
        model = _LAWS[str(loc.pop(2))]
    if loc and loc[-1] == "[key]":
        loc.pop()
        return ".".join(map(str, loc)), "phase labels must be non-negative integers"
    path = ".".join(map(str, loc)) or "config"
    if kind == "union_tag_invalid" and loc[0] == "microstructure":
        return f"{path}.generator", f"{ctx['tag']!r} is not one of {_names(_GENERATORS)}"
    if kind == "union_tag_invalid":
        return f"{path}.law", f"{ctx['tag']!r} is not one of {_names(_LAWS)}"
    if kind == "union_tag_not_found" and loc[0] == "microstructure":
        return path, f"give generator = one of {_names(_GENERATORS)}, or file = 'path'"
    if kind == "union_tag_not_found":
        return f"{path}.law", f"missing; expected one of {_names(_LAWS)}"
    if kind == "extra_forbidden":
        return path, f"unknown key; {_allowed(model)}"
    if kind == "missing":
        return path, "required but missing"
    if kind == "literal_error" and path == "solver.bc":
        # "all" (apparent tensors side by side) is a mode, not a boundary condition: the
        # message lists the conditions only, as before it was added.
        return path, f"{err['input']!r} is not one of 'periodic', 'kubc' or 'subc'"
    if kind == "literal_error":
        return path, f"{err['input']!r} is not one of {ctx['expected']}"
    if kind == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
        head = re.match(r"^(\w+): (.*)$", msg, re.S)
        if head and head.group(1) in model.model_fields:
            return f"{path}.{head.group(1)}", head.group(2)
        return path, msg
    return path, f"{err['msg']}, got {err.get('input')!r}"


def _config_error(exc: ValidationError, source: str | None = None) -> ConfigError:
    lines: dict[str, str] = {}
    for err in exc.errors():
        path, msg = _describe(dict(err))
        lines.setdefault(path, msg)  # one message per field
    return ConfigError([f"{p}: {m}" for p, m in lines.items()], source)


# --------------------------------------------------------------------------- loading
def data_file(name: str) -> Path:
    """Path of a file shipped in ``scalebridge/data`` (the built-in configs)."""
    return Path(str(resources.files("scalebridge").joinpath("data", name)))


def validate_toml(path: str | Path, model: type[Any]) -> Any:
    """Read a TOML file and validate it against a pydantic ``model``; every problem is
    reported in one `ConfigError` naming the file."""
    data = read_toml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, str(path)) from None


def default_config_path() -> Path:
    """Path of the built-in default config (``scalebridge/data/homogenize_default.toml``)."""
    return data_file(DEFAULT_CONFIG)


def parse_config(
    data: dict[str, Any], base_dir: str | Path | None = None, source: str | None = None
) -> HomogenizeConfig:
    """Validate a parsed TOML document.

    Parameters
    ----------
    data : dict
        The TOML document as returned by :func:`tomllib.load`.
    base_dir : path-like, optional
        Folder that a relative ``microstructure.file`` is resolved against (default: cwd).
    source : str, optional
        Name of the config used in error messages.

    Raises
    ------
    ConfigError
        With one line ``field.path: message`` per problem found.
    """
    try:
        config = HomogenizeConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, source) from None
    ms = config.microstructure
    if isinstance(ms, FileSpec):
        resolved = (Path(base_dir or ".") / Path(ms.file).expanduser()).resolve()
        config = config.model_copy(
            update={"microstructure": ms.model_copy(update={"file": str(resolved)})}
        )
    return config


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a missing, unreadable or malformed file raises `ConfigError`
    (the message gives the path, and line and column for a syntax error)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {p}: {exc}") from None
    return data


def load_config(path: str | Path | None = None) -> HomogenizeConfig:
    """Read and validate a ``homogenize`` TOML config (the built-in default when ``None``).

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML (the message gives line and column) or
        does not validate.

    Examples
    --------
    >>> load_config().microstructure.generator
    'random_inclusions'
    """
    p = default_config_path() if path is None else Path(path)
    data = read_toml(p)
    return parse_config(data, base_dir=p.parent, source=str(p))
