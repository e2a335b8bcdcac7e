"""Structured Q1 grids for MsFEM: reference element, batched assembly and local solves.

Every fine mesh in `scalebridge.coupling.msfem` is a uniform grid of ``P^d`` square cells
of width ``h`` (d = 1 or 2), nodes numbered in C order of their integer indices
``(i_0, ..., i_{d-1})``.  Coarse elements, oversampling patches and the global fine
reference mesh are all such grids, so the element matrices come from one reference Q1
element (tensor Gauss rule, ``points`` per axis) and a batch of patches is assembled as
one block-diagonal sparse matrix and factorised once.  The coefficient is evaluated at the
Gauss points of the fine cells, the same points in the local problems and in the fine
reference, so the two discretisations agree exactly where they should.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: Unknowns per block-diagonal batch of local problems (bounds the SuperLU memory).
BATCH_UNKNOWNS = 150_000


@dataclass(frozen=True)
class ReferenceQ1:
    """Q1 element on the unit cell ``[0, 1]^d`` with a tensor Gauss rule.

    ``corners (nb, d)`` in `itertools.product` order, ``points (nq, d)``, ``weights
    (nq,)``, ``values (nq, nb)`` and unit-cell gradients ``grads (nq, nb, d)``.
    """

    dim: int
    corners: IntArray
    points: Array
    weights: Array
    values: Array
    grads: Array

    def stiffness_kernel(self, h: float) -> Array:
        """``G[q, a, b] = w_q h^(d-2) grad N_a . grad N_b`` so that ``K_e = sum_q a_q G[q]``."""
        return np.einsum("q,qak,qbk->qab", self.weights, self.grads, self.grads) * h ** (
            self.dim - 2
        )

    def mass(self, h: float) -> Array:
        """Element mass matrix ``(nb, nb)`` of a cell of width ``h``."""
        return np.einsum("q,qa,qb->ab", self.weights, self.values, self.values) * h**self.dim


def reference_q1(dim: int, points: int = 3) -> ReferenceQ1:
    """The reference Q1 element of dimension 1 or 2 with ``points`` Gauss points per axis."""
    if dim not in (1, 2):
        raise ValueError(f"dim: got {dim!r}; expected 1 or 2")
    xi, w = np.polynomial.legendre.leggauss(points)
    xi, w = 0.5 * (xi + 1.0), 0.5 * w
    corners = np.array(list(itertools.product((0, 1), repeat=dim)), dtype=np.int64)
    pts = np.array(list(itertools.product(xi, repeat=dim)))
    wts = np.prod(np.array(list(itertools.product(w, repeat=dim))), axis=1)
    factors = np.where(corners[None, :, :] == 1, pts[:, None, :], 1.0 - pts[:, None, :])
    values = np.prod(factors, axis=2)
    grads = np.empty((len(pts), len(corners), dim))
    for k in range(dim):
        dk = np.where(corners[:, k] == 1, 1.0, -1.0)[None, :]
        others = np.prod(np.delete(factors, k, axis=2), axis=2)
        grads[:, :, k] = dk * others
    return ReferenceQ1(dim, corners, pts, wts, values, grads)


def grid_nodes(cells: int, dim: int) -> IntArray:
    """Integer indices ``(nnodes, d)`` of the nodes of a ``cells^d`` grid, C order."""
    return np.array(list(itertools.product(range(cells + 1), repeat=dim)), dtype=np.int64)


def grid_cells(cells: int, dim: int) -> IntArray:
    """Integer indices ``(ncells, d)`` of the cells (lower corners), C order."""
    return np.array(list(itertools.product(range(cells), repeat=dim)), dtype=np.int64)


def node_index(index: IntArray, cells: int) -> IntArray:
    """Node numbers of integer node indices ``(..., d)`` in a ``cells^d`` grid."""
    d = index.shape[-1]
    strides = (cells + 1) ** np.arange(d - 1, -1, -1)
    return index @ strides


def connectivity(cells: int, dim: int) -> IntArray:
    """Node numbers ``(ncells, nb)`` of every cell, corners in `ReferenceQ1` order."""
    corners = np.array(list(itertools.product((0, 1), repeat=dim)), dtype=np.int64)
    return node_index(grid_cells(cells, dim)[:, None, :] + corners[None, :, :], cells)


def boundary_mask(cells: int, dim: int) -> NDArray[np.bool_]:
    """Nodes on the boundary of the grid."""
    idx = grid_nodes(cells, dim)
    return np.any((idx == 0) | (idx == cells), axis=1)


def quadrature_points(origins: Array, cells: int, h: float, ref: ReferenceQ1) -> Array:
    """Gauss points ``(d, npatch, ncells, nq)`` of grids with lower corners ``origins``
    ``(npatch, d)``."""
    local = (grid_cells(cells, ref.dim)[:, None, :] + ref.points[None, :, :]) * h  # (ne, nq, d)
    x = origins[:, None, None, :] + local[None]
    return np.moveaxis(x, -1, 0)


def element_stiffness(aq: Array, ref: ReferenceQ1, h: float) -> Array:
    """Element matrices ``(..., ncells, nb, nb)`` from coefficient values ``(..., ncells, nq)``."""
    return np.einsum("...q,qab->...ab", aq, ref.stiffness_kernel(h))


def assemble_blocks(ke: Array, conn: IntArray, nnodes: int) -> sp.csr_matrix:
    """Block-diagonal matrix of ``npatch`` grids from element matrices ``(npatch, ne, nb, nb)``."""
    npatch = ke.shape[0]
    glob = conn[None, :, :] + (np.arange(npatch) * nnodes)[:, None, None]  # (npatch, ne, nb)
    rows = np.broadcast_to(glob[..., :, None], ke.shape).ravel()
    cols = np.broadcast_to(glob[..., None, :], ke.shape).ravel()
    n = npatch * nnodes
    return sp.csr_matrix((ke.ravel(), (rows, cols)), shape=(n, n))


def solve_dirichlet_batch(
    aq: Array, values: Array, cells: int, ref: ReferenceQ1, h: float
) -> Array:
    """Solve ``-div(a grad phi) = 0`` on a batch of ``cells^d`` grids with Dirichlet data.

    Parameters
    ----------
    aq : ndarray
        Coefficient at the Gauss points, ``(npatch, ncells, nq)``.
    values : ndarray
        Boundary values ``(npatch, m, nboundary)`` for ``m`` right-hand sides, boundary
        nodes in increasing node order (`boundary_mask`).

    Returns
    -------
    ndarray
        Nodal values ``(npatch, m, nnodes)``.
    """
    npatch, m, _ = values.shape
    nnodes = (cells + 1) ** ref.dim
    bmask = boundary_mask(cells, ref.dim)
    out = np.empty((npatch, m, nnodes))
    out[:, :, bmask] = values
    per = max(1, BATCH_UNKNOWNS // nnodes)
    conn = connectivity(cells, ref.dim)
    for start in range(0, npatch, per):
        sl = slice(start, min(start + per, npatch))
        k = sl.stop - sl.start
        A = assemble_blocks(element_stiffness(aq[sl], ref, h), conn, nnodes)
        inner = np.flatnonzero(np.tile(~bmask, k))
        outer = np.flatnonzero(np.tile(bmask, k))
        g = np.moveaxis(values[sl], 1, 2).reshape(-1, m)  # (k * nbnd, m)
        rhs = -(A[inner][:, outer] @ g)
        if len(inner):
            lu = spla.splu(A[inner][:, inner].tocsc(), permc_spec="MMD_AT_PLUS_A")
            sol = lu.solve(rhs).reshape(k, -1, m)
            out[sl][:, :, ~bmask] = np.moveaxis(sol, 2, 1)
    return out


def local_solve_task(
    aq: list[Any], values: list[Any], cells: int, dim: int, points: int, h: float
) -> dict[str, Any]:
    """`solve_dirichlet_batch` with JSON arguments and result (for `run_tasks`)."""
    phi = solve_dirichlet_batch(
        np.asarray(aq, dtype=float),
        np.asarray(values, dtype=float),
        cells,
        reference_q1(dim, points),
        h,
    )
    return {"phi": phi.tolist()}


@dataclass(frozen=True)
class FineReference:
    """Fine-scale Q1 solution on the global ``cells^d`` grid of the unit box.

    ``u`` nodal values (C order), ``aq (ncells, nq)`` the coefficient at the Gauss points,
    ``iterations`` of the solver (1 for SuperLU), ``time_s`` assembly + solve wall time.
    """

    cells: int
    dim: int
    points: int
    u: Array
    aq: Array
    iterations: int
    time_s: float

    @property
    def h(self) -> float:
        return 1.0 / self.cells


def data_at(data: float | Callable[[Array], Array], x: Array) -> Array:
    """A scalar or a callable of ``x (d, ...)`` evaluated at ``x``."""
    if callable(data):
        return np.broadcast_to(np.asarray(data(x), dtype=float), x.shape[1:])
    return np.full(x.shape[1:], float(data))


def solve_fine_reference(
    coefficient: Callable[[Array], Array],
    cells: int,
    dim: int = 2,
    f: float | Callable[[Array], Array] = 1.0,
    g: float | Callable[[Array], Array] = 0.0,
    points: int = 3,
    tol: float = 1e-10,
) -> FineReference:
    """Q1 solve of ``-div(a grad u) = f``, ``u = g`` on the boundary of ``[0, 1]^d`` on a
    ``cells^d`` grid (SuperLU up to 60 000 unknowns, AMG-CG above).

    >>> ref = solve_fine_reference(lambda x: 1.0 + 0 * x[0], 8, dim=1)
    >>> round(float(ref.u.max()), 6)  # u = x(1-x)/2 is nodally exact in 1D
    0.125
    """
    import time

    from scalebridge.asymptotic.fem import _solve_spd

    t0 = time.perf_counter()
    ref = reference_q1(dim, points)
    h = 1.0 / cells
    x = quadrature_points(np.zeros((1, dim)), cells, h, ref)
    aq = np.asarray(coefficient(x), dtype=float).reshape(x.shape[2:])
    conn = connectivity(cells, dim)
    A = assemble_blocks(element_stiffness(aq[None], ref, h), conn, (cells + 1) ** dim)
    fq = data_at(f, x)[0]
    load = np.einsum("eq,q,qa->ea", fq, ref.weights * h**dim, ref.values)
    b = np.bincount(conn.ravel(), load.ravel(), minlength=A.shape[0])
    nodes = grid_nodes(cells, dim).T * h
    bmask = boundary_mask(cells, dim)
    u = np.zeros(A.shape[0])
    u[bmask] = data_at(g, nodes)[bmask]
    inner = ~bmask
    rhs = b[inner] - A[inner][:, bmask] @ u[bmask]
    u[inner], its = _solve_spd(A[inner][:, inner], rhs, tol)
    return FineReference(cells, dim, points, u, aq, its, time.perf_counter() - t0)
