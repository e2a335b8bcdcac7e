"""Neighbour lists and sums of a pair potential over the bonds of an atom set.

Conventions (``E = 1/2 sum_{i != j} phi(r_ij)`` over a *full* neighbour list, each bond
listed from both ends; ``D_ij = x_j - x_i`` with periodic images, ``r = |D|``,
``n = D / r``):

* force ``f_i = -dE/dx_i = sum_j phi'(r_ij) n_ij``;
* virial stress ``sigma = 1/(2V) sum phi'(r) D (x) D / r`` (= ``(1/V) dE/d eps`` under a
  homogeneous strain of the box, tension positive -- the sign of ``ase`` stresses);
* Hessian ``d^2 E / dx_i dx_j``: each bond adds ``k = phi'' n (x) n + (phi'/r)(I - n (x) n)``
  to block ``(i, i)`` and ``-k`` to block ``(i, j)``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from scalebridge.atomistic.potentials import PairPotential

Array = NDArray[np.float64]

__all__ = ["NeighbourList", "energy_forces", "hessian", "neighbour_list", "virial_stress"]


@dataclass(frozen=True)
class NeighbourList:
    """Full neighbour list: bond ``b`` goes from atom ``i[b]`` to (an image of) ``j[b]``.

    Attributes
    ----------
    i, j : ndarray of int
        Atom indices of each bond (every bond appears from both ends).
    vectors : ndarray, shape (n_bonds, d)
        ``D = x_j + shift - x_i``.
    distances : ndarray, shape (n_bonds,)
        ``|D|``.
    """

    i: NDArray[np.intp]
    j: NDArray[np.intp]
    vectors: Array
    distances: Array


def _check_positions(positions: ArrayLike, cell: ArrayLike | None) -> tuple[Array, Array | None]:
    x = np.asarray(positions, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2, 3):
        raise ValueError(f"positions must be (n_atoms, d) with d in 1..3, got shape {x.shape}")
    if cell is None:
        return x, None
    H = np.atleast_2d(np.asarray(cell, dtype=float))
    d = x.shape[1]
    if H.shape != (d, d) or abs(np.linalg.det(H)) == 0.0:
        raise ValueError(
            f"cell must be None (no periodicity) or a non-singular (d, d) = {(d, d)} matrix "
            f"of box vectors as rows, got shape {H.shape}"
        )
    return x, H


def neighbour_list(
    positions: ArrayLike, cutoff: float, cell: ArrayLike | None = None
) -> NeighbourList:
    """All pairs closer than ``cutoff``, periodic in every direction when ``cell`` is given.

    Images are searched with a k-d tree (``scipy.spatial.cKDTree``) over enough periodic
    copies of the box to cover the cutoff, so boxes smaller than the cutoff are allowed
    (an atom may then bond with its own images).

    Parameters
    ----------
    positions : array_like, shape (n_atoms, d)
    cutoff : float
        Positive, finite.
    cell : array_like, shape (d, d), optional
        Box vectors as rows; None for a finite cluster.

    Examples
    --------
    >>> nl = neighbour_list([[0.0], [1.0]], 1.5, cell=[[2.0]])
    >>> nl.i.tolist(), nl.j.tolist(), nl.vectors.ravel().tolist()
    ([0, 0, 1, 1], [1, 1, 0, 0], [-1.0, 1.0, -1.0, 1.0])
    """
    x, H = _check_positions(positions, cell)
    if not (np.isfinite(cutoff) and cutoff > 0):
        raise ValueError(f"neighbour_list: cutoff must be positive and finite, got {cutoff!r}")
    n_atoms, d = x.shape
    if H is None:
        shifts = np.zeros((1, d))
    else:
        spacing = 1.0 / np.linalg.norm(np.linalg.inv(H), axis=0)  # distance between faces
        nmax = np.ceil(cutoff / spacing).astype(int)
        grid = itertools.product(*(range(-k, k + 1) for k in nmax))
        shifts = np.array(list(grid), dtype=float) @ H
    images = (shifts[:, None, :] + x[None, :, :]).reshape(-1, d)
    pairs = cKDTree(x).sparse_distance_matrix(cKDTree(images), cutoff, output_type="ndarray")
    i, k = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
    j = k % n_atoms
    D = images[k] - x[i]
    r = np.linalg.norm(D, axis=1)
    keep = r > 0.0
    order = np.lexsort((j[keep], i[keep]))
    return NeighbourList(i[keep][order], j[keep][order], D[keep][order], r[keep][order])


def _volume(H: Array | None) -> float:
    if H is None:
        raise ValueError("virial_stress needs a periodic cell to define the volume, got None")
    return float(abs(np.linalg.det(H)))


def energy_forces(
    positions: ArrayLike, potential: PairPotential, cell: ArrayLike | None = None
) -> tuple[float, Array]:
    """Total energy and forces of an atom set interacting through ``potential``.

    Returns
    -------
    energy : float
    forces : ndarray, shape (n_atoms, d)
        ``-dE/dx``.

    Examples
    --------
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> E, f = energy_forces([[0.0], [1.5]], Harmonic(k=2.0, r0=1.0, cutoff=2.0))
    >>> float(E), f.ravel().tolist()
    (0.25, [1.0, -1.0])
    """
    x, H = _check_positions(positions, cell)
    nl = neighbour_list(x, potential.cutoff, H)
    energy = 0.5 * float(np.sum(potential.phi(nl.distances)))
    g = (potential.dphi(nl.distances) / nl.distances)[:, None] * nl.vectors
    forces = np.zeros_like(x)
    np.add.at(forces, nl.i, g)
    return energy, forces


def virial_stress(positions: ArrayLike, potential: PairPotential, cell: ArrayLike) -> Array:
    """Cauchy (virial) stress ``(1/V) dE/d eps`` of a periodic atom set, ``(d, d)``.

    Examples
    --------
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> virial_stress([[0.0]], Harmonic(k=1.0, r0=1.0, cutoff=1.5), [[1.25]]).tolist()
    [[0.25]]
    """
    x, H = _check_positions(positions, cell)
    nl = neighbour_list(x, potential.cutoff, H)
    w = potential.dphi(nl.distances) / nl.distances
    return np.einsum("b,bi,bj->ij", w, nl.vectors, nl.vectors) / (2.0 * _volume(H))


def hessian(
    positions: ArrayLike, potential: PairPotential, cell: ArrayLike | None = None
) -> sp.csr_array:
    """Sparse Hessian ``d^2 E / dx dx``, ``(n_atoms d, n_atoms d)``, atom-major ordering.

    Examples
    --------
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> hessian([[0.0], [1.0]], Harmonic(k=3.0, cutoff=2.0)).toarray().tolist()
    [[3.0, -3.0], [-3.0, 3.0]]
    """
    x, H = _check_positions(positions, cell)
    n_atoms, d = x.shape
    nl = neighbour_list(x, potential.cutoff, H)
    r = nl.distances
    nn = np.einsum("bi,bj->bij", nl.vectors, nl.vectors) / (r**2)[:, None, None]
    t = (potential.dphi(r) / r)[:, None, None]
    k = potential.d2phi(r)[:, None, None] * nn + t * (np.eye(d) - nn)
    a, b = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    rows = (nl.i[:, None, None] * d + a).ravel()
    cols_ii = (nl.i[:, None, None] * d + b).ravel()
    cols_ij = (nl.j[:, None, None] * d + b).ravel()
    data = np.concatenate([k.ravel(), -k.ravel()])
    out = sp.coo_array(
        (data, (np.concatenate([rows, rows]), np.concatenate([cols_ii, cols_ij]))),
        shape=(n_atoms * d, n_atoms * d),
    )
    return out.tocsr()
