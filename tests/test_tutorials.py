"""Every tutorial runs at its small default size, asserts its key number against an
oracle (inside the script) and writes its figures as PNG and SVG; the exercise solutions
run too.  The numbers re-checked here are the ones the docs quote."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import matplotlib
import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"

CONCEPTS = [
    "01_scale_separation",
    "02_rve_ergodicity",
    "03_hill_mandel_bounds",
    "04_two_scale_expansion",
    "05_hmm_sampling",
    "06_msfem_resonance",
    "07_fe2_step_by_step",
    "08_hierarchical_vs_concurrent",
    "09_qc_ghost_forces",
    "10_bridging_domain",
]
LIMITATIONS = [
    "limit_eps_not_small",
    "limit_boundary_layers",
    "limit_non_ergodic",
    "limit_cauchy_born",
    "limit_fe2_localization",
]


@pytest.fixture
def load(monkeypatch):
    """Import a tutorial by file name, with ``tutorials/`` on the path for ``_style``.

    The FE² tutorials run `RVELaw` in this process, whose tasks call `limit_threads(1)`
    (environment and numba threads); both are restored afterwards so that later tests see
    the thread and FFT-planner settings they started with."""
    import numba

    from scalebridge.parallel.tasks import PLANNER_ENV, THREADS_ENV

    saved = {name: os.environ.get(name) for name in (THREADS_ENV, PLANNER_ENV)}
    threads = numba.get_num_threads()
    monkeypatch.syspath_prepend(str(TUTORIALS))

    def _load(name: str):
        spec = importlib.util.spec_from_file_location(f"tutorial_{name}", TUTORIALS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look it up
        spec.loader.exec_module(module)
        return module

    with matplotlib.rc_context():  # the tutorials set their own style; restore it after
        yield _load
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    numba.set_num_threads(threads)


def run(module, tmp_path, **kwargs):
    out = module.main(str(tmp_path), verbose=False, **kwargs)
    figures = [Path(p) for p in out["figures"]]
    assert figures, "a tutorial writes at least one figure"
    for stem in {p.stem for p in figures}:
        for ext in ("png", "svg"):
            path = tmp_path / f"{stem}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    return out


def test_every_tutorial_is_tested():
    found = {p.stem for p in TUTORIALS.glob("*.py") if not p.name.startswith("_")}
    assert found == set(CONCEPTS + LIMITATIONS), (
        f"add a test for {sorted(found - set(CONCEPTS + LIMITATIONS))}"
    )


def test_scale_separation(load, tmp_path):
    t = load("01_scale_separation")
    out = run(t, tmp_path)
    # a_hom is the harmonic mean 1/<2 + cos> = 1/2 exactly; the error is first order
    assert out["a_hom"] == pytest.approx(0.5, abs=1e-12)
    assert out["rate"] == pytest.approx(1.0, abs=0.02)
    assert out["scale_separation_difference"] < 1e-9
    # exercise: 0.9 % at eps = 0.05 (closed form), 1 % needs l <= 0.56 mm
    assert t.solution(verbose=False)["ell_max_mm"] == pytest.approx(0.5617, rel=1e-3)


def test_rve_ergodicity(load, tmp_path):
    t = load("02_rve_ergodicity")
    out = run(t, tmp_path)
    assert out["alpha"] == pytest.approx(1.0, abs=0.2)  # finite integral range
    assert out["smallest_ordering_margin"] > -1e-6  # Huet: SUBC <= PBC <= KUBC
    assert t.solution(verbose=False)["outside"] <= 6 / 40


def test_hill_mandel_bounds(load, tmp_path):
    t = load("03_hill_mandel_bounds")
    out = run(t, tmp_path)
    assert out["max_hill_mandel_residual"] < 1e-9
    assert out["ordering_holds"]
    assert out["spread_slope"] == pytest.approx(-1.0, abs=0.2)  # boundary layer ~ l/L
    sol = t.solution(verbose=False)
    assert sol["spread_homogeneous"] < 1e-8


def test_two_scale_expansion(load, tmp_path):
    t = load("04_two_scale_expansion")
    out = run(t, tmp_path)
    assert out["a_hom"][0][0] == pytest.approx(0.5 / 0.76**0.5, abs=1e-9)
    assert out["rate_h1_interior"] == pytest.approx(1.0, abs=0.1)
    assert t.solution(verbose=False)["a11"] == pytest.approx(2 / 1.1, abs=1e-9)


def test_hmm_sampling(load, tmp_path):
    t = load("05_hmm_sampling")
    out = run(t, tmp_path)
    assert out["slope_dirichlet"] == pytest.approx(-1.0, abs=0.1)  # O(eps / delta)
    assert out["rate_l2"] == pytest.approx(2.0, abs=0.15)
    assert t.solution(verbose=False)["error"] < 0.05


def test_msfem_resonance(load, tmp_path):
    t = load("06_msfem_resonance")
    out = run(t, tmp_path)
    assert out["nodal_error_1d"] < 1e-10  # 1D MsFEM is nodally exact
    assert 0.5 <= out["peak_H_over_eps"] <= 2.0
    assert out["oversampling_gain_at_H_eq_eps"] > 2.5
    sol = t.solution(verbose=False)
    assert sol["linear_h16"] == pytest.approx(sol["linear_h8"], rel=0.05)


def test_limit_eps_not_small(load, tmp_path):
    out = run(load("limit_eps_not_small"), tmp_path)
    assert out["load_slope"] == pytest.approx(1.0, abs=0.1)
    assert len(out["warnings"]) == 3


def test_limit_boundary_layers(load, tmp_path):
    out = run(load("limit_boundary_layers"), tmp_path)
    assert out["rate_global"] == pytest.approx(0.5, abs=0.1)  # O(eps^1/2)
    assert min(out["strip_share"]) > 0.9


def test_limit_non_ergodic(load, tmp_path):
    out = run(load("limit_non_ergodic"), tmp_path)
    assert out["batch_variance_ratio"] > 2.0
    assert out["graded_alpha"] < 0.5


def test_fe2_step_by_step(load, tmp_path):
    t = load("07_fe2_step_by_step")
    out = run(t, tmp_path)
    assert out["hill_mandel_residual"] < 1e-10  # periodic fluctuations: exact
    assert out["tangent_fd_error"] < 1e-6  # consistent tangent = d Sigma / d E
    assert out["homogeneous_vs_j2"] < 1e-12  # a homogeneous RVE is the phase law
    assert out["macro_rate"] >= 1.8  # quadratic macro Newton
    assert out["macro_force"] == pytest.approx(out["rve_mixed_stress"], rel=1e-8)
    sol = t.solution(verbose=False)
    assert 0.3 < sol["factor"] < 0.95  # elastic tangent: linear convergence


def test_hierarchical_vs_concurrent(load, tmp_path):
    t = load("08_hierarchical_vs_concurrent")
    out = run(t, tmp_path)
    assert out["linear_error"] < 1e-9  # linear phases: C_hom is the whole table
    # unloading: FE2 follows C_hom from its plastic state, the table its loading curve
    assert out["unloaded_strain_fe2"] == pytest.approx(out["unloaded_strain_closed_form"], rel=1e-8)
    assert out["permanent_strain_fe2"] > 5 * out["unloaded_strain_table"]
    assert out["sigma11_drop_fe2"] > 0.1 and abs(out["sigma11_drop_table"]) < 1e-6
    sol = t.solution(verbose=False)
    assert sol["reverse_yield"] > -sol["peak"]  # Bauschinger effect of the composite


def test_qc_ghost_forces(load, tmp_path):
    t = load("09_qc_ghost_forces")
    out = run(t, tmp_path)
    assert out["qce_closed_form_error"] < 1e-14  # +-k2 a eps at the interface atoms
    assert out["qce_max_force"] == pytest.approx(out["k2_a_eps"], rel=1e-12)
    assert out["ghost_qnl"] < 1e-12 and out["ghost_force_based"] < 1e-12
    assert out["gfc_reference"] < 1e-12
    assert out["fully_refined_error"] < 1e-11  # = lattice statics
    assert out["ghost_2d_ratio_error"] < 1e-6 and out["ghost_2d_force"] < 1e-11
    assert min(t.solution(verbose=False).values()) == pytest.approx(0.005, rel=1e-12)


def test_bridging_domain(load, tmp_path):
    t = load("10_bridging_domain")
    out = run(t, tmp_path)
    assert max(out["patch_1d"].values()) < 1e-12 and out["patch_2d"] < 1e-12
    assert out["penalty_ratio"] == pytest.approx(10.0, rel=0.05)  # error ~ 1/p
    for h, q in out["half_crossing"].items():
        assert q == pytest.approx(out["cutoff"][h], abs=0.02)  # q_c = 2 arcsin(a/h)
    assert t.solution(verbose=False)["error"] == pytest.approx(1e-8, rel=0.05)


def test_limit_cauchy_born(load, tmp_path):
    out = run(load("limit_cauchy_born"), tmp_path)
    assert out["cauchy_relation"] < 1e-9  # C12 = C44 for a pair potential
    assert out["fd_min_below"] > 0 > out["fd_min_above"]
    assert 0.1 < out["thresholds"]["strong_ellipticity"] < 0.25


def test_limit_fe2_localization(load, tmp_path):
    out = run(load("limit_fe2_localization"), tmp_path)
    assert out["limit_error"] < 1e-5  # 2 sigma_y / sqrt3 (limit analysis)
    assert out["lambda_min_ratio"][-1] < 1e-6  # singular RVE tangent
    assert out["beyond_limit_raised"]  # ConvergenceError above the limit load
