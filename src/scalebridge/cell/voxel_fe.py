"""Voxel finite elements on a periodic grid: bilinear quadrilaterals / trilinear hexahedra.

One element per voxel, nodes at voxel corners (node ``(i, j, k)`` is the lower corner
of voxel ``(i, j, k)``), nodal unknowns stored component-first ``u[c, i, j, k]``:
the periodic fluctuation of the temperature (``c = 0``) or of the displacement.  The
operator ``K u = B^T L B u`` is applied matrix-free by generated numba kernels
(`scalebridge.cell._kernels`); element integrals are exact (2-point Gauss per axis).
`element_matrices` gives the same element in dense form for tests and for sparse
assembly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scalebridge.cell import _kernels

Array = NDArray[np.float64]

_PAIRS = {2: [(0, 0), (1, 1), (0, 1)], 3: [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]}


def mandel_to_gradient_matrix(C: Array, d: int) -> Array:
    """Mandel stiffness ``(m, m)`` -> matrix on full gradients ``(d*d, d*d)``."""
    pairs = _PAIRS[d]
    full = np.zeros((d, d, d, d))
    for r, (i, j) in enumerate(pairs):
        fr = 1.0 if i == j else 1.0 / np.sqrt(2.0)
        for s, (k, l) in enumerate(pairs):
            fs = 1.0 if k == l else 1.0 / np.sqrt(2.0)
            v = C[r, s] * fr * fs
            for a, b in {(i, j), (j, i)}:
                for c, e in {(k, l), (l, k)}:
                    full[a, b, c, e] = v
    return full.reshape(d * d, d * d)


def gradient_to_mandel(G: Array) -> Array:
    """Full (symmetrised) gradient ``(d, d)`` -> Mandel strain vector."""
    d = G.shape[0]
    S = 0.5 * (G + G.T)
    return np.array([S[i, j] * (1.0 if i == j else np.sqrt(2.0)) for i, j in _PAIRS[d]])


def mandel_to_gradient(e: Array, d: int) -> Array:
    """Mandel strain vector -> symmetric ``(d, d)`` matrix."""
    G = np.zeros((d, d))
    for r, (i, j) in enumerate(_PAIRS[d]):
        v = e[r] if i == j else e[r] / np.sqrt(2.0)
        G[i, j] = G[j, i] = v
    return G


def gradient_matrix(dN: Array, physics: str) -> Array:
    """``B``: Mandel strain (or gradient) from element dofs, given shape-function
    derivatives ``dN (2**d, d)`` at a point; dofs ordered ``c * 2**d + a``."""
    nn, d = dN.shape
    if physics != "elasticity":
        return dN.T.copy()
    B = np.zeros((len(_PAIRS[d]), d * nn))
    for r, (i, j) in enumerate(_PAIRS[d]):
        f = 1.0 if i == j else 1.0 / np.sqrt(2.0)
        B[r, i * nn : (i + 1) * nn] += f * dN[:, j]
        if i != j:
            B[r, j * nn : (j + 1) * nn] += f * dN[:, i]
    return B


def element_matrices(spacing: Array, tensors: list[Array], physics: str) -> Array:
    """Dense element stiffness matrices, one per phase tensor, normalised by voxel volume.

    Degrees of freedom are ordered ``c * 2**d + a`` with nodes ``a`` in lexicographic
    order of their offsets ``(ax, ay[, az])``.  Integration: 2-point Gauss per axis
    (exact for constant properties).
    """
    h = np.asarray(spacing, dtype=float)
    d = h.size
    g = np.array([0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0)])
    corners = list(itertools.product((0, 1), repeat=d))
    nn = len(corners)
    Bs = []
    for q in itertools.product(range(2), repeat=d):
        xi = g[list(q)]
        dN = np.zeros((nn, d))
        for a, c in enumerate(corners):
            for k in range(d):
                val = (1.0 if c[k] else -1.0) / h[k]
                for e in range(d):
                    if e != k:
                        val *= xi[e] if c[e] else 1.0 - xi[e]
                dN[a, k] = val
        Bs.append(gradient_matrix(dN, physics))
    w = 1.0 / len(Bs)
    return np.array([sum(w * B.T @ T @ B for B in Bs) for T in tensors])


def isotropic_parameters(T: Array, physics: str, rtol: float = 1e-12) -> tuple[float, float] | None:
    """``(lambda, mu)`` or ``(k, 0)`` when a phase tensor is isotropic, else None."""
    scale = max(np.abs(T).max(), 1e-300)
    if physics == "conduction":
        k = float(T[0, 0])
        ok = np.abs(T - k * np.eye(T.shape[0])).max() <= rtol * scale
        return (k, 0.0) if ok else None
    m = T.shape[0]
    d = 2 if m == 3 else 3
    lam = float(T[0, 1])
    mu = float(T[m - 1, m - 1]) / 2.0
    iso = np.zeros((m, m))
    iso[:d, :d] = lam
    iso[np.arange(m), np.arange(m)] += 2.0 * mu
    return (lam, mu) if np.abs(T - iso).max() <= rtol * scale else None


@dataclass(frozen=True)
class CellFields:
    """Voxel-mean fields and exact averages of one solved cell problem."""

    gradient: Array  # (m, *grid) Mandel strain or temperature gradient, voxel means
    flux: Array  # (m, *grid) Mandel stress or heat flux, voxel means
    energy: float  # exact <grad : L : grad> over the cell


class VoxelOperator:
    """Matrix-free periodic voxel Q1 operator ``u -> B^T L (E + B u)``.

    Parameters
    ----------
    labels : ndarray of int
        Phase label per voxel (values index ``tensors``).
    spacing : sequence of float
        Voxel edge lengths.
    tensors : list of ndarray
        Per label: conductivity ``(d, d)`` or Mandel stiffness ``(m, m)``.
    physics : {"conduction", "elasticity"}
    """

    def __init__(
        self, labels: NDArray[np.integer], spacing: Array, tensors: list[Array], physics: str
    ) -> None:
        self.labels = np.ascontiguousarray(labels, dtype=np.int32)
        self.grid = self.labels.shape
        self.d = self.labels.ndim
        self.physics = physics
        self.nc = 1 if physics == "conduction" else self.d
        self.m = self.d if physics == "conduction" else len(_PAIRS[self.d])
        self.spacing = np.asarray(spacing, dtype=float)
        self.ih = 1.0 / self.spacing
        self.tensors = [np.asarray(T, dtype=float) for T in tensors]
        iso = [isotropic_parameters(T, physics) for T in self.tensors]
        self.isotropic = all(p is not None for p in iso)
        kind = "isotropic" if self.isotropic else "general"
        self._apply = getattr(_kernels, f"apply_{self.d}d_{physics}_{kind}")
        self._post = getattr(_kernels, f"post_{self.d}d_{physics}_{kind}")
        if self.isotropic:
            a = np.array([p[0] for p in iso])  # type: ignore[index]
            b = np.array([p[1] for p in iso])  # type: ignore[index]
            self._params: tuple[Array, ...] = (a,) if physics == "conduction" else (a, b)
        elif physics == "conduction":
            self._params = (np.array(self.tensors),)
        else:
            self._params = (np.array([mandel_to_gradient_matrix(T, self.d) for T in self.tensors]),)
        self._zero_E = np.zeros((self.nc, self.d))

    @property
    def field_shape(self) -> tuple[int, ...]:
        """Shape of a nodal field ``(ncomp, *grid)``."""
        return (self.nc, *self.grid)

    def macro_gradient(self, E: Array) -> Array:
        """Macro load (Mandel strain or gradient vector) as a full ``(nc, d)`` gradient."""
        E = np.asarray(E, dtype=float)
        if self.physics == "conduction":
            return E.reshape(1, self.d)
        return mandel_to_gradient(E, self.d)

    def apply(self, u: Array, out: Array, E: Array | None = None) -> Array:
        """Write ``B^T L (E + B u)`` into ``out``; ``E`` is a full gradient ``(nc, d)``."""
        out[...] = 0.0
        Em = self._zero_E if E is None else E
        self._apply(u, self.labels, *self._params, Em, self.ih, out)
        return out

    def fields(self, u: Array, E: Array) -> CellFields:
        """Voxel-mean gradient and flux of ``E + B u`` and the exact mean energy."""
        grad = np.empty((self.m, *self.grid))
        flux = np.empty((self.m, *self.grid))
        energy = np.empty(self.grid[0])
        self._post(u, self.labels, *self._params, E, self.ih, grad, flux, energy)
        return CellFields(grad, flux, float(energy.sum()) / self.labels.size)

    def diagonal(self) -> Array:
        """Diagonal of the assembled operator, per node and component ``(nc, *grid)``.

        Exact also for axes of one voxel, where two corners of an element are the same
        periodic node.
        """
        Ke = element_matrices(self.spacing, self.tensors, self.physics)
        nn = 2**self.d
        offsets = list(itertools.product((0, 1), repeat=self.d))
        diag = np.zeros(self.field_shape)
        for c in range(self.nc):
            for a, off in enumerate(offsets):
                for b, off_b in enumerate(offsets):
                    same = all(
                        (x - y) % n == 0 for x, y, n in zip(off, off_b, self.grid, strict=True)
                    )
                    if not same:
                        continue
                    per_voxel = Ke[:, c * nn + a, c * nn + b][self.labels]
                    diag[c] += np.roll(per_voxel, off, axis=tuple(range(self.d)))
        return diag
