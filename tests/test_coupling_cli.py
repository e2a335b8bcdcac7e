"""``scalebridge fe2`` and ``scalebridge atomistic``: small jobs end to end, resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scalebridge.cli import app
from scalebridge.fem import rectangle, write_mesh

runner = CliRunner()


def _config(tmp_path: Path, steps: int = 2) -> Path:
    mesh = tmp_path / "square.vtu"
    write_mesh(rectangle(n=(1, 1), cell="tri"), mesh)
    cfg = tmp_path / "fe2.toml"
    cfg.write_text(
        f'[macro]\nmesh = "{mesh}"\nsteps = {steps}\ndisplacement = 0.03\n'
        '[rve]\ngrid = 6\n[run]\nexecutor = "serial"\n'
    )
    return cfg


def test_fe2_cli_runs_resumes_and_reports(tmp_path: Path) -> None:
    cfg, out = _config(tmp_path), tmp_path / "out"
    res = runner.invoke(app, ["fe2", str(cfg), "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "increment 2" in res.output and "checkpoint written" in res.output
    for name in (
        "summary.json",
        "force_displacement.csv",
        "force_displacement.png",
        "checkpoint.h5",
        "vtk/solution.pvd",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    forces = [r["force"] for r in summary["increments"]]
    assert len(forces) == 2 and 0.0 < forces[0] < forces[1]
    # a finished run resumes to the same numbers without new work
    again = runner.invoke(app, ["fe2", str(cfg), "--output", str(out), "--resume", "--json"])
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.output)
    assert [r["force"] for r in resumed["increments"]] == forces
    assert resumed["this_run"]["micro_solves"] == 0


def test_fe2_cli_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[rve]\ngrid = 2\n")
    res = runner.invoke(app, ["fe2", str(bad), "--output", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "grid" in res.output
    res = runner.invoke(app, ["fe2", str(_config(tmp_path)), "-o", str(tmp_path / "x"), "--resume"])
    assert res.exit_code == 2
    assert "no file" in res.output and "checkpoint" in res.output


def test_atomistic_cli_small_job(tmp_path: Path) -> None:
    cfg = tmp_path / "at.toml"
    cfg.write_text(
        "[problem]\nsize = 31\n[methods]\nradii = [2.0, 4.0]\n[patch_test]\nsize = 13\n"
        "[cauchy_born]\nkpoints = 6\n"
    )
    res = runner.invoke(app, ["atomistic", str(cfg), "-o", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert (tmp_path / "out" / "qc.png").is_file()
    rows = summary["benchmark"]
    assert {r["method"] for r in rows} >= {"qc-force", "bridging"}
    bad = tmp_path / "bad.toml"
    bad.write_text("[problem]\nsize = -3\n")
    assert runner.invoke(app, ["atomistic", str(bad), "-o", str(tmp_path / "b")]).exit_code == 2


def test_surrogate_cli_reports_missing_inputs_with_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["surrogate", "fit", "-o", str(tmp_path / "empty")])
    assert res.exit_code == 2, res.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[sampling]\nunknown_key = 1\n")
    res = runner.invoke(app, ["surrogate", "build", str(bad), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
