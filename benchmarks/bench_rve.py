#!/usr/bin/env python
"""Benchmark of a 3D RVE study: serial against Dask workers, parallel efficiency.

Case: 3D conduction in a random sphere packing (`RandomSpheres`, volume fraction 0.25,
radius 1, contrast 10), cell edges 3-7 (resolution 5 voxels per unit: 15^3 to 35^3
voxels), 16 realizations per size, the three boundary conditions: 240 independent
solves.  The same study runs on

* ``serial``: in this process, numba and FFTW limited to one thread per task;
* a Dask `LocalCluster` with 1 worker (1 thread) and with 2 workers (1 thread each).

Parallel efficiency = T(1 worker) / (2 T(2 workers)), both on Dask, measured in the same
run (``--repeat`` alternated pairs; best of each, and per pair); the serial row shows
the Dask overhead.  The three runs must give identical
numbers (tasks carry their seeds).  Writes ``benchmarks/results/rve_<date>.json``
(atomically) and prints a table; ``--quick`` runs a 2D version in seconds.

Usage::

    python benchmarks/bench_rve.py            # 3D study, ~5 minutes on 2 cores
    python benchmarks/bench_rve.py --quick
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def maxrss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def children_maxrss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def run(
    case: dict[str, Any], executor: Any, workers: int, figure: Path | None = None
) -> dict[str, Any]:
    from scalebridge.materials import Conductivity
    from scalebridge.microstructure.random_models import RandomSpheres
    from scalebridge.rve import rve_study

    model = RandomSpheres(ndim=case["ndim"], volume_fraction=0.25, radius=1.0)
    laws = {0: Conductivity(k=1.0), 1: Conductivity(k=10.0)}
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    study = rve_study(
        model,
        laws,
        case["sizes"],
        case["realizations"],
        resolution=case["resolution"],
        executor=executor,
        max_workers=workers if executor == "processes" else None,
        threads_per_task=1,
        progress=False,
        seed=0,
    )
    wall = time.perf_counter() - t0
    q = "k_mean"
    rep = study.report(q)
    if figure is not None:
        study.plot(q, figure)
    solve_s = sum(r["task_s"] for r in study.records)
    return {
        "executor": executor if isinstance(executor, str) else study.executor,
        "workers": workers,
        "wall_s": wall,
        "task_s_sum": solve_s,
        "solves": len(study.records),
        "failures": len(study.failures),
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg()[0],
        "means": {bc: [m["mean"] for m in rep["summary"][bc]] for bc in study.bcs},
        "alpha": rep.get("variance_law", {}).get("alpha"),
        "rve_edge": rep.get("rve_size", {}).get("edge"),
        "rve_edge_ci": rep.get("rve_size", {}).get("edge_ci"),
        "values": [
            r["quantities"][q]
            for r in sorted(study.records, key=lambda r: (r["edge"], r["realization"], r["bc"]))
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2D, small: seconds")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--repeat", type=int, default=2, help="1- and 2-worker runs, alternated (best of)"
    )
    a = ap.parse_args()
    if a.quick:
        case = {"ndim": 2, "sizes": [4.0, 8.0, 12.0], "realizations": 6, "resolution": 6.0}
    else:
        case = {
            "ndim": 3,
            "sizes": [3.0, 4.0, 5.0, 6.0, 7.0],
            "realizations": 16,
            "resolution": 5.0,
        }
    import dask
    import distributed
    import numpy

    date = _dt.date.today().isoformat()
    out = a.out or RESULTS / f"rve_{date}{'_quick' if a.quick else ''}.json"
    doc: dict[str, Any] = {
        "benchmark": "bench_rve.py",
        "date": date,
        "case": case,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "dask": dask.__version__,
            "distributed": distributed.__version__,
        },
        "runs": [],
    }
    # warm-up (numba cache, FFTW wisdom) outside the timings
    run(
        {
            "ndim": case["ndim"],
            "sizes": [3.0, 4.0],
            "realizations": 2,
            "resolution": case["resolution"],
        },
        "serial",
        1,
    )
    print("| executor | workers | wall s | sum of task times s | solves | load avg |")
    print("|---|---|---|---|---|---|")

    def show(r: dict[str, Any]) -> None:
        doc["runs"].append(r)
        write_json(out, doc)
        print(
            f"| {r['executor']} | {r['workers']} | {r['wall_s']:.1f} | {r['task_s_sum']:.1f} "
            f"| {r['solves']} | {r['loadavg_start']:.2f}-{r['loadavg_end']:.2f} |",
            flush=True,
        )

    show(run(case, "serial", 1, figure=out.with_suffix(".png")))
    # Dask: the cluster is started (and warmed: numba caches, FFTW wisdom) before the
    # clock starts, so that 1 and 2 workers are compared on the solves alone
    for workers in [1, 2] * a.repeat:
        with (
            distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            small = {**case, "sizes": case["sizes"][:2], "realizations": workers}
            run(small, client, workers)
            r = run(case, client, workers)
            r["executor"] = "dask LocalCluster"
            show(r)
    t1 = min(r["wall_s"] for r in doc["runs"][1:] if r["workers"] == 1)
    t2 = min(r["wall_s"] for r in doc["runs"][1:] if r["workers"] == 2)
    doc["pairs_efficiency"] = [
        doc["runs"][i]["wall_s"] / (2 * doc["runs"][i + 1]["wall_s"])
        for i in range(1, len(doc["runs"]) - 1, 2)
    ]
    same = all(r["values"] == doc["runs"][0]["values"] for r in doc["runs"])
    doc["speedup_1_to_2"] = t1 / t2
    doc["parallel_efficiency"] = t1 / (2.0 * t2)
    doc["identical_results"] = same
    doc["peak_rss_gib_parent"] = maxrss_gib()
    doc["finished"] = True
    write_json(out, doc)
    r0 = doc["runs"][0]
    print(
        f"speed-up 1 -> 2 Dask workers (best of {a.repeat}): {t1 / t2:.2f} "
        f"(efficiency {100 * t1 / (2 * t2):.0f} %; per pair "
        f"{', '.join(f'{100 * e:.0f} %' for e in doc['pairs_efficiency'])}); "
        f"identical results across executors: {same}"
    )
    print(f"alpha = {r0['alpha']}, RVE edge for 1 % = {r0['rve_edge']} {r0['rve_edge_ci']}")
    print("wrote", out)
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
