"""Crystal lattices: primitive and conventional cells, basis, bond vectors, finite crystals.

A `Lattice` is a Bravais lattice (primitive vectors as the *rows* of ``vectors``) plus a
basis of ``n_basis`` atoms in the primitive cell (Cartesian offsets, the first at the
origin).  Builders: `chain` (1D), `triangular` (2D close-packed), `fcc`, `bcc` (3D
Bravais), `diamond` and `hcp` (3D, two-atom basis: their sublattices can shift
relative to each other under a homogeneous deformation).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = ["Lattice", "bcc", "chain", "diamond", "fcc", "hcp", "triangular"]


def _readonly(a: ArrayLike) -> Array:
    out = np.array(a, dtype=float)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Lattice:
    """A crystal: primitive cell, basis and a conventional (box-shaped) cell.

    Parameters
    ----------
    name : str
        Label such as ``"fcc"``.
    a : float
        Lattice constant (length unit of all vectors).
    vectors : array_like
        ``(d, d)`` primitive vectors as rows.
    basis : array_like
        ``(n_basis, d)`` Cartesian positions of the atoms of the primitive cell.
    conventional : array_like
        ``(d, d)`` conventional cell vectors as rows, an integer combination of the
        primitive ones (for cubic lattices the cube of side ``a``).
    """

    name: str
    a: float
    vectors: Array
    basis: Array
    conventional: Array

    def __post_init__(self) -> None:
        vectors = _readonly(self.vectors)
        d = vectors.shape[0]
        if vectors.shape != (d, d) or d not in (1, 2, 3):
            raise ValueError(f"Lattice: vectors must be (d, d) with d in 1..3, got {vectors.shape}")
        if abs(np.linalg.det(vectors)) <= 1e-12 * np.linalg.norm(vectors) ** d:
            raise ValueError(f"Lattice: vectors must be linearly independent, got {vectors}")
        basis = _readonly(np.reshape(self.basis, (-1, d)))
        conventional = _readonly(self.conventional)
        if conventional.shape != (d, d):
            raise ValueError(f"Lattice: conventional must be {(d, d)}, got {conventional.shape}")
        n = conventional @ np.linalg.inv(vectors)
        if not np.allclose(n, np.round(n), atol=1e-9) or abs(np.linalg.det(n)) < 0.5:
            raise ValueError("Lattice: conventional cell must be an integer combination of vectors")
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "basis", basis)
        object.__setattr__(self, "conventional", conventional)

    @property
    def dim(self) -> int:
        """Spatial dimension ``d``."""
        return int(self.vectors.shape[0])

    @property
    def n_basis(self) -> int:
        """Atoms per primitive cell."""
        return int(self.basis.shape[0])

    @property
    def cell_volume(self) -> float:
        """Volume (area, length) of the primitive cell."""
        return float(abs(np.linalg.det(self.vectors)))

    @property
    def volume_per_atom(self) -> float:
        """Reference volume per atom ``V0 = cell_volume / n_basis``."""
        return self.cell_volume / self.n_basis

    @property
    def reciprocal(self) -> Array:
        """Reciprocal primitive vectors (rows) with ``a_i . b_j = 2 pi delta_ij``."""
        return 2.0 * np.pi * np.linalg.inv(self.vectors).T

    def scaled(self, factor: float) -> Lattice:
        """The same lattice with every length multiplied by ``factor`` (> 0)."""
        if not factor > 0:
            raise ValueError(f"Lattice.scaled: factor must be positive, got {factor!r}")
        return Lattice(
            self.name,
            self.a * factor,
            self.vectors * factor,
            self.basis * factor,
            self.conventional * factor,
        )

    def conventional_basis(self) -> Array:
        """Cartesian positions of the atoms of the conventional cell, ``(n, d)``."""
        frac_shift = self._images_in(self.conventional)
        pts = (frac_shift @ self.vectors)[:, None, :] + self.basis[None, :, :]
        pts = pts.reshape(-1, self.dim)
        frac = pts @ np.linalg.inv(self.conventional)
        keep = np.all((frac > -1e-9) & (frac < 1 - 1e-9), axis=1)
        return pts[keep]

    def _images_in(self, box: Array) -> NDArray[np.int64]:
        """Integer primitive translations covering the cell ``box`` (with a margin)."""
        corners = np.array(list(itertools.product((0, 1), repeat=self.dim)), dtype=float) @ box
        frac = corners @ np.linalg.inv(self.vectors)
        lo = np.floor(frac.min(axis=0)).astype(int) - 1
        hi = np.ceil(frac.max(axis=0)).astype(int) + 1
        axes = [np.arange(lo[k], hi[k] + 1) for k in range(self.dim)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)

    def positions(self, repeats: int | tuple[int, ...]) -> tuple[Array, Array]:
        """Atom positions of a block of ``repeats`` conventional cells and its box.

        Parameters
        ----------
        repeats : int or tuple of int
            Number of conventional cells along each conventional vector.

        Returns
        -------
        positions : ndarray, shape (n_atoms, d)
        box : ndarray, shape (d, d)
            Rows: the block's edge vectors (the periodic cell if used periodically).

        Examples
        --------
        >>> x, box = fcc(a=1.0).positions(2)
        >>> x.shape, box.tolist()
        ((32, 3), [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
        """
        reps = np.broadcast_to(np.asarray(repeats), (self.dim,))
        if not np.issubdtype(reps.dtype, np.integer) or np.any(reps < 1):
            raise ValueError(f"positions: repeats must be positive integers, got {repeats!r}")
        cell = self.conventional_basis()
        axes = [np.arange(n) for n in reps]
        n = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        x = (n @ self.conventional)[:, None, :] + cell[None, :, :]
        return x.reshape(-1, self.dim), reps[:, None] * self.conventional

    def bonds(self, radius: float) -> tuple[NDArray[np.intp], NDArray[np.intp], Array]:
        """All reference bonds shorter than ``radius`` from the atoms of one primitive cell.

        Returns ``(alpha, beta, R)``: bond ``b`` goes from basis atom ``alpha[b]`` (in the
        cell at the origin) to basis atom ``beta[b]`` in the cell translated by ``n``, with
        reference vector ``R[b] = n @ vectors + basis[beta] - basis[alpha]``.  Every bond
        appears in both directions; self-distance 0 is excluded.

        Examples
        --------
        >>> _, _, R = triangular(a=1.0).bonds(1.01)
        >>> len(R), np.round(np.linalg.norm(R, axis=1), 12).tolist()
        (6, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
        """
        if not (np.isfinite(radius) and radius > 0):
            raise ValueError(f"bonds: radius must be positive and finite, got {radius!r}")
        # |n @ vectors| <= radius + max|basis| bounds each |n_k| by that / plane spacing
        reach = radius + 2.0 * np.max(np.linalg.norm(self.basis, axis=1))
        spacing = 2.0 * np.pi / np.linalg.norm(self.reciprocal, axis=1)
        nmax = np.ceil(reach / spacing).astype(int)
        axes = [np.arange(-k, k + 1) for k in nmax]
        n = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        T = n @ self.vectors
        nb = self.n_basis
        alpha, beta = np.meshgrid(np.arange(nb), np.arange(nb), indexing="ij")
        alpha, beta = alpha.ravel(), beta.ravel()
        R = T[:, None, :] + (self.basis[beta] - self.basis[alpha])[None, :, :]
        dist = np.linalg.norm(R, axis=-1)
        keep = (dist < radius) & (dist > 1e-9 * self.a)
        t_idx, p_idx = np.nonzero(keep)
        order = np.lexsort((dist[t_idx, p_idx], alpha[p_idx]))
        t_idx, p_idx = t_idx[order], p_idx[order]
        return alpha[p_idx], beta[p_idx], R[t_idx, p_idx]

    def nearest_neighbour_distance(self) -> float:
        """Shortest interatomic distance."""
        _, _, R = self.bonds(2.0 * max(self.a, np.max(np.linalg.norm(self.vectors, axis=1))))
        return float(np.min(np.linalg.norm(R, axis=1)))


def _check_a(builder: str, a: float) -> float:
    if isinstance(a, bool) or not np.isfinite(a) or not a > 0:
        raise ValueError(f"{builder}: a must be a positive finite length, got {a!r}")
    return float(a)


def chain(a: float = 1.0) -> Lattice:
    """1D chain of spacing ``a``.

    Examples
    --------
    >>> chain(2.0).volume_per_atom
    2.0
    """
    a = _check_a("chain", a)
    return Lattice("chain", a, [[a]], [[0.0]], [[a]])


def triangular(a: float = 1.0) -> Lattice:
    """2D triangular (hexagonal close-packed) lattice, nearest-neighbour distance ``a``.

    The conventional cell is the rectangle ``a x sqrt(3) a`` holding two atoms.

    Examples
    --------
    >>> round(triangular(1.0).volume_per_atom, 6)  # sqrt(3)/2
    0.866025
    """
    a = _check_a("triangular", a)
    s3 = np.sqrt(3.0)
    vec = a * np.array([[1.0, 0.0], [0.5, s3 / 2]])
    return Lattice("triangular", a, vec, [[0.0, 0.0]], a * np.array([[1.0, 0.0], [0.0, s3]]))


def _cubic(name: str, a: float, vectors: Array, basis: Array) -> Lattice:
    return Lattice(name, a, a * vectors, a * basis, a * np.eye(3))


def fcc(a: float = 1.0) -> Lattice:
    """Face-centred cubic, cube side ``a`` (nearest-neighbour distance ``a / sqrt 2``).

    Examples
    --------
    >>> fcc(2.0).volume_per_atom
    2.0
    """
    a = _check_a("fcc", a)
    vec = 0.5 * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    return _cubic("fcc", a, vec, np.zeros((1, 3)))


def bcc(a: float = 1.0) -> Lattice:
    """Body-centred cubic, cube side ``a`` (nearest-neighbour distance ``sqrt(3) a / 2``).

    Examples
    --------
    >>> bcc(2.0).volume_per_atom
    4.0
    """
    a = _check_a("bcc", a)
    vec = 0.5 * np.array([[-1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])
    return _cubic("bcc", a, vec, np.zeros((1, 3)))


def diamond(a: float = 1.0) -> Lattice:
    """Diamond cubic: fcc with a two-atom basis ``(0, a/4 (1, 1, 1))``.

    Examples
    --------
    >>> len(diamond(1.0).conventional_basis())
    8
    """
    a = _check_a("diamond", a)
    vec = 0.5 * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    return _cubic("diamond", a, vec, np.array([[0.0, 0.0, 0.0], [0.25, 0.25, 0.25]]))


def hcp(a: float = 1.0, c: float | None = None) -> Lattice:
    """Hexagonal close-packed, in-plane spacing ``a``, height ``c`` (ideal ``sqrt(8/3) a``).

    Examples
    --------
    >>> lat = hcp(1.0)
    >>> round(lat.nearest_neighbour_distance(), 12), lat.n_basis
    (1.0, 2)
    """
    a = _check_a("hcp", a)
    c = np.sqrt(8.0 / 3.0) * a if c is None else _check_a("hcp (c)", c)
    s3 = np.sqrt(3.0)
    vec = np.array([[a, 0.0, 0.0], [-0.5 * a, 0.5 * s3 * a, 0.0], [0.0, 0.0, c]])
    basis = np.array([[0.0, 0.0, 0.0], [1.0 / 3.0, 2.0 / 3.0, 0.5]]) @ vec
    return Lattice("hcp", a, vec, basis, vec)
