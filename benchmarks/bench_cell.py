#!/usr/bin/env python
"""Benchmark of the periodic cell solver (`scalebridge.cell.periodic.PeriodicSolver`).

Case: 3D elasticity, centred sphere of volume fraction 0.2 in the unit cube, Poisson 0.3
in both phases, matrix E = 1, inclusion E = contrast (contrast 0 is a pore: a zero 6x6
tensor), CG tolerance 1e-6, the six unit Mandel load cases (the full 6x6 effective
tensor).  The low-level solver is used directly.

Every measurement runs in a fresh subprocess of this script (``--worker ...``) so that
the peak resident memory (``ru_maxrss``) of one case does not mix with another's.  The
parent collects the results, prints a table and writes
``benchmarks/results/cell_<date>.json`` (atomically, after every case, so an
interrupted run keeps what it measured).

Usage::

    python benchmarks/bench_cell.py                       # 64^3 and 128^3, contrasts 10 1000 0
    python benchmarks/bench_cell.py --sizes 64 128 256    # 256^3 runs contrast 10 only
    python benchmarks/bench_cell.py --quick               # 32^3 only, < 1 minute

See benchmarks/README.md and docs/benchmarks.md.
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
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
VOLUME_FRACTION = 0.2
NU = 0.3
TOL = 1e-6
MAX_ITER = 2000
WARMUP_N = 16
BIG_GRID = 256  # grids >= this run only contrast 10 unless --all-contrasts-big


# --------------------------------------------------------------------------- helpers
def maxrss_bytes() -> int:
    """Peak resident set size of this process (Linux reports KiB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kb) * (1 if sys.platform == "darwin" else 1024)


def iso_mandel(E: float, nu: float = NU) -> np.ndarray:
    """Isotropic Mandel stiffness ``lambda (1 1 1 block) + 2 mu I6`` (zero for E = 0)."""
    lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
    mu = E / (2.0 * (1.0 + nu))
    C = np.zeros((6, 6))
    C[:3, :3] = lam
    C += 2.0 * mu * np.eye(6)
    return C


def lame(E: float, nu: float = NU) -> tuple[float, float]:
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


def sphere_labels(n: int, fraction: float = VOLUME_FRACTION) -> np.ndarray:
    """int32 (n,n,n): 1 where the voxel centre lies inside the centred sphere, else 0."""
    r = (3.0 * fraction / (4.0 * np.pi)) ** (1.0 / 3.0)
    x = (np.arange(n) + 0.5) / n - 0.5
    x2 = x * x
    d2 = x2[:, None, None] + x2[None, :, None] + x2[None, None, :]
    return (d2 < r * r).astype(np.int32)


def make_solver(n: int, contrast: float, precond: str, tol: float = TOL, max_iter: int = MAX_ITER):
    from scalebridge.cell.cg import CGSettings
    from scalebridge.cell.periodic import PeriodicSolver

    labels = sphere_labels(n)
    tensors = [iso_mandel(1.0), iso_mandel(float(contrast))]
    solver = PeriodicSolver(
        labels,
        np.ones(3) / n,
        tensors,
        "elasticity",
        CGSettings(tol=tol, max_iter=max_iter),
        preconditioner=precond,
    )
    return solver, labels


def unit(k: int, m: int = 6) -> np.ndarray:
    e = np.zeros(m)
    e[k] = 1.0
    return e


def warmup(preconds: tuple[str, ...] = ("green",)) -> float:
    """Small solves (numba compile or cache load); seconds."""
    t0 = time.perf_counter()
    for precond in preconds:
        for contrast in (10.0,):
            s, _ = make_solver(WARMUP_N, contrast, precond)
            s.solve_strain(unit(0), keep_fields=False)
            u = np.zeros(s.op.field_shape)
            out = np.empty_like(u)
            s.op.apply(u, out)
            s.precondition(out)
    return time.perf_counter() - t0


def time_repeat(fn, repeat: int = 10, warm: int = 2) -> dict[str, float]:
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return {"mean_s": float(np.mean(ts)), "min_s": float(np.min(ts)), "repeat": repeat}


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- workers
def worker_idle(_: argparse.Namespace) -> dict[str, Any]:
    """RSS of an interpreter that imported scalebridge and compiled the kernels."""
    import scalebridge
    import scalebridge.cell.periodic  # noqa: F401

    w = warmup()
    return {"kind": "idle", "warmup_s": w, "peak_rss_bytes": maxrss_bytes()}


def worker_compile(_: argparse.Namespace) -> dict[str, Any]:
    """Cold numba compile (run with NUMBA_CACHE_DIR pointing at an empty folder)."""
    t0 = time.perf_counter()
    import scalebridge.cell.periodic  # noqa: F401

    t_import = time.perf_counter() - t0
    first = warmup()
    second = warmup()
    return {
        "kind": "compile",
        "import_s": t_import,
        "first_warmup_s": first,
        "second_warmup_s": second,
        "compile_s": first - second,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
    }


def worker_case(a: argparse.Namespace) -> dict[str, Any]:
    import scalebridge.cell.periodic  # noqa: F401

    load0 = os.getloadavg()
    w = warmup((a.precond,))
    rss_after_warmup = maxrss_bytes()
    n, contrast, precond = a.n, a.contrast, a.precond

    t0 = time.perf_counter()
    labels = sphere_labels(n)
    t_labels = time.perf_counter() - t0
    from scalebridge.cell.cg import CGSettings
    from scalebridge.cell.periodic import PeriodicSolver

    tensors = [iso_mandel(1.0), iso_mandel(float(contrast))]
    t0 = time.perf_counter()
    solver = PeriodicSolver(
        labels,
        np.ones(3) / n,
        tensors,
        "elasticity",
        CGSettings(tol=TOL, max_iter=MAX_ITER),
        preconditioner=precond,
    )
    t_setup = time.perf_counter() - t0
    rss_after_setup = maxrss_bytes()

    iters: list[int] = []
    solve_s: list[float] = []
    loop_s: list[float] = []  # CG loop only: first to last callback
    ceff = np.zeros((6, 6))
    status = "ok"
    error = None
    t_all = time.perf_counter()
    for k in range(6):
        stamps: list[float] = []
        t0 = time.perf_counter()
        try:
            sol = solver.solve_strain(
                unit(k),
                keep_fields=False,
                callback=lambda it, rel, st=stamps: st.append(time.perf_counter()),
            )
        except Exception as exc:  # ConvergenceError etc.: report, do not hide
            status = "failed"
            error = f"load {k}: {type(exc).__name__}: {exc}"
            break
        solve_s.append(time.perf_counter() - t0)
        iters.append(int(sol.iterations))
        if len(stamps) >= 2:
            loop_s.append((stamps[-1] - stamps[0]) / (len(stamps) - 1))
        ceff[:, k] = sol.average_stress
    t_all = time.perf_counter() - t_all
    rss_after_solve = maxrss_bytes()

    # ---- breakdown of one iteration (after the solves, so the peak above is unaffected)
    fft = solver.precondition.fft
    rng = np.random.default_rng(0)
    fft.real[...] = rng.standard_normal(fft.real.shape)

    def fwd_bwd() -> None:
        fft.forward()
        fft.backward()

    t_fft = time_repeat(fwd_bwd)
    t_fwd = time_repeat(fft.forward)
    t_bwd = time_repeat(fft.backward)
    u = rng.standard_normal(solver.op.field_shape)
    out = np.empty_like(u)
    t_apply = time_repeat(lambda: solver.op.apply(u, out))
    t_prec = time_repeat(lambda: solver.precondition(out))
    from scalebridge.cell.cg import _direction, _step, dot

    p, q, x = u, out, np.zeros_like(u)
    r = rng.standard_normal(u.shape)

    def vec_ops() -> None:  # what one CG iteration adds: 2 dots, step, direction
        dot(p, q)
        _step(x, r, p, q, 1e-12)
        dot(r, q)
        _direction(p, q, 0.5)

    t_vec = time_repeat(vec_ops)

    total_it = int(sum(iters))
    per_iter_wall = t_all / total_it if total_it else None
    per_iter_loop = float(np.mean(loop_s)) if loop_s else None
    idle = a.idle_rss
    peak = rss_after_solve
    base = rss_after_warmup  # same process, kernels loaded: the idle baseline
    sym = float(np.abs(ceff - ceff.T).max() / max(np.abs(ceff).max(), 1e-300))
    return {
        "kind": "case",
        "grid": n,
        "voxels": n**3,
        "contrast": contrast,
        "preconditioner": precond,
        "status": status,
        "error": error,
        "volume_fraction": float(labels.mean()),
        "fft_backend": fft.backend,
        "fft_threads": fft.threads,
        "loadavg_at_start": load0,
        "warmup_s": w,
        "labels_s": t_labels,
        "setup_s": t_setup,
        "solve_all_s": t_all,
        "solve_s": solve_s,
        "iterations": iters,
        "iterations_total": total_it,
        "time_per_iter_s": per_iter_wall,
        "time_per_iter_loop_s": per_iter_loop,
        "fft_fwd_bwd_s": t_fft["mean_s"],
        "fft_fwd_bwd_min_s": t_fft["min_s"],
        "fft_forward_s": t_fwd["mean_s"],
        "fft_backward_s": t_bwd["mean_s"],
        "op_apply_s": t_apply["mean_s"],
        "precondition_s": t_prec["mean_s"],
        "cg_vector_ops_s": t_vec["mean_s"],
        "iter_over_fft": (per_iter_wall / t_fft["mean_s"]) if per_iter_wall else None,
        "loop_iter_over_fft": (per_iter_loop / t_fft["mean_s"]) if per_iter_loop else None,
        "rss_after_warmup_bytes": rss_after_warmup,
        "rss_after_setup_bytes": rss_after_setup,
        "peak_rss_bytes": peak,
        "idle_rss_bytes": idle,
        "bytes_per_voxel": (peak - base) / n**3,
        "bytes_per_voxel_vs_idle_subprocess": (peak - idle) / n**3 if idle else None,
        "C_eff": ceff.tolist(),
        "C_eff_asymmetry": sym,
    }


def worker_basic(a: argparse.Namespace) -> dict[str, Any]:
    """Fixed-point (Moulinec-Suquet-like) iteration x <- x + P(b - K x), omega = 1.

    Same operator K and Green preconditioner P, but P's reference medium is the
    arithmetic mean of the two phases' (lambda, mu), for which omega = 1 is the basic
    scheme (spectrum of P K inside (0, 2)).  One load case (unit E_11).  The CG count
    for the same load (default geometric-mean reference) is reported alongside.
    """
    from scalebridge.cell.cg import dot

    warmup()
    n, contrast = a.n, a.contrast
    solver, _ = make_solver(n, contrast, "green")
    E = unit(0)
    t0 = time.perf_counter()
    cg = solver.solve_strain(E, keep_fields=False)
    t_cg = time.perf_counter() - t0

    lam1, mu1 = lame(1.0)
    lam2, mu2 = lame(float(contrast))
    lam0, mu0 = 0.5 * (lam1 + lam2), 0.5 * (mu1 + mu2)
    basic, _ = make_solver(n, contrast, "green")
    basic.precondition.reference = (lam0, mu0)
    op, P = basic.op, basic.precondition
    Efull = op.macro_gradient(E)
    b = np.empty(op.field_shape)
    op.apply(np.zeros(op.field_shape), b, Efull)
    np.negative(b, out=b)
    bnorm = np.sqrt(dot(b, b))
    x = np.zeros_like(b)
    r = b.copy()
    Kx = np.empty_like(b)
    rel = 1.0
    it = 0
    t0 = time.perf_counter()
    history = [1.0]
    while it < a.basic_max_iter:
        x += P(r)
        op.apply(x, Kx)
        np.subtract(b, Kx, out=r)
        it += 1
        rel = float(np.sqrt(dot(r, r)) / bnorm)
        if it % 50 == 0 or rel < TOL:
            history.append(rel)
        if rel < TOL or not np.isfinite(rel):
            break
    t_basic = time.perf_counter() - t0
    fields = op.fields(x, Efull)
    s11 = float(fields.flux[0].mean())
    return {
        "kind": "basic",
        "grid": n,
        "contrast": contrast,
        "load": "E11",
        "reference_basic": [lam0, mu0],
        "reference_cg": list(solver.reference),
        "omega": 1.0,
        "basic_iterations": it,
        "basic_converged": bool(rel < TOL),
        "basic_final_residual": rel,
        "basic_time_s": t_basic,
        "basic_residual_every_50": history,
        "basic_C11": s11,
        "cg_iterations": int(cg.iterations),
        "cg_time_s": t_cg,
        "cg_C11": float(cg.average_stress[0]),
        "max_iter": a.basic_max_iter,
    }


def worker_fft(a: argparse.Namespace) -> dict[str, Any]:
    from scalebridge.cell.fft import HAVE_FFTW, RealFFT

    n = a.n
    out: dict[str, Any] = {"kind": "fft", "grid": n, "ncomp": 3}
    rng = np.random.default_rng(0)
    for backend in ("fftw", "scipy"):
        if backend == "fftw" and not HAVE_FFTW:
            out[backend] = None
            continue
        t0 = time.perf_counter()
        f = RealFFT(3, (n, n, n), backend=backend)
        plan = time.perf_counter() - t0
        f.real[...] = rng.standard_normal(f.real.shape)

        def fb(f: RealFFT = f) -> None:
            f.forward()
            f.backward()

        t = time_repeat(fb)
        out[backend] = {
            "threads": f.threads,
            "plan_s": plan,
            "fwd_bwd_3comp_s": t["mean_s"],
            "fwd_bwd_3comp_min_s": t["min_s"],
            "twelve_real_ffts_s": 2.0 * t["mean_s"],
        }
        del f
    return out


WORKERS = {
    "idle": worker_idle,
    "compile": worker_compile,
    "case": worker_case,
    "basic": worker_basic,
    "fft": worker_fft,
}


# --------------------------------------------------------------------------- parent
NUMBA_CACHE = Path(tempfile.gettempdir()) / "scalebridge-bench-numba-cache"


def run_worker(
    args: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> dict[str, Any]:
    if env is None:
        env = dict(os.environ)
        env.setdefault("NUMBA_CACHE_DIR", str(NUMBA_CACHE))
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "args": args, "timeout_s": timeout}
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT ") :])
            res["subprocess_wall_s"] = wall
            return res
    return {
        "status": "crashed",
        "args": args,
        "returncode": proc.returncode,
        "stderr_tail": proc.stderr[-3000:],
    }


def machine_info() -> dict[str, Any]:
    model = None
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) * 1024
    except OSError:
        pass
    versions: dict[str, str] = {}
    for mod in ("numpy", "scipy", "numba", "pyfftw", "scalebridge"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = "n/a"
    return {
        "cpu_model": model,
        "cores_available": len(os.sched_getaffinity(0)),
        "memory_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "numba_num_threads": os.environ.get("NUMBA_NUM_THREADS", "default (all cores)"),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def fmt(x: Any, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return format(x, spec)
    return str(x)


def case_rows(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    head = [
        "grid",
        "contrast",
        "precond",
        "setup s",
        "6 loads s",
        "iterations",
        "s/iter",
        "iter/FFT",
        "apply s",
        "precond s",
        "FFT f+b s",
        "peak RSS MB",
        "B/voxel",
        "C11",
        "load",
    ]
    rows = []
    for r in runs:
        if r.get("kind") != "case":
            rows.append(
                [fmt(r.get("args")), "", "", "", "", r.get("status", "?")] + [""] * (len(head) - 6)
            )
            continue
        its = ",".join(str(i) for i in r["iterations"])
        if r["status"] != "ok":
            its += f" FAILED ({r['error'][:40]})"
        rows.append(
            [
                f"{r['grid']}^3",
                fmt(r["contrast"], "g"),
                r["preconditioner"],
                fmt(r["setup_s"], ".2f"),
                fmt(r["solve_all_s"], ".2f"),
                its,
                fmt(r["time_per_iter_s"], ".4f"),
                fmt(r["iter_over_fft"], ".2f"),
                fmt(r["op_apply_s"], ".4f"),
                fmt(r["precondition_s"], ".4f"),
                fmt(r["fft_fwd_bwd_s"], ".4f"),
                fmt(r["peak_rss_bytes"] / 1e6, ".0f"),
                fmt(r["bytes_per_voxel"], ".0f"),
                fmt(r["C_eff"][0][0], ".4f"),
                fmt(r["loadavg_at_start"][0], ".1f"),
            ]
        )
    return head, rows


def print_table(title: str, head: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title)
        for h in head:
            t.add_column(h)
        for row in rows:
            t.add_row(*row)
        Console(width=220).print(t)
    except ImportError:
        print(title)
        w = [
            max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
        ]
        print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
        for row in rows:
            print("  ".join(c.ljust(w[i]) for i, c in enumerate(row)))


def report(data: dict[str, Any]) -> None:
    head, rows = case_rows(data["runs"])
    print_table("Periodic cell solver, sphere f=0.2, tol 1e-6, 6 load cases", head, rows)
    if data.get("basic"):
        rows = [
            [
                f"{b['grid']}^3",
                fmt(b["contrast"], "g"),
                str(b["cg_iterations"]),
                f"{b['basic_iterations']}{'' if b['basic_converged'] else ' (not converged, rel ' + format(b['basic_final_residual'], '.1e') + ')'}",
                fmt(b["basic_time_s"], ".1f"),
            ]
            if b.get("kind") == "basic"
            else [str(b.get("args")), "", "", b.get("status", "?"), ""]
            for b in data["basic"]
        ]
        print_table(
            "CG vs basic fixed-point scheme (load E11)",
            ["grid", "contrast", "CG its", "basic its", "basic s"],
            rows,
        )
    if data.get("fft"):
        rows = []
        for f in data["fft"]:
            for be in ("fftw", "scipy"):
                if f.get(be):
                    rows.append(
                        [
                            f"{f['grid']}^3",
                            be,
                            str(f[be]["threads"]),
                            fmt(f[be]["fwd_bwd_3comp_s"], ".4f"),
                            fmt(f[be]["twelve_real_ffts_s"], ".4f"),
                        ]
                    )
        print_table(
            "FFT backends (3 components)",
            ["grid", "backend", "threads", "fwd+bwd s", "12 FFTs s"],
            rows,
        )
    if data.get("compile"):
        c = data["compile"]
        if "compile_s" in c:
            print(
                f"numba cold compile: {c['compile_s']:.1f} s (first warm-up {c['first_warmup_s']:.1f} s, "
                f"cached {c['second_warmup_s']:.2f} s); idle RSS {data['idle'].get('peak_rss_bytes', 0) / 1e6:.0f} MB"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="*", default=[64, 128])
    ap.add_argument("--preconds", nargs="+", default=["green"], choices=["green", "green-jacobi"])
    ap.add_argument("--append", action="store_true", help="add to an existing output file")
    ap.add_argument(
        "--no-idle", action="store_true", help="skip the idle-interpreter RSS subprocess"
    )
    ap.add_argument("--contrasts", type=float, nargs="+", default=[10.0, 1000.0, 0.0])
    ap.add_argument(
        "--jacobi-sizes",
        type=int,
        nargs="*",
        default=[64],
        help="grids also run with preconditioner green-jacobi (default 64)",
    )
    ap.add_argument(
        "--basic-sizes",
        type=int,
        nargs="*",
        default=[64],
        help="grids of the basic-scheme comparison (default 64; empty to skip)",
    )
    ap.add_argument("--basic-max-iter", type=int, default=5000)
    ap.add_argument(
        "--fft-sizes",
        type=int,
        nargs="*",
        default=[128],
        help="grids of the FFT backend comparison (default 128; empty to skip)",
    )
    ap.add_argument(
        "--all-contrasts-big",
        action="store_true",
        help=f"also run contrasts other than 10 at grids >= {BIG_GRID}",
    )
    ap.add_argument(
        "--no-compile", action="store_true", help="skip the cold numba compile measurement"
    )
    ap.add_argument("--quick", action="store_true", help="32^3 only (checks the script in < 1 min)")
    ap.add_argument("--output", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=None, help="per-subprocess limit, seconds")
    # worker mode (internal)
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--contrast", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--precond", default="green", help=argparse.SUPPRESS)
    ap.add_argument("--idle-rss", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker:
        emit(WORKERS[a.worker](a))
        return 0

    if a.quick:
        a.sizes, a.jacobi_sizes, a.basic_sizes, a.fft_sizes = [32], [32], [32], [32]
        a.basic_max_iter = min(a.basic_max_iter, 1000)
    date = _dt.date.today().isoformat()
    out = a.output or RESULTS / (f"cell_{date}{'_quick' if a.quick else ''}.json")
    data: dict[str, Any] = {
        "benchmark": "periodic cell solver, 3D elasticity, centred sphere",
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(
            [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]
        ),
        "settings": {
            "volume_fraction": VOLUME_FRACTION,
            "poisson": NU,
            "tol": TOL,
            "max_iter": MAX_ITER,
            "matrix_E": 1.0,
            "load_cases": "6 unit Mandel strains",
        },
        "machine": machine_info(),
        "compile": None,
        "idle": None,
        "runs": [],
        "basic": [],
        "fft": [],
    }

    if a.append and out.exists():
        old = json.loads(out.read_text())
        for key in ("runs", "basic", "fft"):
            data[key] = old.get(key, []) + data[key]
        data["compile"], data["idle"] = old.get("compile"), old.get("idle")
        data["command"] = old.get("command", "") + " ; " + data["command"]

    def save() -> None:
        write_json(out, data)

    if not a.no_compile:
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            print("measuring cold numba compile ...", flush=True)
            data["compile"] = run_worker(["--worker", "compile"], env=env, timeout=a.timeout)
    if not a.no_idle or not data["idle"]:
        data["idle"] = run_worker(["--worker", "idle"], timeout=a.timeout)
    idle = int(data["idle"].get("peak_rss_bytes", 0))
    save()

    plan: list[tuple[int, float, str]] = []
    for n in sorted(a.sizes):
        for c in a.contrasts:
            if n >= BIG_GRID and c != 10.0 and not a.all_contrasts_big:
                continue
            for pre in a.preconds:
                plan.append((n, c, pre))
            if n in a.jacobi_sizes and "green-jacobi" not in a.preconds:
                plan.append((n, c, "green-jacobi"))
    small = [p for p in plan if p[0] < 128]
    big = [p for p in plan if p[0] >= 128]

    def run_case(n: int, c: float, pre: str) -> None:
        print(f"case {n}^3 contrast {c:g} {pre} ...", flush=True)
        r = run_worker(
            [
                "--worker",
                "case",
                "--n",
                str(n),
                "--contrast",
                repr(c),
                "--precond",
                pre,
                "--idle-rss",
                str(idle),
            ],
            timeout=a.timeout,
        )
        data["runs"].append(r)
        save()
        if r.get("kind") == "case":
            print(
                f"  setup {r['setup_s']:.2f} s, 6 loads {r['solve_all_s']:.2f} s, its {r['iterations']}, "
                f"{r['time_per_iter_s'] or 0:.4f} s/it, peak {r['peak_rss_bytes'] / 1e6:.0f} MB",
                flush=True,
            )
        else:
            print(f"  {r}", flush=True)

    for p in small:
        run_case(*p)
    for n in a.basic_sizes:
        for c in [c for c in a.contrasts if c > 0]:
            print(f"basic scheme {n}^3 contrast {c:g} ...", flush=True)
            data["basic"].append(
                run_worker(
                    [
                        "--worker",
                        "basic",
                        "--n",
                        str(n),
                        "--contrast",
                        repr(c),
                        "--basic-max-iter",
                        str(a.basic_max_iter),
                    ],
                    timeout=a.timeout,
                )
            )
            save()
    for n in a.fft_sizes:
        print(f"FFT backends {n}^3 ...", flush=True)
        data["fft"].append(run_worker(["--worker", "fft", "--n", str(n)], timeout=a.timeout))
        save()
    for p in big:  # the big cases last (machine shared with other test runs)
        run_case(*p)
    data["finished"] = _dt.datetime.now().isoformat(timespec="seconds")
    save()
    report(data)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
