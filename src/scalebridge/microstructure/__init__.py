"""Periodic voxel microstructures: the :class:`Microstructure` type, generators and I/O.

This subpackage stands alone: it imports nothing from other ``scalebridge`` subpackages.

Examples
--------
>>> from scalebridge.microstructure import laminate
>>> laminate((4, 4), volume_fraction=0.5).volume_fractions()
{0: 0.5, 1: 0.5}
"""

from scalebridge.microstructure.core import Microstructure
from scalebridge.microstructure.generators import (
    checkerboard,
    coated_inclusion,
    laminate,
    random_inclusion_centres,
    random_inclusions,
    sphere,
)
from scalebridge.microstructure.io import load_microstructure, save_microstructure, write_vti
from scalebridge.microstructure.random_models import (
    BooleanModel,
    CrystalLaw,
    GaussianExcursion,
    ImageWindows,
    RandomEllipsoids,
    RandomFibres,
    RandomModel,
    RandomSpheres,
    VoronoiPolycrystal,
    polycrystal_materials,
)
from scalebridge.microstructure.statistics import (
    boolean_integral_range,
    boolean_s2,
    correlation_length,
    gaussian_excursion_integral_range,
    gaussian_excursion_s2,
    integral_range,
    radial_average,
    specific_surface,
    two_point_correlation,
    volume_fractions,
)

__all__ = [
    "BooleanModel",
    "CrystalLaw",
    "GaussianExcursion",
    "ImageWindows",
    "Microstructure",
    "RandomEllipsoids",
    "RandomFibres",
    "RandomModel",
    "RandomSpheres",
    "VoronoiPolycrystal",
    "boolean_integral_range",
    "boolean_s2",
    "checkerboard",
    "coated_inclusion",
    "correlation_length",
    "gaussian_excursion_integral_range",
    "gaussian_excursion_s2",
    "integral_range",
    "laminate",
    "load_microstructure",
    "polycrystal_materials",
    "radial_average",
    "random_inclusion_centres",
    "random_inclusions",
    "save_microstructure",
    "specific_surface",
    "sphere",
    "two_point_correlation",
    "volume_fractions",
    "write_vti",
]
