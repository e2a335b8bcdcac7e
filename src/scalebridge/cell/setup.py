"""From user objects (Microstructure, phase laws, strings) to a configured cell solver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.cell.cg import CGSettings
from scalebridge.cell.fe_solver import LINEAR_SOLVERS, VoxelFESolver
from scalebridge.cell.periodic import PRECONDITIONERS, PeriodicSolver
from scalebridge.cell.problem import BoundaryCondition, Periodic, as_boundary_condition

SOLVERS = ("auto", "fft", "fe")
DISCRETIZATIONS = ("fe", "fourier", "rotated")


def phase_tensors(
    microstructure: Any, materials: Mapping[int, Any] | Sequence[Any]
) -> tuple[NDArray[np.int32], list[NDArray[np.float64]], str]:
    """Compact labels ``0..n-1``, the matching per-phase tensors and the physics."""
    from scalebridge.materials import as_phase_map

    laws = as_phase_map(materials)
    microstructure.check_materials(laws)
    phases = list(microstructure.phases)
    physics = laws[phases[0]].physics
    lut = np.zeros(max(phases) + 1, dtype=np.int32)
    lut[phases] = np.arange(len(phases), dtype=np.int32)
    labels = lut[microstructure.labels]
    tensors = [np.asarray(laws[p].tensor(microstructure.ndim), dtype=float) for p in phases]
    return labels, tensors, physics


def check_choice(name: str, value: str, allowed: Sequence[str]) -> str:
    """Return ``value`` if allowed, else raise a ValueError listing the choices."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def make_solver(
    microstructure: Any,
    materials: Mapping[int, Any] | Sequence[Any],
    *,
    bc: str | BoundaryCondition = "periodic",
    solver: str = "auto",
    discretization: str = "fe",
    tol: float = 1e-6,
    max_iter: int = 1000,
    preconditioner: str = "green",
    linear_solver: str = "auto",
) -> Any:
    """Validate every option and build the cell solver (set up once, solve many).

    ``solver="auto"`` picks the FFT-preconditioned solver for periodic conditions and
    the sparse voxel-FE solver for KUBC/SUBC.
    """
    bc_obj = as_boundary_condition(bc)
    check_choice("solver", solver, SOLVERS)
    check_choice("discretization", discretization, DISCRETIZATIONS)
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    check_choice("linear_solver", linear_solver, LINEAR_SOLVERS)
    settings = CGSettings(tol=tol, max_iter=max_iter)
    periodic = isinstance(bc_obj, Periodic)
    if solver == "auto":
        solver = "fft" if periodic else "fe"
    if solver == "fft" and not periodic:
        raise ValueError(
            f"solver: 'fft' handles periodic conditions only; bc={bc_obj.name!r} needs "
            "solver='fe' (or 'auto')"
        )
    if solver == "fe" and discretization != "fe":
        raise ValueError(
            f"discretization: {discretization!r} is spectral and needs solver='fft'; "
            "solver='fe' uses the 'fe' discretization"
        )
    labels, tensors, physics = phase_tensors(microstructure, materials)
    spacing = np.asarray(microstructure.spacing, dtype=float)
    if solver == "fe":
        return VoxelFESolver(labels, spacing, tensors, physics, bc_obj, settings, linear_solver)
    if discretization in ("fourier", "rotated"):
        from scalebridge.cell.fourier import FourierSolver

        return FourierSolver(labels, spacing, tensors, physics, settings, gradient=discretization)
    return PeriodicSolver(labels, spacing, tensors, physics, settings, preconditioner)
