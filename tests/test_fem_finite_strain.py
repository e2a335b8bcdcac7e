"""Total-Lagrangian finite-strain solid: patch test, Newton rate, small-load limit,
closed-form uniaxial stretch, bisection of failed increments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from scalebridge.atomistic import CauchyBorn, Harmonic, triangular
from scalebridge.errors import ConvergenceError
from scalebridge.fem import SolidProblem, box, rectangle
from scalebridge.fem.finite_strain import FiniteStrainProblem, cauchy_stress
from scalebridge.materials import Elasticity, NeoHookean

MU, LAM = 1.0, 2.0
LAW = NeoHookean(mu=MU, lam=LAM)


def distorted(mesh, amp: float = 0.3, seed: int = 0):
    """The mesh with its interior nodes moved randomly by up to ``amp / 2`` element sizes."""
    rng = np.random.default_rng(seed)
    p = np.array(mesh.p, dtype=float)
    h = float(np.min(np.max(p, axis=1) - np.min(p, axis=1))) / 4.0
    interior = np.setdiff1d(np.arange(p.shape[1]), mesh.boundary_nodes())
    p[:, interior] += amp * h * (rng.random((p.shape[0], interior.size)) - 0.5)
    return type(mesh)(p, mesh.t).with_defaults()


def uniaxial(stretch: float, d: int) -> tuple[float, float]:
    """Lateral stretch and P11 of a Neo-Hookean bar stretched along x, laterally free.

    ``P22 = mu s + (lam ln J - mu) / s = 0`` with ``J = stretch s^(d - 1)`` (``d = 2``:
    plane strain, ``F33 = 1``); then ``P11 = mu stretch + (lam ln J - mu) / stretch``.
    """
    s = brentq(lambda s: MU * s + (LAM * np.log(stretch * s ** (d - 1)) - MU) / s, 1e-3, 10.0)
    J = stretch * s ** (d - 1)
    return s, MU * stretch + (LAM * np.log(J) - MU) / stretch


MESHES = {
    "quad": lambda: distorted(rectangle(n=(4, 4))),
    "tri": lambda: distorted(rectangle(n=(4, 4), cell="tri")),
    "hex": lambda: distorted(box(n=(3, 3, 3))),
    "tet": lambda: distorted(box(n=(3, 3, 3), cell="tet")),
}
F_PATCH = np.array([[1.3, 0.1, 0.05], [-0.1, 0.8, 0.1], [0.05, 0.1, 1.15]])


class TestPatch:
    @pytest.mark.parametrize("kind", sorted(MESHES))
    def test_homogeneous_deformation_is_reproduced(self, kind):
        mesh = MESHES[kind]()
        d = mesh.dim()
        F = F_PATCH[:d, :d]
        problem = FiniteStrainProblem(mesh, LAW)
        for name in mesh.boundaries:
            problem.prescribe_field(name, lambda x, F=F: (F - np.eye(d)) @ x)
        final = problem.solve(steps=2, tol=1e-12).final
        P = LAW.evaluate(F.ravel())[0]
        # measured: |F - F_h| <= 1.4e-13, |P - P_h| <= 6.4e-13 (hex; Newton stops at 1e-12)
        assert np.abs(final.strain - F.ravel()).max() < 1e-11
        assert np.abs(final.stress - P).max() < 1e-10
        np.testing.assert_allclose(
            problem.deformation_gradient(final.displacement), final.strain, atol=0
        )


def cantilever(problem, load: float):
    return problem.fix("left").traction("right", [0.2 * load, load])


CANTILEVER = rectangle((0.0, 0.0), (4.0, 1.0), n=(16, 4), cell="tri")


class TestNewton:
    def test_quadratic_convergence(self):
        # one increment, tip deflection about 0.7 (beam length 4): geometric nonlinearity
        res = cantilever(FiniteStrainProblem(CANTILEVER, LAW), 0.01).solve(tol=1e-13)
        r = res.final.residuals
        assert not res.rejected
        # observed order q_k = log(r_k+1 / r_k) / log(r_k / r_k-1) above the round-off floor
        k = np.flatnonzero(r > 1e-11)[-1]
        q = np.log(r[k] / r[k - 1]) / np.log(r[k - 1] / r[k - 2])
        assert q > 1.8  # measured 2.72 (7.3e-3 -> 2.6e-4 -> 3.1e-8)

    def test_failed_increment_is_halved(self):
        # compression to 0.4 in one increment inverts elements; halving reaches it
        problem = FiniteStrainProblem(box((0, 0, 0), (2, 1, 1), n=(2, 1, 1)), LAW)
        problem.fix("left", [0]).fix("bottom", [1]).fix("front", [2])
        res = problem.prescribe("right", 0, 2 * (0.4 - 1.0)).solve(steps=1, tol=1e-12)
        assert res.rejected and res.final.load_factor == 1.0
        s, P11 = uniaxial(0.4, 3)
        # measured: 5e-14 (lateral stretch), 4e-13 (force)
        assert np.abs(res.final.strain.reshape(-1, 3, 3)[:, 1, 1] - s).max() < 1e-11
        assert abs(res.reaction("right")[-1][0] - P11) < 1e-10

    def test_newton_failure_raises_with_history(self):
        problem = FiniteStrainProblem(box((0, 0, 0), (2, 1, 1), n=(2, 1, 1)), LAW)
        problem.fix("left", [0]).fix("bottom", [1]).fix("front", [2])
        problem.prescribe("right", 0, -1.2)
        with pytest.raises(ConvergenceError) as err:
            problem.solve(steps=1, max_cuts=0)
        assert err.value.residuals.size >= 1


class TestSmallLoadLimit:
    def test_matches_small_strain_solution_linearly_in_load(self):
        ref = cantilever(SolidProblem(CANTILEVER, LAW.elastic), 1.0).solve(tol=1e-12)
        u_lin = ref.final.displacement
        loads = np.array([1e-2, 1e-3, 1e-4])
        errs = []
        for eps in loads:
            # tol 1e-10: P ~ eps is a difference of O(1) terms (round-off 1e-16 / eps)
            u = cantilever(FiniteStrainProblem(CANTILEVER, LAW), eps).solve(tol=1e-10)
            errs.append(np.abs(u.final.displacement / eps - u_lin).max() / np.abs(u_lin).max())
        slope = np.polyfit(np.log(loads), np.log(errs), 1)[0]
        assert abs(slope - 1.0) < 0.05  # measured 0.985: the difference is O(load)
        assert errs[-1] < 2e-3  # measured 1.06e-3 at load 1e-4


class TestUniaxialStretch:
    @pytest.mark.parametrize("d", [2, 3])
    def test_neo_hookean_bar_matches_closed_form(self, d):
        stretch = 1.6
        if d == 2:
            problem = FiniteStrainProblem(rectangle((0, 0), (2, 1), n=(2, 1)), LAW)
        else:
            problem = FiniteStrainProblem(box((0, 0, 0), (2, 1, 1), n=(2, 1, 1)), LAW)
            problem.fix("front", [2])
        problem.fix("left", [0]).fix("bottom", [1]).prescribe("right", 0, 2 * (stretch - 1))
        res = problem.solve(steps=2, tol=1e-12)
        s, P11 = uniaxial(stretch, d)
        F = res.final.strain.reshape(-1, d, d)
        # measured: 3e-15 (lateral stretch), 4e-15 (force on a unit cross-section)
        assert np.abs(F[:, 1, 1] - s).max() < 1e-12
        assert abs(res.reaction("right")[-1][0] - P11) < 1e-12
        sigma = cauchy_stress(res.final.strain, res.final.stress)
        np.testing.assert_allclose(sigma[:, 0, 0], P11 * stretch / np.prod(F[0].diagonal()))


class TestInput:
    def test_small_strain_law_is_refused(self):
        with pytest.raises(ValueError, match="finite-strain"):
            FiniteStrainProblem(rectangle(), Elasticity(E=1.0, nu=0.3))

    def test_law_dimension_must_match_mesh(self):
        law = CauchyBorn(triangular(1.0), Harmonic(k=1.0, r0=1.0))
        with pytest.raises(ValueError, match="3D"):
            FiniteStrainProblem(box(), law)

    def test_bad_displacement_shape(self):
        problem = FiniteStrainProblem(rectangle(), LAW)
        with pytest.raises(ValueError, match="displacement"):
            problem.deformation_gradient(np.zeros(3))

    def test_cauchy_stress_shapes(self):
        with pytest.raises(ValueError, match="shape"):
            cauchy_stress(np.eye(2).ravel(), np.zeros(9))
