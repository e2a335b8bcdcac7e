"""Shared pieces of the nonlinear cell solvers (voxel FE and FFT Newton-Krylov).

* `NewtonSettings`: tolerances and sub-stepping limits of one Newton solve.
* `PhaseStates`: the history variables of every phase over that phase's points (voxels
  or quadrature points), plus the committed macro gradient and flux; immutable, with a
  flat ``{'phase{label}/{name}': array}`` form for HDF5.
* `evaluate_phases`: one call of every phase law on its points, returning the trial
  state (the committed state is never touched; the caller commits after convergence).
* `run_increments`: adaptive sub-stepping of a load increment.
* `NonlinearCellResult`: what a nonlinear cell solve returns.

Points are numbered ``0 .. npoints - 1`` by the solver; ``masks[label]`` lists the
points of a phase, and a phase state has leading shape ``(len(masks[label]),)``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.errors import ConvergenceError

log = logging.getLogger(__name__)
Array = NDArray[np.float64]
Index = NDArray[np.integer]
State = dict[str, Array] | None


@dataclass(frozen=True)
class NewtonSettings:
    """Tolerances of the Newton solve of a nonlinear cell problem.

    Attributes
    ----------
    tol : float
        Relative residual of the equilibrium (and of the prescribed mean stress) at
        which Newton stops.
    max_iter : int
        Newton iterations per (sub-)step before `ConvergenceError`.
    linear_tol : float
        Relative residual of the Krylov solves inside Newton.
    substeps : int
        Equal sub-steps the increment is first split into.
    max_substep_halvings : int
        How often a failed sub-step may be halved before the increment fails.

    Examples
    --------
    >>> NewtonSettings(tol=1e-10).max_iter
    30
    """

    tol: float = 1e-8
    max_iter: int = 30
    linear_tol: float = 1e-10
    substeps: int = 1
    max_substep_halvings: int = 4

    def __post_init__(self) -> None:
        for name in ("tol", "linear_tol"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0.0 < v < 1.0):
                raise ValueError(f"NewtonSettings: {name} must lie in (0, 1), got {v!r}")
        for name, low in (("max_iter", 1), ("substeps", 1), ("max_substep_halvings", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"NewtonSettings: {name} must be an integer >= {low}, got {v!r}")


def _frozen(a: Any) -> Array:
    out = np.asarray(a)
    if out.flags.writeable:
        out = out.copy() if out.base is not None else out
        out.setflags(write=False)
    return out


@dataclass(frozen=True)
class PhaseStates:
    """History of every phase over its points, and the committed macro gradient/flux.

    Attributes
    ----------
    phases : dict
        ``{label: {name: array (npoints_of_phase, ...)} | None}``; None for laws without
        history (or a virgin state, which laws accept as ``state=None``).
    macro_gradient, macro_flux : ndarray ``(m,)`` or None
        Mean gradient and flux of the committed state (None: zero, the virgin cell);
        the start of the next load increment.

    Arrays are read-only: a trial state can be kept or dropped, never corrupted.

    Examples
    --------
    >>> s = PhaseStates({0: {"p": np.zeros((4, 3))}, 1: None})
    >>> sorted(s.to_flat())
    ['phase0/p']
    >>> PhaseStates.from_flat(s.to_flat()).nbytes
    96
    """

    phases: Mapping[int, State]
    macro_gradient: Array | None = None
    macro_flux: Array | None = None

    def __post_init__(self) -> None:
        phases = {
            int(k): None if v is None else {n: _frozen(a) for n, a in v.items()}
            for k, v in self.phases.items()
        }
        object.__setattr__(self, "phases", phases)
        for name in ("macro_gradient", "macro_flux"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, _frozen(np.asarray(v, dtype=float).reshape(-1)))

    @classmethod
    def initial(cls, laws: Mapping[int, Any], masks: Mapping[int, Index], m: int) -> PhaseStates:
        """Virgin state: ``law.initial_state((npoints,), m)`` for laws with history."""
        phases: dict[int, State] = {}
        for label, idx in masks.items():
            law = laws[label]
            phases[label] = (
                law.initial_state((len(idx),), m) if getattr(law, "has_state", False) else None
            )
        return cls(phases)

    def committed(self, gradient: Array, flux: Array) -> PhaseStates:
        """The same phase states with the converged macro gradient and flux attached."""
        return dataclasses.replace(self, macro_gradient=gradient, macro_flux=flux)

    def start(self, m: int) -> tuple[Array, Array]:
        """Committed macro gradient and flux, zeros for the virgin cell."""
        g = np.zeros(m) if self.macro_gradient is None else np.array(self.macro_gradient)
        f = np.zeros(m) if self.macro_flux is None else np.array(self.macro_flux)
        return g, f

    def evaluate(
        self, laws: Mapping[int, Any], masks: Mapping[int, Index], gradient: Array
    ) -> tuple[Array, Array, PhaseStates]:
        """`evaluate_phases` from this state."""
        return evaluate_phases(laws, masks, gradient, self)

    def to_flat(self) -> dict[str, Array]:
        """Flat ``{'phase{label}/{name}': array, 'macro/gradient': ..., 'macro/flux': ...}``."""
        out = {
            f"phase{label}/{name}": a
            for label, st in self.phases.items()
            if st is not None
            for name, a in st.items()
        }
        if self.macro_gradient is not None:
            out["macro/gradient"] = self.macro_gradient
        if self.macro_flux is not None:
            out["macro/flux"] = self.macro_flux
        return out

    @classmethod
    def from_flat(cls, flat: Mapping[str, Array], labels: list[int] | None = None) -> PhaseStates:
        """Inverse of `to_flat`; ``labels`` adds stateless phases (None) to the map."""
        phases: dict[int, State] = {int(k): None for k in labels or []}
        macro: dict[str, Array] = {}
        for key, a in flat.items():
            head, _, name = key.partition("/")
            if head == "macro":
                macro[name] = np.asarray(a)
            elif head.startswith("phase") and head[5:].isdigit() and name:
                st = phases.get(int(head[5:])) or {}
                st[name] = np.asarray(a)
                phases[int(head[5:])] = st
            else:
                raise ValueError(
                    f"state: key {key!r} is neither 'phase<label>/<name>' nor 'macro/<name>'"
                )
        return cls(phases, macro.get("gradient"), macro.get("flux"))

    @property
    def nbytes(self) -> int:
        """Bytes held by the state arrays."""
        return int(sum(a.nbytes for a in self.to_flat().values()))


def evaluate_phases(
    laws: Mapping[int, Any],
    masks: Mapping[int, Index],
    gradient: Array,
    states: PhaseStates,
) -> tuple[Array, Array, PhaseStates]:
    """Flux, consistent tangent and trial state of every phase on its points.

    Parameters
    ----------
    laws : mapping
        ``{label: law}`` with ``law.evaluate(gradient, state) -> (flux, tangent, state)``.
    masks : mapping
        ``{label: point indices}``, a partition of ``0 .. npoints - 1``.
    gradient : ndarray ``(npoints, m)``
        Total gradient (Mandel strain or temperature gradient) at every point.
    states : PhaseStates
        The last committed state; not modified.

    Returns
    -------
    flux : ndarray ``(npoints, m)``
    tangent : ndarray ``(npoints, m, m)``
    trial : PhaseStates
        New phase states (macro values copied from ``states``; the solver attaches the
        converged ones with `PhaseStates.committed`).

    Examples
    --------
    >>> from scalebridge.materials import Conductivity
    >>> flux, tangent, _ = evaluate_phases(
    ...     {0: Conductivity(k=2.0)}, {0: np.arange(3)}, np.ones((3, 2)), PhaseStates({0: None}))
    >>> flux[:, 0].tolist(), tangent.shape
    ([2.0, 2.0, 2.0], (3, 2, 2))
    """
    g = np.asarray(gradient, dtype=float)
    if g.ndim != 2:
        raise ValueError(f"gradient: expected shape (npoints, m), got {g.shape}")
    npts, m = g.shape
    flux = np.empty((npts, m))
    tangent = np.empty((npts, m, m))
    new: dict[int, State] = {}
    for label, idx in masks.items():
        st = states.phases.get(label)
        f, t, ns = laws[label].evaluate(g[idx], st)
        flux[idx] = f
        tangent[idx] = t
        new[label] = ns if getattr(laws[label], "has_state", False) else None
    return flux, tangent, dataclasses.replace(states, phases=new)


@dataclass(frozen=True)
class NonlinearCellResult:
    """Converged nonlinear cell problem.

    Attributes
    ----------
    average_stress, average_strain : ndarray ``(m,)``
        Mean flux and gradient (Mandel for elasticity).
    tangent : ndarray ``(m, m)``
        Consistent macro tangent ``dSigma/dE`` at the converged state (from the same
        committed state).
    state : PhaseStates
        Trial state at the converged solution, macro values attached; the caller
        commits it (passes it to the next solve) or drops it.
    iterations : int
        Newton iterations, summed over sub-steps.
    residuals : list of float
        Relative Newton residuals of the last (sub-)step, the first one before any
        correction.
    fluctuation : ndarray or None
        Fluctuation field (solver-specific layout) for warm starts and plots.
    substeps : int
        Sub-steps the increment was finally solved in.
    hill_mandel_residual : float
        ``|<sigma:eps> - Sigma:E| / max(|<sigma:eps>|, |Sigma:E|)``; nan if not computed.
    extra : dict
        Solver-specific statistics (e.g. ``"linear_iterations"``: Krylov iterations of
        every linear solve of the last sub-step).
    """

    average_stress: Array
    average_strain: Array
    tangent: Array
    state: PhaseStates
    iterations: int
    residuals: list[float]
    fluctuation: Array | None = None
    substeps: int = 1
    hill_mandel_residual: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)


def run_increments(
    solve_one: Callable[[Array, PhaseStates], NonlinearCellResult],
    start: Array,
    target: Array,
    settings: NewtonSettings,
    state: PhaseStates,
) -> NonlinearCellResult:
    """Solve the load increment ``start -> target`` with adaptive sub-stepping.

    The increment is split into ``settings.substeps`` equal steps; each
    ``solve_one(values, committed_state)`` solves one step to the load ``values``
    (linear in between ``start`` and ``target``) and its converged state is committed
    for the next.  A step raising `ConvergenceError` is halved and retried from the
    last converged step, at most ``settings.max_substep_halvings`` times in all; then
    the increment fails with every attempt listed.

    Returns
    -------
    NonlinearCellResult
        The last step's result, with ``iterations`` summed and ``substeps`` counted.

    Examples
    --------
    >>> calls = []
    >>> def one(v, s):
    ...     calls.append(float(v[0]))
    ...     if v[0] - (calls[-2] if len(calls) > 1 else 0.0) > 0.6:
    ...         raise ConvergenceError("too far", [1.0, 0.5])
    ...     return NonlinearCellResult(v, v, np.eye(1), s, 1, [0.0])
    >>> r = run_increments(one, np.zeros(1), np.ones(1), NewtonSettings(), PhaseStates({}))
    >>> r.substeps, calls
    (2, [1.0, 0.5, 1.0])
    """
    start = np.asarray(start, dtype=float)
    delta = np.asarray(target, dtype=float) - start
    t, h = 0.0, 1.0 / settings.substeps
    halvings = steps = iterations = 0
    attempts: list[str] = []
    result: NonlinearCellResult | None = None
    while t < 1.0:
        t_next = 1.0 if t + h >= 1.0 - 1e-12 else t + h
        try:
            result = solve_one(start + t_next * delta, state)
        except ConvergenceError as err:
            last = err.residuals[-1] if err.residuals.size else float("nan")
            attempts.append(f"[{t:.6g}, {t_next:.6g}]: {err.residuals.size - 1} its, {last:.2e}")
            if halvings >= settings.max_substep_halvings:
                exc = ConvergenceError(
                    f"load increment failed at sub-step {steps + 1} (fraction {t:.6g} -> "
                    f"{t_next:.6g}) after {halvings} halvings; attempts (fraction: Newton "
                    f"iterations, final residual): {'; '.join(attempts)}; raise "
                    "max_substep_halvings, substeps or max_iter, or load in smaller increments",
                    err.residuals,
                )
                exc.attempts = attempts  # type: ignore[attr-defined]
                raise exc from err
            halvings += 1
            h = (t_next - t) / 2.0
            log.info("sub-step [%g, %g] failed; halving", t, t_next)
            continue
        state = result.state
        iterations += result.iterations
        steps += 1
        t = t_next
    assert result is not None
    return dataclasses.replace(result, iterations=iterations, substeps=steps)
