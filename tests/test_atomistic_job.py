"""The ``atomistic`` job at a tiny size: summary numbers against oracles, files, config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalebridge.atomistic import CauchyBorn, LennardJones, triangular
from scalebridge.atomistic.job import run_atomistic
from scalebridge.io.atomistic_config import AtomisticConfig, load_atomistic_config
from scalebridge.io.config import ConfigError

TINY = {"problem": {"size": 31}, "methods": {"radii": [2.0, 4.0]}}


def tiny(**sections) -> AtomisticConfig:
    data = load_atomistic_config().model_dump()
    for name, values in {**TINY, **sections}.items():
        data[name].update(values)
    return AtomisticConfig.model_validate(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("atomistic")
    calls = []
    summary = run_atomistic(tiny(), out, progress=lambda *a: calls.append(a))
    return summary, out, calls


class TestSummary:
    def test_fully_refined_qc_is_the_full_atomistic_solution(self, run):
        fully = run[0]["fully_refined"]
        assert set(fully) == {"qc-energy", "qc-force"}
        for rec in fully.values():
            # every atom a nonlocal rep-atom: the same equations (measured 4e-16, 0)
            assert rec["max_displacement_difference"] < 1e-12
            assert rec["energy_difference"] < 1e-12 * abs(rec["reference_energy"])

    def test_ghost_forces(self, run):
        ghost = run[0]["patch_test"]["ghost_force"]
        # force-based: no ghost forces at any uniform F (measured 3e-13, 2e-13)
        assert ghost["force"]["reference"] < 1e-10 and ghost["force"]["deformed"] < 1e-10
        # the dead-load correction removes the ghost forces of F = I only (3e-13; 0.035)
        assert ghost["ghost-corrected"]["reference"] < 1e-10
        assert ghost["ghost-corrected"]["deformed"] > 1e-2
        # energy-based: O(phi') ghost forces (measured 0.078 at F = I, 0.044 stretched)
        assert ghost["energy"]["reference"] > 1e-2 and ghost["energy"]["deformed"] > 1e-2

    def test_cauchy_born_constants_closed_form(self, run):
        """Pair potential, stress-free triangular lattice: with the 6 bonds of a shell at
        60 degree steps, sum cos^4 = 9/4 and sum cos^2 sin^2 = 3/4, so
        C11 = 9/4 k, C12 = C66 = 3/4 k, k = 1/(2 V_c) sum_shells (phi'' r^2 - phi' r)."""
        cb = run[0]["cauchy_born"]
        a = cb["lattice_constant"]
        lj = LennardJones(cutoff=2.1)
        r = np.array([a, np.sqrt(3.0) * a])  # NN and NNN shells inside the cutoff
        k = float(np.sum(lj.d2phi(r) * r**2 - lj.dphi(r) * r)) / (np.sqrt(3.0) * a**2)
        expect = np.array([[9, 3, 0], [3, 9, 0], [0, 0, 6]]) / 4.0 * k  # Mandel: 2 C66
        C = np.asarray(cb["elastic_constants_mandel"])
        np.testing.assert_allclose(C, expect, rtol=1e-12, atol=1e-12 * k)  # measured 3e-15
        assert cb["residual_stress"] < 1e-10  # relaxed lattice constant

    def test_stability_limit_is_where_the_flag_changes(self, run):
        cb = run[0]["cauchy_born"]
        assert [row["stable"] for row in cb["stability"]] == [True, True]
        lam = cb["stability_limit_stretch"]
        assert 1.03 < lam < 1.3  # measured 1.1131
        law = CauchyBorn(triangular(cb["lattice_constant"]), LennardJones(cutoff=2.1))
        F = np.multiply.outer([lam - 1e-5, lam + 1e-5], np.eye(2)).reshape(2, 4)
        assert law.stability(F).stable.tolist() == [True, False]

    def test_benchmark_table(self, run):
        summary = run[0]
        rows = summary["benchmark"]
        names = ["qc-energy", "qc-ghost-corrected", "qc-force", "bridging"]
        assert [r["method"] for r in rows] == names * 2
        assert summary["problem"]["reference_residual"] < 1e-9
        for m in names:
            err = [r["displacement_error"] for r in rows if r["method"] == m]
            frac = [r["dof_fraction"] for r in rows if r["method"] == m]
            # a larger atomistic region: smaller error (measured, e.g. qc-force 0.054 ->
            # 0.014, bridging 0.0041 -> 0.0031), more unknowns, still fewer than the full
            assert err[1] < err[0]
            assert frac[0] < frac[1] < 1.0

    def test_files_and_progress(self, run):
        summary, out, calls = run
        assert sorted(p.name for p in out.iterdir()) == ["benchmark.png", "qc.png", "summary.json"]
        for name in ("qc.png", "benchmark.png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        on_disk = json.loads((out / "summary.json").read_text())
        assert on_disk["patch_test"]["ghost_force"] == summary["patch_test"]["ghost_force"]
        total = calls[-1][2]
        assert [c[1] for c in calls] == list(range(total + 1))
        assert calls[-1][0] == "done" and total == 4 + 2 + 1


class TestChain:
    def test_soft_bond_chain_with_quasi_nonlocal_coupling(self, tmp_path):
        cfg = tiny(
            problem={"name": "soft-bond", "size": 81, "strain": 0.02},
            methods={"names": ["qc-energy", "qc-qnl", "qc-force"], "radii": [3.0, 6.0]},
            patch_test={"size": 41},
            plot={"method": "qc-qnl"},
        )
        summary = run_atomistic(cfg, tmp_path)
        ghost = summary["patch_test"]["ghost_force"]
        assert ghost["qnl"]["deformed"] < 1e-10  # measured 1.4e-13: QNL is ghost-free
        assert ghost["energy"]["deformed"] > 1e-2  # measured 0.017
        C = np.asarray(summary["cauchy_born"]["elastic_constants_mandel"])
        assert C.shape == (1, 1) and C[0, 0] > 0
        for rec in summary["fully_refined"].values():
            assert rec["max_displacement_difference"] < 1e-12  # measured 4e-16


class TestConfig:
    def test_default_is_the_2d_benchmark(self):
        cfg = load_atomistic_config()
        assert cfg.problem.name == "vacancy" and cfg.problem.size == 121
        assert cfg.checks.fully_refined

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            ("[problem]\nsize = 40\n", "problem"),
            ("[methods]\nnames = ['qc-magic']\n", "methods.names"),
            ("[methods]\nnames = ['qc-qnl', 'qc-force']\n", "qc-qnl"),
            ("[methods]\nradii = []\n", "methods.radii"),
            ("[plot]\nmethod = 'bridging'\n", "plot.method"),
            ("[patch_test]\nF = [[1.0]]\n", "patch_test.F"),
            ("[problem]\nstrain = 0.0\n", "strain"),
            ("[problem]\nsizee = 41\n", "sizee"),
        ],
    )
    def test_bad_input_names_the_field(self, tmp_path, text, field):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            load_atomistic_config(path)
