"""Hierarchical coupling: sampling plans, the offline RVE database, potential and GP
surrogates (exactness, consistency, symmetry, out-of-range detection)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalebridge.cell.nonlinear_common import NewtonSettings
from scalebridge.coupling.fe2 import RVELaw
from scalebridge.coupling.surrogate import (
    DatabaseMismatchError,
    GPSurrogate,
    LoadingPlan,
    OutOfRangeError,
    OutOfRangeWarning,
    PotentialSurrogate,
    build_database,
    fit_surrogate,
    load_box,
    load_factors,
    read_database,
    unit_samples,
    validate,
)
from scalebridge.coupling.surrogate.database import append_path
from scalebridge.coupling.surrogate.sampling import path_key
from scalebridge.homogenization import homogenize
from scalebridge.materials import Elasticity, J2Plasticity
from scalebridge.microstructure import Microstructure
from scalebridge.microstructure.generators import sphere
from scalebridge.tensors import full_to_mandel, mandel_to_full

MATRIX = J2Plasticity(E=3500.0, nu=0.35, yield_stress=40.0, isotropic_modulus=300.0)
FIBRE = Elasticity(E=72000.0, nu=0.22)
TIGHT = NewtonSettings(tol=1e-10, linear_tol=1e-10)
BOX = load_box(2, ([-0.005, -0.03, -0.03], [0.015, 0.03, 0.03]), "volumetric-deviatoric")


def j2_rve(grid: int = 6, **kw) -> RVELaw:
    return RVELaw(sphere((grid, grid), volume_fraction=0.35), {0: MATRIX, 1: FIBRE}, **kw)


@pytest.fixture(scope="module")
def j2_db(tmp_path_factory):
    """Monotonic radial paths of a 6x6 J2 fibre cell: 48 paths x 6 steps."""
    path = tmp_path_factory.mktemp("j2") / "db.h5"
    plan = LoadingPlan(BOX, 48, steps=6, grading=2.0, seed=1)
    build_database(j2_rve(settings=TIGHT), plan, path)
    return read_database(path)


@pytest.fixture(scope="module")
def potential(j2_db):
    return fit_surrogate(j2_db)  # defaults: 10 knots, 4 harmonics, 103 terms


@pytest.fixture(scope="module")
def gp(j2_db):
    return fit_surrogate(j2_db, "gp", max_points=400)


def rotate(x: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Mandel vectors (or matrices of Mandel rows) of Q t Q^T."""
    return full_to_mandel(Q @ mandel_to_full(x) @ Q.T)


def rotation(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


# --------------------------------------------------------------------------- sampling
class TestSampling:
    def test_latin_hypercube_sobol_and_grid(self):
        u = unit_samples("lhs", 16, 3, seed=2)
        strata = np.floor(u * 16).astype(int)
        for k in range(3):  # one point per stratum and axis
            assert sorted(strata[:, k].tolist()) == list(range(16))
        s = unit_samples("sobol", 16, 3, seed=2)
        assert s.shape == (16, 3) and np.all((s >= 0) & (s < 1))
        g = unit_samples("grid", 27, 3)
        assert sorted({tuple(r) for r in g.tolist()}) == sorted(
            {(a, b, c) for a in (0, 0.5, 1) for b in (0, 0.5, 1) for c in (0, 0.5, 1)}
        )
        with pytest.raises(ValueError, match="k\\*\\*3"):
            unit_samples("grid", 10, 3)
        with pytest.raises(ValueError, match="method"):
            unit_samples("halton", 8, 3)

    def test_box_coordinates_round_trip(self):
        x = BOX.sample(20, "sobol", seed=0)
        c = BOX.to_coordinates(x)
        np.testing.assert_allclose(c[:, 0], x[:, 0] + x[:, 1], atol=1e-16)  # e11 + e22
        np.testing.assert_allclose(c[:, 1], (x[:, 0] - x[:, 1]) / 2, atol=1e-16)
        np.testing.assert_allclose(c[:, 2], x[:, 2] / np.sqrt(2), atol=1e-16)  # e12
        np.testing.assert_allclose(BOX.to_mandel(c), x, atol=1e-16)
        assert BOX.contains(x).all()

    @pytest.mark.parametrize("method", ["lhs", "sobol"])
    def test_radial_paths_reach_the_boundary_and_stay_inside(self, method):
        plan = LoadingPlan(BOX, 10, method=method, steps=4, grading=2.0)
        paths = plan.paths()
        f = load_factors(4, grading=2.0)
        for p in paths:
            np.testing.assert_allclose(p, f[:, None] * p[-1], atol=1e-17)  # radial, from 0
        ends = np.array([p[-1] for p in paths])
        c = BOX.to_coordinates(ends)
        on_face = np.isclose(c, BOX.lower, rtol=1e-12) | np.isclose(c, BOX.upper, rtol=1e-12)
        assert on_face.any(axis=1).all() and BOX.contains(np.concatenate(paths)).all()
        assert len(set(plan.keys())) == len(paths)  # distinct paths, distinct keys

    def test_cyclic_paths_reverse_inside_the_box(self):
        plan = LoadingPlan(BOX, 5, steps=2, loading="cyclic", ratio=-1.0)
        assert plan.factors.tolist() == [0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5, 0.0, 0.5, 1.0]
        assert BOX.contains(np.concatenate(plan.paths())).all()

    def test_grid_directions_met_twice_are_dropped(self):
        box = load_box(2, 0.01)
        plan = LoadingPlan(box, 27, method="grid", steps=1)
        # 27 grid points: the centre (zero) is dropped, and the boundary directions are
        # all distinct: 26 paths
        assert len(plan.amplitudes()) == 26

    def test_bad_plans(self):
        with pytest.raises(ValueError, match="outside"):
            LoadingPlan(load_box(2, ([0.01, -0.1, -0.1], [0.02, 0.1, 0.1])), 4)
        with pytest.raises(ValueError, match="grading"):
            LoadingPlan(BOX, 4, grading=0.5)
        with pytest.raises(ValueError, match="2D only"):
            load_box(3, 0.1, "volumetric-deviatoric")


# --------------------------------------------------------------------------- database
class TestDatabase:
    PLAN = LoadingPlan(BOX, 6, steps=3, seed=4)

    def test_records_are_the_rve_along_its_path(self, tmp_path):
        rve = j2_rve(4)
        build_database(rve, self.PLAN, tmp_path / "db.h5", batch=4)
        db = read_database(tmp_path / "db.h5")
        assert db.n_paths == 6 and db.size == 18 and len(set(db.keys)) == 6
        # oracle: the same RVE stepped along path 2 by hand, history committed each step
        p = self.PLAN.paths()[2]
        rec = np.flatnonzero(db.path == db.keys.index(path_key(p, "monotonic")))
        state = None
        for k, j in enumerate(rec):
            sig, tan, state = rve.evaluate(p[k][None], state)
            np.testing.assert_array_equal(db.stress[j], sig[0])
            np.testing.assert_array_equal(db.tangent[j], tan[0])
            np.testing.assert_array_equal(db.strain[j], p[k])
        prov = db.provenance
        assert prov["microstructure"]["symmetry"] == "square"
        assert prov["materials"]["0"].startswith("J2Plasticity(E=3500.0")
        assert prov["solver"]["settings"]["tol"] == NewtonSettings().tol
        assert db.meta["version"][0] and db.meta["wall_seconds"] > 0
        assert [f.name for f in tmp_path.iterdir()] == ["db.h5"]  # no temporary left

    def test_resume_after_interruption_without_duplicates(self, tmp_path):
        class Interrupt(Exception):
            pass

        def stop_after_first_batch(stage, done, total):
            raise Interrupt

        with pytest.raises(Interrupt):
            build_database(
                j2_rve(4), self.PLAN, tmp_path / "db.h5", batch=2, progress=stop_after_first_batch
            )
        assert read_database(tmp_path / "db.h5").n_paths == 2
        report = build_database(j2_rve(4), self.PLAN, tmp_path / "db.h5", batch=2)
        assert (report.skipped, report.solved, report.records) == (2, 4, 18)
        again = build_database(j2_rve(4), self.PLAN, tmp_path / "db.h5")
        assert (again.skipped, again.solved, again.records) == (6, 0, 18)
        # the resumed file holds the same records as an uninterrupted build (bitwise)
        build_database(j2_rve(4, executor="threads", max_workers=2), self.PLAN, tmp_path / "ref.h5")
        a, b = read_database(tmp_path / "db.h5"), read_database(tmp_path / "ref.h5")
        assert sorted(a.keys) == sorted(b.keys) and len(set(a.keys)) == 6
        for key in a.keys:
            ra = np.flatnonzero(a.path == a.keys.index(key))
            rb = np.flatnonzero(b.path == b.keys.index(key))
            np.testing.assert_array_equal(a.stress[ra], b.stress[rb])
            np.testing.assert_array_equal(a.tangent[ra], b.tangent[rb])
        # appending a stored path is refused
        db = a
        rec = db.path == 0
        result = {
            "stress": db.stress[rec],
            "tangent": db.tangent[rec],
            "seconds": 0,
            "iterations": 0,
        }
        from scalebridge.coupling.surrogate import rve_provenance

        with pytest.raises(ValueError, match="stored already"):
            append_path(
                tmp_path / "db.h5",
                rve_provenance(j2_rve(4)),
                db.keys[0],
                self.PLAN,
                db.strain[rec],
                result,
            )

    @pytest.mark.parametrize(
        "other",
        [
            {"materials": {0: J2Plasticity(E=3500.0, nu=0.35, yield_stress=45.0), 1: FIBRE}},
            {"settings": NewtonSettings(tol=1e-6)},
            {"labels": 1 - sphere((4, 4), volume_fraction=0.35).labels},
        ],
        ids=["other-phase-law", "other-solver-settings", "other-microstructure"],
    )
    def test_records_of_another_rve_or_settings_are_refused(self, tmp_path, other):
        build_database(j2_rve(4), LoadingPlan(BOX, 2, steps=1), tmp_path / "db.h5")
        ms = Microstructure(other.get("labels", sphere((4, 4), volume_fraction=0.35).labels))
        mats = other.get("materials", {0: MATRIX, 1: FIBRE})
        rve = RVELaw(ms, mats, settings=other.get("settings"))
        with pytest.raises(DatabaseMismatchError, match="another RVE or other settings"):
            build_database(rve, LoadingPlan(BOX, 2, steps=1, seed=9), tmp_path / "db.h5")
        assert read_database(tmp_path / "db.h5").n_paths == 2  # untouched


# --------------------------------------------------------------------------- surrogates
class TestLinearElasticRVE:
    def test_potential_reproduces_the_effective_tensor_exactly(self, tmp_path):
        ms = sphere((6, 6), volume_fraction=0.35)
        mats = {0: Elasticity(E=3500.0, nu=0.35), 1: FIBRE}
        build_database(
            RVELaw(ms, mats, settings=TIGHT), LoadingPlan(BOX, 24, steps=2), tmp_path / "db.h5"
        )
        db = read_database(tmp_path / "db.h5")
        law, report = fit_surrogate(db, knots=6, holdout=0.25)
        C = homogenize(ms, mats, discretization="fourier", tol=1e-12).tensor
        # the smooth part (square symmetry, degree 2) holds every square-symmetric tensor;
        # the hinges are not needed: exact up to the cell solver tolerance (measured
        # 2.5e-13 relative)
        assert np.abs(law.stiffness() - C).max() < 1e-10 * np.abs(C).max()
        assert report.errors["stress_max"] < 1e-10  # held-out paths: measured 2.6e-14
        x = BOX.sample(5, seed=3)
        np.testing.assert_allclose(
            law.evaluate(x)[0], x @ C.T, rtol=0, atol=1e-9 * np.abs(x @ C).max()
        )


class TestPotentialSurrogate:
    def test_held_out_error(self, potential):
        law, report = potential
        # 38 training / 10 held-out paths of 6 steps in a 6x6 J2 cell: measured RMS 1.2 %,
        # max 1.6 %; the radial tangent (tangent @ strain along the path) 3.5 %
        assert report.errors["stress_rms"] < 0.02 and report.errors["stress_max"] < 0.025
        assert report.errors["radial_tangent_rms"] < 0.06
        assert report.info["test_paths"] == 10 and law.fit_error == report.errors

    def test_stress_and_tangent_are_derivatives_of_the_energy(self, potential):
        law, _ = potential
        x = BOX.sample(8, seed=11) * 0.9
        sig, A, _ = law.evaluate(x)

        def errors(h):
            E = np.eye(3) * h
            dW = np.stack([(law.energy(x + e) - law.energy(x - e)) / (2 * h) for e in E], 1)
            dS = np.stack(
                [(law.evaluate(x + e)[0] - law.evaluate(x - e)[0]) / (2 * h) for e in E], 2
            )
            return np.abs(dW - sig).max() / np.abs(sig).max(), np.abs(dS - A).max() / np.abs(
                A
            ).max()

        coarse, fine = errors(1e-4), errors(1e-6)
        # central differences converge as h^2 to the exact stress and tangent: measured
        # 9.1e-6 / 1.0e-4 at h = 1e-4 and 9.1e-10 / 1.0e-8 at h = 1e-6
        assert fine[0] < 1e-8 and fine[1] < 1e-7
        assert coarse[0] > 100 * fine[0] and coarse[1] > 100 * fine[1]
        # a Hessian: symmetric to round-off (measured 8e-16 relative)
        assert np.abs(A - np.swapaxes(A, 1, 2)).max() <= 1e-13 * np.abs(A).max()

    def test_objective_under_the_square_group(self, potential):
        law, _ = potential
        x = BOX.sample(10, seed=5) * 0.9
        sig, A, _ = law.evaluate(x)
        reflect = np.diag([1.0, -1.0])
        for Q in (rotation(np.pi / 2), reflect, rotation(np.pi / 2) @ reflect):
            sig_q, A_q, _ = law.evaluate(rotate(x, Q))
            R = rotate(np.eye(3), Q).T  # Mandel matrix of the map t -> Q t Q^T
            # invariant inputs: equal up to round-off (measured 3e-15 relative)
            np.testing.assert_allclose(
                sig_q, rotate(sig, Q), rtol=0, atol=1e-12 * np.abs(sig).max()
            )
            np.testing.assert_allclose(A_q, R @ A @ R.T, rtol=0, atol=1e-12 * np.abs(A).max())
        # the fibre lattice is anisotropic: a 45 degree rotation is not a symmetry
        # (measured 7.6 % difference)
        sig_45 = law.evaluate(rotate(x, rotation(np.pi / 4)))[0]
        assert np.abs(sig_45 - rotate(sig, rotation(np.pi / 4))).max() > 0.02 * np.abs(sig).max()

    def test_isotropic_cell_gives_a_frame_indifferent_law(self, tmp_path):
        rve = RVELaw(Microstructure(np.zeros((2, 2), dtype=int)), [MATRIX])
        build_database(rve, LoadingPlan(BOX, 24, steps=5, grading=2.0), tmp_path / "db.h5")
        db = read_database(tmp_path / "db.h5")
        law, report = fit_surrogate(db, symmetry="isotropic", knots=8)
        x = BOX.sample(6, seed=2) * 0.5
        sig = law.evaluate(x)[0]
        for theta in (0.3, 1.1):
            Q = rotation(theta)
            sig_q = law.evaluate(rotate(x, Q))[0]
            np.testing.assert_allclose(
                sig_q, rotate(sig, Q), rtol=0, atol=1e-12 * np.abs(sig).max()
            )
        assert report.errors["stress_rms"] < 0.012  # homogeneous J2 knee: measured 0.61 %

    def test_unloading_is_not_represented(self, potential, tmp_path):
        law, _ = potential
        plan = LoadingPlan(BOX, 3, steps=4, loading="cyclic", ratio=0.0, grading=1.0, seed=8)
        build_database(j2_rve(settings=TIGHT), plan, tmp_path / "cyc.h5")
        cyc = read_database(tmp_path / "cyc.h5")
        with pytest.raises(ValueError, match="no monotonic paths"):
            fit_surrogate(cyc)
        unloading = cyc.factor < np.maximum.accumulate(cyc.factor)  # after the reversal
        err = validate(law, cyc, unloading).errors["stress_rms"]
        # elastic unloading from a plastic state is far from the nonlinear-elastic
        # curve: measured 82 % RMS error, against 1.2 % on held-out monotonic paths
        assert err > 0.3

    def test_symmetry_must_match_the_cell(self, tmp_path):
        labels = np.zeros((4, 4), dtype=int)
        labels[0, :2] = 1  # no square symmetry
        rve = RVELaw(
            Microstructure(labels), {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=2.0, nu=0.3)}
        )
        build_database(rve, LoadingPlan(BOX, 12, steps=1), tmp_path / "db.h5")
        db = read_database(tmp_path / "db.h5")
        with pytest.raises(ValueError, match="symmetry='none'"):
            fit_surrogate(db, symmetry="square")
        law, report = fit_surrogate(db, knots=0)  # auto: "none"; linear: exact
        assert law.basis.symmetry == "none" and report.errors["stress_max"] < 1e-9  # measured 1e-15


class TestGaussianProcess:
    def test_mean_tangent_and_uncertainty(self, gp):
        law, report = gp
        assert isinstance(law, GPSurrogate)
        x = BOX.sample(6, seed=21) * 0.8
        mean, std = law.predict(x, return_std=True)
        sig, A, _ = law.evaluate(x)
        np.testing.assert_allclose(sig, mean, rtol=1e-12, atol=1e-12 * np.abs(mean).max())
        h = 1e-6
        dS = np.stack(
            [(law.predict(x + e) - law.predict(x - e)) / (2 * h) for e in np.eye(3) * h], 2
        )
        # analytic derivative of the mean against central differences: measured 1.1e-8
        assert np.abs(dS - A).max() < 1e-6 * np.abs(A).max()
        assert std.shape == x.shape and np.all(std > 0)
        # 400 of the 4 x 38 x 6 augmented training points: measured RMS 1.2 % (max 1.7 %),
        # and 96 % of the held-out component errors within two predicted deviations
        assert report.errors["stress_rms"] < 0.025
        assert report.errors["coverage_2std"] > 0.85

    def test_uncertainty_grows_away_from_the_data(self, gp, j2_db):
        law, _ = gp
        quiet = law.replace(out_of_range="ignore")
        near = quiet.predict(j2_db.strain[:20], return_std=True)[1]
        far = quiet.predict(3.0 * j2_db.amplitude[:20], return_std=True)[1]
        assert far.mean() > 5 * near.mean()  # measured 12.7x


@pytest.mark.parametrize("model", ["potential", "gp"])
class TestOutOfRange:
    def test_detected_per_policy(self, model, potential, gp):
        law = (potential if model == "potential" else gp)[0]
        inside = BOX.to_mandel([[0.01, 0.02, 0.0]])
        outside = BOX.to_mandel([[0.01, 0.04, 0.0]])  # (e11 - e22) / 2 = 0.04 > 0.03
        with pytest.warns(OutOfRangeWarning, match="1 of 2 point"):
            law.evaluate(np.concatenate([inside, outside]))
        with pytest.raises(OutOfRangeError, match="outside the sampled volumetric-deviatoric"):
            law.replace(out_of_range="raise").evaluate(outside)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            law.evaluate(inside)
            law.replace(out_of_range="ignore").evaluate(outside)
            law.replace(margin=0.2).evaluate(outside)  # the box widened by 20 % per side
        assert law.in_range(np.concatenate([inside, outside])).tolist() == [True, False]
        with pytest.raises(ValueError, match="out_of_range"):
            law.replace(out_of_range="silent")


def test_bad_fit_arguments(j2_db):
    with pytest.raises(ValueError, match="model"):
        fit_surrogate(j2_db, "mlp")
    with pytest.raises(ValueError, match="holdout"):
        fit_surrogate(j2_db, holdout=1.0)
    with pytest.raises(ValueError, match="equations"):
        fit_surrogate(j2_db, knots=64, harmonics=8, volumetric_order=4)
    with pytest.raises(ValueError, match="Mandel"):
        PotentialSurrogate.evaluate(fit_surrogate(j2_db, knots=2)[0], np.zeros((2, 4)))
