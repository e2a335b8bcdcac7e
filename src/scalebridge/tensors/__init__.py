"""Tensor notation and isotropic algebra: Mandel/Voigt/full conversions, moduli, rotations.

Conventions (fixed project-wide)
--------------------------------
Mandel notation is orthonormal.  3D index order ``[11, 22, 33, 23, 13, 12]``; 2D (plane
strain) ``[11, 22, 12]``, i.e. rows/columns ``[0, 1, 5]`` of the 3D matrix.  Vectors (strain
and stress alike) carry ``sqrt(2)`` on shear entries; matrices carry ``2`` on shear-shear and
``sqrt(2)`` on normal-shear blocks, so ``eps_M . sig_M == eps : sig`` and the Mandel matrix of
a symmetric fourth-order tensor is a symmetric matrix whose eigenvalues are the tensor's.

Voigt notation appears only at I/O edges and is named so: same index order, strain Voigt
with engineering shear (``2 eps12``), stress Voigt plain.
"""

from scalebridge.tensors.analysis import (
    conductivity_constants,
    directional_youngs_modulus,
    engineering_constants,
    is_positive_definite,
    symmetry_error,
)
from scalebridge.tensors.isotropic import (
    bulk_shear_from,
    isotropic_moduli,
    isotropic_part,
    isotropic_projectors,
    isotropic_stiffness,
    lame_from,
    youngs_poisson_from,
)
from scalebridge.tensors.notation import (
    full_to_mandel,
    mandel_to_full,
    mandel_to_voigt_stiffness,
    mandel_to_voigt_strain,
    mandel_to_voigt_stress,
    voigt_to_mandel_stiffness,
    voigt_to_mandel_strain,
    voigt_to_mandel_stress,
)
from scalebridge.tensors.rotation import (
    mandel_rotation,
    rotate_conductivity,
    rotate_stiffness,
)

__all__ = [
    "bulk_shear_from",
    "conductivity_constants",
    "directional_youngs_modulus",
    "engineering_constants",
    "full_to_mandel",
    "is_positive_definite",
    "isotropic_moduli",
    "isotropic_part",
    "isotropic_projectors",
    "isotropic_stiffness",
    "lame_from",
    "mandel_rotation",
    "mandel_to_full",
    "mandel_to_voigt_stiffness",
    "mandel_to_voigt_strain",
    "mandel_to_voigt_stress",
    "rotate_conductivity",
    "rotate_stiffness",
    "symmetry_error",
    "voigt_to_mandel_stiffness",
    "voigt_to_mandel_strain",
    "voigt_to_mandel_stress",
    "youngs_poisson_from",
]
