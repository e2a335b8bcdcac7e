#!/usr/bin/env python
"""Benchmark of the sparse voxel finite-element cell solver (`VoxelFESolver`).

Case: 3D elasticity, random non-overlapping spheres (``random_inclusions``, volume
fraction 0.2, radius 0.15 of the unit cell, seed 0: the same geometry at every
resolution), matrix E = 1, spheres E = 10, Poisson 0.3 in both, the six unit Mandel
load cases (strain for KUBC and PBC, stress for SUBC), CG tolerance 1e-6.  Rows: KUBC,
SUBC and PBC with AMG-preconditioned CG (and SuperLU at 32^3 only), plus the FFT
solver (`PeriodicSolver`) at the same grid for comparison with the PBC row.

The AMG-CG rows use `VoxelAMG` (src/scalebridge/cell/amg.py): pyamg smoothed
aggregation on the node-major system (3x3 node blocks, rigid-body modes, energy-minimising
prolongation), matrix-free Chebyshev smoothing on the fine grid, block Gauss-Seidel on
the coarse levels.  ``--variants`` compares settings of it:

* ``src``: the defaults (Chebyshev degree 2, interval [0.25, 1.1] lambda_max, energy)
* ``jacobi``: Jacobi-smoothed prolongation (cheaper set-up, more iterations)
* ``cheb3``: Chebyshev degree 3 with the interval [0.1, 1.1] lambda_max

Every measurement runs in a fresh subprocess of this script (``--worker``) so that the
peak resident memory (``ru_maxrss``) is per case; a case that runs past its timeout is
skipped.  The parent prints a table and writes ``benchmarks/results/bc_<date>.json``
atomically after every case.

Usage::

    python benchmarks/bench_bc.py                   # 32^3 and 64^3 (96^3 if 64^3 was fast)
    python benchmarks/bench_bc.py --sizes 32 64 96
    python benchmarks/bench_bc.py --quick           # 16^3 only
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
VOLUME_FRACTION = 0.2
RADIUS = 0.15
SEED = 0
NU = 0.3
E_MATRIX, E_INCL = 1.0, 10.0
TOL = 1e-6
MAX_ITER = 2000
BCS = ("kubc", "subc", "pbc")
VARIANTS = ("src", "jacobi", "cheb3")
TARGET_N, TARGET_S = 64, 60.0


# --------------------------------------------------------------------------- helpers
def maxrss_bytes() -> int:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kb) * (1 if sys.platform == "darwin" else 1024)


def iso_mandel(E: float, nu: float = NU) -> np.ndarray:
    """Isotropic Mandel stiffness: lambda on the 3x3 normal block + 2 mu on the diagonal."""
    lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
    mu = E / (2.0 * (1.0 + nu))
    C = np.zeros((6, 6))
    C[:3, :3] = lam
    C += 2.0 * mu * np.eye(6)
    return C


def labels_for(n: int) -> np.ndarray:
    from scalebridge.microstructure import random_inclusions

    ms = random_inclusions((n, n, n), volume_fraction=VOLUME_FRACTION, radius=RADIUS, seed=SEED)
    return np.ascontiguousarray(ms.labels, dtype=np.int32)


def unit(k: int, m: int = 6) -> np.ndarray:
    e = np.zeros(m)
    e[k] = 1.0
    return e


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- AMG variants
VARIANT_OPTIONS: dict[str, dict[str, Any]] = {
    "src": {},
    "jacobi": {"smooth": "jacobi"},
    "cheb3": {"degree": 3, "lower": 0.1},
}


def make_solver_class(variant: str):
    import functools

    import scalebridge.cell.fe_solver as fe_solver
    from scalebridge.cell.amg import VoxelAMG

    fe_solver.VoxelAMG = functools.partial(VoxelAMG, **VARIANT_OPTIONS[variant])

    class BenchSolver(fe_solver.VoxelFESolver):
        setup_seconds = 0.0
        amg_info: ClassVar[dict[str, Any]] = {}

        def _setup_solver(self, A):
            t0 = time.perf_counter()
            super()._setup_solver(A)
            self.setup_seconds = time.perf_counter() - t0
            if self.linear_solver == "amg":
                self.amg_info = amg_summary(self._M)

    return BenchSolver


def amg_summary(M) -> dict[str, Any]:
    return {
        "levels": len(M.level_sizes),
        "level_sizes": M.level_sizes,
        "operator_complexity": round(M.operator_complexity, 3),
        "grid_complexity": round(M.grid_complexity, 3),
        "coarse_size": M.level_sizes[-1],
    }


# --------------------------------------------------------------------------- workers
def worker_fe(a: argparse.Namespace) -> dict[str, Any]:
    from scalebridge.cell.assembly import assemble_stiffness
    from scalebridge.cell.cg import CGSettings
    from scalebridge.cell.problem import KUBC, SUBC, Periodic

    load0 = loadavg()
    n = a.n
    labels = labels_for(n)
    spacing = np.ones(3) / n
    tensors = [iso_mandel(E_MATRIX), iso_mandel(E_INCL)]
    t0 = time.perf_counter()
    K = assemble_stiffness(labels, spacing, tensors, "elasticity")
    t_asm = time.perf_counter() - t0
    del K
    bc = {"kubc": KUBC(), "subc": SUBC(), "pbc": Periodic()}[a.bc]
    cls = make_solver_class(a.variant)
    # untimed warm-up at 6^3 (same bc/solver/variant): numba cache loads, first-call costs
    tw = time.perf_counter()
    w = cls(
        labels_for(6),
        np.ones(3) / 6,
        tensors,
        "elasticity",
        bc,
        CGSettings(tol=TOL, max_iter=MAX_ITER),
        linear_solver=a.solver,
    )
    (w.solve_stress if a.bc == "subc" else w.solve_strain)(unit(0), keep_fields=False)
    t_warm = time.perf_counter() - tw
    del w
    t0 = time.perf_counter()
    s = cls(
        labels,
        spacing,
        tensors,
        "elasticity",
        bc,
        CGSettings(tol=TOL, max_iter=MAX_ITER),
        linear_solver=a.solver,
    )
    t_ctor = time.perf_counter() - t0
    iters, times = [], []
    cols = np.empty((6, 6))
    for k in range(6):
        t1 = time.perf_counter()
        if a.bc == "subc":
            sol = s.solve_stress(unit(k), keep_fields=False)
            cols[:, k] = sol.average_strain
        else:
            sol = s.solve_strain(unit(k), keep_fields=False)
            cols[:, k] = sol.average_stress
        times.append(time.perf_counter() - t1)
        iters.append(int(sol.iterations))
    C = np.linalg.inv(cols) if a.bc == "subc" else cols
    C = 0.5 * (C + C.T)
    return {
        "kind": "fe",
        "n": n,
        "bc": a.bc,
        "solver": a.solver,
        "variant": a.variant if a.solver == "amg" else None,
        "unknowns": int(s.ndof),
        "nnz": int(s.nnz),
        "nnz_K": int(s.K.nnz),
        "warmup_s": t_warm,
        "assembly_s": t_asm,
        "constructor_s": t_ctor,
        "setup_s": s.setup_seconds,
        "constraints_and_TKT_s": t_ctor - s.setup_seconds - t_asm,
        "solve_s_per_load": times,
        "solve_6_s": float(sum(times)),
        "total_6_loads_s": float(t_ctor + sum(times)),
        "iterations": iters,
        "amg": getattr(s, "amg_info", {}),
        "C11": float(C[0, 0]),
        "C12": float(C[0, 1]),
        "C44": float(C[3, 3] / 2.0),
        "C_mandel": C.tolist(),
        "peak_rss_bytes": maxrss_bytes(),
        "inclusion_fraction": float(labels.mean()),
        "loadavg_start": load0,
        "loadavg_end": loadavg(),
    }


def worker_fft(a: argparse.Namespace) -> dict[str, Any]:
    from scalebridge.cell.cg import CGSettings
    from scalebridge.cell.periodic import PeriodicSolver

    load0 = loadavg()
    n = a.n
    labels = labels_for(n)
    tensors = [iso_mandel(E_MATRIX), iso_mandel(E_INCL)]
    t0 = time.perf_counter()
    s = PeriodicSolver(
        labels, np.ones(3) / n, tensors, "elasticity", CGSettings(tol=TOL, max_iter=MAX_ITER)
    )
    t_setup = time.perf_counter() - t0
    C = np.empty((6, 6))
    iters, times = [], []
    for k in range(6):
        t1 = time.perf_counter()
        sol = s.solve_strain(unit(k), keep_fields=False)
        times.append(time.perf_counter() - t1)
        iters.append(int(sol.iterations))
        C[:, k] = sol.average_stress
    C = 0.5 * (C + C.T)
    return {
        "kind": "fft",
        "n": n,
        "bc": "pbc",
        "solver": "fft-cg",
        "variant": None,
        "unknowns": 3 * n**3,
        "setup_s": t_setup,
        "solve_s_per_load": times,
        "solve_6_s": float(sum(times)),
        "total_6_loads_s": float(t_setup + sum(times)),
        "iterations": iters,
        "C11": float(C[0, 0]),
        "C12": float(C[0, 1]),
        "C44": float(C[3, 3] / 2.0),
        "C_mandel": C.tolist(),
        "peak_rss_bytes": maxrss_bytes(),
        "loadavg_start": load0,
        "loadavg_end": loadavg(),
    }


def worker_warmup(_: argparse.Namespace) -> dict[str, Any]:
    ns = argparse.Namespace(n=8, bc="pbc", solver="amg", variant="src")
    t0 = time.perf_counter()
    worker_fe(ns)
    worker_fft(ns)
    return {"kind": "warmup", "seconds": time.perf_counter() - t0}


WORKERS = {"fe": worker_fe, "fft": worker_fft, "warmup": worker_warmup}


# --------------------------------------------------------------------------- parent
def run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"timeout after {timeout:.0f} s", "args": args, "loadavg_end": loadavg()}
    if p.returncode != 0:
        return {
            "skipped": f"exit {p.returncode}: {p.stderr.strip()[-600:]}",
            "args": args,
            "loadavg_end": loadavg(),
        }
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_subprocess_s"] = time.perf_counter() - t0
    return out


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def fmt_row(r: dict[str, Any], fft: dict[str, Any] | None) -> str:
    if "skipped" in r:
        return f"| {' '.join(r['args'])} | skipped: {r['skipped'][:120]} |"
    g = f"{r['n']}^3"
    lin = r["solver"] + (f" ({r['variant']})" if r.get("variant") else "")
    rss = r["peak_rss_bytes"] / 2**30
    fftcol = (
        ""
        if fft is None or "skipped" in fft
        else (
            f"{fft['total_6_loads_s']:.1f} s / {','.join(map(str, fft['iterations']))} / "
            f"{fft['C11']:.4f}"
        )
    )
    la = f"{r['loadavg_start'][0]:.2f}-{r['loadavg_end'][0]:.2f}"
    if r["kind"] == "fft":
        return (
            f"| {g} | pbc | FFT-CG (Green) | {r['unknowns']:,} | - | - | {r['setup_s']:.2f} "
            f"| {r['total_6_loads_s']:.1f} | {','.join(map(str, r['iterations']))} | {rss:.2f} "
            f"| {r['C11']:.4f} | {r['C44']:.4f} | | {la} |"
        )
    return (
        f"| {g} | {r['bc']} | {lin} | {r['unknowns']:,} | {r['nnz']:,} | {r['assembly_s']:.2f} "
        f"| {r['setup_s']:.2f} | {r['total_6_loads_s']:.1f} | {','.join(map(str, r['iterations']))} "
        f"| {rss:.2f} | {r['C11']:.4f} | {r['C44']:.4f} | {fftcol} | {la} |"
    )


HEADER = (
    "| grid | bc | linear solver | unknowns | nnz | assembly s | set-up s | total 6 loads s "
    "| iterations | peak RSS GiB | C11 | C44 | FFT: total s / its / C11 | load avg |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 96])
    ap.add_argument("--quick", action="store_true", help="16^3 only")
    ap.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS),
        help="AMG variants at the smallest size; larger sizes run --big-variants",
    )
    ap.add_argument("--big-variants", nargs="+", default=["src"])
    ap.add_argument("--direct-max", type=int, default=32, help="largest grid for SuperLU")
    ap.add_argument("--timeout", type=float, default=600.0, help="per case, seconds")
    ap.add_argument("--direct-timeout", type=float, default=60.0, help="per direct case, s")
    ap.add_argument(
        "--direct-bcs",
        nargs="+",
        default=["kubc"],
        help="bcs for SuperLU (3D fill-in: 16^3 SUBC/PBC already take 70-100 s)",
    )
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--worker", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.worker:
        wa = argparse.Namespace(
            n=int(a.worker[1]) if len(a.worker) > 1 else 8,
            bc=a.worker[2] if len(a.worker) > 2 else "pbc",
            solver=a.worker[3] if len(a.worker) > 3 else "amg",
            variant=a.worker[4] if len(a.worker) > 4 else "src",
        )
        print(json.dumps(WORKERS[a.worker[0]](wa)))
        return
    sizes = [16] if a.quick else sorted(a.sizes)
    date = _dt.date.today().isoformat()
    out = a.out or RESULTS / f"bc_{date}.json"
    import numpy
    import pyamg
    import scipy

    doc: dict[str, Any] = {
        "benchmark": "bench_bc.py",
        "date": date,
        "case": {
            "physics": "elasticity",
            "microstructure": "random_inclusions",
            "vf": VOLUME_FRACTION,
            "radius": RADIUS,
            "seed": SEED,
            "E": [E_MATRIX, E_INCL],
            "nu": NU,
            "tol": TOL,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "pyamg": pyamg.__version__,
        },
        "rows": [],
    }
    doc["warmup"] = run_worker(["warmup"], a.timeout)
    print("warm-up:", doc["warmup"], flush=True)

    def add(r: dict[str, Any], fft: dict[str, Any] | None = None) -> dict[str, Any]:
        doc["rows"].append(r)
        write_json(out, doc)
        print(fmt_row(r, fft), flush=True)
        return r

    print(HEADER, flush=True)
    big_ok = True
    for i, n in enumerate(sizes):
        if n > TARGET_N and not big_ok:
            doc["rows"].append({"skipped": f"{n}^3: 64^3 took >= 3 minutes", "args": [str(n)]})
            write_json(out, doc)
            print(f"| {n}^3 | skipped: a 64^3 case took >= 3 minutes |", flush=True)
            continue
        fft = add(run_worker(["fft", str(n)], a.timeout))
        variants = a.variants if i == 0 else a.big_variants
        for v in variants:
            for bc in BCS:
                r = add(
                    run_worker(["fe", str(n), bc, "amg", v], a.timeout),
                    fft if bc == "pbc" else None,
                )
                if n == TARGET_N and v == "src" and ("skipped" in r or r["total_6_loads_s"] >= 180):
                    big_ok = False
        if n <= a.direct_max:
            for bc in a.direct_bcs:
                add(
                    run_worker(["fe", str(n), bc, "direct", "src"], a.direct_timeout),
                    fft if bc == "pbc" else None,
                )
    doc["finished"] = True
    write_json(out, doc)
    print("wrote", out)


if __name__ == "__main__":
    main()
