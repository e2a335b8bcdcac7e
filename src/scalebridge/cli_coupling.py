"""Subcommands of the concurrent and atomistic couplings: ``scalebridge fe2`` (and the
atomistic job).  Registered on the `scalebridge.cli.app` by importing this module; the
conventions (config, ``--output``, ``--json``, exit codes) are those of `scalebridge.cli`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scalebridge.cli import EXIT_BAD_INPUT, EXIT_FAILURE, _fail, _version, app
from scalebridge.errors import ConvergenceError
from scalebridge.io.config import ConfigError


def _print_fe2_header(
    console: Console, source: str, cfg: Any, setup: Any, executor: str, workers: Any
) -> None:
    r = cfg.rve
    console.print(f"[bold]scalebridge fe2[/] {_version()}  —  config: {escape(source)}")
    console.print(
        f"macro: {setup.problem.mesh.t.shape[1]} elements, {setup.problem.n_points} RVEs "
        f"(one per quadrature point), {setup.problem.n_dofs} dofs, "
        f"{len(setup.load_factors)} increments to u = {cfg.macro.displacement:g}"
    )
    console.print(
        f"RVE: {r.grid}x{r.grid} voxels, fibre fraction {r.fibre_fraction:g}, solver "
        f"{r.solver} ({r.bc}); J2 matrix sigma_y = {r.matrix.yield_stress:g}; executor "
        f"{executor} ({workers or 'all'} workers)"
    )


def _print_fe2_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="Force-displacement (quarter plate)", header_style="bold")
    for col in ("step", "u [mm]", "F [N/mm]", "Newton its", "micro solves", "time [s]"):
        table.add_column(col, justify="right")
    for r in summary["increments"]:
        table.add_row(
            str(r["step"]),
            f"{r['displacement']:.4g}",
            f"{r['force']:.5g}",
            str(r["iterations"]),
            str(r["micro_solves"]),
            f"{r['wall_seconds']:.1f}",
        )
    console.print(table)
    run = summary["this_run"]
    console.print(
        f"{run['micro_solves']} micro solves in {run['wall_seconds']:.1f} s "
        f"({run['micro_solves_per_second']:.1f} per second on {len(summary['workers'])} "
        f"worker(s)); data moved {run['bytes_moved_human']}; RVE state "
        f"{summary['rve']['state_bytes_per_point'] / 1e3:.1f} kB per point"
    )
    for name, path in summary["files"].items():
        console.print(f"  {name}: {escape(path)}")


@app.command("fe2")
def fe2_command(
    config: Annotated[
        Path | None, typer.Argument(help="TOML config; the built-in plate with a hole if omitted.")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for results and the checkpoint.")
    ] = Path("scalebridge-fe2"),
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from OUTPUT/checkpoint.h5.")
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(help="serial, threads, processes, dask or tcp://host:port (config: run)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Workers of a local pool.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON summary on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal output.")] = False,
) -> None:
    """FE²: an elasto-plastic RVE at every macro quadrature point.

    Solves the macro problem by Newton with the RVEs' consistent tangents, the micro
    solves of each iteration dispatched in one batch to the executor.  After every
    converged increment the macro state and all RVE histories are checkpointed to
    OUTPUT/checkpoint.h5; --resume continues from there with identical results.
    Writes OUTPUT/summary.json, force_displacement.csv/png and vtk/solution.pvd.
    """
    import json

    from scalebridge.coupling.checkpoint import CheckpointError
    from scalebridge.coupling.fe2_run import build_fe2, run_fe2
    from scalebridge.io.fe2_config import load_fe2_config

    source = str(config) if config is not None else "built-in default"
    if workers is not None and workers < 1:
        _fail(EXIT_BAD_INPUT, f"--workers: must be >= 1, got {workers}")
    try:
        cfg = load_fe2_config(config)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    console = None if (json_output or quiet) else Console(highlight=False)
    if console is not None:
        try:
            setup = build_fe2(cfg, executor="serial")
            where = executor or cfg.run.executor
            _print_fe2_header(console, source, cfg, setup, where, workers or cfg.run.max_workers)
        except ValueError as exc:
            _fail(EXIT_BAD_INPUT, str(exc))

    def iteration(rec: dict[str, Any]) -> None:
        if console is not None:
            console.print(
                f"  t = {rec['load_factor']:.3f}  Newton {rec['iteration']:2d}  "
                f"residual {rec['residual']:.2e}  |  {rec['micro_solves']} micro solves, "
                f"{rec['wall_seconds']:.1f} s",
                soft_wrap=True,
            )

    def increment(rec: dict[str, Any]) -> None:
        if console is not None:
            console.print(
                f"[bold]increment {rec['step']}[/]: u = {rec['displacement']:.4g}, F = "
                f"{rec['force']:.5g} ({rec['iterations']} Newton iterations, "
                f"{rec['wall_seconds']:.1f} s) — checkpoint written",
                soft_wrap=True,
            )

    t0 = time.perf_counter()
    try:
        summary = run_fe2(
            cfg,
            output,
            resume=resume,
            executor=executor,
            max_workers=workers,
            on_iteration=iteration,
            on_increment=increment,
        )
    except (CheckpointError, ValueError) as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except ConvergenceError as exc:
        _fail(EXIT_FAILURE, f"FE² did not converge: {exc} (resume with --resume after a fix)")
    summary["config_source"] = source
    summary["scalebridge_version"] = _version()
    if json_output:
        typer.echo(json.dumps(summary, default=str))
    elif console is not None:
        _print_fe2_summary(console, summary)
        console.print(f"done in {time.perf_counter() - t0:.1f} s")


def _stage_progress(name: str, disable: bool) -> tuple[Any, Any]:
    """A transient progress bar on stderr and its ``progress(stage, done, total)`` hook."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        disable=disable,
        transient=True,
    )
    task = bar.add_task(name, total=None)

    def progress(stage: str, done: int, total: int) -> None:
        bar.update(task, description=stage, completed=done, total=total)

    return bar, progress


@app.command("atomistic")
def atomistic_command(
    config: Annotated[
        Path | None,
        typer.Argument(help="TOML config; the built-in 2D defect benchmark if omitted."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for summary.json and figures.")
    ] = Path("scalebridge-atomistic"),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON summary on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal output.")] = False,
) -> None:
    """Atomistic-to-continuum coupling against full atomistics.

    Solves a triangular lattice with a vacancy cluster under stretch fully atomistically,
    then by quasicontinuum (energy-based, ghost-force corrected, force-based) and the
    bridging domain method at several atomistic-region sizes: error near the defect,
    energy error, degrees of freedom and wall time of each, the ghost-force patch test
    and the Cauchy–Born elastic constants and stability limit.  Writes
    OUTPUT/summary.json, OUTPUT/qc.png and OUTPUT/benchmark.png.
    """
    import json

    from scalebridge.atomistic.job import format_summary, run_atomistic
    from scalebridge.io.atomistic_config import load_atomistic_config

    source = str(config) if config is not None else "built-in default"
    try:
        cfg = load_atomistic_config(config)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"--output: cannot create {output}: {exc}")
    console = None if (json_output or quiet) else Console(highlight=False)
    if console is not None:
        console.print(f"[bold]scalebridge atomistic[/] {_version()}  —  config: {escape(source)}")
    bar, progress = _stage_progress("atomistic", console is None)

    t0 = time.perf_counter()
    try:
        with bar:
            summary = run_atomistic(cfg, output, progress=progress)
    except ValueError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except ConvergenceError as exc:
        _fail(EXIT_FAILURE, f"atomistic job did not converge: {exc}")
    summary["config_source"] = source
    summary["scalebridge_version"] = _version()
    if json_output:
        typer.echo(json.dumps(summary, default=str))
    elif console is not None:
        console.print(escape(format_summary(summary)), soft_wrap=True)
        console.print(
            f"results written to {escape(str(output))}/ (summary.json, qc.png, benchmark.png) "
            f"in {time.perf_counter() - t0:.1f} s"
        )


surrogate_app = typer.Typer(
    help="Hierarchical coupling: offline RVE database, surrogate law, online macro solve.",
    no_args_is_help=True,
)
app.add_typer(surrogate_app, name="surrogate")

_SurrogateConfig = Annotated[
    Path | None, typer.Argument(help="TOML config; the built-in plate-with-hole job if omitted.")
]
_SurrogateOutput = Annotated[
    Path, typer.Option("--output", "-o", help="Folder of the database, surrogate and results.")
]
_Json = Annotated[bool, typer.Option("--json", help="Print only the JSON summary on stdout.")]
_Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No terminal output.")]


def _surrogate_stage(
    stage: str, config: Path | None, output: Path, json_output: bool, quiet: bool
) -> None:
    """Run one stage (build, fit, run) with the shared conventions."""
    import json

    from scalebridge.coupling.surrogate import job
    from scalebridge.io.surrogate_config import load_surrogate_config

    source = str(config) if config is not None else "built-in default"
    try:
        cfg = load_surrogate_config(config)
    except ConfigError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    console = None if (json_output or quiet) else Console(highlight=False)
    if console is not None:
        console.print(
            f"[bold]scalebridge surrogate {stage}[/] {_version()}  —  config: {escape(source)}"
        )
    bar, progress = _stage_progress(stage, console is None)

    t0 = time.perf_counter()
    try:
        with bar:
            if stage == "build":
                summary = job.build(cfg, output, progress=progress)
            elif stage == "fit":
                summary = job.fit(cfg, output)
            else:
                summary = job.run(cfg, output, progress=progress)
    except (ValueError, FileNotFoundError) as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    except ConvergenceError as exc:
        _fail(EXIT_FAILURE, f"surrogate {stage} did not converge: {exc}")
    summary["config_source"] = source
    summary["scalebridge_version"] = _version()
    if json_output:
        typer.echo(json.dumps(summary, default=str))
    elif console is not None:
        console.print(escape(job.format_summary(summary)), soft_wrap=True)
        console.print(f"done in {time.perf_counter() - t0:.1f} s")


@surrogate_app.command("build")
def surrogate_build(
    config: _SurrogateConfig = None,
    output: _SurrogateOutput = Path("scalebridge-surrogate"),
    json_output: _Json = False,
    quiet: _Quiet = False,
) -> None:
    """Solve the RVE along the sampled loading paths into the HDF5 database (resumable)."""
    _surrogate_stage("build", config, output, json_output, quiet)


@surrogate_app.command("fit")
def surrogate_fit(
    config: _SurrogateConfig = None,
    output: _SurrogateOutput = Path("scalebridge-surrogate"),
    json_output: _Json = False,
    quiet: _Quiet = False,
) -> None:
    """Fit the surrogate law on the database; held-out errors, parity plot."""
    _surrogate_stage("fit", config, output, json_output, quiet)


@surrogate_app.command("run")
def surrogate_run(
    config: _SurrogateConfig = None,
    output: _SurrogateOutput = Path("scalebridge-surrogate"),
    json_output: _Json = False,
    quiet: _Quiet = False,
) -> None:
    """Online macro solve with the surrogate, compared with FE² on the same problem."""
    _surrogate_stage("run", config, output, json_output, quiet)
