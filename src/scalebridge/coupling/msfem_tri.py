"""MsFEM on a triangular coarse mesh (2D) for ``-div(a(x) grad u) = f``, ``u = g`` on the boundary.

Each coarse triangle ``T`` of a `skfem.MeshTri` is resolved by ``T`` refined ``refine``
times (``4^refine`` fine P1 triangles).  All coarse triangles are affine images of one
reference triangle, so the local fine mesh is built once (reference triangle refined) and
mapped; the local problems of a batch are assembled as one block-diagonal sparse matrix
and factorised once.  The three multiscale basis functions of ``T`` solve
``-div(a grad phi_i) = 0`` with

* ``"linear"``: ``phi_i = lambda_i`` (barycentric coordinates) on ``dT``;
* ``"oversampling"``: ``psi_i`` solves the same problem on the patch ``S`` (``T`` scaled by
  ``oversampling`` about its centroid, refined ``refine + ceil(log2(oversampling))`` times,
  so with the same fine size) with ``psi_i = mu_i`` (barycentric coordinates of ``S``) on
  ``dS``; ``psi_i`` is P1-interpolated at ``T``'s fine nodes and
  ``phi = inv(M) psi`` with ``M_ij = psi_i(x_j)`` at the vertices of ``T`` (non-conforming).

The coarse Galerkin system ``K_ij = sum_T int_T a grad phi_j . grad phi_i``,
``F_i = sum_T int_T f phi_i`` is assembled element by element (the coefficient and ``f``
at the degree-4 Gauss points of the fine triangles, the rule of
`scalebridge.asymptotic.fem.lagrange_basis` order 1), ``U = g`` at the boundary coarse
vertices.  The reconstruction ``u_H = sum_i U_i phi_i`` is returned per coarse triangle and
on the globally refined mesh ``coarse_mesh.refined(refine)`` (whose nodes are exactly the
local fine nodes; values averaged where the non-conforming basis differs across coarse
edges).  `msfem_tri_errors` compares with a fine P1 solve on that mesh
(`tri_fine_reference`): relative L2, broken H1 and broken energy norms.

>>> import skfem
>>> sol = msfem_solve_tri(lambda x: 1.0 + 0 * x[0], skfem.MeshTri().refined(2), refine=2)
>>> round(float(sol.coarse_values.max()), 4)  # P1 FEM of -lap u = 1 on the coarse mesh
0.0703
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from scalebridge.coupling.msfem import MsFEMErrors
from scalebridge.coupling.msfem_grid import BATCH_UNKNOWNS, data_at

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
log = logging.getLogger(__name__)
TRI_BOUNDARIES = ("linear", "oscillatory", "oversampling", "periodic")
TRI_FORMULATIONS = ("galerkin", "petrov-galerkin")
INTORDER = 4
_REF_VERTICES = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class LocalTriMesh:
    """The reference triangle ``(0,0), (1,0), (0,1)`` refined ``refine`` times: nodes
    ``p (2, nn)`` (the 3 vertices first), triangles ``t (3, ne)``, boundary nodes."""

    p: Array
    t: IntArray
    boundary: IntArray

    @property
    def barycentric(self) -> Array:
        """``lambda_i`` of the reference triangle at the nodes, ``(3, nn)``."""
        return np.vstack([1.0 - self.p[0] - self.p[1], self.p[0], self.p[1]])


def reference_tri_mesh(refine: int) -> LocalTriMesh:
    import skfem

    m = skfem.MeshTri(_REF_VERTICES.copy(), np.array([[0], [1], [2]])).refined(int(refine))
    return LocalTriMesh(np.asarray(m.p), np.asarray(m.t, dtype=np.int64), m.boundary_nodes())


def _quadrature() -> tuple[Array, Array]:
    from skfem.quadrature import get_quadrature
    from skfem.refdom import RefTri

    X, W = get_quadrature(RefTri, INTORDER)
    return np.asarray(X), np.asarray(W)


@dataclass(frozen=True)
class _Geometry:
    """Fine P1 data of a batch of affinely mapped local meshes."""

    grads: Array  # (nK, ne, 2, 3) gradients of the 3 hat functions of each fine triangle
    det: Array  # (nK, ne) |det| (twice the area)
    xq: Array  # (2, nK, ne, nq) quadrature points


def _geometry(X: Array, t: IntArray, qx: Array) -> _Geometry:
    """``X (nK, 2, nn)``: node coordinates of each local mesh."""
    P = X[:, :, t]  # (nK, 2, 3, ne)
    B = np.stack([P[:, :, 1] - P[:, :, 0], P[:, :, 2] - P[:, :, 0]], axis=-1)  # (nK,2,ne,2)
    B = np.moveaxis(B, 1, 2)  # (nK, ne, 2, 2): columns are edge vectors
    det = B[..., 0, 0] * B[..., 1, 1] - B[..., 0, 1] * B[..., 1, 0]
    inv_t = np.empty_like(B)  # inverse transpose
    inv_t[..., 0, 0] = B[..., 1, 1] / det
    inv_t[..., 0, 1] = -B[..., 1, 0] / det
    inv_t[..., 1, 0] = -B[..., 0, 1] / det
    inv_t[..., 1, 1] = B[..., 0, 0] / det
    dref = np.array([[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])
    grads = inv_t @ dref  # (nK, ne, 2, 3)
    xq = P[:, :, 0].transpose(1, 0, 2)[..., None] + np.einsum("keij,jq->ikeq", B, qx)
    return _Geometry(grads, np.abs(det), xq)


def _element_stiffness(geo: _Geometry, aq: Array, qw: Array) -> tuple[Array, Array]:
    """``(int_e a) grad l_a . grad l_b`` per fine triangle (P1 gradients are constant)."""
    a_int = np.einsum("keq,q->ke", aq, qw) * geo.det
    ke = a_int[..., None, None] * np.einsum("keia,keib->keab", geo.grads, geo.grads)
    return ke, a_int


def _solve_local(ke: Array, t: IntArray, nn: int, bnodes: IntArray, bvals: Array) -> Array:
    """Dirichlet problems ``K u = 0`` on each local mesh, ``u = bvals`` on ``bnodes``:
    ``bvals (m, nb)`` the same for every mesh, or ``(nK, m, nb)`` one per mesh; returns
    ``(nK, m, nn)``."""
    nK = ke.shape[0]
    per_mesh = bvals.ndim == 3
    m = bvals.shape[-2]
    inner = np.setdiff1d(np.arange(nn), bnodes)
    ni = len(inner)
    out = np.zeros((nK, m, nn))
    out[:, :, bnodes] = bvals
    if ni == 0:
        return out
    rows_l = np.broadcast_to(t.T[:, :, None], (t.shape[1], 3, 3))
    cols_l = np.broadcast_to(t.T[:, None, :], (t.shape[1], 3, 3))
    size = max(1, BATCH_UNKNOWNS // max(nn, 1))
    for s in range(0, nK, size):
        kb = ke[s : s + size]
        nb = kb.shape[0]
        off = (np.arange(nb) * nn)[:, None, None, None]
        K = sp.csr_matrix(
            (kb.ravel(), ((rows_l + off).ravel(), (cols_l + off).ravel())),
            shape=(nb * nn, nb * nn),
        )
        gi = (np.arange(nb)[:, None] * nn + inner).ravel()
        gb = (np.arange(nb)[:, None] * nn + bnodes).ravel()
        if per_mesh:  # (nb * len(bnodes), m), mesh-major
            ub = bvals[s : s + nb].transpose(0, 2, 1).reshape(-1, m)
        else:
            ub = np.tile(bvals.T, (nb, 1))
        rhs = -(K[gi][:, gb] @ ub)
        sol = spla.splu(K[gi][:, gi].tocsc()).solve(np.asarray(rhs))
        out[s : s + nb][:, :, inner] = sol.reshape(nb, ni, m).transpose(0, 2, 1)
    return out


@dataclass(frozen=True)
class MsFEMTriSolution:
    """Coarse nodal values and the fine-scale reconstruction of a triangular MsFEM solve.

    Attributes
    ----------
    coarse_values : ndarray
        ``U`` at the coarse mesh vertices.
    local_values : ndarray
        ``u_H`` at each coarse triangle's local fine nodes, ``(nT, nn)``.
    fine_mesh : skfem.MeshTri
        ``coarse_mesh.refined(refine)``.
    fine_values : ndarray
        ``u_H`` at the nodes of ``fine_mesh`` (P1; averaged over the coarse triangles
        sharing a node when the basis is non-conforming).
    node_map : ndarray
        Index in ``fine_mesh`` of each local fine node, ``(nT, nn)``.
    offline_s, online_s : float
        Basis construction + local matrices; load, coarse assembly, solve and downscaling.
    """

    coarse_mesh: Any
    refine: int
    boundary: str
    oversampling: float
    coarse_values: Array
    local_values: Array
    fine_mesh: Any
    fine_values: Array
    node_map: IntArray
    local_nodes: Array  # (nT, 2, nn)
    local_mesh: LocalTriMesh
    a_int: Array  # (nT, ne): int_e a over each local fine triangle
    offline_s: float
    online_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def _check(coarse_mesh: Any, refine: Any, boundary: Any, oversampling: Any) -> None:
    import skfem

    if isinstance(refine, bool) or not isinstance(refine, int | np.integer) or refine < 1:
        raise ValueError(f"refine: got {refine!r}; expected an integer >= 1")
    if not isinstance(coarse_mesh, skfem.MeshTri):
        raise ValueError(f"coarse_mesh: got {type(coarse_mesh).__name__}; expected a skfem.MeshTri")
    if boundary not in TRI_BOUNDARIES:
        raise ValueError(f"boundary: got {boundary!r}; expected one of {TRI_BOUNDARIES}")
    if not (isinstance(oversampling, int | float) and math.isfinite(oversampling)) or (
        oversampling < 1
    ):
        raise ValueError(f"oversampling: got {oversampling!r}; expected a number >= 1")


def _oscillatory_boundary(
    coefficient: Callable[[Array], Array], vertices: Array, local: LocalTriMesh, samples: int = 512
) -> Array:
    """Boundary values ``(nT, 3, nb)`` of the oscillatory condition: on the edge from
    vertex ``i`` to ``j``, ``phi_j(s) = F(s) / F(L)`` and ``phi_i = 1 - phi_j`` with
    ``F(s) = int_0^s 1/a`` along the edge (the 1D solution of ``-(a phi')' = 0``); the
    third basis function is zero there.  ``F`` by the midpoint rule on ``samples`` cells.
    """
    lam = local.barycentric[:, local.boundary]  # (3, nb)
    nT = vertices.shape[0]
    out = np.zeros((nT, 3, lam.shape[1]))
    mid = (np.arange(samples) + 0.5) / samples
    for opp in range(3):  # the edge opposite vertex `opp`, from vertex i to vertex j
        i, j = [v for v in range(3) if v != opp]
        on = np.flatnonzero(lam[opp] <= 1e-12)
        s = lam[j, on]  # position along the edge, 0 at i, 1 at j
        xi, xj = vertices[:, :, i], vertices[:, :, j]  # (nT, 2)
        pts = xi[:, :, None] + (xj - xi)[:, :, None] * mid[None, None, :]  # (nT, 2, samples)
        inv_a = 1.0 / np.asarray(coefficient(pts.transpose(1, 0, 2)), dtype=float)
        F = np.concatenate([np.zeros((nT, 1)), np.cumsum(inv_a, axis=1)], axis=1) / samples
        grid = np.linspace(0.0, 1.0, samples + 1)
        Fs = np.array([np.interp(s, grid, F[k]) for k in range(nT)])  # (nT, n_on)
        ratio = Fs / F[:, -1:]
        out[:, j, on] = ratio
        out[:, i, on] = 1.0 - ratio
    return out


def _periodic_basis(
    correctors: Any, eps: float, vertices: Array, X: Array, local: LocalTriMesh
) -> Array:
    """``phi_i = lambda_i + eps chi(x / eps) . grad lambda_i`` at the local nodes
    ``(nT, 3, nn)``; ``grad lambda_i`` is constant on each coarse triangle."""
    e1 = vertices[:, :, 1] - vertices[:, :, 0]
    e2 = vertices[:, :, 2] - vertices[:, :, 0]
    J = np.stack([e1, e2], axis=2)  # (nT, 2, 2): x = x0 + J xi
    Jinv_t = np.linalg.inv(J).transpose(0, 2, 1)
    dref = np.array([[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])  # d lambda / d xi
    grads = Jinv_t @ dref  # (nT, 2, 3): column i = grad lambda_i
    nT, _, nn = X.shape
    chi = correctors.chi_at(X.transpose(1, 0, 2).reshape(2, -1) / eps)[:, 0]  # (2, nT*nn)
    chi = chi.reshape(2, nT, nn).transpose(1, 0, 2)  # (nT, 2, nn)
    lam = np.broadcast_to(local.barycentric, (nT, 3, nn))
    return lam + eps * np.einsum("kdn,kdi->kin", chi, grads)


def _affine_nodes(vertices: Array, ref_p: Array) -> Array:
    """``vertices (nT, 2, 3)`` -> node coordinates ``(nT, 2, nn)`` of the mapped mesh."""
    A = np.stack([vertices[:, :, 1] - vertices[:, :, 0], vertices[:, :, 2] - vertices[:, :, 0]], -1)
    return vertices[:, :, :1] + A @ ref_p


def _oversampled_basis(
    coefficient: Callable[[Array], Array],
    vertices: Array,
    local: LocalTriMesh,
    refine: int,
    s: float,
    qx: Array,
    qw: Array,
) -> Array:
    """Oversampled, vertex-normalised basis ``(nT, 3, nn)`` at ``local``'s nodes."""
    import skfem

    levels = refine + math.ceil(math.log2(s) - 1e-12)
    patch = reference_tri_mesh(levels)
    c = vertices.mean(axis=2, keepdims=True)
    pverts = c + s * (vertices - c)
    Xp = _affine_nodes(pverts, patch.p)
    geo = _geometry(Xp, patch.t, qx)
    aq = np.asarray(coefficient(geo.xq), dtype=float).reshape(geo.xq.shape[1:])
    ke, _ = _element_stiffness(geo, aq, qw)
    psi = _solve_local(
        ke, patch.t, patch.p.shape[1], patch.boundary, patch.barycentric[:, patch.boundary]
    )  # (nT, 3, nnS)
    # T's local nodes in the patch's reference coordinates (the same for every T):
    # mu = (lambda - 1/3) / s + 1/3
    mu = (local.barycentric - 1.0 / 3.0) / s + 1.0 / 3.0
    pm = skfem.MeshTri(patch.p, patch.t)
    P = skfem.Basis(pm, skfem.ElementTriP1()).probes(mu[1:])  # (nn, nnS)
    psi_T = np.einsum("kin,mn->kim", psi, P.toarray() if sp.issparse(P) else P)
    M = psi_T[:, :, :3]  # M[k, i, j] = psi_i(x_j), vertices are local nodes 0, 1, 2
    return np.linalg.solve(M, psi_T)


def msfem_solve_tri(
    coefficient: Callable[[Array], Array],
    coarse_mesh: Any,
    refine: int,
    boundary: str = "linear",
    *,
    f: float | Callable[[Array], Array] = 1.0,
    g: float | Callable[[Array], Array] = 0.0,
    oversampling: float = 2.0,
    formulation: str = "galerkin",
    correctors: Any = None,
    eps: float | None = None,
) -> MsFEMTriSolution:
    """Solve ``-div(a grad u) = f``, ``u = g`` on the boundary of ``coarse_mesh``'s domain
    by MsFEM with fine meshes ``T`` refined ``refine`` times.

    Parameters
    ----------
    coefficient : callable
        Scalar ``a(x)`` for ``x`` of shape ``(2, ...)``, positive; defined outside the
        domain too for ``"oversampling"``.
    coarse_mesh : skfem.MeshTri
    refine : int
        Uniform refinements of each coarse triangle (>= 1); fine size ``H / 2^refine``.
    boundary : str
        ``"linear"`` (barycentric boundary values), ``"oscillatory"`` (on each edge the
        1D solution of ``-(a phi')' = 0`` along the edge), ``"oversampling"`` (patch
        ``oversampling`` times ``T``) or ``"periodic"`` (``phi_i = lambda_i + eps
        chi(x/eps) . grad lambda_i`` from cell ``correctors`` of period ``eps``; needs a
        periodic coefficient; non-conforming).
    f, g : float or callable of ``x``
        Source and Dirichlet data (``g`` at the boundary coarse vertices).
    formulation : str
        ``"galerkin"`` (test functions = the multiscale basis) or ``"petrov-galerkin"``
        (test functions = the coarse P1 hats).
    """
    _check(coarse_mesh, refine, boundary, oversampling)
    if formulation not in TRI_FORMULATIONS:
        raise ValueError(f"formulation: got {formulation!r}; expected one of {TRI_FORMULATIONS}")
    if boundary == "periodic" and (correctors is None or not (eps and eps > 0)):
        raise ValueError(
            "correctors: boundary='periodic' needs correctors=cell_correctors(...) and the "
            f"period eps > 0 (got correctors={type(correctors).__name__}, eps={eps!r})"
        )
    refine = int(refine)
    t0 = time.perf_counter()
    qx, qw = _quadrature()
    local = reference_tri_mesh(refine)
    nn = local.p.shape[1]
    ct = np.asarray(coarse_mesh.t, dtype=np.int64)
    vertices = np.asarray(coarse_mesh.p)[:, ct].transpose(2, 0, 1)  # (nT, 2, 3)
    X = _affine_nodes(vertices, local.p)
    geo = _geometry(X, local.t, qx)
    aq = np.asarray(coefficient(geo.xq), dtype=float).reshape(geo.xq.shape[1:])
    if not np.all(np.isfinite(aq)) or np.any(aq <= 0):
        raise ValueError("coefficient: must be finite and positive at the quadrature points")
    ke, a_int = _element_stiffness(geo, aq, qw)
    if boundary == "linear":
        phi = _solve_local(ke, local.t, nn, local.boundary, local.barycentric[:, local.boundary])
    elif boundary == "oscillatory":
        bvals = _oscillatory_boundary(coefficient, vertices, local)
        phi = _solve_local(ke, local.t, nn, local.boundary, bvals)
    elif boundary == "periodic":
        phi = _periodic_basis(correctors, float(eps), vertices, X, local)
    else:
        phi = _oversampled_basis(coefficient, vertices, local, refine, float(oversampling), qx, qw)
    pe = phi[:, :, local.t]  # (nT, 3, 3, ne): basis i, fine vertex a, fine element e
    if formulation == "galerkin":
        te = pe
    else:  # test with the coarse P1 hats (the barycentric coordinates of T)
        te = np.broadcast_to(local.barycentric[:, local.t], pe.shape)
    k_loc = np.einsum("kiae,keab,kjbe->kij", te, ke, pe)
    t1 = time.perf_counter()
    lam_q = np.vstack([1.0 - qx[0] - qx[1], qx[0], qx[1]])  # (3, nq)
    fq = data_at(f, geo.xq)  # (nT, ne, nq)
    load_e = np.einsum("keq,q,aq,ke->kea", fq, qw, lam_q, geo.det)
    f_loc = np.einsum("kea,kiae->ki", load_e, te)
    U = _solve_coarse(coarse_mesh, ct, k_loc, f_loc, g)
    u_loc = np.einsum("ki,kin->kn", U[ct.T], phi)
    fine_mesh = coarse_mesh.refined(refine)
    node_map = _node_map(X, np.asarray(fine_mesh.p))
    nf = fine_mesh.p.shape[1]
    counts = np.bincount(node_map.ravel(), minlength=nf)
    fine_values = np.bincount(node_map.ravel(), u_loc.ravel(), minlength=nf) / np.maximum(counts, 1)
    t3 = time.perf_counter()
    log.info("MsFEM-tri %s: offline %.3f s, online %.3f s", boundary, t1 - t0, t3 - t1)
    return MsFEMTriSolution(
        coarse_mesh,
        refine,
        boundary,
        float(oversampling),
        U,
        u_loc,
        fine_mesh,
        fine_values,
        node_map,
        X,
        local,
        a_int,
        t1 - t0,
        t3 - t1,
        {"basis": phi},
    )


def _solve_coarse(
    mesh: Any, ct: IntArray, k_loc: Array, f_loc: Array, g: float | Callable[[Array], Array]
) -> Array:
    nv = mesh.p.shape[1]
    conn = ct.T  # (nT, 3)
    rows = np.broadcast_to(conn[:, :, None], k_loc.shape).ravel()
    cols = np.broadcast_to(conn[:, None, :], k_loc.shape).ravel()
    K = sp.csr_matrix((k_loc.ravel(), (rows, cols)), shape=(nv, nv))
    F = np.bincount(conn.ravel(), f_loc.ravel(), minlength=nv)
    bmask = np.zeros(nv, dtype=bool)
    bmask[mesh.boundary_nodes()] = True
    U = np.zeros(nv)
    U[bmask] = data_at(g, np.asarray(mesh.p))[bmask]
    inner = ~bmask
    if inner.any():
        rhs = F[inner] - K[inner][:, bmask] @ U[bmask]
        U[inner] = spla.spsolve(K[inner][:, inner].tocsc(), rhs)
    return U


def _node_map(X: Array, fine_p: Array) -> IntArray:
    """Index in ``fine_p (2, nf)`` of every local node ``X (nT, 2, nn)`` (coordinates must
    coincide up to round-off)."""
    from scipy.spatial import cKDTree

    pts = X.transpose(0, 2, 1).reshape(-1, 2)
    dist, idx = cKDTree(fine_p.T).query(pts)
    scale = float(np.ptp(fine_p, axis=1).max()) or 1.0
    if np.max(dist) > 1e-9 * scale:
        raise RuntimeError(
            f"local fine nodes do not match coarse_mesh.refined (max distance {np.max(dist):.2e})"
        )
    return idx.reshape(X.shape[0], X.shape[2]).astype(np.int64)


def tri_fine_reference(
    coefficient: Callable[[Array], Array],
    coarse_mesh: Any,
    refine: int,
    f: float | Callable[[Array], Array] = 1.0,
    g: float | Callable[[Array], Array] = 0.0,
) -> Any:
    """P1 solve on ``coarse_mesh.refined(refine)`` with ``a`` at the degree-4 Gauss points
    (a `scalebridge.asymptotic.fem.DiffusionSolution`)."""
    from scalebridge.asymptotic.fem import lagrange_basis, quadrature_points, solve_diffusion

    _check(coarse_mesh, refine, "linear", 2.0)
    basis = lagrange_basis(coarse_mesh.refined(int(refine)), 1, intorder=INTORDER)
    x = quadrature_points(basis)
    aq = np.asarray(coefficient(x), dtype=float).reshape(x.shape[1:])
    return solve_diffusion(basis, aq, f, g)


def msfem_tri_errors(solution: MsFEMTriSolution, reference: Any) -> MsFEMErrors:
    """Relative L2, broken H1, broken energy errors of ``u_H`` (per coarse triangle, on its
    local fine mesh) against ``reference`` (a `tri_fine_reference` result or nodal values on
    ``solution.fine_mesh``), and the max nodal error at the coarse vertices."""
    u = np.asarray(getattr(reference, "u", reference), dtype=float)
    if u.shape != (solution.fine_mesh.p.shape[1],):
        raise ValueError(
            f"reference: {u.shape} values; expected one per node of the refined mesh "
            f"({solution.fine_mesh.p.shape[1]})"
        )
    qx, qw = _quadrature()
    lm = solution.local_mesh
    geo = _geometry(solution.local_nodes, lm.t, qx)
    u_ref = u[solution.node_map]
    err = u_ref - solution.local_values
    lam_q = np.vstack([1.0 - qx[0] - qx[1], qx[0], qx[1]])
    mass = np.einsum("aq,bq,q->ab", lam_q, lam_q, qw)  # reference P1 mass (area 1/2)

    def norms(v: Array) -> tuple[float, float, float]:
        ve = v[:, lm.t]  # (nT, 3, ne)
        l2 = np.einsum("kae,ab,kbe,ke->", ve, mass, ve, geo.det)
        gr = np.einsum("keia,kae->kei", geo.grads, ve)
        sq = np.sum(gr**2, axis=-1)
        return float(l2), float(np.sum(sq * geo.det / 2)), float(np.sum(sq * solution.a_int))

    e, r = norms(err), norms(u_ref)
    return MsFEMErrors(
        l2=math.sqrt(e[0] / r[0]),
        h1=math.sqrt(e[1] / r[1]),
        energy=math.sqrt(e[2] / r[2]),
        coarse_nodal=float(np.max(np.abs(err[:, :3])) / np.max(np.abs(u))),
    )


def coarse_p1_tri(
    coefficient: Callable[[Array], Array],
    coarse_mesh: Any,
    refine: int,
    *,
    f: float | Callable[[Array], Array] = 1.0,
    g: float | Callable[[Array], Array] = 0.0,
) -> MsFEMTriSolution:
    """Standard P1 FEM on ``coarse_mesh`` (``a`` integrated on the fine sub-triangles),
    in the `MsFEMTriSolution` form (basis ``lambda_i``) for comparison by `msfem_tri_errors`."""
    sol = msfem_solve_tri(coefficient, coarse_mesh, refine, "linear", f=f, g=g)
    qx, qw = _quadrature()
    lm = sol.local_mesh
    lam = np.broadcast_to(lm.barycentric, (sol.local_values.shape[0], 3, lm.p.shape[1]))
    geo = _geometry(sol.local_nodes, lm.t, qx)
    ke = sol.a_int[..., None, None] * np.einsum("keia,keib->keab", geo.grads, geo.grads)
    pe = lam[:, :, lm.t]
    k_loc = np.einsum("kiae,keab,kjbe->kij", pe, ke, pe)
    fq = data_at(f, geo.xq)
    lam_q = np.vstack([1.0 - qx[0] - qx[1], qx[0], qx[1]])
    load_e = np.einsum("keq,q,aq,ke->kea", fq, qw, lam_q, geo.det)
    f_loc = np.einsum("kea,kiae->ki", load_e, pe)
    ct = np.asarray(coarse_mesh.t, dtype=np.int64)
    U = _solve_coarse(coarse_mesh, ct, k_loc, f_loc, g)
    u_loc = np.einsum("ki,kin->kn", U[ct.T], lam)
    nf = sol.fine_mesh.p.shape[1]
    fine = np.zeros(nf)
    fine[sol.node_map.ravel()] = u_loc.ravel()
    return MsFEMTriSolution(
        coarse_mesh,
        sol.refine,
        "p1",
        1.0,
        U,
        u_loc,
        sol.fine_mesh,
        fine,
        sol.node_map,
        sol.local_nodes,
        lm,
        sol.a_int,
        0.0,
        0.0,
    )
