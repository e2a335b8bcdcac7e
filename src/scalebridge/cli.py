"""The ``scalebridge`` command.

Conventions shared by every subcommand: an optional TOML config (a built-in default when
omitted), ``--output DIR`` for result files, ``--json`` to print only the JSON summary on
stdout, exit code ``0`` on success, ``2`` on bad input (one message on stderr, no
traceback) and ``1`` when the computation fails (e.g. the solver does not converge).
"""

from __future__ import annotations

import json
import warnings
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scalebridge.errors import ConvergenceError
from scalebridge.io.config import ConfigError, HomogenizeConfig, load_config
from scalebridge.io.problem import build_problem
from scalebridge.io.results import to_jsonable, write_json_atomic

__all__ = ["app"]

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_OUTPUT = Path("scalebridge-output")

app = typer.Typer(
    name="scalebridge",
    help="Computational homogenization and multiscale simulation of materials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version() -> str:
    try:
        return metadata.version("scalebridge")
    except metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
        return "unknown"


def _fail(code: int, message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (no traceback)."""
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"scalebridge {_version()}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Computational homogenization and multiscale simulation of materials."""


# --------------------------------------------------------------------------- display
def _fmt(x: Any) -> str:
    return f"{float(x):.6g}"


def _matrix_table(title: str, matrix: np.ndarray) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("")
    for j in range(matrix.shape[1]):
        table.add_column(str(j + 1), justify="right")
    for i, row in enumerate(matrix):
        table.add_row(str(i + 1), *(_fmt(v) for v in row))
    return table


def _print_header(console: Console, source: str, config: HomogenizeConfig, ms: Any) -> None:
    spec = config.microstructure
    what = spec.file if spec.generator == "file" else spec.generator  # type: ignore[union-attr]
    console.print(f"[bold]scalebridge homogenize[/] {_version()}  —  config: {escape(source)}")
    console.print(
        f"microstructure: {what}, shape {ms.shape}, size {tuple(ms.size)}, "
        f"{ms.ndim}D; solver: {config.solver.method} / {config.solver.discretization}, "
        f"bc {config.solver.bc}, tol {config.solver.tol:g}"
    )
    table = Table(title="Phases", header_style="bold")
    for col in ("label", "law", "parameters", "volume fraction"):
        table.add_column(col, justify="right" if col == "volume fraction" else "left")
    fractions = ms.volume_fractions()
    for label, phase in sorted(config.phases.items()):
        params = ", ".join(f"{k}={v}" for k, v in phase.parameters().items())
        frac = fractions.get(label)
        shown = "absent" if frac is None else _fmt(frac)
        table.add_row(str(label), phase.law, escape(params), shown)
    console.print(table)


def _print_result(console: Console, summary: dict[str, Any], res: Any) -> None:
    notation = "Mandel" if res.physics == "elasticity" else "matrix"
    console.print(_matrix_table(f"Effective tensor ({notation})", np.asarray(res.tensor)))
    constants = summary.get("engineering_constants") or {}
    if constants:
        table = Table(title="Engineering constants", header_style="bold")
        table.add_column("name")
        table.add_column("value", justify="right")
        for name, value in constants.items():
            if np.ndim(value) == 0:
                shown = _fmt(value)
            else:
                shown = "[" + ", ".join(_fmt(v) for v in np.ravel(value)) + "]"
            table.add_row(name, shown)
        console.print(table)
    bounds = res.bounds
    table = Table(title="Bounds (diagonal entries)", header_style="bold")
    for col in ("entry", "Reuss", "effective", "Voigt"):
        table.add_column(col, justify="right")
    reuss, voigt, tensor = (np.asarray(a) for a in (bounds.reuss, bounds.voigt, res.tensor))
    for i in range(tensor.shape[0]):
        table.add_row(f"{i + 1}{i + 1}", _fmt(reuss[i, i]), _fmt(tensor[i, i]), _fmt(voigt[i, i]))
    console.print(table)
    hs = bounds.hashin_shtrikman
    if hs:
        intervals = ", ".join(f"{k} in [{_fmt(lo)}, {_fmt(hi)}]" for k, (lo, hi) in hs.items())
        console.print(f"Hashin–Shtrikman: {intervals}")
    inside = summary.get("bounds", {}).get("inside") or {}
    verdict = ", ".join(
        f"{k}: {'inside' if v else ('OUTSIDE' if v is False else 'n/a')}" for k, v in inside.items()
    )
    if verdict:
        console.print(f"Bounds check: {verdict}")
    console.print(
        f"Hill–Mandel residual {res.hill_mandel_residual:.3e}, symmetry error "
        f"{res.symmetry_error:.3e}, iterations per load case {list(res.iterations)}, "
        f"wall time {res.wall_time:.2f} s"
    )


def _print_apparent(console: Console, summary: dict[str, Any], app_res: Any) -> None:
    """The apparent tensors side by side, the ordering checks, Hill–Mandel and spread."""
    results = app_res.results
    first = next(iter(results.values()))
    notation = "Mandel" if first.physics == "elasticity" else "matrix"
    for bc, res in results.items():
        console.print(_matrix_table(f"Apparent tensor, bc {bc} ({notation})", res.tensor))
    table = Table(title="Diagonal entries, Reuss ≤ SUBC ≤ PBC ≤ KUBC ≤ Voigt", header_style="bold")
    table.add_column("entry", justify="right")
    columns = [("Reuss", first.bounds.reuss)]
    columns += [(bc, res.tensor) for bc, res in results.items()]
    columns += [("Voigt", first.bounds.voigt)]
    for name, _ in columns:
        table.add_column(name, justify="right")
    for i in range(first.tensor.shape[0]):
        table.add_row(f"{i + 1}{i + 1}", *(_fmt(np.asarray(m)[i, i]) for _, m in columns))
    console.print(table)
    checks = ", ".join(f"{k}: {'ok' if v else 'VIOLATED'}" for k, v in app_res.ordering.items())
    console.print(f"Ordering (quadratic forms): {checks}")
    hm = ", ".join(f"{bc} {r:.3e}" for bc, r in app_res.hill_mandel.items())
    console.print(f"Hill–Mandel residuals: {hm}")
    if app_res.spread is not None:
        console.print(
            f"Spread |C_KUBC − C_SUBC| / |C_PBC| = {app_res.spread:.4g} "
            "(small when the cell is representative)"
        )
    iters = ", ".join(f"{bc} {list(r.iterations)}" for bc, r in results.items())
    console.print(f"Iterations per load case: {iters}; wall time {summary['wall_time_s']:.2f} s")


# --------------------------------------------------------------------------- outputs
def _write_outputs(output: Path, ms: Any, res: Any, summary: dict[str, Any]) -> dict[str, str]:
    """Write ``result.json``, and ``fields.png`` + ``microstructure.vti`` when fields exist.

    For ``bc = "all"`` (an `ApparentResult`) the fields are those of the periodic result.
    """
    from scalebridge.io.plots import plot_microstructure_and_field

    files = {"summary": str(output / "result.json")}
    if hasattr(res, "results"):  # apparent tensors: the fields of the periodic result
        res = res.results.get("periodic", res.results[next(iter(res.results))])
    if res.solutions:
        sol = res.solutions[0]
        stress, strain = np.asarray(sol.stress), np.asarray(sol.strain)
        if res.physics == "elasticity":
            names = ("strain_case1", "stress_case1")
            title = "stress σ₁₁ under unit macro strain ε₁₁"
        else:
            names = ("gradient_case1", "flux_case1")
            title = "flux q₁ under unit macro gradient along x"
        plot_microstructure_and_field(ms, stress[0], title, output / "fields.png")
        ms.to_vti(output / "microstructure.vti", fields={names[0]: strain, names[1]: stress})
        files["figure"] = str(output / "fields.png")
        files["vtk"] = str(output / "microstructure.vti")
    summary["files"] = files
    write_json_atomic(output / "result.json", summary)
    return files


def _solve(
    ms: Any,
    laws: dict[int, Any],
    kwargs: dict[str, Any],
    console: Console | None,
    keep_fields: bool,
) -> tuple[Any, list[str]]:
    """Run `homogenize`, or `apparent_tensors` when ``bc == "all"`` (fields: periodic)."""
    from scalebridge.homogenization import apparent_tensors
    from scalebridge.homogenization import homogenize as run_homogenize

    def run(progress: Any = None) -> Any:
        if kwargs["bc"] == "all":
            rest = {k: v for k, v in kwargs.items() if k not in ("bc", "solver")}
            return apparent_tensors(
                ms,
                laws,
                solver=kwargs["solver"],
                keep_fields=("periodic",) if keep_fields else False,
                progress=progress,
                **rest,
            )
        return run_homogenize(ms, laws, keep_fields=keep_fields, progress=progress, **kwargs)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if console is None:
            res = run()
        else:
            columns = (
                TextColumn("solving load cases"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("solve", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                res = run(progress)
    return res, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


_SOLVER_FIELDS = {
    "bc": "bc",
    "solver": "method",
    "discretization": "discretization",
    "tol": "tol",
    "max_iter": "max_iter",
}


def _solver_field(message: str) -> str:
    """Name the config field of a library error about a solver argument (``bc: ...``)."""
    name, sep, rest = message.partition(": ")
    if sep and name in _SOLVER_FIELDS:
        return f"solver.{_SOLVER_FIELDS[name]}: {rest}"
    return message


@app.command()
def homogenize(
    config: Annotated[
        Path | None,
        typer.Argument(help="TOML config; the built-in fibre-composite example when omitted."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON summary on stdout.")
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for result.json, fields.png, .vti.")
    ] = DEFAULT_OUTPUT,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal output.")] = False,
    fields: Annotated[
        bool, typer.Option(help="Keep local fields for fields.png and microstructure.vti.")
    ] = True,
) -> None:
    """Effective conductivity or stiffness tensor of a microstructure, with its checks.

    Writes OUTPUT/result.json (tensor, engineering constants, bounds, checks, config echo),
    OUTPUT/fields.png and OUTPUT/microstructure.vti (local fields of the first load case).
    With solver.bc = "all" it computes the apparent tensors under SUBC, periodic and KUBC
    conditions, with their ordering checks (fields: the periodic result's).
    """
    source = str(config) if config is not None else "built-in default"
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    try:
        ms, laws, kwargs = build_problem(cfg)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, f"{source}: {exc}")
    console = None if (json_output or quiet) else Console(highlight=False)
    if console is not None:
        _print_header(console, source, cfg, ms)
    try:
        res, notes = _solve(ms, laws, kwargs, console, keep_fields=fields)
    except ConvergenceError as exc:
        limits = f"solver.max_iter = {cfg.solver.max_iter}, solver.tol = {cfg.solver.tol:g}"
        _fail(EXIT_FAILURE, f"the cell solver did not converge ({limits}): {exc}")
    except (ValueError, NotImplementedError) as exc:
        _fail(EXIT_BAD_INPUT, f"{source}: {_solver_field(str(exc))}")
    except MemoryError:
        _fail(
            EXIT_FAILURE, f"out of memory for shape {ms.shape}; try --no-fields or a coarser grid"
        )
    summary: dict[str, Any] = {
        "scalebridge_version": _version(),
        "config_source": source,
        **res.to_dict(),
        "warnings": notes,
        "config": cfg.model_dump(mode="json", exclude_none=True),
    }
    try:
        _write_outputs(output, ms, res, summary)
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"--output: cannot write to {output}: {exc}")
    if json_output:
        typer.echo(json.dumps(to_jsonable(summary), indent=2))
        return
    if console is not None:
        if cfg.solver.bc == "all":
            _print_apparent(console, summary, res)
        else:
            _print_result(console, summary, res)
        for note in notes:
            console.print(f"[yellow]warning:[/] {escape(note)}")
        written = ", ".join(Path(f).name for f in summary["files"].values())
        console.print(f"results written to {escape(str(output))}/ ({written})")


# --------------------------------------------------------------------------- rve-study
def _print_study(console: Console, study: Any, report: dict[str, Any]) -> None:
    q = report["quantity"]
    conf = round(100 * float(study.config.get("confidence", 0.95)))
    table = Table(
        title=f"Apparent {q}: mean ± {conf} % interval, {report['realizations']} "
        "realizations per size",
        header_style="bold",
    )
    table.add_column("edge", justify="right")
    table.add_column("voxels", justify="right")
    for bc in study.bcs:
        table.add_column(bc, justify="right")
    if "bias" in report:
        table.add_column("gap", justify="right")
    table.add_column(f"n for {100 * report['rel_error']:g} %", justify="right")
    res = float(study.config["resolution"])
    for i, s in enumerate(study.sizes):
        row = [f"{s:g}", f"{round(s * res)}^{study.ndim}"]
        for bc in study.bcs:
            m = report["summary"][bc][i]
            row.append(f"{m['mean']:.5g} ± {m['ci_high'] - m['mean']:.2g}")
        if "bias" in report:
            row.append(f"{report['bias'][i]:.3g}")
        needed = report.get("realizations_needed")
        row.append(str(needed[i]) if needed else "-")
        table.add_row(*row)
    console.print(table)
    if "bias" in report:
        console.print("gap = (KUBC − SUBC) / PBC; n = realizations for the tolerance (Kanit)")
    law = report.get("variance_law", {})
    if "alpha" in law:
        console.print(
            f"Variance law ({report['reference_bc']}): D²(V) = {law['amplitude']:.3g} V^-α, "
            f"α = {law['alpha']:.3f} ± {law['alpha_stderr']:.2g} (R² {law['r2']:.3f}); "
            "α = 1 for a finite integral range"
        )
        rs = report["rve_size"]
        console.print(
            f"RVE for {100 * rs['rel_error']:g} % at {conf} % with one realization: "
            f"edge {rs['edge']:.3g} (bootstrap {round(100 * rs['confidence'])} % interval "
            f"[{rs['edge_ci'][0]:.3g}, {rs['edge_ci'][1]:.3g}]), volume {rs['volume']:.4g}"
        )
    elif law:
        console.print(f"[yellow]variance law not fitted:[/] {escape(law['error'])}")
    if "bc_convergence_size" in report:
        b = report["bc_convergence_size"]
        where = f"edge {b:.3g}" if b is not None else "not within the sizes studied"
        console.print(
            f"Boundary conditions agree within {100 * report['rel_error']:g} % "
            f"((KUBC−SUBC)/PBC): {where}"
        )
    sve = report.get("sve_sizes")
    if sve is not None:
        shown = ", ".join(f"{s:g}" for s in sve) or "none"
        console.print(
            f"SVE: descriptors (volume fraction, S2) within {report['descriptor_tol']:g} of the "
            f"ensemble at edges: {shown}"
        )
    console.print(
        f"{report['solves']} solves ({report['resumed']} resumed, {report['failures']} failed) "
        f"in {report['wall_time_s']:.1f} s on {report['workers']} worker(s), "
        f"{escape(report['executor'])}"
    )


@app.command("rve-study")
def rve_study_command(
    config: Annotated[
        Path | None,
        typer.Argument(help="TOML config; the built-in 2D disk-composite study when omitted."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Folder for records, summary and figure."),
    ] = Path("scalebridge-rve"),
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted study in OUTPUT.")
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(help="serial | processes | threads | dask | tcp://host:port (config: run)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker count (default: cores).")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON summary on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal output.")] = False,
) -> None:
    """Representative volume of a random microstructure model, with confidence.

    Runs every (size, realization, boundary condition) solve in parallel, appending each
    to OUTPUT/records.jsonl as it finishes (--resume continues where it stopped), then
    writes OUTPUT/summary.json (means, intervals, bias between conditions, variance law,
    realizations needed, RVE size with bootstrap interval, SVE descriptor check) and
    OUTPUT/rve_study.png.
    """
    from scalebridge.io.rve_config import build_study, load_rve_config
    from scalebridge.rve.study import rve_study

    source = str(config) if config is not None else "built-in default"
    try:
        cfg = load_rve_config(config)
        model, materials = build_study(cfg)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    console = None if (json_output or quiet) else Console(highlight=False)
    st = cfg.study
    if console is not None:
        console.print(f"[bold]scalebridge rve-study[/] {_version()}  —  config: {escape(source)}")
        console.print(
            f"model: {escape(str(cfg.model))}; sizes {st.sizes} at {st.resolution:g} voxels per "
            f"unit, {st.realizations} realizations, bcs {st.bcs}"
        )
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"--output: cannot create {output}: {exc}")
    records = output / "records.jsonl"
    if records.exists() and not resume:
        _fail(
            EXIT_BAD_INPUT,
            f"--output: {records} exists; pass --resume to continue that study, or choose "
            "another --output folder",
        )
    try:
        study = rve_study(
            model,
            materials,
            st.sizes,
            st.realizations,
            resolution=st.resolution,
            bcs=st.bcs,
            seed=st.seed,
            tol=cfg.solver.tol,
            solver=cfg.solver.method,
            executor=executor or cfg.run.executor,
            max_workers=workers or cfg.run.workers,
            threads_per_task=cfg.run.threads_per_task,
            store=records,
            resume=resume,
            progress=console is not None,
            confidence=st.confidence,
            rel_error=st.rel_error,
            descriptor_tol=st.descriptor_tol,
        )
    except (ValueError, TypeError) as exc:
        _fail(EXIT_BAD_INPUT, f"{source}: {exc}")
    study.config["quantity"] = st.quantity
    report = study.report(st.quantity)
    summary = {
        "scalebridge_version": _version(),
        "config_source": source,
        **report,
        "failed_tasks": study.failures,
        "config": cfg.model_dump(mode="json", exclude_none=True),
        "files": {
            "records": str(records),
            "summary": str(output / "summary.json"),
            "figure": str(output / "rve_study.png"),
        },
    }
    write_json_atomic(output / "summary.json", summary)
    if study.records:
        study.plot(report["quantity"], output / "rve_study.png")
    if json_output:
        typer.echo(json.dumps(to_jsonable(summary), indent=2))
    elif console is not None:
        _print_study(console, study, report)
        for f in study.failures[:5]:
            console.print(
                f"[red]failed:[/] {escape(str(f.get('key')))}: {escape(str(f.get('error')))}"
            )
        console.print(
            f"results written to {escape(str(output))}/ "
            "(records.jsonl, summary.json, rve_study.png)"
        )
    if study.failures:
        raise typer.Exit(EXIT_FAILURE)


# --------------------------------------------------------------------------- asymptotic
_SHORT = {
    "L2(u_eps - u0)": "L2",
    "H1(u_eps - u0 - eps u1)": "H1",
    "H1 interior": "H1 int",
    "H1 boundary layer": "H1 2ε",
    "H1 with cut-off": "H1 cut",
    "L2 flux": "flux",
}


def _print_asymptotic(console: Console, study: Any, seconds: float) -> None:
    from scalebridge.asymptotic import NORMS

    a = study.correctors.a_hom
    table = Table(title=f"{study.coefficient.name}", header_style="bold")
    table.add_column("ε", justify="right")
    for n in NORMS:
        table.add_column(_SHORT[n], justify="right")
    for r in study.results:
        table.add_row(
            f"1/{round(1 / r.eps):d}" if abs(1 / r.eps - round(1 / r.eps)) < 1e-9 else f"{r.eps:g}",
            *(f"{r.errors[n]:.2e}".replace("e-0", "e-") for n in NORMS),
        )
    table.add_row("[bold]rate[/]", *(f"[bold]{study.rate(n):.2f}[/]" for n in NORMS))
    console.print(table)
    console.print(
        "L2 = ‖u_ε − u₀‖, H1 = |u_ε − u₀ − εu₁| over the domain, its interior, the strip "
        "of width 2ε along the boundary, with the cut-off corrector; flux = "
        "‖a∇u_ε − a(I+∇χ)∇u₀‖"
    )
    diag = ", ".join(_fmt(v) for v in np.diag(a))
    console.print(
        f"a_hom diagonal [{diag}] (cell: {study.correctors.method}); up to "
        f"{max(r.unknowns for r in study.results):,} unknowns per solve; {seconds:.1f} s. "
        "Expected rates: L2 1, H1 interior 1, H1 global and layer 1/2 (1 when the "
        "correctors are constant along the boundary, e.g. a separable a(y))"
    )


@app.command("asymptotic")
def asymptotic_command(
    config: Annotated[
        Path | None,
        typer.Argument(help="TOML config; the built-in 2D study when omitted."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for summary.json and figures.")
    ] = Path("scalebridge-asymptotic"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON summary on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal output.")] = False,
) -> None:
    """Two-scale expansion against fine-scale solves: errors and rates in ε.

    For every coefficient of the config and every ε: the direct fine-scale solve, the
    homogenized solution (correctors from the cell problems), the first-order
    reconstruction, and the L2/H1 errors over the domain, its interior and its boundary
    layer. Writes OUTPUT/summary.json, OUTPUT/rates.png (log-log, fitted slopes),
    OUTPUT/fields.png (u_ε, u₀ and the boundary layer) and OUTPUT/scale_separation.png.
    """
    import time

    from scalebridge.asymptotic import asymptotic_study, scale_separation
    from scalebridge.asymptotic.plots import plot_fields, plot_rates, plot_scale_separation
    from scalebridge.io.asymptotic_config import (
        coefficient_from_expression,
        load_asymptotic_config,
    )

    source = str(config) if config is not None else "built-in default"
    try:
        cfg = load_asymptotic_config(config)
        coefs = [
            coefficient_from_expression(c.expression, cfg.problem.ndim, c.name)
            for c in cfg.coefficient
        ]
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except ValueError as exc:
        _fail(EXIT_BAD_INPUT, f"{source}: coefficient.{exc}")
    console = None if (json_output or quiet) else Console(highlight=False)
    if console is not None:
        console.print(f"[bold]scalebridge asymptotic[/] {_version()}  —  config: {escape(source)}")
    st = cfg.study
    studies, times = [], []
    try:
        output.mkdir(parents=True, exist_ok=True)
        for i, coef in enumerate(coefs):
            t0 = time.perf_counter()
            study = asymptotic_study(
                coef,
                st.eps,
                f=cfg.problem.f,
                lower=cfg.problem.lower,
                upper=cfg.problem.upper,
                elements_per_period=st.elements_per_period,
                order=st.order,
                cell_resolution=st.cell_resolution,
                interior=st.interior,
                keep_fields=(i == 0),
            )
            times.append(time.perf_counter() - t0)
            studies.append(study)
            if console is not None:
                _print_asymptotic(console, study, times[-1])
        sep = None
        if st.scale_separation:
            sep = scale_separation(
                coefs[0], st.scale_separation, elements_per_period=st.elements_per_period
            )
            if console is not None:
                console.print(
                    "Scale separation (interior H1 error, refined period vs enlarged domain): "
                    + ", ".join(
                        f"1/{r}: {a:.4e} / {b:.4e}"
                        for r, a, b in zip(
                            sep["ratios"],
                            sep["refined_period"],
                            sep["enlarged_domain"],
                            strict=True,
                        )
                    )
                    + f"; max relative difference {sep['max_relative_difference']:.1e}"
                )
    except (ValueError, NotImplementedError) as exc:
        _fail(EXIT_BAD_INPUT, f"{source}: {exc}")
    except ConvergenceError as exc:
        _fail(EXIT_FAILURE, f"a solve did not converge: {exc}")
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"--output: cannot write to {output}: {exc}")
    plot_rates(studies, output / "rates.png")
    plot_fields(studies[0], studies[0].results[-1], output / "fields.png")
    files = {
        "summary": str(output / "summary.json"),
        "rates": str(output / "rates.png"),
        "fields": str(output / "fields.png"),
    }
    if sep is not None:
        plot_scale_separation(sep, output / "scale_separation.png")
        files["scale_separation"] = str(output / "scale_separation.png")
    summary = {
        "scalebridge_version": _version(),
        "config_source": source,
        "studies": [s.to_dict() for s in studies],
        "scale_separation": sep,
        "wall_time_s": sum(times),
        "files": files,
        "config": cfg.model_dump(mode="json", exclude_none=True),
    }
    write_json_atomic(output / "summary.json", summary)
    if json_output:
        typer.echo(json.dumps(to_jsonable(summary), indent=2))
    elif console is not None:
        names = ", ".join(Path(f).name for f in files.values())
        console.print(f"results written to {escape(str(output))}/ ({names})")


# --------------------------------------------------------------------------- multiscale
def _multiscale_config(config: Path | None) -> dict[str, Any]:
    from scalebridge.io.config import data_file, read_toml

    p = data_file("multiscale_default.toml") if config is None else config
    data = read_toml(p)
    method = data.get("method", "both")
    if method not in ("msfem", "hmm", "both"):
        raise ConfigError(f"method: got {method!r}; expected 'msfem', 'hmm' or 'both'", str(p))
    unknown = set(data) - {"method", "msfem", "hmm"}
    if unknown:
        raise ConfigError(f"unknown table(s) {sorted(unknown)}; allowed: method, [msfem], [hmm]")
    return data


@app.command("multiscale")
def multiscale_command(
    config: Annotated[
        Path | None, typer.Argument(help="TOML config; the built-in study when omitted.")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for summary.json and figures.")
    ] = Path("scalebridge-multiscale"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON summary on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal output.")] = False,
) -> None:
    """MsFEM resonance study and FE-HMM study against fine-scale solves.

    MsFEM: errors of every local-problem variant (linear, oscillatory, oversampling,
    periodic correctors) for a sweep of H/ε, offline and online times against the fine
    solve. FE-HMM: convergence in H against the homogenized solution, the error of the
    micro effective tensor against δ/ε (periodic and Dirichlet coupling), and one
    timing against the fine solve. Writes OUTPUT/summary.json, OUTPUT/msfem.png and
    OUTPUT/hmm.png.
    """
    import time

    source = str(config) if config is not None else "built-in default"
    try:
        data = _multiscale_config(config)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    console = None if (json_output or quiet) else Console(highlight=False)
    method = data.get("method", "both")
    summary: dict[str, Any] = {"scalebridge_version": _version(), "config_source": source}
    files: dict[str, str] = {"summary": str(output / "summary.json")}
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"--output: cannot create {output}: {exc}")
    t_all = time.perf_counter()
    try:
        if method in ("msfem", "both"):
            from scalebridge.coupling.msfem_study import (
                msfem_resonance_study,
                plot_resonance_study,
            )

            m = dict(data.get("msfem", {}))
            allowed = {
                "eps",
                "ratios",
                "variants",
                "oversampling",
                "fine_per_eps",
                "mode",
                "coarse",
            }
            if set(m) - allowed:
                raise ConfigError(
                    f"msfem: unknown key(s) {sorted(set(m) - allowed)}; allowed {sorted(allowed)}"
                )
            study = msfem_resonance_study(**m)
            plot_resonance_study(study, output / "msfem.png")
            files["msfem_figure"] = str(output / "msfem.png")
            summary["msfem"] = {
                "mode": study.mode,
                "eps": study.eps,
                "fine_cells": study.fine_cells,
                "fine_s": study.fine_time_s,
                "rows": [dataclasses_asdict(r) for r in study.rows],
            }
            if console is not None:
                where = (
                    f"H = 1/{study.coarse} fixed, ε varying"
                    if study.mode == "fixed-H"
                    else f"ε = {study.eps:g} fixed, H varying"
                )
                console.print(f"[bold]MsFEM[/] ({where}): relative H1 error")
                console.print(study.table("h1"))
                console.print(study.timing_table())
        if method in ("hmm", "both"):
            summary["hmm"] = _run_hmm(dict(data.get("hmm", {})), output, console)
            files["hmm_figure"] = str(output / "hmm.png")
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, f"{source}: {exc}")
    except (ValueError, TypeError) as exc:
        _fail(EXIT_BAD_INPUT, f"{source}: {exc}")
    except ConvergenceError as exc:
        _fail(EXIT_FAILURE, f"a solve did not converge: {exc}")
    summary["wall_time_s"] = time.perf_counter() - t_all
    summary["files"] = files
    write_json_atomic(output / "summary.json", summary)
    if json_output:
        typer.echo(json.dumps(to_jsonable(summary), indent=2))
    elif console is not None:
        names = ", ".join(Path(f).name for f in files.values())
        console.print(
            f"{summary['wall_time_s']:.1f} s; results written to {escape(str(output))}/ ({names})"
        )


def dataclasses_asdict(obj: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(obj)


def _run_hmm(h: dict[str, Any], output: Path, console: Console | None) -> dict[str, Any]:
    from scalebridge.asymptotic import cell_correctors
    from scalebridge.coupling.hmm import MultiscaleCoefficient
    from scalebridge.coupling.hmm_study import (
        compare_with_fine,
        convergence_in_h,
        plot_convergence,
        tensor_error_vs_delta,
    )
    from scalebridge.io.asymptotic_config import coefficient_from_expression

    allowed = {"cell", "eps", "macro", "delta_over_eps", "compare"}
    if set(h) - allowed:
        raise ConfigError(
            f"hmm: unknown key(s) {sorted(set(h) - allowed)}; allowed {sorted(allowed)}"
        )
    cell = coefficient_from_expression(
        h.get("cell", "1/((2 + 1.8*sin(2*pi*y1))*(2 + 1.8*sin(2*pi*y2)))"), 2, "cell"
    )
    eps = float(h.get("eps", 1 / 64))
    coef = MultiscaleCoefficient.periodic(cell, eps)
    a_hom = cell_correctors(cell, 128).a_hom
    conv = convergence_in_h(coef, list(h.get("macro", [2, 4, 8, 16])), a_hom)
    delta = tensor_error_vs_delta(
        coef, list(h.get("delta_over_eps", [1, 2, 4, 8])), a_hom, point=[0.37, 0.52]
    )
    cmp = compare_with_fine(coef, int(h.get("compare", 16)), a_hom=a_hom)
    plot_convergence(conv, delta, str(output / "hmm.png"))
    if console is not None:
        console.print(
            f"[bold]FE-HMM[/], ε = {eps:g}, a_hom diagonal {np.diag(a_hom).round(6).tolist()}"
        )
        table = Table(title="Convergence in H against u₀ (relative)", header_style="bold")
        for col in ("N", "L2", "H1", "micro s"):
            table.add_column(col, justify="right")
        for r in conv["rows"]:
            table.add_row(str(r["N"]), f"{r['l2']:.3e}", f"{r['h1']:.3e}", f"{r['micro_s']:.2f}")
        console.print(table)
        console.print(
            f"rates: L2 {conv['rate_l2']:.2f}, H1 {conv['rate_h1']:.2f} (expected 2 and 1)"
        )
        t2 = Table(title="|A_K − a_hom| / |a_hom| against δ/ε", header_style="bold")
        t2.add_column("δ/ε", justify="right")
        couplings = list(dict.fromkeys(r["coupling"] for r in delta))
        for c in couplings:
            t2.add_column(c, justify="right")
        err = {(r["coupling"], r["delta_over_eps"]): r["error"] for r in delta}
        for q in dict.fromkeys(r["delta_over_eps"] for r in delta):
            t2.add_row(f"{q:g}", *(f"{err[c, q]:.2e}" for c in couplings))
        console.print(t2)
        console.print(
            f"fine solve {cmp['fine_dofs']:,} unknowns {cmp['fine_s']:.2f} s, FE-HMM (N = "
            f"{cmp['N']}) {cmp['hmm_s']:.2f} s: {cmp['speedup']:.1f}x faster; errors vs fine "
            f"L2 {cmp['vs_fine']['l2']:.3f}, vs u0 L2 "
            f"{cmp.get('vs_u0', {}).get('l2', float('nan')):.4f}"
        )
    return {
        "eps": eps,
        "a_hom": a_hom.tolist(),
        "convergence": conv,
        "delta": delta,
        "compare": cmp,
    }


# the coupling subcommands (fe2, atomistic) live in their own module
from scalebridge import cli_coupling as _cli_coupling  # noqa: E402, F401
