"""The ``scalebridge`` command: exit codes, outputs and numbers against exact oracles."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from scalebridge.cli import app

runner = CliRunner()

K0, K1, F1 = 1.0, 10.0, 0.5  # laminate conductivities and fraction of phase 1

LAMINATE = f"""
[microstructure]
generator = "laminate"
shape = [16, 8]
volume_fraction = {F1}
axis = 0

[phases.0]
law = "conduction"
k = {K0}

[phases.1]
law = "conduction"
k = {K1}

[solver]
tol = 1e-10
"""

FIBRES = """
[microstructure]
generator = "random_inclusions"
shape = [32, 32]
volume_fraction = 0.3
radius = 0.12
seed = 1

[phases.0]
law = "elasticity"
E = 3.0
nu = 0.35

[phases.1]
law = "elasticity"
E = 70.0
nu = 0.2
"""


def write(tmp_path: Path, text: str, name: str = "job.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(*args: str):
    return runner.invoke(app, list(args))


def assert_clean_error(result, code: int, *fragments: str, stdout: bool = False) -> None:
    """Exit ``code``, one ``error:`` message, no traceback, stdout empty unless allowed."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output + result.stderr
    assert result.stderr.startswith("error: ")
    assert stdout or result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("scalebridge ")


def test_no_arguments_shows_help():
    result = run()
    assert "homogenize" in result.output


def test_usage_error_exits_2():
    result = run("homogenize", "--no-such-option")
    assert result.exit_code == 2


def test_elastic_run_writes_results(tmp_path):
    out = tmp_path / "out"
    result = run("homogenize", str(write(tmp_path, FIBRES)), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "Effective tensor (Mandel)" in result.stdout
    assert "Hill–Mandel residual" in result.stdout
    data = json.loads((out / "result.json").read_text())
    tensor = np.array(data["tensor"])
    assert tensor.shape == (3, 3)
    assert data["physics"] == "elasticity"
    assert data["config"]["microstructure"]["generator"] == "random_inclusions"
    assert data["scalebridge_version"]
    # effective stiffness lies between Reuss and Voigt (diagonal entries)
    reuss, voigt = np.array(data["bounds"]["reuss"]), np.array(data["bounds"]["voigt"])
    assert np.all(np.diag(reuss) <= np.diag(tensor) + 1e-9)
    assert np.all(np.diag(tensor) <= np.diag(voigt) + 1e-9)
    assert (out / "fields.png").stat().st_size > 1000
    vti = (out / "microstructure.vti").read_text()
    assert 'Name="stress_case1"' in vti and 'Name="phase"' in vti


def test_laminate_json_matches_harmonic_and_arithmetic_means(tmp_path):
    out = tmp_path / "out"
    result = run("homogenize", str(write(tmp_path, LAMINATE)), "--json", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # --json: stdout is exactly one JSON document
    tensor = np.array(data["tensor"])
    harmonic = 1.0 / ((1 - F1) / K0 + F1 / K1)
    arithmetic = (1 - F1) * K0 + F1 * K1
    # layers normal to x: exact in the voxel-FE discretization, up to the CG tolerance 1e-10
    np.testing.assert_allclose(np.diag(tensor), [harmonic, arithmetic], rtol=1e-6)
    assert abs(tensor[0, 1]) < 1e-8 * arithmetic
    assert data["physics"] == "conduction"
    assert json.loads((out / "result.json").read_text())["tensor"] == data["tensor"]


def test_3d_file_microstructure_relative_to_the_config(tmp_path):
    labels = np.zeros((8, 8, 8), dtype=np.int32)
    labels[:2] = 1  # laminate normal to x, fraction 1/4, read from a file next to the config
    (tmp_path / "cfg").mkdir()
    np.save(tmp_path / "cfg" / "cell.npy", labels)
    text = LAMINATE.replace('generator = "laminate"', 'file = "cell.npy"')
    text = text.replace("shape = [16, 8]\n", "").replace(f"volume_fraction = {F1}\n", "")
    text = text.replace("axis = 0\n", "")
    out = tmp_path / "out"
    result = run("homogenize", str(write(tmp_path / "cfg", text)), "--json", "-o", str(out))
    assert result.exit_code == 0, result.output
    k = np.diag(json.loads(result.stdout)["tensor"])
    f = 0.25
    harmonic, arithmetic = 1.0 / ((1 - f) / K0 + f / K1), (1 - f) * K0 + f * K1
    np.testing.assert_allclose(k, [harmonic, arithmetic, arithmetic], rtol=1e-6)
    assert (out / "fields.png").is_file()  # 3D: mid-slice plotted


def test_quiet_prints_nothing(tmp_path):
    out = tmp_path / "out"
    result = run("homogenize", str(write(tmp_path, LAMINATE)), "-q", "--no-fields", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert (out / "result.json").is_file() and not (out / "fields.png").exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (('"laminate"', '"lamnate"'), "microstructure.generator: 'lamnate' is not one of"),
        (("axis = 0", "axis = 0\nradius = 1"), "microstructure.radius: unknown key"),
        (("k = 10.0", "k = -10.0"), "phases.1.k: must be positive"),
        (("tol = 1e-10", "tol = 1e-10\nbc = 'pbc'"), "solver.bc: 'pbc' is not one of"),
        (("k = 10.0", "k = = 10.0"), "invalid TOML"),
        (("[phases.1]", "[phases.2]"), "phases: no law for phase label(s) [1]"),
        (("volume_fraction = 0.5", "volume_fraction = 0.3"), "microstructure.volume_fraction"),
    ],
)
def test_bad_config_exits_2_with_one_message(tmp_path, change, fragment):
    path = write(tmp_path, LAMINATE.replace(*change))
    result = run("homogenize", str(path), "-o", str(tmp_path / "out"))
    assert_clean_error(result, 2, fragment)
    assert not (tmp_path / "out").exists()


def test_missing_config_file_exits_2(tmp_path):
    result = run("homogenize", str(tmp_path / "nope.toml"))
    assert_clean_error(result, 2, "config file not found")


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("bc = 'kubc'\nmethod = 'fft'", "solver.method: 'fft' handles periodic conditions only"),
        (
            "method = 'fe'\ndiscretization = 'rotated'",
            "solver.discretization: 'rotated' is spectral",
        ),
    ],
)
def test_option_the_library_rejects_exits_2_naming_the_field(tmp_path, line, fragment):
    path = write(tmp_path, LAMINATE.replace("tol = 1e-10", f"tol = 1e-10\n{line}"))
    result = run("homogenize", str(path), "--json", "-o", str(tmp_path / "out"))
    assert_clean_error(result, 2, fragment)


def test_non_convergence_exits_1_with_residual(tmp_path):
    path = write(tmp_path, FIBRES + "\n[solver]\ntol = 1e-12\nmax_iter = 1\n")
    result = run("homogenize", str(path), "-o", str(tmp_path / "out"))
    assert_clean_error(
        result, 1, "did not converge", "solver.max_iter = 1", "final relative residual", stdout=True
    )


def test_default_job_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("homogenize", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config_source"] == "built-in default"
    assert all(data["bounds"]["inside"][k] in (True, None) for k in data["bounds"]["inside"])
    assert (tmp_path / "scalebridge-output" / "result.json").is_file()


# --------------------------------------------------------------------------- bc = "all"
def test_bc_all_json_holds_the_three_apparent_tensors(tmp_path):
    path = write(tmp_path, FIBRES + '\n[solver]\nbc = "all"\ntol = 1e-8\n')
    out = tmp_path / "out"
    result = run("homogenize", str(path), "--json", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["bcs"] == ["subc", "periodic", "kubc"]
    assert set(data["apparent"]) == {"subc", "periodic", "kubc"}
    assert data["ordering"] == {
        "reuss<=subc": True,
        "subc<=periodic": True,
        "periodic<=kubc": True,
        "kubc<=voigt": True,
    }
    assert set(data["hill_mandel"]) == {"subc", "periodic", "kubc"}
    assert all(r < 1e-8 for r in data["hill_mandel"].values())
    assert 0.0 < data["spread"] < 1.0
    assert data["bounds"]["inside"]["voigt_reuss"] is True
    assert data["config"]["solver"]["bc"] == "all"
    tensors = {bc: np.array(data["apparent"][bc]["tensor"]) for bc in data["bcs"]}
    assert tensors["subc"][0, 0] <= tensors["periodic"][0, 0] <= tensors["kubc"][0, 0]
    assert json.loads((out / "result.json").read_text())["ordering"] == data["ordering"]
    assert (out / "fields.png").is_file() and (out / "microstructure.vti").is_file()


def test_bc_all_terminal_output(tmp_path):
    path = write(tmp_path, LAMINATE.replace("tol = 1e-10", 'tol = 1e-10\nbc = "all"'))
    result = run("homogenize", str(path), "--no-fields", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # rich wraps at the runner's 80 columns
    for fragment in (
        "Apparent tensor, bc subc",
        "Apparent tensor, bc periodic",
        "Apparent tensor, bc kubc",
        "Reuss ≤ SUBC ≤ PBC ≤ KUBC ≤ Voigt",
        "Ordering (quadratic forms): reuss<=subc: ok",
        "Hill–Mandel residuals: subc",
        "Spread |C_KUBC − C_SUBC| / |C_PBC|",
    ):
        assert fragment in text, fragment
    assert "VIOLATED" not in text


@pytest.mark.parametrize("value", ["'every'", "'pbc'", "3"])
def test_bad_bc_value_exits_2(tmp_path, value):
    path = write(tmp_path, LAMINATE.replace("tol = 1e-10", f"tol = 1e-10\nbc = {value}"))
    result = run("homogenize", str(path), "--json", "-o", str(tmp_path / "out"))
    assert_clean_error(result, 2, "solver.bc:")
    assert not (tmp_path / "out").exists()


def test_bc_all_with_fft_method_exits_2_naming_the_field(tmp_path):
    path = write(
        tmp_path, LAMINATE.replace("tol = 1e-10", "tol = 1e-10\nbc = 'all'\nmethod = 'fft'")
    )
    result = run("homogenize", str(path), "--json", "-o", str(tmp_path / "out"))
    assert_clean_error(result, 2, "solver.method: 'fft' handles periodic conditions only")


def test_bc_all_non_convergence_exits_1(tmp_path):
    path = write(tmp_path, FIBRES + "\n[solver]\nbc = 'all'\ntol = 1e-12\nmax_iter = 1\n")
    result = run("homogenize", str(path), "-o", str(tmp_path / "out"))
    assert_clean_error(result, 1, "did not converge", stdout=True)
