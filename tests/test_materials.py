"""Linear laws: validation messages, void detection, evaluation against the tensor algebra.

Tolerances: evaluations are a single matrix product of O(1) numbers, so 1e-13 relative
covers round-off; moduli recovered through a conversion chain get 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

from scalebridge import tensors as tn
from scalebridge.materials import Conductivity, ConstitutiveLaw, Elasticity, as_phase_map


class TestConductivity:
    def test_scalar_law(self):
        law = Conductivity(k=np.float64(2.5))
        assert law.physics == "conduction"
        assert law.is_isotropic and not law.is_void
        np.testing.assert_array_equal(law.tensor(3), 2.5 * np.eye(3))
        g = np.random.default_rng(0).standard_normal((4, 5, 2))
        flux, tangent, state = law.evaluate(g)
        np.testing.assert_allclose(flux, 2.5 * g, rtol=1e-15)
        np.testing.assert_array_equal(tangent, 2.5 * np.eye(2))
        assert state is None

    def test_matrix_law(self):
        k = np.array([[2.0, 0.5], [0.5, 1.0]])
        law = Conductivity(k=k)
        assert not law.is_isotropic
        g = np.array([[1.0, 0.0], [0.0, 2.0]])
        flux, tangent, _ = law.evaluate(g)
        np.testing.assert_allclose(flux, (k @ g.T).T, rtol=1e-15)
        np.testing.assert_array_equal(tangent, k)
        with pytest.raises(ValueError, match="cannot serve a 3D problem"):
            law.tensor(3)
        assert Conductivity(k=3.0 * np.eye(3)).is_isotropic

    @pytest.mark.parametrize("k", [0, 0.0, np.zeros((2, 2)), np.zeros((3, 3))])
    def test_void(self, k):
        law = Conductivity(k=k)
        assert law.is_void
        assert not np.any(law.tensor(2 if np.ndim(k) == 0 else np.shape(k)[0]))

    @pytest.mark.parametrize(
        ("k", "match"),
        [
            (-1.0, r"k must be a finite scalar >= 0 .*got -1.0"),
            (float("nan"), r"k must be finite, got nan"),
            (float("inf"), r"k must be finite, got inf"),
            (np.array([[1.0, 0.2], [0.0, 1.0]]), r"k must be symmetric .*asymmetry"),
            (np.array([[1.0, 2.0], [2.0, 1.0]]), r"k must be positive definite.*eigenvalues"),
            (np.array([[1.0, 0.0], [0.0, 0.0]]), r"positive definite, or all zero for a pore"),
            (np.array([[-1.0, 0.0], [0.0, -1.0]]), r"positive definite"),
            (np.array([[1.0, np.nan], [np.nan, 1.0]]), r"k must be finite"),
            (np.ones((4, 4)), r"k must be .*2x2 or 3x3.*got shape \(4, 4\)"),
            ("abc", r"k must be .*got 'abc'"),
            (True, r"k must be a real number, got True"),
        ],
    )
    def test_invalid(self, k, match):
        with pytest.raises(ValueError, match=match):
            Conductivity(k=k)

    def test_keyword_only_and_immutable(self):
        with pytest.raises(TypeError):
            Conductivity(1.0)  # type: ignore[misc]
        law = Conductivity(k=np.eye(2))
        with pytest.raises(AttributeError, match="immutable"):
            law.k = 2.0  # type: ignore[misc]
        with pytest.raises(ValueError, match="read-only"):
            law.k[0, 0] = 5.0  # type: ignore[index]

    def test_repr_and_eq(self):
        assert repr(Conductivity(k=1.0)) == "Conductivity(k=1.0)"
        assert Conductivity(k=2.0) == Conductivity(k=2.0)
        assert Conductivity(k=2.0) != Conductivity(k=3.0)
        assert len({Conductivity(k=2.0), Conductivity(k=2.0)}) == 1

    def test_bad_gradient(self):
        with pytest.raises(ValueError, match=r"gradient must have shape \(\.\.\., 2\)"):
            Conductivity(k=1.0).evaluate(np.zeros(4))


class TestElasticity:
    def test_parameter_sets_agree(self):
        E, nu = 2.0, 0.3
        K, G = tn.bulk_shear_from(E=E, nu=nu)
        a, b = Elasticity(E=E, nu=nu), Elasticity(K=K, G=G)
        c = Elasticity(C=a.tensor(3))
        for law in (a, b, c):
            assert law.physics == "elasticity"
            assert law.is_isotropic and not law.is_void
            assert law.E == pytest.approx(E, rel=1e-12)
            assert law.nu == pytest.approx(nu, rel=1e-12)
            assert law.K == pytest.approx(K, rel=1e-12)
            assert law.G == pytest.approx(G, rel=1e-12)
            np.testing.assert_allclose(law.lame, tn.lame_from(E=E, nu=nu), rtol=1e-12)
            np.testing.assert_allclose(law.tensor(3), a.tensor(3), rtol=1e-13)

    def test_plane_strain_tensor(self):
        law = Elasticity(E=1.0, nu=0.25)
        lam, mu = law.lame
        C2 = law.tensor(2)
        assert C2[0, 0] == pytest.approx(lam + 2 * mu, rel=1e-13)
        assert C2[0, 1] == pytest.approx(lam, rel=1e-13)
        assert C2[2, 2] == pytest.approx(2 * mu, rel=1e-13)
        np.testing.assert_array_equal(C2, law.tensor(3)[np.ix_([0, 1, 5], [0, 1, 5])])

    def test_evaluate_matches_full_contraction(self):
        law = Elasticity(K=3.0, G=1.0)
        rng = np.random.default_rng(1)
        for d in (2, 3):
            eps = 0.5 * (lambda a: a + np.swapaxes(a, -1, -2))(rng.standard_normal((7, d, d)))
            lam, mu = law.lame
            sig = lam * np.trace(eps, axis1=-2, axis2=-1)[:, None, None] * np.eye(d) + 2 * mu * eps
            out, tangent, state = law.evaluate(tn.full_to_mandel(eps))
            np.testing.assert_allclose(out, tn.full_to_mandel(sig), rtol=1e-13, atol=1e-13)
            assert tangent.shape == ((3, 3) if d == 2 else (6, 6)) and state is None

    def test_anisotropic_c(self):
        C = tn.voigt_to_mandel_stiffness(np.linalg.inv(np.diag([1 / 4, 1 / 2, 1.0, 1, 1, 1])))
        law = Elasticity(C=C)
        assert not law.is_isotropic
        assert law.E is None and law.nu is None and law.K is None and law.lame is None

    def test_2d_only_law(self):
        C2 = Elasticity(E=1.0, nu=0.2).tensor(2)
        law = Elasticity(C=C2)
        assert law.is_isotropic and law.nu == pytest.approx(0.2, rel=1e-12)
        np.testing.assert_array_equal(law.tensor(2), C2)
        with pytest.raises(ValueError, match="has no 3D tensor; give a 6x6"):
            law.tensor(3)
        with pytest.raises(ValueError, match="has no 3D tensor"):
            law.evaluate(np.zeros(6))

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"E": 0.0, "nu": 0.3},
            {"K": 0.0, "G": 0.0},
            {"C": np.zeros((6, 6))},
            {"C": np.zeros((3, 3))},
        ],
    )
    def test_void(self, kwargs):
        law = Elasticity(**kwargs)
        assert law.is_void
        assert not np.any(law.tensor(2))

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"E": 1.0, "nu": 0.5}, r"nu must satisfy -1 < nu < 0.5, got 0.5"),
            ({"E": 1.0, "nu": -1.0}, r"nu must satisfy -1 < nu < 0.5, got -1.0"),
            ({"E": -1.0, "nu": 0.3}, r"E must be >= 0 \(E == 0 is a pore\), got -1.0"),
            ({"E": float("nan"), "nu": 0.3}, r"E must be finite, got nan"),
            ({"K": 1.0, "G": 0.0}, r"K and G must both be > 0, or both 0 for a pore"),
            ({"K": -1.0, "G": 1.0}, r"K and G must both be > 0"),
            ({"E": 1.0}, r"exactly one parameter set, \(E, nu\), \(K, G\) or \(C,\); got E$"),
            ({"E": 1.0, "nu": 0.3, "K": 1.0}, r"exactly one parameter set.*got E, K, nu"),
            ({}, r"exactly one parameter set.*got nothing"),
            ({"E": "1", "nu": 0.3}, r"E must be a real scalar"),
            ({"C": np.eye(4)}, r"C must be .*6x6 Mandel.*got shape \(4, 4\)"),
            ({"C": np.diag([1.0, 1, 1, 1, 1, -1])}, r"C must be positive definite"),
            ({"C": np.diag([1.0, 1, 0])}, r"positive definite, or all zero for a pore"),
            ({"C": np.triu(np.ones((3, 3)))}, r"C must be symmetric"),
            ({"C": np.full((3, 3), np.inf)}, r"C must be finite"),
        ],
    )
    def test_invalid(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            Elasticity(**kwargs)

    def test_immutable_and_repr(self):
        law = Elasticity(E=np.float32(1.0), nu=0.25)
        assert repr(law) == "Elasticity(E=1.0, nu=0.25)"
        assert repr(Elasticity(K=1.0, G=2.0)) == "Elasticity(K=1.0, G=2.0)"
        assert repr(Elasticity(C=np.eye(3))).startswith("Elasticity(C=[[1.")
        with pytest.raises(AttributeError):
            law.E = 2.0  # type: ignore[misc]
        with pytest.raises(ValueError, match="read-only"):
            law.tensor(3)[0, 0] = 1.0
        assert Elasticity(E=1.0, nu=0.25) == Elasticity(E=1.0, nu=0.25)

    def test_bad_strain(self):
        with pytest.raises(ValueError, match=r"strain must be Mandel"):
            Elasticity(E=1.0, nu=0.2).evaluate(np.zeros(4))


class TestPhaseMap:
    def test_protocol(self):
        assert isinstance(Conductivity(k=1.0), ConstitutiveLaw)
        assert isinstance(Elasticity(E=1.0, nu=0.2), ConstitutiveLaw)
        assert not isinstance(object(), ConstitutiveLaw)

    def test_sequence_and_mapping(self):
        a, b = Conductivity(k=1.0), Conductivity(k=2.0)
        assert as_phase_map([a, b]) == {0: a, 1: b}
        assert as_phase_map({np.int64(3): a, 7: b}) == {3: a, 7: b}
        assert all(type(k) is int for k in as_phase_map({np.int64(3): a}))

    def test_mixed_physics(self):
        with pytest.raises(
            ValueError,
            match=r"materials: mixed physics \{0: 'conduction', 1: 'elasticity'\}",
        ):
            as_phase_map([Conductivity(k=1.0), Elasticity(E=1.0, nu=0.2)])

    @pytest.mark.parametrize(
        ("materials", "match"),
        [
            ({-1: Conductivity(k=1.0)}, "non-negative integers, got -1"),
            ({"a": Conductivity(k=1.0)}, "non-negative integers, got 'a'"),
            ({0: 1.0}, "phase 0 is 1.0, which is not a constitutive law"),
            ([], "empty"),
            (Conductivity(k=1.0), "expected a mapping"),
        ],
    )
    def test_invalid(self, materials, match):
        with pytest.raises(ValueError, match=match):
            as_phase_map(materials)
