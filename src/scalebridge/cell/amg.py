"""Smoothed-aggregation multigrid for the voxel FE cell problem, matrix-free on the fine grid.

The assembled fine stiffness of 3D voxel elasticity has 81 nonzeros per row: at 64^3
(800 k unknowns) one sparse product reads 0.8 GB and takes about 0.1 s on one core,
while the matrix-free voxel kernel (`VoxelOperator`) applies the same operator in 5 ms
on two.  pyamg builds the hierarchy (aggregates, smoothed prolongation, Galerkin coarse
operators) from the assembled matrix once; the V-cycle then

* smooths the fine level with a Chebyshev polynomial in ``D^-1 A`` that only needs
  matrix-free products (the same polynomial before and after, so the cycle is
  symmetric and CG may use it),
* smooths the coarse levels with forward block Gauss-Seidel before and backward after
  the coarse correction (one sweep each, node blocks),
* solves the coarsest level by dense Cholesky.

The fine assembled matrix is dropped after set-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numba import njit, prange
from numpy.typing import NDArray

Array = NDArray[np.float64]
Apply = Callable[[Array, Array], Array]


@njit(parallel=True, cache=True)
def _csr_matvec(indptr, indices, data, x, out):  # pragma: no cover - compiled
    for i in prange(out.size):
        s = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * x[indices[k]]
        out[i] = s


class ParallelCSR:
    """A CSR matrix whose products run on all cores (scipy's use one)."""

    def __init__(self, A: sp.spmatrix) -> None:
        A = sp.csr_matrix(A)
        A.sort_indices()
        self.shape = A.shape
        self.nnz = int(A.nnz)
        self.indptr = A.indptr
        self.indices = A.indices
        self.data = np.ascontiguousarray(A.data, dtype=np.float64)

    def __matmul__(self, x: Array) -> Array:
        out = np.empty(self.shape[0])
        _csr_matvec(self.indptr, self.indices, self.data, np.ascontiguousarray(x), out)
        return out

    def matvec(self, x: Array, out: Array) -> Array:
        _csr_matvec(self.indptr, self.indices, self.data, x, out)
        return out


def lanczos_max_eigenvalue(apply: Callable[[Array], Array], n: int, steps: int = 12) -> float:
    """Largest eigenvalue of a symmetric operator by a few Lanczos steps (Ritz value)."""
    rng = np.random.default_rng(0)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    v_old = np.zeros(n)
    alpha, beta = [], [0.0]
    for _ in range(min(steps, n)):
        w = apply(v)
        a = float(v @ w)
        w -= a * v + beta[-1] * v_old
        alpha.append(a)
        b = float(np.linalg.norm(w))
        if b <= 1e-14 * abs(a):
            break
        beta.append(b)
        v_old, v = v, w / b
    k = len(alpha)
    return float(sla.eigvalsh_tridiagonal(np.array(alpha), np.array(beta[1:k]))[-1])


class VoxelAMG:
    """V-cycle preconditioner ``r -> M^-1 r`` for a symmetric positive definite system.

    Parameters
    ----------
    A : sparse matrix
        The assembled system, node-major (``blocksize`` dofs per node) so that the
        aggregates hold whole nodes.
    B : ndarray ``(n, k)``
        Near-null space (rigid-body modes for elasticity, constants for conduction).
    blocksize : int
        Dofs per node.
    fine_apply : callable, optional
        ``fine_apply(x, out)`` writes ``A x``; without it the assembled matrix is kept
        and used.
    degree : int
        Degree of the fine-level Chebyshev smoother.
    lower : float
        The Chebyshev interval is ``[lower, 1.1] * lambda_max(D^-1 A)``.
    """

    def __init__(
        self,
        A: sp.spmatrix,
        B: Array | None,
        blocksize: int,
        fine_apply: Apply | None = None,
        *,
        degree: int = 2,
        lower: float = 0.25,
        max_coarse: int = 500,
        smooth: str | tuple[str, dict[str, Any]] = "energy",
    ) -> None:
        import pyamg
        from pyamg.util.utils import get_block_diag

        A = sp.csr_matrix(A)
        if blocksize > 1:
            A = A.tobsr(blocksize=(blocksize, blocksize))
        self.n = A.shape[0]
        self.blocksize = blocksize
        ml = pyamg.smoothed_aggregation_solver(
            A,
            B=B,
            max_coarse=max_coarse,
            improve_candidates=None,
            smooth=smooth,
            presmoother=None,
            postsmoother=None,
        )
        self.operator_complexity = float(ml.operator_complexity())
        self.grid_complexity = float(ml.grid_complexity())
        self.level_sizes = [int(lvl.A.shape[0]) for lvl in ml.levels]
        levels = ml.levels
        self._A: list[Any] = [None] + [ParallelCSR(lvl.A) for lvl in levels[1:-1]]
        self._P = [ParallelCSR(lvl.P) for lvl in levels[:-1]]
        self._R = [ParallelCSR(lvl.P.T) for lvl in levels[:-1]]
        # block Gauss-Seidel arrays (BSR, node blocks) and block-diagonal inverses
        self._gs: list[Any] = [None]
        for lvl in levels[1:-1]:
            Ab = sp.bsr_matrix(lvl.A, blocksize=(blocksize, blocksize))
            Dinv = get_block_diag(Ab, blocksize=blocksize, inv_flag=True)
            self._gs.append((Ab.indptr, Ab.indices, np.ravel(Ab.data), np.ravel(Dinv)))
        Ac = levels[-1].A.toarray()
        try:
            cho = sla.cho_factor(Ac)
            self._coarse_solve: Callable[[Array], Array] = lambda b: sla.cho_solve(cho, b)
        except np.linalg.LinAlgError:  # singular (a floating cluster): pseudo-inverse
            Ac_pinv = sla.pinvh(Ac)
            self._coarse_solve = lambda b: Ac_pinv @ b
        self._nlevels = len(levels)
        diag = A.diagonal()
        self._dinv = 1.0 / diag
        if fine_apply is None:
            A0 = sp.csr_matrix(A)

            def fine_apply(x: Array, out: Array) -> Array:
                out[...] = A0 @ x
                return out

        self._apply = fine_apply
        self.degree = degree
        self._tmp = np.empty(self.n)
        dsq = np.sqrt(self._dinv)

        def scaled(v: Array) -> Array:
            return dsq * fine_apply(dsq * v, np.empty(self.n))

        lmax = 1.1 * lanczos_max_eigenvalue(scaled, self.n)
        self._theta = 0.5 * (1.0 + lower) * lmax
        self._delta = 0.5 * (1.0 - lower) * lmax

    # ------------------------------------------------------------------ smoothers
    def _chebyshev(self, x: Array, b: Array, zero_start: bool) -> None:
        """``degree`` steps of Chebyshev iteration for ``D^-1 A x = D^-1 b``, in place."""
        theta, delta = self._theta, self._delta
        if zero_start:
            r = self._dinv * b
        else:
            r = self._dinv * (b - self._apply(x, self._tmp))
        sigma = theta / delta
        rho = 1.0 / sigma
        d = r / theta
        for k in range(self.degree):
            x += d
            if k == self.degree - 1:
                break
            r -= self._dinv * self._apply(d, self._tmp)
            rho_new = 1.0 / (2.0 * sigma - rho)
            d *= rho_new * rho
            d += (2.0 * rho_new / delta) * r
            rho = rho_new

    def _gauss_seidel(self, lvl: int, x: Array, b: Array, forward: bool) -> None:
        from pyamg import amg_core

        indptr, indices, data, dinv = self._gs[lvl]
        nb = indptr.size - 1
        start, stop, step = (0, nb, 1) if forward else (nb - 1, -1, -1)
        amg_core.block_gauss_seidel(
            indptr, indices, data, x, b, dinv, start, stop, step, self.blocksize
        )

    # ------------------------------------------------------------------ cycle
    def _cycle(self, lvl: int, b: Array) -> Array:
        if lvl == self._nlevels - 1:
            return self._coarse_solve(b)
        x = np.zeros_like(b)
        if lvl == 0:
            self._chebyshev(x, b, zero_start=True)
            res = b - self._apply(x, self._tmp)
        else:
            self._gauss_seidel(lvl, x, b, forward=True)
            res = b - self._A[lvl] @ x
        x += self._P[lvl] @ self._cycle(lvl + 1, self._R[lvl] @ res)
        if lvl == 0:
            self._chebyshev(x, b, zero_start=False)
        else:
            self._gauss_seidel(lvl, x, b, forward=False)
        return x

    def __call__(self, r: Array) -> Array:
        return self._cycle(0, np.asarray(r, dtype=float).reshape(-1)).reshape(np.shape(r))
