"""FE-HMM oracles: exact a_hom with periodic coupling, O(eps/delta) Dirichlet error,
convergence in H to the homogenized solution, locally periodic a_hom(x)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from scalebridge import homogenize
from scalebridge.asymptotic.cell import PeriodicCoefficient, cell_correctors, default_coefficient
from scalebridge.cell.problem import KUBC, Periodic
from scalebridge.coupling.hmm import (
    HMMSettings,
    MultiscaleCoefficient,
    effective_tensors,
    hmm_settings,
    solve_hmm,
)
from scalebridge.coupling.hmm_micro import micro_tensor
from scalebridge.coupling.hmm_study import (
    _relative_errors_assembled,
    _tensor_grid,
    convergence_in_h,
    fitted_rate,
    format_table,
    plot_convergence,
    relative_errors,
    solve_fine,
    solve_reference_homogenized,
    tensor_error_vs_delta,
)

CELL = default_coefficient()


@pytest.fixture(scope="module")
def a_hom16() -> np.ndarray:
    return cell_correctors(CELL, resolution=16).a_hom


class TestMicroSolver:
    """The lean micro solver is the voxel Q1 discretisation of `scalebridge.cell`."""

    @pytest.mark.parametrize("bc", ["periodic", "kubc"])
    def test_matches_homogenize(self, bc: str) -> None:
        rng = np.random.default_rng(3)
        values = 1.0 + 3.0 * rng.random((12, 12))
        ms, laws = PeriodicCoefficient.from_function(lambda y: y[0] * 0 + 1.0, 2).voxel_problem(12)
        from scalebridge.materials import Conductivity

        laws = {i: Conductivity(k=float(v)) for i, v in enumerate(values.ravel())}
        ref = homogenize(ms, laws, bc=bc, solver="fe", linear_solver="direct").tensor
        A = micro_tensor(values, Periodic() if bc == "periodic" else KUBC(), 2)
        assert np.abs(A - ref).max() < 1e-12  # measured 3e-15: same discrete problem

    def test_laminate_exact(self) -> None:
        lam = np.tile([1.0, 4.0], (6, 3))  # values vary along axis 2: layers normal to it
        for bc in (Periodic(), KUBC()):
            A = micro_tensor(lam, bc, 2)
            assert A[0, 0] == pytest.approx(2.5, rel=1e-12)  # arithmetic mean along layers
        assert micro_tensor(lam, Periodic(), 2)[1, 1] == pytest.approx(1.6, rel=1e-12)

    def test_1d_harmonic_mean(self) -> None:
        v = np.array([1.0, 2.0, 4.0, 8.0])
        assert micro_tensor(v, KUBC(), 1)[0, 0] == pytest.approx(1 / np.mean(1 / v))


class TestPeriodicCoupling:
    def test_equals_cell_a_hom(self, a_hom16: np.ndarray) -> None:
        # eps = 1/8, N = 4: centroids sit at odd multiples of eps, so each sampling
        # domain samples the cell at the same voxel centres as cell_correctors(16)
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 8)
        sol = solve_hmm(a, 4, coupling="periodic")
        assert sol.tensors.shape == (16, 2, 2)
        assert np.abs(sol.tensors - a_hom16).max() < 1e-10  # measured 3e-12
        ms, laws = CELL.voxel_problem(16)
        ref = homogenize(ms, laws, tol=1e-10).tensor
        assert np.abs(sol.tensors - ref).max() < 1e-8  # CG tol 1e-10

    @pytest.mark.parametrize("ratio", [2, 3])
    def test_integer_delta_no_modelling_error(self, ratio: int, a_hom16: np.ndarray) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 8)
        A = effective_tensors(
            a, np.array([[0.125, 0.625], [0.375, 0.125]]), hmm_settings("periodic", ratio)
        )
        assert np.abs(A - a_hom16).max() < 1e-10  # measured 3e-12

    def test_any_point_to_sampling_error(self) -> None:
        # a shifted voxel grid is a different midpoint sampling: O(h^2), measured 4.5e-4
        a = MultiscaleCoefficient.periodic(CELL, eps=0.1)
        A = effective_tensors(a, np.random.default_rng(0).random((2, 5)))
        exact = 0.5 / math.sqrt(0.76)
        assert np.abs(A - exact * np.eye(2)).max() < 2e-3 * exact

    def test_reuse_shortcut(self, a_hom16: np.ndarray) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 8)
        s = HMMSettings(Periodic(), 1.0, 16, reuse_periodic=True)
        A = effective_tensors(a, np.array([[0.125, 0.375], [0.125, 0.875]]), s)
        assert np.abs(A - a_hom16).max() < 1e-10


class TestDirichletCoupling:
    def test_error_decays_like_eps_over_delta(self, a_hom16: np.ndarray) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=0.1)
        rows = tensor_error_vs_delta(a, [1, 2, 4, 8], a_hom16, [0.37, 0.52], ("dirichlet",))
        err = [r["error"] for r in rows]
        assert all(e1 > e2 for e1, e2 in itertools.pairwise(err))
        slope = fitted_rate([1, 2, 4, 8], err)
        assert slope == pytest.approx(-1.0, abs=0.1)  # measured -1.00 (0.48 -> 0.060)

    def test_dirichlet_stiffer_than_periodic(self, a_hom16: np.ndarray) -> None:
        # KUBC is an upper bound: A_D - a_hom is positive semi-definite
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 8)
        A = effective_tensors(a, np.array([[0.3], [0.6]]), hmm_settings("dirichlet", 2))[0]
        assert np.linalg.eigvalsh(A - a_hom16).min() > 0


class TestMacroConvergence:
    def test_rates_against_u0(self, a_hom16: np.ndarray) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 64)
        st = convergence_in_h(a, [4, 8, 16], a_hom16, 1.0, ref_divisions=64)
        # measured 1.96 / 0.99 (N = 2..32); u0 uses the same a_hom: no modelling error
        assert st["rate_l2"] == pytest.approx(2.0, abs=0.15)
        assert st["rate_h1"] == pytest.approx(1.0, abs=0.1)
        assert "| N |" in format_table(st["rows"], ["N", "l2", "h1"])

    def test_quadrature_points_variant(self) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 64)
        s1 = solve_hmm(a, 8)
        s2 = solve_hmm(a, 8, points="quadrature")
        assert s2.tensors.shape == (256, 2, 2)
        # constant a_hom up to the O(h^2) sampling shift: same solution to 1e-3
        assert abs(s1.u.max() - s2.u.max()) < 1e-3 * s1.u.max()

    def test_plot(self, tmp_path, a_hom16: np.ndarray) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 64)
        st = convergence_in_h(a, [2, 4], a_hom16, 1.0, ref_divisions=16)
        rows = tensor_error_vs_delta(a, [1, 2], a_hom16, [0.3, 0.3])
        p = plot_convergence(st, rows, str(tmp_path / "hmm.png"))
        assert p.read_bytes()[:4] == b"\x89PNG"


class TestRelativeErrors:
    """The chunked grid evaluation equals interpolation on the reference + assembly."""

    def test_grid_path_matches_assembled(self, a_hom16: np.ndarray) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 16)
        sol = solve_hmm(a, 4)
        assert _tensor_grid(sol.basis) is not None
        fine = solve_fine(a, per_eps=4, multiple_of=[4])  # Q1, h = 1/64
        u0 = solve_reference_homogenized(a_hom16, 2, divisions=12)  # Q2, h = 1/12
        for ref in (fine, u0):
            old = _relative_errors_assembled(sol, ref)
            for chunk in (7, 65536):
                new = relative_errors(sol, ref, chunk=chunk)
                for k in ("l2", "h1"):
                    assert abs(new[k] - old[k]) < 1e-12 * old[k]  # measured 4e-15

    def test_unstructured_falls_back(self, a_hom16: np.ndarray) -> None:
        import skfem

        a = MultiscaleCoefficient.periodic(CELL, eps=1 / 16)
        sol = solve_hmm(a, skfem.MeshTri.init_tensor(*[np.linspace(0, 1, 5)] * 2))
        assert _tensor_grid(sol.basis) is None
        ref = solve_reference_homogenized(a_hom16, 2, divisions=8)
        assert relative_errors(sol, ref) == _relative_errors_assembled(sol, ref)


class TestLocallyPeriodic:
    def test_a_hom_of_x(self) -> None:
        b16 = cell_correctors(CELL, resolution=16).a_hom
        a = MultiscaleCoefficient.locally_periodic(
            lambda x, y: (1.0 + x[0]) * CELL(y), eps=1 / 8, ndim=2
        )
        sol = solve_hmm(a, 4)
        expected = (1.0 + sol.points[0])[:, None, None] * b16
        assert np.abs(sol.tensors - expected).max() < 1e-10  # measured 5e-12

    def test_unfrozen_first_order_error(self) -> None:
        # sampling a(x) itself (slow variable not frozen): O(delta) error in A_K
        a = MultiscaleCoefficient.locally_periodic(
            lambda x, y: (1.0 + x[0]) * CELL(y), eps=1 / 8, ndim=2
        )
        x = np.array([[0.125], [0.125]])
        b16 = cell_correctors(CELL, resolution=16).a_hom
        A = effective_tensors(a, x, hmm_settings(freeze_slow=False))[0]
        rel = np.abs(A - 1.125 * b16).max() / 1.125
        assert 1e-3 < rel < 0.05  # measured 2.0e-2 (delta = eps): (1 + x1) varies by delta


class TestInputs:
    def test_delta_below_eps_warns(self) -> None:
        with pytest.warns(RuntimeWarning, match="delta_over_eps"):
            hmm_settings("periodic", 0.5)

    def test_h_below_eps_warns(self) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=0.25)
        with pytest.warns(RuntimeWarning, match="mesh: H"):
            solve_hmm(a, 8, voxels_per_eps=4)

    def test_unknown_coupling(self) -> None:
        a = MultiscaleCoefficient.periodic(CELL, eps=0.1)
        with pytest.raises(ValueError, match="coupling: 'neumann'"):
            solve_hmm(a, 4, coupling="neumann")

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [({"voxels_per_eps": 1}, "voxels_per_eps"), ({"points": "edges"}, "points")],
    )
    def test_bad_settings(self, kwargs: dict, name: str) -> None:
        with pytest.raises(ValueError, match=name):
            hmm_settings(**kwargs)

    def test_bad_eps(self) -> None:
        with pytest.raises(ValueError, match="eps"):
            MultiscaleCoefficient.general(lambda x: x[0] * 0 + 1, eps=0.0, ndim=2)

    def test_general_1d(self) -> None:
        # 1D: A_K is the harmonic mean; a = 1/(2 + sin(2 pi x / eps)) has a_hom = 1/2
        a = MultiscaleCoefficient.general(
            lambda x: 1.0 / (2.0 + np.sin(2 * np.pi * x[0] / 0.01)), eps=0.01, ndim=1
        )
        sol = solve_hmm(a, 16, f=1.0, coupling="dirichlet")
        assert np.abs(sol.tensors - 0.5).max() < 1e-12
        assert sol.u.max() == pytest.approx(1 / 8 / 0.5, rel=1e-12)  # x(1-x)/(2 a) at 1/2
