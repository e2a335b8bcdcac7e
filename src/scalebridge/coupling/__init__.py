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

__all__ = [
    "FineReference",
    "HMMSettings",
    "HMMSolution",
    "LinearBoundary",
    "MsFEMErrors",
    "MsFEMSolution",
    "MultiscaleCoefficient",
    "OscillatoryBoundary",
    "Oversampling",
    "PeriodicCorrectors",
    "ResonanceStudy",
    "default_coefficient",
    "effective_tensors",
    "hmm_settings",
    "msfem_errors",
    "msfem_resonance_study",
    "msfem_solve",
    "plot_resonance_study",
    "solve_fine_reference",
    "solve_hmm",
]
