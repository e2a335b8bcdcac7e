"""Nonlinear voxel finite-element cell solver: Newton on the Q1 voxel discretisation.

The same bilinear/trilinear voxel elements as the linear `VoxelFESolver`, with the
phase laws evaluated at Gauss points (``"full"``: ``2**d`` per voxel, each with its own
history) or at the voxel centre (``"reduced"``, see below).  The nodal displacement is
``u = A E + T w``: ``A`` holds the affine fields ``x -> E_j x`` of the unit macro
strains, ``T`` maps the reduced unknowns ``w`` to nodal dofs (periodic images for PBC,
interior nodes for KUBC).  Newton on the internal forces ``f(u) = sum_e sum_q w_q
B_q^T sigma_q`` (normalised by the voxel volume, so ``A^T f = N <sigma>``):

* strain control: ``(T^T K T) dw = -T^T f``;
* stress/mixed control: the stress-controlled components ``E_s`` are extra unknowns of
  one monolithic Newton with the equation ``<sigma>_s = S_s``; the bordered system is
  solved by a Schur complement on ``E_s`` (``1 + n_s`` solves with ``T^T K T``), so the
  convergence stays quadratic.

Newton stops when ``|T^T f| / |(f_e)_e|`` (equilibrium residual over the norm of all
element forces) and ``|<sigma>_s - S_s| / max(|<sigma>|, |S|)`` are both below
``settings.tol``.  The reduced stiffness ``T^T K T``, ``K = sum_e sum_q w_q B_q^T D_q
B_q``, is scattered from the per-point consistent tangents straight into a CSR pattern
found once (one ``bincount``), and solved by SuperLU up to `fe_solver.DIRECT_LIMIT`
unknowns, else by CG preconditioned with the `VoxelAMG` smoothed-aggregation V-cycle
(rigid-body near-null space), rebuilt only when CG needs twice its first count.  The
converged stiffness gives the macro tangent by static condensation, ``C = (A^T K A -
A^T K T (T^T K T)^-1 T^T K A) / N`` (``m`` solves; ``K A`` needs no assembly, since
``B_q A_j = e_j``).

``"reduced"`` quadrature evaluates the law once per voxel at the mean strain and
stabilises the hourglass modes with the phase's virgin tangent ``H`` (physical
hourglass control): ``sigma_q = sigma(eps_bar) + H (eps_q - eps_bar)``.  For linear
laws both rules give the same (exact) stiffness.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray

from scalebridge.cell.amg import ParallelCSR, VoxelAMG
from scalebridge.cell.assembly import node_shape
from scalebridge.cell.cg import CGSettings, pcg
from scalebridge.cell.fe_solver import DIRECT_LIMIT
from scalebridge.cell.nonlinear_common import (
    NewtonSettings,
    NonlinearCellResult,
    PhaseStates,
    evaluate_phases,
    run_increments,
)
from scalebridge.cell.problem import KUBC, MacroLoad, Periodic, as_boundary_condition, as_load
from scalebridge.cell.voxel_fe import gradient_matrix, mandel_to_gradient
from scalebridge.errors import ConvergenceError

log = logging.getLogger(__name__)
Array = NDArray[np.float64]
QUADRATURES = ("full", "reduced")
_PHYSICS = ("elasticity", "conduction")


def quadrature_gradients(spacing: Array, physics: str, quadrature: str) -> Array:
    """``B_q (nq, m, nc * 2**d)`` at the Gauss points (``"full"``) or the centre."""
    h = np.asarray(spacing, dtype=float)
    d = h.size
    g = [0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0)] if quadrature == "full" else [0.5]
    corners = np.array(list(itertools.product((0, 1), repeat=d)))  # (nn, d)
    Bs = []
    for xi in itertools.product(g, repeat=d):
        xi = np.array(xi)
        lin = np.where(corners == 1, xi, 1.0 - xi)  # (nn, d) 1D shape values
        sign = np.where(corners == 1, 1.0, -1.0) / h
        dN = np.empty(corners.shape)
        for k in range(d):
            dN[:, k] = sign[:, k] * np.prod(np.delete(lin, k, axis=1), axis=1)
        Bs.append(gradient_matrix(dN, physics))
    return np.array(Bs)


def element_dofs(grid: tuple[int, ...], nc: int) -> NDArray[np.int64]:
    """Global dofs ``c * N_nodes + node`` of every voxel ``(nvox, nc * 2**d)``, ordered
    ``c * 2**d + a`` like `voxel_fe.element_matrices`."""
    nshape = node_shape(grid)
    nnodes = int(np.prod(nshape))
    ids = np.arange(nnodes).reshape(nshape)
    corners = [
        ids[tuple(slice(o, o + n) for o, n in zip(off, grid, strict=True))].ravel()
        for off in itertools.product((0, 1), repeat=len(grid))
    ]
    nodes = np.stack(corners, axis=1)  # (nvox, nn)
    return np.concatenate([nodes + c * nnodes for c in range(nc)], axis=1)


def reduced_pattern(
    red_edofs: NDArray[np.int64], nred: int
) -> tuple[tuple[NDArray[np.int64], NDArray[np.int64]], NDArray[np.int64]]:
    """CSR pattern ``(indices, indptr)`` of ``T^T K T`` and the position of every element
    matrix entry in its data (``nnz`` for entries on fixed dofs, which are dropped).

    ``red_edofs (nvox, k)``: reduced dof of every element dof, ``nred`` where fixed.
    """
    r = red_edofs.astype(np.int64)
    keys = (r[:, :, None] * (nred + 1) + r[:, None, :]).ravel()
    uniq, scatter = np.unique(keys, return_inverse=True)
    rows, cols = np.divmod(uniq, nred + 1)
    keep = (rows < nred) & (cols < nred)
    nnz = int(keep.sum())
    position = np.where(keep, np.cumsum(keep) - 1, nnz)
    scatter = position[scatter.reshape(-1)]
    itype = np.int32 if nnz < 2**31 - 1 else np.int64
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=nred))])
    return (cols[keep].astype(itype), indptr.astype(itype)), scatter.astype(itype)


def constraint_map(
    grid: tuple[int, ...], nc: int, live: NDArray[np.bool_], periodic: bool
) -> sp.csr_matrix:
    """``T``: reduced unknowns (node-major) -> nodal dofs (component-major).

    ``live`` flags the nodes carrying stiffness.  PBC: every node maps to its periodic
    image and the first fully live image is fixed (rigid translation); KUBC: boundary
    nodes are fixed (``u = E x`` there).
    """
    nshape = node_shape(grid)
    d = len(grid)
    idx = np.indices(nshape).reshape(d, -1)
    if periodic:
        image = np.ravel_multi_index(tuple(idx[j] % grid[j] for j in range(d)), grid)
        free = np.zeros(int(np.prod(grid)), bool)
        np.logical_or.at(free, image, live)
        anchor = np.flatnonzero(free)
        if anchor.size == 0:
            raise ValueError("materials: every phase is void (no stiffness in the cell)")
        free[anchor[0]] = False
    else:
        image = np.arange(idx.shape[1])
        inner = np.all((idx > 0) & (idx < np.array(nshape)[:, None] - 1), axis=0)
        free = live & inner
    rank = np.cumsum(free) - 1
    node_red = np.where(free[image], rank[image], -1)  # reduced node of every node
    rows, cols = [], []
    for c in range(nc):
        ok = np.flatnonzero(node_red >= 0)
        rows.append(ok + c * node_red.size)
        cols.append(node_red[ok] * nc + c)
    nred = int(free.sum()) * nc
    r, cc = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r.size), (r, cc)), shape=(nc * node_red.size, nred))


class NonlinearVoxelFE:
    """Nonlinear cell problem on the voxel grid, Newton with per-point history.

    Parameters
    ----------
    microstructure : Microstructure
        Voxel image of phase labels.
    materials : mapping or sequence
        ``{label: law}``, small-strain elasticity or conduction laws (linear,
        `J2Plasticity`, `PowerLawConductor`, ...).
    bc : {"periodic", "kubc"}
        Periodic fluctuation or kinematic uniform boundary conditions.
    settings : NewtonSettings
    quadrature : {"full", "reduced"}
        ``2**d`` Gauss points per voxel, or one point with hourglass stabilisation.
    linear_solver : {"auto", "direct", "amg"}
        SuperLU, AMG-preconditioned CG, or by size (`fe_solver.DIRECT_LIMIT`).

    Examples
    --------
    >>> import scalebridge as sb
    >>> from scalebridge.materials import Conductivity
    >>> ms = sb.microstructure.laminate((4, 4), volume_fraction=0.5, axis=0)
    >>> cell = NonlinearVoxelFE(ms, {0: Conductivity(k=1.0), 1: Conductivity(k=3.0)})
    >>> res = cell.solve([1.0, 0.0])
    >>> round(float(res.average_stress[0]), 10), res.iterations
    (1.5, 1)
    """

    def __init__(
        self,
        microstructure: Any,
        materials: Mapping[int, Any] | Sequence[Any],
        *,
        bc: str = "periodic",
        settings: NewtonSettings | None = None,
        quadrature: str = "full",
        linear_solver: str = "auto",
    ) -> None:
        from scalebridge.materials import as_phase_map

        self.laws = as_phase_map(materials)
        microstructure.check_materials(self.laws)
        self.bc = as_boundary_condition(bc)
        if not isinstance(self.bc, Periodic | KUBC):
            raise ValueError(
                f"bc: {self.bc.name!r} is not supported here; use 'periodic' or 'kubc'"
            )
        if quadrature not in QUADRATURES:
            raise ValueError(f"quadrature: {quadrature!r} is not one of {QUADRATURES}")
        if linear_solver not in ("auto", "direct", "amg"):
            raise ValueError(f"linear_solver: {linear_solver!r} is not 'auto', 'direct' or 'amg'")
        self.settings = settings or NewtonSettings()
        self.physics = next(iter(self.laws.values())).physics
        if self.physics not in _PHYSICS:
            raise ValueError(f"materials: physics {self.physics!r} is not one of {_PHYSICS}")
        labels = np.asarray(microstructure.labels)
        self.grid = labels.shape
        self.d = labels.ndim
        self.nc = 1 if self.physics == "conduction" else self.d
        self.m = self.d if self.physics == "conduction" else (3 if self.d == 2 else 6)
        self.spacing = np.asarray(microstructure.spacing, dtype=float)
        self.nvox = labels.size
        self.quadrature = quadrature
        self.Bq = quadrature_gradients(self.spacing, self.physics, quadrature)
        self.nq = self.Bq.shape[0]
        self.edofs = element_dofs(self.grid, self.nc)
        self.ndof = self.nc * int(np.prod(node_shape(self.grid)))
        flat = np.tile(labels.ravel(), self.nq)  # point p = q * nvox + voxel
        self.masks = {k: np.flatnonzero(flat == k) for k in sorted(self.laws) if (flat == k).any()}
        self._hourglass: Array | None = None
        if quadrature == "reduced":
            zero = np.zeros((flat.size, self.m))
            _, D0, _ = evaluate_phases(self.laws, self.masks, zero, self.initial_state())
            self._hourglass = self._hourglass_matrices(D0)
        # nodes of solid voxels carry unknowns; nodes only in pores (void laws) do not
        solid = ~np.isin(labels.ravel(), [k for k, law in self.laws.items() if _is_void(law)])
        nnodes = self.ndof // self.nc
        live = np.bincount(self.edofs[solid, : 2**self.d].ravel(), minlength=nnodes) > 0
        self.T = constraint_map(self.grid, self.nc, live, isinstance(self.bc, Periodic))
        self.Tt = self.T.T.tocsr()
        nred = self.T.shape[1]
        red = np.full(self.ndof, nred, np.int64)  # reduced dof of every nodal dof, nred: fixed
        Tcoo = self.T.tocoo()
        red[Tcoo.row] = Tcoo.col
        self._red_edofs = red[self.edofs]
        self._pattern, self._scatter = reduced_pattern(self._red_edofs, nred)
        x = self.node_coordinates().reshape(self.d, -1)
        self.A = np.stack([self._affine(np.eye(self.m)[j], x) for j in range(self.m)], axis=1)
        Tc = self.T.tocsc()
        self._rep = Tc.indices[Tc.indptr[:-1]]  # one nodal dof per reduced unknown
        if linear_solver == "auto":
            linear_solver = "direct" if nred <= DIRECT_LIMIT[self.d] else "amg"
        self.linear_solver = linear_solver

    # ------------------------------------------------------------------ kinematics
    def node_coordinates(self) -> Array:
        """Node positions ``(d, *node_grid)``."""
        idx = np.indices(node_shape(self.grid)).astype(float)
        return idx * self.spacing.reshape((self.d,) + (1,) * self.d)

    def _affine(self, E: Array, x: Array) -> Array:
        G = E.reshape(1, self.d) if self.physics == "conduction" else mandel_to_gradient(E, self.d)
        return (G @ x).ravel()

    def point_gradients(self, u: Array) -> Array:
        """Strain (or gradient) ``(npoints, m)`` of a nodal field, point ``q * nvox + v``."""
        eps = np.einsum("qmk,vk->qvm", self.Bq, u[self.edofs], optimize=True)
        return eps.reshape(-1, self.m)

    def internal_force(self, flux: Array, u: Array) -> tuple[Array, float]:
        """Nodal internal forces ``sum_e f_e`` and the element force scale ``|(f_e)|``."""
        sig = flux.reshape(self.nq, self.nvox, self.m)
        fe = np.einsum("qmk,qvm->vk", self.Bq, sig, optimize=True) / self.nq
        if self._hourglass is not None:
            fe += np.einsum("vkl,vl->vk", self._hourglass, u[self.edofs])
        f = np.bincount(self.edofs.ravel(), weights=fe.ravel(), minlength=self.ndof)
        return f, float(np.linalg.norm(fe))

    def element_stiffness(self, tangent: Array) -> Array:
        """``K_e = sum_q w_q B_q^T D_q B_q`` (per voxel volume) ``(nvox, k, k)``."""
        D = tangent.reshape(self.nq, self.nvox, self.m, self.m)
        Ke = np.einsum("qmk,qvmn,qnl->vkl", self.Bq, D, self.Bq, optimize=True) / self.nq
        if self._hourglass is not None:
            Ke += self._hourglass
        return Ke

    def reduced_stiffness(self, tangent: Array) -> sp.csr_matrix:
        """``T^T K T`` from the point tangents, scattered straight into its CSR pattern."""
        indices, indptr = self._pattern
        Ke = self.element_stiffness(tangent)
        data = np.bincount(self._scatter, weights=Ke.ravel(), minlength=indices.size + 1)
        n = indptr.size - 1
        return sp.csr_matrix((data[: indices.size], indices, indptr), shape=(n, n))

    def macro_coupling(self, tangent: Array) -> tuple[Array, Array, Array]:
        """``T^T K A (nred, m)``, ``A^T K A / N (m, m)`` and the column scales of ``K A``.

        ``B_q A_j`` is the unit strain ``e_j``, so ``K_e A_e = sum_q w_q B_q^T D_q`` and
        ``A^T K A / N`` is the mean tangent (hourglass terms vanish on affine fields).
        """
        D = tangent.reshape(self.nq, self.nvox, self.m, self.m)
        KAe = np.einsum("qmk,qvmj->vkj", self.Bq, D, optimize=True) / self.nq
        nred = self.T.shape[1]
        idx = self._red_edofs.ravel()
        KfA = np.stack(
            [
                np.bincount(idx, weights=KAe[:, :, j].ravel(), minlength=nred + 1)[:nred]
                for j in range(self.m)
            ],
            axis=1,
        )
        return KfA, D.mean(axis=(0, 1)), np.linalg.norm(KAe, axis=(0, 1))

    def _hourglass_matrices(self, D0: Array) -> Array:
        """``sum_q w_q (B_q - Bbar)^T H (B_q - Bbar)`` per voxel, ``H`` the virgin tangent."""
        Bfull = quadrature_gradients(self.spacing, self.physics, "full")
        dB = Bfull - self.Bq  # Bq is the centre (mean) operator here
        H = D0.reshape(self.nvox, self.m, self.m)
        for label, idx in self.masks.items():
            h = H[idx[0]]
            if not _is_void(self.laws[label]) and np.linalg.eigvalsh(0.5 * (h + h.T)).min() <= 0:
                raise ValueError(
                    f"quadrature: 'reduced' stabilises hourglass modes with the tangent at "
                    f"zero gradient, which is not positive definite for phase {label} "
                    f"({self.laws[label]!r}); use quadrature='full'"
                )
        return np.einsum("qmk,vmn,qnl->vkl", dB, H, dB, optimize=True) / dB.shape[0]

    # ------------------------------------------------------------------ linear algebra
    def _near_null_space(self) -> Array:
        nn = self.ndof // self.nc
        node = self._rep % nn
        comp = self._rep // nn
        if self.physics == "conduction":
            return np.ones((self._rep.size, 1))
        x = np.indices(node_shape(self.grid)).reshape(self.d, -1)[:, node] * self.spacing[:, None]
        modes = [(comp == c).astype(float) for c in range(self.d)]
        for i, j in itertools.combinations(range(self.d), 2):
            modes.append(np.where(comp == i, -x[j], 0.0) + np.where(comp == j, x[i], 0.0))
        return np.array(modes).T

    # ------------------------------------------------------------------ public API
    def initial_state(self) -> PhaseStates:
        """Virgin state of every phase over its points."""
        return PhaseStates.initial(self.laws, self.masks, self.m)

    def solve(
        self,
        load: MacroLoad | ArrayLike,
        state: PhaseStates | None = None,
        *,
        u0: Array | None = None,
    ) -> NonlinearCellResult:
        """Solve from the committed ``state`` to the total macro ``load``.

        Parameters
        ----------
        load : MacroLoad or array_like
            Total mean strain (Mandel) / gradient, or a `MacroLoad` with stress-controlled
            components (``mask`` False), solved as extra Newton unknowns.
        state : PhaseStates, optional
            Last committed state (None: virgin).  Never modified.
        u0 : ndarray ``(nc, *node_grid)``, optional
            Initial fluctuation (e.g. ``fluctuation`` of the previous increment); zero
            by default.  Later sub-steps start from the last converged fluctuation,
            extrapolated along its tangent sensitivity ``dw/dE``.

        Returns
        -------
        NonlinearCellResult
            Averages, macro tangent, trial state (commit it by passing it to the next
            solve), Newton statistics.

        Raises
        ------
        ConvergenceError
            When Newton fails even after ``settings.max_substep_halvings`` halvings.
        """
        mload = as_load(load, self.m, self.physics)
        state = self.initial_state() if state is None else state
        E0, S0 = state.start(self.m)
        start = np.where(mload.mask, E0, S0)
        w = np.zeros(self.T.shape[1])
        if u0 is not None:
            u0 = np.asarray(u0, dtype=float)
            if u0.size != self.ndof:
                shape = (self.nc, *node_shape(self.grid))
                raise ValueError(f"u0: expected a fluctuation of shape {shape}, got {u0.shape}")
            w = u0.ravel()[self._rep]
        # warm start of each sub-step: the last converged fluctuation, extrapolated along
        # its sensitivity dw/dE to the converged tangent (after the first sub-step)
        guess: dict[str, Any] = {"w": w, "E": E0, "dw_dE": None}

        def one(values: Array, committed: PhaseStates) -> NonlinearCellResult:
            E = np.where(mload.mask, values, guess["E"])
            w = (
                guess["w"]
                if guess["dw_dE"] is None
                else guess["w"] + guess["dw_dE"] @ (E - guess["E"])
            )
            res, dw_dE = self._newton(values, mload.mask, committed, w, E)
            assert res.fluctuation is not None
            guess.update(w=res.fluctuation.ravel()[self._rep], E=res.average_strain, dw_dE=dw_dE)
            return res

        return run_increments(one, start, mload.values, self.settings, state)

    def _newton(
        self, values: Array, mask: NDArray[np.bool_], state: PhaseStates, w: Array, E: Array
    ) -> tuple[NonlinearCellResult, Array]:
        """Newton from ``(w, E)``; the result and the sensitivity ``dw/dE (nred, m)``."""
        t0 = time.perf_counter()
        s = np.flatnonzero(~mask)
        E = np.where(mask, values, E)
        S_target = values[s]
        w = w.copy()
        residuals: list[float] = []
        linear = _ReducedSolver(self.linear_solver, self.nc, self._near_null_space(), self.settings)
        while True:
            u = self.A @ E + self.T @ w
            eps = self.point_gradients(u)
            flux, tangent, trial = evaluate_phases(self.laws, self.masks, eps, state)
            f, scale = self.internal_force(flux, u)
            r_f = self.Tt @ f
            r_E = self.A[:, s].T @ f - self.nvox * S_target
            Sigma = self.A.T @ f / self.nvox
            s_scale = max(np.linalg.norm(Sigma), np.linalg.norm(S_target)) * self.nvox
            res = max(
                np.linalg.norm(r_f) / scale if scale > 0 else 0.0,
                np.linalg.norm(r_E) / s_scale if s_scale > 0 else 0.0,
            )
            if not (np.isfinite(scale) and np.isfinite(s_scale)):
                res = float("nan")  # a law returned inf/nan: fail, let sub-stepping retry
            residuals.append(float(res))
            if res <= self.settings.tol:
                break
            if len(residuals) > self.settings.max_iter or not np.isfinite(res):
                raise ConvergenceError(
                    f"Newton did not reach tol={self.settings.tol:g} in "
                    f"{self.settings.max_iter} iterations at macro load {values.tolist()} "
                    f"(mask {mask.tolist()}); try substeps or a smaller increment",
                    residuals,
                )
            linear.update(self.reduced_stiffness(tangent))
            if s.size:
                KfA, AKA, norms = self.macro_coupling(tangent)
                KfE = KfA[:, s]
                Z = linear.solve(np.column_stack([-r_f, KfE]), [scale, *norms[s]])
                zf, Z = Z[:, 0], Z[:, 1:]
                C_ss = self.nvox * AKA[np.ix_(s, s)] - KfE.T @ Z
                dE_s = np.linalg.solve(C_ss, -r_E - KfE.T @ zf)
                w += zf - Z @ dE_s
                E[s] += dE_s
            else:
                w -= linear.solve(r_f[:, None], [scale])[:, 0]
        # macro tangent by condensation with the converged stiffness
        linear.update(self.reduced_stiffness(tangent))
        KfA, AKA, norms = self.macro_coupling(tangent)
        W = linear.solve(KfA, norms)
        C = AKA - KfA.T @ W / self.nvox
        energy = float(np.sum(flux * eps)) / flux.shape[0]
        if self._hourglass is not None:
            ue = u[self.edofs]
            energy += float(np.einsum("vk,vkl,vl->", ue, self._hourglass, ue)) / self.nvox
        mean_eps = eps.reshape(self.nq, self.nvox, self.m).mean(axis=(0, 1))
        macro = float(Sigma @ mean_eps)
        hm = abs(energy - macro) / max(abs(energy), abs(macro), 1e-300)
        log.info(
            "Newton: %d iterations, residual %.2e, %.2f s",
            len(residuals) - 1,
            residuals[-1],
            time.perf_counter() - t0,
        )
        result = NonlinearCellResult(
            average_stress=Sigma,
            average_strain=mean_eps,
            tangent=C,
            state=trial.committed(mean_eps, Sigma),
            iterations=len(residuals) - 1,
            residuals=residuals,
            fluctuation=(self.T @ w).reshape(self.nc, *node_shape(self.grid)),
            hill_mandel_residual=hm if macro or energy else 0.0,
            extra={"linear_iterations": linear.iterations},
        )
        return result, -W


def _is_void(law: Any) -> bool:
    """A pore: a linear law with zero tensor (``law.is_void``)."""
    return bool(getattr(law, "is_void", False))


class _ReducedSolver:
    """``(T^T K T)^-1`` for the successive Newton stiffnesses: SuperLU, or CG with a
    `VoxelAMG` hierarchy that is kept while CG needs at most twice its first count."""

    def __init__(self, kind: str, nc: int, B: Array, settings: NewtonSettings) -> None:
        self.kind, self.nc, self.B = kind, nc, B
        self.cg = CGSettings(tol=settings.linear_tol, max_iter=5000)
        self.iterations: list[int] = []
        self._amg: VoxelAMG | None = None
        self._first: int | None = None

    def update(self, Ar: sp.spmatrix) -> None:
        """Take the reduced stiffness of the current Newton iterate."""
        Ar = sp.csr_matrix(Ar)
        if self.kind == "direct":
            self._lu = spla.splu(Ar.tocsc(), permc_spec="MMD_AT_PLUS_A")
            return
        if self._amg is None:
            self._amg, self._first = VoxelAMG(Ar, self.B, self.nc), None
        self._apply = ParallelCSR(Ar).matvec

    def solve(self, b: Array, load_scale: Sequence[float] | Array) -> Array:
        """Solve for every column of ``b (n, r)``; ``load_scale[j]`` sizes column ``j``."""
        if self.kind == "direct":
            return np.asarray(self._lu.solve(np.asarray(b, dtype=float)))
        assert self._amg is not None
        out = np.zeros(b.shape)
        for j in range(b.shape[1]):
            x = np.zeros(b.shape[0])
            rhs = np.ascontiguousarray(b[:, j])
            _, hist = pcg(self._apply, self._amg, rhs, x, self.cg, load_scale=load_scale[j])
            out[:, j] = x
            its = len(hist) - 1
            self.iterations.append(its)
            if self._first is None:
                self._first = max(its, 1)
            elif its > 2 * self._first:
                self._amg = None  # rebuild from the next stiffness
        return out
