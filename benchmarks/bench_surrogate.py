#!/usr/bin/env python
"""Benchmark of hierarchical coupling against FE² on the built-in FE² problem.

Measures in one run, on the same machine and executor (``[run]`` of the config: 2
process workers by default):

* the FE² online time (``scalebridge fe2``'s problem, run fresh: no reuse);
* the offline cost: the RVE database (``[sampling]``: 128 radial paths x 10 steps) and
  the fit of each surrogate (potential, Gaussian process);
* the online time of the macro problem with each surrogate (best of ``--repeat``
  solves), the speed-up over FE², and the break-even count ``offline / (T_FE² -
  T_surrogate)`` of macro solves;
* the reaction force per increment of FE² and of each surrogate, and their relative
  difference; the held-out validation errors of each surrogate.

Writes ``benchmarks/results/surrogate_<date>.json`` atomically, prints a table, and
saves the figures of the potential surrogate (``surrogate_parity.png``,
``surrogate_stress_strain.png``) and the macro response of FE² and both surrogates
(``surrogate_macro_response.png``) next to it.

Usage::

    python benchmarks/bench_surrogate.py           # ~6 minutes on 2 cores
    python benchmarks/bench_surrogate.py --quick   # 2x2 mesh, 8x8 RVE, ~30 s
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def config(quick: bool, folder: Path) -> Any:
    from scalebridge.io.surrogate_config import load_surrogate_config

    cfg = load_surrogate_config()
    if quick:
        from scalebridge.fem import rectangle, write_mesh

        mesh = folder / "plate.vtu"
        write_mesh(rectangle(n=(2, 2), cell="tri"), str(mesh))
        cfg = cfg.model_copy(
            update={
                "macro": cfg.macro.model_copy(update={"mesh": str(mesh), "steps": 3}),
                "rve": cfg.rve.model_copy(update={"grid": 8}),
                "sampling": cfg.sampling.model_copy(update={"paths": 64, "steps": 8}),
            }
        )
    return cfg.model_copy(update={"compare": cfg.compare.model_copy(update={"reuse": True})})


def best_online(cfg: Any, out: Path, repeat: int) -> float:
    """Best-of-``repeat`` wall time of the macro solve with the fitted surrogate."""
    from scalebridge.coupling.surrogate import job

    law, _ = job.load_surrogate(out / job.SURROGATE_FILE)
    setup = job._setup(cfg)
    return min(job._solve_macro(setup, law, cfg, None)[2] for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small problem, checks the script")
    parser.add_argument("--repeat", type=int, default=5, help="surrogate solves timed")
    parser.add_argument("--output", type=Path, default=None, help="JSON path")
    parser.add_argument(
        "--figures", type=Path, default=None, help="figure folder (default: JSON's)"
    )
    args = parser.parse_args()

    from scalebridge.coupling.surrogate import job

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cfg = config(args.quick, folder)
        out = folder / "out"
        print("offline: database ...", flush=True)
        built = job.build(cfg, out)
        models: dict[str, Any] = {}
        figures: dict[str, bytes] = {}
        fe2_summary = None
        for model in ("potential", "gp"):
            mcfg = cfg.model_copy(
                update={"surrogate": cfg.surrogate.model_copy(update={"model": model})}
            )
            print(f"offline: fit {model} ...", flush=True)
            fitted = job.fit(mcfg, out)
            if model == "potential":
                figures = {k: (out / f"{k}.png").read_bytes() for k in ("parity", "stress_strain")}
            if fe2_summary is None:
                print("online: FE² (fresh) ...", flush=True)
            ran = job.run(mcfg, out)  # the first runs FE², the second reuses that run
            fe2_summary = json.loads((out / "fe2" / "summary.json").read_text())
            online = min(
                ran["timing"]["surrogate_online_seconds"], best_online(mcfg, out, args.repeat)
            )
            t_fe2 = ran["timing"]["fe2_online_seconds"]
            offline = built["database"]["build_wall_seconds"] + fitted["info"]["fit_seconds"]
            models[model] = {
                "model": fitted["model"],
                "validation": fitted["errors"]
                | {k: fitted["info"][k] for k in ("train_paths", "test_paths")},
                "fit_seconds": fitted["info"]["fit_seconds"],
                "online_seconds": online,
                "speedup": t_fe2 / online,
                "offline_seconds": offline,
                "break_even_macro_solves": offline / (t_fe2 - online),
                "force": [r["force"] for r in ran["increments"]],
                "force_difference": [r["force_difference"] for r in ran["increments"]],
                "max_force_difference": ran["comparison"]["max_force_difference"],
                "final_displacement_difference": ran["comparison"].get(
                    "final_displacement_difference"
                ),
                "macro_newton_iterations": [r["iterations"] for r in ran["increments"]],
                "law_calls_outside_box": ran["range"]["law_calls_outside"],
                "converged_points_outside_box": ran["range"]["converged_points_outside"],
            }
        assert fe2_summary is not None
    fe2 = {
        "online_seconds": fe2_summary["this_run"]["wall_seconds"],
        "micro_solves": fe2_summary["this_run"]["micro_solves"],
        "macro_newton_iterations": [r["iterations"] for r in fe2_summary["increments"]],
        "force": [r["force"] for r in fe2_summary["increments"]],
        "displacement": [r["displacement"] for r in fe2_summary["increments"]],
        "quadrature_points": fe2_summary["macro"]["quadrature_points"],
    }
    doc = {
        "benchmark": "surrogate vs FE² (scalebridge surrogate build|fit|run, default problem)"
        + (" --quick" if args.quick else ""),
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cores": os.cpu_count(),
        },
        "executor": f"{cfg.run.executor} ({cfg.run.max_workers} workers)",
        "problem": {
            "macro": "quarter plate with a hole" if cfg.macro.mesh is None else cfg.macro.mesh,
            "increments": cfg.macro.steps,
            "displacement": cfg.macro.displacement,
            "rve_grid": cfg.rve.grid,
        },
        "database": {
            "paths": built["database"]["paths"],
            "rve_solves": built["database"]["records"],
            "wall_seconds": built["database"]["build_wall_seconds"],
            "box": built["plan"]["box"],
        },
        "fe2": fe2,
        "surrogates": models,
    }
    print_table(doc)
    stamp = _dt.date.today().isoformat()
    path = args.output or RESULTS / f"surrogate_{stamp}{'_quick' if args.quick else ''}.json"
    write_json(path, doc)
    folder = args.figures or path.parent
    tag = "_quick" if args.quick else ""
    for name, data in figures.items():
        (folder / f"surrogate_{name}{tag}.png").write_bytes(data)
    plot_macro(doc, folder / f"surrogate_macro_response{tag}.png")
    print(f"written {path} and figures in {folder}")


def plot_macro(doc: dict[str, Any], path: Path) -> None:
    """Force-displacement of FE² and the surrogates, and their relative differences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fe2, sur = doc["fe2"], doc["surrogates"]
    u = [0.0, *fe2["displacement"]]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    ax.plot(u, [0.0, *fe2["force"]], "o-", color="k", label=f"FE² ({fe2['online_seconds']:.0f} s)")
    for (name, s), style in zip(sur.items(), ("s--", "^:"), strict=False):
        label = f"{name} surrogate ({s['online_seconds']:.2f} s)"
        ax.plot(u, [0.0, *s["force"]], style, mfc="none", label=label)
        ax2.plot(fe2["displacement"], [100 * d for d in s["force_difference"]], style, label=name)
    ax.set_xlabel("displacement of the loaded edge [mm]")
    ax.set_ylabel("reaction force [N/mm]")
    ax.legend(fontsize=8)
    ax2.axhline(0.0, color="0.6", lw=1)
    ax2.set_xlabel("displacement of the loaded edge [mm]")
    ax2.set_ylabel("(surrogate - FE²) / FE² [%]")
    ax2.legend(fontsize=8)
    for a in (ax, ax2):
        a.grid(alpha=0.3)
        a.locator_params(axis="x", nbins=5)
    fig.suptitle("Plate with a hole: FE² against the offline-trained surrogates", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_table(doc: dict[str, Any]) -> None:
    fe2, sur = doc["fe2"], doc["surrogates"]
    print(
        f"\n{'step':>4} {'u [mm]':>8} {'F FE²':>9} "
        + " ".join(f"{'F ' + m:>12} {'diff':>7}" for m in sur)
    )
    for i, (u, f) in enumerate(zip(fe2["displacement"], fe2["force"], strict=True)):
        cells = " ".join(
            f"{s['force'][i]:>12.4f} {s['force_difference'][i]:>+7.2%}" for s in sur.values()
        )
        print(f"{i + 1:>4} {u:>8.4f} {f:>9.4f} {cells}")
    db = doc["database"]
    print(
        f"\nFE² online: {fe2['online_seconds']:.1f} s ({fe2['micro_solves']} RVE solves); "
        f"database: {db['rve_solves']} RVE solves in {db['wall_seconds']:.1f} s ({db['paths']} paths)"
    )
    print(
        f"{'model':>10} {'held-out RMS':>13} {'fit [s]':>8} {'online [s]':>11} {'speed-up':>9} {'max dF':>7} {'break-even':>11}"
    )
    for name, s in sur.items():
        print(
            f"{name:>10} {s['validation']['stress_rms']:>13.2%} {s['fit_seconds']:>8.2f} "
            f"{s['online_seconds']:>11.4f} {s['speedup']:>8.0f}x {s['max_force_difference']:>7.2%} "
            f"{s['break_even_macro_solves']:>11.2f}"
        )


if __name__ == "__main__":
    main()
