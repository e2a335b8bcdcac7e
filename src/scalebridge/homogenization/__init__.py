"""Effective properties: `homogenize`, bounds and analytical estimates."""

from scalebridge.homogenization.bounds import Bounds, compute_bounds
from scalebridge.homogenization.homogenize import HomogenizationResult, homogenize

__all__ = ["Bounds", "HomogenizationResult", "compute_bounds", "homogenize"]
