"""scalebridge: computational homogenization and multiscale simulation of materials.

>>> import scalebridge as sb
>>> from scalebridge.materials import Conductivity
>>> ms = sb.microstructure.laminate((16, 16), volume_fraction=0.5)
>>> res = sb.homogenize(ms, {0: Conductivity(k=1.0), 1: Conductivity(k=2.0)})
>>> res.tensor.shape
(2, 2)
"""

import os

# numba's OpenMP threads spin after each parallel loop and then steal the cores from
# FFTW's threads: with passive waiting one CG iteration at 128^3 is 20 % faster
# (docs/benchmarks.md).  Must be set before the first parallel loop; a user's own
# setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from importlib.metadata import PackageNotFoundError, version

from scalebridge import materials, microstructure, parallel, rve, tensors
from scalebridge.cell import CellSolution, MacroLoad, solve_cell
from scalebridge.errors import ConvergenceError
from scalebridge.homogenization import (
    ApparentResult,
    HomogenizationResult,
    apparent_tensors,
    homogenize,
)
from scalebridge.materials import Conductivity, Elasticity
from scalebridge.microstructure import Microstructure
from scalebridge.rve import rve_study

try:
    __version__ = version("scalebridge")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ApparentResult",
    "CellSolution",
    "Conductivity",
    "ConvergenceError",
    "Elasticity",
    "HomogenizationResult",
    "MacroLoad",
    "Microstructure",
    "__version__",
    "apparent_tensors",
    "homogenize",
    "materials",
    "microstructure",
    "parallel",
    "rve",
    "rve_study",
    "solve_cell",
    "tensors",
]
