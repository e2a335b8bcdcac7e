"""The surrogate jobs: ``scalebridge surrogate build|fit|run CONFIG.toml``.

* `build` solves the config's RVE along the radial paths of ``[sampling]`` into
  ``OUTPUT/database.h5`` (resumable: a rerun adds only the missing paths);
* `fit` fits the ``[surrogate]`` model on the training paths, validates it on the
  held-out paths, writes ``OUTPUT/surrogate.pkl``, ``parity.png`` and
  ``stress_strain.png``;
* `run` solves the FE² macro problem of the config with the surrogate law, runs (or
  reuses) FE² on the same problem, and writes the comparison: force per increment,
  difference, online times, speed-up, offline cost and break-even count
  (``macro_response.png``, ``run_summary.json``).

Each returns its summary dict (also written as JSON); `format_summary` renders one for
the terminal.
"""

from __future__ import annotations

import json
import pickle
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from scalebridge.coupling.surrogate.base import SurrogateLaw
from scalebridge.coupling.surrogate.database import (
    DatabaseMismatchError,
    atomic_file,
    build_database,
    read_database,
    rve_provenance,
)
from scalebridge.coupling.surrogate.plots import (
    plot_macro_response,
    plot_parity,
    plot_stress_strain,
)
from scalebridge.coupling.surrogate.sampling import LoadingPlan, OutOfRangeWarning, load_box
from scalebridge.coupling.surrogate.validation import fit_surrogate
from scalebridge.io.surrogate_config import SurrogateConfig
from scalebridge.parallel import meta_hash

Progress = Callable[[str, int, int], None]
SURROGATE_FILE = "surrogate.pkl"
FORMAT = "scalebridge-surrogate"

__all__ = ["build", "fit", "format_summary", "load_surrogate", "run", "save_surrogate"]


# --------------------------------------------------------------------------- helpers
def _database_path(config: SurrogateConfig, out: Path) -> Path:
    p = Path(config.database.file)
    return p if p.is_absolute() else out / p


def _setup(config: SurrogateConfig) -> Any:
    """The FE² set-up of the config (macro problem and RVE law, not yet run)."""
    from scalebridge.coupling.fe2_run import build_fe2

    return build_fe2(config.fe2_config())


def plan_of(config: SurrogateConfig) -> LoadingPlan:
    """The `LoadingPlan` of ``config.sampling``."""
    s = config.sampling
    box = load_box(2, (s.lower, s.upper), s.coordinates)
    return LoadingPlan(
        box,
        s.paths,
        s.method,
        s.seed,
        s.steps,
        s.loading,
        s.cycles,
        s.ratio,
        s.to_boundary,
        s.grading,
    )


def save_surrogate(law: SurrogateLaw, path: str | Path, meta: dict[str, Any]) -> Path:
    """Pickle ``law`` and ``meta`` to ``path`` atomically (load only files you wrote)."""
    p = Path(path)
    with atomic_file(p) as tmp, open(tmp, "wb") as fh:
        pickle.dump({"format": FORMAT, "law": law, "meta": meta}, fh, protocol=5)
    return p


def load_surrogate(path: str | Path) -> tuple[SurrogateLaw, dict[str, Any]]:
    """The law and metadata written by `save_surrogate`."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"load_surrogate: no file {p}; run `scalebridge surrogate fit` first")
    with open(p, "rb") as fh:
        data = pickle.load(fh)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"load_surrogate: {p} is not a scalebridge surrogate file")
    return data["law"], data["meta"]


def _check_identity(found: str, config: SurrogateConfig, what: str, setup: Any) -> None:
    expected = meta_hash(rve_provenance(setup.law))
    if found != expected:
        raise DatabaseMismatchError(
            f"{what} was made for another RVE or other solver settings (identity "
            f"{found[:16]}, this config {expected[:16]}); rebuild it with this config"
        )


def _write(out: Path, name: str, summary: dict[str, Any]) -> dict[str, Any]:
    from scalebridge.io.results import write_json_atomic

    write_json_atomic(out / name, summary)
    return summary


# --------------------------------------------------------------------------- build
def build(
    config: SurrogateConfig, output: str | Path, progress: Progress | None = None
) -> dict[str, Any]:
    """Build (or extend, or resume) the offline database of ``config``.

    Parameters
    ----------
    config : SurrogateConfig
    output : path
        Folder of the database (``config.database.file``) and ``build_summary.json``.
    progress : callable, optional
        ``progress("RVE paths", done, total)`` after each batch of paths.

    Returns
    -------
    dict
        ``database`` (file, identity, paths, records, cumulative build seconds),
        ``this_run`` (`BuildReport` fields), ``plan``, ``provenance``.
    """
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    setup = _setup(config)
    plan = plan_of(config)
    file = _database_path(config, out)
    try:
        report = build_database(
            setup.law, plan, file, batch=config.database.batch, progress=progress
        )
    finally:
        setup.law.close()
    db = read_database(file)
    summary = {
        "stage": "build",
        "database": {
            "file": str(file),
            "identity": db.identity,
            "paths": db.n_paths,
            "records": db.size,
            "build_wall_seconds": db.meta["wall_seconds"],
            "micro_seconds": float(db.path_seconds.sum()),
        },
        "this_run": report.as_dict(),
        "plan": {
            "box": plan.box.describe(),
            "paths": len(plan.amplitudes()),
            "steps": len(plan.factors),
            "method": plan.method,
            "loading": plan.loading,
        },
        "provenance": db.provenance,
        "config": config.model_dump(),
    }
    return _write(out, "build_summary.json", summary)


# --------------------------------------------------------------------------- fit
def fit(config: SurrogateConfig, output: str | Path) -> dict[str, Any]:
    """Fit and validate the surrogate of ``config`` on the database in ``output``.

    Returns
    -------
    dict
        ``model``, ``errors`` (held-out), ``info`` (paths, records, fit seconds),
        ``files`` (surrogate, parity and stress-strain figures).
    """
    out = Path(output)
    db = read_database(_database_path(config, out))
    setup = _setup(config)
    _check_identity(db.identity, config, f"database {_database_path(config, out)}", setup)
    s = config.surrogate
    options: dict[str, Any]
    if s.model == "potential":
        options = {
            "knots": s.knots,
            "knot_ratio": s.knot_ratio,
            "degree": s.degree,
            "volumetric_order": s.volumetric_order,
            "harmonics": s.harmonics,
            "kappa": s.kappa,
            "ridge": s.ridge,
            "tangent_weight": s.tangent_weight,
        }
        if s.symmetry != "auto":
            options["symmetry"] = s.symmetry
    else:
        options = {"max_points": s.max_points}
        if s.augment is not None:
            options["augment"] = s.augment
    law, report = fit_surrogate(
        db,
        s.model,
        holdout=s.holdout,
        seed=s.seed,
        box=plan_of(config).box,
        out_of_range=s.out_of_range,
        margin=s.margin,
        **options,
    )
    meta = {
        "fit_seconds": report.info["fit_seconds"],
        "database_wall_seconds": db.meta["wall_seconds"],
        "database_records": db.size,
        "identity": db.identity,
    }
    files = {"surrogate": save_surrogate(law, out / SURROGATE_FILE, meta)}
    files["parity_png"] = plot_parity(report, out / "parity.png")
    held = sorted(set(db.path[report.records].tolist()))
    show = held[:: max(1, len(held) // 3)][:3]
    files["stress_strain_png"] = plot_stress_strain(law, db, show, out / "stress_strain.png")
    summary = {
        "stage": "fit",
        "model": repr(law),
        "errors": report.errors,
        "info": report.info,
        "files": {k: str(v) for k, v in files.items()},
        "config": config.model_dump(),
    }
    return _write(out, "fit_summary.json", summary)


# --------------------------------------------------------------------------- run
def _solve_macro(
    setup: Any, law: SurrogateLaw, config: SurrogateConfig, progress: Progress | None
) -> tuple[list[dict[str, Any]], Any, float, int]:
    """The FE² macro problem with ``law``: increment records, final increment, seconds,
    law calls with points outside the sampled box."""
    from scalebridge.fem import SolidProblem

    mc = config.macro
    problem = SolidProblem(setup.problem.mesh, law, quadrature=1)
    problem.fix("left", components=[0]).fix("bottom", components=[1])
    problem.prescribe("right", 0, mc.displacement)
    total = len(setup.load_factors)
    rows: list[dict[str, Any]] = []

    def increment(inc: Any) -> None:
        rows.append(
            {
                "step": int(inc.step),
                "displacement": float(inc.load_factor * mc.displacement),
                "force": float(inc.reactions["right"][0]),
                "iterations": int(inc.iterations),
                "outside": int((~law.in_range(inc.strain)).sum()),
            }
        )
        if progress is not None:
            progress("surrogate macro solve", len(rows), total)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OutOfRangeWarning)
        t0 = time.perf_counter()
        result = problem.solve(
            setup.load_factors,
            tol=config.solver.tol,
            max_iter=config.solver.max_iter,
            on_increment=increment,
        )
        seconds = time.perf_counter() - t0
    calls_outside = sum(issubclass(w.category, OutOfRangeWarning) for w in caught)
    for w in caught:
        if not issubclass(w.category, OutOfRangeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return rows, result.final, seconds, calls_outside


def _fe2_reference(
    config: SurrogateConfig, setup: Any, out: Path, progress: Progress | None
) -> tuple[dict[str, Any], bool]:
    """FE² summary of the same problem: reused from ``out/fe2`` when its settings match."""
    from scalebridge.coupling.fe2_run import run_fe2

    folder = out / "fe2"
    fe2_cfg = config.fe2_config()
    expected = setup.config_hash
    found = folder / "summary.json"
    if config.compare.reuse and found.is_file():
        old = json.loads(found.read_text())
        if old.get("config_hash") == expected and len(old.get("increments", [])) == len(
            setup.load_factors
        ):
            return old, True
    total = fe2_cfg.macro.steps

    def increment(rec: dict[str, Any]) -> None:
        if progress is not None:
            progress("FE² reference", int(rec["step"]), total)

    return run_fe2(fe2_cfg, folder, on_increment=increment, vtk=False), False


def run(
    config: SurrogateConfig, output: str | Path, progress: Progress | None = None
) -> dict[str, Any]:
    """Online macro solve with the fitted surrogate, compared with FE².

    Parameters
    ----------
    config : SurrogateConfig
    output : path
        Folder holding ``surrogate.pkl`` (from `fit`); receives ``run_summary.json``,
        ``macro_response.png`` and, when FE² runs, ``fe2/``.
    progress : callable, optional
        ``progress(stage, done, total)`` per converged increment of each macro solve.

    Returns
    -------
    dict
        ``increments`` (force of both, relative difference), ``comparison`` (largest
        force difference, final displacement difference), ``timing`` (online seconds of
        both, speed-up, offline seconds, break-even count), ``range`` (law calls and
        converged points outside the sampled box), ``files``.
    """
    out = Path(output)
    law, meta = load_surrogate(out / SURROGATE_FILE)
    setup = _setup(config)
    _check_identity(law.identity, config, f"surrogate {out / SURROGATE_FILE}", setup)
    rows, final, seconds, calls_outside = _solve_macro(setup, law, config, progress)
    offline = float(meta["database_wall_seconds"]) + float(meta["fit_seconds"])
    summary: dict[str, Any] = {
        "stage": "run",
        "model": repr(law),
        "fit_error": law.fit_error,
        "increments": rows,
        "range": {
            "policy": law.out_of_range,
            "law_calls_outside": calls_outside,
            "converged_points_outside": max((r["outside"] for r in rows), default=0),
            "points": int(setup.problem.n_points),
        },
        "timing": {"surrogate_online_seconds": seconds, "offline_seconds": offline},
    }
    fe2 = None
    if config.compare.fe2:
        fe2, reused = _fe2_reference(config, setup, out, progress)
        summary["comparison"] = _compare(rows, fe2, final, out)
        t_fe2 = float(fe2["this_run"]["wall_seconds"])
        summary["timing"] |= {
            "fe2_online_seconds": t_fe2,
            "fe2_reused": reused,
            "speedup": t_fe2 / seconds if seconds > 0 else float("inf"),
            "break_even_evaluations": offline / (t_fe2 - seconds) if t_fe2 > seconds else None,
            "fe2_micro_solves": int(fe2["this_run"]["micro_solves"]),
            "offline_micro_solves": int(meta["database_records"]),
        }
    png = plot_macro_response(
        [r["displacement"] for r in rows],
        [r["force"] for r in fe2["increments"]] if fe2 else None,
        [r["force"] for r in rows],
        out / "macro_response.png",
        model=config.surrogate.model,
    )
    summary["files"] = {"macro_response_png": str(png), "summary": str(out / "run_summary.json")}
    summary["config"] = config.model_dump()
    return _write(out, "run_summary.json", summary)


def _compare(
    rows: list[dict[str, Any]], fe2: dict[str, Any], final: Any, out: Path
) -> dict[str, Any]:
    from scalebridge.coupling.checkpoint import read_checkpoint

    ref = [r["force"] for r in fe2["increments"]]
    for r, f in zip(rows, ref, strict=True):
        r["force_fe2"] = f
        r["force_difference"] = (r["force"] - f) / abs(f)
    out_cmp = {"max_force_difference": max(abs(r["force_difference"]) for r in rows)}
    ckpt = out / "fe2" / "checkpoint.h5"
    if ckpt.is_file():
        u_ref = read_checkpoint(ckpt).displacement
        if u_ref.shape == final.displacement.shape:
            out_cmp["final_displacement_difference"] = float(
                np.abs(final.displacement - u_ref).max() / np.abs(u_ref).max()
            )
    return out_cmp


# --------------------------------------------------------------------------- terminal
def format_summary(summary: dict[str, Any]) -> str:
    """Plain-text report of a `build`, `fit` or `run` summary."""
    stage = summary.get("stage")
    if stage == "build":
        d, r = summary["database"], summary["this_run"]
        lines = [
            f"database {d['file']}: {d['paths']} paths, {d['records']} RVE solves "
            f"(identity {d['identity'][:12]})",
            f"this run: {r['solved']} paths solved, {r['skipped']} already stored, "
            f"{len(r['failures'])} failed; {r['micro_solves']} RVE solves in "
            f"{r['wall_seconds']:.1f} s on {r['executor']}",
            f"offline cost so far: {d['build_wall_seconds']:.1f} s wall",
        ]
        lines += [f"  failed {k[:12]}: {msg}" for k, msg in r["failures"][:5]]
        return "\n".join(lines)
    if stage == "fit":
        e, i = summary["errors"], summary["info"]
        lines = [
            f"{summary['model']} fitted in {i['fit_seconds']:.2f} s on {i['train_paths']} "
            f"paths ({i['train_records']} records)",
            f"error on {i['errors_on']} ({i['test_paths']} paths): stress RMS "
            f"{e['stress_rms']:.2%}, max {e['stress_max']:.2%}, radial tangent RMS "
            f"{e['radial_tangent_rms']:.2%}"
            + (f", within 2 std: {e['coverage_2std']:.0%}" if "coverage_2std" in e else ""),
        ]
        lines += [f"  {k}: {v}" for k, v in summary["files"].items()]
        return "\n".join(lines)
    rows = summary["increments"]
    has_ref = "comparison" in summary
    head = f"{'step':>4} {'u [mm]':>9} {'F surrogate':>12}" + (
        f" {'F FE²':>10} {'diff':>8}" if has_ref else ""
    )
    lines = [head]
    for r in rows:
        line = f"{r['step']:>4} {r['displacement']:>9.4g} {r['force']:>12.5g}"
        if has_ref:
            line += f" {r['force_fe2']:>10.5g} {r['force_difference']:>+8.2%}"
        lines.append(line)
    t, rg = summary["timing"], summary["range"]
    lines.append(
        f"surrogate online {t['surrogate_online_seconds']:.3f} s; offline (database + fit) "
        f"{t['offline_seconds']:.1f} s"
    )
    if has_ref:
        c = summary["comparison"]
        be = t["break_even_evaluations"]
        lines.append(
            f"FE² online {t['fe2_online_seconds']:.1f} s{' (reused)' if t['fe2_reused'] else ''}"
            f": speed-up {t['speedup']:.0f}x; largest force difference "
            f"{c['max_force_difference']:.2%}; break-even after "
            f"{'-' if be is None else f'{be:.2f}'} macro solves"
        )
    lines.append(
        f"range ({rg['policy']}): {rg['law_calls_outside']} law calls with points outside "
        f"the sampled box; {rg['converged_points_outside']} of {rg['points']} converged "
        "points outside"
    )
    lines += [f"  {k}: {v}" for k, v in summary["files"].items()]
    return "\n".join(lines)
