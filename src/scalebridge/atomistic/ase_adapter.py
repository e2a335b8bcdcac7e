"""Cauchy-Born law from any ASE calculator (EMT, Lennard-Jones, EAM, ...).

The reference periodic cell is deformed homogeneously (cell vectors and positions mapped
by ``F``: ``x -> F x``); the calculator's energy gives ``W(F) = E / V_0`` per unit
reference volume and its stress ``sigma`` (ASE convention: ``(1/V) dE/d eps``, tension
positive, Voigt order ``xx yy zz yz xz xy``) gives the first Piola-Kirchhoff stress
``P = J sigma F^-T``.  The tangent is the central finite difference of ``P``:
``A[:, m] = (P(F + h e_m) - P(F - h e_m)) / (2 h)`` with ``h = fd_step`` (default
``1e-4``; truncation ``O(h^2)``, about ``1e-8`` relative for smooth potentials).

ASE is imported only when a law is built, so this module imports without it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalebridge.atomistic.cauchy_born import (
    StabilityResult,
    elastic_stability,
    lagrangian_moduli,
    moduli_matrix,
)
from scalebridge.errors import ConvergenceError

if TYPE_CHECKING:  # pragma: no cover
    from ase import Atoms

Array = NDArray[np.float64]

__all__ = ["ASECauchyBorn"]


class ASECauchyBorn:
    """Cauchy-Born law of a periodic ASE cell (``physics = "finite-strain"``, ``d = 3``).

    Parameters
    ----------
    atoms : ase.Atoms or callable
        Periodic reference cell (``pbc`` all True), or a function returning one.  Not
        modified.
    calculator : ase calculator
        Any calculator providing energy and stress; a private deep copy is used.
    fd_step : float
        Step ``h`` on the components of ``F`` for the finite-difference tangent.
    relax_positions : bool
        Relax the atom positions at fixed cell for every ``F`` (BFGS to ``fmax``): the
        analogue of the sublattice-shift relaxation for multi-atom cells.
    fmax : float
        Force tolerance (eV/Angstrom) of that relaxation; the tangent error it causes is
        about ``fmax / (fd_step * stiffness)``, hence the tight default.

    Examples
    --------
    >>> from ase.build import bulk
    >>> from ase.calculators.emt import EMT
    >>> law = ASECauchyBorn(bulk("Cu", "fcc", a=3.6, cubic=True), EMT())
    >>> P, A, _ = law.evaluate(np.eye(3).ravel())
    >>> P.shape, A.shape
    ((9,), (9, 9))
    """

    physics = "finite-strain"
    has_state = False
    dim = 3

    def __init__(
        self,
        atoms: Atoms | Callable[[], Atoms],
        calculator: Any,
        *,
        fd_step: float = 1e-4,
        relax_positions: bool = False,
        fmax: float = 1e-9,
    ) -> None:
        from ase import Atoms

        ref = atoms() if callable(atoms) and not isinstance(atoms, Atoms) else atoms
        if not isinstance(ref, Atoms):
            raise ValueError(
                f"ASECauchyBorn: atoms must be an ase.Atoms or a function returning one, "
                f"got {type(ref)!r}"
            )
        if not np.all(ref.pbc) or ref.cell.volume <= 0:
            raise ValueError(
                f"ASECauchyBorn: atoms must be periodic in x, y, z with a positive cell "
                f"volume, got pbc={ref.pbc.tolist()}, volume={ref.cell.volume}"
            )
        if not (0 < fd_step < 0.1) or not fmax > 0:
            raise ValueError(
                f"ASECauchyBorn: need 0 < fd_step < 0.1 and fmax > 0, got {fd_step}, {fmax}"
            )
        self._ref = ref.copy()
        self._calc = copy.deepcopy(calculator)
        self.fd_step = float(fd_step)
        self.relax_positions = bool(relax_positions)
        self.fmax = float(fmax)
        self.volume = float(ref.cell.volume)

    def __repr__(self) -> str:
        return (
            f"ASECauchyBorn({self._ref.get_chemical_formula()}, {type(self._calc).__name__}, "
            f"fd_step={self.fd_step}, relax_positions={self.relax_positions})"
        )

    def _as_F(self, gradient: ArrayLike) -> tuple[Array, tuple[int, ...]]:
        g = np.asarray(gradient, dtype=float)
        if g.ndim == 0 or g.shape[-1] != 9:
            raise ValueError(
                f"ASECauchyBorn: gradient must be deformation gradients flattened row-major, "
                f"shape (..., 9), got shape {g.shape}"
            )
        F = g.reshape(-1, 3, 3)
        det = np.linalg.det(F)
        if not np.all(np.isfinite(g)) or np.any(det <= 0):
            raise ValueError(f"ASECauchyBorn: need finite F with det F > 0, got det F = {det}")
        return F, g.shape[:-1]

    def deformed(self, F: ArrayLike) -> Atoms:
        """The reference cell mapped by one ``F`` (3x3), calculator attached (relaxed)."""
        F = np.asarray(F, dtype=float).reshape(3, 3)
        atoms = self._ref.copy()
        atoms.set_cell(self._ref.cell.array @ F.T, scale_atoms=False)
        atoms.positions = self._ref.positions @ F.T
        atoms.calc = self._calc
        if self.relax_positions:
            from ase.optimize import BFGS

            opt = BFGS(atoms, logfile=None)
            if not opt.run(fmax=self.fmax, steps=500):
                f = np.linalg.norm(atoms.get_forces(), axis=1).max()
                raise ConvergenceError(
                    "ASECauchyBorn: position relaxation (BFGS) did not reach fmax; raise "
                    "fmax or check the stability of the deformed cell",
                    [f],
                )
        return atoms

    def _energy_stress(self, F: Array) -> tuple[float, Array]:
        atoms = self.deformed(F)
        energy = atoms.get_potential_energy()
        sigma = atoms.get_stress(voigt=False)
        P = np.linalg.det(F) * sigma @ np.linalg.inv(F).T
        return energy / self.volume, P

    def energy(self, gradient: ArrayLike) -> Array:
        """``W(F) = E(F) / V_0`` (energy per unit reference volume), shape ``batch``."""
        F, batch = self._as_F(gradient)
        return np.array([self._energy_stress(f)[0] for f in F]).reshape(batch)

    def first_piola(self, gradient: ArrayLike) -> Array:
        """First Piola-Kirchhoff stress from the calculator's stress, ``(..., 9)``."""
        F, batch = self._as_F(gradient)
        return np.array([self._energy_stress(f)[1] for f in F]).reshape(*batch, 9)

    def _tangent(self, F: Array) -> Array:
        h = self.fd_step
        E = np.eye(9).reshape(9, 3, 3) * h
        A = np.empty((len(F), 9, 9))
        for n, f in enumerate(F):
            for m in range(9):
                dP = self._energy_stress(f + E[m])[1] - self._energy_stress(f - E[m])[1]
                A[n, :, m] = dP.ravel() / (2.0 * h)
        return 0.5 * (A + np.swapaxes(A, 1, 2))

    def evaluate(self, gradient: ArrayLike, state: None = None) -> tuple[Array, Array, None]:
        """``P`` ``(..., 9)``, finite-difference tangent ``(..., 9, 9)``, state None."""
        F, batch = self._as_F(gradient)
        P = np.array([self._energy_stress(f)[1] for f in F])
        return P.reshape(*batch, 9), self._tangent(F).reshape(*batch, 9, 9), None

    def elastic_constants(self, notation: Literal["mandel", "voigt"] = "mandel") -> Array:
        """Elastic constants ``d2W/dE2`` at ``F = I`` (6x6, in the calculator's units)."""
        F = np.eye(3)[None]
        P, A, _ = self.evaluate(F.reshape(1, 9))
        return moduli_matrix(lagrangian_moduli(F, P.reshape(1, 3, 3), A), notation)[0]

    def stability(self, gradient: ArrayLike, *, directions: int = 400) -> StabilityResult:
        """Born and strong-ellipticity checks (no phonons: ``phonon`` is None)."""
        F, batch = self._as_F(gradient)
        P, A, _ = self.evaluate(F.reshape(-1, 9))
        return elastic_stability(F, P.reshape(-1, 3, 3), A, batch, directions)
