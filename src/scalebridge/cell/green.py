"""FFT-diagonalised preconditioners for the periodic voxel Q1 operator.

For a homogeneous reference medium the periodic Q1 stiffness is a convolution, so its
inverse (the discrete Green operator) is diagonal in Fourier space.  With the 1D
symbols of the linear element (normalised by the element length ``h``)::

    mass      m(xi) = (2 + cos xi) / 3
    stiffness s(xi) = 2 (1 - cos xi) / h^2
    w(xi)         = sin(xi) / (h m(xi))

the d-dimensional symbol of ``int grad_j N grad_l N`` is ``M (D + w w^T)`` with
``M = prod_j m_j`` and ``D_jj = s_j / m_j - w_j^2``.  For an isotropic reference
``(lambda0, mu0)`` the elastic symbol is ``M [(lambda0 + mu0)(D + w w^T) +
mu0 (tr D + |w|^2) I]``: diagonal plus rank one, inverted in closed form
(Sherman-Morrison) frequency by frequency, so nothing but 1D tables is stored.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from scalebridge.cell.fft import RealFFT

Array = NDArray[np.float64]


def axis_tables(n: int, h: float, half: bool) -> Array:
    """Rows ``(m, w, D)`` of the 1D symbols on the FFT frequencies of one axis."""
    k = np.arange(n // 2 + 1 if half else n)
    xi = 2.0 * np.pi * k / n
    m = (2.0 + np.cos(xi)) / 3.0
    s = 2.0 * (1.0 - np.cos(xi)) / h**2
    w = np.sin(xi) / (h * m)
    return np.stack([m, w, s / m - w**2])


@njit(parallel=True, fastmath=True, cache=True)
def _green_elastic_3d(X, tx, ty, tz, a, mu0, c0):  # pragma: no cover - compiled
    nx, ny, nz = X.shape[1], X.shape[2], X.shape[3]
    for i in prange(nx):
        for j in range(ny):
            for k in range(nz):
                M = tx[0, i] * ty[0, j] * tz[0, k]
                wx, wy, wz = tx[1, i], ty[1, j], tz[1, k]
                T = tx[2, i] + ty[2, j] + tz[2, k] + wx * wx + wy * wy + wz * wz
                if T <= 0.0:
                    X[0, i, j, k] *= c0
                    X[1, i, j, k] *= c0
                    X[2, i, j, k] *= c0
                    continue
                lx = 1.0 / (a * tx[2, i] + mu0 * T)
                ly = 1.0 / (a * ty[2, j] + mu0 * T)
                lz = 1.0 / (a * tz[2, k] + mu0 * T)
                yx = X[0, i, j, k] * lx
                yy = X[1, i, j, k] * ly
                yz = X[2, i, j, k] * lz
                t = wx * yx + wy * yy + wz * yz
                den = 1.0 + a * (wx * wx * lx + wy * wy * ly + wz * wz * lz)
                f = a * t / den
                iM = 1.0 / M
                X[0, i, j, k] = (yx - f * wx * lx) * iM
                X[1, i, j, k] = (yy - f * wy * ly) * iM
                X[2, i, j, k] = (yz - f * wz * lz) * iM


@njit(parallel=True, fastmath=True, cache=True)
def _green_elastic_2d(X, tx, ty, a, mu0, c0):  # pragma: no cover - compiled
    nx, ny = X.shape[1], X.shape[2]
    for i in prange(nx):
        for j in range(ny):
            M = tx[0, i] * ty[0, j]
            wx, wy = tx[1, i], ty[1, j]
            T = tx[2, i] + ty[2, j] + wx * wx + wy * wy
            if T <= 0.0:
                X[0, i, j] *= c0
                X[1, i, j] *= c0
                continue
            lx = 1.0 / (a * tx[2, i] + mu0 * T)
            ly = 1.0 / (a * ty[2, j] + mu0 * T)
            yx = X[0, i, j] * lx
            yy = X[1, i, j] * ly
            t = wx * yx + wy * yy
            den = 1.0 + a * (wx * wx * lx + wy * wy * ly)
            f = a * t / den
            iM = 1.0 / M
            X[0, i, j] = (yx - f * wx * lx) * iM
            X[1, i, j] = (yy - f * wy * ly) * iM


@njit(parallel=True, fastmath=True, cache=True)
def _green_scalar_3d(X, tx, ty, tz, k0, c0):  # pragma: no cover - compiled
    nx, ny, nz = X.shape[1], X.shape[2], X.shape[3]
    for i in prange(nx):
        for j in range(ny):
            for k in range(nz):
                M = tx[0, i] * ty[0, j] * tz[0, k]
                wx, wy, wz = tx[1, i], ty[1, j], tz[1, k]
                T = tx[2, i] + ty[2, j] + tz[2, k] + wx * wx + wy * wy + wz * wz
                X[0, i, j, k] = X[0, i, j, k] / (k0 * M * T) if T > 0.0 else c0 * X[0, i, j, k]


@njit(parallel=True, fastmath=True, cache=True)
def _green_scalar_2d(X, tx, ty, k0, c0):  # pragma: no cover - compiled
    nx, ny = X.shape[1], X.shape[2]
    for i in prange(nx):
        for j in range(ny):
            M = tx[0, i] * ty[0, j]
            wx, wy = tx[1, i], ty[1, j]
            T = tx[2, i] + ty[2, j] + wx * wx + wy * wy
            X[0, i, j] = X[0, i, j] / (k0 * M * T) if T > 0.0 else c0 * X[0, i, j]


class GreenPreconditioner:
    """``r -> S K0^+ S r``: discrete Green operator of an isotropic reference medium.

    ``S`` is the identity (Green preconditioner) or the Jacobi scaling
    ``sqrt(diag K0 / diag K)`` (Jacobi-Green, after Ladecky et al. 2023), which makes the
    iteration count much less sensitive to the phase contrast.  Rows of ``K`` that
    are identically zero (nodes inside pores) get ``S = 0``.

    Parameters
    ----------
    grid, spacing : voxel grid and voxel edge lengths.
    physics : {"conduction", "elasticity"}
    reference : ``(k0,)`` or ``(lambda0, mu0)``.
    diag : ndarray, optional
        Diagonal of the heterogeneous operator: enables the Jacobi scaling.
    ref_diag : ndarray, optional
        Diagonal of the reference operator per component, needed with ``diag``.
    fft : RealFFT, optional
        FFT plan to reuse (owns the work buffers).
    """

    def __init__(
        self,
        grid: tuple[int, ...],
        spacing: Array,
        physics: str,
        reference: tuple[float, ...],
        *,
        diag: Array | None = None,
        ref_diag: Array | None = None,
        fft: RealFFT | None = None,
    ) -> None:
        d = len(grid)
        self.physics = physics
        self.nc = 1 if physics == "conduction" else d
        self.fft = fft if fft is not None else RealFFT(self.nc, tuple(grid))
        self.tables = [
            axis_tables(n, h, half=(j == d - 1))
            for j, (n, h) in enumerate(zip(grid, spacing, strict=True))
        ]
        # The inverse FFT is left unnormalised: scale the mass symbol of axis 0 by N
        # (M appears only as 1/M in the inverse), so K0^-1 carries the 1/N factor.
        self.tables[0][0] *= float(np.prod(grid))
        self.reference = reference
        self.scale: Array | None = None
        # Zero frequency: K0 is singular on constants.  The plain Green operator keeps
        # the mean at zero; with Jacobi scaling, S^-1 * const is not a null vector of
        # K, so the mean mode gets the Jacobi value 1/diag(K0) to keep S K0^-1 S
        # positive definite (CG then converges on the consistent singular system).
        self.c0 = 0.0
        if diag is not None:
            assert ref_diag is not None
            rd = np.asarray(ref_diag, dtype=float).reshape((self.nc,) + (1,) * d)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.sqrt(rd / diag)
            s[~np.isfinite(s)] = 0.0
            self.scale = np.ascontiguousarray(s)
            self.c0 = 1.0 / (float(np.mean(ref_diag)) * float(np.prod(grid)))

    def solve_spectrum(self, X: NDArray[np.complex128]) -> None:
        """Multiply a half spectrum ``(nc, ...)`` by the reference inverse, in place."""
        t = self.tables
        if self.physics == "conduction":
            (k0,) = self.reference
            if len(t) == 3:
                _green_scalar_3d(X, t[0], t[1], t[2], k0, self.c0)
            else:
                _green_scalar_2d(X, t[0], t[1], k0, self.c0)
        else:
            lam0, mu0 = self.reference
            if len(t) == 3:
                _green_elastic_3d(X, t[0], t[1], t[2], lam0 + mu0, mu0, self.c0)
            else:
                _green_elastic_2d(X, t[0], t[1], lam0 + mu0, mu0, self.c0)

    def __call__(self, r: Array) -> Array:
        """Return ``S K0^+ S r`` (a buffer owned by the FFT plan; read before the next call)."""
        buf = self.fft.real
        if self.scale is None:
            buf[...] = r
        else:
            np.multiply(r, self.scale, out=buf)
        self.solve_spectrum(self.fft.forward())
        out = self.fft.backward(normalise=False)  # 1/N folded into the tables
        if self.scale is not None:
            out *= self.scale
        return out
