"""The cell (RVE) problem: loads, boundary conditions, solvers and `solve_cell`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from numpy.typing import ArrayLike

from scalebridge.cell.cg import CGSettings, pcg
from scalebridge.cell.problem import (
    KUBC,
    SUBC,
    BoundaryCondition,
    MacroLoad,
    Periodic,
    as_boundary_condition,
    as_load,
)
from scalebridge.cell.setup import make_solver
from scalebridge.cell.solution import CellSolution

__all__ = [
    "KUBC",
    "SUBC",
    "BoundaryCondition",
    "CGSettings",
    "CellSolution",
    "MacroLoad",
    "Periodic",
    "as_boundary_condition",
    "make_solver",
    "pcg",
    "solve_cell",
]


def solve_cell(
    microstructure: Any,
    materials: Mapping[int, Any] | Sequence[Any],
    load: ArrayLike | MacroLoad,
    *,
    bc: str | BoundaryCondition = "periodic",
    solver: str = "auto",
    discretization: str = "fe",
    tol: float = 1e-6,
    max_iter: int = 1000,
    preconditioner: str = "green",
    linear_solver: str = "auto",
    keep_fields: bool = True,
) -> CellSolution:
    """Solve one cell problem and return its fields, averages and checks.

    Parameters
    ----------
    microstructure : Microstructure
        Periodic voxel image of phase labels.
    materials : mapping or sequence
        One linear law per label: ``{label: Conductivity(...) | Elasticity(...)}``.
    load : array_like or MacroLoad
        Mean strain (Mandel, 3 comps in 2D / 6 in 3D) or mean temperature gradient
        (d comps); a `MacroLoad` for stress or mixed control.
    bc : {"periodic", "kubc", "subc"}
        Periodic fluctuation, kinematic (``u = E x``) or static (``t = Sigma n``) uniform
        boundary conditions.
    solver : {"auto", "fft", "fe"}
        ``"fft"``: FFT-preconditioned CG (periodic only); ``"fe"``: sparse voxel FE
        (direct or AMG-CG, any bc); ``"auto"``: fft for periodic, fe otherwise.
    discretization : {"fe", "fourier", "rotated"}
        ``"fe"``: bilinear/trilinear voxel elements (ringing-free, pores allowed);
        ``"fourier"``: the classical Moulinec-Suquet Fourier gradient (reference;
        ringing, stalls with pores); ``"rotated"``: Willot's rotated finite
        differences (strain at voxel corners).
    tol, max_iter : float, int
        Relative residual to reach and iteration limit (else `ConvergenceError`).
    preconditioner : {"green", "green-jacobi"}
        Reference-medium Green operator, with or without Jacobi scaling ("fft" only).
    linear_solver : {"auto", "direct", "amg"}
        Sparse LU or AMG-preconditioned CG for ``solver="fe"`` (auto: by size).
    keep_fields : bool
        Keep the local fields (else only averages are returned).

    Returns
    -------
    CellSolution

    Examples
    --------
    >>> import scalebridge as sb
    >>> from scalebridge.materials import Conductivity
    >>> ms = sb.microstructure.laminate((8, 8), volume_fraction=0.5, axis=0)
    >>> sol = sb.solve_cell(ms, {0: Conductivity(k=1.0), 1: Conductivity(k=3.0)}, [1.0, 0.0])
    >>> round(float(sol.average_stress[0]), 6)   # harmonic mean across the layers
    1.5
    """
    cell = make_solver(
        microstructure,
        materials,
        bc=bc,
        solver=solver,
        discretization=discretization,
        tol=tol,
        max_iter=max_iter,
        preconditioner=preconditioner,
        linear_solver=linear_solver,
    )
    mload = as_load(load, cell.ncomp, cell.physics)
    return cell.solve(mload, keep_fields=keep_fields)
