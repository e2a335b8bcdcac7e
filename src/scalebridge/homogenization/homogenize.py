"""`homogenize`: effective tensor of a periodic microstructure, with its checks."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.cell.problem import SUBC, BoundaryCondition, Periodic, as_boundary_condition
from scalebridge.cell.setup import make_solver, phase_tensors
from scalebridge.cell.solution import CellSolution
from scalebridge.homogenization.bounds import Bounds, compute_bounds

log = logging.getLogger(__name__)
Array = NDArray[np.float64]


@dataclass(frozen=True)
class HomogenizationResult:
    """Effective tensor of a cell, with solver statistics and verification checks.

    Attributes
    ----------
    tensor : ndarray
        ``(d, d)`` effective conductivity, or Mandel ``(3, 3)`` (2D, plane strain) /
        ``(6, 6)`` effective stiffness.  Column ``j`` is the mean flux of unit load ``j``.
    physics : str
    ndim : int
    bc, solver, discretization : str
    symmetry_error : float
        ``|T - T^T| / |T|`` (Frobenius); the exact tensor is symmetric.
    hill_mandel_residual : float
        Largest relative Hill-Mandel residual over the load cases.
    bounds : Bounds
        Voigt/Reuss (and Hashin-Shtrikman where defined).
    bounds_check : dict
        ``{"voigt_reuss": bool, "hashin_shtrikman": bool | None}``.
    iterations : tuple of int
        Krylov iterations per load case.
    residual_histories : tuple of ndarray
    wall_time : float
        Seconds for set-up and all solves.
    volume_fractions : dict
    solutions : tuple of CellSolution
        The unit-load solutions when ``keep_fields=True``, else empty.
    """

    tensor: Array
    physics: str
    ndim: int
    bc: str
    solver: str
    discretization: str
    symmetry_error: float
    hill_mandel_residual: float
    bounds: Bounds
    bounds_check: dict[str, bool | None]
    iterations: tuple[int, ...]
    residual_histories: tuple[Array, ...]
    wall_time: float
    volume_fractions: dict[int, float]
    solutions: tuple[CellSolution, ...] = field(default=(), repr=False)

    def engineering_constants(self) -> dict[str, float]:
        """Engineering constants of the effective tensor (see `scalebridge.tensors`)."""
        from scalebridge import tensors

        if self.physics == "conduction":
            out = tensors.conductivity_constants(self.tensor)
        else:
            out = tensors.engineering_constants(self.tensor)
        return {k: (np.asarray(v).tolist() if np.ndim(v) else float(v)) for k, v in out.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (no fields)."""
        hs = self.bounds.hashin_shtrikman
        return {
            "physics": self.physics,
            "ndim": self.ndim,
            "bc": self.bc,
            "solver": self.solver,
            "discretization": self.discretization,
            "tensor": self.tensor.tolist(),
            "notation": "mandel" if self.physics == "elasticity" else "matrix",
            "engineering_constants": self.engineering_constants(),
            "symmetry_error": self.symmetry_error,
            "hill_mandel_residual": self.hill_mandel_residual,
            "bounds": {
                "voigt": self.bounds.voigt.tolist(),
                "reuss": self.bounds.reuss.tolist(),
                "hashin_shtrikman": None if hs is None else {k: list(v) for k, v in hs.items()},
                "inside": self.bounds_check,
            },
            "iterations": list(self.iterations),
            "wall_time_s": self.wall_time,
            "volume_fractions": {str(k): v for k, v in self.volume_fractions.items()},
        }


def homogenize(
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
    keep_fields: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> HomogenizationResult:
    """Effective conductivity or stiffness of a periodic voxel microstructure.

    Runs the ``d`` (conduction) or 3/6 (elasticity) unit load cases on one solver set up
    once, and checks the result: symmetry, Hill-Mandel, Voigt/Reuss and, for two
    isotropic phases, Hashin-Shtrikman bounds (a `RuntimeWarning` when outside).

    Parameters
    ----------
    microstructure : Microstructure
    materials : mapping or sequence
        ``{label: law}``; a sequence means ``{index: law}``.
    bc : {"periodic", "kubc", "subc"}
        Boundary condition of the cell; SUBC gives the inverse of the compliance found
        from unit stress loads.
    solver : {"auto", "fft", "fe"}
        FFT-preconditioned CG (periodic only), sparse voxel FE, or chosen by ``bc``.
    discretization : {"fe", "fourier", "rotated"}
        Voxel finite elements (default), Moulinec-Suquet Fourier, or Willot rotated.
    tol, max_iter : float, int
        CG relative residual and iteration limit per load case.
    preconditioner : {"green", "green-jacobi"}
    linear_solver : {"auto", "direct", "amg"}
        For ``solver="fe"``: sparse LU, AMG-preconditioned CG, or by size.
    keep_fields : bool
        Keep the local fields of every load case in ``result.solutions``.
    progress : callable, optional
        ``progress(done, total)`` after each load case.

    Returns
    -------
    HomogenizationResult

    Examples
    --------
    >>> import scalebridge as sb
    >>> from scalebridge.materials import Conductivity
    >>> ms = sb.microstructure.checkerboard((32, 32))
    >>> res = sb.homogenize(ms, {0: Conductivity(k=1.0), 1: Conductivity(k=4.0)})
    >>> bool(abs(res.tensor[0, 0] - 2.0) < 0.1)    # Dykhne: sqrt(k1 k2) as the grid refines
    True
    """
    t0 = time.perf_counter()
    bc_obj = as_boundary_condition(bc)
    cell = make_solver(
        microstructure,
        materials,
        bc=bc_obj,
        solver=solver,
        discretization=discretization,
        tol=tol,
        max_iter=max_iter,
        preconditioner=preconditioner,
        linear_solver=linear_solver,
    )
    m = cell.ncomp
    static = isinstance(bc_obj, SUBC)
    columns = np.empty((m, m))  # stiffness columns, or compliance columns under SUBC
    sols: list[CellSolution] = []
    for j in range(m):
        unit = np.zeros(m)
        unit[j] = 1.0
        if static:
            sol = cell.solve_stress(unit, keep_fields=keep_fields)
            columns[:, j] = sol.average_strain
        else:
            sol = cell.solve_strain(unit, keep_fields=keep_fields)
            columns[:, j] = sol.average_stress
        sols.append(sol)
        log.info("load case %d/%d: %d iterations", j + 1, m, sol.iterations)
        if progress is not None:
            progress(j + 1, m)
    tensor = _invert_compliance(columns) if static else columns
    _, tensors, physics = phase_tensors(microstructure, materials)
    fractions = microstructure.volume_fractions()
    bounds = compute_bounds(
        dict(enumerate(fractions.values())),
        dict(enumerate(tensors)),
        physics=physics,
        ndim=microstructure.ndim,
    )
    check = bounds.check(tensor, rtol=max(10 * tol, 1e-8))
    # Voigt/Reuss bound every apparent tensor; Hashin-Shtrikman bounds are stated for
    # isotropic effective media, which KUBC/SUBC apparent tensors of a finite cell are
    # not (KUBC can lie above the HS upper bound legitimately): warn for periodic only.
    warn_keys = (
        ("voigt_reuss", "hashin_shtrikman") if isinstance(bc_obj, Periodic) else ("voigt_reuss",)
    )
    outside = [k for k in warn_keys if check.get(k) is False]
    if outside:
        warnings.warn(
            f"homogenize: effective tensor outside the {', '.join(outside)} bounds; "
            "refine the grid or tighten tol",
            RuntimeWarning,
            stacklevel=2,
        )
    norm = np.linalg.norm(tensor)
    return HomogenizationResult(
        tensor=tensor,
        physics=physics,
        ndim=microstructure.ndim,
        bc=bc_obj.name,
        solver=solver,
        discretization=discretization,
        symmetry_error=float(np.linalg.norm(tensor - tensor.T) / norm) if norm else 0.0,
        hill_mandel_residual=max(s.hill_mandel_residual for s in sols),
        bounds=bounds,
        bounds_check=check,
        iterations=tuple(s.iterations for s in sols),
        residual_histories=tuple(s.residual_history for s in sols),
        wall_time=time.perf_counter() - t0,
        volume_fractions=dict(fractions),
        solutions=tuple(sols) if keep_fields else (),
    )


def _invert_compliance(S: Array) -> Array:
    """Effective stiffness from the apparent compliance of unit stress loads (SUBC)."""
    Ssym = 0.5 * (S + S.T)
    if np.linalg.eigvalsh(Ssym).min() <= 0.0:
        raise ValueError(
            "bc: 'subc' gave a compliance that is not positive definite (the solid does "
            "not carry some stress component); use 'kubc' or 'periodic'"
        )
    return np.linalg.inv(S)
