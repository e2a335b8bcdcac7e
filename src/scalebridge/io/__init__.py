"""Input and output: config schema, result files and figures.

Figures import matplotlib lazily (:mod:`scalebridge.io.plots`), so importing this package
stays cheap.
"""

from scalebridge.io.config import ConfigError, HomogenizeConfig, load_config
from scalebridge.io.problem import build_microstructure, build_problem
from scalebridge.io.results import to_jsonable, write_json_atomic

__all__ = [
    "ConfigError",
    "HomogenizeConfig",
    "build_microstructure",
    "build_problem",
    "load_config",
    "to_jsonable",
    "write_json_atomic",
]
