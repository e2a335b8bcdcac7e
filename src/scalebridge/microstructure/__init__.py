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

__all__ = [
    "Microstructure",
    "checkerboard",
    "coated_inclusion",
    "laminate",
    "load_microstructure",
    "random_inclusion_centres",
    "random_inclusions",
    "save_microstructure",
    "sphere",
    "write_vti",
]
