"""Seeded, stationary, periodic random microstructure models.

A random model is a frozen dataclass of validated parameters that draws realizations on
demand: ``model.sample(size, resolution, seed)`` returns a periodic
:class:`~scalebridge.microstructure.Microstructure` of physical edge lengths ``size`` with
``round(size * resolution)`` voxels per axis. Lengths are physical, so a larger ``size`` at
the same ``resolution`` is a larger window of the same material. Every model satisfies the
:class:`RandomModel` protocol.

Voxels are labelled by their centre ``(i + 0.5) * size / shape``. Point sampling is
unbiased: for a stationary model the expected voxel fraction of a phase equals its
continuum volume fraction (only the variance depends on the resolution).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy import fft, special
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from scalebridge.microstructure.core import Microstructure, _check_size

__all__ = [
    "BooleanModel",
    "CrystalLaw",
    "GaussianExcursion",
    "ImageWindows",
    "RandomEllipsoids",
    "RandomFibres",
    "RandomModel",
    "RandomSpheres",
    "VoronoiPolycrystal",
    "polycrystal_materials",
]

logger = logging.getLogger(__name__)

Array = npt.NDArray[np.float64]
_CHUNK = 1 << 18  # voxel centres per KD-tree query in _paint_balls
_MAX_BATCH = 4096  # RSA candidates per round at most


@runtime_checkable
class RandomModel(Protocol):
    """A stationary, ergodic, periodic random microstructure model."""

    @property
    def ndim(self) -> int:
        """Spatial dimension, 2 or 3."""
        ...

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """One periodic realization, deterministic given ``seed``."""
        ...

    def expected_volume_fractions(self) -> dict[int, float]:
        """Ensemble volume fraction per phase label."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable parameters, with the model name under ``"model"``."""
        ...


# ---------------------------------------------------------------------- validation
def _check_ndim(ndim: Any, allowed: tuple[int, ...] = (2, 3)) -> int:
    if isinstance(ndim, bool) or not isinstance(ndim, int | np.integer) or ndim not in allowed:
        raise ValueError(f"ndim: got {ndim!r}; expected one of {allowed}")
    return int(ndim)


def _check_real(
    name: str,
    value: Any,
    lo: float,
    hi: float = math.inf,
    *,
    lo_open: bool = True,
    hi_open: bool = True,
) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(value, bool) or not (
        math.isfinite(x) and (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
    ):
        left, right = ("<" if lo_open else "<="), ("<" if hi_open else "<=")
        upper = "" if hi == math.inf else f" {right} {hi:g}"
        raise ValueError(f"{name}: got {value!r}; expected {lo:g} {left} {name}{upper}")
    return x


def _check_fraction(value: Any) -> float:
    return _check_real("volume_fraction", value, 0.0, 1.0)


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: got {value!r}; expected a positive integer")
    return int(value)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: got {seed!r}; expected a non-negative integer")
    return int(seed)


def _grid(size: Any, resolution: Any, ndim: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Validated ``(size, shape)`` with ``shape = max(1, round(size * resolution))``."""
    edges = _check_size(size, ndim)
    res = _check_real("resolution", resolution, 0.0)
    return edges, tuple(max(1, round(s * res)) for s in edges)


def _min_edge_check(name: str, value: float, edges: tuple[float, ...]) -> None:
    if not value < 0.5 * min(edges):
        raise ValueError(
            f"{name}: {value:g} is not below half the smallest cell edge of size={edges}; "
            "an inclusion would overlap its own periodic image: enlarge size"
        )


def _describe(model: Any) -> dict[str, Any]:
    """``{"model": name, **constructor arguments}``: ``type(model)(**rest)`` rebuilds it."""
    out: dict[str, Any] = {"model": type(model).__name__}
    for f in fields(model):
        if f.init:
            value = getattr(model, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _two_phase(volume_fraction: float) -> dict[int, float]:
    return {0: 1.0 - volume_fraction, 1: volume_fraction}


def _ball_volume(radius: float | Array, ndim: int) -> Any:
    return math.pi * radius**2 if ndim == 2 else 4.0 / 3.0 * math.pi * radius**3


# ---------------------------------------------------------------------- geometry kernels
def _voxel_centres(dims: tuple[int, ...], edges: tuple[float, ...]) -> list[Array]:
    return [(np.arange(n) + 0.5) * (s / n) for n, s in zip(dims, edges, strict=True)]


def _paint_balls(
    dims: tuple[int, ...], edges: tuple[float, ...], centres: Array, radii: Array
) -> npt.NDArray[np.bool_]:
    """Voxels whose centre lies in the union of the periodic balls ``(centres, radii)``.

    ``x`` is covered iff ``min_i |x - c_i|^2 - r_i^2 <= 0`` (minimum image, so exact for any
    radius). Lifting each centre to ``(c_i, sqrt(r_max^2 - r_i^2))`` turns that power
    distance into a Euclidean one, answered by one periodic KD-tree query per voxel.
    """
    mask = np.zeros(math.prod(dims), dtype=bool)
    if len(centres) == 0:
        return mask.reshape(dims)
    r_max = float(radii.max())
    lift = np.sqrt(np.maximum(r_max**2 - radii**2, 0.0))
    data = np.column_stack([np.mod(centres, edges), lift])
    data[:, :-1][data[:, :-1] >= np.asarray(edges)] = 0.0  # cKDTree needs [0, boxsize)
    tree = cKDTree(data, boxsize=[*edges, 3.0 * r_max])
    axes = _voxel_centres(dims, edges)
    plane = np.stack(np.meshgrid(*axes[1:], indexing="ij"), axis=-1).reshape(-1, len(dims) - 1)
    rows = max(1, _CHUNK // len(plane))
    for start in range(0, dims[0], rows):
        x = axes[0][start : start + rows]
        pts = np.column_stack(
            [np.repeat(x, len(plane)), np.tile(plane, (len(x), 1)), np.zeros(len(x) * len(plane))]
        )
        dist, _ = tree.query(pts, k=1, distance_upper_bound=r_max * (1.0 + 1e-12), workers=-1)
        mask[start * len(plane) : (start + len(x)) * len(plane)] = dist <= r_max
    return mask.reshape(dims)


def _random_rotations(rng: np.random.Generator, n: int, ndim: int) -> Array:
    """``n`` rotation matrices uniform (Haar) on SO(2) or SO(3)."""
    if ndim == 2:
        theta = rng.uniform(0.0, 2.0 * np.pi, n)
        c, s = np.cos(theta), np.sin(theta)
        return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    if n == 0:
        return np.zeros((0, 3, 3))
    q = rng.standard_normal((n, 4))  # normalised Gaussian quaternions are Haar-uniform
    return Rotation.from_quat(q / np.linalg.norm(q, axis=1, keepdims=True)).as_matrix()


def _free_of_tree(
    tree: cKDTree, tree_radii: Array, cand: Array, r: float, gap: float
) -> npt.NDArray[np.bool_]:
    """Candidates at least ``r + r_j + gap`` from every centre ``j`` in ``tree``.

    ``tree_radii`` (descending, all ``>= r``) are the radii of the tree's balls. With equal
    radii the nearest centre decides; otherwise the 4 nearest are checked first, and the
    candidates whose 4th neighbour is still within reach are checked against up to
    ``bound`` neighbours: the most disjoint balls of radius ``>= r`` within reach.
    """
    n_tree, d = len(tree_radii), cand.shape[1]
    reach = r + float(tree_radii[0]) + gap
    pad = np.append(tree_radii, 0.0)  # index n_tree = "no neighbour"
    k = 1 if tree_radii[0] == tree_radii[-1] else min(n_tree, 4)
    dist, idx = tree.query(cand, k=k, distance_upper_bound=reach)
    dist, idx = dist.reshape(len(cand), k), idx.reshape(len(cand), k)
    free = ~np.any(dist < r + pad[idx] + gap, axis=1)
    bound = math.floor(((reach + r + 0.5 * gap) / (r + 0.5 * gap)) ** d) + 1
    k_all = min(n_tree, bound)
    unsure = np.flatnonzero(free & np.isfinite(dist[:, -1])) if k < k_all else []
    if len(unsure):
        dist, idx = tree.query(cand[unsure], k=k_all, distance_upper_bound=reach)
        dist, idx = dist.reshape(len(unsure), k_all), idx.reshape(len(unsure), k_all)
        free[unsure] = ~np.any(dist < r + pad[idx] + gap, axis=1)
    return free


def _rsa(
    rng: np.random.Generator,
    box: Array,
    radii: Array,
    gap: float,
    max_attempts: int,
    owner: str,
    target: float,
) -> Array:
    """Random sequential addition of balls with ``radii`` (descending) in a periodic box.

    Candidates are uniform and tested in order: one is accepted for the next ball ``i``
    when its minimum-image distance to every accepted centre ``j`` is at least
    ``r_i + r_j + gap``. Candidates come in batches; centres placed before the batch sit in
    a periodic KD-tree, those accepted since are checked by brute force. A batch serves
    several balls only while their radius equals the one it was screened for.
    """
    d, n = len(box), len(radii)
    centres = np.empty((n, d))
    tree, n_tree, batch, failures, i = None, 0, 16, 0, 0
    while i < n:
        r = float(radii[i])
        cand = rng.random((batch, d)) * box
        cand[cand >= box] = 0.0
        if tree is None:
            survivors = cand
        else:
            survivors = cand[_free_of_tree(tree, radii[:n_tree], cand, r, gap)]
        rejected = batch - len(survivors)
        for c in survivors:
            if i == n or radii[i] != r:
                break
            diff = c - centres[n_tree:i]
            diff -= box * np.round(diff / box)
            if np.all(np.einsum("nk,nk->n", diff, diff) >= (r + radii[n_tree:i] + gap) ** 2):
                centres[i], i, failures = c, i + 1, 0
            else:
                failures += 1
        failures += rejected if i < n and radii[i] == r else 0
        if failures >= max_attempts:
            reached = float(np.sum(_ball_volume(radii[:i], d))) / float(np.prod(box))
            raise ValueError(
                f"{owner}: volume_fraction={target:g} unreachable: random sequential "
                f"addition jammed after {failures} consecutive rejected candidates with "
                f"{i} of {n} inclusions placed (volume fraction reached {reached:.4f}); "
                "equal disks jam near 0.547 (2D), equal spheres near 0.38 (3D): lower "
                "volume_fraction or min_gap, or raise max_attempts"
            )
        batch = min(max(16, math.ceil(4 * batch / max(len(survivors), 0.5))), _MAX_BATCH)
        if i - n_tree >= 64:
            n_tree = i
            tree = cKDTree(centres[:n_tree], boxsize=box)
    return centres


def _closest_count(cumulative: Array, target: float) -> int:
    """Number ``n`` of leading items whose cumulative volume is closest to ``target``."""
    cum = np.concatenate([[0.0], cumulative])
    n = int(np.searchsorted(cum, target))  # first n with cum[n] >= target
    if n >= len(cum):
        n = len(cum) - 1
    if n > 0 and target - cum[n - 1] < cum[n] - target:
        n -= 1
    return n


def _draw_radii(
    rng: np.random.Generator, ndim: int, mean: float, std: float, target_volume: float
) -> Array:
    """Radii (descending) whose total ball volume is closest to ``target_volume``."""
    if std == 0.0:
        n = round(target_volume / _ball_volume(mean, ndim))
        return np.full(n, mean)
    s2 = math.log1p((std / mean) ** 2)
    mu, sigma = math.log(mean) - 0.5 * s2, math.sqrt(s2)
    mean_volume = _ball_volume(1.0, ndim) * math.exp(ndim * mu + 0.5 * (ndim * sigma) ** 2)
    chunk = math.ceil(1.2 * target_volume / mean_volume) + 16
    radii = np.empty(0)
    while float(np.sum(_ball_volume(radii, ndim))) < target_volume:
        radii = np.concatenate([radii, rng.lognormal(mu, sigma, chunk)])
    n = _closest_count(np.cumsum(_ball_volume(radii, ndim)), target_volume)
    return np.sort(radii[:n])[::-1]


def _rsa_inclusions(
    rng: np.random.Generator,
    edges: tuple[float, ...],
    volume_fraction: float,
    radius: float,
    radius_std: float,
    min_gap: float,
    max_attempts: int,
    owner: str,
) -> tuple[Array, Array]:
    ndim = len(edges)
    _min_edge_check("radius", radius, edges)
    radii = _draw_radii(rng, ndim, radius, radius_std, volume_fraction * math.prod(edges))
    if len(radii):
        _min_edge_check(f"radius (largest drawn, radius_std={radius_std:g})", radii[0], edges)
    box = np.asarray(edges)
    centres = _rsa(rng, box, radii, min_gap, max_attempts, owner, volume_fraction)
    logger.debug("%s placed %d inclusions in size=%s", owner, len(radii), edges)
    return centres, radii


# ---------------------------------------------------------------------- inclusion models
@dataclass(frozen=True)
class RandomSpheres:
    """Non-overlapping disks (2D) or spheres (3D) by periodic random sequential addition.

    Radii are lognormal with mean ``radius`` and standard deviation ``radius_std``
    (positive by construction; ``radius_std=0`` gives equal radii). Radii are drawn until
    their total volume is closest to ``volume_fraction`` of the cell (so the realized
    continuum fraction is within half an inclusion volume of it), then placed largest
    first; a candidate is accepted when its minimum-image distance to every placed centre
    is at least ``r + r_j + min_gap``.

    Parameters
    ----------
    ndim : {2, 3}
    volume_fraction : float
        Target fraction of phase ``1`` (the inclusions), ``0 < f < 1``.
    radius, radius_std, min_gap : float
        Mean and standard deviation of the radii, and the minimum surface gap (lengths).
    max_attempts : int
        Consecutive rejected candidates before the addition is declared jammed.

    Examples
    --------
    >>> model = RandomSpheres(ndim=2, volume_fraction=0.3, radius=0.05)
    >>> ms = model.sample(size=(1.0, 1.0), resolution=128, seed=0)
    >>> ms.shape, round(ms.volume_fraction(1), 2)
    ((128, 128), 0.3)
    """

    ndim: int
    volume_fraction: float
    radius: float
    radius_std: float = 0.0
    min_gap: float = 0.0
    max_attempts: int = 100_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "ndim", _check_ndim(self.ndim))
        object.__setattr__(self, "volume_fraction", _check_fraction(self.volume_fraction))
        object.__setattr__(self, "radius", _check_real("radius", self.radius, 0.0))
        std = _check_real("radius_std", self.radius_std, 0.0, lo_open=False)
        object.__setattr__(self, "radius_std", std)
        gap = _check_real("min_gap", self.min_gap, 0.0, lo_open=False)
        object.__setattr__(self, "min_gap", gap)
        object.__setattr__(self, "max_attempts", _check_count("max_attempts", self.max_attempts))

    def inclusions(self, size: Sequence[float], seed: int) -> tuple[Array, Array]:
        """Centres ``(n, ndim)`` in ``[0, size)`` and radii ``(n,)`` of one realization.

        These are the inclusions of ``sample(size, resolution, seed)`` at any resolution.

        Examples
        --------
        >>> c, r = RandomSpheres(3, 0.1, 0.1).inclusions((1.0, 1.0, 1.0), seed=1)
        >>> c.shape, float(r[0])
        ((24, 3), 0.1)
        """
        edges = _check_size(size, self.ndim)
        rng = np.random.default_rng(_check_seed(seed))
        return _rsa_inclusions(
            rng,
            edges,
            self.volume_fraction,
            self.radius,
            self.radius_std,
            self.min_gap,
            self.max_attempts,
            "RandomSpheres",
        )

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """Periodic realization: label ``1`` inside a ball, ``0`` in the matrix."""
        edges, dims = _grid(size, resolution, self.ndim)
        centres, radii = self.inclusions(edges, seed)
        return Microstructure(_paint_balls(dims, edges, centres, radii), size=edges)

    def expected_volume_fractions(self) -> dict[int, float]:
        """``{0: 1 - f, 1: f}`` (the target; a realization is within half a ball of it)."""
        return _two_phase(self.volume_fraction)

    def describe(self) -> dict[str, Any]:
        """Parameters as a JSON-serialisable dict."""
        return _describe(self)


@dataclass(frozen=True)
class RandomFibres:
    """Non-overlapping infinite aligned cylinders (3D): disk RSA in the transverse plane.

    The disks of a 2D :class:`RandomSpheres` realization in the plane normal to ``axis`` are
    extruded along ``axis``, so every fibre is periodic along its own axis.

    Examples
    --------
    >>> ms = RandomFibres(volume_fraction=0.4, radius=0.1).sample((1, 1, 0.5), 32, seed=2)
    >>> ms.shape, bool((ms.labels == ms.labels[:, :, :1]).all())
    ((32, 32, 16), True)
    """

    volume_fraction: float
    radius: float
    axis: int = 2
    min_gap: float = 0.0
    max_attempts: int = 100_000
    ndim: int = field(default=3, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "volume_fraction", _check_fraction(self.volume_fraction))
        object.__setattr__(self, "radius", _check_real("radius", self.radius, 0.0))
        if isinstance(self.axis, bool) or self.axis not in (0, 1, 2):
            raise ValueError(f"axis: got {self.axis!r}; expected 0, 1 or 2")
        object.__setattr__(self, "axis", int(self.axis))
        gap = _check_real("min_gap", self.min_gap, 0.0, lo_open=False)
        object.__setattr__(self, "min_gap", gap)
        object.__setattr__(self, "max_attempts", _check_count("max_attempts", self.max_attempts))

    def inclusions(self, size: Sequence[float], seed: int) -> tuple[Array, Array]:
        """Fibre centres ``(n, 2)`` in the transverse plane (axes in increasing order) and
        radii ``(n,)``."""
        edges = _check_size(size, 3)
        plane = tuple(s for a, s in enumerate(edges) if a != self.axis)
        rng = np.random.default_rng(_check_seed(seed))
        return _rsa_inclusions(
            rng,
            plane,
            self.volume_fraction,
            self.radius,
            0.0,
            self.min_gap,
            self.max_attempts,
            "RandomFibres",
        )

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """Periodic realization: label ``1`` in the fibres, ``0`` in the matrix."""
        edges, dims = _grid(size, resolution, 3)
        centres, radii = self.inclusions(edges, seed)
        keep = [a for a in range(3) if a != self.axis]
        disks = _paint_balls(
            tuple(dims[a] for a in keep), tuple(edges[a] for a in keep), centres, radii
        )
        labels = np.repeat(np.expand_dims(disks, self.axis), dims[self.axis], axis=self.axis)
        return Microstructure(labels, size=edges)

    def expected_volume_fractions(self) -> dict[int, float]:
        """``{0: 1 - f, 1: f}`` (the target; a realization is within half a disk of it)."""
        return _two_phase(self.volume_fraction)

    def describe(self) -> dict[str, Any]:
        """Parameters as a JSON-serialisable dict."""
        return _describe(self)


@dataclass(frozen=True)
class RandomEllipsoids:
    """Non-overlapping ellipses (2D) or ellipsoids (3D) by voxel-based random addition.

    ``n = round(f V / v)`` equal ellipsoids (``v`` the continuum volume) are added one at a
    time at uniform random centres, ``orientation="random"`` with Haar-uniform rotations
    (uniform angle in 2D), ``"aligned"`` with semi-axis ``i`` along axis ``i``. The overlap
    test is on voxels: a candidate is rejected when one of its voxels is already occupied,
    so the ellipsoids are disjoint as voxel sets (continuum shapes may overlap by less than a
    voxel).

    Examples
    --------
    >>> model = RandomEllipsoids(2, 0.2, semi_axes=(0.1, 0.04))
    >>> ms = model.sample((1.0, 1.0), resolution=64, seed=0)
    >>> round(ms.volume_fraction(1), 2)
    0.2
    """

    ndim: int
    volume_fraction: float
    semi_axes: tuple[float, ...]
    orientation: str = "random"
    max_attempts: int = 20_000

    def __post_init__(self) -> None:
        ndim = _check_ndim(self.ndim)
        object.__setattr__(self, "ndim", ndim)
        object.__setattr__(self, "volume_fraction", _check_fraction(self.volume_fraction))
        if isinstance(self.semi_axes, str) or np.ndim(self.semi_axes) != 1:
            raise ValueError(f"semi_axes: got {self.semi_axes!r}; expected {ndim} positive lengths")
        axes = tuple(_check_real("semi_axes", a, 0.0) for a in self.semi_axes)
        if len(axes) != ndim:
            raise ValueError(f"semi_axes: got {axes}; expected {ndim} positive lengths")
        object.__setattr__(self, "semi_axes", axes)
        if self.orientation not in ("random", "aligned"):
            raise ValueError(
                f"orientation: got {self.orientation!r}; expected 'random' or 'aligned'"
            )
        object.__setattr__(self, "max_attempts", _check_count("max_attempts", self.max_attempts))

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """Periodic realization: label ``1`` in the ellipsoids, ``0`` in the matrix."""
        edges, dims = _grid(size, resolution, self.ndim)
        _min_edge_check("semi_axes (largest)", max(self.semi_axes), edges)
        rng = np.random.default_rng(_check_seed(seed))
        a = np.asarray(self.semi_axes)
        volume = float(_ball_volume(1.0, self.ndim) * np.prod(a))
        n_target = round(self.volume_fraction * math.prod(edges) / volume)
        occupied = np.zeros(dims, dtype=bool)
        h, box = np.asarray(edges) / np.asarray(dims), np.asarray(edges)
        placed, failures = 0, 0
        while placed < n_target:
            cand = rng.random((32, self.ndim)) * box
            if self.orientation == "random":
                rot = _random_rotations(rng, 32, self.ndim)
            else:
                rot = np.broadcast_to(np.eye(self.ndim), (32, self.ndim, self.ndim))
            centre_voxel = tuple(np.minimum((cand / h).astype(int), np.asarray(dims) - 1).T)
            for c, R, hit in zip(cand, rot, occupied[centre_voxel], strict=True):
                if not hit:
                    box_index, inside = self._voxels(c, R, a, h, dims)
                    hit = bool(np.any(occupied[box_index][inside]))
                if hit:
                    failures += 1
                    if failures >= self.max_attempts:
                        raise ValueError(
                            f"RandomEllipsoids: volume_fraction={self.volume_fraction:g} "
                            f"unreachable: jammed after {failures} consecutive rejected "
                            f"candidates with {placed} of {n_target} placed (volume fraction "
                            f"reached {placed * volume / math.prod(edges):.4f}); lower "
                            "volume_fraction or raise max_attempts"
                        )
                    continue
                sub = occupied[box_index]
                sub[inside] = True
                occupied[box_index] = sub
                placed, failures = placed + 1, 0
                if placed == n_target:
                    break
        return Microstructure(occupied, size=edges)

    @staticmethod
    def _voxels(
        c: Array, R: Array, a: Array, h: Array, dims: tuple[int, ...]
    ) -> tuple[tuple[npt.NDArray[np.intp], ...], npt.NDArray[np.bool_]]:
        """Wrapped bounding-box index and inside mask of the ellipsoid ``(c, R, a)``."""
        half = np.sqrt((R**2) @ (a**2))  # extent along each grid axis
        idx, offsets = [], []
        for ci, wi, hi, ni in zip(c, half, h, dims, strict=True):
            i = np.arange(math.ceil((ci - wi) / hi - 0.5), math.floor((ci + wi) / hi - 0.5) + 1)
            idx.append(np.mod(i, ni))
            offsets.append((i + 0.5) * hi - ci)
        M = (R / a**2) @ R.T  # x^T M x <= 1 inside
        grids = np.meshgrid(*offsets, indexing="ij", sparse=True)
        form = sum(M[i, j] * grids[i] * grids[j] for i in range(len(c)) for j in range(len(c)))
        return np.ix_(*idx), np.asarray(form <= 1.0)

    def expected_volume_fractions(self) -> dict[int, float]:
        """``{0: 1 - f, 1: f}`` (the target; a realization is within half an ellipsoid)."""
        return _two_phase(self.volume_fraction)

    def describe(self) -> dict[str, Any]:
        """Parameters as a JSON-serialisable dict."""
        return _describe(self)


# ---------------------------------------------------------------------- Boolean, Gaussian
@dataclass(frozen=True)
class BooleanModel:
    """Boolean model: union of equal disks/spheres centred on a Poisson point process.

    The intensity ``lambda = -ln(1 - f) / v_ball`` makes the grain phase (label ``1``) cover
    a fraction ``f = 1 - exp(-lambda v_ball)``; the number of germs in a cell of volume ``V``
    is Poisson with mean ``lambda V``. Grains wrap around the periodic cell.

    Examples
    --------
    >>> ms = BooleanModel(2, volume_fraction=0.5, radius=0.05).sample((1, 1), 128, seed=0)
    >>> round(ms.volume_fraction(1), 1)
    0.5
    """

    ndim: int
    volume_fraction: float
    radius: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "ndim", _check_ndim(self.ndim))
        object.__setattr__(self, "volume_fraction", _check_fraction(self.volume_fraction))
        object.__setattr__(self, "radius", _check_real("radius", self.radius, 0.0))

    @property
    def intensity(self) -> float:
        """Germs per unit volume, ``-ln(1 - f) / v_ball``."""
        return -math.log1p(-self.volume_fraction) / _ball_volume(self.radius, self.ndim)

    def germs(self, size: Sequence[float], seed: int) -> Array:
        """Germ positions ``(n, ndim)`` of one realization, ``n ~ Poisson(lambda V)``."""
        edges = _check_size(size, self.ndim)
        rng = np.random.default_rng(_check_seed(seed))
        n = rng.poisson(self.intensity * math.prod(edges))
        return rng.random((n, self.ndim)) * np.asarray(edges)

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """Periodic realization: label ``1`` in the union of the grains."""
        edges, dims = _grid(size, resolution, self.ndim)
        germs = self.germs(edges, seed)
        mask = _paint_balls(dims, edges, germs, np.full(len(germs), self.radius))
        return Microstructure(mask, size=edges)

    def expected_volume_fractions(self) -> dict[int, float]:
        """``{0: 1 - f, 1: f}``, exact for the voxel fraction in expectation too."""
        return _two_phase(self.volume_fraction)

    def describe(self) -> dict[str, Any]:
        """Parameters as a JSON-serialisable dict."""
        return _describe(self)


def _periodic_gaussian_spectrum(
    dims: tuple[int, ...], edges: tuple[float, ...], length: float
) -> Array:
    """Eigenvalues (rfft layout) of the grid covariance ``prod_a g_a(x_a) / g_a(0)``.

    ``g_a`` is ``exp(-x^2 / l^2)`` summed over the periodic images along axis ``a``; the
    Gaussian is separable, so the spectrum is the outer product of 1D spectra, all real and
    non-negative (aliased samples of a positive continuous spectrum).
    """
    spectra = []
    for a, (n, s) in enumerate(zip(dims, edges, strict=True)):
        m = math.ceil(6.0 * length / s) + 1
        x = np.arange(n)[:, None] * (s / n) + s * np.arange(-m, m + 1)[None, :]
        g = np.exp(-((x / length) ** 2)).sum(axis=1)
        lam = np.maximum(fft.fft(g / g[0]).real, 0.0)
        spectra.append(lam[: n // 2 + 1] if a == len(dims) - 1 else lam)
    grids = np.meshgrid(*spectra, indexing="ij", sparse=True)
    return np.asarray(math.prod(grids))


@dataclass(frozen=True)
class GaussianExcursion:
    """Excursion set of a Gaussian random field with covariance ``exp(-r^2 / l^2)``.

    White noise ``w`` is filtered in Fourier space, ``X = IFFT(sqrt(lambda) FFT(w))``, where
    ``lambda`` are the eigenvalues of the covariance matrix of the grid, i.e. the DFT of the
    covariance periodised over the cell and normalised to ``1`` at lag 0. The ensemble
    covariance of the sampled field is then exactly that periodic covariance (unit variance,
    so the voxel fraction is unbiased). Phase ``1`` is ``X > u``, ``u = Phi^-1(1 - f)``.

    Examples
    --------
    >>> model = GaussianExcursion(2, volume_fraction=0.3, correlation_length=0.05)
    >>> round(model.sample((1, 1), 256, seed=0).volume_fraction(1), 1)
    0.3
    """

    ndim: int
    volume_fraction: float
    correlation_length: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "ndim", _check_ndim(self.ndim))
        object.__setattr__(self, "volume_fraction", _check_fraction(self.volume_fraction))
        length = _check_real("correlation_length", self.correlation_length, 0.0)
        object.__setattr__(self, "correlation_length", length)

    @property
    def threshold(self) -> float:
        """Level ``u = Phi^-1(1 - f)`` of the excursion."""
        return float(special.ndtri(1.0 - self.volume_fraction))

    def gaussian_field(self, size: Sequence[float], resolution: float, seed: int) -> Array:
        """The zero-mean, unit-variance field on the voxel grid (before thresholding)."""
        edges, dims = _grid(size, resolution, self.ndim)
        rng = np.random.default_rng(_check_seed(seed))
        noise = fft.rfftn(rng.standard_normal(dims), workers=-1)
        noise *= np.sqrt(_periodic_gaussian_spectrum(dims, edges, self.correlation_length))
        return np.asarray(fft.irfftn(noise, s=dims, workers=-1))

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """Periodic realization: label ``1`` where the field exceeds the threshold."""
        edges = _check_size(size, self.ndim)
        field_ = self.gaussian_field(edges, resolution, seed)
        return Microstructure(field_ > self.threshold, size=edges)

    def expected_volume_fractions(self) -> dict[int, float]:
        """``{0: Phi(u), 1: 1 - Phi(u)}`` = ``{0: 1 - f, 1: f}``."""
        return _two_phase(self.volume_fraction)

    def describe(self) -> dict[str, Any]:
        """Parameters as a JSON-serialisable dict."""
        return _describe(self)


# ---------------------------------------------------------------------- polycrystal
@dataclass(frozen=True)
class VoronoiPolycrystal:
    """Poisson-Voronoi polycrystal: grain ``i`` is the periodic Voronoi cell of seed ``i``.

    The number of seeds is Poisson with mean ``V / grain_size**ndim`` (conditioned to at
    least one), so the mean grain volume is ``grain_size**ndim``. Labels are seed indices
    ``0..n-1``; a grain smaller than a voxel may own no voxel. Each grain is its own phase,
    so :meth:`expected_volume_fractions` returns ``{}``; use :meth:`orientations` and
    :func:`polycrystal_materials` to give every grain a rotated crystal law.

    Examples
    --------
    >>> model = VoronoiPolycrystal(ndim=2, grain_size=0.25)
    >>> ms = model.sample((1.0, 1.0), resolution=32, seed=0)
    >>> R = model.orientations((1.0, 1.0), seed=0)
    >>> bool(len(R) == ms.labels.max() + 1), R.shape[1:]
    (True, (2, 2))
    """

    ndim: int
    grain_size: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "ndim", _check_ndim(self.ndim))
        object.__setattr__(self, "grain_size", _check_real("grain_size", self.grain_size, 0.0))

    def _seeds(self, edges: tuple[float, ...], rng: np.random.Generator) -> Array:
        n = max(1, int(rng.poisson(math.prod(edges) / self.grain_size**self.ndim)))
        return rng.random((n, self.ndim)) * np.asarray(edges)

    def seeds(self, size: Sequence[float], seed: int) -> Array:
        """Seed positions ``(n, ndim)`` of one realization."""
        edges = _check_size(size, self.ndim)
        return self._seeds(edges, np.random.default_rng(_check_seed(seed)))

    def orientations(self, size: Sequence[float], seed: int) -> Array:
        """Haar-uniform grain rotations ``(n, ndim, ndim)`` of the realization ``seed``.

        Drawn from the same random stream after the seeds, so grain ``i`` of
        ``sample(size, resolution, seed)`` has rotation ``orientations(size, seed)[i]`` at
        every resolution.
        """
        edges = _check_size(size, self.ndim)
        rng = np.random.default_rng(_check_seed(seed))
        n = len(self._seeds(edges, rng))
        return _random_rotations(rng, n, self.ndim)

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """Periodic realization: each voxel labelled by its nearest seed (minimum image)."""
        edges, dims = _grid(size, resolution, self.ndim)
        seeds = self.seeds(edges, seed)
        seeds[seeds >= np.asarray(edges)] = 0.0
        tree = cKDTree(seeds, boxsize=edges)
        pts = np.stack(np.meshgrid(*_voxel_centres(dims, edges), indexing="ij"), axis=-1)
        _, idx = tree.query(pts.reshape(-1, self.ndim), k=1, workers=-1)
        return Microstructure(idx.reshape(dims).astype(np.int32), size=edges)

    def expected_volume_fractions(self) -> dict[int, float]:
        """``{}``: grains are not phases with an ensemble fraction (each has mean 0 as the
        cell grows)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Parameters as a JSON-serialisable dict."""
        return _describe(self)


class CrystalLaw(Protocol):
    """A linear law with a material matrix: :class:`~scalebridge.materials.Elasticity`
    (``physics == "elasticity"``, built by ``type(law)(C=...)``) or
    :class:`~scalebridge.materials.Conductivity` (``"conduction"``, ``type(law)(k=...)``)."""

    @property
    def physics(self) -> str:
        """``"elasticity"`` or ``"conduction"``."""
        ...

    def tensor(self, ndim: int) -> Array:
        """Mandel stiffness or conductivity matrix for a ``ndim``-D problem."""
        ...


LawT = TypeVar("LawT", bound=CrystalLaw)


def _mandel_rotation(R: Array) -> Array:
    """Mandel matrices ``Q`` with ``mandel(R e R^T) = Q mandel(e)``, for stacked ``R``.

    ``Q_ab = B_a : (R B_b R^T)`` on the orthonormal Mandel basis ``B`` (order ``[11, 22,
    12]`` in 2D, ``[11, 22, 33, 23, 13, 12]`` in 3D), as ``scalebridge.tensors`` defines it.
    """
    d = R.shape[-1]
    pairs = [(0, 0), (1, 1), (0, 1)] if d == 2 else [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    basis = np.zeros((len(pairs), d, d))
    for a, (i, j) in enumerate(pairs):
        basis[a, i, j] = basis[a, j, i] = 1.0 if i == j else math.sqrt(0.5)
    rotated = np.einsum("nik,bkl,njl->nbij", R, basis, R)
    return np.einsum("aij,nbij->nab", basis, rotated)


def polycrystal_materials(orientations: npt.ArrayLike, crystal_law: LawT) -> dict[int, LawT]:
    """Phase map ``{i: crystal_law rotated by orientations[i]}`` for a polycrystal.

    An elastic law is rotated as ``Q C Q^T`` (Mandel); with 2D rotations a law that has a
    3D tensor is rotated about the ``z`` axis, which keeps its plane-strain block
    consistent. A conductivity is rotated as ``R k R^T``. The laws are duck-typed
    (:class:`CrystalLaw`) so that this subpackage imports nothing else of ``scalebridge``.

    Examples
    --------
    >>> from scalebridge.materials import Conductivity
    >>> R = VoronoiPolycrystal(2, 0.5).orientations((1.0, 1.0), seed=0)
    >>> laws = polycrystal_materials(R, Conductivity(k=np.diag([1.0, 4.0])))
    >>> all(abs(np.trace(law.tensor(2)) - 5.0) < 1e-12 for law in laws.values())
    True
    """
    R = np.asarray(orientations, dtype=float)
    if R.ndim != 3 or R.shape[1:] not in ((2, 2), (3, 3)):
        raise ValueError(
            f"orientations: got shape {R.shape}; expected (n, 2, 2) or (n, 3, 3) rotations"
        )
    error = float(np.abs(R @ R.swapaxes(1, 2) - np.eye(R.shape[-1])).max(initial=0.0))
    if not error <= 1e-8:
        raise ValueError(f"orientations: not orthogonal (max |R R^T - I| = {error:.2e})")
    physics, cls = getattr(crystal_law, "physics", None), type(crystal_law)
    if physics == "elasticity":
        try:
            C, Rm = crystal_law.tensor(3), R
            if R.shape[-1] == 2:  # a 3D tensor turned about z
                Rm = np.zeros((len(R), 3, 3))
                Rm[:, :2, :2], Rm[:, 2, 2] = R, 1.0
        except ValueError:  # a 2D-only (3x3 plane-strain) law
            C, Rm = crystal_law.tensor(2), R
        Q = _mandel_rotation(Rm)
        rotated = Q @ np.asarray(C) @ Q.swapaxes(1, 2)
        return {i: cls(C=0.5 * (Ci + Ci.T)) for i, Ci in enumerate(rotated)}  # type: ignore[call-arg]
    if physics == "conduction":
        k = R @ np.asarray(crystal_law.tensor(R.shape[-1])) @ R.swapaxes(1, 2)
        return {i: cls(k=0.5 * (ki + ki.T)) for i, ki in enumerate(k)}  # type: ignore[call-arg]
    raise ValueError(
        f"crystal_law: got {crystal_law!r}; expected an Elasticity or Conductivity law "
        "(physics 'elasticity' or 'conduction' and a tensor(ndim) method)"
    )


# ---------------------------------------------------------------------- image windows
@dataclass(frozen=True, eq=False)
class ImageWindows:
    """Windows of a large (measured) image at random, seeded positions.

    ``sample(size, resolution, seed)`` cuts a window of ``round(size * resolution)`` voxels
    at a uniform random offset, never wrapping (a measured image is not periodic, and
    neither are its windows). ``resolution`` must be the image's (voxels per unit length,
    equal on every axis); the window's size is its voxel count times the image spacing.

    Examples
    --------
    >>> big = RandomSpheres(2, 0.3, 0.02).sample((2.0, 2.0), resolution=64, seed=0)
    >>> window = ImageWindows(big).sample((0.5, 0.5), resolution=64, seed=1)
    >>> window.shape, window.size
    ((32, 32), (0.5, 0.5))
    """

    microstructure: Microstructure

    def __post_init__(self) -> None:
        if not isinstance(self.microstructure, Microstructure):
            raise ValueError(
                f"microstructure: got {type(self.microstructure).__name__}; expected a "
                "Microstructure"
            )

    @property
    def ndim(self) -> int:
        """Spatial dimension of the image."""
        return self.microstructure.ndim

    @property
    def resolution(self) -> float:
        """Voxels per unit length of the image (raises if it differs between axes)."""
        res = [1.0 / h for h in self.microstructure.spacing]
        if max(res) - min(res) > 1e-9 * max(res):
            raise ValueError(
                f"ImageWindows: the image has resolutions {tuple(res)} per axis; windows "
                "need equal voxel edges on every axis"
            )
        return res[0]

    def sample(self, size: Sequence[float], resolution: float, seed: int) -> Microstructure:
        """A window of physical ``size`` at a random position of the image."""
        image = self.microstructure
        res = _check_real("resolution", resolution, 0.0)
        if abs(res - self.resolution) > 1e-6 * self.resolution:
            raise ValueError(
                f"resolution: got {resolution!r}; an image window must use the image's "
                f"resolution {self.resolution:g} voxels per unit length"
            )
        edges, dims = _grid(size, res, self.ndim)
        if any(m > n for m, n in zip(dims, image.shape, strict=True)):
            raise ValueError(
                f"size: got {edges}, i.e. {dims} voxels, which exceeds the image "
                f"({image.shape} voxels, size {image.size}); request a smaller window"
            )
        rng = np.random.default_rng(_check_seed(seed))
        start = [int(rng.integers(0, n - m + 1)) for m, n in zip(dims, image.shape, strict=True)]
        window = tuple(slice(s, s + m) for s, m in zip(start, dims, strict=True))
        out = tuple(m * h for m, h in zip(dims, image.spacing, strict=True))
        return Microstructure(image.labels[window], size=out)

    def expected_volume_fractions(self) -> dict[int, float]:
        """The image's volume fractions."""
        return self.microstructure.volume_fractions()

    def describe(self) -> dict[str, Any]:
        """Image shape, size and fractions as a JSON-serialisable dict."""
        image = self.microstructure
        return {
            "model": "ImageWindows",
            "ndim": image.ndim,
            "shape": list(image.shape),
            "size": list(image.size),
            "volume_fractions": {str(k): v for k, v in image.volume_fractions().items()},
        }
