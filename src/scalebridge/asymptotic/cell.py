"""Periodic coefficients and their cell correctors.

For ``-div(a(x/eps) grad u) = f`` the two-scale expansion ``u = u0(x) + eps u1(x, x/eps)
+ ...`` gives, at order ``eps^-1``, the cell problems

    -div_y( a(y) (e_j + grad_y chi_j) ) = 0,   chi_j periodic, zero mean,

so that ``u1 = chi(y) . grad u0``, and at order ``eps^0`` the homogenized equation
``-div(a_hom grad u0) = f`` with ``a_hom = <a (I + grad_y chi)>``.

1D uses the closed form (``a_hom`` = harmonic mean, ``chi' = a_hom / a - 1``); 2D and 3D
solve the cell problems with the voxel FE / FFT solver of `scalebridge.cell` on the
coefficient sampled at voxel centres (midpoint rule: second order for a smooth ``a``,
exact for a voxel microstructure).  Elastic correctors (the 3 or 6 cell problems of unit
Mandel strains) come from the same solver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


# --------------------------------------------------------------------------- coefficients
@dataclass(frozen=True)
class PeriodicCoefficient:
    """A 1-periodic coefficient ``a(y)`` on the unit cell ``[0, 1)^d``.

    Build it with `from_function` (a Python function of ``y``, scalar or matrix valued)
    or `from_microstructure` (a voxel `Microstructure` with one law per phase, resized
    to the unit cell).
    """

    ndim: int
    physics: str
    function: Callable[[Array], Array] | None = None
    microstructure: Any = None
    materials: Mapping[int, Any] | None = None
    name: str = "a(y)"

    @classmethod
    def from_function(
        cls, function: Callable[[Array], Any], ndim: int, name: str = "a(y)"
    ) -> PeriodicCoefficient:
        """``function(y)`` with ``y`` of shape ``(d, ...)`` returns ``(...)`` (scalar
        coefficient) or ``(d, d, ...)`` (matrix); it must be 1-periodic in every ``y_i``."""
        if ndim not in (1, 2, 3):
            raise ValueError(f"ndim: got {ndim!r}; expected 1, 2 or 3")
        if not callable(function):
            raise ValueError(f"function: got {function!r}; expected a callable a(y)")
        probe = np.asarray(function(np.full((ndim, 3), 0.3)), dtype=float)
        if probe.shape not in ((3,), (ndim, ndim, 3)):
            raise ValueError(
                f"function: a(y) for y of shape ({ndim}, 3) returned shape {probe.shape}; "
                f"expected (3,) (scalar) or ({ndim}, {ndim}, 3) (matrix)"
            )
        if not np.all(np.isfinite(probe)):
            raise ValueError("function: a(y) returned non-finite values")
        return cls(ndim=ndim, physics="conduction", function=function, name=name)

    @classmethod
    def from_microstructure(cls, microstructure: Any, materials: Mapping[int, Any]) -> Any:
        """A voxel cell with laws (conductivity or elasticity), on the unit cell."""
        from scalebridge.cell.setup import phase_tensors

        _, _, physics = phase_tensors(microstructure, materials)
        return cls(
            ndim=microstructure.ndim,
            physics=physics,
            microstructure=microstructure,
            materials=dict(materials),
            name="voxel cell",
        )

    def __call__(self, y: ArrayLike) -> Array:
        """``a(y)``: ``(...)`` or ``(d, d, ...)`` for conduction at points ``y (d, ...)``."""
        y = np.asarray(y, dtype=float)
        if self.function is not None:
            return np.asarray(self.function(np.mod(y, 1.0)), dtype=float)
        ms = self.microstructure
        idx = tuple(
            np.minimum((np.mod(y[i], 1.0) * n).astype(int), n - 1) for i, n in enumerate(ms.shape)
        )
        labels = np.asarray(ms.labels)[idx]
        from scalebridge.cell.setup import phase_tensors

        _, tensors, _ = phase_tensors(ms, self.materials)  # compact label order
        present = np.unique(ms.labels)
        out = np.array(tensors)[np.searchsorted(present, labels)]  # (..., d, d)
        return np.moveaxis(np.moveaxis(out, -1, 0), -1, 0)

    def voxel_problem(self, n: int) -> tuple[Any, dict[int, Any]]:
        """The cell as a voxel microstructure with laws, ``n`` voxels per axis for a
        function (one phase per voxel, sampled at voxel centres)."""
        from scalebridge.materials import Conductivity
        from scalebridge.microstructure import Microstructure

        if self.microstructure is not None:
            ms = self.microstructure
            return Microstructure(ms.labels, size=(1.0,) * ms.ndim), dict(self.materials or {})
        d = self.ndim
        c = (np.arange(n) + 0.5) / n
        y = np.array(np.meshgrid(*([c] * d), indexing="ij"))
        a = np.asarray(self(y), dtype=float)
        labels = np.arange(n**d, dtype=np.int32).reshape((n,) * d)
        if a.ndim == d:  # scalar
            flat = a.reshape(-1)
            laws = {i: Conductivity(k=float(v)) for i, v in enumerate(flat)}
        else:
            flat = np.moveaxis(a.reshape(d, d, -1), -1, 0)
            laws = {i: Conductivity(k=0.5 * (m + m.T)) for i, m in enumerate(flat)}
        return Microstructure(labels, size=(1.0,) * d), laws


# --------------------------------------------------------------------------- correctors
@dataclass(frozen=True)
class Correctors:
    """Cell correctors on a periodic nodal grid and the homogenized coefficient.

    Attributes
    ----------
    a_hom : ndarray
        ``(d, d)`` effective conductivity (or Mandel stiffness for elasticity).
    chi : ndarray
        Nodal corrector values ``(m, nc, *grid)``: ``m`` unit loads (``d`` gradients or
        the Mandel strains), ``nc`` field components (1 for conduction); node ``i`` sits
        at ``y = i / n``; periodic, zero mean.
    """

    ndim: int
    physics: str
    a_hom: Array
    chi: Array
    method: str
    exact_gradient: Callable[[Array], Array] | None = None

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(self.chi.shape[2:])

    def _locate(self, y: Array) -> tuple[list[Array], list[Array]]:
        idx, frac = [], []
        for i, n in enumerate(self.grid):
            s = np.mod(y[i], 1.0) * n
            k = np.floor(s).astype(np.int64)
            idx.append(np.mod(k, n))
            frac.append(s - k)
        return idx, frac

    def chi_at(self, y: ArrayLike) -> Array:
        """``chi(y)`` by periodic multilinear interpolation: ``(m, nc, ...)``."""
        y = np.asarray(y, dtype=float)
        idx, frac = self._locate(y)
        out = np.zeros((*self.chi.shape[:2], *y.shape[1:]))
        for corner in np.ndindex(*([2] * self.ndim)):
            w = np.ones(y.shape[1:])
            sel = []
            for i, c in enumerate(corner):
                w = w * (frac[i] if c else 1.0 - frac[i])
                sel.append(np.mod(idx[i] + c, self.grid[i]))
            out += self.chi[(slice(None), slice(None), *sel)] * w
        return out

    def grad_chi_at(self, y: ArrayLike) -> Array:
        """``grad_y chi(y)`` of the multilinear interpolant: ``(m, nc, d, ...)``."""
        y = np.asarray(y, dtype=float)
        if self.exact_gradient is not None:
            return np.asarray(self.exact_gradient(y), dtype=float).reshape(1, 1, 1, *y.shape[1:])
        idx, frac = self._locate(y)
        d = self.ndim
        out = np.zeros((*self.chi.shape[:2], d, *y.shape[1:]))
        for corner in np.ndindex(*([2] * d)):
            sel = tuple(np.mod(idx[i] + c, self.grid[i]) for i, c in enumerate(corner))
            val = self.chi[(slice(None), slice(None), *sel)]
            for j in range(d):
                w = np.ones(y.shape[1:])
                for i, c in enumerate(corner):
                    if i == j:
                        w = w * ((1.0 if c else -1.0) * self.grid[i])
                    else:
                        w = w * (frac[i] if c else 1.0 - frac[i])
                out[:, :, j] += val * w
        return out


def cell_correctors(
    coefficient: PeriodicCoefficient, resolution: int = 128, tol: float = 1e-10
) -> Correctors:
    """Solve the cell problems of ``coefficient``: correctors and ``a_hom``.

    Parameters
    ----------
    coefficient : PeriodicCoefficient
    resolution : int
        Voxels per axis for a function coefficient in 2D/3D (the microstructure's own
        grid otherwise); nodes per period in 1D (the closed form is integrated with the
        midpoint rule on that many cells, default raised to 4096).
    tol : float
        CG tolerance of the cell solves.
    """
    if not isinstance(coefficient, PeriodicCoefficient):
        raise ValueError(
            f"coefficient: got {type(coefficient).__name__}; expected a PeriodicCoefficient"
        )
    if not isinstance(resolution, int | np.integer) or resolution < 4:
        raise ValueError(f"resolution: got {resolution!r}; expected an integer >= 4")
    if coefficient.ndim == 1:
        return _correctors_1d(coefficient, max(int(resolution), 4096))
    from scalebridge.cell.cg import CGSettings
    from scalebridge.cell.periodic import PeriodicSolver
    from scalebridge.cell.setup import phase_tensors

    ms, laws = coefficient.voxel_problem(int(resolution))
    labels, tensors, physics = phase_tensors(ms, laws)
    solver = PeriodicSolver(
        labels,
        np.asarray(ms.spacing),
        tensors,
        physics,
        CGSettings(tol=tol, max_iter=5000),
    )
    m = solver.ncomp if hasattr(solver, "ncomp") else (ms.ndim if physics == "conduction" else 3)
    cols, chis = [], []
    for j in range(m):
        e = np.zeros(m)
        e[j] = 1.0
        sol = solver.solve_strain(e, keep_fields=True)
        cols.append(np.asarray(sol.average_stress))
        chi = np.asarray(sol.fluctuation, dtype=float)
        chi = chi - chi.reshape(chi.shape[0], -1).mean(axis=1).reshape((-1,) + (1,) * ms.ndim)
        chis.append(chi)
    a_hom = np.array(cols).T
    return Correctors(ms.ndim, physics, 0.5 * (a_hom + a_hom.T), np.array(chis), "voxel-fe")


def _correctors_1d(coefficient: PeriodicCoefficient, n: int) -> Correctors:
    y = (np.arange(n) + 0.5) / n
    a = np.asarray(coefficient(y[None, :]), dtype=float).reshape(-1)
    if np.any(a <= 0):
        raise ValueError("coefficient: a(y) must be positive")
    a_hom = 1.0 / np.mean(1.0 / a)
    dchi = a_hom / a - 1.0  # chi' on each cell (midpoint values)
    chi = np.concatenate([[0.0], np.cumsum(dchi) / n])[:-1]  # nodes y = i / n
    # mean of the piecewise-linear interpolant: nodal mean (periodic trapezoid)
    chi = chi - chi.mean()

    def gradient(y: Array) -> Array:  # chi'(y) = a_hom / a(y) - 1, exactly
        return a_hom / np.asarray(coefficient(y), dtype=float) - 1.0

    return Correctors(
        1, "conduction", np.array([[a_hom]]), chi.reshape(1, 1, n), "closed form", gradient
    )


def separable_a_hom(p: Callable[[Array], Array], q: Callable[[Array], Array]) -> Array:
    """Exact ``a_hom`` of ``a(y) = p(y1) q(y2)`` (2D): ``diag(<q> H(p), <p> H(q))``,
    ``H`` the harmonic mean (the correctors depend on one variable each)."""
    s = (np.arange(1 << 16) + 0.5) / (1 << 16)
    P, Q = p(s), q(s)
    return np.diag([np.mean(Q) / np.mean(1.0 / P), np.mean(P) / np.mean(1.0 / Q)])


def default_coefficient() -> PeriodicCoefficient:
    """``a(y) = 1 / ((2 + 1.8 sin 2 pi y1)(2 + 1.8 sin 2 pi y2))`` (Hou & Wu 1997),
    whose ``a_hom = 0.5 / sqrt(0.76) I``."""

    def a(y: Array) -> Array:
        return 1.0 / (
            (2.0 + 1.8 * np.sin(2 * math.pi * y[0])) * (2.0 + 1.8 * np.sin(2 * math.pi * y[1]))
        )

    return PeriodicCoefficient.from_function(a, 2, name="1/((2+1.8 sin 2πy1)(2+1.8 sin 2πy2))")
