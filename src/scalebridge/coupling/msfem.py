"""Multiscale finite elements (MsFEM) for ``-div(a(x) grad u) = f``, ``u = g`` on the boundary.

The unit square (or interval) is split into ``N^d`` coarse elements of side ``H = 1/N``,
each resolved by ``n^d`` fine Q1 cells (``h = H / n``, ``h <= eps / 8`` advised).  Each
coarse vertex ``v`` of each element gets a multiscale basis function ``phi_v`` computed by
fine-scale local problems (see `scalebridge.coupling.msfem_basis` for the four boundary
conditions).  The coarse system

    K_ij = sum_K int_K a grad phi_j . grad psi_i,   F_i = sum_K int_K f psi_i

is assembled element by element on the fine sub-grids with ``psi = phi`` (Galerkin; for
the non-conforming oversampling / periodic bases this is the broken, non-conforming
Galerkin method) or ``psi = lambda`` the Q1 nodal functions (Petrov-Galerkin), Dirichlet
values ``U_v = g(x_v)`` are imposed at the boundary coarse vertices, and the fine-scale
reconstruction ``u_H = sum_v U_v phi_v`` is returned on every element's sub-grid.
Errors are measured against a Q1 solve on the global fine grid made of those sub-grids
(same nodes, same Gauss points): L2, broken H1 and broken energy norms.

>>> sol = msfem_solve(lambda x: 1.0 + 0 * x[0], coarse=4, fine=4)
>>> round(float(sol.coarse_values.max()), 4)  # Q1 FEM of -lap u = 1 on a 4x4 mesh
0.0777
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from scalebridge.coupling.msfem_basis import (
    CoarseLayout,
    LinearBoundary,
    LocalBoundary,
    OscillatoryBoundary,
    Oversampling,
    PeriodicCorrectors,
    multiscale_basis,
    q1_values,
)
from scalebridge.coupling.msfem_grid import (
    FineReference,
    connectivity,
    data_at,
    element_stiffness,
    grid_cells,
    grid_nodes,
    node_index,
    quadrature_points,
    reference_q1,
)

Array = NDArray[np.float64]
log = logging.getLogger(__name__)
BOUNDARIES = ("linear", "oscillatory", "oversampling", "periodic")
FORMULATIONS = ("galerkin", "petrov-galerkin")


def default_coefficient(eps: float) -> Callable[[Array], Array]:
    """Hou & Wu's ``eps``-periodic test coefficient

    ``a(x) = (2 + 1.8 sin(2 pi x1/eps)) / (2 + 1.8 cos(2 pi x2/eps))
    + (2 + 1.8 sin(2 pi x2/eps)) / (2 + 1.8 sin(2 pi x1/eps))``  (x of shape ``(2, ...)``).

    >>> a = default_coefficient(0.1)
    >>> round(float(a(np.zeros(2))), 4)
    1.5263
    """
    if not (isinstance(eps, int | float) and 0 < eps <= 1):
        raise ValueError(f"eps: got {eps!r}; expected a number in (0, 1]")
    w = 2.0 * math.pi / float(eps)

    def a(x: Array) -> Array:
        x = np.asarray(x, dtype=float)
        s1, s2 = np.sin(w * x[0]), np.sin(w * x[1])
        return (2 + 1.8 * s1) / (2 + 1.8 * np.cos(w * x[1])) + (2 + 1.8 * s2) / (2 + 1.8 * s1)

    return a


def as_boundary(boundary: str | LocalBoundary, **options: Any) -> LocalBoundary:
    """The local boundary condition from its name (``options``: ``oversampling``,
    ``correctors``, ``eps``) or an instance."""
    if isinstance(
        boundary, LinearBoundary | OscillatoryBoundary | Oversampling | PeriodicCorrectors
    ):
        return boundary
    if boundary == "linear":
        return LinearBoundary()
    if boundary == "oscillatory":
        return OscillatoryBoundary()
    if boundary == "oversampling":
        return Oversampling(float(options.get("oversampling", 2.0)))
    if boundary == "periodic":
        if options.get("correctors") is None or options.get("eps") is None:
            raise ValueError(
                "boundary: 'periodic' needs correctors= (scalebridge.asymptotic.cell_correctors"
                " of the periodic coefficient) and eps= (its period)"
            )
        return PeriodicCorrectors(options["correctors"], float(options["eps"]))
    raise ValueError(f"boundary: got {boundary!r}; expected one of {BOUNDARIES}")


@dataclass(frozen=True)
class MsFEMSolution:
    """Coarse nodal values and the fine-scale reconstruction of an MsFEM solve.

    Attributes
    ----------
    coarse_values : ndarray
        ``U`` at the ``(N+1)^d`` coarse vertices (C order).
    local_values : ndarray
        ``u_H = sum_v U_v phi_v`` on each element's sub-grid, ``(N^d, (n+1)^d)``.
    offline_s, online_s : float
        Wall time of the basis construction + local matrices, and of the load, coarse
        assembly and solve.
    """

    layout: CoarseLayout
    boundary: LocalBoundary
    formulation: str
    coarse_values: Array
    local_values: Array
    offline_s: float
    online_s: float
    points: int = 3
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def variant(self) -> str:
        suffix = "-pg" if self.formulation == "petrov-galerkin" else ""
        return self.boundary.name + suffix


def _check_layout(coarse: Any, fine: Any, dim: Any) -> CoarseLayout:
    for name, v in (("coarse", coarse), ("fine", fine)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name}: got {v!r}; expected a positive integer (elements per side)")
    if dim not in (1, 2):
        raise ValueError(f"dim: got {dim!r}; expected 1 or 2")
    return CoarseLayout(int(coarse), int(fine), int(dim))


def msfem_solve(
    coefficient: Callable[[Array], Array],
    coarse: int,
    fine: int,
    boundary: str | LocalBoundary = "linear",
    formulation: str = "galerkin",
    *,
    dim: int = 2,
    f: float | Callable[[Array], Array] = 1.0,
    g: float | Callable[[Array], Array] = 0.0,
    oversampling: float = 2.0,
    correctors: Any = None,
    eps: float | None = None,
    points: int = 3,
    executor: Any = "serial",
    max_workers: int | None = None,
) -> MsFEMSolution:
    """Solve ``-div(a grad u) = f``, ``u = g`` on the boundary of ``[0, 1]^dim`` by MsFEM.

    Parameters
    ----------
    coefficient : callable
        ``a(x)`` for ``x`` of shape ``(dim, ...)``, scalar, positive, defined on all of
        ``R^dim`` (oversampling patches extend outside the domain).
    coarse, fine : int
        Coarse elements per side ``N`` and fine cells per coarse element side ``n``.
    boundary : str or LocalBoundary
        ``"linear"``, ``"oscillatory"``, ``"oversampling"`` (patch side ``oversampling *
        H``) or ``"periodic"`` (needs ``correctors`` and ``eps``).
    formulation : str
        ``"galerkin"`` or ``"petrov-galerkin"`` (Q1 test functions).
    f, g : float or callable of ``x``
        Source and Dirichlet data.
    eps : float, optional
        Period of the coefficient: warns when ``h = 1 / (N n) > eps / 8``.
    points : int
        Gauss points per axis in the fine cells.
    executor, max_workers
        Where the local problems run: ``"serial"`` (default) or any `run_tasks` executor.
    """
    layout = _check_layout(coarse, fine, dim)
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation: got {formulation!r}; expected one of {FORMULATIONS}")
    if eps is not None and layout.h > eps / 8 * (1 + 1e-12):
        warnings.warn(
            f"fine: h = 1/({coarse}*{fine}) = {layout.h:.3g} does not resolve eps = {eps:g} "
            f"(h > eps/8); use fine >= {math.ceil(8 * layout.H / eps)}",
            stacklevel=2,
        )
    bc = as_boundary(boundary, oversampling=oversampling, correctors=correctors, eps=eps)
    ref = reference_q1(dim, points)
    t0 = time.perf_counter()
    phi = multiscale_basis(coefficient, layout, bc, ref, executor, max_workers)
    n, h = layout.fine, layout.h
    x = quadrature_points(layout.origins(), n, h, ref)
    aq = np.asarray(coefficient(x), dtype=float).reshape(x.shape[1:])
    ke = element_stiffness(aq, ref, h)  # (nK, ne, nb, nb)
    conn = connectivity(n, dim)
    lam = q1_values(ref.corners, layout.local_nodes())  # (nb, nn)
    psi = phi if formulation == "galerkin" else np.broadcast_to(lam, phi.shape)
    k_loc = np.einsum("kvea,keab,kweb->kvw", psi[:, :, conn], ke, phi[:, :, conn])
    t1 = time.perf_counter()
    fq = data_at(f, x)  # (nK, ne, nq)
    load_e = np.einsum("keq,q,qa->kea", fq, ref.weights * h**dim, ref.values)
    f_loc = np.einsum("kea,kvea->kv", load_e, psi[:, :, conn])
    U = _solve_coarse(layout, k_loc, f_loc, g)
    cconn = connectivity(layout.coarse, dim)
    u_loc = np.einsum("kv,kvn->kn", U[cconn], phi)
    t2 = time.perf_counter()
    log.info("MsFEM %s %s: offline %.3f s, online %.3f s", bc.name, formulation, t1 - t0, t2 - t1)
    return MsFEMSolution(layout, bc, formulation, U, u_loc, t1 - t0, t2 - t1, points)


def _solve_coarse(
    layout: CoarseLayout, k_loc: Array, f_loc: Array, g: float | Callable[[Array], Array]
) -> Array:
    N, d = layout.coarse, layout.dim
    cconn = connectivity(N, d)
    nn = (N + 1) ** d
    rows = np.broadcast_to(cconn[:, :, None], k_loc.shape).ravel()
    cols = np.broadcast_to(cconn[:, None, :], k_loc.shape).ravel()
    K = sp.csr_matrix((k_loc.ravel(), (rows, cols)), shape=(nn, nn))
    F = np.bincount(cconn.ravel(), f_loc.ravel(), minlength=nn)
    idx = grid_nodes(N, d)
    bmask = np.any((idx == 0) | (idx == N), axis=1)
    U = np.zeros(nn)
    U[bmask] = data_at(g, idx.T * layout.H)[bmask]
    inner = ~bmask
    if inner.any():
        rhs = F[inner] - K[inner][:, bmask] @ U[bmask]
        U[inner] = spla.spsolve(K[inner][:, inner].tocsc(), rhs)
    return U


@dataclass(frozen=True)
class MsFEMErrors:
    """Relative errors of an MsFEM reconstruction against the fine reference: L2, broken
    H1 seminorm, broken energy norm, and the max error of ``u_H`` at the coarse vertices
    (seen from every element; relative to the max of the reference)."""

    l2: float
    h1: float
    energy: float
    coarse_nodal: float


def msfem_errors(solution: MsFEMSolution, reference: FineReference) -> MsFEMErrors:
    """Compare ``u_H`` with the fine reference on each element's sub-grid (node-wise, the
    norms by the same Gauss rule as the solves).

    The reference grid must be the union of the sub-grids: ``reference.cells == N n``.
    """
    lay = solution.layout
    M, d, n = reference.cells, lay.dim, lay.fine
    if M != lay.coarse * n or reference.dim != d:
        raise ValueError(
            f"reference: {M}^{reference.dim} fine cells; expected the union of the sub-grids,"
            f" {lay.coarse * n}^{d} cells"
        )
    ref = reference_q1(d, reference.points)
    origin_cells = grid_cells(lay.coarse, d) * n  # (nK, d) in fine cell units
    nodes = node_index(origin_cells[:, None, :] + grid_nodes(n, d)[None], M)
    cells = (origin_cells[:, None, :] + grid_cells(n, d)[None]) @ (M ** np.arange(d - 1, -1, -1))
    u_ref = reference.u[nodes]  # (nK, nn)
    err = u_ref - solution.local_values
    conn = connectivity(n, d)

    def norm2(v: Array, kernel: Array) -> float:
        ve = v[:, conn]  # (nK, ne, nb)
        if kernel.ndim == 2:
            return float(np.einsum("kea,ab,keb->", ve, kernel, ve))
        return float(np.einsum("kea,keab,keb->", ve, kernel, ve))

    mass = ref.mass(lay.h)
    lap = element_stiffness(np.ones(len(ref.points)), ref, lay.h)
    ke = element_stiffness(reference.aq[cells], ref, lay.h)
    corner = node_index(ref.corners * n, n)  # element corners in the sub-grid
    return MsFEMErrors(
        l2=math.sqrt(norm2(err, mass) / norm2(u_ref, mass)),
        h1=math.sqrt(norm2(err, lap) / norm2(u_ref, lap)),
        energy=math.sqrt(norm2(err, ke) / norm2(u_ref, ke)),
        coarse_nodal=float(np.max(np.abs(err[:, corner])) / np.max(np.abs(reference.u))),
    )
