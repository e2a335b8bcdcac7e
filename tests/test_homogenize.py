"""Effective tensors of the periodic voxel-FE/FFT solver against exact results.

Every tolerance is either the CG tolerance (results that are exact for the
discretisation) or a discretisation error measured on this solver and stated beside
the assertion.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import numpy as np
import pytest

import scalebridge as sb
from scalebridge.materials import Conductivity, Elasticity

TOL = 1e-8  # CG tolerance for the "exact" cases


def lame(E: float, nu: float) -> tuple[float, float]:
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))


def iso_mandel_3d(lam: float, mu: float) -> np.ndarray:
    C = np.zeros((6, 6))
    C[:3, :3] = lam
    C[np.arange(6), np.arange(6)] += 2 * mu
    return C


class TestLaminates:
    """Layers aligned with the grid: the Q1 space contains the exact solution."""

    @pytest.mark.parametrize("shape", [(16, 16), (8, 8, 8)])
    def test_conduction_harmonic_and_arithmetic(self, shape):
        ms = sb.microstructure.laminate(shape, volume_fraction=0.25, axis=0)
        k1, k2 = 1.0, 20.0
        res = sb.homogenize(ms, {0: Conductivity(k=k1), 1: Conductivity(k=k2)}, tol=TOL)
        harmonic = 1.0 / (0.75 / k1 + 0.25 / k2)
        arithmetic = 0.75 * k1 + 0.25 * k2
        expected = np.diag([harmonic] + [arithmetic] * (len(shape) - 1))
        np.testing.assert_allclose(res.tensor, expected, rtol=1e-7, atol=1e-7)

    def test_elastic_backus_3d(self):
        f = 0.5
        ms = sb.microstructure.laminate((8, 4, 4), volume_fraction=f, axis=0)
        (E1, n1), (E2, n2) = (1.0, 0.3), (10.0, 0.2)
        res = sb.homogenize(ms, {0: Elasticity(E=E1, nu=n1), 1: Elasticity(E=E2, nu=n2)}, tol=TOL)
        lam = np.array(lame(E1, n1)[0:1] + lame(E2, n2)[0:1])
        mu = np.array([lame(E1, n1)[1], lame(E2, n2)[1]])
        w = np.array([1 - f, f])  # phase 0 = matrix, phase 1 = first layers

        def avg(x):
            return float(np.dot(w, x))

        M = lam + 2 * mu
        c11 = 1.0 / avg(1.0 / M)
        c12 = avg(lam / M) * c11
        c22 = avg(M - lam**2 / M) + avg(lam / M) ** 2 * c11
        c23 = avg(lam - lam**2 / M) + avg(lam / M) ** 2 * c11
        g_normal = 1.0 / avg(1.0 / mu)  # shear in planes containing the normal
        g_inplane = avg(mu)
        C = res.tensor
        np.testing.assert_allclose(
            [C[0, 0], C[0, 1], C[0, 2], C[1, 1], C[2, 2], C[1, 2]],
            [c11, c12, c12, c22, c22, c23],
            rtol=1e-7,
        )
        # Mandel shear entries are 2 G
        np.testing.assert_allclose(
            [C[3, 3], C[4, 4], C[5, 5]], [2 * g_inplane, 2 * g_normal, 2 * g_normal], rtol=1e-7
        )


class TestExactTheorems:
    # With equal shear moduli the HS interval shrinks to Hill's value, so the voxel-FE
    # result (first-order discretisation error) is reported outside it: expected here.
    @pytest.mark.filterwarnings("ignore:homogenize. effective tensor outside")
    @pytest.mark.parametrize("discretization", ["fe", "fourier", "rotated"])
    def test_hill_equal_shear_modulus(self, discretization):
        """Equal shear moduli: 1/(k* + G) = <1/(k + G)> for any geometry (Hill 1963).

        2D plane strain, k = lambda + G the in-plane bulk modulus.  The theorem is exact
        for the continuum.  The spectral Galerkin schemes reproduce it exactly (their
        projection does not depend on the material: one CG iteration, error 3e-16
        measured); the voxel elements approach it at first order.
        """
        G = 1.0
        lam = {0: 1.0, 1: 10.0}
        errors = []
        for n in (32, 64, 128):
            ms = sb.microstructure.sphere((n, n), volume_fraction=0.3)
            f = ms.volume_fractions()
            laws = {p: Elasticity(C=iso_mandel_3d(l, G)) for p, l in lam.items()}
            res = sb.homogenize(ms, laws, tol=TOL, discretization=discretization)
            k_exact = 1.0 / sum(f[p] / (lam[p] + 2 * G) for p in lam) - G
            # mean in-plane stress under the isotropic in-plane strain (1, 1, 0) / 2
            k_num = 0.5 * res.tensor[:2, :2].sum(axis=1)
            # the response to an isotropic strain is isotropic (x and y agree: cell symmetry)
            assert k_num[0] == pytest.approx(k_num[1], rel=1e-7)
            errors.append(abs(k_num[0] - k_exact) / k_exact)
        if discretization != "fe":
            assert max(errors) < 1e-12
            return
        # measured relative errors 4.3e-3, 2.1e-3, 1.0e-3 (4.9e-4 at 256^2): first order in h
        slope = np.polyfit(np.log([32, 64, 128]), np.log(errors), 1)[0]
        assert slope < -0.7
        assert errors[-1] < 2e-3

    def test_keller_reciprocity_2d_converges(self):
        """k*_xx(k1, k2) k*_yy(k2, k1) = k1 k2 in 2D (Keller 1964)."""
        defects = []
        for n in (32, 64, 128):
            ms = sb.microstructure.random_inclusions(
                (n, n), volume_fraction=0.3, radius=0.08, seed=1
            )
            a = sb.homogenize(ms, {0: Conductivity(k=1.0), 1: Conductivity(k=10.0)}, tol=TOL).tensor
            b = sb.homogenize(ms, {0: Conductivity(k=10.0), 1: Conductivity(k=1.0)}, tol=TOL).tensor
            defects.append(
                max(abs(a[0, 0] * b[1, 1] / 10.0 - 1.0), abs(a[1, 1] * b[0, 0] / 10.0 - 1.0))
            )
        # Keller holds for the continuum; measured defects of the voxel discretisation
        # 4.7 %, 2.7 %, 1.2 % (0.7 % at 256^2): first order in h
        slope = np.polyfit(np.log([32, 64, 128]), np.log(defects), 1)[0]
        assert slope < -0.8
        assert defects[-1] < 0.015

    def test_checkerboard_dykhne_converges(self):
        """2D checkerboard: k* = sqrt(k1 k2) (Dykhne 1970); error falls with resolution."""
        k1, k2 = 1.0, 10.0
        exact = np.sqrt(k1 * k2)
        errors = []
        for n in (16, 32, 64, 128):
            ms = sb.microstructure.checkerboard((n, n))
            res = sb.homogenize(ms, {0: Conductivity(k=k1), 1: Conductivity(k=k2)}, tol=TOL)
            errors.append(abs(res.tensor[0, 0] - exact) / exact)
            np.testing.assert_allclose(res.tensor[0, 0], res.tensor[1, 1], rtol=1e-7)
        assert all(e2 < e1 for e1, e2 in itertools.pairwise(errors))
        # measured relative errors 8.9 %, 5.1 %, 2.9 %, 1.7 % (rate about 0.8: corner singularities)
        assert errors[-1] < 0.02

    @pytest.mark.parametrize("discretization", ["fe", "fourier", "rotated"])
    def test_hashin_coated_inclusion_is_neutral(self, discretization):
        """A coated disk with the Hashin value k* in a k* matrix leaves k* unchanged."""
        k_core, k_shell = 10.0, 1.0
        a, b = 0.2, 0.35
        errs = []
        for n in (32, 64, 128):
            ms = sb.microstructure.coated_inclusion((n, n), core_radius=a, shell_radius=b)
            f = ms.volume_fractions()
            c = f[1] / (f[1] + f[2])  # the voxelised core fraction of the coated disk
            k_star = (
                k_shell
                * ((k_core + k_shell) + (k_core - k_shell) * c)
                / ((k_core + k_shell) - (k_core - k_shell) * c)
            )
            laws = {
                0: Conductivity(k=k_star),
                1: Conductivity(k=k_core),
                2: Conductivity(k=k_shell),
            }
            res = sb.homogenize(ms, laws, tol=TOL, discretization=discretization)
            errs.append(np.abs(res.tensor - k_star * np.eye(2)).max() / k_star)
        # voxelised circles, measured errors at 32^2, 64^2, 128^2 (256^2):
        # fe 8.9e-3, 5.1e-3, 2.7e-3 (1.2e-3); fourier 7.2e-3, 3.3e-3, 1.8e-3 (7.1e-4);
        # rotated 5.8e-3, 2.9e-3, 1.5e-3 (6.3e-4): first order for all three
        slope = np.polyfit(np.log([32, 64, 128]), np.log(errs), 1)[0]
        assert slope < -0.7
        assert errs[-1] < 4e-3


class TestPropertiesOfEveryTensor:
    @pytest.fixture(scope="class")
    @classmethod
    def result(cls):
        ms = sb.microstructure.random_inclusions(
            (20, 20, 20), volume_fraction=0.25, radius=0.16, seed=7
        )
        return sb.homogenize(
            ms, {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=50.0, nu=0.2)}, tol=1e-8
        )

    def test_symmetric_positive_definite(self, result):
        assert result.symmetry_error < 1e-7  # CG tolerance 1e-8
        assert np.linalg.eigvalsh(0.5 * (result.tensor + result.tensor.T)).min() > 0

    def test_inside_voigt_reuss_and_hs(self, result):
        assert result.bounds_check["voigt_reuss"] is True
        assert result.hill_mandel_residual < 1e-7

    def test_pores_converge_below_voigt(self):
        ms = sb.microstructure.sphere((24, 24, 24), volume_fraction=0.2)
        res = sb.homogenize(
            ms, {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=0.0, nu=0.3)}, tol=1e-6
        )
        assert max(res.iterations) < 60
        assert np.linalg.eigvalsh(res.tensor).min() > 0
        assert res.bounds_check["voigt_reuss"] is True


class TestSolveCell:
    def test_stress_control_matches_compliance(self):
        ms = sb.microstructure.random_inclusions((32, 32), volume_fraction=0.3, radius=0.1, seed=2)
        laws = {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=10.0, nu=0.25)}
        C = sb.homogenize(ms, laws, tol=1e-10).tensor
        S = np.array([1.0, -0.5, 0.3])
        sol = sb.solve_cell(ms, laws, sb.MacroLoad.stress(S), tol=1e-10)
        np.testing.assert_allclose(sol.average_stress, S, atol=1e-8)
        np.testing.assert_allclose(sol.average_strain, np.linalg.solve(C, S), rtol=1e-7)

    def test_mixed_control_uniaxial_stress(self):
        ms = sb.microstructure.laminate((16, 16), volume_fraction=0.5, axis=1)
        laws = {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=3.0, nu=0.3)}
        load = sb.MacroLoad.mixed(strain=[0.01, 0, 0], stress=[0, 0, 0], mask=[True, False, False])
        sol = sb.solve_cell(ms, laws, load, tol=1e-10)
        assert sol.average_strain[0] == pytest.approx(0.01, rel=1e-9)
        np.testing.assert_allclose(sol.average_stress[1:], 0.0, atol=1e-10)

    def test_fields_average_to_the_load(self):
        ms = sb.microstructure.sphere((16, 16, 16), volume_fraction=0.2)
        E = np.array([0.01, 0.0, -0.002, 0.0, 0.003, 0.0])
        laws = {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=10.0, nu=0.3)}
        sol = sb.solve_cell(ms, laws, E, tol=1e-8)
        assert sol.strain.shape == (6, 16, 16, 16)
        np.testing.assert_allclose(sol.strain.reshape(6, -1).mean(axis=1), E, atol=1e-14)
        assert sol.hill_mandel_residual < 1e-7

    def test_non_convergence_raises_with_history(self):
        ms = sb.microstructure.sphere((16, 16), volume_fraction=0.3)
        laws = {0: Conductivity(k=1.0), 1: Conductivity(k=100.0)}
        with pytest.raises(sb.ConvergenceError) as info:
            sb.solve_cell(ms, laws, [1.0, 0.0], tol=1e-12, max_iter=2)
        assert info.value.residuals.size == 3
        assert "max_iter=2" in str(info.value)


class TestBadInput:
    ms = sb.microstructure.laminate((8, 8), volume_fraction=0.5)
    laws: ClassVar = {0: Conductivity(k=1.0), 1: Conductivity(k=2.0)}

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"bc": "dirichlet"}, r"bc: 'dirichlet' is not one of 'periodic', 'kubc', 'subc'"),
            ({"bc": "kubc", "solver": "fft"}, r"solver: 'fft' handles periodic conditions only"),
            ({"solver": "lu"}, r"solver: 'lu' is not one of 'auto', 'fft', 'fe'"),
            (
                {"solver": "fe", "discretization": "fourier"},
                r"discretization: 'fourier' is spectral",
            ),
            ({"solver": "fe", "linear_solver": "lu"}, r"linear_solver: 'lu' is not one of"),
            ({"discretization": "fd"}, r"discretization: 'fd' is not one of 'fe', 'fourier'"),
            ({"tol": 0.0}, r"tol: must satisfy 0 < tol < 1, got 0.0"),
            ({"max_iter": 0}, r"max_iter: must be a positive integer, got 0"),
            ({"preconditioner": "ilu"}, r"preconditioner: 'ilu' is not one of"),
        ],
    )
    def test_options(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            sb.homogenize(self.ms, self.laws, **kwargs)

    def test_missing_material(self):
        with pytest.raises(ValueError, match=r"\[1\]"):
            sb.homogenize(self.ms, {0: Conductivity(k=1.0)})

    def test_wrong_load_length(self):
        with pytest.raises(ValueError, match="load: expected 2 gradient components, got 3"):
            sb.solve_cell(self.ms, self.laws, [1.0, 0.0, 0.0])

    def test_all_void(self):
        with pytest.raises(ValueError, match="every phase is void"):
            sb.homogenize(self.ms, {0: Conductivity(k=0.0), 1: Conductivity(k=0.0)})


class TestFrameIndifference:
    """Swapping grid axes permutes the effective tensor exactly (same discrete problem)."""

    def test_axis_swap_permutes_conductivity(self):
        ms = sb.microstructure.random_inclusions(
            (24, 16), volume_fraction=0.3, radius=0.1, seed=4, size=(1.5, 1.0)
        )
        laws = {0: Conductivity(k=1.0), 1: Conductivity(k=[[5.0, 1.0], [1.0, 3.0]])}
        swapped = sb.Microstructure(ms.labels.T, size=ms.size[::-1])
        swapped_laws = {0: laws[0], 1: Conductivity(k=[[3.0, 1.0], [1.0, 5.0]])}
        a = sb.homogenize(ms, laws, tol=1e-10).tensor
        b = sb.homogenize(swapped, swapped_laws, tol=1e-10).tensor
        P = np.array([[0, 1], [1, 0]])
        np.testing.assert_allclose(P @ b @ P.T, a, rtol=1e-8)

    def test_axis_permutation_permutes_stiffness_3d(self):
        ms = sb.microstructure.random_inclusions(
            (12, 10, 8), volume_fraction=0.2, radius=0.2, seed=5, size=(1.2, 1.0, 0.8)
        )
        laws = {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=20.0, nu=0.2)}
        perm = (1, 2, 0)  # new axis i is old axis perm[i]
        moved = sb.Microstructure(
            np.transpose(ms.labels, perm), size=tuple(ms.size[p] for p in perm)
        )
        a = sb.homogenize(ms, laws, tol=1e-10).tensor
        b = sb.homogenize(moved, laws, tol=1e-10).tensor
        # Mandel index of the pair (i, j) before and after the permutation
        pairs = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
        index = {frozenset(p) if p[0] != p[1] else p: r for r, p in enumerate(pairs)}

        def key(i, j):
            return (i, j) if i == j else frozenset((i, j))

        Q = np.zeros((6, 6))
        for r, (i, j) in enumerate(pairs):
            Q[r, index[key(perm[i], perm[j])]] = 1.0
        np.testing.assert_allclose(b, Q @ a @ Q.T, rtol=1e-7, atol=1e-9 * np.abs(a).max())

    def test_laminate_exact_on_a_stretched_cell(self):
        ms = sb.microstructure.laminate((8, 12), volume_fraction=0.5, axis=1, size=(0.3, 2.0))
        res = sb.homogenize(ms, {0: Conductivity(k=2.0), 1: Conductivity(k=8.0)}, tol=1e-10)
        np.testing.assert_allclose(res.tensor, np.diag([5.0, 3.2]), rtol=1e-8)


def test_homogeneous_anisotropic_cell_is_its_own_effective_tensor():
    """A uniform anisotropic cell: the cell load cancels exactly, only round-off is left;
    the solver must return the tensor itself (it broke down in CG before the round-off
    guard)."""
    import scalebridge as sb
    from scalebridge.materials import Conductivity

    k = np.array([[2.0, 0.6], [0.6, 1.0]])
    ms = sb.microstructure.laminate((8, 8), volume_fraction=0.5)
    res = sb.homogenize(ms, {0: Conductivity(k=k), 1: Conductivity(k=k)})
    np.testing.assert_allclose(res.tensor, k, atol=1e-12)
