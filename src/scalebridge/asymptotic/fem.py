"""Macro and fine-scale diffusion solves with scikit-fem on boxes (or a given mesh).

``-div(A(x) grad u) = f`` in the domain, ``u = g`` on its boundary, with Lagrange
elements of order 1 or 2; the coefficient is evaluated at the quadrature points (so an
oscillating ``a(x / eps)`` is integrated by Gauss quadrature of order ``intorder``).
Systems up to 60 000 unknowns go to SuperLU, larger ones to pyamg-preconditioned CG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from scalebridge.errors import ConvergenceError

Array = NDArray[np.float64]
DIRECT_LIMIT = 60_000


def box_mesh(lower: Sequence[float], upper: Sequence[float], n: Sequence[int]) -> Any:
    """Tensor-product mesh of ``[lower, upper]``: `MeshLine`, `MeshQuad` or `MeshHex`."""
    import skfem

    lo, hi = [float(x) for x in lower], [float(x) for x in upper]
    if len(lo) != len(hi) or len(lo) != len(n) or len(lo) not in (1, 2, 3):
        raise ValueError(
            f"domain: lower {lo}, upper {hi} and divisions {list(n)} must have 1-3 entries each"
        )
    if any(b <= a for a, b in zip(lo, hi, strict=True)):
        raise ValueError(f"domain: upper {hi} must exceed lower {lo} on every axis")
    axes = [np.linspace(a, b, int(k) + 1) for a, b, k in zip(lo, hi, n, strict=True)]
    if len(axes) == 1:
        return skfem.MeshLine(axes[0])
    if len(axes) == 2:
        return skfem.MeshQuad.init_tensor(*axes)
    return skfem.MeshHex.init_tensor(*axes)


def lagrange_basis(mesh: Any, order: int = 2, intorder: int | None = None) -> Any:
    """Continuous Lagrange basis of ``order`` 1 or 2 on a line, quad, hex, tri or tet mesh."""
    import skfem

    if order not in (1, 2):
        raise ValueError(f"order: got {order!r}; expected 1 or 2")
    table = {
        skfem.MeshLine: (skfem.ElementLineP1, skfem.ElementLineP2),
        skfem.MeshQuad: (skfem.ElementQuad1, skfem.ElementQuad2),
        skfem.MeshHex: (skfem.ElementHex1, skfem.ElementHex2),
        skfem.MeshTri: (skfem.ElementTriP1, skfem.ElementTriP2),
        skfem.MeshTet: (skfem.ElementTetP1, skfem.ElementTetP2),
    }
    for kind, elems in table.items():
        if isinstance(mesh, kind):
            return skfem.Basis(mesh, elems[order - 1](), intorder=intorder or 2 * order + 2)
    raise ValueError(f"mesh: {type(mesh).__name__} is not supported (line, quad, hex, tri, tet)")


def quadrature_points(basis: Any) -> Array:
    """Global coordinates of the quadrature points ``(d, nelems, nqp)``."""
    return np.asarray(basis.global_coordinates())


@dataclass
class DiffusionSolution:
    """Nodal values of a solved diffusion problem and the fields at quadrature points."""

    basis: Any
    u: Array
    iterations: int

    def value(self) -> Array:
        return np.asarray(self.basis.interpolate(self.u))

    def gradient(self) -> Array:
        return np.asarray(self.basis.interpolate(self.u).grad)

    def hessian(self) -> Array:
        """Second derivatives ``(d, d, nelems, nqp)`` of the L2-projected gradient (a
        recovered Hessian: Lagrange elements have no continuous one)."""
        b = self.basis
        g = self.basis.interpolate(self.u).grad
        M = _mass(b)
        rows = []
        for i in range(g.shape[0]):
            from skfem import LinearForm

            gi = np.asarray(g[i])

            @LinearForm
            def rhs(v: Any, w: Any, gi: Array = gi) -> Any:
                return gi * v

            c = _solve_spd(M, rhs.assemble(b), tol=1e-12)[0]
            rows.append(np.asarray(b.interpolate(c).grad))
        return np.array(rows)


def _mass(basis: Any) -> sp.csr_matrix:
    from skfem import BilinearForm

    @BilinearForm
    def mass(u: Any, v: Any, w: Any) -> Any:
        return u * v

    return mass.assemble(basis).tocsr()


def _solve_spd(A: sp.spmatrix, b: Array, tol: float = 1e-10) -> tuple[Array, int]:
    """SuperLU for small systems, pyamg smoothed-aggregation CG for large ones."""
    A = sp.csr_matrix(A)
    if A.shape[0] <= DIRECT_LIMIT:
        import scipy.sparse.linalg as spla

        return np.asarray(spla.spsolve(A.tocsc(), b)), 1
    import pyamg

    ml = pyamg.smoothed_aggregation_solver(A, symmetry="hermitian", max_coarse=500)
    res: list[float] = []
    x = ml.solve(b, tol=tol, accel="cg", maxiter=500, residuals=res)
    if res and res[-1] > tol * max(res[0], 1e-300) * 10:
        raise ConvergenceError(
            f"AMG-CG stopped at relative residual {res[-1] / res[0]:.2e} (tol {tol:g})",
            np.asarray(res),
        )
    return np.asarray(x), len(res)


def solve_diffusion(
    basis: Any,
    coefficient: Array | float,
    f: float | Callable[[Array], Array] = 1.0,
    g: float | Callable[[Array], Array] = 0.0,
    tol: float = 1e-10,
) -> DiffusionSolution:
    """Solve ``-div(A grad u) = f``, ``u = g`` on the boundary.

    Parameters
    ----------
    basis : skfem.Basis
    coefficient : float or ndarray
        Scalar ``a`` or a matrix ``(d, d)`` (constant), or its values at the quadrature
        points: ``(nelems, nqp)`` (scalar) or ``(d, d, nelems, nqp)`` (matrix).
    f, g : float or callable of ``x (d, ...)``
        Source and Dirichlet data.
    """
    from skfem import BilinearForm, LinearForm, condense
    from skfem.helpers import dot, grad, mul

    A = np.asarray(coefficient, dtype=float)
    d = basis.mesh.dim()
    scalar = A.ndim in (0, 2)
    shape_q = quadrature_points(basis).shape[1:]
    if A.ndim == 0:
        A = np.full(shape_q, float(A))
    elif A.shape == (d, d):
        A = np.broadcast_to(A.reshape(d, d, 1, 1), (d, d, *shape_q)).copy()
        scalar = False
    if not np.all(np.isfinite(A)):
        raise ValueError("coefficient: non-finite values at quadrature points")

    if scalar:

        @BilinearForm
        def stiffness(u: Any, v: Any, w: Any) -> Any:
            return w["a"] * dot(grad(u), grad(v))

    else:

        @BilinearForm
        def stiffness(u: Any, v: Any, w: Any) -> Any:
            return dot(mul(w["a"], grad(u)), grad(v))

    K = stiffness.assemble(basis, a=A)
    x = quadrature_points(basis)
    fq = np.asarray(f(x), dtype=float) if callable(f) else np.full(shape_q, float(f))

    @LinearForm
    def load(v: Any, w: Any) -> Any:
        return w["f"] * v

    rhs = load.assemble(basis, f=fq)
    D = basis.get_dofs()
    u = np.zeros(basis.N)
    if callable(g):
        u = basis.project(g)
    elif g != 0.0:
        u[:] = float(g)
    Kc, bc, _, interior = condense(K, rhs, x=u, D=D)
    sol, its = _solve_spd(Kc, bc, tol)
    u[interior] = sol
    return DiffusionSolution(basis, u, its)


def as_skfem_mesh(mesh: Any) -> Any:
    """A scikit-fem mesh from a scikit-fem mesh, a `meshio.Mesh` or a mesh file path."""
    import skfem

    if isinstance(mesh, skfem.Mesh):
        return mesh
    try:
        import meshio
    except ImportError:  # pragma: no cover - meshio is a dependency
        meshio = None
    from skfem.io.meshio import from_meshio

    if meshio is not None and isinstance(mesh, meshio.Mesh):
        return from_meshio(mesh)
    if isinstance(mesh, str | bytes) or hasattr(mesh, "__fspath__"):
        return from_meshio(meshio.read(mesh))
    raise ValueError(
        f"mesh: got {type(mesh).__name__}; expected a scikit-fem Mesh, a meshio.Mesh or a "
        "mesh file path"
    )


def solve_homogenized(
    a_hom: Any,
    mesh: Any,
    f: float | Callable[[Array], Array] = 1.0,
    g: float | Callable[[Array], Array] = 0.0,
    order: int = 2,
) -> DiffusionSolution:
    """The homogenized problem ``-div(a_hom grad u0) = f``, ``u0 = g`` on the boundary,
    on any mesh (scikit-fem, meshio or a file: gmsh ``.msh``, ``.vtu``, ...).

    ``a_hom`` is the ``(d, d)`` matrix or a `Correctors` (its ``a_hom``).
    """
    A = np.asarray(getattr(a_hom, "a_hom", a_hom), dtype=float)
    m = as_skfem_mesh(mesh)
    d = m.dim()
    if A.shape not in ((), (d, d)):
        raise ValueError(f"a_hom: got shape {A.shape}; expected a scalar or ({d}, {d})")
    return solve_diffusion(lagrange_basis(m, order), A, f, g)
