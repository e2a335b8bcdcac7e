"""The surrogate jobs end to end (build -> fit -> run, compared with FE²) on a small
version of the default problem, and their config."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest

from scalebridge.coupling.fe2_run import build_fe2
from scalebridge.coupling.surrogate import DatabaseMismatchError, OutOfRangeError, job
from scalebridge.fem import rectangle, write_mesh
from scalebridge.io.config import ConfigError
from scalebridge.io.fe2_config import load_fe2_config
from scalebridge.io.surrogate_config import load_surrogate_config

SMALL = """
[macro]
mesh = "{mesh}"
steps = 3
[rve]
grid = 6
[run]
executor = "serial"
[sampling]
paths = 64
steps = 8
[surrogate]
{surrogate}
"""


def small_config(tmp_path, surrogate: str = "", extra: str = ""):
    mesh = tmp_path / "plate.vtu"
    if not mesh.exists():
        write_mesh(rectangle(n=(2, 2), cell="tri"), str(mesh))
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(mesh=mesh, surrogate=surrogate) + extra)
    return load_surrogate_config(path)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """build -> fit -> run of the small problem, FE² included."""
    tmp = tmp_path_factory.mktemp("chain")
    cfg = small_config(tmp)
    out = tmp / "out"
    seen: list[tuple[str, int, int]] = []
    built = job.build(cfg, out, progress=lambda *a: seen.append(a))
    fitted = job.fit(cfg, out)
    ran = job.run(cfg, out, progress=lambda *a: seen.append(a))
    return cfg, out, built, fitted, ran, seen


def test_config_defaults_are_the_fe2_problem():
    cfg = load_surrogate_config()
    assert cfg.fe2_config() == load_fe2_config()
    assert build_fe2(cfg.fe2_config()).config_hash == build_fe2(load_fe2_config()).config_hash
    assert cfg.sampling.coordinates == "volumetric-deviatoric" and cfg.sampling.paths == 128


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[sampling]\nlower = [0.01, -0.05, -0.05]\nupper = [0.03, 0.05, 0.05]\n")
    with pytest.raises(ConfigError, match="contain zero"):
        load_surrogate_config(bad)
    bad.write_text('[surrogate]\nmodel = "mlp"\n')
    with pytest.raises(ConfigError, match="model"):
        load_surrogate_config(bad)


class TestChain:
    def test_offline_online_chain_against_fe2(self, chain):
        _, out, built, fitted, ran, seen = chain
        assert built["database"]["paths"] == 64 and built["database"]["records"] == 512
        assert fitted["info"]["test_paths"] == 13 and fitted["errors"]["stress_rms"] < 0.02
        rows = ran["increments"]
        assert len(rows) == 3 and all(r["outside"] == 0 for r in rows)
        # 2x2 triangles (uniaxial tension), 6x6 RVE, 64 paths x 8 steps: force within
        # 1.3 % of FE² at every increment (measured -0.8 %, +0.3 %, +1.2 %; 0.5 % on the
        # default problem, see benchmarks/bench_surrogate.py)
        assert ran["comparison"]["max_force_difference"] < 0.02
        assert ran["comparison"]["final_displacement_difference"] < 0.03
        t = ran["timing"]
        assert t["offline_micro_solves"] == 512 and t["fe2_micro_solves"] > 0
        assert {"speedup", "break_even_evaluations", "offline_seconds"} <= set(t)
        for name in ("parity.png", "stress_strain.png", "macro_response.png", "surrogate.pkl"):
            assert (out / name).stat().st_size > 0
        assert json.loads((out / "run_summary.json").read_text())["stage"] == "run"
        stages = {s for s, _, _ in seen}
        assert stages == {"RVE paths", "surrogate macro solve", "FE² reference"}
        text = job.format_summary(ran)
        assert "speed-up" in text and "break-even" in text

    def test_rebuild_resumes_and_fe2_is_reused(self, chain):
        cfg, out, *_ = chain
        again = job.build(cfg, out)
        assert again["this_run"]["solved"] == 0 and again["this_run"]["skipped"] == 64
        ran = job.run(cfg, out)
        assert ran["timing"]["fe2_reused"] is True

    def test_other_rve_is_refused(self, chain):
        cfg, out, *_ = chain
        matrix = cfg.rve.matrix.model_copy(update={"yield_stress": 45.0})
        other = cfg.model_copy(update={"rve": cfg.rve.model_copy(update={"matrix": matrix})})
        with pytest.raises(DatabaseMismatchError, match="another RVE"):
            job.fit(other, out)
        with pytest.raises(DatabaseMismatchError, match="another RVE"):
            job.run(other, out)

    def test_extrapolation_is_detected_in_the_macro_run(self, chain, tmp_path):
        cfg, done, *_ = chain
        out = shutil.copytree(done, tmp_path / "out")
        far = cfg.model_copy(
            update={
                "macro": cfg.macro.model_copy(update={"displacement": 0.2}),
                "compare": cfg.compare.model_copy(update={"fe2": False}),
            }
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ran = job.run(far, out)  # warnings are counted, not shown
        assert ran["range"]["converged_points_outside"] > 0
        assert ran["range"]["law_calls_outside"] > 0 and "comparison" not in ran
        strict = far.model_copy(
            update={"surrogate": far.surrogate.model_copy(update={"out_of_range": "raise"})}
        )
        job.fit(strict, out)
        with pytest.raises(OutOfRangeError, match="outside the sampled"):
            job.run(strict, out)

    def test_gaussian_process_model(self, chain, tmp_path):
        cfg, done, *_ = chain
        out = shutil.copytree(done, tmp_path / "out")
        gp = cfg.model_copy(
            update={
                "surrogate": cfg.surrogate.model_copy(update={"model": "gp", "max_points": 300})
            }
        )
        fitted = job.fit(gp, out)
        assert "coverage_2std" in fitted["errors"] and fitted["model"].startswith("GPSurrogate")
        ran = job.run(gp, out)
        # 300 training points: measured 2.0 % (the potential: 1.2 %)
        assert ran["comparison"]["max_force_difference"] < 0.03
        assert ran["timing"]["fe2_reused"] is True
