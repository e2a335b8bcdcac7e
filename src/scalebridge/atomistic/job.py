"""The ``atomistic`` job: a defect benchmark of quasicontinuum and bridging-domain models.

`run_atomistic` is what ``scalebridge atomistic CONFIG.toml`` calls.  In one run it

1. builds the defect problem of the config (`vacancy_problem` or `soft_bond_problem`) and
   solves the full lattice statics (the reference);
2. solves every method of ``methods.names`` for every atomistic radius
   (`defect_benchmark`): displacement and energy errors against the reference, degrees
   of freedom and wall time;
3. checks the fully refined limit (every atom a nonlocal rep-atom: QC must reproduce
   the reference to round-off) for the energy- and force-based couplings;
4. runs the ghost-force patch test of every QC coupling on a defect-free crystal, at
   ``F = I`` and at a uniform ``F``;
5. reports the Cauchy-Born elastic constants of the lattice and its stability at
   ``F = I``, at the far-field ``F``, and the stretch ``F = lambda I`` where it is lost;
6. writes ``summary.json``, ``qc.png`` (deformed lattice and rep-atom mesh) and
   ``benchmark.png`` (displacement error against degrees of freedom) to the output folder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.atomistic.benchmarks import (
    BenchmarkRow,
    DefectProblem,
    defect_benchmark,
    plot_benchmark,
    plot_qc,
    qc_target,
    soft_bond_problem,
    vacancy_problem,
)
from scalebridge.atomistic.cauchy_born import CauchyBorn
from scalebridge.atomistic.chain import Crystal, linear_chain, triangular_patch
from scalebridge.atomistic.lattice import Lattice, chain, triangular
from scalebridge.atomistic.qc import (
    QCSolution,
    graded_representatives,
    pad_representatives,
    patch_test,
    quasicontinuum,
    relax_qc,
)
from scalebridge.io.atomistic_config import AtomisticConfig

Array = NDArray[np.float64]
Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)

__all__ = ["Progress", "build_problem", "format_summary", "run_atomistic"]


def build_problem(config: AtomisticConfig) -> DefectProblem:
    """The defect problem of ``config`` with its fully atomistic reference solved."""
    p = config.problem
    if p.name == "vacancy":
        return vacancy_problem(p.size, strain=p.strain, cutoff=p.cutoff)
    return soft_bond_problem(p.size, softness=p.softness, strain=p.strain)


def _spacing(crystal: Crystal) -> float:
    return float(np.linalg.norm(crystal.shell, axis=1).min())


def _lattice(crystal: Crystal) -> Lattice:
    a = _spacing(crystal)
    return triangular(a) if crystal.dim == 2 else chain(a)


def _qc_solution(problem: DefectProblem, method: str, radius: float) -> QCSolution:
    """The QC model of `defect_benchmark` (same mesh recipe) for one method and radius."""
    c = problem.crystal
    rho = np.linalg.norm(c.positions - problem.center, axis=1)
    clamped = np.flatnonzero(np.asarray(problem.loading.fixed, bool))
    rep = graded_representatives(c, problem.center, core_radius=radius, grading=problem.grading)
    A = rho < radius
    rep = pad_representatives(c, np.union1d(rep, clamped), A)
    qc = quasicontinuum(c, rep, A, coupling=method.removeprefix("qc-"))
    return relax_qc(qc, problem.loading)


def _fully_refined(problem: DefectProblem, methods: list[str]) -> dict[str, Any]:
    """Every atom a nonlocal rep-atom: differences from the reference (round-off)."""
    c, ref = problem.crystal, problem.reference
    out: dict[str, Any] = {}
    for coupling in ("energy", "force"):
        if f"qc-{coupling}" not in methods:
            continue
        everything = np.ones(c.n_atoms, bool)
        qc = quasicontinuum(c, np.arange(c.n_atoms), everything, coupling=coupling)
        sol = relax_qc(qc, problem.loading)
        out[f"qc-{coupling}"] = {
            "max_displacement_difference": float(
                np.abs(sol.displacement() - ref.displacement).max()
            ),
            "energy_difference": float(abs(sol.energy - ref.energy)),
            "reference_energy": float(ref.energy),
        }
    return out


def _patch_crystal(config: AtomisticConfig, problem: DefectProblem) -> Crystal:
    lj = problem.crystal.potentials[0]
    a = _spacing(problem.crystal)
    n = config.patch_test.size
    if problem.crystal.dim == 1:
        return linear_chain(n, spacing=a, nearest=lj, next_nearest=lj)
    return triangular_patch(n, n, spacing=a, potential=lj)


def _patch_tests(config: AtomisticConfig, problem: DefectProblem, F: Array) -> dict[str, Any]:
    """Largest interior ghost force of each QC coupling at ``F = I`` and at ``F``."""
    c = _patch_crystal(config, problem)
    a = _spacing(c)
    d = c.dim
    ctr = c.positions[c.find(c.positions.mean(axis=0, keepdims=True))[0]]
    R = config.patch_test.radius * a
    A = np.linalg.norm(c.positions - ctr, axis=1) < R
    rep = pad_representatives(c, graded_representatives(c, ctr, core_radius=R), A)
    couplings = [m.removeprefix("qc-") for m in config.methods.names if m.startswith("qc-")]
    ghost: dict[str, dict[str, float]] = {}
    for cp in couplings:
        qc = quasicontinuum(c, rep, A, coupling=cp)
        ghost[cp] = {
            "reference": patch_test(qc, np.eye(d)).ghost_force,
            "deformed": patch_test(qc, F).ghost_force,
        }
    return {
        "atoms": c.n_atoms,
        "rep_atoms": int(rep.size),
        "nonlocal_atoms": int(A.sum()),
        "F": F,
        "ghost_force": ghost,
    }


def _stability_row(law: CauchyBorn, F: Array, kpoints: int) -> dict[str, Any]:
    s = law.stability(F.reshape(1, -1), kpoints=kpoints)
    return {
        "F": F,
        "stable": bool(s.stable[0]),
        "born": bool(s.born[0]),
        "strong_ellipticity": bool(s.strong_ellipticity[0]),
        "phonon": None if s.phonon is None else bool(s.phonon[0]),
        "min_born": float(s.min_born[0]),
        "min_acoustic": float(s.min_acoustic[0]),
        "min_phonon": None if s.min_phonon is None else float(s.min_phonon[0]),
    }


def _cauchy_born(config: AtomisticConfig, problem: DefectProblem, F: Array) -> dict[str, Any]:
    """Elastic constants and stability of the Cauchy-Born law of the problem's lattice."""
    lattice = _lattice(problem.crystal)
    law = CauchyBorn(lattice, problem.crystal.potentials[0])
    d, kp = lattice.dim, config.cauchy_born.kpoints
    W = law.energy(np.eye(d).reshape(1, -1))[0]
    P0 = law.evaluate(np.eye(d).reshape(1, -1))[0][0]

    def stable(lam: float) -> bool:
        return bool(law.stability((lam * np.eye(d)).reshape(1, -1), kpoints=kp).stable[0])

    grid = np.linspace(1.0, config.cauchy_born.max_stretch, 41)
    ok = law.stability(np.einsum("n,ij->nij", grid, np.eye(d)).reshape(41, -1), kpoints=kp)
    lost = np.flatnonzero(~ok.stable)
    limit = None
    if lost.size and lost[0] > 0:
        lo, hi = grid[lost[0] - 1], grid[lost[0]]
        while hi - lo > 1e-6:  # bisection on the stability flag
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if stable(mid) else (lo, mid)
        limit = 0.5 * (lo + hi)
    C = law.elastic_constants()
    return {
        "lattice": lattice.name,
        "lattice_constant": lattice.a,
        "potential": repr(problem.crystal.potentials[0]),
        "energy_per_volume": float(W),
        "residual_stress": float(np.abs(P0).max()),
        "elastic_constants_mandel": C,
        "elastic_constants_voigt": law.elastic_constants("voigt"),
        "stability": [_stability_row(law, np.eye(d), kp), _stability_row(law, F, kp)],
        "stable_at_reference": bool(ok.stable[0]),
        "stability_limit_stretch": limit,
        "stability_scan_max": config.cauchy_born.max_stretch,
    }


def _row(r: BenchmarkRow, a: float) -> dict[str, Any]:
    return {
        "method": r.method,
        "radius": r.radius,
        "radius_spacings": r.radius / a,
        "dofs": r.dofs,
        "dof_fraction": r.dof_fraction,
        "displacement_error": r.displacement_error,
        "energy_error": r.energy_error,
        "time_s": r.time,
        "speedup": r.speedup,
    }


def run_atomistic(
    config: AtomisticConfig,
    output_dir: str | Path,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the atomistic job of ``config``; write its results under ``output_dir``.

    Parameters
    ----------
    config : AtomisticConfig
        From `scalebridge.io.atomistic_config.load_atomistic_config`.
    output_dir : path
        Created if missing; receives ``summary.json``, ``qc.png`` and ``benchmark.png``.
    progress : callable, optional
        ``progress(stage, done, total)`` before each stage (``done`` stages finished) and
        once at the end (``done == total``).

    Returns
    -------
    dict
        The summary written to ``summary.json``: ``problem``, ``benchmark`` (one row per
        method and radius), ``qc_target``, ``fully_refined``, ``patch_test``,
        ``cauchy_born``, ``files``, ``wall_time_s``, ``config``.

    Raises
    ------
    ConvergenceError
        When a relaxation does not converge.
    """
    from scalebridge.io.results import write_json_atomic

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    radii = config.methods.radii
    total = 4 + len(radii) + int(config.checks.fully_refined)
    done = 0
    t_run = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal done
        log.info("atomistic: %s", name)
        if progress is not None:
            progress(name, done, total)
        done += 1

    stage("full lattice statics (reference)")
    problem = build_problem(config)
    c = problem.crystal
    a = _spacing(c)
    d = c.dim
    F_far = (1.0 + config.problem.strain) * np.eye(d)
    rows: list[BenchmarkRow] = []
    for r in radii:
        stage(f"QC and bridging, R = {r:g} a")
        rows += defect_benchmark(
            problem,
            [r * a],
            methods=config.methods.names,
            band=config.methods.band,
            repeats=config.methods.repeats,
        )
    fully = None
    if config.checks.fully_refined:
        stage("fully refined QC")
        fully = _fully_refined(problem, config.methods.names)
    stage("ghost-force patch tests")
    F_patch = F_far if config.patch_test.F is None else np.asarray(config.patch_test.F, float)
    patch = _patch_tests(config, problem, F_patch)
    stage("Cauchy-Born constants and stability")
    cb = _cauchy_born(config, problem, F_far)
    stage("figures")
    r_plot = config.plot.radius if config.plot.radius is not None else radii[len(radii) // 2]
    sol = _qc_solution(problem, config.plot.method, r_plot * a)
    files = {
        "summary": out / "summary.json",
        "qc": plot_qc(sol, out / "qc.png", magnify=config.plot.magnify),
        "benchmark": plot_benchmark(rows, out / "benchmark.png"),
    }
    free = int((~np.asarray(problem.loading.fixed, bool)).sum()) * d
    target = qc_target(rows)
    summary = {
        "problem": {
            "name": problem.name,
            "dim": d,
            "atoms": c.n_atoms,
            "free_dofs": free,
            "lattice_spacing": a,
            "strain": config.problem.strain,
            "reference_time_s": problem.reference_time,
            "reference_energy_change": problem.reference_energy_change,
            "reference_residual": problem.reference.residual,
            "near_atoms": int(problem.near.size),
        },
        "benchmark": [_row(r, a) for r in rows],
        "qc_target": None if target is None else _row(target, a),
        "fully_refined": fully,
        "patch_test": patch,
        "cauchy_born": cb,
        "plot": {
            "method": config.plot.method,
            "radius_spacings": r_plot,
            "rep_atoms": sol.qc.mesh.n_rep,
        },
        "files": {k: str(v) for k, v in files.items()},
        "wall_time_s": time.perf_counter() - t_run,
        "config": config.model_dump(mode="json"),
    }
    write_json_atomic(files["summary"], summary)
    if progress is not None:
        progress("done", total, total)
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """Plain-text report of a `run_atomistic` summary: the error/cost table and the checks.

    Examples
    --------
    >>> rows = [{"method": "qc-force", "radius_spacings": 4.0, "dofs": 674,
    ...          "dof_fraction": 0.025, "displacement_error": 0.016, "energy_error": 3e-5,
    ...          "time_s": 0.13, "speedup": 57.0}]
    >>> print(format_summary({"benchmark": rows}).splitlines()[1])
    qc-force              4.0     674   0.0250  1.60e-02  3.00e-05    0.130     57.0
    """
    lines = [
        f"{'method':18s} {'R/a':>6s} {'dofs':>7s} {'frac':>8s} {'u err':>9s} {'E err':>9s} "
        f"{'time s':>8s} {'speedup':>8s}"
    ]
    for r in summary.get("benchmark", []):
        lines.append(
            f"{r['method']:18s} {r['radius_spacings']:6.1f} {r['dofs']:7d} "
            f"{r['dof_fraction']:8.4f} {r['displacement_error']:9.2e} {r['energy_error']:9.2e} "
            f"{r['time_s']:8.3f} {r['speedup']:8.1f}"
        )
    p = summary.get("problem")
    if p:
        lines.append(
            f"reference: {p['name']}, {p['atoms']} atoms, {p['free_dofs']} free dofs, "
            f"{p['reference_time_s']:.2f} s"
        )
    t = summary.get("qc_target")
    if t:
        lines.append(
            f"QC at 1 % displacement error: {t['method']}, R = {t['radius_spacings']:g} a, "
            f"{100 * t['dof_fraction']:.1f} % of the dofs, {t['speedup']:.0f}x faster"
        )
    for m, rec in (summary.get("fully_refined") or {}).items():
        lines.append(
            f"fully refined {m}: max |u - u_ref| = {rec['max_displacement_difference']:.1e}"
        )
    pt = summary.get("patch_test")
    if pt:
        ghost = ", ".join(
            f"{cp} {g['reference']:.1e} / {g['deformed']:.1e}"
            for cp, g in pt["ghost_force"].items()
        )
        lines.append(f"ghost force (F = I / uniform F): {ghost}")
    cb = summary.get("cauchy_born")
    if cb:
        C = np.asarray(cb["elastic_constants_voigt"])
        lim = cb["stability_limit_stretch"]
        lines.append(
            f"Cauchy-Born ({cb['lattice']}, a = {cb['lattice_constant']:.6f}): Voigt C = "
            f"{(np.round(C, 4) + 0.0).tolist()}; "
            + (
                f"stable up to F = {lim:.4f} I"
                if lim is not None
                else f"stable up to F = {cb['stability_scan_max']} I (scan end)"
            )
        )
    return "\n".join(lines)
