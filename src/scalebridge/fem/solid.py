"""Small-strain solids (2D plane strain, 3D) on scikit-fem with any constitutive law.

`SolidProblem` holds the mesh, the law and the loads; `SolidProblem.solve` steps the load
factor ``t`` and solves each increment by Newton–Raphson with the law's consistent
tangent.  The law is called once per Newton iteration on all quadrature points at once
(strain ``(n_points, m)``, state arrays ``(n_points, ...)``), so an expensive law (an RVE
per point) is dispatched in one batch.  Quadrature-point state is committed only after an
increment converges; a failed increment is bisected from the last committed state.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from scalebridge.errors import ConvergenceError
from scalebridge.materials.base import ConstitutiveLaw

Array = NDArray[np.float64]
State = dict[str, Array] | None
Boundary = str | Callable[[Array], NDArray[np.bool_]] | ArrayLike
logger = logging.getLogger(__name__)

DIRECT_LIMIT = 200_000
"""Free unknowns up to which ``linear_solver="auto"`` factorises (SuperLU); above: AMG-CG."""


@dataclass(frozen=True)
class SolidState:
    """What a restart needs: the committed solution after a converged increment.

    Attributes
    ----------
    step : int
        Number of converged increments so far (0 for the initial state).
    load_factor : float
        Load factor ``t`` of this state.
    displacement : ndarray, shape (n_dofs,)
        Nodal displacements (scikit-fem's interleaved vector dofs).
    state : dict of str to ndarray, or None
        Quadrature-point state, arrays of leading shape ``(n_points,)``; None for laws
        without history.
    """

    step: int
    load_factor: float
    displacement: Array
    state: State


@dataclass(frozen=True)
class Increment(SolidState):
    """A converged load increment.

    Attributes
    ----------
    step, load_factor, displacement, state
        As in `SolidState` (``state``: the committed state after this increment).
    strain, stress : ndarray, shape (n_points, m)
        Mandel strain and stress at the quadrature points.
    residuals : ndarray
        Relative residual norm before each Newton solve and after the last one
        (``residuals[0]``: the trial state, ``residuals[-1] <= tol``).
    reactions : dict of str to ndarray
        Resultant ``(dim,)`` of ``f_int - f_ext`` over the dofs of each named boundary:
        the reaction force on a supported boundary.
    """

    strain: Array = field(repr=False)
    stress: Array = field(repr=False)
    residuals: Array
    reactions: dict[str, Array]

    @property
    def iterations(self) -> int:
        """Newton iterations (linear solves) of this increment."""
        return max(self.residuals.size - 1, 0)


@dataclass(frozen=True)
class RejectedIncrement:
    """An attempted increment that did not converge (its trial state was discarded)."""

    start_factor: float
    load_factor: float
    residuals: Array
    reason: str


@dataclass(frozen=True)
class SolidResult:
    """Converged increments (including bisection sub-increments) and rejected attempts."""

    increments: tuple[Increment, ...]
    rejected: tuple[RejectedIncrement, ...] = ()

    @property
    def final(self) -> Increment:
        """The last converged increment (a valid ``start`` for a restart)."""
        return self.increments[-1]

    @property
    def load_factors(self) -> Array:
        """Load factor of each converged increment."""
        return np.array([inc.load_factor for inc in self.increments])

    def reaction(self, boundary: str) -> Array:
        """Reaction resultant on a named boundary per increment, shape ``(n, dim)``."""
        if not self.increments or boundary not in self.increments[0].reactions:
            names = sorted(self.increments[0].reactions) if self.increments else []
            raise ValueError(f"reaction: boundary must be one of {names}, got {boundary!r}")
        return np.array([inc.reactions[boundary] for inc in self.increments])


@dataclass(frozen=True)
class _Dirichlet:
    dofs: NDArray[np.int64]
    values: Callable[[float], Array]


@dataclass(frozen=True)
class _Neumann:
    force: Array  # external force vector at scale 1
    scale: Callable[[float], float]


_SQRT2 = math.sqrt(2.0)
_MANDEL_PAIRS = {
    2: ((0, 0), (1, 1), (0, 1)),
    3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)),
}


class Assembler:
    """Vectorised small-strain operators on a scikit-fem vector Lagrange basis.

    Precomputes the Mandel strain–displacement matrices ``B`` of every quadrature point
    (``(n_elements, n_qp, m, n_local_dofs)``) and the sparsity pattern, so that strain,
    internal force and tangent stiffness are a few array products each.

    Parameters
    ----------
    mesh : skfem mesh
        Triangles, quadrilaterals, tetrahedra or hexahedra (linear or quadratic geometry).
    order : {1, 2}
        Lagrange order of the displacement.
    quadrature : int, optional
        Quadrature order; default ``2 * order``.
    """

    def __init__(self, mesh: Any, order: int = 1, quadrature: int | None = None) -> None:
        import skfem

        if isinstance(order, bool) or order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        if quadrature is not None and (
            isinstance(quadrature, bool) or not isinstance(quadrature, int) or quadrature < 1
        ):
            raise ValueError(f"quadrature must be an integer >= 1 or None, got {quadrature!r}")
        elements = {
            "RefTri": (skfem.ElementTriP1, skfem.ElementTriP2),
            "RefQuad": (skfem.ElementQuad1, skfem.ElementQuad2),
            "RefTet": (skfem.ElementTetP1, skfem.ElementTetP2),
            "RefHex": (skfem.ElementHex1, skfem.ElementHex2),
        }
        ref = getattr(getattr(mesh, "refdom", None), "__name__", None)
        if ref not in elements:
            raise ValueError(
                f"mesh: {type(mesh).__name__} is not supported; give a triangle, "
                "quadrilateral, tetrahedron or hexahedron skfem mesh"
            )
        self.mesh = mesh
        self.order = order
        self.intorder = 2 * order if quadrature is None else quadrature
        self.dim = int(mesh.dim())
        self.m = 3 if self.dim == 2 else 6
        element = skfem.ElementVector(elements[ref][order - 1]())
        if self.intorder <= 1:
            # one point at the centroid (exact for degree 1); scikit-fem's lowest
            # simplex rule has 3 points, and for FE2 every point is an RVE solve
            basis = skfem.Basis(mesh, element, quadrature=_centroid_rule(ref))
        else:
            basis = skfem.Basis(mesh, element, intorder=self.intorder)
        self.basis = basis
        self.n_dofs = int(basis.N)
        grads = np.stack([basis.basis[j][0].grad for j in range(basis.Nbfun)], axis=-1)
        B = np.empty((*grads.shape[2:4], self.m, basis.Nbfun))
        for a, (i, j) in enumerate(_MANDEL_PAIRS[self.dim]):
            B[:, :, a] = grads[i, i] if i == j else (grads[i, j] + grads[j, i]) / _SQRT2
        self.B = B
        self.dx = np.asarray(basis.dx)
        self.element_dofs = np.ascontiguousarray(basis.element_dofs.T)  # (n_elements, nb)
        ed = self.element_dofs.astype(np.int64)
        keys = (ed[:, :, None] * self.n_dofs + ed[:, None, :]).ravel()
        self._keys, self._scatter = np.unique(keys, return_inverse=True)
        self._modes: Array | None = None
        self._pattern: tuple[NDArray[np.int64], NDArray[np.bool_], sp.csr_matrix] | None = None
        names = mesh.boundaries or {}
        self._named = {
            name: [self.boundary_dofs(name, c) for c in range(self.dim)] for name in names
        }

    # ------------------------------------------------------------------ points
    @property
    def n_points(self) -> int:
        """Number of quadrature points."""
        return int(self.dx.size)

    @property
    def points(self) -> Array:
        """Quadrature-point coordinates ``(n_points, dim)``."""
        x = np.asarray(self.basis.global_coordinates())
        return np.ascontiguousarray(x.reshape(self.dim, -1).T)

    @property
    def weights(self) -> Array:
        """Quadrature weight times Jacobian of each point ``(n_points,)``."""
        return self.dx.ravel()

    # ------------------------------------------------------------------ boundaries
    def facets(self, boundary: Boundary) -> NDArray[np.int64]:
        """Facet indices of a boundary: a name, a mask function of ``x`` or indices."""
        mesh = self.mesh
        names = sorted(mesh.boundaries or {})
        if isinstance(boundary, str):
            if boundary not in names:
                raise ValueError(
                    f"boundary: {boundary!r} is not a named boundary of the mesh (named: "
                    f"{names}); give a name, facet indices or a function of x"
                )
            facets = np.asarray(mesh.boundaries[boundary], dtype=np.int64)
        elif callable(boundary):
            facets = np.asarray(mesh.facets_satisfying(boundary, True), dtype=np.int64)
        else:
            facets = np.asarray(boundary).ravel()
            if facets.size and (
                not np.issubdtype(facets.dtype, np.integer)
                or facets.min() < 0
                or facets.max() >= mesh.nfacets
            ):
                raise ValueError(
                    f"boundary: facet indices must be integers in [0, {mesh.nfacets}), got "
                    f"{facets[:8].tolist()}..."
                )
            facets = facets.astype(np.int64)
        if facets.size == 0:
            raise ValueError(f"boundary: {boundary!r} selects no facets")
        return facets

    def boundary_dofs(self, boundary: Boundary, component: int) -> NDArray[np.int64]:
        """Dofs of displacement ``component`` on the facets of ``boundary``."""
        dofs = self.basis.get_dofs(self.facets(boundary))
        return np.asarray(dofs.all(f"u^{component + 1}"), dtype=np.int64)

    def resultants(self, force: Array) -> dict[str, Array]:
        """Sum of ``force`` per component over the dofs of each named boundary."""
        return {
            name: np.array([force[d].sum() for d in dofs]) for name, dofs in self._named.items()
        }

    def traction_force(
        self, boundary: Boundary, vector: ArrayLike | Callable[[Array], ArrayLike]
    ) -> Array:
        """Load vector of the traction ``vector`` (constant or a function of ``x``)."""
        import skfem

        fb = skfem.FacetBasis(
            self.mesh, self.basis.elem, facets=self.facets(boundary), intorder=self.intorder
        )
        if callable(vector):
            x = np.asarray(fb.global_coordinates())
            g = np.asarray(vector(x), dtype=float)
            if g.shape != x.shape:
                raise ValueError(
                    f"traction: vector(x) must return an array of shape {x.shape} (that of "
                    f"x), got {g.shape}"
                )
        else:
            v = np.asarray(vector, dtype=float)
            if v.shape != (self.dim,):
                raise ValueError(
                    f"traction: vector must have {self.dim} components, got {v.tolist()}"
                )
            g = np.broadcast_to(v[:, None, None], (self.dim, *fb.dx.shape))
        if not np.all(np.isfinite(g)):
            raise ValueError("traction: vector must be finite")
        phi = np.stack([np.asarray(fb.basis[j][0]) for j in range(fb.Nbfun)], axis=-1)
        fe = np.einsum("ieqj,ieq,eq->ej", phi, g, fb.dx)
        return np.bincount(
            fb.element_dofs.T.ravel(), weights=fe.ravel(), minlength=self.n_dofs
        ).astype(float)

    def rigid_modes(self) -> Array:
        """Rigid-body displacement modes ``(n_dofs, 3)`` (2D) or ``(n_dofs, 6)`` (3D)."""
        if self._modes is None:
            self._modes = self._rigid_modes()
        return self._modes

    def _rigid_modes(self) -> Array:
        x = self.basis.doflocs
        comp = np.arange(self.n_dofs) % self.dim  # ElementVector interleaves components
        modes = [(comp == c).astype(float) for c in range(self.dim)]
        rotations = [(0, 1)] if self.dim == 2 else [(0, 1), (1, 2), (0, 2)]
        for i, j in rotations:  # u_i = -x_j, u_j = x_i
            r = np.zeros(self.n_dofs)
            r[comp == i] = -x[j, comp == i]
            r[comp == j] = x[i, comp == j]
            modes.append(r)
        return np.stack(modes, axis=1)

    # ------------------------------------------------------------------ operators
    def strain(self, u: Array) -> Array:
        """Mandel strain at every quadrature point ``(n_points, m)``."""
        eps = self.B @ u[self.element_dofs][:, None, :, None]
        return eps.reshape(-1, self.m)

    def internal_force(self, stress: Array) -> Array:
        """``f_int = sum_points B^T sigma w``, shape ``(n_dofs,)``."""
        s = stress.reshape((*self.dx.shape, self.m)) * self.dx[..., None]
        fe = np.einsum("eqaj,eqa->ej", self.B, s)
        return np.bincount(self.element_dofs.ravel(), weights=fe.ravel(), minlength=self.n_dofs)

    def stiffness(self, tangent: Array, free: NDArray[np.int64] | None = None) -> sp.csr_matrix:
        """``K = sum_points B^T D B w`` (rows and columns ``free`` only, when given)."""
        nel, nq, m, nb = self.B.shape
        D = tangent if tangent.ndim == 2 else tangent.reshape(nel, nq, m, m)
        DB = (D @ self.B) * self.dx[:, :, None, None]
        Ke = self.B.reshape(nel, nq * m, nb).transpose(0, 2, 1) @ DB.reshape(nel, nq * m, nb)
        data = np.bincount(self._scatter, weights=Ke.ravel(), minlength=self._keys.size)
        if free is None:
            free = np.arange(self.n_dofs)
        keep, K = self._free_pattern(free)
        K.data = data[keep]
        return K

    def _free_pattern(self, free: NDArray[np.int64]) -> tuple[NDArray[np.bool_], sp.csr_matrix]:
        """CSR pattern of the free–free block (cached for the last free set)."""
        if self._pattern is not None and np.array_equal(self._pattern[0], free):
            return self._pattern[1], self._pattern[2].copy()
        n = self.n_dofs
        index = np.full(n, -1, dtype=np.int64)
        index[free] = np.arange(free.size)
        rows, cols = index[self._keys // n], index[self._keys % n]
        keep = (rows >= 0) & (cols >= 0)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=free.size))])
        K = sp.csr_matrix(
            (np.zeros(int(keep.sum())), cols[keep], indptr), shape=(free.size, free.size)
        )
        self._pattern = (free.copy(), keep, K)
        return keep, K.copy()


def _centroid_rule(ref: str) -> tuple[Array, Array]:
    """One-point rule ``(X (dim, 1), W (1,))`` at the centroid of a reference cell."""
    if ref == "RefTri":
        return np.full((2, 1), 1.0 / 3.0), np.array([0.5])
    if ref == "RefTet":
        return np.full((3, 1), 0.25), np.array([1.0 / 6.0])
    dim = 2 if ref == "RefQuad" else 3
    return np.full((dim, 1), 0.5), np.array([1.0])


def _identity(t: float) -> float:
    return t


class SolidProblem:
    """A small-strain solid: mesh, constitutive law, supports and loads.

    Parameters
    ----------
    mesh : skfem mesh
        Triangles or quadrilaterals (2D, plane strain) or tetrahedra or hexahedra (3D),
        linear or quadratic geometry.
    law : ConstitutiveLaw
        ``physics == "elasticity"``: Mandel strain ``(n, 3)`` (2D) or ``(n, 6)`` (3D) in,
        Mandel stress and tangent out.  Laws with ``has_state = True`` provide
        ``initial_state(shape, m)``.
    order : {1, 2}
        Lagrange order of the displacement.
    quadrature : int, optional
        Quadrature order (exact for polynomials of this degree); default ``2 * order``.

    Examples
    --------
    >>> from scalebridge.fem import rectangle
    >>> from scalebridge.materials import Elasticity
    >>> problem = SolidProblem(rectangle(n=(2, 2)), Elasticity(E=1.0, nu=0.0))
    >>> problem.fix("left", components=[0]).fix("bottom", components=[1])
    SolidProblem(MeshQuad1, Elasticity(E=1.0, nu=0.0), order=1, n_points=16)
    >>> result = problem.traction("right", [0.5, 0.0]).solve(steps=1)
    >>> float(result.final.stress[:, 0].mean().round(12))
    0.5
    """

    def __init__(
        self,
        mesh: Any,
        law: ConstitutiveLaw,
        *,
        order: int = 1,
        quadrature: int | None = None,
    ) -> None:
        if not isinstance(law, ConstitutiveLaw):
            raise ValueError(
                f"law: {law!r} is not a constitutive law (needs .physics and "
                ".evaluate(gradient, state))"
            )
        if law.physics == "finite-strain":
            raise ValueError(
                "law: physics 'finite-strain' is not supported by SolidProblem yet; give a "
                "small-strain law (physics 'elasticity')"
            )
        if law.physics != "elasticity":
            raise ValueError(f"law: physics must be 'elasticity', got {law.physics!r}")
        if getattr(law, "has_state", False) and not callable(getattr(law, "initial_state", None)):
            raise ValueError(
                f"law: {law!r} has state (has_state = True) but no initial_state(shape, m)"
            )
        self.law = law
        self.assembler = Assembler(mesh, order=order, quadrature=quadrature)
        self.mesh = mesh
        self._dirichlet: list[_Dirichlet] = []
        self._neumann: list[_Neumann] = []

    def __repr__(self) -> str:
        return (
            f"SolidProblem({type(self.mesh).__name__}, {self.law!r}, "
            f"order={self.assembler.order}, n_points={self.n_points})"
        )

    # ------------------------------------------------------------------ geometry
    @property
    def dim(self) -> int:
        """Spatial dimension (2: plane strain, 3)."""
        return self.assembler.dim

    @property
    def n_dofs(self) -> int:
        """Number of displacement unknowns."""
        return self.assembler.n_dofs

    @property
    def n_points(self) -> int:
        """Number of quadrature points (where the law is evaluated)."""
        return self.assembler.n_points

    @property
    def points(self) -> Array:
        """Quadrature-point coordinates ``(n_points, dim)``, element by element."""
        return self.assembler.points

    @property
    def weights(self) -> Array:
        """Quadrature weights times Jacobians ``(n_points,)``: ``sum(weights)`` = volume."""
        return self.assembler.weights

    @property
    def basis(self) -> Any:
        """The scikit-fem vector basis of the displacement."""
        return self.assembler.basis

    # ------------------------------------------------------------------ supports and loads
    def fix(self, boundary: Boundary, components: Sequence[int] | None = None) -> SolidProblem:
        """Zero displacement of ``components`` (default: all) on ``boundary``.

        ``boundary`` is a name in ``mesh.boundaries``, an array of facet indices, or a
        function of facet midpoints ``x`` (shape ``(dim, n)``) returning a mask.  A later
        condition on the same dof replaces an earlier one.  Returns ``self``.
        """
        for c in self._components(components, "fix"):
            dofs = self.assembler.boundary_dofs(boundary, c)
            zeros = np.zeros(dofs.size)
            self._dirichlet.append(_Dirichlet(dofs, lambda t, z=zeros: z))
        return self

    def prescribe(
        self, boundary: Boundary, component: int, value: float | Callable[[float], float]
    ) -> SolidProblem:
        """Uniform displacement of one component on ``boundary``.

        ``value`` is a number (the displacement at ``t = 1``, scaled by the load factor)
        or a function of the load factor ``t``.  Returns ``self``.
        """
        (c,) = self._components([component], "prescribe")
        dofs = self.assembler.boundary_dofs(boundary, c)
        if callable(value):
            fn = value
        else:
            v = _finite_float("prescribe", "value", value)
            fn = lambda t: v * t  # noqa: E731
        ones = np.ones(dofs.size)
        self._dirichlet.append(_Dirichlet(dofs, lambda t: float(fn(t)) * ones))
        return self

    def prescribe_field(
        self,
        boundary: Boundary,
        field: Callable[[Array], ArrayLike],
        components: Sequence[int] | None = None,
        scale: Callable[[float], float] = _identity,
    ) -> SolidProblem:
        """Displacement ``scale(t) * field(x)`` on ``boundary``.

        ``field`` maps dof coordinates ``x`` ``(dim, n)`` to displacements ``(dim, n)``;
        only ``components`` (default: all) are imposed.  Returns ``self``.
        """
        for c in self._components(components, "prescribe_field"):
            dofs = self.assembler.boundary_dofs(boundary, c)
            x = self.basis.doflocs[:, dofs]
            u = np.asarray(field(x), dtype=float)
            if u.shape != x.shape or not np.all(np.isfinite(u)):
                raise ValueError(
                    f"prescribe_field: field must return finite values of shape {x.shape} "
                    f"for x of shape {x.shape}, got shape {u.shape}"
                )
            values = u[c].copy()
            self._dirichlet.append(_Dirichlet(dofs, lambda t, v=values: scale(t) * v))
        return self

    def traction(
        self,
        boundary: Boundary,
        vector: ArrayLike | Callable[[Array], ArrayLike],
        scale: Callable[[float], float] = _identity,
    ) -> SolidProblem:
        """Surface traction ``scale(t) * vector`` (force per area) on ``boundary``.

        ``vector`` is a constant ``(dim,)`` or a function of the facet quadrature points
        ``x`` ``(dim, n_facets, n_qp)`` returning ``(dim, n_facets, n_qp)``.
        Returns ``self``.
        """
        force = self.assembler.traction_force(boundary, vector)
        self._neumann.append(_Neumann(force, scale))
        return self

    def _components(self, components: Sequence[int] | None, owner: str) -> list[int]:
        if components is None:
            return list(range(self.dim))
        out = list(components)
        bad = [
            c
            for c in out
            if isinstance(c, bool) or not isinstance(c, int | np.integer) or not 0 <= c < self.dim
        ]
        if bad or not out:
            raise ValueError(
                f"{owner}: components must be non-empty integers in [0, {self.dim}), got {out}"
            )
        return [int(c) for c in out]

    # ------------------------------------------------------------------ state
    def initial_state(self) -> SolidState:
        """Zero displacement and the law's virgin quadrature-point state (step 0, t = 0)."""
        state = None
        if getattr(self.law, "has_state", False):
            state = self.law.initial_state((self.n_points,), self.assembler.m)  # type: ignore[attr-defined]
        return SolidState(0, 0.0, np.zeros(self.n_dofs), state)

    def external_force(self, t: float) -> Array:
        """Assembled Neumann loads at load factor ``t``, shape ``(n_dofs,)``."""
        f = np.zeros(self.n_dofs)
        for load in self._neumann:
            f += load.scale(t) * load.force
        return f

    def dirichlet_values(self, t: float) -> tuple[NDArray[np.int64], Array]:
        """Constrained dofs (sorted) and their values at load factor ``t``."""
        g = np.full(self.n_dofs, np.nan)
        for bc in self._dirichlet:
            g[bc.dofs] = bc.values(t)
        dofs = np.flatnonzero(~np.isnan(g))
        return dofs, g[dofs]

    # ------------------------------------------------------------------ solve
    def solve(
        self,
        steps: int | ArrayLike = 1,
        *,
        tol: float = 1e-8,
        max_iter: int = 20,
        max_cuts: int = 4,
        start: SolidState | None = None,
        on_increment: Callable[[Increment], None] | None = None,
        on_iteration: Callable[[float, int, float], None] | None = None,
        output_dir: str | None = None,
        linear_solver: str = "auto",
    ) -> SolidResult:
        """Step the load factor and solve each increment by Newton–Raphson.

        Parameters
        ----------
        steps : int or array_like
            ``n`` equal increments from the start factor to ``t = 1``, or the load factors
            to reach in turn (any finite sequence: unloading and cycles are allowed).
        tol : float
            Relative residual ``|r_free| / max(|f_int|, |f_ext|)`` that ends an increment.
        max_iter : int
            Newton iterations (linear solves) allowed per increment.
        max_cuts : int
            Times an increment that fails to converge may be halved, from the last
            committed state; the rejected attempts are reported in the result.
        start : SolidState, optional
            Restart point (for instance ``result.final`` or a state read from a
            checkpoint); default `initial_state`.
        on_increment : callable, optional
            ``on_increment(increment)`` after each converged increment (checkpoints).
        on_iteration : callable, optional
            ``on_iteration(t, iteration, relative_residual)`` at every residual evaluation.
        output_dir : str, optional
            Write one VTK file per converged increment and a ``.pvd`` collection there.
        linear_solver : {"auto", "direct", "amg"}
            SuperLU, or pyamg smoothed aggregation with conjugate gradients (symmetric
            tangents only); ``"auto"`` factorises up to `DIRECT_LIMIT` unknowns.

        Returns
        -------
        SolidResult

        Raises
        ------
        ConvergenceError
            When an increment still fails after ``max_cuts`` halvings (committed state
            unchanged; the error carries the last residual history).
        """
        targets = _load_factors(steps, start)
        if not (isinstance(tol, int | float) and 0.0 < tol < 1.0):
            raise ValueError(f"solve: tol must be a number in (0, 1), got {tol!r}")
        for name, v, low in (("max_iter", max_iter, 1), ("max_cuts", max_cuts, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"solve: {name} must be an integer >= {low}, got {v!r}")
        if linear_solver not in ("auto", "direct", "amg"):
            raise ValueError(
                f"solve: linear_solver must be 'auto', 'direct' or 'amg', got {linear_solver!r}"
            )
        current = self.initial_state() if start is None else self._check_start(start)
        self._check_supports()
        writer = None
        if output_dir is not None:
            from scalebridge.fem.output import VtkWriter

            writer = VtkWriter(output_dir, self, first_step=current.step + 1)
        done: list[Increment] = []
        rejected: list[RejectedIncrement] = []
        for target in targets:
            pending = [float(target)]
            while pending:
                t = pending[-1]
                try:
                    inc = self._increment(t, current, tol, max_iter, on_iteration, linear_solver)
                except ConvergenceError as err:
                    rejected.append(
                        RejectedIncrement(current.load_factor, t, err.residuals, str(err))
                    )
                    if len(pending) > max_cuts:
                        raise ConvergenceError(
                            f"SolidProblem.solve: increment {current.load_factor:g} -> "
                            f"{t:g} failed after {max_cuts} halvings; try more steps, a "
                            "larger max_iter or check the loads",
                            err.residuals,
                        ) from err
                    logger.info("increment to t=%g rejected; halving", t)
                    pending.append(0.5 * (current.load_factor + t))
                    continue
                pending.pop()
                current = inc
                done.append(inc)
                if writer is not None:
                    writer.write(inc)
                if on_increment is not None:
                    on_increment(inc)
        return SolidResult(tuple(done), tuple(rejected))

    def _check_supports(self) -> None:
        """Raise unless the Dirichlet dofs suppress every rigid-body motion."""
        fixed, _ = self.dirichlet_values(0.0)
        modes = self.assembler.rigid_modes()[fixed]
        scale = np.abs(self.basis.doflocs).max() + 1.0
        sv = np.linalg.svd(modes, compute_uv=False) if fixed.size else np.zeros(0)
        free = modes.shape[1] - int(np.sum(sv > 1e-10 * scale))
        if free > 0:
            raise ValueError(
                f"supports: the Dirichlet conditions leave {free} of the {modes.shape[1]} "
                "rigid-body motions free; fix more displacement components (fix/prescribe)"
            )

    def _check_start(self, start: SolidState) -> SolidState:
        u = np.asarray(start.displacement, dtype=float)
        if u.shape != (self.n_dofs,):
            raise ValueError(f"start: displacement must have shape ({self.n_dofs},), got {u.shape}")
        if start.state is not None:
            for key, arr in start.state.items():
                if np.shape(arr)[:1] != (self.n_points,):
                    raise ValueError(
                        f"start: state[{key!r}] must have leading shape ({self.n_points},), "
                        f"got {np.shape(arr)}"
                    )
        return start

    def _increment(
        self,
        t: float,
        start: SolidState,
        tol: float,
        max_iter: int,
        on_iteration: Callable[[float, int, float], None] | None,
        linear_solver: str,
    ) -> Increment:
        """Newton–Raphson from the committed ``start`` to load factor ``t``."""
        asm = self.assembler
        fixed, values = self.dirichlet_values(t)
        free = np.setdiff1d(np.arange(self.n_dofs), fixed)
        f_ext = self.external_force(t)
        u = np.array(start.displacement, dtype=float)
        u[fixed] = values
        committed = _readonly(start.state)
        history: list[float] = []
        for k in range(max_iter + 1):
            strain = self._gradient(u, t, history)
            stress, tangent, trial = self.law.evaluate(strain, committed)
            stress, tangent = self._check_law_output(strain, stress, tangent)
            f_int = asm.internal_force(stress)
            r = f_int - f_ext
            ref = max(float(np.linalg.norm(f_int)), float(np.linalg.norm(f_ext)))
            rel = float(np.linalg.norm(r[free])) / ref if ref > 0.0 else 0.0
            history.append(rel)
            if on_iteration is not None:
                on_iteration(t, k, rel)
            if not math.isfinite(rel):
                raise ConvergenceError(f"Newton diverged at t={t:g}", history)
            if rel <= tol:
                logger.debug("t=%g converged in %d iterations: %s", t, k, history)
                return Increment(
                    step=start.step + 1,
                    load_factor=float(t),
                    displacement=u,
                    state=trial,
                    strain=strain,
                    stress=stress,
                    residuals=np.array(history),
                    reactions=asm.resultants(r),
                )
            if k == max_iter:
                break
            K = asm.stiffness(tangent, free)
            du = _solve_linear(K, -r[free], linear_solver, asm.rigid_modes()[free])
            if not np.all(np.isfinite(du)):
                raise ConvergenceError(
                    f"Newton at t={t:g}: singular tangent (are rigid-body motions fixed?)",
                    history,
                )
            u[free] += du
        raise ConvergenceError(
            f"Newton did not converge at t={t:g} in {max_iter} iterations", history
        )

    def _gradient(self, u: Array, t: float, history: list[float]) -> Array:
        """What the law takes at every point: the Mandel strain (subclasses: ``F``)."""
        return self.assembler.strain(u)

    def _check_law_output(self, strain: Array, stress: Any, tangent: Any) -> tuple[Array, Array]:
        m = strain.shape[1]
        stress = np.asarray(stress, dtype=float)
        tangent = np.asarray(tangent, dtype=float)
        if stress.shape != strain.shape:
            raise ValueError(
                f"law {self.law!r} returned stress of shape {stress.shape}; expected {strain.shape}"
            )
        if tangent.shape not in ((m, m), (strain.shape[0], m, m)):
            raise ValueError(
                f"law {self.law!r} returned a tangent of shape {tangent.shape}; expected "
                f"({m}, {m}) or ({strain.shape[0]}, {m}, {m})"
            )
        return stress, tangent


def _load_factors(steps: int | ArrayLike, start: SolidState | None) -> Array:
    t0 = 0.0 if start is None else float(start.load_factor)
    if isinstance(steps, int | np.integer) and not isinstance(steps, bool):
        if steps < 1:
            raise ValueError(
                f"solve: steps must be >= 1 or a sequence of load factors, got {steps}"
            )
        return np.linspace(t0, 1.0, int(steps) + 1)[1:]
    try:
        out = np.asarray(steps, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"solve: steps must be an int or load factors, got {steps!r}") from None
    if out.ndim != 1 or out.size == 0 or not np.all(np.isfinite(out)):
        raise ValueError(
            f"solve: steps must be an int >= 1 or a non-empty 1-D sequence of finite load "
            f"factors, got {steps!r}"
        )
    return out


def _readonly(state: State) -> State:
    """Read-only views of the committed state: a law that writes into it fails loudly."""
    if state is None:
        return None
    out = {}
    for key, arr in state.items():
        view = np.asarray(arr).view()
        view.flags.writeable = False
        out[key] = view
    return out


def _finite_float(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{owner}: {name} must be a number or a function of t, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    return float(value)


def _solve_linear(K: sp.csr_matrix, b: Array, method: str, modes: Array) -> Array:
    """Solve ``K x = b``: SuperLU, or pyamg smoothed aggregation + CG (rigid-body modes)."""
    import scipy.sparse.linalg as spla

    if b.size == 0:
        return b.copy()
    if method == "direct" or (method == "auto" and b.size <= DIRECT_LIMIT):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error", spla.MatrixRankWarning)
            try:
                return np.asarray(spla.spsolve(K.tocsc(), b))
            except (spla.MatrixRankWarning, RuntimeError):
                return np.full_like(b, np.nan)
    import pyamg

    ml = pyamg.smoothed_aggregation_solver(K, B=modes, symmetry="symmetric")
    residuals: list[float] = []
    x = ml.solve(b, tol=1e-12, accel="cg", maxiter=500, residuals=residuals)
    if residuals and residuals[-1] > 1e-10 * max(residuals[0], 1e-300):
        raise ConvergenceError("AMG-CG linear solve did not converge", residuals)
    return np.asarray(x)
