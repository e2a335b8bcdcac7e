"""`CellSolution`: the result of one cell (RVE) problem."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class CellSolution:
    """Fields, averages and checks of one solved cell problem.

    Attributes
    ----------
    strain, stress : ndarray ``(m, *grid)``
        Voxel-mean Mandel strain and stress (elasticity) or temperature gradient and
        heat flux (conduction), component-first.
    fluctuation : ndarray ``(ncomp, *grid)``
        Periodic nodal fluctuation of the displacement/temperature.
    average_strain, average_stress : ndarray ``(m,)``
        Exact volume averages.
    energy : float
        Exact ``<sigma : epsilon>`` over the cell.
    hill_mandel_residual : float
        ``|<sigma:eps> - <sigma>:<eps>| / |<sigma>:<eps>|`` (0 when the mean energy is 0).
    iterations : int
        Krylov iterations used (summed over the solves of a mixed-control load).
    residual_history : ndarray
        Relative residuals of the (last) linear solve.
    discretization, bc : str
        What was solved.
    """

    strain: Array
    stress: Array
    fluctuation: Array
    average_strain: Array
    average_stress: Array
    energy: float
    hill_mandel_residual: float
    iterations: int
    residual_history: Array
    discretization: str
    bc: str

    @property
    def physics(self) -> str:
        """ "elasticity" or "conduction" (from the number of components)."""
        d = self.fluctuation.ndim - 1
        return (
            "conduction"
            if self.fluctuation.shape[0] == 1 and self.strain.shape[0] == d
            else "elasticity"
        )


def hill_mandel(energy: float, mean_flux: Array, mean_grad: Array) -> float:
    """Relative Hill-Mandel residual ``|<s:e> - <s>:<e>| / |<s>:<e>|``."""
    macro = float(np.dot(mean_flux, mean_grad))
    scale = max(abs(macro), abs(energy))
    return 0.0 if scale == 0.0 else abs(energy - macro) / scale


def assemble_solution(
    strain: Array,
    stress: Array,
    fluctuation: Array,
    energy: float,
    history: list[float],
    *,
    discretization: str,
    keep_fields: bool,
    bc: str = "periodic",
) -> CellSolution:
    """Build a `CellSolution` from voxel fields: exact means, Hill-Mandel, statistics.

    With ``keep_fields=False`` the field arrays are replaced by empty ones (the averages
    are still computed from the fields).
    """
    m, d = strain.shape[0], strain.ndim - 1
    mean_grad = strain.reshape(m, -1).mean(axis=1)
    mean_flux = stress.reshape(m, -1).mean(axis=1)
    empty = np.empty((m,) + (0,) * d)
    return CellSolution(
        strain=strain if keep_fields else empty,
        stress=stress if keep_fields else empty,
        fluctuation=fluctuation if keep_fields else np.empty((fluctuation.shape[0],) + (0,) * d),
        average_strain=mean_grad,
        average_stress=mean_flux,
        energy=energy,
        hill_mandel_residual=hill_mandel(energy, mean_flux, mean_grad),
        iterations=len(history) - 1,
        residual_history=np.asarray(history),
        discretization=discretization,
        bc=bc,
    )
