"""Defect benchmarks: quasicontinuum and bridging domain against full lattice statics.

Two problems, each with a fully atomistic reference solved in the same run:

* `soft_bond_problem` -- a 1D Lennard-Jones chain (NN + NNN) with one nearest-neighbour
  bond softened, ends clamped (two atoms each) and stretched;
* `vacancy_problem` -- a rectangle of the triangular Lennard-Jones lattice (NN + NNN) with a
  hexagonal cluster of 7 vacancies at its centre, a boundary layer of one cutoff clamped
  to a biaxial stretch.

`defect_benchmark` solves each method for several atomistic radii ``R`` (QC: nonlocal
atoms within ``R`` of the defect, a graded rep-atom mesh outside; bridging domain: band
``R <= rho <= R + band``) and tabulates, against the reference,

* ``displacement_error = max_near |u - u_ref| / max_near |u_ref - u_affine|`` over the atoms
  within ``near`` of the defect (the error relative to the displacement the defect causes),
* ``energy_error = |dE - dE_ref| / |dE_ref|`` with ``dE = E(u) - E(0)`` each model's own
  stored energy change,
* free degrees of freedom (fraction of the full model's; the clamped layer is part of every
  model and not counted) and wall time (best of ``repeats``,
  model construction included, crystal construction not) with the speed-up over the
  reference.

`plot_qc` draws the deformed crystal with the rep-atom mesh (matplotlib, no pyplot).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from scalebridge.atomistic.bridging import Handshake, bridging_domain, relax_bridging
from scalebridge.atomistic.cauchy_born import relax_lattice_constant
from scalebridge.atomistic.chain import (
    Crystal,
    Loading,
    Relaxation,
    crystal_energy,
    linear_chain,
    relax_crystal,
    triangular_patch,
)
from scalebridge.atomistic.lattice import chain as chain_lattice
from scalebridge.atomistic.lattice import triangular
from scalebridge.atomistic.potentials import LennardJones
from scalebridge.atomistic.qc import (
    QCSolution,
    graded_representatives,
    pad_representatives,
    quasicontinuum,
    relax_qc,
)

Array = NDArray[np.float64]
log = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "BenchmarkRow",
    "DefectProblem",
    "defect_benchmark",
    "plot_benchmark",
    "plot_qc",
    "qc_target",
    "soft_bond_problem",
    "vacancy_problem",
]

METHODS = ("qc-energy", "qc-ghost-corrected", "qc-qnl", "qc-force", "bridging")


@dataclass(frozen=True)
class DefectProblem:
    """A crystal with a defect, its loading and the fully atomistic reference.

    Attributes
    ----------
    name : str
    crystal : Crystal
    loading : Loading
    center : ndarray
        Defect centre.
    affine : ndarray, shape (n_atoms, d)
        Displacement of the far-field deformation.
    near : ndarray of int
        Atoms where the displacement error is measured.
    reference : Relaxation
    reference_energy_change : float
    reference_time : float
        Best wall time of the full solve (seconds).
    grading : float
        Rep-atom grading used by the methods.
    """

    name: str
    crystal: Crystal
    loading: Loading
    center: Array
    affine: Array
    near: NDArray[np.int64]
    reference: Relaxation
    reference_energy_change: float
    reference_time: float
    grading: float


def _best_time(fn: Callable[[], object], repeats: int) -> tuple[object, float]:
    best, out = np.inf, None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def _finish(
    name: str,
    crystal: Crystal,
    loading: Loading,
    center: Array,
    F: Array,
    near_radius: float,
    repeats: int,
    grading: float,
) -> DefectProblem:
    ref, t = _best_time(lambda: relax_crystal(crystal, loading), repeats)
    assert isinstance(ref, Relaxation)
    E = crystal_energy(crystal)
    dE = ref.energy - E.energy(np.zeros_like(ref.displacement))
    affine = crystal.positions @ (F - np.eye(crystal.dim)).T
    rho = np.linalg.norm(crystal.positions - center, axis=1)
    near = np.flatnonzero(rho < near_radius)
    log.info("%s: %d atoms, reference solve %.3f s", name, crystal.n_atoms, t)
    return DefectProblem(name, crystal, loading, center, affine, near, ref, dE, t, grading)


def soft_bond_problem(
    n: int = 401, *, softness: float = 0.5, strain: float = 0.02, repeats: int = 1
) -> DefectProblem:
    """1D LJ chain (``sigma = epsilon = 1``, cutoff 2.5: NN + NNN) with a soft middle bond.

    The NN bond at the centre has its energy scaled by ``softness``; atoms ``0, 1`` are
    fixed, ``n-2, n-1`` displaced by ``strain x`` their position (affine initial guess).
    """
    lj = LennardJones(cutoff=2.5)
    a = relax_lattice_constant(chain_lattice(1.0), lj).a
    c0 = linear_chain(n, spacing=a, nearest=lj, next_nearest=lj)
    mid = n // 2
    crystal = c0.with_bond_scale([c0.bond_between(mid - 1, mid)], softness)
    F = np.array([[1.0 + strain]])
    loading = Loading.clamped(crystal, [0, 1, n - 2, n - 1], F=F)
    center = np.array([(mid - 0.5) * a])
    return _finish("soft-bond chain", crystal, loading, center, F, 4.0 * a, repeats, 0.25)


def vacancy_problem(
    n: int = 121, *, strain: float = 0.03, cutoff: float = 2.1, repeats: int = 1
) -> DefectProblem:
    """Triangular LJ lattice (``n x n`` sites, NN + NNN) with a 7-vacancy cluster, stretched.

    Atoms within ``cutoff`` of the rectangle's edges follow ``F = (1 + strain) I`` (so every
    free atom sees a complete neighbour shell); the error is measured within ``4 a`` of the
    centre (the 12 atoms lining the cluster and the next shells).
    """
    if n % 2 == 0:
        raise ValueError(f"vacancy_problem: n must be odd, got {n}")
    lj = LennardJones(cutoff=cutoff)
    a = relax_lattice_constant(triangular(1.0), lj).a
    c0 = triangular_patch(n, n, spacing=a, potential=lj)
    j0 = 2 * ((n // 2) // 2)
    center = np.array([(n // 2) * a, j0 * np.sqrt(3.0) / 2 * a])
    vac = np.flatnonzero(np.linalg.norm(c0.positions - center, axis=1) < 1.5 * a)
    crystal = c0.without(vac)
    X = crystal.positions
    lo, hi = X.min(axis=0), X.max(axis=0)
    layer = np.any((X - lo < cutoff) | (hi - X < cutoff), axis=1)
    F = (1.0 + strain) * np.eye(2)
    loading = Loading.clamped(crystal, layer, F=F)
    return _finish("vacancy cluster", crystal, loading, center, F, 4.0 * a, repeats, 0.4)


@dataclass(frozen=True)
class BenchmarkRow:
    """One method at one atomistic radius (see the module docstring)."""

    method: str
    radius: float
    dofs: int
    dof_fraction: float
    displacement_error: float
    energy_error: float
    time: float
    speedup: float


def _run_method(
    problem: DefectProblem, method: str, R: float, band: float
) -> tuple[Callable[[], object], Callable[[object], tuple[Array, float, int]]]:
    """``build()`` (timed: model construction and relaxation) and ``read(solution)``."""
    c = problem.crystal
    a = float(np.linalg.norm(c.shell, axis=1).min())
    rho = np.linalg.norm(c.positions - problem.center, axis=1)
    fixed = np.asarray(problem.loading.fixed, bool)
    clamped = np.flatnonzero(fixed)  # the clamped layer is modelled exactly by every method

    def graded(core: float) -> NDArray[np.int64]:
        rep = graded_representatives(c, problem.center, core_radius=core, grading=problem.grading)
        return np.union1d(rep, clamped)

    if method == "bridging":

        def build_bd() -> object:
            hs = Handshake(problem.center, R, R + band * a)
            nodes = graded(hs.outer + c.cutoff + a)
            return relax_bridging(bridging_domain(c, hs, nodes=nodes), problem.loading)

        def read_bd(sol: object) -> tuple[Array, float, int]:
            m = sol.model  # type: ignore[attr-defined]
            dE = sol.energy - m.energy_sum.energy(np.zeros_like(sol.unknowns))  # type: ignore
            owner = np.concatenate([m.atoms, m.mesh.rep])[m.masters]
            dofs = int((~fixed[owner]).sum() * c.dim)  # independent unknowns
            return sol.displacement(problem.near), float(dE), dofs  # type: ignore[attr-defined]

        return build_bd, read_bd
    coupling = method.removeprefix("qc-")

    def build_qc() -> object:
        A = rho < R
        qc = quasicontinuum(c, pad_representatives(c, graded(R), A), A, coupling=coupling)
        return relax_qc(qc, problem.loading)

    def read_qc(sol: object) -> tuple[Array, float, int]:
        assert isinstance(sol, QCSolution)
        dE = sol.energy - sol.qc.energy(np.zeros_like(sol.rep_displacement))
        dofs = int((~fixed[sol.qc.mesh.rep]).sum() * c.dim)
        return sol.displacement(problem.near), float(dE), dofs

    return build_qc, read_qc


def defect_benchmark(
    problem: DefectProblem,
    radii: Sequence[float],
    *,
    methods: Sequence[str] = ("qc-energy", "qc-ghost-corrected", "qc-force", "bridging"),
    band: float = 4.0,
    repeats: int = 1,
) -> list[BenchmarkRow]:
    """Errors, degrees of freedom and wall times of ``methods`` for each radius in ``radii``.

    Parameters
    ----------
    problem : DefectProblem
    radii : sequence of float
        Atomistic radii ``R`` (lengths).
    methods : sequence of str
        Among `METHODS` (``"qc-qnl"`` for chains only).
    band : float
        Bridging-domain band width in lattice spacings.
    repeats : int
        Wall time = best of this many runs.

    Returns
    -------
    list of BenchmarkRow
    """
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"defect_benchmark: unknown methods {bad}; allowed: {METHODS}")
    ref = problem.reference.displacement
    near = problem.near
    pert = np.abs(ref[near] - problem.affine[near]).max()
    full_dofs = int((~np.asarray(problem.loading.fixed, bool)).sum()) * problem.crystal.dim
    rows = []
    for R in radii:
        for method in methods:
            build, read = _run_method(problem, method, float(R), band)
            sol, t = _best_time(build, repeats)
            u, dE, dofs = read(sol)
            rows.append(
                BenchmarkRow(
                    method,
                    float(R),
                    dofs,
                    dofs / full_dofs,
                    float(np.abs(u - ref[near]).max() / pert),
                    float(
                        abs(dE - problem.reference_energy_change)
                        / abs(problem.reference_energy_change)
                    ),
                    t,
                    problem.reference_time / t,
                )
            )
            log.info("%s R=%.2f: %s", method, R, rows[-1])
    return rows


def qc_target(rows: Sequence[BenchmarkRow], *, error: float = 0.01) -> BenchmarkRow | None:
    """The QC row with the fewest degrees of freedom whose displacement error <= ``error``."""
    ok = [r for r in rows if r.method.startswith("qc-") and r.displacement_error <= error]
    return min(ok, key=lambda r: r.dofs) if ok else None


def format_table(rows: Sequence[BenchmarkRow]) -> str:
    """Rows as a fixed-width text table."""
    head = (
        f"{'method':20s} {'R':>6s} {'dofs':>7s} {'frac':>7s} {'u err':>9s} "
        f"{'E err':>9s} {'time s':>8s} {'speedup':>8s}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r.method:20s} {r.radius:6.2f} {r.dofs:7d} {r.dof_fraction:7.4f} "
            f"{r.displacement_error:9.2e} {r.energy_error:9.2e} {r.time:8.3f} "
            f"{r.speedup:8.1f}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures
def plot_qc(solution: QCSolution, path: str | Path, *, magnify: float = 1.0) -> Path:
    """Deformed atoms (nonlocal ones highlighted) and the deformed rep-atom mesh, as PNG.

    ``magnify`` scales the displacement (1 = true deformation).  Returns the path.
    """
    from matplotlib.figure import Figure

    qc = solution.qc
    c, mesh = qc.mesh.crystal, qc.mesh
    y = c.positions + magnify * solution.displacement()
    yr = y[mesh.rep]
    fig = Figure(figsize=(6.0, 6.0 if c.dim == 2 else 2.0))
    ax = fig.add_subplot()
    A = qc.nonlocal_atoms
    if c.dim == 1:
        ax.plot(yr[:, 0], np.zeros(mesh.n_rep), "-|", color="0.5", lw=0.8, label="rep-atom mesh")
        ax.plot(y[~A, 0], np.full((~A).sum(), 0.1), ".", ms=2, color="tab:blue", label="local")
        ax.plot(y[A, 0], np.full(A.sum(), 0.1), ".", ms=3, color="tab:red", label="nonlocal")
        ax.set_yticks([])
    else:
        ax.triplot(yr[:, 0], yr[:, 1], mesh.simplices, color="0.5", lw=0.4)
        ax.plot(y[~A, 0], y[~A, 1], ".", ms=1, color="tab:blue", label="local atoms")
        ax.plot(y[A, 0], y[A, 1], ".", ms=2, color="tab:red", label="nonlocal atoms")
        ax.set_aspect("equal")
    ax.set_title(f"QC ({qc.coupling.value}): {mesh.n_rep} rep-atoms of {c.n_atoms} atoms")
    ax.legend(loc="upper right", fontsize=7)
    out = Path(path)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    return out


def plot_benchmark(rows: Sequence[BenchmarkRow], path: str | Path) -> Path:
    """Displacement error vs degrees of freedom, one line per method, as PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 4.0))
    ax = fig.add_subplot()
    for m in dict.fromkeys(r.method for r in rows):
        rs = sorted((r for r in rows if r.method == m), key=lambda r: r.dofs)
        ax.loglog([r.dof_fraction for r in rs], [r.displacement_error for r in rs], "o-", label=m)
    ax.axhline(0.01, color="0.6", ls=":", lw=0.8)
    ax.set_xlabel("degrees of freedom / full atomistic")
    ax.set_ylabel("displacement error near the defect")
    ax.legend(fontsize=7)
    out = Path(path)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    return out
