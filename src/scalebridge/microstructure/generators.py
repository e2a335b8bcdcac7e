"""Periodic model microstructures.

Every generator returns a :class:`~scalebridge.microstructure.Microstructure` whose labels
are ``0`` = matrix, ``1`` = inclusion / layer, ``2`` = coating (shell). Voxel ``i`` along an
axis of edge ``L`` and ``n`` voxels has its centre at ``(i + 0.5) * L / n``; a voxel belongs
to an inclusion when its centre lies within the inclusion radius.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from scalebridge.microstructure.core import Microstructure, _check_shape, _check_size

__all__ = [
    "checkerboard",
    "coated_inclusion",
    "laminate",
    "random_inclusion_centres",
    "random_inclusions",
    "sphere",
]

logger = logging.getLogger(__name__)

_BATCH = 512  # RSA candidates tested per KD-tree query


def _ball_volume(radius: float, ndim: int) -> float:
    """Area of a disk (2D) or volume of a ball (3D)."""
    return math.pi * radius**2 if ndim == 2 else 4.0 / 3.0 * math.pi * radius**3


def _centred_distance(shape: tuple[int, ...], size: tuple[float, ...]) -> npt.NDArray:
    """Distance of every voxel centre to the centre of the cell."""
    axes = [((np.arange(n) + 0.5) * (s / n) - 0.5 * s) for n, s in zip(shape, size, strict=True)]
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    return np.sqrt(sum(g**2 for g in grids))


def laminate(
    shape: Sequence[int],
    volume_fraction: float = 0.5,
    axis: int = 0,
    size: Sequence[float] | None = None,
) -> Microstructure:
    """Two-phase laminate with layers normal to ``axis``.

    Phase ``1`` occupies the first ``volume_fraction * shape[axis]`` slices along ``axis``,
    phase ``0`` the rest, so the volume fractions are exact.

    Raises
    ------
    ValueError
        If ``volume_fraction * shape[axis]`` is not an integer number of voxels
        (the message gives the nearest achievable fractions).

    Examples
    --------
    >>> ms = laminate((8, 4), volume_fraction=0.25, axis=0)
    >>> ms.volume_fraction(1), ms.labels[:, 0].tolist()
    (0.25, [1, 1, 0, 0, 0, 0, 0, 0])
    """
    dims = _check_shape(shape)
    edges = _check_size(size, len(dims))
    if not isinstance(axis, int | np.integer) or not 0 <= axis < len(dims):
        raise ValueError(f"axis: got {axis!r}; expected an integer in [0, {len(dims) - 1}]")
    f = float(volume_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"volume_fraction: got {volume_fraction!r}; expected 0 <= f <= 1")
    n = dims[axis]
    k = f * n
    if abs(k - round(k)) > 1e-9:
        lo, hi = math.floor(k) / n, math.ceil(k) / n
        raise ValueError(
            f"volume_fraction: {f} of {n} slices along axis {axis} is {k:.6g} voxels, not an "
            f"integer; the nearest achievable fractions are {lo:.6g} and {hi:.6g}"
        )
    labels = np.zeros(dims, dtype=np.int32)
    index = [slice(None)] * len(dims)
    index[axis] = slice(0, round(k))
    labels[tuple(index)] = 1
    return Microstructure(labels, size=edges)


def _radius_limit(edges: tuple[float, ...], radius: float, name: str) -> None:
    half = 0.5 * min(edges)
    if not (math.isfinite(radius) and 0.0 < radius <= half):
        raise ValueError(
            f"{name}: got {radius!r}; expected 0 < {name} <= {half:.6g} (half the smallest "
            f"cell edge of size={edges}) so the inclusion does not overlap its periodic image"
        )


def sphere(
    shape: Sequence[int],
    radius: float | None = None,
    volume_fraction: float | None = None,
    size: Sequence[float] | None = None,
) -> Microstructure:
    """Centred spherical (3D) or circular (2D) inclusion, label ``1``, in a matrix ``0``.

    Give exactly one of ``radius`` (physical units) or ``volume_fraction``; the latter sets
    the radius from the continuous volume ``pi r^2`` (2D) or ``4/3 pi r^3`` (3D) relative to
    the cell volume, so the voxel fraction differs from it by the voxelization error.

    Examples
    --------
    >>> ms = sphere((32, 32), radius=0.25)
    >>> round(ms.volume_fraction(1), 3)  # continuous value pi/16 = 0.196
    0.203
    """
    dims = _check_shape(shape)
    edges = _check_size(size, len(dims))
    if (radius is None) == (volume_fraction is None):
        raise ValueError(
            f"sphere: got radius={radius!r} and volume_fraction={volume_fraction!r}; "
            "give exactly one of them"
        )
    cell_volume = math.prod(edges)
    if volume_fraction is not None:
        f = float(volume_fraction)
        f_max = _ball_volume(0.5 * min(edges), len(dims)) / cell_volume
        if not 0.0 < f <= f_max:
            raise ValueError(
                f"volume_fraction: got {volume_fraction!r}; expected 0 < f <= {f_max:.6g} "
                f"(the largest centred inclusion that fits in size={edges})"
            )
        if len(dims) == 2:
            radius = math.sqrt(f * cell_volume / math.pi)
        else:
            radius = (3.0 * f * cell_volume / (4.0 * math.pi)) ** (1.0 / 3.0)
        radius = min(radius, 0.5 * min(edges))  # guard rounding at f == f_max
    r = float(radius)  # type: ignore[arg-type]
    _radius_limit(edges, r, "radius")
    labels = (_centred_distance(dims, edges) <= r).astype(np.int32)
    return Microstructure(labels, size=edges)


def coated_inclusion(
    shape: Sequence[int],
    core_radius: float,
    shell_radius: float,
    size: Sequence[float] | None = None,
) -> Microstructure:
    """Centred core (label ``1``) with a coating shell (label ``2``) in a matrix (``0``).

    Requires ``0 < core_radius < shell_radius <= min(size) / 2``.

    Examples
    --------
    >>> ms = coated_inclusion((16, 16), core_radius=0.2, shell_radius=0.4)
    >>> ms.phases, int(ms.labels[8, 8]), int(ms.labels[8, 13]), int(ms.labels[0, 0])
    ((0, 1, 2), 1, 2, 0)
    """
    dims = _check_shape(shape)
    edges = _check_size(size, len(dims))
    _radius_limit(edges, float(shell_radius), "shell_radius")
    if not (math.isfinite(core_radius) and 0.0 < core_radius < shell_radius):
        raise ValueError(
            f"core_radius: got {core_radius!r}; expected 0 < core_radius < "
            f"shell_radius={shell_radius!r}"
        )
    dist = _centred_distance(dims, edges)
    labels = np.where(dist <= core_radius, 1, np.where(dist <= shell_radius, 2, 0))
    return Microstructure(labels.astype(np.int32), size=edges)


def checkerboard(
    shape: Sequence[int],
    cells: int = 2,
    size: Sequence[float] | None = None,
) -> Microstructure:
    """Periodic checkerboard of ``cells`` squares (cubes) per axis, labels ``0``/``1``.

    Cell ``(i, j[, k])`` has label ``(i + j [+ k]) % 2``. ``cells`` must be even (so the
    pattern is periodic) and divide ``shape`` along every axis.

    Examples
    --------
    >>> checkerboard((4, 4), cells=2).labels.tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]]
    """
    dims = _check_shape(shape)
    edges = _check_size(size, len(dims))
    if not isinstance(cells, int | np.integer) or cells < 2 or cells % 2:
        raise ValueError(
            f"cells: got {cells!r}; expected an even integer >= 2 (an odd count is not periodic)"
        )
    if any(n % cells for n in dims):
        raise ValueError(f"shape: got {dims}; every axis must be divisible by cells={cells}")
    index = np.indices(dims, sparse=True)
    total = sum(idx // (n // cells) for idx, n in zip(index, dims, strict=True))
    return Microstructure((total % 2).astype(np.int32), size=edges)


def _check_rsa_input(
    dims: tuple[int, ...],
    edges: tuple[float, ...],
    volume_fraction: float,
    radius: float,
    min_distance: float,
    max_attempts: int,
) -> None:
    if not 0.0 < volume_fraction < 1.0:
        raise ValueError(f"volume_fraction: got {volume_fraction!r}; expected 0 < f < 1")
    half = 0.5 * min(edges)
    if not (math.isfinite(radius) and 0.0 < radius < half):
        raise ValueError(
            f"radius: got {radius!r}; expected 0 < radius < {half:.6g} "
            f"(half the smallest cell edge of size={edges})"
        )
    if not (math.isfinite(min_distance) and 0.0 <= min_distance <= min(edges) - 2 * radius):
        raise ValueError(
            f"min_distance: got {min_distance!r}; expected 0 <= min_distance <= "
            f"{min(edges) - 2 * radius:.6g} (smallest edge minus the diameter)"
        )
    if not isinstance(max_attempts, int | np.integer) or max_attempts < 1:
        raise ValueError(f"max_attempts: got {max_attempts!r}; expected a positive integer")


def random_inclusion_centres(
    shape: Sequence[int],
    volume_fraction: float,
    radius: float,
    seed: int | np.random.Generator | None = None,
    size: Sequence[float] | None = None,
    min_distance: float = 0.0,
    max_attempts: int = 100_000,
) -> npt.NDArray[np.float64]:
    """Centres of a periodic random sequential addition (RSA) of equal disks/spheres.

    Centres are drawn uniformly in the cell and accepted when the minimum-image distance to
    every accepted centre exceeds ``2 * radius + min_distance``. Addition stops at the first
    inclusion for which ``n * v_ball / V`` reaches ``volume_fraction``. Only ``len(shape)``
    (the dimension) and ``size`` are used from the grid.

    Returns
    -------
    ndarray, shape (n, ndim)
        Centres in ``[0, size)`` per axis.

    Raises
    ------
    ValueError
        On bad input, or when ``max_attempts`` consecutive candidates are rejected before
        the target is reached (RSA jams near 0.547 in 2D and 0.38 in 3D).

    Examples
    --------
    >>> c = random_inclusion_centres((64, 64), 0.2, 0.05, seed=1)
    >>> c.shape, bool(len(c) * np.pi * 0.05**2 >= 0.2)
    ((26, 2), True)
    """
    dims = _check_shape(shape)
    edges = _check_size(size, len(dims))
    f, r, gap = float(volume_fraction), float(radius), float(min_distance)
    _check_rsa_input(dims, edges, f, r, gap, max_attempts)
    box = np.asarray(edges)
    v_ball, cell_volume = _ball_volume(r, len(dims)), math.prod(edges)
    n_target = max(1, math.ceil(f * cell_volume / v_ball - 1e-9))
    exclusion = 2.0 * r + gap
    rng = np.random.default_rng(seed)
    centres = np.empty((n_target, len(dims)))
    n, failures = 0, 0
    while n < n_target:
        tree = cKDTree(centres[:n], boxsize=box) if n else None
        cand = np.mod(rng.random((_BATCH, len(dims))) * box, box)
        cand[cand >= box] = 0.0  # rounding guard: cKDTree needs data in [0, boxsize)
        if tree is None:
            free = np.ones(_BATCH, dtype=bool)
        else:
            dist, _ = tree.query(cand, k=1, distance_upper_bound=exclusion)
            free = dist > exclusion
        start = n
        for c, ok in zip(cand, free, strict=True):
            if ok and n > start:  # check against centres accepted earlier in this batch
                d = c - centres[start:n]
                d -= box * np.round(d / box)
                ok = bool(np.min(np.einsum("ij,ij->i", d, d)) > exclusion**2)
            if ok:
                centres[n] = c
                n, failures = n + 1, 0
                if n == n_target:
                    break
            else:
                failures += 1
                if failures >= max_attempts:
                    reached = n * v_ball / cell_volume
                    raise ValueError(
                        f"random_inclusions: volume_fraction={f:g} unreachable with "
                        f"radius={r:g} after {max_attempts} attempts (reached {reached:.2f}); "
                        "RSA jams near 0.547 in 2D and 0.38 in 3D: lower the volume "
                        "fraction or the radius"
                    )
    logger.debug("RSA placed %d inclusions of radius %g", n, r)
    return centres


def _voxelize_balls(
    dims: tuple[int, ...],
    edges: tuple[float, ...],
    centres: npt.NDArray[np.float64],
    radius: float,
) -> npt.NDArray[np.int32]:
    """Periodic voxelization: label 1 where a voxel centre is within ``radius`` of a centre.

    Each ball only touches the voxels of its bounding box (indices wrapped modulo the grid);
    since ``radius < L/2`` the unwrapped offsets are the minimum-image offsets.
    """
    labels = np.zeros(dims, dtype=np.int32)
    h = np.asarray(edges) / np.asarray(dims)
    for c in centres:
        idx, offsets = [], []
        for ci, hi, ni in zip(c, h, dims, strict=True):
            first = math.ceil((ci - radius) / hi - 0.5)
            last = math.floor((ci + radius) / hi - 0.5)
            i = np.arange(first, last + 1)
            idx.append(np.mod(i, ni))
            offsets.append((i + 0.5) * hi - ci)
        grids = np.meshgrid(*offsets, indexing="ij", sparse=True)
        inside = sum(g**2 for g in grids) <= radius**2
        box = np.ix_(*idx)
        sub = labels[box]
        sub[inside] = 1
        labels[box] = sub
    return labels


def random_inclusions(
    shape: Sequence[int],
    volume_fraction: float,
    radius: float,
    seed: int | np.random.Generator | None = None,
    size: Sequence[float] | None = None,
    min_distance: float = 0.0,
    max_attempts: int = 100_000,
) -> Microstructure:
    """Periodic random packing of non-overlapping equal disks (2D) or spheres (3D).

    Centres come from :func:`random_inclusion_centres` (random sequential addition with the
    minimum-image convention); the balls are then voxelized periodically, so an inclusion
    crossing the cell boundary reappears on the opposite side. The analytic fraction
    ``n * v_ball / V`` lies in ``[volume_fraction, volume_fraction + v_ball / V)``; the voxel
    fraction differs from it by the voxelization error.

    Examples
    --------
    >>> ms = random_inclusions((64, 64), volume_fraction=0.2, radius=0.05, seed=0)
    >>> ms.phases
    (0, 1)
    """
    dims = _check_shape(shape)
    edges = _check_size(size, len(dims))
    centres = random_inclusion_centres(
        dims, volume_fraction, radius, seed, edges, min_distance, max_attempts
    )
    return Microstructure(_voxelize_balls(dims, edges, centres, float(radius)), size=edges)
