"""From user objects (Microstructure, phase laws, strings) to a configured cell solver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.cell.cg import CGSettings
from scalebridge.cell.periodic import PRECONDITIONERS, PeriodicSolver
from scalebridge.cell.problem import KUBC, SUBC, BoundaryCondition, as_boundary_condition

SOLVERS = ("fft", "fe")
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
    solver: str = "fft",
    discretization: str = "fe",
    tol: float = 1e-6,
    max_iter: int = 1000,
    preconditioner: str = "green",
) -> PeriodicSolver:
    """Validate every option and build the cell solver (set up once, solve many)."""
    bc_obj = as_boundary_condition(bc)
    check_choice("solver", solver, SOLVERS)
    check_choice("discretization", discretization, DISCRETIZATIONS)
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    settings = CGSettings(tol=tol, max_iter=max_iter)
    if isinstance(bc_obj, KUBC | SUBC):
        raise ValueError(
            f"bc: {bc_obj.name!r} is not available yet (it comes with the voxel "
            "finite-element solver); use bc='periodic'"
        )
    if solver == "fe":
        raise ValueError(
            "solver: 'fe' (sparse direct / AMG voxel finite elements) is not available "
            "yet; use solver='fft' for periodic conditions"
        )
    labels, tensors, physics = phase_tensors(microstructure, materials)
    spacing = np.asarray(microstructure.spacing, dtype=float)
    if discretization in ("fourier", "rotated"):
        from scalebridge.cell.fourier import FourierSolver

        return FourierSolver(  # type: ignore[return-value]
            labels, spacing, tensors, physics, settings, gradient=discretization
        )
    return PeriodicSolver(labels, spacing, tensors, physics, settings, preconditioner)
