"""Oracles for `scalebridge.tensors`: exact identities of the Mandel algebra.

Tolerances: every check is an algebraic identity evaluated in double precision on O(1)
numbers (entries <= 10, condition numbers <= ~1e2), so round-off is ~1e-15 * cond; we use
1e-12 relative (or 1e-10 where an inverse of a random SPD matrix is involved).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scalebridge import tensors as tn

NO_DEADLINE = settings(deadline=None)  # timing is not under test (shared machines)
FLOATS = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
SEEDS = st.integers(0, 2**32 - 1)
DIMS = st.sampled_from([2, 3])


def sym(a: np.ndarray) -> np.ndarray:
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def random_rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1.0
    return q


def random_spd(rng: np.random.Generator, m: int) -> np.ndarray:
    a = rng.standard_normal((m, m))
    return a @ a.T + m * np.eye(m)


def full_stiffness(C: np.ndarray) -> np.ndarray:
    """Independent oracle: c_ijkl from the Mandel matrix by explicit loops."""
    m = C.shape[0]
    d = 2 if m == 3 else 3
    pairs = [(0, 0), (1, 1), (0, 1)] if d == 2 else [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    w = [1.0 if i == j else np.sqrt(2.0) for i, j in pairs]
    c = np.zeros((d, d, d, d))
    for a, (i, j) in enumerate(pairs):
        for b, (k, l) in enumerate(pairs):
            v = C[a, b] / (w[a] * w[b])
            for p, q in ((i, j), (j, i)):
                for r, s in ((k, l), (l, k)):
                    c[p, q, r, s] = v
    return c


class TestConversions:
    @NO_DEADLINE
    @given(d=DIMS, data=st.data())
    def test_vector_round_trip(self, d, data):
        t = sym(data.draw(arrays(float, (4, d, d), elements=FLOATS)))
        v = tn.full_to_mandel(t)
        assert v.shape == (4, 3 if d == 2 else 6)
        np.testing.assert_allclose(tn.mandel_to_full(v), t, rtol=1e-12, atol=1e-12)

    @NO_DEADLINE
    @given(d=DIMS, data=st.data())
    def test_mandel_dot_is_double_contraction(self, d, data):
        e = sym(data.draw(arrays(float, (d, d), elements=FLOATS)))
        s = sym(data.draw(arrays(float, (d, d), elements=FLOATS)))
        lhs = tn.full_to_mandel(e) @ tn.full_to_mandel(s)
        assert lhs == pytest.approx(np.einsum("ij,ij", e, s), rel=1e-12, abs=1e-10)

    @NO_DEADLINE
    @given(d=DIMS, seed=SEEDS)
    def test_stiffness_round_trip_and_action(self, d, seed):
        rng = np.random.default_rng(seed)
        m = 3 if d == 2 else 6
        C = random_spd(rng, m)
        c = tn.mandel_to_full(C, order=4)
        np.testing.assert_allclose(c, full_stiffness(C), rtol=1e-12)
        # minor and major symmetries
        np.testing.assert_array_equal(c, c.transpose(1, 0, 2, 3))
        np.testing.assert_array_equal(c, c.transpose(0, 1, 3, 2))
        np.testing.assert_allclose(c, c.transpose(2, 3, 0, 1), rtol=1e-12)
        np.testing.assert_allclose(tn.full_to_mandel(c, order=4), C, rtol=1e-12, atol=1e-12)
        # C_M e_M is the Mandel form of c : e
        e = sym(rng.standard_normal((d, d)))
        np.testing.assert_allclose(
            C @ tn.full_to_mandel(e),
            tn.full_to_mandel(np.einsum("ijkl,kl->ij", c, e)),
            rtol=1e-12,
            atol=1e-12,
        )

    @NO_DEADLINE
    @given(d=DIMS, seed=SEEDS)
    def test_voigt_round_trips_and_consistency(self, d, seed):
        rng = np.random.default_rng(seed)
        m = 3 if d == 2 else 6
        e, s, C = rng.standard_normal(m), rng.standard_normal(m), random_spd(rng, m)
        np.testing.assert_allclose(tn.voigt_to_mandel_strain(tn.mandel_to_voigt_strain(e)), e)
        np.testing.assert_allclose(tn.voigt_to_mandel_stress(tn.mandel_to_voigt_stress(s)), s)
        Cv = tn.mandel_to_voigt_stiffness(C)
        np.testing.assert_allclose(tn.voigt_to_mandel_stiffness(Cv), C, rtol=1e-14)
        # sig_voigt = C_voigt eps_voigt is the same law as sig = C eps in Mandel
        np.testing.assert_allclose(
            Cv @ tn.mandel_to_voigt_strain(e), tn.mandel_to_voigt_stress(C @ e), rtol=1e-12
        )
        # Voigt strain carries engineering shear 2 eps_12
        full = tn.mandel_to_full(e)
        assert tn.mandel_to_voigt_strain(e)[-1] == pytest.approx(2.0 * full[0, 1])
        assert tn.mandel_to_voigt_stress(s)[-1] == pytest.approx(tn.mandel_to_full(s)[0, 1])

    def test_bad_sizes(self):
        with pytest.raises(ValueError, match="Mandel size must be 3"):
            tn.mandel_to_full(np.zeros(4))
        with pytest.raises(ValueError, match="order must be 2 or 4"):
            tn.mandel_to_full(np.zeros(3), order=3)  # type: ignore[arg-type]


class TestIsotropic:
    @pytest.mark.parametrize("ndim", [2, 3])
    def test_projectors(self, ndim):
        J, K = tn.isotropic_projectors(ndim)
        m = 3 if ndim == 2 else 6
        np.testing.assert_allclose(J + K, np.eye(m), atol=1e-15)
        np.testing.assert_allclose(J @ J, J, atol=1e-15)
        np.testing.assert_allclose(K @ K, K, atol=1e-15)
        np.testing.assert_allclose(J @ K, 0.0, atol=1e-15)
        assert np.trace(J) == pytest.approx(1.0)

    @pytest.mark.parametrize(("K", "G"), [(2.0, 1.0), (1.0, 3.0), (100.0, 0.01)])
    def test_engineering_constants_reproduce_moduli(self, K, G):
        C = tn.isotropic_stiffness(K, G, 3)
        c = tn.engineering_constants(C)
        E, nu = tn.youngs_poisson_from(K=K, G=G)
        for name in ("K_iso", "K_voigt", "K_reuss", "K_hill"):
            assert c[name] == pytest.approx(K, rel=1e-12)
        for name in ("G_iso", "G_voigt", "G_reuss", "G_hill", "G12", "G13", "G23"):
            assert c[name] == pytest.approx(G, rel=1e-12)
        for name in ("E1", "E2", "E3"):
            assert c[name] == pytest.approx(E, rel=1e-12)
        for name in ("nu12", "nu13", "nu21", "nu23", "nu31", "nu32"):
            assert c[name] == pytest.approx(nu, rel=1e-12)

    def test_orthotropic_engineering_constants(self):
        # Oracle: the textbook orthotropic compliance (Voigt) with nu_ij / E_i = nu_ji / E_j.
        E1, E2, E3, nu12, nu13, nu23, G23, G13, G12 = 10.0, 5.0, 2.0, 0.3, 0.2, 0.25, 1.5, 1.2, 1.1
        Sv = np.zeros((6, 6))
        Sv[:3, :3] = [
            [1 / E1, -nu12 / E1, -nu13 / E1],
            [-nu12 / E1, 1 / E2, -nu23 / E2],
            [-nu13 / E1, -nu23 / E2, 1 / E3],
        ]
        Sv[3, 3], Sv[4, 4], Sv[5, 5] = 1 / G23, 1 / G13, 1 / G12
        C = tn.voigt_to_mandel_stiffness(np.linalg.inv(Sv))
        c = tn.engineering_constants(C)
        expected = {
            "E1": E1,
            "E2": E2,
            "E3": E3,
            "nu12": nu12,
            "nu13": nu13,
            "nu23": nu23,
            "nu21": nu12 * E2 / E1,
            "G23": G23,
            "G13": G13,
            "G12": G12,
        }
        for name, value in expected.items():
            assert c[name] == pytest.approx(value, rel=1e-12), name

    @NO_DEADLINE
    @given(seed=SEEDS)
    def test_reuss_below_voigt_average(self, seed):
        c = tn.engineering_constants(random_spd(np.random.default_rng(seed), 6))
        assert c["K_reuss"] <= c["K_voigt"] * (1 + 1e-12)
        assert c["G_reuss"] <= c["G_voigt"] * (1 + 1e-12)

    def test_plane_strain(self):
        E, nu = 3.0, 0.3
        lam, mu = tn.lame_from(E=E, nu=nu)
        C = tn.isotropic_stiffness(*tn.bulk_shear_from(E=E, nu=nu), ndim=2)
        np.testing.assert_allclose(
            C, [[lam + 2 * mu, lam, 0], [lam, lam + 2 * mu, 0], [0, 0, 2 * mu]], rtol=1e-13
        )
        C3 = tn.isotropic_stiffness(*tn.bulk_shear_from(E=E, nu=nu), ndim=3)
        np.testing.assert_array_equal(C, C3[np.ix_([0, 1, 5], [0, 1, 5])])
        c = tn.engineering_constants(C)
        assert c["E1"] == pytest.approx(E / (1 - nu**2), rel=1e-12)
        assert c["nu12"] == pytest.approx(nu / (1 - nu), rel=1e-12)
        assert c["G12"] == pytest.approx(mu, rel=1e-12)
        assert c["K2D"] == pytest.approx(lam + mu, rel=1e-12)
        assert c["K2D_reuss"] == pytest.approx(lam + mu, rel=1e-12)
        assert c["G_iso"] == pytest.approx(mu, rel=1e-12)
        assert c["G_reuss"] == pytest.approx(mu, rel=1e-12)

    @NO_DEADLINE
    @given(E=st.floats(1e-3, 1e3), nu=st.floats(-0.99, 0.49))
    def test_moduli_round_trips(self, E, nu):
        K, G = tn.bulk_shear_from(E=E, nu=nu)
        E2, nu2 = tn.youngs_poisson_from(K=K, G=G)
        # nu near 0.5 amplifies round-off by 1/(1 - 2 nu) <= 50
        assert E2 == pytest.approx(E, rel=1e-12)
        assert nu2 == pytest.approx(nu, rel=1e-12, abs=1e-12)
        lam, mu = tn.lame_from(E=E, nu=nu)
        np.testing.assert_allclose(tn.lame_from(K=K, G=G), (lam, mu), rtol=1e-10, atol=1e-12 * E)
        np.testing.assert_allclose(tn.bulk_shear_from(lam=lam, mu=mu), (K, G), rtol=1e-10)

    def test_moduli_validation(self):
        with pytest.raises(ValueError, match=r"nu must satisfy -1 < nu < 0.5, got 0.5"):
            tn.lame_from(E=1.0, nu=0.5)
        with pytest.raises(ValueError, match="E must be >= 0"):
            tn.bulk_shear_from(E=-1.0, nu=0.2)
        with pytest.raises(ValueError, match="exactly one pair"):
            tn.lame_from(E=1.0, K=1.0)
        with pytest.raises(ValueError, match="undefined for a void"):
            tn.youngs_poisson_from(K=0.0, G=0.0)
        with pytest.raises(ValueError, match="must be finite"):
            tn.lame_from(K=float("nan"), G=1.0)

    @NO_DEADLINE
    @given(seed=SEEDS, d=DIMS)
    def test_directional_youngs_modulus_isotropic(self, seed, d):
        rng = np.random.default_rng(seed)
        E, nu = 2.5, 0.3
        C = tn.isotropic_stiffness(*tn.bulk_shear_from(E=E, nu=nu), ndim=d)
        expected = E if d == 3 else E / (1 - nu**2)
        n = rng.standard_normal(d)
        assert tn.directional_youngs_modulus(C, n) == pytest.approx(expected, rel=1e-12)

    def test_directional_youngs_modulus_orthotropic_axes(self):
        C = tn.voigt_to_mandel_stiffness(np.linalg.inv(np.diag([1 / 4, 1 / 2, 1.0, 1, 1, 1])))
        for axis, E in enumerate([4.0, 2.0, 1.0]):
            assert tn.directional_youngs_modulus(C, np.eye(3)[axis]) == pytest.approx(E)


class TestRotation:
    @NO_DEADLINE
    @given(seed=SEEDS, d=DIMS)
    def test_isotropic_invariant_and_round_trip(self, seed, d):
        rng = np.random.default_rng(seed)
        R = random_rotation(rng, d)
        m = 3 if d == 2 else 6
        Ciso = tn.isotropic_stiffness(2.0, 0.7, ndim=d)
        np.testing.assert_allclose(tn.rotate_stiffness(Ciso, R), Ciso, atol=1e-12 * 4)
        C = random_spd(rng, m)
        back = tn.rotate_stiffness(tn.rotate_stiffness(C, R), R.T)
        np.testing.assert_allclose(back, C, rtol=1e-12, atol=1e-12 * np.abs(C).max())
        Q = tn.mandel_rotation(R)
        np.testing.assert_allclose(Q @ Q.T, np.eye(m), atol=1e-13)

    @NO_DEADLINE
    @given(seed=SEEDS, d=DIMS)
    def test_matches_full_tensor_rotation(self, seed, d):
        rng = np.random.default_rng(seed)
        R = random_rotation(rng, d)
        C = random_spd(rng, 3 if d == 2 else 6)
        c = tn.mandel_to_full(C, order=4)
        c_rot = np.einsum("ip,jq,kr,ls,pqrs->ijkl", R, R, R, R, c)
        np.testing.assert_allclose(
            tn.rotate_stiffness(C, R), tn.full_to_mandel(c_rot, order=4), rtol=1e-12, atol=1e-12
        )
        k = random_spd(rng, d)
        np.testing.assert_allclose(tn.rotate_conductivity(k, R), R @ k @ R.T, rtol=1e-13)

    def test_stacked_rotations(self):
        rng = np.random.default_rng(0)
        Rs = np.stack([random_rotation(rng, 3) for _ in range(4)])
        C = random_spd(rng, 6)
        out = tn.rotate_stiffness(C, Rs)
        assert out.shape == (4, 6, 6)
        np.testing.assert_allclose(out[2], tn.rotate_stiffness(C, Rs[2]), rtol=1e-14)

    def test_non_orthogonal_rejected(self):
        with pytest.raises(ValueError, match="orthogonal"):
            tn.rotate_stiffness(np.eye(6), 2.0 * np.eye(3))


class TestChecks:
    def test_symmetry_error(self):
        assert tn.symmetry_error(np.eye(3)) == 0.0
        assert tn.symmetry_error(np.zeros((3, 3))) == 0.0
        assert tn.symmetry_error([[0.0, 1.0], [-1.0, 0.0]]) == pytest.approx(2.0)

    def test_is_positive_definite(self):
        assert tn.is_positive_definite(tn.isotropic_stiffness(1.0, 1.0))
        assert not tn.is_positive_definite(np.diag([1.0, -1.0]))
        assert not tn.is_positive_definite(np.zeros((2, 2)))
        assert not tn.is_positive_definite(np.diag([1.0, 1e-14]))

    def test_conductivity_constants(self):
        c = tn.conductivity_constants(np.diag([3.0, 1.0, 2.0]))
        np.testing.assert_array_equal(c["eigenvalues"], [1.0, 2.0, 3.0])
        assert c["mean"] == 2.0
        assert c["anisotropy"] == 3.0
