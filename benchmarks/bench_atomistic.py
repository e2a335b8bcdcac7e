#!/usr/bin/env python
"""Benchmark of the 2D defect problem: QC and bridging domain against full lattice statics.

Case: `vacancy_problem` at full size (121 x 121 sites of the triangular Lennard-Jones
lattice, NN + NNN bonds, cutoff 2.1, a 7-vacancy cluster at the centre, the boundary
layer clamped to the biaxial stretch F = 1.03 I; 14574 atoms).  The full lattice statics
(Newton, sparse Hessian) is the reference; every method -- energy-based QC,
ghost-corrected QC, force-based QC and the bridging domain -- is solved for atomistic
radii of 2 to 24 lattice spacings, and each row gives the displacement error near the
defect, the energy error, the free degrees of freedom as a fraction of the full model's
and the wall time (best of ``--repeat``, model construction included) with the speed-up
over the reference, all measured in the same run.  The QC row with the fewest degrees of
freedom at 1 % displacement error is reported.  Writes ``benchmarks/results/atomistic.json``
(atomically) and prints a table; ``--quick`` runs 61 x 61 sites in seconds.

Usage::

    python benchmarks/bench_atomistic.py            # ~2 minutes on 2 cores
    python benchmarks/bench_atomistic.py --quick
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import platform
import resource
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="61 x 61 sites: seconds")
    ap.add_argument("--size", type=int, default=None, help="sites per side (odd)")
    ap.add_argument("--repeat", type=int, default=3, help="wall time = best of this many")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    size = a.size or (61 if a.quick else 121)
    radii = [2.0, 3.0, 4.0, 6.0, 8.0, 12.0] + ([] if a.quick else [16.0, 24.0])
    methods = ("qc-energy", "qc-ghost-corrected", "qc-force", "bridging")

    import numpy
    import scipy

    from scalebridge.atomistic.benchmarks import (
        defect_benchmark,
        format_table,
        plot_benchmark,
        qc_target,
        vacancy_problem,
    )

    out = a.out or RESULTS / f"atomistic{'_quick' if a.quick else ''}.json"
    doc: dict[str, Any] = {
        "benchmark": "bench_atomistic.py",
        "date": _dt.date.today().isoformat(),
        "case": {
            "problem": "vacancy cluster (7 vacancies), triangular LJ lattice, cutoff 2.1",
            "size": size,
            "strain": 0.03,
            "radii_spacings": radii,
            "methods": list(methods),
            "band_spacings": 4.0,
            "repeat": a.repeat,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
        },
    }
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    problem = vacancy_problem(size, repeats=a.repeat)
    spacing = float(numpy.linalg.norm(problem.crystal.shell, axis=1).min())
    fixed = numpy.asarray(problem.loading.fixed, bool)
    doc["reference"] = {
        "atoms": problem.crystal.n_atoms,
        "free_dofs": int((~fixed).sum()) * problem.crystal.dim,
        "time_s": problem.reference_time,
        "energy_change": problem.reference_energy_change,
        "newton_iterations": problem.reference.iterations,
        "residual": problem.reference.residual,
    }
    print(
        f"{problem.name}: {problem.crystal.n_atoms} atoms, "
        f"{doc['reference']['free_dofs']} free dofs, reference {problem.reference_time:.2f} s "
        f"(best of {a.repeat})",
        flush=True,
    )
    rows = defect_benchmark(
        problem, [r * spacing for r in radii], methods=methods, repeats=a.repeat
    )
    doc["rows"] = [{**dataclasses.asdict(r), "radius_spacings": r.radius / spacing} for r in rows]
    target = qc_target(rows)
    doc["qc_target_1pct"] = None if target is None else dataclasses.asdict(target)
    doc["bridging_1pct"] = min(
        (
            dataclasses.asdict(r)
            for r in rows
            if r.method == "bridging" and r.displacement_error <= 0.01
        ),
        key=lambda r: r["dofs"],
        default=None,
    )
    doc["wall_s"] = time.perf_counter() - t0
    doc["loadavg_start"], doc["loadavg_end"] = load0, os.getloadavg()[0]
    doc["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    figure = out.with_suffix(".png")
    plot_benchmark(rows, figure)
    doc["figure"] = str(
        figure.relative_to(HERE.parent) if figure.is_relative_to(HERE.parent) else figure
    )
    write_json(out, doc)
    print(format_table(rows))
    if target is not None:
        print(
            f"QC at 1 % error: {target.method}, R = {target.radius / spacing:g} a, "
            f"{100 * target.dof_fraction:.1f} % of the dofs, {target.time:.3f} s "
            f"({target.speedup:.0f}x faster than the full solve)"
        )
    print(f"total {doc['wall_s']:.1f} s; wrote {out}")


if __name__ == "__main__":
    main()
