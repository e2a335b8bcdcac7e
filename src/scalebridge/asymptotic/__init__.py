"""Two-scale asymptotic homogenization: cell correctors, the homogenized equation,
first-order reconstruction and its comparison with fine-scale solves (scikit-fem).

>>> from scalebridge.asymptotic import default_coefficient, cell_correctors
>>> round(float(cell_correctors(default_coefficient(), 32).a_hom[0, 0]), 6)  # 0.5/sqrt(0.76)
0.573539
"""

from scalebridge.asymptotic.cell import (
    Correctors,
    PeriodicCoefficient,
    cell_correctors,
    default_coefficient,
    separable_a_hom,
)
from scalebridge.asymptotic.fem import (
    as_skfem_mesh,
    box_mesh,
    lagrange_basis,
    solve_diffusion,
    solve_homogenized,
)
from scalebridge.asymptotic.study import (
    NORMS,
    AsymptoticStudy,
    EpsResult,
    asymptotic_study,
    compare_at_eps,
    scale_separation,
)

__all__ = [
    "NORMS",
    "AsymptoticStudy",
    "Correctors",
    "EpsResult",
    "PeriodicCoefficient",
    "as_skfem_mesh",
    "asymptotic_study",
    "box_mesh",
    "cell_correctors",
    "compare_at_eps",
    "default_coefficient",
    "lagrange_basis",
    "scale_separation",
    "separable_a_hom",
    "solve_diffusion",
    "solve_homogenized",
]
