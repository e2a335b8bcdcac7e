"""Hierarchical coupling: Latin-hypercube database of a Cauchy-Born law, polynomial W(E)
surrogate (elastic constants, P = dW/dF, symmetric tangent, frame indifference,
out-of-range detection) and macro finite-strain solves with both laws."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalebridge.atomistic import (
    CauchyBorn,
    Harmonic,
    LennardJones,
    relax_lattice_constant,
    triangular,
)
from scalebridge.atomistic.hierarchical import (
    OutOfRangeError,
    OutOfRangeWarning,
    build_database,
    compare_macro,
    fit_surrogate,
    load_database,
    save_database,
    strain_box,
    stretched_sheet,
)
from scalebridge.fem import SolidProblem, plate_with_hole
from scalebridge.materials import Elasticity

LJ = LennardJones(cutoff=2.1)
LJ_LAW = CauchyBorn(relax_lattice_constant(triangular(1.0), LJ), LJ)


@pytest.fixture(scope="module")
def lj_db():
    return build_database(LJ_LAW, 200, bounds=0.05, seed=0)


@pytest.fixture(scope="module")
def lj_surrogate(lj_db):
    return fit_surrogate(lj_db, degree=6)


@pytest.fixture(scope="module")
def hole_mesh():
    return plate_with_hole(size=0.1, hole_size=0.04)


def rotation(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


class TestSampling:
    @pytest.mark.parametrize("measure", ["green-lagrange", "stretch"])
    def test_latin_hypercube_strata_and_round_trip(self, measure):
        lower, upper = [-0.02, -0.05, 0.0], [0.04, 0.05, 0.03]
        box = strain_box(2, (lower, upper), measure)
        n = 50
        F = box.sample(n, seed=3)
        c = box.components(F)
        # every component falls once into each of the n equal strata (Latin hypercube)
        strata = np.floor((c - box.lower) / (box.upper - box.lower) * n).astype(int)
        for k in range(3):
            assert sorted(strata[:, k].tolist()) == list(range(n))
        # the samples are symmetric stretches U (no rotation), inside the box
        Fm = F.reshape(n, 2, 2)
        np.testing.assert_allclose(Fm, np.swapaxes(Fm, 1, 2), atol=1e-15)
        assert box.contains(F).all()

    def test_bad_boxes(self):
        with pytest.raises(ValueError, match="half-width"):
            strain_box(2, -0.1)
        with pytest.raises(ValueError, match="3 finite values"):
            strain_box(2, ([0.0, 0.0], [0.1, 0.1]))
        with pytest.raises(ValueError, match="measure"):
            strain_box(2, 0.1, "log")
        with pytest.raises(ValueError, match="positive definite"):
            strain_box(2, 0.7).sample(200)


class TestDatabase:
    @pytest.mark.parametrize("suffix", [".npz", ".h5"])
    def test_round_trip_is_exact_and_atomic(self, lj_db, tmp_path, suffix):
        path = save_database(lj_db, tmp_path / f"db{suffix}")
        back = load_database(path)
        for name in ("F", "energy", "stress"):
            np.testing.assert_array_equal(getattr(back, name), getattr(lj_db, name))
        np.testing.assert_array_equal(back.box.upper, lj_db.box.upper)
        assert back.box.measure == lj_db.box.measure and back.law == lj_db.law
        assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left

    def test_database_holds_the_law(self, lj_db):
        P, _, _ = LJ_LAW.evaluate(lj_db.F[:5])
        np.testing.assert_allclose(lj_db.stress[:5], P, rtol=1e-15, atol=1e-15)
        # batch size changes the summation order: 1 ulp
        np.testing.assert_allclose(lj_db.energy[:5], LJ_LAW.energy(lj_db.F[:5]), rtol=1e-15)

    def test_bad_suffix(self, lj_db, tmp_path):
        with pytest.raises(ValueError, match=r"\.npz"):
            save_database(lj_db, tmp_path / "db.txt")


class TestSurrogate:
    def test_elastic_constants_within_fit_error(self, lj_surrogate):
        C_cb = LJ_LAW.elastic_constants()
        err = np.abs(lj_surrogate.elastic_constants() - C_cb).max() / np.abs(C_cb).max()
        fit = lj_surrogate.fit_error["stress_max"]
        assert fit < 1e-3  # measured 6.2e-4 (degree 6, |E_ij| <= 0.05, 200 samples)
        assert err < fit  # measured 6.0e-4

    def test_fit_error_decreases_with_degree(self, lj_db):
        errs = [fit_surrogate(lj_db, degree=p).fit_error["stress_rms"] for p in (2, 4, 6)]
        assert errs[0] > 10 * errs[1] > 100 * errs[2]  # measured 0.37, 0.020, 3.4e-4

    def test_stress_is_energy_derivative_and_tangent_symmetric(self, lj_surrogate):
        F = strain_box(2, 0.03).sample(5, seed=7).reshape(5, 2, 2)
        F = (rotation(0.3) @ F).reshape(5, 4)  # with a rotation: P is not symmetric
        P, A, _ = lj_surrogate.evaluate(F)

        def errors(h):
            E = np.eye(4) * h
            W, ev = lj_surrogate.energy, lj_surrogate.evaluate
            dW = np.stack([(W(F + e) - W(F - e)) / (2 * h) for e in E], 1)
            dP = np.stack([(ev(F + e)[0] - ev(F - e)[0]) / (2 * h) for e in E], 2)
            return np.abs(dW - P).max() / np.abs(P).max(), np.abs(dP - A).max() / np.abs(A).max()

        coarse, fine = errors(1e-4), errors(1e-6)
        # central differences converge as h^2 to P and A: measured 1.1e-6 / 3.9e-7 at
        # h = 1e-4, 7.9e-10 / 6.8e-11 at h = 1e-6 (round-off takes over below)
        assert fine[0] < 5e-9 and fine[1] < 5e-10
        assert coarse[0] > 100 * fine[0] and coarse[1] > 100 * fine[1]
        # exact symmetry up to round-off: measured 3e-17 relative
        assert np.abs(A - np.swapaxes(A, 1, 2)).max() < 1e-14 * np.abs(A).max()

    def test_frame_indifference(self, lj_surrogate):
        F = strain_box(2, 0.04).sample(20, seed=1).reshape(20, 2, 2)
        R = rotation(1.1)
        W0 = lj_surrogate.energy(F.reshape(20, 4))
        W1 = lj_surrogate.energy((R @ F).reshape(20, 4))
        P0 = lj_surrogate.evaluate(F.reshape(20, 4))[0].reshape(20, 2, 2)
        P1 = lj_surrogate.evaluate((R @ F).reshape(20, 4))[0].reshape(20, 2, 2)
        # only C = F^T F enters: equal up to the round-off of C (measured 4e-16 relative)
        assert np.abs(W1 - W0).max() < 1e-14 * np.abs(W0).max()
        assert np.abs(P1 - R @ P0).max() < 1e-13 * np.abs(P0).max()  # measured 4e-15

    def test_out_of_range_detection(self, lj_db):
        outside = np.array([[1.1, 0.0, 0.0, 1.0]])  # E11 = 0.105 > 0.05
        inside = np.array([[1.02, 0.0, 0.0, 1.0]])
        warn = fit_surrogate(lj_db, degree=4)
        with pytest.warns(OutOfRangeWarning, match="1 of 1 point"):
            warn.evaluate(outside)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warn.evaluate(inside)
            fit_surrogate(lj_db, degree=4, out_of_range="ignore").evaluate(outside)
            fit_surrogate(lj_db, degree=4, margin=1.0).evaluate(outside)  # box widened
        with pytest.raises(OutOfRangeError, match="outside the sampled"):
            fit_surrogate(lj_db, degree=4, out_of_range="raise").evaluate(outside)

    def test_stretch_measure_box(self):
        db = build_database(LJ_LAW, 60, bounds=0.03, measure="stretch", seed=2)
        sur = fit_surrogate(db, degree=4, out_of_range="raise")
        assert sur.box.measure == "stretch"
        sur.evaluate(db.F)  # every sample is inside its own box
        with pytest.raises(OutOfRangeError):
            sur.evaluate([1.04, 0.0, 0.0, 1.0])  # U11 - 1 = 0.04 > 0.03

    def test_bad_arguments(self, lj_db):
        with pytest.raises(ValueError, match="degree"):
            fit_surrogate(lj_db, degree=1)
        with pytest.raises(ValueError, match="samples"):
            fit_surrogate(build_database(LJ_LAW, 5, bounds=0.05), degree=6)
        with pytest.raises(ValueError, match="out_of_range"):
            fit_surrogate(lj_db, out_of_range="silent")
        with pytest.raises(ValueError, match="finite-strain"):
            build_database(Elasticity(E=1.0, nu=0.3), 10)


class TestASE:
    def test_emt_copper_surrogate_reproduces_elastic_constants(self):
        ase_build = pytest.importorskip("ase.build")
        from ase.calculators.emt import EMT

        from scalebridge.atomistic import ASECauchyBorn

        law = ASECauchyBorn(ase_build.bulk("Cu", "fcc", a=3.6), EMT())
        db = build_database(law, 60, bounds=0.01, seed=1)
        sur = fit_surrogate(db, degree=3)
        C = law.elastic_constants()
        err = np.abs(sur.elastic_constants() - C).max() / np.abs(C).max()
        assert sur.fit_error["stress_max"] < 5e-3  # measured 3.4e-3
        assert err < 2 * sur.fit_error["stress_max"]  # measured 5.7e-3 = 1.7 x fit error


class TestMacro:
    def test_nearest_neighbour_lattice_is_isotropic_linear_at_small_stretch(self, hole_mesh):
        k = 1.0
        law = CauchyBorn(triangular(1.0), Harmonic(k=k, r0=1.0))
        mu = np.sqrt(3.0) * k / 4.0  # lambda = mu (2D), plane strain K = lambda + 2 mu / 3
        linear = Elasticity(K=mu + 2.0 * mu / 3.0, G=mu)
        diffs = []
        for strain in (1e-4, 1e-5):
            cb = stretched_sheet(hole_mesh, law, strain).solve(tol=1e-10).final.displacement
            lin = SolidProblem(hole_mesh, linear).fix("left", [0]).fix("bottom", [1])
            u = lin.prescribe("right", 0, strain).solve(tol=1e-12).final.displacement
            diffs.append(np.abs(cb - u).max() / np.abs(u).max())
        # geometric + material nonlinearity: O(strain), measured 0.41 x strain
        assert diffs[1] < 1e-5
        assert 9.0 < diffs[0] / diffs[1] < 11.0

    def test_surrogate_macro_solution_converges_to_cauchy_born(self, lj_db, hole_mesh, tmp_path):
        db = load_database(save_database(lj_db, tmp_path / "db.h5"))
        rows = []
        for degree in (5, 7):
            sur = fit_surrogate(db, degree=degree)
            with warnings.catch_warnings():
                # the first Newton iterate of an increment (boundary displaced, interior
                # not) strains the boundary elements beyond the box; the solution is inside
                warnings.simplefilter("ignore", OutOfRangeWarning)
                cmp = compare_macro(LJ_LAW, sur, hole_mesh, strain=0.01, steps=2)
            assert cmp.in_range == 1.0
            rows.append((sur.fit_error["stress_max"], cmp.displacement_error, cmp.force_error))
        (fit5, u5, f5), (fit7, u7, f7) = rows
        # measured: fit 4.1e-3 -> 2.0e-4, displacement 6.5e-3 -> 3.2e-4 (the lateral
        # contraction is the most sensitive), reaction 1.8e-3 -> 5.3e-5
        assert u7 < 1e-3 and f7 < 2e-4
        assert u5 / u7 > 10 and f5 / f7 > 10 and fit5 / fit7 > 10
