"""The FE² job: build the macro problem and the RVE law from a config, run it with
checkpoints, write the force-displacement curve, VTK files and a summary.

`run_fe2` is what ``scalebridge fe2 CONFIG.toml`` calls.  After every converged macro
increment the macro state and every RVE's history go to ``OUTPUT/checkpoint.h5``
(atomically); ``resume=True`` continues from it and gives the same numbers as an
uninterrupted run (the micro solves are deterministic and their warm starts are part
of the checkpointed state).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.cell.nonlinear_common import NewtonSettings
from scalebridge.coupling.checkpoint import Checkpoint, read_checkpoint, write_checkpoint
from scalebridge.coupling.fe2 import RVELaw, format_bytes, state_nbytes
from scalebridge.io.fe2_config import FE2Config

Array = NDArray[np.float64]
CHECKPOINT = "checkpoint.h5"


@dataclass
class FE2Setup:
    """The macro problem, its RVE law and the load schedule built from a config."""

    problem: Any
    law: RVELaw
    load_factors: Array
    config: FE2Config

    @property
    def config_hash(self) -> str:
        """Hash of the settings that change the numbers (not the executor)."""
        data = self.config.model_dump(exclude={"run"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def rve_microstructure(config: FE2Config) -> Any:
    """The 2D fibre-composite RVE: one centred circular fibre (label 1) in a matrix (0)."""
    from scalebridge.microstructure import Microstructure
    from scalebridge.microstructure.generators import sphere

    n = config.rve.grid
    if config.rve.fibre_fraction == 0.0:
        return Microstructure(np.zeros((n, n), dtype=np.int32))
    return sphere((n, n), volume_fraction=config.rve.fibre_fraction)


def rve_materials(config: FE2Config) -> dict[int, Any]:
    """J2 matrix (label 0) and linear elastic fibre (label 1)."""
    from scalebridge.materials import Elasticity, J2Plasticity

    m, f = config.rve.matrix, config.rve.fibre
    return {
        0: J2Plasticity(
            E=m.E,
            nu=m.nu,
            yield_stress=m.yield_stress,
            isotropic_modulus=m.isotropic_modulus,
            kinematic_modulus=m.kinematic_modulus,
        ),
        1: Elasticity(E=f.E, nu=f.nu),
    }


def build_fe2(
    config: FE2Config, *, executor: Any = None, max_workers: int | None = None
) -> FE2Setup:
    """Macro quarter plate with a hole (P1 triangles, one point each) and its RVE law.

    ``config.macro.mesh`` replaces the plate by a mesh file (read with meshio), which
    needs the boundaries ``"left"``, ``"bottom"`` (symmetry supports) and ``"right"``
    (the loaded edge).
    """
    from scalebridge.fem import SolidProblem, plate_with_hole, read_mesh

    mc = config.macro
    if mc.mesh is not None:
        mesh = read_mesh(mc.mesh)
        missing = sorted({"left", "bottom", "right"} - set(mesh.boundaries or {}))
        if missing:
            raise ValueError(
                f"macro.mesh: {mc.mesh!r} lacks the boundaries {missing}; it needs 'left', "
                "'bottom' and 'right'"
            )
    else:
        mesh = plate_with_hole(mc.width, mc.height, mc.radius, mc.size, hole_size=mc.hole_size)
    law = RVELaw(
        rve_microstructure(config),
        rve_materials(config),
        solver=config.rve.solver,
        bc=config.rve.bc,
        settings=NewtonSettings(tol=config.solver.micro_tol, linear_tol=1e-8),
        executor=config.run.executor if executor is None else executor,
        max_workers=config.run.max_workers if max_workers is None else max_workers,
    )
    # P1 triangles have a constant strain: one quadrature point (one RVE) per element
    problem = SolidProblem(mesh, law, quadrature=1)
    problem.fix("left", components=[0]).fix("bottom", components=[1])
    problem.prescribe("right", 0, mc.displacement)
    factors = np.linspace(0.0, 1.0, mc.steps + 1)[1:]
    return FE2Setup(problem, law, factors, config)


def rve_summary_fields(state: dict[str, Array] | None) -> dict[str, Array]:
    """Per-point RVE averages worth plotting: the mean equivalent plastic strain."""
    if not state:
        return {}
    keys = [k for k in state if k.endswith("/equivalent_plastic_strain")]
    if not keys:
        return {}
    n = next(iter(state.values())).shape[0]
    total = np.zeros(n)
    count = 0
    for k in keys:
        a = np.asarray(state[k]).reshape(n, -1)
        total += a.sum(axis=1)
        count += a.shape[1]
    fluct = state.get("fluctuation")
    nvox = int(np.prod(fluct.shape[2:])) if fluct is not None else count
    return {"rve_mean_plastic_strain": total / max(nvox, 1)}


@dataclass(frozen=True)
class _VtkView:
    step: int
    load_factor: float
    displacement: Array
    state: dict[str, Array] | None
    strain: Array
    stress: Array


def run_fe2(
    config: FE2Config,
    output: str | os.PathLike[str],
    *,
    resume: bool = False,
    executor: Any = None,
    max_workers: int | None = None,
    on_iteration: Callable[[dict[str, Any]], None] | None = None,
    on_increment: Callable[[dict[str, Any]], None] | None = None,
    vtk: bool = True,
) -> dict[str, Any]:
    """Run (or resume) the FE² job of ``config``, writing results under ``output``.

    Parameters
    ----------
    config : FE2Config
    output : path
        Folder for ``checkpoint.h5``, ``force_displacement.csv/png``, ``vtk/`` and
        ``summary.json``.
    resume : bool
        Continue from ``output/checkpoint.h5`` (refused if written with other settings).
    executor, max_workers
        Override ``config.run`` (an executor name, a `concurrent.futures.Executor` or a
        `distributed.Client`).
    on_iteration, on_increment : callable, optional
        Progress hooks receiving a dict (load factor, iteration, residual, micro-solve
        counts and times); ``on_increment`` runs after the checkpoint is written.
    vtk : bool
        Write ``vtk/solution_NNNN.vtu`` per increment and ``vtk/solution.pvd``.

    Returns
    -------
    dict
        The run summary (also written to ``output/summary.json``).
    """
    from scalebridge.fem.output import VtkWriter
    from scalebridge.fem.solid import SolidState
    from scalebridge.io.results import write_json_atomic

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    setup = build_fe2(config, executor=executor, max_workers=max_workers)
    problem, law = setup.problem, setup.law
    ckpt_path = out / CHECKPOINT
    history: list[dict[str, Any]] = []
    start = None
    if resume:
        ck = read_checkpoint(ckpt_path, expected_hash=setup.config_hash)
        start = SolidState(ck.step, ck.load_factor, ck.displacement, ck.state)
        history = list(ck.history)
    targets = [t for t in setup.load_factors if start is None or t > start.load_factor + 1e-12]
    writer = None
    if vtk:
        first = 1 if start is None else start.step + 1
        writer = VtkWriter(out / "vtk", problem, first_step=first)
    t_run = time.perf_counter()
    last = {"solves": 0, "seconds": 0.0, "t": time.perf_counter()}
    counters = {"iterations": 0}

    def iteration(t: float, k: int, rel: float) -> None:
        s = law.stats
        rec = {
            "load_factor": float(t),
            "iteration": int(k),
            "residual": float(rel),
            "micro_solves": s.micro_solves - last["solves"],
            "micro_seconds": s.micro_seconds - last["seconds"],
            "wall_seconds": time.perf_counter() - last["t"],
        }
        last.update(solves=s.micro_solves, seconds=s.micro_seconds, t=time.perf_counter())
        counters["iterations"] += 1
        if on_iteration is not None:
            on_iteration(rec)

    inc_start = {"t": time.perf_counter(), "solves": 0, "bytes": 0}

    def increment(inc: Any) -> None:
        s = law.stats
        moved = s.bytes_sent + s.bytes_received
        force = inc.reactions["right"]
        rec = {
            "step": int(inc.step),
            "load_factor": float(inc.load_factor),
            "displacement": float(inc.load_factor * config.macro.displacement),
            "force": float(force[0]),
            "iterations": int(inc.iterations),
            "residuals": [float(r) for r in inc.residuals],
            "micro_solves": s.micro_solves - inc_start["solves"],
            "bytes_moved": moved - inc_start["bytes"],
            "wall_seconds": time.perf_counter() - inc_start["t"],
            "max_rve_plastic_strain": float(
                np.max(rve_summary_fields(inc.state).get("rve_mean_plastic_strain", [0.0]))
            ),
        }
        history.append(rec)
        write_checkpoint(
            ckpt_path,
            Checkpoint(
                inc.step,
                inc.load_factor,
                inc.displacement,
                inc.state,
                history,
                setup.config_hash,
                {"n_points": problem.n_points},
            ),
        )
        if writer is not None:
            writer.write(
                _VtkView(
                    inc.step,
                    inc.load_factor,
                    inc.displacement,
                    rve_summary_fields(inc.state),
                    inc.strain,
                    inc.stress,
                )
            )
        inc_start.update(t=time.perf_counter(), solves=s.micro_solves, bytes=moved)
        if on_increment is not None:
            on_increment(rec)

    try:
        if targets:
            problem.solve(
                np.array(targets),
                tol=config.solver.tol,
                max_iter=config.solver.max_iter,
                start=start,
                on_increment=increment,
                on_iteration=iteration,
            )
    finally:
        law.close()
    wall = time.perf_counter() - t_run
    files = write_curve(out, history)
    state_bytes = state_nbytes(read_checkpoint(ckpt_path).state) if ckpt_path.is_file() else 0
    s = law.stats
    summary = {
        "config": config.model_dump(),
        "config_hash": setup.config_hash,
        "resumed": resume,
        "macro": {
            "elements": int(problem.mesh.t.shape[1]),
            "quadrature_points": int(problem.n_points),
            "dofs": int(problem.n_dofs),
        },
        "rve": {
            "grid": [config.rve.grid] * 2,
            "voxels": config.rve.grid**2,
            "solver": config.rve.solver,
            "bc": config.rve.bc,
            "state_bytes_per_point": state_bytes // max(problem.n_points, 1),
        },
        "executor": str(
            law.executor if isinstance(law.executor, str) else type(law.executor).__name__
        ),
        "workers": sorted(s.workers),
        "increments": history,
        "this_run": {
            "wall_seconds": wall,
            "macro_iterations": counters["iterations"],
            "micro_solves": s.micro_solves,
            "micro_seconds": s.micro_seconds,
            "micro_solves_per_second": s.micro_solves / wall if wall > 0 else 0.0,
            "bytes_moved": s.bytes_sent + s.bytes_received,
            "bytes_moved_human": format_bytes(s.bytes_sent + s.bytes_received),
        },
        "final_force": history[-1]["force"] if history else None,
        "files": {k: str(v) for k, v in files.items()}
        | {"checkpoint": str(ckpt_path), "summary": str(out / "summary.json")}
        | ({"vtk": str(out / "vtk" / "solution.pvd")} if vtk else {}),
    }
    write_json_atomic(out / "summary.json", summary)
    return summary


def write_curve(out: Path, history: list[dict[str, Any]]) -> dict[str, Path]:
    """``force_displacement.csv`` and ``.png`` from the increment records."""
    from scalebridge.io.plots import save_figure

    csv_path = out / "force_displacement.csv"
    fd, tmp = tempfile.mkstemp(prefix=".force_displacement.", suffix=".csv", dir=out)
    with os.fdopen(fd, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "load_factor", "displacement_mm", "force_N_per_mm"])
        w.writerow([0, 0.0, 0.0, 0.0])
        for r in history:
            w.writerow([r["step"], r["load_factor"], r["displacement"], r["force"]])
    os.chmod(tmp, 0o644)
    os.replace(tmp, csv_path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    u = [0.0] + [r["displacement"] for r in history]
    f = [0.0] + [r["force"] for r in history]
    ax.plot(u, f, "o-", color="C0", label="FE² (RVE at every point)")
    ax.set_xlabel("displacement of the loaded edge [mm]")
    ax.set_ylabel("reaction force [N/mm]")
    ax.set_title("Plate with a hole, elasto-plastic fibre composite")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = save_figure(fig, out / "force_displacement.png")
    plt.close(fig)
    return {"curve_csv": csv_path, "curve_png": png}
