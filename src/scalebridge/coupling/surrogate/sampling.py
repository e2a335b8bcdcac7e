"""Sampling plans for the macro load space, and the sampled range of a surrogate.

A `LoadBox` is a box in linear coordinates of the small strain: the tensor components
(``"components"``: ``(e11, e22, e12)`` in 2D, ``(e11, e22, e33, e23, e13, e12)`` in 3D,
no factor 2 or sqrt 2) or, in 2D, the volumetric-deviatoric coordinates
(``"volumetric-deviatoric"``: ``(e11 + e22, (e11 - e22) / 2, e12)``), which fit the
nearly isochoric strains of a plastic macro problem with far fewer wasted samples.
Strains enter and leave as Mandel vectors, the layout of every small-strain law.

A `LoadingPlan` turns points of the box drawn by a Latin hypercube, a scrambled Sobol
sequence or a grid (`unit_samples`) into radial loading paths from zero: monotonic
(``0 -> E``) or cyclic (``0 -> E -> r E -> E ...``).  For a path-dependent RVE only the
monotonic radial paths define a nonlinear-elastic (deformation-theory) response; cyclic
paths are for validation.

Evaluations outside the sampled range are reported by `check_in_range` according to a
policy: ``"warn"`` (`OutOfRangeWarning`), ``"raise"`` (`OutOfRangeError`) or ``"ignore"``.

>>> box = load_box(2, ([-0.01, -0.05, -0.05], [0.03, 0.05, 0.05]), "volumetric-deviatoric")
>>> plan = LoadingPlan(box, n_paths=4, steps=5, seed=0)
>>> [p.shape for p in plan.paths()]
[(5, 3), (5, 3), (5, 3), (5, 3)]
>>> bool(box.contains(np.concatenate(plan.paths())).all())
True
"""

from __future__ import annotations

import hashlib
import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import qmc

Array = NDArray[np.float64]
Policy = Literal["warn", "raise", "ignore"]
Method = Literal["lhs", "sobol", "grid"]
Coordinates = Literal["components", "volumetric-deviatoric"]

POLICIES = ("warn", "raise", "ignore")
METHODS = ("lhs", "sobol", "grid")
COORDINATES = ("components", "volumetric-deviatoric")
LOADINGS = ("monotonic", "cyclic")
_SQRT2 = math.sqrt(2.0)

__all__ = [
    "COORDINATES",
    "LOADINGS",
    "METHODS",
    "POLICIES",
    "LoadBox",
    "LoadingPlan",
    "OutOfRangeError",
    "OutOfRangeWarning",
    "box_bounds",
    "check_in_range",
    "check_policy",
    "inside_box",
    "load_box",
    "load_factors",
    "unit_samples",
]


# --------------------------------------------------------------------------- range policy
class OutOfRangeWarning(UserWarning):
    """A surrogate was evaluated outside the sampled range of its database."""


class OutOfRangeError(ValueError):
    """A surrogate with ``out_of_range="raise"`` was evaluated outside its sampled range."""


def check_policy(who: str, policy: str) -> None:
    """Raise a ValueError unless ``policy`` is one of `POLICIES`."""
    if policy not in POLICIES:
        raise ValueError(f"{who}: out_of_range must be one of {POLICIES}, got {policy!r}")


def inside_box(c: Array, lower: Array, upper: Array, margin: float = 0.0) -> NDArray[np.bool_]:
    """Mask ``(n,)``: rows of ``c`` ``(n, m)`` inside ``[lower, upper]`` widened by
    ``margin`` times the edge lengths (and a round-off tolerance)."""
    pad = margin * (upper - lower)
    tol = 1e-12 * max(float(np.abs(np.r_[lower, upper]).max()), 1.0)
    return np.all((c >= lower - pad - tol) & (c <= upper + pad + tol), axis=1)


def check_in_range(
    inside: NDArray[np.bool_],
    policy: str,
    *,
    who: str,
    region: str,
    coordinates: Array,
    stacklevel: int = 3,
) -> None:
    """Report points outside the sampled range per ``policy`` (nothing if all inside).

    Parameters
    ----------
    inside : ndarray of bool, shape (n,)
    policy : {"warn", "raise", "ignore"}
    who : str
        The law, named in the message.
    region : str
        Description of the sampled range, e.g. ``"strain box [..] .. [..]"``.
    coordinates : ndarray, shape (n, m)
        The coordinates that were checked (the first offending row is quoted).
    stacklevel : int
        Of the warning, counted from the caller of this function.

    Raises
    ------
    OutOfRangeError
        With ``policy="raise"`` when a point is outside.
    """
    if policy == "ignore" or inside.all():
        return
    bad = np.flatnonzero(~inside)
    msg = (
        f"{who}: {bad.size} of {inside.size} point(s) outside the sampled {region} (first: "
        f"point {int(bad[0])}, components {np.round(coordinates[bad[0]], 6).tolist()}); "
        "extend the database or reduce the load"
    )
    if policy == "raise":
        raise OutOfRangeError(msg)
    warnings.warn(msg, OutOfRangeWarning, stacklevel=stacklevel + 1)


# --------------------------------------------------------------------------- samples
def unit_samples(method: str, n: int, dim: int, seed: int | None = 0) -> Array:
    """``n`` points of the unit cube ``[0, 1]^dim``.

    Parameters
    ----------
    method : {"lhs", "sobol", "grid"}
        Latin hypercube (`scipy.stats.qmc.LatinHypercube`), scrambled Sobol sequence
        (best balanced when ``n`` is a power of 2), or a full grid with ``k`` points per
        axis, corners included (``n`` must be ``k**dim``).
    n, dim : int
    seed : int, optional
        Seed of the random methods.

    Returns
    -------
    ndarray, shape (n, dim)

    Examples
    --------
    >>> unit_samples("grid", 4, 2).tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"unit_samples: n must be an integer >= 1, got {n!r}")
    if method == "lhs":
        return qmc.LatinHypercube(d=dim, seed=seed).random(int(n))
    if method == "sobol":
        with warnings.catch_warnings():  # balance warning for n not a power of 2
            warnings.simplefilter("ignore", UserWarning)
            return qmc.Sobol(d=dim, scramble=True, seed=seed).random(int(n))
    if method == "grid":
        k = round(n ** (1.0 / dim))
        if k < 2 or k**dim != n:
            raise ValueError(
                f"unit_samples: a grid needs n = k**{dim} points with k >= 2, got n = {n} "
                f"(try {max(k, 2) ** dim})"
            )
        axes = np.meshgrid(*[np.linspace(0.0, 1.0, k)] * dim, indexing="ij")
        return np.stack([a.ravel() for a in axes], axis=1)
    raise ValueError(f"unit_samples: method must be one of {METHODS}, got {method!r}")


# --------------------------------------------------------------------------- boxes
def _coordinate_matrix(coordinates: str, m: int) -> Array:
    """``T`` ``(m, m)`` with ``c = T x`` for a Mandel strain ``x``."""
    if coordinates == "components":
        return np.diag(np.r_[np.ones(m // 2), np.full(m - m // 2, 1.0 / _SQRT2)])
    return np.array([[1.0, 1.0, 0.0], [0.5, -0.5, 0.0], [0.0, 0.0, 1.0 / _SQRT2]])


@dataclass(frozen=True)
class LoadBox:
    """A box of small strains in linear coordinates (see the module docstring).

    Attributes
    ----------
    coordinates : {"components", "volumetric-deviatoric"}
    lower, upper : ndarray, shape (m,)
        Bounds; ``m = 3`` (2D plane strain) or ``6`` (3D).
    """

    coordinates: str
    lower: Array
    upper: Array

    @property
    def m(self) -> int:
        """Mandel components of the strain."""
        return int(self.lower.size)

    @property
    def matrix(self) -> Array:
        """``T`` with ``coordinates = T @ mandel``."""
        return _coordinate_matrix(self.coordinates, self.m)

    def to_coordinates(self, strain: ArrayLike) -> Array:
        """Box coordinates ``(n, m)`` of Mandel strains ``(..., m)``."""
        x = np.asarray(strain, dtype=float)
        if x.ndim == 0 or x.shape[-1] != self.m:
            raise ValueError(f"LoadBox: strain must be Mandel (..., {self.m}), got {x.shape}")
        return x.reshape(-1, self.m) @ self.matrix.T

    def to_mandel(self, c: ArrayLike) -> Array:
        """Mandel strains ``(n, m)`` of box coordinates ``(n, m)``."""
        return np.linalg.solve(self.matrix, np.asarray(c, dtype=float).reshape(-1, self.m).T).T

    def contains(self, strain: ArrayLike, margin: float = 0.0) -> NDArray[np.bool_]:
        """Mask ``(n,)``: inside the box widened by ``margin`` times its edge lengths."""
        return inside_box(self.to_coordinates(strain), self.lower, self.upper, margin)

    def describe(self) -> str:
        """``"<coordinates> strain box [..] .. [..]"`` for messages."""
        return f"{self.coordinates} strain box {self.lower.tolist()} .. {self.upper.tolist()}"

    def sample(self, n: int, method: str = "lhs", seed: int | None = 0) -> Array:
        """``n`` Mandel strains ``(n, m)`` drawn in the box by `unit_samples`."""
        u = unit_samples(method, n, self.m, seed)
        return self.to_mandel(self.lower + u * (self.upper - self.lower))

    def extent(self) -> Array:
        """Largest ``|x_i|`` of each Mandel component over the box ``(m,)``."""
        corners = np.array(list(itertools.product(*zip(self.lower, self.upper, strict=True))))
        return np.abs(self.to_mandel(corners)).max(axis=0)

    def reach(self, direction: Array) -> Array:
        """Largest ``s >= 0`` per row with ``s * direction`` in the box (``(n,)``)."""
        c = np.asarray(direction, dtype=float).reshape(-1, self.m) @ self.matrix.T
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(c > 0, self.upper / c, np.where(c < 0, self.lower / c, np.inf))
        return s.min(axis=1)


def box_bounds(
    who: str, dim: int, bounds: float | tuple[ArrayLike, ArrayLike]
) -> tuple[Array, Array]:
    """Validated ``(lower, upper)`` ``(m,)`` of a box in ``dim`` dimensions: ``bounds`` a
    half-width ``r`` (all components in ``[-r, r]``) or a pair of ``m`` values each."""
    m = 3 if dim == 2 else 6
    if np.ndim(bounds) == 0:
        r = float(bounds)  # type: ignore[arg-type]
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"{who}: bounds must be a positive half-width, got {bounds!r}")
        return np.full(m, -r), np.full(m, r)
    lo, hi = (np.asarray(b, dtype=float).ravel() for b in bounds)  # type: ignore[union-attr]
    if lo.shape != (m,) or hi.shape != (m,) or not np.all(np.isfinite(np.r_[lo, hi])):
        raise ValueError(
            f"{who}: bounds (lower, upper) must hold {m} finite values each for "
            f"dim = {dim}, got {bounds!r}"
        )
    if np.any(hi < lo):
        raise ValueError(f"{who}: need lower <= upper, got {lo.tolist()}, {hi.tolist()}")
    return lo, hi


def load_box(
    dim: int,
    bounds: float | tuple[ArrayLike, ArrayLike],
    coordinates: Coordinates = "components",
) -> LoadBox:
    """A `LoadBox`: ``bounds`` a half-width ``r`` (all coordinates in ``[-r, r]``) or a
    pair ``(lower, upper)`` of ``m`` values each.

    Examples
    --------
    >>> load_box(2, 0.01).upper.tolist()
    [0.01, 0.01, 0.01]
    """
    if dim not in (2, 3):
        raise ValueError(f"load_box: dim must be 2 or 3, got {dim!r}")
    if coordinates not in COORDINATES:
        raise ValueError(f"load_box: coordinates must be one of {COORDINATES}, got {coordinates!r}")
    if coordinates == "volumetric-deviatoric" and dim != 2:
        raise ValueError("load_box: coordinates 'volumetric-deviatoric' are 2D only")
    lo, hi = box_bounds("load_box", dim, bounds)
    return LoadBox(coordinates, lo, hi)


# --------------------------------------------------------------------------- paths
def load_factors(
    steps: int,
    loading: str = "monotonic",
    cycles: int = 1,
    ratio: float = -1.0,
    grading: float = 1.0,
) -> Array:
    """Load factors of a radial path.

    ``"monotonic"``: ``(k / steps) ** grading`` for ``k = 1 .. steps`` (``grading > 1``
    puts more steps at small strain, where an elasto-plastic cell yields).
    ``"cyclic"``: that first loading, then ``cycles`` times down to ``ratio`` and back up
    to 1 (``-1 <= ratio < 1``) in uniform increments of about ``1 / steps``.

    Examples
    --------
    >>> load_factors(2, "cyclic", ratio=0.0).tolist()
    [0.5, 1.0, 0.5, 0.0, 0.5, 1.0]
    >>> load_factors(4, grading=2.0).tolist()
    [0.0625, 0.25, 0.5625, 1.0]
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"load_factors: steps must be an integer >= 1, got {steps!r}")
    if not (isinstance(grading, int | float) and 1.0 <= grading <= 4.0):
        raise ValueError(f"load_factors: grading must lie in [1, 4], got {grading!r}")
    up = (np.arange(1, steps + 1) / steps) ** grading
    if loading == "monotonic":
        return up
    if loading != "cyclic":
        raise ValueError(f"load_factors: loading must be one of {LOADINGS}, got {loading!r}")
    if not -1.0 <= ratio < 1.0:
        raise ValueError(f"load_factors: ratio must lie in [-1, 1), got {ratio!r}")
    if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1:
        raise ValueError(f"load_factors: cycles must be an integer >= 1, got {cycles!r}")
    k = max(round((1.0 - ratio) * steps), 1)
    down = 1.0 - (1.0 - ratio) * np.arange(1, k + 1) / k
    back = ratio + (1.0 - ratio) * np.arange(1, k + 1) / k
    return np.concatenate([up] + [np.r_[down, back]] * cycles)


@dataclass(frozen=True)
class LoadingPlan:
    """Radial loading paths from zero through points of a box.

    Attributes
    ----------
    box : LoadBox
        The sampled range (must contain zero).
    n_paths : int
        Points drawn in the box; each gives one path (a zero point or a direction met
        twice is dropped, so `amplitudes` may hold fewer).
    method : {"lhs", "sobol", "grid"}
        See `unit_samples`.
    seed : int or None
    steps : int
        Increments from zero to the amplitude.
    loading : {"monotonic", "cyclic"}
    cycles : int
        Cyclic paths: unload-reload cycles after the first loading.
    ratio : float
        Cyclic paths: strain ratio at the reversal (``-1``: fully reversed).
    to_boundary : bool
        Stretch each drawn point along its ray to the boundary of the box (every path
        then spans the box; the points set the directions).
    grading : float
        Spacing of the first loading, see `load_factors`.
    """

    box: LoadBox
    n_paths: int
    method: str = "lhs"
    seed: int | None = 0
    steps: int = 10
    loading: str = "monotonic"
    cycles: int = 1
    ratio: float = -1.0
    to_boundary: bool = True
    grading: float = 1.0

    def __post_init__(self) -> None:
        if not inside_box(np.zeros((1, self.box.m)), self.box.lower, self.box.upper)[0]:
            raise ValueError(
                f"LoadingPlan: radial paths start at zero strain, which is outside the "
                f"{self.box.describe()}; widen the box to contain zero"
            )
        self.factors  # noqa: B018 - validates the path parameters

    @property
    def factors(self) -> Array:
        """Load factors of every path (see `load_factors`)."""
        return load_factors(self.steps, self.loading, self.cycles, self.ratio, self.grading)

    def amplitudes(self) -> Array:
        """Mandel amplitudes ``E`` ``(k, m)`` of the paths (``k <= n_paths``)."""
        x = self.box.sample(self.n_paths, self.method, self.seed)
        x = x[np.linalg.norm(x, axis=1) > 1e-12 * float(np.abs(x).max(initial=1e-300))]
        scale = self.box.reach(x) if self.to_boundary else np.ones(len(x))
        f_min = float(self.factors.min())
        if f_min < 0.0:  # the reversed branch must stay in the box too
            scale = np.minimum(scale, self.box.reach(f_min * x))
        if not len(x):
            raise ValueError("LoadingPlan: every drawn point is zero; draw more points")
        amp = x * scale[:, None]
        _, first = np.unique(np.round(amp / np.abs(amp).max(), 12), axis=0, return_index=True)
        return amp[np.sort(first)]

    def paths(self) -> list[Array]:
        """One array ``(n_steps, m)`` of Mandel strains per path."""
        f = self.factors
        return [f[:, None] * e for e in self.amplitudes()]

    def keys(self) -> list[str]:
        """Content keys of the paths (equal paths have equal keys)."""
        return [path_key(p, self.loading) for p in self.paths()]


def path_key(path: Array, loading: str) -> str:
    """Content hash of a loading path (its strains rounded to 1e-15 and its kind)."""
    h = hashlib.sha256(loading.encode())
    h.update(np.ascontiguousarray(np.round(np.asarray(path, dtype=float), 15)).tobytes())
    return h.hexdigest()[:20]
