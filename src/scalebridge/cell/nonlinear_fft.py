"""Nonlinear periodic cell problems: Fourier-Galerkin Newton-Krylov with per-voxel history.

The unknown is the compatible fluctuation ``e`` of the gradient at the voxel centres
(small strain: the Mandel strain; conduction: the temperature gradient; finite strain:
the deformation gradient ``F``), as in the linear `FourierSolver`.  Equilibrium is the
Galerkin condition ``G[flux(E + e)] = 0`` with the material-independent projection
``G`` onto compatible fields.  Newton linearises it with the consistent tangent ``A``
of every voxel's law::

    G[A : de] = -G[flux]          (solved by CG on the compatible subspace)

which is symmetric because ``A`` is (J2 with linear hardening, hyperelastic laws,
potential-based conductors): CG is the Krylov method of this Newton-Krylov scheme
(Gelebart & Mondon-Cancel 2013, Zeman et al. 2017).

Stress- and mixed-controlled components of the macro load are extra unknowns of the same
Newton iteration: with ``chi_j`` the fluctuation answering a unit macro gradient ``I_j``
(``G[A : (I_j + chi_j)] = 0``), the correction ``de = de0 + sum_j dE_j chi_j`` and the
free components ``dE_f`` solve the small system ``<A : (de0 + sum_j dE_j (I_j +
chi_j))>_f = S_f - <flux>_f``.  Convergence stays quadratic; one extra CG solve per free
component and iteration.

The macro consistent tangent ``dSigma/dE = <A : (I_j + chi_j)>`` comes from ``m`` CG
solves with the converged tangent field.  The finite-strain formulation uses the
projection onto gradients of periodic displacement fields, ``G[T]^ = (T^ n) (x) n``,
with the first Piola-Kirchhoff stress as flux (Kabel, Boehlke & Schneider 2014).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalebridge.cell.cg import CGSettings, pcg
from scalebridge.cell.fft import RealFFT
from scalebridge.cell.fourier import GalerkinProjection, wave_directions
from scalebridge.cell.nonlinear_common import (
    NewtonSettings,
    NonlinearCellResult,
    PhaseStates,
    run_increments,
)
from scalebridge.cell.problem import MacroLoad
from scalebridge.errors import ConvergenceError

Array = NDArray[np.float64]
CArray = NDArray[np.complex128]

PHYSICS = ("conduction", "elasticity", "finite-strain")


class GradientProjection:
    """Projection onto gradients of periodic vector fields, ``G[T]^ = (T^ n) (x) n``.

    Fields are ``(d*d, *grid)`` with component ``i*d + J`` holding ``T_iJ`` (row-major
    flattening of ``F`` and ``P``).  ``n = xi/|xi|`` is zero at the zero and Nyquist
    frequencies (see `wave_directions`).
    """

    def __init__(self, grid: tuple[int, ...], spacing: Array) -> None:
        self.d = len(grid)
        self.n, _ = wave_directions(grid, spacing)

    def apply(self, spec: CArray) -> CArray:
        """Project the half spectrum ``(d*d, *half)`` in place and return it."""
        d, n = self.d, self.n
        for i in range(d):
            t = sum(spec[i * d + L] * n[L] for L in range(d))
            for J in range(d):
                np.multiply(t, n[J], out=spec[i * d + J])
        return spec


def _physics_of(laws: Mapping[int, Any]) -> str:
    kinds = {label: law.physics for label, law in laws.items()}
    if len(set(kinds.values())) != 1:
        raise ValueError(f"materials: mixed physics {kinds}; every phase needs the same one")
    physics = next(iter(kinds.values()))
    if physics not in PHYSICS:
        raise ValueError(f"materials: physics {physics!r} is not one of {', '.join(PHYSICS)}")
    return physics


class NonlinearFFT:
    """Periodic nonlinear cell solver (Newton-Krylov on the Fourier-Galerkin scheme).

    Parameters
    ----------
    microstructure : Microstructure
        Periodic voxel labels (2D: plane strain; finite strain 2D: ``F`` is 2x2).
    materials : mapping or sequence
        One law per label implementing the constitutive protocol (linear, J2
        plasticity, power-law conduction, Neo-Hookean, ...); one physics for all.
    settings : NewtonSettings
        Newton tolerance, iteration limit, Krylov tolerance and sub-stepping.

    Examples
    --------
    >>> from scalebridge.microstructure import Microstructure
    >>> from scalebridge.materials import Elasticity
    >>> ms = Microstructure(np.zeros((4, 4), dtype=int))
    >>> cell = NonlinearFFT(ms, [Elasticity(E=1.0, nu=0.25)])
    >>> r = cell.solve([1e-3, 0.0, 0.0])
    >>> r.average_stress.round(8), r.iterations  # homogeneous: in equilibrium at once
    (array([0.0012, 0.0004, 0.    ]), 0)
    """

    discretization = "fourier"
    bc = "periodic"

    def __init__(
        self,
        microstructure: Any,
        materials: Mapping[int, Any] | Sequence[Any],
        *,
        settings: NewtonSettings | None = None,
    ) -> None:
        from scalebridge.materials import as_phase_map

        laws = as_phase_map(materials)
        microstructure.check_materials(laws)
        self.physics = _physics_of(laws)
        self.settings = settings if settings is not None else NewtonSettings()
        if not isinstance(self.settings, NewtonSettings):
            raise ValueError(f"settings: expected NewtonSettings, got {settings!r}")
        labels = np.asarray(microstructure.labels)
        self.grid = tuple(int(n) for n in labels.shape)
        self.d = len(self.grid)
        self.spacing = np.asarray(microstructure.spacing, dtype=float)
        self.npoints = labels.size
        flat = labels.reshape(-1)
        present = [int(p) for p in microstructure.phases]
        self.laws = {p: laws[p] for p in present}
        self.masks = {p: np.flatnonzero(flat == p) for p in present}
        if self.physics == "conduction":
            self.m = self.d
        elif self.physics == "elasticity":
            self.m = 3 if self.d == 2 else 6
        else:
            self.m = self.d * self.d
        self._projector: GradientProjection | GalerkinProjection
        if self.physics == "finite-strain":
            self._projector = GradientProjection(self.grid, self.spacing)
        else:
            self._projector = GalerkinProjection(self.grid, self.spacing, self.physics)
        # estimate plans: the same rounding in every process (FE2 on any executor gives
        # bitwise identical results); measured plans gain little on these small cells
        small = self.npoints < (1 << 16)
        self.fft = RealFFT(self.m, self.grid, threads=1 if small else None, planner="estimate")

    # -- fields ---------------------------------------------------------------------------
    @property
    def ncomp(self) -> int:
        """Components of the macro gradient (``m``)."""
        return self.m

    @property
    def field_shape(self) -> tuple[int, ...]:
        """Shape ``(m, *grid)`` of gradient and flux fields."""
        return (self.m, *self.grid)

    def reference_gradient(self) -> Array:
        """Macro gradient of the undeformed cell: zero, or the identity for finite strain."""
        if self.physics == "finite-strain":
            return np.eye(self.d).reshape(-1)
        return np.zeros(self.m)

    def initial_state(self) -> PhaseStates:
        """Virgin history of every phase, with the reference macro gradient attached."""
        st = PhaseStates.initial(self.laws, self.masks, self.m)
        return st.committed(self.reference_gradient(), np.zeros(self.m))

    def project(self, field: Array, out: Array) -> Array:
        """Write ``G[field]`` into ``out`` (real fields ``(m, *grid)``)."""
        self.fft.real[...] = field
        self._projector.apply(self.fft.forward())
        out[...] = self.fft.backward()
        return out

    def _points(self, field: Array) -> Array:
        return field.reshape(self.m, -1).T

    def _tangent_operator(self, A: Array) -> Any:
        m = self.m

        def apply(p: Array, out: Array) -> Array:
            flux = np.einsum("nij,jn->in", A, p.reshape(m, -1))
            return self.project(flux.reshape(self.field_shape), out)

        return apply

    def _krylov(self, A: Array, rhs: Array, tol: float | None = None) -> tuple[Array, int]:
        """Solve ``G[A : x] = rhs`` on compatible fields (``rhs`` compatible).

        ``tol``: relative Krylov residual, ``settings.linear_tol`` when omitted.
        """
        x = np.zeros(self.field_shape)
        if not np.any(rhs):
            return x, 0
        tol = self.settings.linear_tol if tol is None else tol
        cg = CGSettings(tol=tol, max_iter=max(1000, 20 * max(self.grid)))
        _, hist = pcg(self._tangent_operator(A), lambda r: r, rhs, x, cg)
        return x, len(hist) - 1

    def _unit_response(self, A: Array, j: int) -> tuple[Array, int]:
        """``chi_j`` with ``G[A : (I_j + chi_j)] = 0``, and the CG iterations."""
        unit = np.zeros(self.field_shape)
        unit[j] = 1.0
        rhs = self._tangent_operator(A)(unit, np.empty(self.field_shape))
        np.negative(rhs, out=rhs)
        return self._krylov(A, rhs)

    def macro_tangent(self, A: Array) -> tuple[Array, int]:
        """Consistent macro tangent ``<A : (I_j + chi_j)>`` of a tangent field ``A``."""
        m = self.m
        C = np.empty((m, m))
        its = 0
        for j in range(m):
            chi, k = self._unit_response(A, j)
            its += k
            chi[j] += 1.0
            C[:, j] = np.einsum("nij,jn->i", A, chi.reshape(m, -1)) / self.npoints
        return C, its

    # -- solve ----------------------------------------------------------------------------
    def solve(
        self,
        load: ArrayLike | MacroLoad,
        state: PhaseStates | None = None,
        *,
        fluctuation: Array | None = None,
        tangent: bool = True,
    ) -> NonlinearCellResult:
        """Solve one load increment from the committed ``state`` to ``load``.

        Parameters
        ----------
        load : array_like or MacroLoad
            Total macro gradient at the end of the increment (Mandel strain, gradient or
            flattened ``F``), or a `MacroLoad` prescribing stress components
            (``mask`` False) and gradient components (True).
        state : PhaseStates, optional
            Last committed state (`initial_state` when omitted); never modified.
        fluctuation : ndarray ``(m, *grid)``, optional
            Converged fluctuation of the committed state: the Newton start.
        tangent : bool
            Compute the macro consistent tangent (``m`` extra Krylov solves).

        Returns
        -------
        NonlinearCellResult
            ``fluctuation`` holds the converged gradient fluctuation ``(m, *grid)``.

        Raises
        ------
        ConvergenceError
            Newton did not converge even after sub-stepping; the residual history and
            every attempt are in the message.
        """
        ld = load if isinstance(load, MacroLoad) else MacroLoad.strain(np.asarray(load, float))
        if ld.values.size != self.m:
            raise ValueError(
                f"load: expected {self.m} components for {self.physics} in {self.d}D, "
                f"got {ld.values.size}"
            )
        state = self.initial_state() if state is None else state
        if not isinstance(state, PhaseStates):
            raise ValueError(f"state: expected PhaseStates, got {type(state).__name__}")
        G0, S0 = state.start(self.m)
        if state.macro_gradient is None:
            G0 = self.reference_gradient()
        start = np.where(ld.mask, G0, S0)
        e0 = np.zeros(self.field_shape) if fluctuation is None else np.array(fluctuation, float)
        if e0.shape != self.field_shape:
            raise ValueError(f"fluctuation: expected shape {self.field_shape}, got {e0.shape}")
        guess = {"e": e0, "E": G0.copy()}

        def one(values: Array, committed: PhaseStates) -> NonlinearCellResult:
            res = self._newton(values, ld.mask, committed, guess["e"], guess["E"])
            guess["e"], guess["E"] = res.fluctuation, res.average_strain
            return res

        result = run_increments(one, start, ld.values, self.settings, state)
        A = result.extra.pop("tangent_field")
        C = np.full((self.m, self.m), np.nan)
        krylov = result.extra.get("krylov_iterations", 0)
        if tangent:
            C, its = self.macro_tangent(A)
            krylov += its
        result.extra["krylov_iterations"] = krylov
        return dataclasses.replace(result, tangent=C)

    def _residual(
        self, e: Array, E: Array, values: Array, free: NDArray[np.intp], committed: PhaseStates
    ) -> _Iterate:
        """Flux, tangent, trial state and equilibrium residual at ``E + e``."""
        m = self.m
        total = e + E.reshape((m,) + (1,) * self.d)
        flux_pts, A, trial = committed.evaluate(self.laws, self.masks, self._points(total))
        flux = np.ascontiguousarray(flux_pts.T).reshape(self.field_shape)
        mean_flux = flux_pts.mean(axis=0)
        g = self.project(flux, np.empty(self.field_shape))
        res = float(np.linalg.norm(g)) / max(float(np.linalg.norm(flux)), 1e-300)
        if free.size:
            scale = max(float(np.linalg.norm(mean_flux)), float(np.linalg.norm(values[free])))
            miss = float(np.linalg.norm(values[free] - mean_flux[free]))
            res = max(res, miss / max(scale, 1e-300))
        return _Iterate(e, E, total, flux, mean_flux, A, trial, g, res)

    def _newton(
        self,
        values: Array,
        mask: NDArray[np.bool_],
        committed: PhaseStates,
        e_start: Array,
        E_start: Array,
    ) -> NonlinearCellResult:
        m, npts = self.m, self.npoints
        free = np.flatnonzero(~mask)
        settings = self.settings
        residuals: list[float] = []
        krylov = 0
        try:
            cur = self._residual(
                e_start.copy(), np.where(mask, values, E_start), values, free, committed
            )
        except ValueError as err:  # e.g. det F <= 0: the step was too large
            raise ConvergenceError(f"nonlinear cell: the law failed ({err})", [np.inf]) from err
        for it in range(settings.max_iter + 1):
            residuals.append(cur.res)
            if not np.isfinite(cur.res):
                break
            if cur.res <= settings.tol:
                flux = cur.flux.reshape(m, -1)
                energy = float(np.einsum("in,in->", cur.total.reshape(m, -1), flux)) / npts
                mean_grad = cur.total.reshape(m, -1).mean(axis=1)
                macro = float(cur.mean_flux @ mean_grad)
                hm = abs(energy - macro) / max(abs(energy), abs(macro), 1e-300)
                return NonlinearCellResult(
                    average_stress=cur.mean_flux,
                    average_strain=mean_grad,
                    tangent=np.full((m, m), np.nan),
                    state=cur.trial.committed(mean_grad, cur.mean_flux),
                    iterations=it,
                    residuals=residuals,
                    fluctuation=cur.e,
                    hill_mandel_residual=hm,
                    extra={"tangent_field": cur.A, "krylov_iterations": krylov},
                )
            if it == settings.max_iter:
                break
            de, dE, k = self._correction(cur, values, free)
            krylov += k
            cur = self._line_search(cur, de, dE, values, free, committed)
        raise ConvergenceError(
            f"nonlinear cell ({self.physics}, grid {self.grid}): Newton did not reach "
            f"tol {settings.tol:g} in {settings.max_iter} iterations; residuals "
            f"{np.array2string(np.array(residuals), precision=2)}",
            residuals,
        )

    def _correction(
        self, cur: _Iterate, values: Array, free: NDArray[np.intp]
    ) -> tuple[Array, Array, int]:
        """Newton correction of the fluctuation and of the stress-controlled components."""
        m, npts, A = self.m, self.npoints, cur.A
        rhs = -cur.g
        # inexact Newton: a Krylov residual below 0.1 x the Newton residual keeps the
        # convergence quadratic (Dembo, Eisenstat & Steihaug 1982)
        forcing = min(max(self.settings.linear_tol, 0.1 * cur.res), 1e-3)
        de, krylov = self._krylov(A, rhs, forcing)
        dE = np.zeros(m)
        if not free.size:
            return de, dE, krylov
        chis = []
        M = np.empty((free.size, free.size))
        for c, j in enumerate(free):
            chi, k = self._unit_response(A, j)
            krylov += k
            chi[j] += 1.0
            chis.append(chi)
            M[:, c] = np.einsum("nij,jn->i", A, chi.reshape(m, -1))[free] / npts
        base = np.einsum("nij,jn->i", A, de.reshape(m, -1))[free] / npts
        try:
            dEf = np.linalg.solve(M, values[free] - cur.mean_flux[free] - base)
        except np.linalg.LinAlgError:
            raise ConvergenceError(
                f"nonlinear cell: no macro stiffness for the stress-controlled components "
                f"{free.tolist()} (singular tangent, e.g. a power law at zero gradient: start "
                "from a strain-controlled step or regularise the law)",
                [cur.res],
            ) from None
        for c, j in enumerate(free):
            chis[c][j] -= 1.0
            de += dEf[c] * chis[c]
        dE[free] = dEf
        return de, dE, krylov

    def _line_search(
        self,
        cur: _Iterate,
        de: Array,
        dE: Array,
        values: Array,
        free: NDArray[np.intp],
        committed: PhaseStates,
    ) -> _Iterate:
        """Full Newton step, halved while the residual does not decrease.

        Plastic cells with stiff inclusions make plain Newton cycle between elastic and
        plastic states of the matrix on large increments; backtracking on the residual
        norm restores convergence without sub-stepping, so the macro tangent stays the
        derivative of the whole increment.
        """
        alpha = 1.0
        best: _Iterate | None = None
        for _ in range(LINE_SEARCH_STEPS + 1):
            try:
                new = self._residual(
                    cur.e + alpha * de, cur.E + alpha * dE, values, free, committed
                )
            except ValueError:  # the law refuses the point (det F <= 0): shorten the step
                alpha *= 0.5
                continue
            if new.res < cur.res:
                return new
            if best is None or new.res < best.res:
                best = new
            alpha *= 0.5
        if best is None:
            raise ConvergenceError(
                "nonlinear cell: the law failed at every step length of the line search",
                [cur.res],
            )
        return best


LINE_SEARCH_STEPS = 6
"""Halvings of a Newton step before the least-bad step is taken anyway."""


@dataclass
class _Iterate:
    e: Array
    E: Array
    total: Array
    flux: Array
    mean_flux: Array
    A: Array
    trial: PhaseStates
    g: Array
    res: float
