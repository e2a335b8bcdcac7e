"""The two-scale expansion against direct fine-scale solves, for a sweep of ``eps``.

For each ``eps``: the direct numerical simulation (DNS) ``u_eps`` of
``-div(a(x/eps) grad u) = f`` on a mesh that resolves the period, the homogenized
``u0`` (``-div(a_hom grad u0) = f``) on the same mesh, the first-order reconstruction
``u0 + eps chi(x/eps) . grad u0`` (with and without a cut-off of the corrector at the
Dirichlet boundary) and its flux ``a(y)(I + grad_y chi) grad u0``; the errors

* ``||u_eps - u0||_L2`` (expected ``O(eps)``),
* ``|u_eps - u0 - eps u1|_H1`` over the whole domain (``O(eps^1/2)``: the corrector
  violates the boundary condition in a layer of width ``O(eps)``) and over an interior
  subdomain (``O(eps)``),
* the same in the strip of width ``2 eps`` along the boundary (the boundary layer,
  ``O(eps^1/2)``) and with the cut-off corrector,

and the fitted rates (least-squares slopes in log-log).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.asymptotic.cell import Correctors, PeriodicCoefficient, cell_correctors
from scalebridge.asymptotic.fem import (
    box_mesh,
    lagrange_basis,
    quadrature_points,
    solve_diffusion,
)

Array = NDArray[np.float64]
NORMS = (
    "L2(u_eps - u0)",
    "H1(u_eps - u0 - eps u1)",
    "H1 interior",
    "H1 boundary layer",
    "H1 with cut-off",
    "L2 flux",
)


@dataclass
class EpsResult:
    """Errors and fields of one ``eps``."""

    eps: float
    elements: int
    unknowns: int
    errors: dict[str, float]
    seconds: float
    fields: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class AsymptoticStudy:
    """The sweep: one `EpsResult` per ``eps``, the correctors and the fitted rates."""

    coefficient: PeriodicCoefficient
    correctors: Correctors
    results: list[EpsResult]
    domain: tuple[tuple[float, ...], tuple[float, ...]]
    interior: float

    @property
    def eps(self) -> Array:
        return np.array([r.eps for r in self.results])

    def errors(self, norm: str) -> Array:
        if norm not in NORMS:
            raise ValueError(f"norm: got {norm!r}; expected one of {NORMS}")
        return np.array([r.errors[norm] for r in self.results])

    def rate(self, norm: str) -> float:
        """Least-squares slope of ``log error`` against ``log eps``."""
        e, err = self.eps, self.errors(norm)
        if e.size < 2:
            return math.nan
        return float(np.polyfit(np.log(e), np.log(err), 1)[0])

    def rates(self) -> dict[str, float]:
        return {n: self.rate(n) for n in NORMS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "coefficient": self.coefficient.name,
            "ndim": self.coefficient.ndim,
            "a_hom": self.correctors.a_hom.tolist(),
            "domain": [list(self.domain[0]), list(self.domain[1])],
            "interior_margin": self.interior,
            "eps": self.eps.tolist(),
            "errors": {n: self.errors(n).tolist() for n in NORMS},
            "rates": self.rates(),
            "unknowns": [r.unknowns for r in self.results],
            "seconds": [r.seconds for r in self.results],
        }

    def plot(self, path: Any = None) -> Any:
        from scalebridge.asymptotic.plots import plot_study

        return plot_study(self, path)


def _distance_to_boundary(x: Array, lower: Sequence[float], upper: Sequence[float]) -> Array:
    d = np.full(x.shape[1:], np.inf)
    for i, (a, b) in enumerate(zip(lower, upper, strict=True)):
        d = np.minimum(d, np.minimum(x[i] - a, b - x[i]))
    return d


def _distance_gradient(x: Array, lower: Sequence[float], upper: Sequence[float]) -> Array:
    """Gradient of the distance to the box boundary (a.e.): +-e_i of the nearest face."""
    dist = [
        np.minimum(x[i] - a, b - x[i]) for i, (a, b) in enumerate(zip(lower, upper, strict=True))
    ]
    which = np.argmin(np.array(dist), axis=0)
    g = np.zeros_like(x)
    for i, (a, b) in enumerate(zip(lower, upper, strict=True)):
        sign = np.where(x[i] - a < b - x[i], 1.0, -1.0)
        g[i] = np.where(which == i, sign, 0.0)
    return g


def compare_at_eps(
    coefficient: PeriodicCoefficient,
    correctors: Correctors,
    eps: float,
    *,
    f: float | Callable[[Array], Array] = 1.0,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    elements_per_period: int = 8,
    order: int = 2,
    interior: float = 0.25,
    keep_fields: bool = False,
) -> EpsResult:
    """DNS, homogenized solution and reconstruction at one ``eps``; their errors."""
    import time

    t0 = time.perf_counter()
    d = coefficient.ndim
    lo = tuple(float(v) for v in (lower if lower is not None else [0.0] * d))
    hi = tuple(float(v) for v in (upper if upper is not None else [1.0] * d))
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps: got {eps!r}; expected a positive number")
    n = [
        max(2, math.ceil((b - a) / eps * elements_per_period)) for a, b in zip(lo, hi, strict=True)
    ]
    basis = lagrange_basis(box_mesh(lo, hi, n), order, intorder=2 * order + 4)
    x = quadrature_points(basis)
    y = x / eps
    a = np.asarray(coefficient(y), dtype=float)
    fine = solve_diffusion(basis, a, f)
    homog = solve_diffusion(basis, correctors.a_hom, f)
    ue, ge = fine.value(), fine.gradient()
    u0, g0 = homog.value(), homog.gradient()
    H0 = homog.hessian() if d > 1 or order > 1 else np.zeros((d, d, *u0.shape))
    chi = correctors.chi_at(y)[:, 0]  # (d, ...)
    gchi = correctors.grad_chi_at(y)[:, 0]  # (d_load j, d_deriv k, ...)
    u1 = np.einsum("j...,j...->...", chi, g0)
    # grad(u0 + eps u1) = grad u0 + sum_j (grad_y chi_j) d_j u0 + eps sum_j chi_j grad d_j u0
    g_rec = (
        g0 + np.einsum("jk...,j...->k...", gchi, g0) + eps * np.einsum("j...,jk...->k...", chi, H0)
    )
    dist = _distance_to_boundary(x, lo, hi)
    eta = np.minimum(1.0, dist / eps)
    g_eta = np.where(dist < eps, 1.0 / eps, 0.0) * _distance_gradient(x, lo, hi)
    g_cut = g0 + eta * (g_rec - g0) + eps * u1 * g_eta
    dx = np.asarray(basis.dx)
    inner = dist >= interior
    strip = dist < 2.0 * eps  # the boundary layer: a few periods wide

    def l2(v: Array, mask: Array | None = None) -> float:
        w = dx if mask is None else dx * mask
        return float(np.sqrt(np.sum(v**2 * w)))

    def h1(gv: Array, mask: Array | None = None) -> float:
        return l2(np.sqrt(np.sum(gv**2, axis=0)), mask)

    # fluxes: a(y) grad u_eps against a(y)(I + grad_y chi) grad u0 (first-order flux)
    if a.ndim == d + 2 - d:  # scalar coefficient: (nelems, nqp)
        flux_e = a * ge
        flux_r = a * (g0 + np.einsum("jk...,j...->k...", gchi, g0))
    else:
        flux_e = np.einsum("ij...,j...->i...", a, ge)
        flux_r = np.einsum("ij...,j...->i...", a, g0 + np.einsum("jk...,j...->k...", gchi, g0))
    errors = {
        "L2(u_eps - u0)": l2(ue - u0),
        "H1(u_eps - u0 - eps u1)": h1(ge - g_rec),
        "H1 interior": h1(ge - g_rec, inner),
        "H1 boundary layer": h1(ge - g_rec, strip),
        "H1 with cut-off": h1(ge - g_cut),
        "L2 flux": h1(flux_e - flux_r),
    }
    out = EpsResult(eps, int(np.prod(n)), int(basis.N), errors, time.perf_counter() - t0)
    if keep_fields:
        out.fields = {"basis": basis, "u_eps": fine.u, "u0": homog.u, "x": x, "u1": u1}
    return out


def asymptotic_study(
    coefficient: PeriodicCoefficient,
    eps_values: Sequence[float],
    *,
    f: float | Callable[[Array], Array] = 1.0,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    elements_per_period: int = 8,
    order: int = 2,
    cell_resolution: int = 64,
    interior: float = 0.25,
    keep_fields: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> AsymptoticStudy:
    """Sweep ``eps``: DNS against the two-scale expansion, errors and rates.

    Parameters
    ----------
    coefficient : PeriodicCoefficient
    eps_values : sequence of float
        Periods (the domain edge should be a multiple of each).
    f : float or callable
        Source term; zero Dirichlet data on the whole boundary.
    lower, upper : sequence of float
        The box domain (default the unit square/cube/interval).
    elements_per_period : int
        Mesh elements per period and axis (order-2 elements: 8 resolve the default
        coefficient to ~1e-4 relative in H1).
    cell_resolution : int
        Voxels per axis of the cell problems (2D/3D).
    interior : float
        Margin of the interior subdomain (points at distance >= interior from the
        boundary), also the width of the boundary-layer strip.
    """
    eps_sorted = sorted((float(e) for e in eps_values), reverse=True)
    if len(eps_sorted) < 1 or any(not (e > 0) for e in eps_sorted):
        raise ValueError(f"eps_values: got {list(eps_values)}; expected positive periods")
    if not (isinstance(elements_per_period, int) and elements_per_period >= 2):
        raise ValueError(
            f"elements_per_period: got {elements_per_period!r}; expected an integer >= 2"
        )
    d = coefficient.ndim
    lo = tuple(float(v) for v in (lower if lower is not None else [0.0] * d))
    hi = tuple(float(v) for v in (upper if upper is not None else [1.0] * d))
    if 2 * interior >= min(b - a for a, b in zip(lo, hi, strict=True)):
        raise ValueError(
            f"interior: got {interior}; the interior subdomain (margin {interior}) is empty "
            f"for the domain {lo} - {hi}"
        )
    corr = cell_correctors(coefficient, cell_resolution)
    results = []
    for i, e in enumerate(eps_sorted):
        results.append(
            compare_at_eps(
                coefficient,
                corr,
                e,
                f=f,
                lower=lo,
                upper=hi,
                elements_per_period=elements_per_period,
                order=order,
                interior=interior,
                keep_fields=keep_fields,
            )
        )
        if progress is not None:
            progress(i + 1, len(eps_sorted))
    return AsymptoticStudy(coefficient, corr, results, (lo, hi), interior)


def scale_separation(
    coefficient: PeriodicCoefficient,
    ratios: Sequence[int],
    *,
    elements_per_period: int = 8,
    interior_fraction: float = 0.25,
) -> dict[str, Any]:
    """Only ``eps = l / L`` matters: refine the period in the unit domain (``l -> 0``) or
    enlarge the domain at unit period (``L -> infinity``).

    For each ratio ``R``: (a) the unit domain with ``eps = 1/R`` and ``f = 1``; (b) the
    domain ``[0, R]^d`` with period 1 and ``f = 1``, whose solution is ``R^2`` times
    (a) at ``x / R``.  The interior H1 error of the first-order reconstruction of (b),
    divided by ``R^(1 + d/2)`` (the scaling of the H1 semi-norm), equals that of (a).
    Returns both error lists and their largest relative difference.
    """
    d = coefficient.ndim
    corr = cell_correctors(coefficient, 64)
    small, large = [], []
    for R in ratios:
        R = int(R)
        a = compare_at_eps(
            coefficient,
            corr,
            1.0 / R,
            elements_per_period=elements_per_period,
            interior=interior_fraction,
        )
        b = compare_at_eps(
            coefficient,
            corr,
            1.0,
            lower=[0.0] * d,
            upper=[float(R)] * d,
            elements_per_period=elements_per_period,
            interior=interior_fraction * R,
        )
        small.append(a.errors["H1 interior"])
        large.append(b.errors["H1 interior"] / R ** (1 + d / 2))
    s, g = np.array(small), np.array(large)
    return {
        "ratios": [int(r) for r in ratios],
        "refined_period": s.tolist(),
        "enlarged_domain": g.tolist(),
        "max_relative_difference": float(np.max(np.abs(s - g) / s)),
    }
