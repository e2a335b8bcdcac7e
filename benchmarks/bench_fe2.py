#!/usr/bin/env python
"""Benchmark of FE² on Dask: micro solves per second and macro increment time with 1 and
2 workers, data moved per increment, and a projected cost table for larger runs.

Case: the built-in ``scalebridge fe2`` problem (quarter plate with a hole, 132 P1
triangles = 132 RVEs; 16x16 elasto-plastic fibre-composite RVE solved by the Fourier
Newton-Krylov solver), the first ``--increments`` load increments (default 2: one mostly
elastic, one with plastic flow).  The same increments run on a Dask `LocalCluster`
with 1 worker and with 2 workers (one thread each) in this process, alternated
``--repeat`` times; parallel efficiency = T(1) / (2 T(2)) from the best of each.  The two
runs must give bitwise identical forces (the RVE state travels with the tasks).

Projection: the measured time per micro solve and per voxel, and the measured bytes
of RVE state per voxel, give the cost of larger macro meshes and RVEs on a cluster of
``W`` workers under the model stated in the JSON (``cost_model``).

Writes ``benchmarks/results/fe2_<date>.json`` atomically and prints tables.

Usage::

    python benchmarks/bench_fe2.py              # ~6 minutes on 2 cores
    python benchmarks/bench_fe2.py --quick      # coarse mesh, 8x8 RVE, ~1 minute
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import tempfile
import time
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


def run_once(cfg: Any, client: Any, increments: int, chunks: int) -> dict[str, Any]:
    import numpy as np

    from scalebridge.coupling.fe2_run import build_fe2

    setup = build_fe2(cfg, executor=client)
    law = setup.law
    law.chunks_per_worker = chunks
    times: list[float] = []
    moved: list[int] = []
    iterations: list[int] = []
    forces: list[float] = []
    last = {"t": time.perf_counter(), "bytes": 0}

    def done(inc: Any) -> None:
        now = time.perf_counter()
        b = law.stats.bytes_sent + law.stats.bytes_received
        times.append(now - last["t"])
        moved.append(b - last["bytes"])
        iterations.append(inc.iterations)
        forces.append(float(inc.reactions["right"][0]))
        last.update(t=now, bytes=b)

    t0 = time.perf_counter()
    last["t"] = t0
    setup.problem.solve(
        np.array(setup.load_factors[:increments]),
        tol=cfg.solver.tol,
        max_iter=cfg.solver.max_iter,
        on_increment=done,
    )
    wall = time.perf_counter() - t0
    s = law.stats
    return {
        "wall_s": wall,
        "increment_s": times,
        "newton_iterations": iterations,
        "forces": forces,
        "micro_solves": s.micro_solves,
        "micro_solves_per_s": s.micro_solves / wall,
        "micro_s_mean": s.micro_seconds / s.micro_solves,
        "bytes_moved_per_increment": moved,
        "points": setup.problem.n_points,
        "voxels": cfg.rve.grid**2,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--increments", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--chunks", type=int, default=4, help="tasks per worker and macro iteration")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    import distributed

    from scalebridge.coupling.fe2 import format_bytes
    from scalebridge.io.fe2_config import load_fe2_config

    cfg = load_fe2_config()
    if args.quick:
        cfg = cfg.model_copy(
            update={
                "macro": cfg.macro.model_copy(update={"size": 0.6, "hole_size": 0.3}),
                "rve": cfg.rve.model_copy(update={"grid": 8}),
            }
        )
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(args.repeat):
        for workers in (1, 2):
            with (
                distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                r = run_once(cfg, client, args.increments, args.chunks)
                runs[workers].append(r)
                print(
                    f"{workers} worker(s): {r['wall_s']:.1f} s, "
                    f"{r['micro_solves_per_s']:.1f} micro solves/s",
                    flush=True,
                )
    best = {w: min(rs, key=lambda r: r["wall_s"]) for w, rs in runs.items()}
    same = best[1]["forces"] == best[2]["forces"]
    efficiency = best[1]["wall_s"] / (2.0 * best[2]["wall_s"])
    b1 = best[1]
    print()
    print(
        f"FE² benchmark: {b1['points']} RVEs of {b1['voxels']} voxels, {args.increments} increments"
    )
    print(
        f"{'workers':>8} {'wall [s]':>9} {'solves/s':>9} {'increment times [s]':>24} {'moved/increment':>18}"
    )
    for w in (1, 2):
        r = best[w]
        inc = ", ".join(f"{t:.1f}" for t in r["increment_s"])
        mv = ", ".join(format_bytes(b) for b in r["bytes_moved_per_increment"])
        print(f"{w:>8} {r['wall_s']:>9.1f} {r['micro_solves_per_s']:>9.1f} {inc:>24} {mv:>18}")
    print(f"parallel efficiency 1 -> 2 workers: {efficiency:.0%}; identical forces: {same}")

    # cost model: one macro iteration = ceil(points / W) sequential micro solves per
    # worker (t_solve each, proportional to voxels measured here) + state shipping
    # (bytes_per_point both ways over the network); Newton iterations per increment
    # as measured.
    t_vox = b1["micro_s_mean"] / b1["voxels"]
    bytes_point = (
        sum(b1["bytes_moved_per_increment"])
        / (sum(b1["newton_iterations"]) + len(b1["newton_iterations"]))
        / b1["points"]
    )
    bytes_vox = bytes_point / b1["voxels"]
    its = (sum(b1["newton_iterations"]) + len(b1["newton_iterations"])) / len(
        b1["newton_iterations"]
    )
    bandwidth = 1e9  # bytes/s, a 10 Gb/s cluster network
    rows = []
    for points in (1_000, 10_000, 100_000):
        for voxels, label in ((256, "16^2"), (4096, "64^2"), (32768, "32^3")):
            for workers in (64, 512):
                solve = t_vox * voxels
                compute = -(-points // workers) * solve
                network = points * bytes_vox * voxels / bandwidth
                per_inc = its * (compute + network)
                rows.append(
                    {
                        "macro_points": points,
                        "rve": label,
                        "workers": workers,
                        "seconds_per_increment": per_inc,
                        "network_fraction": network / (compute + network),
                    }
                )
    print()
    print("Projected cost per macro increment (model in the JSON):")
    print(f"{'points':>8} {'RVE':>6} {'workers':>8} {'s/increment':>12} {'network':>8}")
    for r in rows:
        print(
            f"{r['macro_points']:>8} {r['rve']:>6} {r['workers']:>8} "
            f"{r['seconds_per_increment']:>12.1f} {r['network_fraction']:>8.1%}"
        )
    doc = {
        "benchmark": "fe2",
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "quick": args.quick,
        "increments": args.increments,
        "chunks_per_worker": args.chunks,
        "runs": runs,
        "best": best,
        "parallel_efficiency": efficiency,
        "identical_results": same,
        "cost_model": {
            "formula": "newton_its * (ceil(points/W) * t_voxel * voxels + points * "
            "bytes_per_voxel * voxels / bandwidth)",
            "t_voxel_s": t_vox,
            "bytes_per_voxel_per_iteration": bytes_vox,
            "newton_its_per_increment": its,
            "bandwidth_bytes_per_s": bandwidth,
            "assumptions": "micro time linear in voxels (Krylov iterations grow with "
            "resolution, so larger RVEs cost more: optimistic); no scheduler overhead",
            "rows": rows,
        },
    }
    stamp = _dt.date.today().isoformat()
    name = f"fe2_{'quick_' if args.quick else ''}{stamp}.json"
    write_json(RESULTS / name, doc)
    print(f"\nwrote {RESULTS / name}")


if __name__ == "__main__":
    main()
