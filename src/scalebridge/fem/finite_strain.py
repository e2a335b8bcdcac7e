"""Total-Lagrangian finite-strain solids on scikit-fem (laws with ``physics = "finite-strain"``).

With the displacement ``u`` of the reference configuration, ``F = I + grad u`` at every
quadrature point, the law's first Piola-Kirchhoff stress ``P(F)`` and its tangent
``A = dP/dF``, the discrete equilibrium and its exact linearisation are

    r(u) = int P(F) : grad v dX - f_ext = 0,      K(u) = int grad v : A(F) : grad du dX,

with dead-load tractions (force per *reference* area, fixed direction).  The gradient
operator ``G`` (``(n_elements, n_qp, d*d, n_local_dofs)``, row ``d*i + J`` holding
``d N_a,i / dX_J``) takes the place of the small-strain ``B`` matrix, so the assembly
(`Assembler.internal_force`, `Assembler.stiffness`) and everything around the Newton
iteration (supports, loads, load stepping, bisection of failed increments, restarts,
checkpoints, VTK output) are those of `SolidProblem`.  ``F`` and ``P`` are flattened
row-major, ``(n_points, d*d)``: 2D meshes give ``2x2`` gradients (the law decides
between plane strain and a genuinely 2D material), 3D meshes ``3x3``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scalebridge.errors import ConvergenceError
from scalebridge.fem.solid import (
    Array,
    Assembler,
    SolidProblem,
)
from scalebridge.materials.base import ConstitutiveLaw

__all__ = ["FiniteStrainAssembler", "FiniteStrainProblem", "cauchy_stress"]

logger = logging.getLogger(__name__)


class FiniteStrainAssembler(Assembler):
    """`Assembler` whose operator is the displacement gradient, not the Mandel strain.

    ``strain(u)`` returns ``grad u`` flattened row-major ``(n_points, d*d)``,
    ``internal_force(P)`` is ``int G^T P`` and ``stiffness(A)`` is ``int G^T A G``.

    Parameters
    ----------
    mesh : skfem mesh
        Triangles, quadrilaterals, tetrahedra or hexahedra.
    order : {1, 2}
        Lagrange order of the displacement.
    quadrature : int, optional
        Quadrature order; default ``2 * order``.
    """

    def __init__(self, mesh: Any, order: int = 1, quadrature: int | None = None) -> None:
        super().__init__(mesh, order=order, quadrature=quadrature)
        basis, d = self.basis, self.dim
        grads = np.stack([basis.basis[j][0].grad for j in range(basis.Nbfun)], axis=-1)
        # grads[i, J, e, q, a] = d N_a,i / dX_J  ->  G[e, q, d*i + J, a]
        self.B = np.ascontiguousarray(grads.reshape(d * d, *grads.shape[2:]).transpose(1, 2, 0, 3))
        self.m = d * d


def cauchy_stress(F: ArrayLike, P: ArrayLike) -> Array:
    """Cauchy stress ``sigma = P F^T / det F`` from flattened ``F`` and ``P``, ``(n, d, d)``.

    Examples
    --------
    >>> cauchy_stress([2.0, 0.0, 0.0, 1.0], [4.0, 0.0, 0.0, 0.0]).tolist()
    [[[4.0, 0.0], [0.0, 0.0]]]
    """
    f = np.atleast_2d(np.asarray(F, dtype=float))
    p = np.atleast_2d(np.asarray(P, dtype=float))
    if f.shape != p.shape or round(math.sqrt(f.shape[-1])) ** 2 != f.shape[-1]:
        raise ValueError(
            f"cauchy_stress: F and P must both have shape (n, d*d), got {f.shape} and {p.shape}"
        )
    d = round(math.sqrt(f.shape[-1]))
    Fm, Pm = f.reshape(-1, d, d), p.reshape(-1, d, d)
    return Pm @ np.swapaxes(Fm, 1, 2) / np.linalg.det(Fm)[:, None, None]


class FiniteStrainProblem(SolidProblem):
    """A hyperelastic (or any finite-strain) solid in the total-Lagrangian form.

    The setup methods (``fix``, ``prescribe``, ``prescribe_field``, ``traction``) and
    ``solve`` are those of `SolidProblem`; tractions are dead loads per reference area.
    In the returned increments ``strain`` holds ``F`` and ``stress`` holds ``P``, both
    flattened row-major ``(n_points, d*d)``.  An iterate with ``det F <= 0`` at some
    point, or a law raising `ConvergenceError`, counts as a failed Newton iteration:
    the increment is halved.

    Parameters
    ----------
    mesh : skfem mesh
        2D (triangles, quadrilaterals) or 3D (tetrahedra, hexahedra).
    law : ConstitutiveLaw
        ``physics == "finite-strain"``: ``F`` ``(n, d*d)`` in, ``P`` ``(n, d*d)`` and
        ``dP/dF`` ``(n, d*d, d*d)`` out.  Laws with ``has_state = True`` provide
        ``initial_state(shape, d*d)``.
    order : {1, 2}
        Lagrange order of the displacement.
    quadrature : int, optional
        Quadrature order; default ``2 * order``.

    Examples
    --------
    >>> from scalebridge.fem import rectangle
    >>> from scalebridge.materials import NeoHookean
    >>> problem = FiniteStrainProblem(rectangle(n=(2, 2)), NeoHookean(mu=1.0, lam=1.0))
    >>> _ = problem.fix("left", [0]).fix("bottom", [1]).prescribe("right", 0, 0.5)
    >>> F = problem.solve(steps=2).final.strain
    >>> sorted(set(F[:, 0].round(12).tolist()))   # uniform stretch 1.5
    [1.5]
    """

    def __init__(
        self, mesh: Any, law: ConstitutiveLaw, *, order: int = 1, quadrature: int | None = None
    ) -> None:
        if not isinstance(law, ConstitutiveLaw):
            raise ValueError(
                f"law: {law!r} is not a constitutive law (needs .physics and "
                ".evaluate(gradient, state))"
            )
        if law.physics != "finite-strain":
            raise ValueError(
                f"law: physics must be 'finite-strain' (F in, P out), got {law.physics!r}; "
                "small-strain laws go to SolidProblem"
            )
        if getattr(law, "has_state", False) and not callable(getattr(law, "initial_state", None)):
            raise ValueError(
                f"law: {law!r} has state (has_state = True) but no initial_state(shape, m)"
            )
        assembler = FiniteStrainAssembler(mesh, order=order, quadrature=quadrature)
        law_dim = getattr(law, "dim", None)
        if isinstance(law_dim, int) and law_dim != assembler.dim:
            raise ValueError(
                f"law: {law!r} takes {law_dim}x{law_dim} deformation gradients but the mesh "
                f"is {assembler.dim}D; give a {law_dim}D mesh or a {assembler.dim}D law"
            )
        self.law = law
        self.assembler = assembler
        self.mesh = mesh
        self._dirichlet = []
        self._neumann = []

    def __repr__(self) -> str:
        return (
            f"FiniteStrainProblem({type(self.mesh).__name__}, {self.law!r}, "
            f"order={self.assembler.order}, n_points={self.n_points})"
        )

    def deformation_gradient(self, displacement: ArrayLike) -> Array:
        """``F = I + grad u`` at every quadrature point, flattened row-major ``(n, d*d)``."""
        u = np.asarray(displacement, dtype=float)
        if u.shape != (self.n_dofs,):
            raise ValueError(
                f"deformation_gradient: displacement must have shape ({self.n_dofs},), got "
                f"{u.shape}"
            )
        return self.assembler.strain(u) + np.eye(self.dim).ravel()

    def _gradient(self, u: Array, t: float, history: list[float]) -> Array:
        """``F`` at every point; an inverted element fails the iteration (and the increment
        is halved by `SolidProblem.solve`)."""
        F = self.deformation_gradient(u)
        det = np.linalg.det(F.reshape(-1, self.dim, self.dim))
        if not np.all(det > 0.0):
            history.append(math.inf)
            raise ConvergenceError(
                f"Newton at t={t:g}: det F <= 0 at {int(np.sum(~(det > 0.0)))} "
                "quadrature point(s) (element inverted)",
                history,
            )
        return F
