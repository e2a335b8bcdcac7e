"""Sparse assembly of the voxel Q1 stiffness on the non-periodic node grid.

Nodes sit at voxel corners, ``(n_1 + 1) x ... x (n_d + 1)`` of them; degree of freedom
``c * N_nodes + node`` (component-major, as in `voxel_fe.element_matrices`).  The
stiffness is built stencil-wise: for each node offset ``delta`` in ``{-1, 0, 1}^d`` and
component pair, the coefficient of every node is a sum over the elements that contain
both nodes of a per-phase table lookup, so assembly costs a few hundred vectorised
gathers and one COO -> CSR conversion, never a per-element Python loop.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from scalebridge.cell.voxel_fe import element_matrices, gradient_matrix

Array = NDArray[np.float64]


def node_shape(grid: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of the node grid of a voxel grid."""
    return tuple(n + 1 for n in grid)


def assemble_stiffness(
    labels: NDArray[np.integer], spacing: Array, tensors: list[Array], physics: str
) -> sp.csr_matrix:
    """Global stiffness ``K`` (normalised by the voxel volume) on the node grid.

    Parameters
    ----------
    labels : ndarray of int
        Phase index ``0 .. len(tensors) - 1`` per voxel.
    spacing : ndarray
        Voxel edge lengths.
    tensors : list of ndarray
        Per-phase conductivity ``(d, d)`` or Mandel stiffness ``(m, m)``.
    physics : {"conduction", "elasticity"}

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric, ``nc * N_nodes`` square; ``u^T K u / N_voxels`` is the mean energy.
    """
    grid = labels.shape
    d = len(grid)
    nc = 1 if physics == "conduction" else d
    nn = 2**d
    Ke = element_matrices(spacing, tensors, physics)
    nph = len(tensors)
    Ke = np.concatenate([Ke, np.zeros((1, *Ke.shape[1:]))])  # index nph: outside the cell
    padded = np.pad(labels.astype(np.int32), 1, constant_values=nph)
    nshape = node_shape(grid)
    nnodes = int(np.prod(nshape))
    itype = np.int32 if nc * nnodes < 2**31 - 1 else np.int64  # halves the COO memory
    node_ids = np.arange(nnodes, dtype=itype).reshape(nshape)
    local = {a: i for i, a in enumerate(itertools.product((0, 1), repeat=d))}
    rows, cols, vals = [], [], []
    for delta in itertools.product((-1, 0, 1), repeat=d):
        # nodes n whose neighbour n + delta exists
        src = tuple(slice(max(0, -t), nshape[j] - max(0, t)) for j, t in enumerate(delta))
        dst = tuple(slice(max(0, t), nshape[j] + min(0, t)) for j, t in enumerate(delta))
        n_src = node_ids[src].ravel()
        n_dst = node_ids[dst].ravel()
        # local positions a of node n in the elements that also hold n + delta
        starts = [a for a in local if all(0 <= a[j] + delta[j] <= 1 for j in range(d))]
        phase_of = {}
        for a in starts:
            # element of node n at local position a: voxel n - a, padded index n - a + 1
            sl = tuple(slice(s.start + 1 - a[j], s.stop + 1 - a[j]) for j, s in enumerate(src))
            phase_of[a] = padded[sl].ravel()
        for c in range(nc):
            for e in range(nc):
                coef = np.zeros(n_src.size)
                for a in starts:
                    b = tuple(a[j] + delta[j] for j in range(d))
                    table = Ke[:, c * nn + local[a], e * nn + local[b]]
                    if np.any(table):
                        coef += table[phase_of[a]]
                keep = coef != 0.0
                rows.append(n_src[keep] + itype(c * nnodes))
                cols.append(n_dst[keep] + itype(e * nnodes))
                vals.append(coef[keep])
    size = nc * nnodes
    coo = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )
    del rows, cols, vals
    K = coo.tocsr()  # each (row, col) appears once: no duplicates to sum
    return K


def mean_gradient_operator(spacing: Array, physics: str, d: int) -> Array:
    """``Bbar``: element-mean strain (Mandel) or gradient from the element's nodal dofs."""
    # Bbar is the centre-point B matrix: the mean of the bilinear/trilinear gradients.
    h = np.asarray(spacing, dtype=float)
    corners = list(itertools.product((0, 1), repeat=d))
    nn = len(corners)
    dN = np.zeros((nn, d))
    for a, c in enumerate(corners):
        for k in range(d):
            dN[a, k] = (1.0 if c[k] else -1.0) / h[k] * 0.5 ** (d - 1)
    return gradient_matrix(dN, physics)


def element_means(u: Array, spacing: Array, physics: str) -> Array:
    """Voxel-mean strain/gradient ``(m, *grid)`` of a nodal field ``u (nc, *(grid + 1))``."""
    d = u.ndim - 1
    B = mean_gradient_operator(spacing, physics, d)
    grid = tuple(s - 1 for s in u.shape[1:])
    nn = 2**d
    out = np.zeros((B.shape[0], *grid))
    for a, off in enumerate(itertools.product((0, 1), repeat=d)):
        sl = tuple(slice(o, o + n) for o, n in zip(off, grid, strict=True))
        for c in range(u.shape[0]):
            col = B[:, c * nn + a]
            nz = np.flatnonzero(col)
            for r in nz:
                out[r] += col[r] * u[c][sl]
    return out


def nodal_load(labels_shape: tuple[int, ...], spacing: Array, physics: str, flux: Array) -> Array:
    """Consistent nodal load ``sum_e Bbar_e^T Sigma`` of a uniform flux/stress ``Sigma``.

    By the divergence theorem this is the boundary load of the traction ``Sigma n`` (or
    the heat flux ``q . n``); interior nodes get zero.  Normalised like the stiffness.
    """
    d = len(labels_shape)
    nc = 1 if physics == "conduction" else d
    B = mean_gradient_operator(spacing, physics, d)
    fe = B.T @ np.asarray(flux, dtype=float)  # (nc * nn,)
    nn = 2**d
    f = np.zeros((nc, *node_shape(labels_shape)))
    for a, off in enumerate(itertools.product((0, 1), repeat=d)):
        sl = tuple(slice(o, o + n) for o, n in zip(off, labels_shape, strict=True))
        for c in range(nc):
            f[c][sl] += fe[c * nn + a]
    return f
