"""Reference cell solver: the Moulinec-Suquet Fourier discretization, Galerkin form.

The unknown is the strain (or temperature-gradient) fluctuation ``e`` sampled at the
voxel centres, a trigonometric polynomial with the continuous Fourier derivative
``i xi``.  Compatibility is imposed by the material-independent Galerkin projection
(Zeman et al. 2010, Vondrejc, Zeman & Marek 2014)::

    conduction:  G[tau]^(xi) = n (n . tau^)                     n = xi / |xi|
    elasticity:  G[tau]^(xi) = sym(n (x) b),  b = 2 tau^ n - n (n . tau^ n)

the orthogonal (L2) projection onto gradients / symmetrised gradients of periodic
fields: ``G = Gamma0 : C0`` of the isotropic reference ``C0 = I`` (``mu0 = 1/2``,
``lambda0 = 0``), so it does not depend on the phases.  The cell problem
``G[C : (E + e)] = 0`` on compatible zero-mean ``e`` is symmetric positive
(semi-)definite and is solved by plain CG (identity preconditioner).  The zero
frequency and, on even grids, every Nyquist frequency are removed from the trial
space (``n = 0`` there), the usual treatment that keeps the fields real.

This is the classical "Fourier" reference of FFT homogenization, against which the
voxel finite elements of `scalebridge.cell.periodic` can be compared: both converge to
the same continuum effective tensor as the voxel size goes to zero.

``gradient="rotated"`` selects instead the rotated finite-difference scheme of Willot
(2015, C. R. Mecanique 343, 232-245): the gradient is the centred difference of a
potential living at the voxel corners, evaluated at the voxel centre (equivalently
trilinear voxel elements with one-point integration).  Its symbol is the complex
modified frequency vector (``theta_l = xi_l h_l / 2``)::

    k_j = (2 i / h_j) sin(theta_j) prod_{l != j} cos(theta_l) exp(i sum_l theta_l)

a 2 pi-periodic function of every ``xi_l h_l`` with ``k(-xi) = conj(k(xi))``.  With
``B u^ = sym(k (x) u^)`` the orthogonal projection ``G = B (B^H B)^+ B^H`` reads
``G[tau^] = sym(k (x) a)`` with ``(1/2)(|k|^2 I + k (x) conj(k)) a = tau^ conj(k)``
(conduction: ``G[tau^] = k (conj(k) . tau^) / |k|^2``).  As every component of ``k``
carries the same phase, ``k = c r`` with ``|c| = 1`` and ``r`` real, ``G`` is the
formula above with ``n = r / |r|``: real and even per frequency, so the half-spectrum
storage stays Hermitian.  ``k`` vanishes only at the zero frequency and where two or
more axes sit at their Nyquist index (the hourglass modes); ``G = 0`` there, and the
single-axis Nyquist frequencies stay in the trial space.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from scalebridge.cell.cg import CGSettings, pcg
from scalebridge.cell.fft import RealFFT
from scalebridge.cell.problem import MacroLoad
from scalebridge.cell.solution import CellSolution, assemble_solution

Array = NDArray[np.float64]
CArray = NDArray[np.complex128]

_PAIRS = {2: [(0, 0), (1, 1), (0, 1)], 3: [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]}
_R2 = float(np.sqrt(2.0))
GRADIENTS = ("fourier", "rotated")


def _contract_py(labels: NDArray[np.int32], T: Array, p: Array, out: Array) -> None:
    """out[:, v] = T[labels[v]] @ p[:, v] on flattened ``(m, N)`` fields."""
    m = p.shape[0]
    for v in prange(labels.size):
        Tv = T[labels[v]]
        for a in range(m):
            s = 0.0
            for b in range(m):
                s += Tv[a, b] * p[b, v]
            out[a, v] = s


# threads only pay off on large grids (and hurt on a loaded machine for small ones)
_contract_parallel = njit(parallel=True, cache=True)(_contract_py)
_contract_serial = njit(cache=True)(_contract_py)
PARALLEL_MIN = 1 << 16  # voxels


def wave_directions(grid: tuple[int, ...], spacing: Array) -> tuple[Array, Array]:
    """Unit wave vectors ``n`` ``(d, *half)`` and ``|xi|^2`` ``(*half)`` of the rfft grid.

    ``xi_j = 2 pi k_j / L_j`` with ``k`` in FFT order (last axis: the half spectrum).
    ``n`` and ``|xi|^2`` are set to zero at the zero frequency and, on even axes, at
    every frequency with a Nyquist index.
    """
    d = len(grid)
    h = np.asarray(spacing, dtype=float)
    ks = []
    for j, N in enumerate(grid):
        k = np.fft.rfftfreq(N) if j == d - 1 else np.fft.fftfreq(N)  # cycles per voxel
        ks.append(2.0 * np.pi * k / h[j])  # 2 pi k_j / L_j  with k_j = N_j * k
    xi = np.array(np.meshgrid(*ks, indexing="ij"))
    keep = np.ones(xi.shape[1:], dtype=bool)
    for j, N in enumerate(grid):
        if N % 2 == 0:
            idx = N // 2
            sl = [slice(None)] * d
            sl[j] = idx
            keep[tuple(sl)] = False
    xi2 = np.einsum("j...,j...->...", xi, xi)
    keep &= xi2 > 0.0
    xi2 = np.where(keep, xi2, 0.0)
    n = np.where(keep, xi / np.sqrt(np.where(keep, xi2, 1.0)), 0.0)
    return n, xi2


def rotated_directions(grid: tuple[int, ...], spacing: Array) -> tuple[Array, Array, CArray]:
    """Willot's rotated scheme: ``n = r / |r|``, ``|k|^2`` and ``conj(c)`` on the rfft grid.

    ``k = c r`` with ``r_j = (2 / h_j) sin(theta_j) prod_{l != j} cos(theta_l)`` real and
    ``c = i exp(i sum_l theta_l)``, ``theta_l = pi k_l / N_l = xi_l h_l / 2``.  ``n`` and
    ``|k|^2`` are zero where ``k`` vanishes (zero frequency; two or more Nyquist axes).
    """
    d = len(grid)
    h = np.asarray(spacing, dtype=float)
    thetas = []
    for j, N in enumerate(grid):
        k = np.fft.rfftfreq(N) if j == d - 1 else np.fft.fftfreq(N)  # cycles per voxel
        thetas.append(np.pi * k)
    theta = np.array(np.meshgrid(*thetas, indexing="ij"))
    sin = np.sin(theta)
    cos = np.cos(theta)
    # exact zeros at the Nyquist index (cos(pi/2) rounds to 6e-17, not 0)
    cos[np.isclose(np.abs(theta), 0.5 * np.pi, rtol=0.0, atol=1e-12)] = 0.0
    r = np.empty_like(theta)
    for j in range(d):
        r[j] = (2.0 / h[j]) * sin[j]
        for ell in range(d):
            if ell != j:
                r[j] *= cos[ell]
    r2 = np.einsum("j...,j...->...", r, r)
    keep = r2 > 0.0
    r2 = np.where(keep, r2, 0.0)
    n = np.where(keep, r / np.sqrt(np.where(keep, r2, 1.0)), 0.0)
    inv_phase = -1j * np.exp(-1j * theta.sum(axis=0))  # conj(c)
    return n, r2, inv_phase


class GalerkinProjection:
    """The material-independent compatibility projection ``G`` on the half spectrum.

    Parameters
    ----------
    grid : tuple of int
    spacing : ndarray
    physics : {"conduction", "elasticity"}
    gradient : {"fourier", "rotated"}
        The continuous Fourier derivative ``i xi`` or Willot's rotated finite-difference
        symbol ``k`` (see the module notes).

    Notes
    -----
    ``xi2`` holds ``|xi|^2`` (``|k|^2`` for the rotated scheme) and ``inv_phase`` the
    unit factor ``conj(c)`` of the symbol ``k = c |k| n`` (``-i`` for the Fourier scheme).
    """

    def __init__(
        self, grid: tuple[int, ...], spacing: Array, physics: str, gradient: str = "fourier"
    ) -> None:
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient: {gradient!r} is not one of 'fourier', 'rotated'")
        self.grid = tuple(int(n) for n in grid)
        self.d = len(self.grid)
        self.physics = physics
        self.gradient = gradient
        self.m = self.d if physics == "conduction" else len(_PAIRS[self.d])
        self.inv_phase: complex | CArray
        if gradient == "fourier":
            self.n, self.xi2 = wave_directions(self.grid, spacing)
            self.inv_phase = -1j
        else:
            self.n, self.xi2, self.inv_phase = rotated_directions(self.grid, spacing)
        # Mandel component r of the tensor entry (i, j) and its scale tau_ij = f * tau[r]
        self._index = np.zeros((self.d, self.d), dtype=int)
        self._scale = np.ones((self.d, self.d))
        if physics == "elasticity":
            for r, (i, j) in enumerate(_PAIRS[self.d]):
                self._index[i, j] = self._index[j, i] = r
                if i != j:
                    self._scale[i, j] = self._scale[j, i] = 1.0 / _R2

    def traction(self, spec: CArray) -> list[CArray]:
        """``t_i = tau^_ij n_j`` per frequency (elasticity)."""
        d, n = self.d, self.n
        return [
            sum(self._scale[i, j] * spec[self._index[i, j]] * n[j] for j in range(d))
            for i in range(d)
        ]

    def apply(self, spec: CArray) -> CArray:
        """Project the half spectrum ``(m, *half)`` in place and return it."""
        n = self.n
        if self.physics == "conduction":
            c = sum(spec[j] * n[j] for j in range(self.d))
            for i in range(self.d):
                np.multiply(n[i], c, out=spec[i])
            return spec
        t = self.traction(spec)
        c = sum(n[i] * t[i] for i in range(self.d))
        for r, (i, j) in enumerate(_PAIRS[self.d]):
            # sym(n (x) b) with b = 2t - n c:  n_i t_j + n_j t_i - n_i n_j c
            val = n[i] * t[j] + n[j] * t[i] - n[i] * n[j] * c
            spec[r] = val if i == j else _R2 * val
        return spec

    def potential(self, spec: CArray) -> CArray:
        """Fluctuation ``u^`` ``(nc, *half)`` of a compatible gradient spectrum.

        Conduction: ``e^ = i xi theta^``; elasticity: ``e^ = sym(i xi (x) u^)``
        (rotated scheme: ``k`` in place of ``i xi``, the potential at the voxel
        corners).  Zero at the removed frequencies (zero mean).
        """
        xi2 = self.xi2
        safe = np.where(xi2 > 0.0, xi2, 1.0)
        k = np.sqrt(xi2)  # |xi|;  xi = k n
        n = self.n
        # symbol = c |xi| n with conj(c) = inv_phase (c = i for the Fourier scheme)
        inv = self.inv_phase * np.where(xi2 > 0.0, k / safe, 0.0)  # 1 / (c |xi|)
        if self.physics == "conduction":
            c = sum(spec[j] * n[j] for j in range(self.d))  # = c |xi| theta^
            return (c * inv)[None]
        # e^ n = (c/2)(n (|xi| n.u) + u |xi|)  ->  a = c |xi| u = 2 t - n (n.t)
        t = self.traction(spec)
        c = sum(n[i] * t[i] for i in range(self.d))
        return np.array([(2.0 * t[i] - n[i] * c) * inv for i in range(self.d)])


class FourierSolver:
    """Periodic cell problem in the Fourier (Moulinec-Suquet) discretization, Galerkin CG.

    Parameters
    ----------
    labels : ndarray of int
        Phase index per voxel, ``0 .. len(tensors) - 1``.
    spacing : ndarray
        Voxel edge lengths.
    tensors : list of ndarray
        Per-phase conductivity ``(d, d)`` or Mandel stiffness ``(m, m)`` (2D: plane
        strain, order ``[11, 22, 12]``).
    physics : {"conduction", "elasticity"}
    settings : CGSettings
    gradient : {"fourier", "rotated"}
        Moulinec-Suquet continuous Fourier derivative (default) or Willot's rotated
        finite differences; reported as ``discretization`` of the solutions.

    Notes
    -----
    Fields are voxel-centre samples: ``strain`` and ``stress`` are ``(m, *grid)``,
    ``fluctuation`` the temperature/displacement fluctuation at the voxel centres
    (rotated scheme: at the voxel corners, entry ``[..., i, j]`` at the lower corner
    ``(i h_1, j h_2)`` of voxel ``(i, j)``), integrated spectrally from the strain
    fluctuation.  Phases with a zero tensor
    (pores) are allowed; CG converges when the solid percolates and raises
    `ConvergenceError` otherwise.
    """

    discretization = "fourier"

    def __init__(
        self,
        labels: NDArray[np.integer],
        spacing: Array,
        tensors: list[Array],
        physics: str,
        settings: CGSettings,
        gradient: str = "fourier",
    ) -> None:
        if physics not in ("conduction", "elasticity"):
            raise ValueError(f"physics: {physics!r} is not one of 'conduction', 'elasticity'")
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient: {gradient!r} is not one of 'fourier', 'rotated'")
        self.discretization = gradient
        self.labels = np.ascontiguousarray(labels, dtype=np.int32)
        self.grid = self.labels.shape
        self.d = self.labels.ndim
        self.physics = physics
        self.settings = settings
        self.spacing = np.asarray(spacing, dtype=float)
        self.nc = 1 if physics == "conduction" else self.d
        self.m = self.d if physics == "conduction" else len(_PAIRS[self.d])
        self.tensors = np.array([np.asarray(T, dtype=float) for T in tensors])
        if self.tensors.shape[1:] != (self.m, self.m):
            raise ValueError(
                f"tensors: expected ({self.m}, {self.m}) per phase for {physics} in "
                f"{self.d}D, got {self.tensors.shape[1:]}"
            )
        if self.labels.size and (self.labels.min() < 0 or self.labels.max() >= len(tensors)):
            raise ValueError("labels: phase indices must lie in 0 .. len(tensors) - 1")
        if not np.any(self.tensors):
            raise ValueError("materials: every phase is void (zero conductivity/stiffness)")
        self.projection = GalerkinProjection(self.grid, self.spacing, physics, gradient)
        small = self.labels.size < PARALLEL_MIN
        self.fft = RealFFT(self.m, self.grid, threads=1 if small else None)
        self._contract = _contract_serial if small else _contract_parallel
        self._flat_labels = self.labels.reshape(-1)

    @property
    def ncomp(self) -> int:
        """Components of the macro load (Mandel strain or gradient)."""
        return self.m

    @property
    def field_shape(self) -> tuple[int, ...]:
        """Shape of a strain field ``(m, *grid)``."""
        return (self.m, *self.grid)

    def constitutive(self, strain: Array, out: Array) -> Array:
        """Write ``C : strain`` voxel by voxel into ``out`` (both ``(m, *grid)``)."""
        m = self.m
        self._contract(self._flat_labels, self.tensors, strain.reshape(m, -1), out.reshape(m, -1))
        return out

    def project(self, field: Array, out: Array) -> Array:
        """Write ``G[field]`` into ``out`` (real fields ``(m, *grid)``)."""
        self.fft.real[...] = field
        self.projection.apply(self.fft.forward())
        out[...] = self.fft.backward()
        return out

    def apply(self, p: Array, out: Array) -> Array:
        """Write ``G[C : p]`` into ``out``."""
        self.constitutive(p, self.fft.real)
        self.projection.apply(self.fft.forward())
        out[...] = self.fft.backward()
        return out

    def fluctuation(self, e: Array) -> Array:
        """Temperature/displacement fluctuation ``(nc, *grid)`` of a compatible ``e``."""
        self.fft.real[...] = e
        spec = self.projection.potential(self.fft.forward())
        import scipy.fft

        axes = tuple(range(1, self.d + 1))
        return scipy.fft.irfftn(spec, s=self.grid, axes=axes)

    def solve_strain(
        self,
        E: Array,
        *,
        callback: Callable[[int, float], None] | None = None,
        keep_fields: bool = True,
    ) -> CellSolution:
        """Solve for a prescribed mean strain/gradient ``E`` (Mandel, length m)."""
        E = np.asarray(E, dtype=float).reshape(self.m)
        m, d = self.m, self.d
        Efield = np.broadcast_to(E.reshape((m,) + (1,) * d), self.field_shape)
        b = np.empty(self.field_shape)
        self.apply(np.ascontiguousarray(Efield), b)
        np.negative(b, out=b)
        e = np.zeros(self.field_shape)
        _, history = pcg(self.apply, lambda r: r, b, e, self.settings, callback=callback)
        del b
        fluct = self.fluctuation(e) if keep_fields else None
        strain = e
        strain += Efield
        stress = self.constitutive(strain, np.empty(self.field_shape))
        energy = float(np.vdot(strain, stress)) / self.labels.size
        if fluct is None:
            fluct = np.empty((self.nc,) + (0,) * d)
        return assemble_solution(
            strain,
            stress,
            fluct,
            energy,
            history,
            discretization=self.discretization,
            keep_fields=keep_fields,
        )

    def solve(self, load: MacroLoad, *, keep_fields: bool = True) -> CellSolution:
        """Solve a strain-, stress- or mixed-controlled load (see `solve_load`)."""
        from scalebridge.cell.periodic import solve_load

        return solve_load(self, load, keep_fields=keep_fields)
