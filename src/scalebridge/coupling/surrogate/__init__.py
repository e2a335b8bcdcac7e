"""Hierarchical (sequential) coupling: offline RVE database, surrogate law, online use.

Offline, `build_database` solves an RVE (`scalebridge.coupling.fe2.RVELaw`) along the
radial loading paths of a `LoadingPlan` (Latin hypercube, Sobol or grid directions in a
`LoadBox` of strains) through any executor, and stores stresses, tangents and provenance
in an HDF5 file that grows atomically and resumes after an interruption.  Then
`fit_surrogate` fits a `PotentialSurrogate` (an energy of strain invariants: symmetric,
consistent tangent; objective for the cell's symmetry group) or a `GPSurrogate`
(scikit-learn Gaussian process with uncertainty) on training paths and validates it on
held-out paths.  Online, the surrogate is an ordinary constitutive law: the macro solver
uses it unchanged, and every evaluation outside the sampled box is reported
(`OutOfRangeWarning` / `OutOfRangeError`).  `scalebridge.coupling.surrogate.job` runs the
whole chain from a config and compares it with FE² (see docs/surrogate.md).
"""

from scalebridge.coupling.surrogate.base import SurrogateLaw
from scalebridge.coupling.surrogate.database import (
    BuildReport,
    DatabaseMismatchError,
    SurrogateDatabase,
    build_database,
    cell_symmetry,
    read_database,
    rve_provenance,
)
from scalebridge.coupling.surrogate.potential import (
    PotentialBasis,
    PotentialSurrogate,
    fit_potential,
)
from scalebridge.coupling.surrogate.regressor import GPSurrogate, fit_gp
from scalebridge.coupling.surrogate.sampling import (
    LoadBox,
    LoadingPlan,
    OutOfRangeError,
    OutOfRangeWarning,
    load_box,
    load_factors,
    unit_samples,
)
from scalebridge.coupling.surrogate.validation import (
    ValidationReport,
    fit_surrogate,
    split_paths,
    validate,
)

__all__ = [
    "BuildReport",
    "DatabaseMismatchError",
    "GPSurrogate",
    "LoadBox",
    "LoadingPlan",
    "OutOfRangeError",
    "OutOfRangeWarning",
    "PotentialBasis",
    "PotentialSurrogate",
    "SurrogateDatabase",
    "SurrogateLaw",
    "ValidationReport",
    "build_database",
    "cell_symmetry",
    "fit_gp",
    "fit_potential",
    "fit_surrogate",
    "load_box",
    "load_factors",
    "read_database",
    "rve_provenance",
    "split_paths",
    "unit_samples",
    "validate",
]
