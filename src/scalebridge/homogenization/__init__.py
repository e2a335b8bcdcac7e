"""Effective properties: `homogenize`, bounds and analytical estimates."""

from scalebridge.homogenization.apparent import ApparentResult, apparent_tensors
from scalebridge.homogenization.bounds import Bounds, compute_bounds
from scalebridge.homogenization.homogenize import HomogenizationResult, homogenize

__all__ = [
    "ApparentResult",
    "Bounds",
    "HomogenizationResult",
    "apparent_tensors",
    "compute_bounds",
    "homogenize",
]
