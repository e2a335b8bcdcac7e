"""Every example runs at a small size and reproduces one meaningful number."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalebridge.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_python_example_is_tested():
    tested = {
        "laminate_check",
        "polycrystal_copper",
        "electrode_bruggeman",
        "fibre_ply",
        "porous_diffusivity",
        "cortical_bone",
        "fe2_plate",
    }
    found = {p.stem for p in EXAMPLES.glob("*.py")}
    assert found == tested, f"add a test for the new example(s) {sorted(found - tested)}"


def test_laminate_check_matches_harmonic_mean():
    out = load("laminate_check").main(shape=(16, 8), verbose=False)
    # f = 0.25, k = 1 / 10: series 1 / (0.75 + 0.025), parallel 0.75 + 2.5
    assert out["harmonic"] == pytest.approx(1.0 / 0.775)
    assert out["k_xx"] == pytest.approx(1.0 / 0.775, rel=1e-6)  # exact up to CG tol 1e-10
    assert out["k_yy"] == pytest.approx(3.25, rel=1e-6)


@pytest.mark.parametrize("config", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_toml_example_runs_through_the_cli(config, tmp_path):
    result = CliRunner().invoke(
        app, ["homogenize", str(config), "--json", "--no-fields", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["bounds"]["inside"]["voigt_reuss"] is True


def test_polycrystal_copper_bulk_is_exact_and_shear_is_bracketed():
    out = load("polycrystal_copper").main(n=16, grain_size=0.4, verbose=False)
    # Hill: grains of one cubic crystal share the bulk response; measured 1e-15 relative
    assert out["grains"] > 5
    assert out["K"] == pytest.approx((168.4 + 2 * 121.4) / 3, rel=1e-9)
    # Reuss 40.03 <= G <= Voigt 54.64 (measured 49.3 at 16^3 / 13 grains, 48.8 at 48^3 / 64)
    assert out["G_reuss"] < out["G"] < out["G_voigt"]


def test_electrode_conductivity_is_below_the_hashin_shtrikman_bound():
    rows = load("electrode_bruggeman").main(
        n=24, porosities=(0.4, 0.6), radius=0.12, verbose=False
    )["rows"]
    for r in rows:
        # HS upper bound for insulating inclusions: a theorem (measured kappa/HS 0.74 / 0.89)
        assert r["kappa"] <= r["hs_upper"]
        # Bruggeman eps^1.5 overestimates overlapping spheres: measured 0.89 / 0.97 of it
        assert 0.75 * r["bruggeman"] < r["kappa"] < 1.02 * r["bruggeman"]
        assert r["tortuosity"] > 1.0
    assert rows[1]["kappa"] > rows[0]["kappa"]


def test_fibre_ply_moduli():
    (r,) = load("fibre_ply").main(n=32, fractions=(0.3,), radius=0.1, verbose=False)["rows"]
    # Hill (1964): the longitudinal modulus of an aligned-fibre composite is at least the
    # rule of mixtures, and exceeds it only through the Poisson mismatch (+0.12 % measured)
    assert r["rule_of_mixtures"] <= r["E3"] < 1.005 * r["rule_of_mixtures"]
    # transverse: above Reuss; Halpin-Tsai (xi = 2) is an empirical fit, measured -4.3 %
    assert r["E2"] > r["reuss"]
    assert r["E2"] == pytest.approx(r["halpin_tsai"], rel=0.1)


def test_porous_diffusivity_bounds_and_percolation():
    out = load("porous_diffusivity").main(n=24, porosities=(0.1, 0.5), verbose=False)
    for r in out["rows"]:
        # Hashin-Shtrikman upper bound for an insulating solid: a theorem; tortuosity >= 1
        # is the Voigt bound (measured D/HS 0.43-0.67 above percolation)
        assert r["diffusivity"] <= r["hs_upper"] * (1 + 1e-6)
        assert r["tortuosity"] >= 1.0
    spheres = [r for r in out["rows"] if r["model"] == "spherical pores"]
    # overlapping spherical pores at a third of their percolation threshold 0.2895
    # (Rintoul & Torquato 1997) form no spanning path: nothing diffuses through (measured
    # 1e-13, the solver tolerance); well above it they do
    assert spheres[0]["diffusivity"] < 1e-6
    assert spheres[1]["diffusivity"] > 0.05


def test_cortical_bone_axial_exact_and_transverse_bounded():
    ex = load("cortical_bone")
    rows = ex.main(n=32, porosities=(0.05, 0.3), verbose=False)["rows"]
    for r in rows:
        # Hill (1964): along aligned pores the axial modulus is (1 - phi) E_m exactly
        # (measured 1e-16 relative)
        assert r["E3"] == pytest.approx(r["E3_exact"], rel=1e-6)
        # Mori-Tanaka for voids = Hashin-Shtrikman upper bound on k23 and G_T
        assert r["k23"] <= r["k23_mt"] * (1 + 1e-6) and r["GT"] <= r["GT_mt"] * (1 + 1e-6)
    # dilute canals: Mori-Tanaka is exact to first order in phi; O(phi^2) and the voxel
    # staircase leave 1.4 % at phi = 0.05 (measured at 32^2, 0.2 % at 64^2)
    assert rows[0]["ET"] == pytest.approx(rows[0]["ET_mt"], rel=0.03)


def test_fe2_plate_is_elastic_then_between_the_matrix_and_the_elastic_composite(tmp_path):
    out = load("fe2_plate").main(
        grid=6, size=0.8, steps=(0.01, 0.5, 1.0), outdir=tmp_path, verbose=False
    )
    # every RVE elastic at the first, tiny increment: FE2 is macro FE with the
    # homogenized tensor (micro Newton tol 1e-10; measured 1.5e-12 relative)
    assert out["fe2"][0] == pytest.approx(out["elastic"][0], rel=1e-6)
    assert out["plastic"] > 0.0
    # after yield: below the elastic composite (measured 0.41 of it), above the matrix
    # alone (which carries 0.76 of the FE2 force)
    assert out["matrix"][-1] < out["fe2"][-1] < 0.9 * out["elastic"][-1]
    assert (tmp_path / "fe2_plate.png").is_file()
