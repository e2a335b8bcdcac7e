"""The finite-element heterogeneous multiscale method (FE-HMM) for diffusion.

For ``-div(a^eps(x) grad u) = f`` in ``Omega``, ``u = 0`` on its boundary, the FE-HMM
(E & Engquist 2003; Abdulle 2005) solves a macro problem on P1/Q1 elements of size
``H`` (which need not resolve ``eps``) whose stiffness at each macro quadrature point
``x_K`` comes from a micro problem on the sampling domain ``I_delta(x_K) = x_K + delta
[-1/2, 1/2]^d``:

    B_H(u_H, v_H) = sum_K |K| omega_K  grad v_H(x_K) . A_K grad u_H(x_K),
    A_K e_j = < a^eps (e_j + grad w_j) >_{I_delta},

``w_j`` periodic on ``I_delta`` (periodic coupling) or zero on its boundary (Dirichlet
coupling).  The classical FE-HMM writes ``B_H`` with the micro energies of the micro
solutions constrained by the linearisation of ``u_H`` at ``x_K``; for P1/Q1 macro
elements that linearisation is affine, the micro problem is linear in ``grad u_H(x_K)``,
and the energy is exactly ``grad v_H(x_K) . A_K grad u_H(x_K)``: ``d`` micro solves per
point (one per unit gradient) give the same bilinear form.

``points="centroid"`` (default) computes ``A_K`` once per element at its centroid and
integrates the macro stiffness with it exactly (2-point Gauss per axis): the midpoint
rule in ``A``, which for Q1 avoids the hourglass modes of a one-point stiffness.
``points="quadrature"`` is the classical Q1 FE-HMM with ``2^d`` Gauss points per element,
each with its own micro problem (``2^d`` times the micro cost).

Micro problems are independent: they run through `scalebridge.parallel.run_tasks` in
chunks on any executor (default serial); see `hmm_micro` for the micro solver.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.cell.problem import KUBC, Periodic
from scalebridge.coupling.hmm_micro import as_coupling, micro_tensors

log = logging.getLogger(__name__)
Array = NDArray[np.float64]
POINTS = ("centroid", "quadrature")


# --------------------------------------------------------------------------- coefficients
@dataclass(frozen=True)
class MultiscaleCoefficient:
    """A coefficient ``a^eps(x)`` with its small scale ``eps``.

    Build it with `periodic` (``a(x / eps)``), `locally_periodic` (``a(x, x / eps)``,
    1-periodic in the second argument) or `general` (any ``a^eps(x)``).

    Attributes
    ----------
    function : callable
        ``a^eps(x)`` for ``x`` of shape ``(d, ...)``: ``(...)`` (scalar) or ``(d, d, ...)``.
    eps : float
    ndim : int
    two_scale : callable, optional
        ``a(x, y)`` when known: micro problems may freeze the slow variable at ``x_K``.
    periodic_cell : PeriodicCoefficient, optional
        The cell coefficient ``a(y)`` of a periodic ``a(x / eps)``.
    """

    function: Callable[[Array], Array]
    eps: float
    ndim: int
    two_scale: Callable[[Array, Array], Array] | None = None
    periodic_cell: Any = None
    name: str = "a^eps(x)"

    def __post_init__(self) -> None:
        if not (isinstance(self.eps, int | float) and math.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps: got {self.eps!r}; expected a positive number")
        if self.ndim not in (1, 2, 3):
            raise ValueError(f"ndim: got {self.ndim!r}; expected 1, 2 or 3")
        if not callable(self.function):
            raise ValueError(f"function: got {self.function!r}; expected a callable a(x)")

    @classmethod
    def periodic(cls, cell: Any, eps: float, ndim: int | None = None) -> MultiscaleCoefficient:
        """``a(x / eps)`` from a `PeriodicCoefficient` or a 1-periodic ``a(y)``."""
        from scalebridge.asymptotic.cell import PeriodicCoefficient

        if not isinstance(cell, PeriodicCoefficient):
            if ndim is None:
                raise ValueError("ndim: required when cell is a plain function a(y)")
            cell = PeriodicCoefficient.from_function(cell, ndim)
        e = float(eps)
        return cls(
            function=lambda x: cell(np.asarray(x) / e),
            eps=e,
            ndim=cell.ndim,
            two_scale=lambda x, y: cell(y),
            periodic_cell=cell,
            name=f"{cell.name}, y = x/eps",
        )

    @classmethod
    def locally_periodic(
        cls, a: Callable[[Array, Array], Array], eps: float, ndim: int, name: str = "a(x, x/eps)"
    ) -> MultiscaleCoefficient:
        """``a(x, x / eps)`` from ``a(x, y)``, 1-periodic in ``y``."""
        e = float(eps)
        return cls(lambda x: a(x, np.asarray(x) / e), e, ndim, two_scale=a, name=name)

    @classmethod
    def general(
        cls, a: Callable[[Array], Array], eps: float, ndim: int, name: str = "a^eps(x)"
    ) -> MultiscaleCoefficient:
        """Any ``a^eps(x)``; ``eps`` is its smallest length scale (sets the micro grid)."""
        return cls(a, float(eps), ndim, name=name)

    def __call__(self, x: Array) -> Array:
        return np.asarray(self.function(np.asarray(x, dtype=float)), dtype=float)

    def sample(self, centres: Array, delta: float, n: int, freeze_slow: bool) -> Array:
        """The coefficient at the voxel centres of the sampling domains.

        ``centres (d, P)`` -> ``(P, *(n,)*d)`` (scalar) or ``(P, d, d, *(n,)*d)``; with
        ``freeze_slow`` and a known ``a(x, y)``, ``a(x_K, x / eps)``.
        """
        d = self.ndim
        c = (np.arange(n) + 0.5) / n - 0.5
        offs = np.array(np.meshgrid(*([c] * d), indexing="ij")).reshape(d, -1) * delta
        x = centres[:, :, None] + offs[:, None, :]  # (d, P, n^d)
        if freeze_slow and self.two_scale is not None:
            xk = np.broadcast_to(centres[:, :, None], x.shape)
            a = np.asarray(self.two_scale(xk, x / self.eps), dtype=float)
        else:
            a = self(x)
        P = centres.shape[1]
        if a.shape == x.shape[1:]:
            return a.reshape(P, *(n,) * d)
        if a.shape == (d, d, *x.shape[1:]):
            return np.moveaxis(a, 2, 0).reshape(P, d, d, *(n,) * d)
        raise ValueError(
            f"coefficient: a(x) for x of shape {x.shape} returned {a.shape}; expected "
            f"{x.shape[1:]} (scalar) or {(d, d, *x.shape[1:])} (matrix)"
        )


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class HMMSettings:
    """Micro-problem settings of the FE-HMM.

    Attributes
    ----------
    coupling : Periodic or KUBC
        Periodic or Dirichlet (KUBC) micro boundary condition.
    delta_over_eps : float
        Sampling-domain size ``delta / eps`` (default 1: one period).
    voxels_per_eps : int
        Micro resolution (default 16).
    points : {"centroid", "quadrature"}
    freeze_slow : bool
        Sample ``a(x_K, x / eps)`` when the coefficient knows ``a(x, y)``.
    reuse_periodic : bool
        Periodic coefficient, periodic coupling, integer ``delta / eps``: every ``A_K``
        equals the cell ``a_hom``, so solve one micro problem and reuse it.
    chunk : int
        Sampling domains per task given to the executor.
    """

    coupling: Periodic | KUBC = field(default_factory=Periodic)
    delta_over_eps: float = 1.0
    voxels_per_eps: int = 16
    points: str = "centroid"
    freeze_slow: bool = True
    reuse_periodic: bool = False
    chunk: int = 64

    def __post_init__(self) -> None:
        r = self.delta_over_eps
        if not (isinstance(r, int | float) and math.isfinite(r) and r > 0):
            raise ValueError(f"delta_over_eps: got {r!r}; expected a positive number")
        if r < 1:
            warnings.warn(
                f"delta_over_eps: {r} < 1; the sampling domain must contain at least one "
                "period (delta >= eps) or A_K is not the effective tensor",
                RuntimeWarning,
                stacklevel=3,
            )
        v = self.voxels_per_eps
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 2:
            raise ValueError(f"voxels_per_eps: got {v!r}; expected an integer >= 2")
        if self.points not in POINTS:
            raise ValueError(f"points: {self.points!r} is not one of {POINTS}")
        if isinstance(self.chunk, bool) or not isinstance(self.chunk, int) or self.chunk < 1:
            raise ValueError(f"chunk: got {self.chunk!r}; expected an integer >= 1")

    @property
    def voxels(self) -> int:
        """Voxels per axis of a sampling domain."""
        return max(2, math.ceil(self.delta_over_eps * self.voxels_per_eps - 1e-9))


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class HMMSolution:
    """An FE-HMM macro solution with its effective tensors.

    Attributes
    ----------
    basis : skfem.Basis
        The macro P1/Q1 basis.
    u : ndarray
        Nodal values.
    points : ndarray
        ``(d, P)`` macro points where micro problems were solved.
    tensors : ndarray
        ``(P, d, d)`` effective tensors ``A_K``.
    micro_time, macro_time : float
        Seconds for the micro problems (sampling included) and the macro solve.
    micro_solves : int
        Micro problems solved (``d`` unit gradients each).
    """

    basis: Any
    u: Array
    points: Array
    tensors: Array
    micro_time: float
    macro_time: float
    micro_solves: int
    settings: HMMSettings = field(repr=False, default_factory=HMMSettings)

    @property
    def wall_time(self) -> float:
        return self.micro_time + self.macro_time

    def value(self) -> Array:
        return np.asarray(self.basis.interpolate(self.u))

    def gradient(self) -> Array:
        return np.asarray(self.basis.interpolate(self.u).grad)


# --------------------------------------------------------------------------- functions
def hmm_settings(
    coupling: str | Periodic | KUBC = "periodic",
    delta_over_eps: float = 1.0,
    voxels_per_eps: int = 16,
    **options: Any,
) -> HMMSettings:
    """`HMMSettings` from strings (the API edge): ``coupling`` is ``"periodic"`` or
    ``"dirichlet"``; ``options`` are the other `HMMSettings` fields."""
    return HMMSettings(as_coupling(coupling), delta_over_eps, voxels_per_eps, **options)


def effective_tensors(
    coefficient: MultiscaleCoefficient,
    points: Array,
    settings: HMMSettings | None = None,
    executor: Any = "serial",
    **run_options: Any,
) -> Array:
    """``A_K`` at the points ``(d, P)``: ``(P, d, d)``, one micro problem per point.

    Examples
    --------
    >>> import numpy as np
    >>> from scalebridge.asymptotic.cell import default_coefficient
    >>> a = MultiscaleCoefficient.periodic(default_coefficient(), eps=0.125)
    >>> A = effective_tensors(a, np.array([[0.5], [0.5]]))
    >>> bool(abs(A[0, 0, 0] - 0.5 / np.sqrt(0.76)) < 2e-3)   # a_hom, 16 voxels per eps
    True
    """
    from scalebridge.parallel import Task, run_tasks

    s = settings or HMMSettings()
    pts = np.atleast_2d(np.asarray(points, dtype=float))
    if pts.shape[0] != coefficient.ndim:
        raise ValueError(f"points: got shape {pts.shape}; expected ({coefficient.ndim}, P)")
    d, P = pts.shape
    delta = s.delta_over_eps * coefficient.eps
    n = s.voxels
    if _reusable(coefficient, s):
        one = effective_tensors(coefficient, pts[:, :1], _no_reuse(s), executor, **run_options)
        return np.repeat(one, P, axis=0)
    tasks = []
    for k, start in enumerate(range(0, P, s.chunk)):
        vals = coefficient.sample(pts[:, start : start + s.chunk], delta, n, s.freeze_slow)
        tasks.append(
            Task(
                f"hmm-{k}",
                {"values": vals.tolist(), "coupling": s.coupling.name, "ndim": d},
            )
        )
    run_options.setdefault("progress", False)
    report = run_tasks(micro_tensors, tasks, executor, description="micro", **run_options)
    report.raise_if_failed()
    return np.array([A for r in report.results for A in r["tensors"]], dtype=float)


def _reusable(coefficient: MultiscaleCoefficient, s: HMMSettings) -> bool:
    r = s.delta_over_eps
    return (
        s.reuse_periodic
        and coefficient.periodic_cell is not None
        and isinstance(s.coupling, Periodic)
        and abs(r - round(r)) < 1e-12
    )


def _no_reuse(s: HMMSettings) -> HMMSettings:
    from dataclasses import replace

    return replace(s, reuse_periodic=False)


def macro_points(basis: Any, points: str) -> Array:
    """Centroids ``(d, nelems)`` or quadrature points ``(d, nelems * nqp)``."""
    if points == "centroid":
        m = basis.mesh
        return np.asarray(m.p[:, m.t].mean(axis=1))
    x = np.asarray(basis.global_coordinates())
    return x.reshape(x.shape[0], -1)


def mesh_size(mesh: Any) -> float:
    """Largest element edge length ``H`` of a scikit-fem mesh."""
    p = mesh.p
    if mesh.dim() == 1:
        return float(np.max(np.diff(np.sort(p[0]))))
    edges = mesh.edges if mesh.dim() == 3 else mesh.facets
    return float(np.max(np.linalg.norm(p[:, edges[1]] - p[:, edges[0]], axis=0)))


def solve_hmm(
    coefficient: MultiscaleCoefficient,
    mesh: Any,
    f: float | Callable[[Array], Array] = 1.0,
    *,
    coupling: str | Periodic | KUBC = "periodic",
    delta_over_eps: float = 1.0,
    voxels_per_eps: int = 16,
    points: str = "centroid",
    executor: Any = "serial",
    settings: HMMSettings | None = None,
    **options: Any,
) -> HMMSolution:
    """FE-HMM solution of ``-div(a^eps grad u) = f``, ``u = 0`` on the boundary.

    Parameters
    ----------
    coefficient : MultiscaleCoefficient
    mesh : int or skfem.Mesh
        ``N``: the unit line/square/cube with ``N`` elements per axis (``H = 1/N``,
        P1/Q1/Q1); or any line, quad, hex, triangle or tetrahedron mesh (P1/Q1).
    f : float or callable of ``x (d, ...)``
    coupling : {"periodic", "dirichlet"}
        Micro boundary condition on the sampling domain.
    delta_over_eps : float
        Sampling-domain size in periods (a warning below 1).
    voxels_per_eps : int
        Micro resolution.
    points : {"centroid", "quadrature"}
        Micro problems at element centroids, or at every macro Gauss point.
    executor : str or executor
        Where the micro problems run (`scalebridge.parallel.run_tasks`).
    settings : HMMSettings, optional
        Overrides ``coupling``, ``delta_over_eps``, ``voxels_per_eps``, ``points``.
    **options
        Further `HMMSettings` fields (``freeze_slow``, ``reuse_periodic``, ``chunk``).

    Examples
    --------
    >>> from scalebridge.asymptotic.cell import default_coefficient
    >>> a = MultiscaleCoefficient.periodic(default_coefficient(), eps=1 / 64)
    >>> sol = solve_hmm(a, 8, f=1.0, coupling="periodic")
    >>> sol.tensors.shape, round(float(sol.u.max()), 3)
    ((64, 2, 2), 0.13)
    """
    from scalebridge.asymptotic.fem import box_mesh, lagrange_basis, solve_diffusion

    if not isinstance(coefficient, MultiscaleCoefficient):
        raise ValueError(
            f"coefficient: got {type(coefficient).__name__}; expected a MultiscaleCoefficient"
        )
    s = settings or hmm_settings(coupling, delta_over_eps, voxels_per_eps, points=points, **options)
    d = coefficient.ndim
    if isinstance(mesh, int | np.integer) and not isinstance(mesh, bool):
        if mesh < 1:
            raise ValueError(f"mesh: got {mesh}; expected N >= 1 elements per axis")
        mesh = box_mesh([0.0] * d, [1.0] * d, [int(mesh)] * d)
    if mesh.dim() != d:
        raise ValueError(f"mesh: dimension {mesh.dim()} differs from coefficient.ndim {d}")
    H = mesh_size(mesh)
    if H < coefficient.eps:
        warnings.warn(
            f"mesh: H = {H:.3g} < eps = {coefficient.eps:.3g}; the macro mesh resolves the "
            "microstructure and the HMM is pointless: solve the fine problem directly",
            RuntimeWarning,
            stacklevel=2,
        )
    basis = lagrange_basis(mesh, 1, intorder=2)
    t0 = time.perf_counter()
    pts = macro_points(basis, s.points)
    A = effective_tensors(coefficient, pts, s, executor)
    t1 = time.perf_counter()
    ne, nq = basis.nelems, basis.X.shape[1]
    Aq = np.moveaxis(A, 0, -1)  # (d, d, P)
    if s.points == "centroid":
        Aq = np.broadcast_to(Aq[..., None], (d, d, ne, nq)).copy()
    else:
        Aq = Aq.reshape(d, d, ne, nq)
    sol = solve_diffusion(basis, Aq, f, 0.0)
    t2 = time.perf_counter()
    log.info("FE-HMM: %d micro problems in %.2f s, macro in %.2f s", len(A), t1 - t0, t2 - t1)
    return HMMSolution(basis, sol.u, pts, A, t1 - t0, t2 - t1, len(A), s)
