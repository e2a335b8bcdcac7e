"""Representative volumes: RVE/SVE studies over sizes, realizations and boundary
conditions, the statistics of apparent properties (Kanit et al. 2003), and the
ergodicity check of volume against ensemble averages."""

from scalebridge.rve.analysis import (
    RVESize,
    Summary,
    VarianceLaw,
    convergence_size,
    fit_variance_law,
    realizations_needed,
    rve_size,
    rve_volume,
    scalar_quantities,
    summarize,
)
from scalebridge.rve.study import RVEStudy, apparent_task, rve_study

__all__ = [
    "RVESize",
    "RVEStudy",
    "Summary",
    "VarianceLaw",
    "apparent_task",
    "convergence_size",
    "fit_variance_law",
    "realizations_needed",
    "rve_size",
    "rve_study",
    "rve_volume",
    "scalar_quantities",
    "summarize",
]
