"""Macro-micro coupling methods.

Multiscale finite elements (`scalebridge.coupling.msfem`): coarse elements whose basis
functions solve fine-scale local problems, with linear, oscillatory, oversampling or
periodic-corrector boundary conditions, and the resonance study.

The finite-element heterogeneous multiscale method (`scalebridge.coupling.hmm`): a macro
Q1 solver whose effective tensor at each macro point comes from a micro problem on a
sampling domain (periodic or Dirichlet coupling).
"""

from scalebridge.coupling.hmm import (
    HMMSettings,
    HMMSolution,
    MultiscaleCoefficient,
    effective_tensors,
    hmm_settings,
    solve_hmm,
)
from scalebridge.coupling.msfem import (
    MsFEMErrors,
    MsFEMSolution,
    default_coefficient,
    msfem_errors,
    msfem_solve,
)
from scalebridge.coupling.msfem_basis import (
    LinearBoundary,
    OscillatoryBoundary,
    Oversampling,
    PeriodicCorrectors,
)
from scalebridge.coupling.msfem_grid import FineReference, solve_fine_reference
from scalebridge.coupling.msfem_study import (
    ResonanceStudy,
    msfem_resonance_study,
    plot_resonance_study,
)
from scalebridge.coupling.msfem_tri import (
    MsFEMTriSolution,
    coarse_p1_tri,
    msfem_solve_tri,
    msfem_tri_errors,
    tri_fine_reference,
)

__all__ = [
    "FineReference",
    "HMMSettings",
    "HMMSolution",
    "LinearBoundary",
    "MsFEMErrors",
    "MsFEMSolution",
    "MsFEMTriSolution",
    "MultiscaleCoefficient",
    "OscillatoryBoundary",
    "Oversampling",
    "PeriodicCorrectors",
    "ResonanceStudy",
    "coarse_p1_tri",
    "default_coefficient",
    "effective_tensors",
    "hmm_settings",
    "msfem_errors",
    "msfem_resonance_study",
    "msfem_solve",
    "msfem_solve_tri",
    "msfem_tri_errors",
    "plot_resonance_study",
    "solve_fine_reference",
    "solve_hmm",
    "tri_fine_reference",
]
