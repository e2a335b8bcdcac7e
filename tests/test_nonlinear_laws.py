"""Nonlinear laws: tangents against central finite differences, closed forms, invariances.

Tolerances
----------
* Finite differences: central differences with step ``h`` have truncation error
  ``O(h^2 |f'''|)`` and round-off ``O(1e-16 |f| / h)``.  With the steps below both stay
  below ``1e-8`` relative to the tangent's scale; asserted at ``1e-6`` of that scale (the
  tangents are exact formulas, so any error in them shows at O(1) relative).
* Closed forms (radial return along a fixed direction is exact for linear hardening):
  round-off of O(10) flops on O(1) numbers, asserted at ``1e-12`` relative to the stress
  scale ``sigma_y``.
* Invariances (rotation, symmetry): round-off, ``1e-12`` relative.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from scalebridge import tensors as tn
from scalebridge.materials import (
    Conductivity,
    ConstitutiveLaw,
    Elasticity,
    J2Plasticity,
    NeoHookean,
    PowerLawConductor,
    as_phase_map,
)

FD_RTOL = 1e-6
EXACT = 1e-12
S3 = np.sqrt(3.0)
S2 = np.sqrt(2.0)
PLANE = [0, 1, 5]


def fd_tangent(fun, g, h):
    """Central-difference ``d fun / d g`` ``(..., m, k)`` for ``g (..., k)``."""
    cols = []
    for j in range(g.shape[-1]):
        e = np.zeros(g.shape[-1])
        e[j] = h
        cols.append((fun(g + e) - fun(g - e)) / (2.0 * h))
    return np.stack(cols, axis=-1)


def frozen_copy(state):
    """Deep copy of a state with read-only arrays (a law that writes into it raises)."""
    out = copy.deepcopy(state)
    for a in out.values():
        a.setflags(write=False)
    return out


# ====================================================================== J2 plasticity
E, NU, SY = 200.0, 0.3, 0.3
LAWS = {
    "mixed": dict(isotropic_modulus=15.0, kinematic_modulus=25.0),
    "isotropic": dict(isotropic_modulus=40.0),
    "kinematic": dict(kinematic_modulus=40.0),
    "perfect": {},
}


def j2(kind="mixed"):
    return J2Plasticity(E=E, nu=NU, yield_stress=SY, **LAWS[kind])


def G_of(law):
    return law.elastic.G


def random_history(law, m, n, rng, steps=3):
    """Committed state after a few large random strain increments (nonzero back stress)."""
    eps = np.zeros((n, m))
    state = law.initial_state((n,), m)
    for _ in range(steps):
        eps = eps + 6e-3 * rng.standard_normal((n, m))
        _, _, state = law.evaluate(eps, state)
    return eps, state


def trial_f(law, eps, state):
    """Yield function of the elastic trial stress from the committed state."""
    m = eps.shape[-1]
    e3 = np.zeros((*eps.shape[:-1], 6))
    e3[..., PLANE if m == 3 else slice(None)] = eps
    sig = (e3 - state["plastic_strain"]) @ law.elastic.tensor(3)
    st = dict(state)
    return law.yield_function(sig, st)


class TestJ2Tangent:
    @pytest.mark.parametrize("m", [3, 6])
    @pytest.mark.parametrize("kind", list(LAWS))
    def test_tangent_matches_finite_differences(self, kind, m):
        law = j2(kind)
        rng = np.random.default_rng(7)
        eps_n, state = random_history(law, m, 600, rng)
        if kind != "perfect" and law.kinematic_modulus > 0:
            assert np.all(np.linalg.norm(state["back_stress"], axis=-1) > 0)
        amp = 10.0 ** rng.uniform(-4.0, -2.0, (len(eps_n), 1))  # small and large steps
        eps = eps_n + amp * rng.standard_normal(eps_n.shape)
        radius = np.sqrt(2 / 3) * (SY + law.isotropic_modulus * state["equivalent_plastic_strain"])
        f = trial_f(law, eps, state)
        keep = np.abs(f) > 0.05 * radius  # away from the elastic/plastic kink
        eps, state = eps[keep], {k: v[keep] for k, v in state.items()}
        plastic = f[keep] > 0
        assert plastic.sum() > 50 and (~plastic).sum() > 50  # both kinds of step

        frozen = frozen_copy(state)
        _, T, new = law.evaluate(eps, frozen)
        for key in state:  # not mutated (and read-only arrays were accepted)
            np.testing.assert_array_equal(frozen[key], state[key])
        assert T.shape == (len(eps), m, m)
        dp = new["equivalent_plastic_strain"] - state["equivalent_plastic_strain"]
        np.testing.assert_array_equal(dp > 0, plastic)

        fd = fd_tangent(lambda g: law.evaluate(g, frozen)[0], eps, h=1e-7)
        scale = np.abs(law.elastic.tensor(3)).max()
        np.testing.assert_allclose(T, fd, rtol=0, atol=FD_RTOL * scale)
        # the elastoplastic tangent is symmetric (associative flow, linear hardening)
        np.testing.assert_allclose(T, T.swapaxes(-1, -2), rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(
            T[~plastic],
            np.broadcast_to(law.elastic.tensor(m // 3 + 1), T[~plastic].shape),
            rtol=1e-15,
        )

    def test_all_elastic_returns_constant_tangent(self):
        law = j2()
        sig, T, state = law.evaluate(np.full((5, 6), 1e-5))
        assert T.shape == (6, 6) and not T.flags.writeable
        np.testing.assert_array_equal(T, law.elastic.tensor(3))
        np.testing.assert_allclose(sig, law.elastic.evaluate(np.full((5, 6), 1e-5))[0], rtol=1e-14)
        np.testing.assert_array_equal(state["equivalent_plastic_strain"], 0.0)

    def test_plane_strain_is_3d_with_zero_out_of_plane_strain(self):
        law = j2()
        rng = np.random.default_rng(3)
        eps2, state2 = random_history(law, 3, 50, rng)
        eps2 = eps2 + 3e-3 * rng.standard_normal(eps2.shape)
        eps3 = np.zeros((50, 6))
        eps3[:, PLANE] = eps2
        state3 = {k: v for k, v in state2.items() if k != "stress_33"}
        s2, T2, n2 = law.evaluate(eps2, state2)
        s3, T3, n3 = law.evaluate(eps3, state3)
        np.testing.assert_allclose(s2, s3[:, PLANE], rtol=0, atol=EXACT * SY)
        np.testing.assert_allclose(n2["stress_33"], s3[:, 2], rtol=0, atol=EXACT * SY)
        np.testing.assert_allclose(T2, T3[:, PLANE][:, :, PLANE], rtol=0, atol=EXACT * E)
        for key in n3:
            np.testing.assert_allclose(n2[key], n3[key], rtol=0, atol=1e-15)
        # plane-strain history keeps eps_p13 = eps_p23 = 0 and a nonzero sigma_33
        np.testing.assert_array_equal(n2["plastic_strain"][:, 3:5], 0.0)
        assert np.abs(n2["stress_33"]).max() > 0.1 * SY

    def test_vectorised_over_any_leading_shape(self):
        law = j2()
        rng = np.random.default_rng(4)
        eps = 4e-3 * rng.standard_normal((3, 4, 6))
        sig, T, st = law.evaluate(eps)
        sig_flat, T_flat, _ = law.evaluate(eps.reshape(12, 6))
        np.testing.assert_array_equal(sig.reshape(12, 6), sig_flat)
        np.testing.assert_array_equal(T.reshape(12, 6, 6), T_flat)
        assert st["plastic_strain"].shape == (3, 4, 6)
        assert st["equivalent_plastic_strain"].shape == (3, 4)
        # a state that broadcasts (one point) is accepted; None is the virgin state
        virgin = law.initial_state((), 6)
        np.testing.assert_array_equal(law.evaluate(eps, virgin)[0], sig)


class TestJ2ClosedForms:
    @staticmethod
    def shear_curve(gamma, G, H):
        """Monotonic pure shear: tau = G (gamma - gamma_p), tau = sy/sqrt3 + H gamma_p / 3."""
        gp = np.maximum(0.0, (G * gamma - SY / S3) / (G + H / 3.0))
        return G * (gamma - gp), gp

    @pytest.mark.parametrize("m", [3, 6])
    @pytest.mark.parametrize("kind", list(LAWS))
    def test_pure_shear_curve(self, kind, m):
        law = j2(kind)
        G = G_of(law)
        H = law.isotropic_modulus + law.kinematic_modulus
        gammas = np.linspace(0.0, 10.0 * SY / (S3 * G), 37)[1:]  # up to 10x yield, none on it
        shear = 2 if m == 3 else 5
        state = law.initial_state((), m)
        for g in gammas:
            eps = np.zeros(m)
            eps[shear] = g / S2  # Mandel shear = sqrt2 eps12 = gamma / sqrt2
            sig, T, new = law.evaluate(eps, state)
            tau, gp = self.shear_curve(g, G, H)
            np.testing.assert_allclose(sig[shear] / S2, tau, rtol=0, atol=EXACT * SY)
            others = np.delete(sig, shear)
            np.testing.assert_allclose(others, 0.0, rtol=0, atol=EXACT * SY)
            assert new["equivalent_plastic_strain"] == pytest.approx(gp / S3, rel=1e-12, abs=1e-15)
            if g < SY / (S3 * G):  # elastic below the shear yield strain
                slope = 2.0 * G
                assert gp == 0.0
            else:
                assert gp > 0.0 and new["equivalent_plastic_strain"] > 0.0
                slope = 2.0 * G * H / (3.0 * G + H)  # d sig_M / d eps_M = 2 d tau / d gamma
            assert T[shear, shear] == pytest.approx(slope, rel=1e-12, abs=1e-12 * G)
            state = new
        # one large step from the virgin state lands on the same curve (exact return)
        eps = np.zeros(m)
        eps[shear] = gammas[-1] / S2
        sig, _, _ = law.evaluate(eps)
        np.testing.assert_allclose(
            sig[shear] / S2, self.shear_curve(gammas[-1], G, H)[0], rtol=0, atol=EXACT * SY
        )

    @staticmethod
    def uniaxial_strain(sigma, eps_p, E_=E, nu=NU):
        """Strain of a uniaxial stress state sigma with axial plastic strain eps_p."""
        return np.array(
            [
                sigma / E_ + eps_p,
                -nu * sigma / E_ - eps_p / 2,
                -nu * sigma / E_ - eps_p / 2,
                0.0,
                0.0,
                0.0,
            ]
        )

    @pytest.mark.parametrize("kind", ["mixed", "isotropic", "kinematic"])
    def test_uniaxial_closed_form_strain_driven(self, kind):
        law = j2(kind)
        H = law.isotropic_modulus + law.kinematic_modulus
        for sigma in (0.5 * SY, SY, 1.7 * SY, 4.0 * SY):
            ep = max(sigma - SY, 0.0) / H
            out, _, st = law.evaluate(self.uniaxial_strain(sigma, ep))
            np.testing.assert_allclose(out, [sigma, 0, 0, 0, 0, 0], rtol=0, atol=EXACT * SY)
            np.testing.assert_allclose(
                st["plastic_strain"], [ep, -ep / 2, -ep / 2, 0, 0, 0], rtol=0, atol=1e-15
            )
            assert st["equivalent_plastic_strain"] == pytest.approx(ep, rel=1e-12, abs=1e-16)

    @pytest.mark.parametrize("kind", ["mixed", "perfect"])
    def test_uniaxial_mixed_control_newton(self, kind):
        """Prescribe eps11, solve the 5 other strains for zero stress with the tangent."""
        law = j2(kind)
        H = law.isotropic_modulus + law.kinematic_modulus
        free = [1, 2, 3, 4, 5]
        eps = np.zeros(6)
        state = law.initial_state((), 6)
        for e11 in np.linspace(0.0, 8 * SY / E, 17)[1:]:
            eps[0] = e11
            sig, T, new = law.evaluate(eps, state)
            iterations = 0
            while np.abs(sig[free]).max() > 1e-13 * SY and iterations < 20:
                eps[free] -= np.linalg.solve(T[np.ix_(free, free)], sig[free])
                sig, T, new = law.evaluate(eps, state)
                iterations += 1
            # consistent tangent: exact for this piecewise-linear response, so Newton stops
            # after one correction (two across the elastic/plastic transition)
            assert iterations <= 2, iterations
            ep = 0.0 if H == 0 else max(0.0, (E * e11 - SY) / (E + H))
            expected = min(E * e11, SY) if H == 0 else E * (e11 - ep)
            assert sig[0] == pytest.approx(expected, rel=1e-12)
            state = new

    @pytest.mark.parametrize("m", [3, 6])
    @pytest.mark.parametrize("kind", list(LAWS))
    def test_returned_state_on_yield_surface(self, kind, m):
        law = j2(kind)
        rng = np.random.default_rng(11)
        eps, state = random_history(law, m, 300, rng)
        eps = eps + 5e-3 * rng.standard_normal(eps.shape)
        sig, _, new = law.evaluate(eps, state)
        plastic = new["equivalent_plastic_strain"] > state["equivalent_plastic_strain"]
        assert plastic.sum() > 100
        f = law.yield_function(sig, new)
        np.testing.assert_allclose(f[plastic], 0.0, rtol=0, atol=EXACT * SY)
        assert np.all(f[~plastic] <= EXACT * SY)
        # re-evaluating the returned state is an elastic step with the same stress
        sig2, _, again = law.evaluate(eps, new)
        np.testing.assert_allclose(sig2, sig, rtol=0, atol=EXACT * SY)
        np.testing.assert_array_equal(
            again["equivalent_plastic_strain"], new["equivalent_plastic_strain"]
        )
        # plastic flow is deviatoric; the back stress stays deviatoric
        for key in ("plastic_strain", "back_stress"):
            np.testing.assert_allclose(new[key][:, :3].sum(axis=-1), 0.0, atol=1e-15)

    def test_perfectly_plastic_limit(self):
        law = j2("perfect")
        rng = np.random.default_rng(5)
        eps = 2e-2 * rng.standard_normal((200, 6))
        sig, T, st = law.evaluate(eps)
        s = sig @ tn.isotropic_projectors(3)[1]
        norm = np.linalg.norm(s, axis=-1)
        plastic = st["equivalent_plastic_strain"] > 0
        assert plastic.sum() > 150
        np.testing.assert_allclose(norm[plastic], np.sqrt(2 / 3) * SY, rtol=EXACT)
        # zero stiffness along the flow direction, elastic bulk response kept
        n = s[plastic] / norm[plastic, None]
        np.testing.assert_allclose(np.einsum("pij,pj->pi", T[plastic], n), 0.0, atol=EXACT * E)
        vol = np.array([1.0, 1, 1, 0, 0, 0])
        np.testing.assert_allclose(
            T[plastic] @ vol,
            np.broadcast_to(3 * law.elastic.K * vol, (plastic.sum(), 6)),
            rtol=0,
            atol=EXACT * E,
        )
        # the hardening laws tend to it as H -> 0
        near = J2Plasticity(E=E, nu=NU, yield_stress=SY, isotropic_modulus=1e-9)
        np.testing.assert_allclose(near.evaluate(eps)[0], sig, rtol=0, atol=1e-9 * SY)

    def test_bauschinger_reverse_yield(self):
        """Uniaxial load to sigma_max, reverse: kinematic yields at sigma_max - 2 sigma_y,
        isotropic at -sigma_max (both with the same monotonic curve)."""
        H = 40.0
        smax = 2.5 * SY
        delta = 1e-8 * SY
        laws = {"kinematic": j2("kinematic"), "isotropic": j2("isotropic")}
        reverse_yield = {"kinematic": smax - 2.0 * SY, "isotropic": -smax}
        for name, law in laws.items():
            ep = (smax - SY) / H
            sig, _, state = law.evaluate(self.uniaxial_strain(smax, ep))
            assert sig[0] == pytest.approx(smax, rel=1e-13)

            def step_to(target, law=law, state=state, ep=ep):
                return law.evaluate(self.uniaxial_strain(target, ep), state)

            p0 = state["equivalent_plastic_strain"]
            s_in, _, st_in = step_to(reverse_yield[name] + delta)
            assert st_in["equivalent_plastic_strain"] == p0  # still elastic
            assert s_in[0] == pytest.approx(reverse_yield[name] + delta, rel=1e-12)
            _, _, st_out = step_to(reverse_yield[name] - delta)
            assert st_out["equivalent_plastic_strain"] > p0  # yields
        # kinematic hardening reverse plastic branch: sigma = H eps_p - sigma_y (exact)
        law = laws["kinematic"]
        ep1 = (smax - SY) / H
        _, _, state = law.evaluate(self.uniaxial_strain(smax, ep1))
        s2 = -1.5 * SY
        ep2 = (s2 + SY) / H
        sig, _, st = law.evaluate(self.uniaxial_strain(s2, ep2), state)
        np.testing.assert_allclose(sig, [s2, 0, 0, 0, 0, 0], rtol=0, atol=EXACT * SY)
        assert st["equivalent_plastic_strain"] == pytest.approx(ep1 + (ep1 - ep2), rel=1e-12)
        # the isotropic law is still elastic there
        _, _, st_iso = laws["isotropic"].evaluate(
            self.uniaxial_strain(s2, ep1),
            laws["isotropic"].evaluate(self.uniaxial_strain(smax, ep1))[2],
        )
        assert st_iso["equivalent_plastic_strain"] == pytest.approx(ep1, rel=1e-15)


class TestJ2Interface:
    def test_protocol_and_properties(self):
        law = j2()
        assert isinstance(law, ConstitutiveLaw) and law.has_state
        assert law.physics == "elasticity"
        assert law.elastic == Elasticity(E=E, nu=NU)
        assert as_phase_map([law, Elasticity(E=1.0, nu=0.2)])[0] is law
        assert law == j2() and law != j2("isotropic") and len({law, j2()}) == 1
        assert "J2Plasticity(E=200.0" in repr(law)
        st = law.initial_state((2, 3), 3)
        assert st["plastic_strain"].shape == (2, 3, 6) and st["stress_33"].shape == (2, 3)
        assert "stress_33" not in law.initial_state(4, 6)
        with pytest.raises(AttributeError, match="immutable"):
            law.E = 1.0  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (dict(E=0.0), r"E must be > 0, got 0.0"),
            (dict(nu=0.5), r"nu must satisfy -1 < nu < 0.5, got 0.5"),
            (dict(yield_stress=0.0), r"yield_stress must be > 0, got 0.0"),
            (dict(isotropic_modulus=-1.0), r"isotropic_modulus must be >= 0, got -1.0"),
            (dict(kinematic_modulus=-1.0), r"kinematic_modulus must be >= 0"),
            (dict(yield_stress=float("nan")), r"yield_stress must be finite"),
            (dict(E="a"), r"E must be a real scalar, got 'a'"),
        ],
    )
    def test_invalid_parameters(self, kwargs, match):
        args = dict(E=E, nu=NU, yield_stress=SY) | kwargs
        with pytest.raises(ValueError, match=match):
            J2Plasticity(**args)

    def test_invalid_inputs(self):
        law = j2()
        with pytest.raises(ValueError, match=r"strain must be Mandel \(\.\.\., 3\)"):
            law.evaluate(np.zeros((2, 4)))
        with pytest.raises(ValueError, match="state must be None or a mapping"):
            law.evaluate(np.zeros(6), [1, 2])
        with pytest.raises(ValueError, match=r"state lacks \['back_stress'\]"):
            law.evaluate(
                np.zeros(6), {"plastic_strain": np.zeros(6), "equivalent_plastic_strain": 0.0}
            )
        with pytest.raises(ValueError, match=r"state\['plastic_strain'\] has shape \(3, 6\)"):
            law.evaluate(np.zeros((2, 6)), law.initial_state((3,), 6))
        with pytest.raises(ValueError, match=r"m must be 3 .* or 6"):
            law.initial_state((2,), 4)


# ====================================================================== power law
class TestPowerLaw:
    @pytest.mark.parametrize("d", [1, 2, 3, 4])
    @pytest.mark.parametrize(
        ("n", "eps"), [(0.4, None), (1.0, None), (2.0, None), (3.5, 0.0), (3.5, 1e-2), (0.7, 0.3)]
    )
    def test_tangent_matches_finite_differences(self, n, eps, d):
        law = PowerLawConductor(k=2.0, n=n, g0=0.5, eps=eps)
        g = np.random.default_rng(1).standard_normal((50, d))
        q, T, state = law.evaluate(g)
        assert state is None and q.shape == g.shape
        fd = fd_tangent(lambda x: law.evaluate(x)[0], g, h=1e-6)
        T = np.broadcast_to(T, (50, d, d))
        scale = np.abs(T).max(axis=(-2, -1), keepdims=True)  # per point: |g| spans decades
        np.testing.assert_allclose((T - fd) / scale, 0.0, rtol=0, atol=FD_RTOL)
        np.testing.assert_array_equal(T, T.swapaxes(-1, -2))
        assert np.all(np.linalg.eigvalsh(T)[:, 0] > 0)

    def test_explicit_formula(self):
        law = PowerLawConductor(k=3.0, n=2.5, g0=0.2)
        g = np.random.default_rng(2).standard_normal((20, 3))
        mag = np.linalg.norm(g, axis=-1, keepdims=True)
        np.testing.assert_allclose(law.evaluate(g)[0], 3.0 * (mag / 0.2) ** 1.5 * g, rtol=1e-14)

    def test_n_equal_one_is_linear_conductivity(self):
        law = PowerLawConductor(k=2.5, n=1.0, g0=7.0)
        g = np.random.default_rng(3).standard_normal((6, 3))
        q, T, _ = law.evaluate(g)
        q_lin, T_lin, _ = Conductivity(k=2.5).evaluate(g)
        np.testing.assert_array_equal(q, q_lin)
        np.testing.assert_array_equal(T, T_lin)
        assert law.linear == Conductivity(k=2.5)

    @pytest.mark.parametrize("n", [1.0, 1.5, 2.0, 4.0])
    def test_homogeneity(self, n):
        law = PowerLawConductor(k=1.3, n=n, g0=2.0)
        g = np.random.default_rng(4).standard_normal((10, 2))
        for t in (0.1, 3.0, 17.0):
            np.testing.assert_allclose(
                law.evaluate(t * g)[0], t**n * law.evaluate(g)[0], rtol=1e-13
            )
            # tangent is homogeneous of degree n - 1
            np.testing.assert_allclose(
                law.evaluate(t * g)[1], t ** (n - 1) * law.evaluate(g)[1], rtol=1e-13
            )

    def test_tangent_at_zero_gradient(self):
        z = np.zeros((2, 3))
        q, T, _ = PowerLawConductor(k=2.0, n=3.0).evaluate(z)
        np.testing.assert_array_equal(q, 0.0)
        np.testing.assert_array_equal(T, 0.0)  # finite (singular) without regularisation
        _, T, _ = PowerLawConductor(k=2.0, n=3.0, eps=1e-3).evaluate(z)
        np.testing.assert_allclose(T, np.broadcast_to(2.0 * 1e-6 * np.eye(3), T.shape), rtol=1e-12)
        law = PowerLawConductor(k=2.0, n=0.5)  # default regularisation for n < 1
        assert law.eps == 1e-6
        _, T, _ = law.evaluate(z)
        np.testing.assert_allclose(T, np.broadcast_to(2.0 * 1e3 * np.eye(3), T.shape), rtol=1e-12)
        assert np.all(np.isfinite(T))

    def test_interface(self):
        law = PowerLawConductor(k=1.0, n=2.0)
        assert isinstance(law, ConstitutiveLaw) and law.physics == "conduction"
        assert not law.has_state
        assert not Conductivity(k=1.0).has_state and not Elasticity(E=1.0, nu=0.2).has_state
        assert as_phase_map([law, Conductivity(k=1.0)])[0] is law
        assert repr(law) == "PowerLawConductor(k=1.0, n=2.0, g0=1.0, eps=0.0)"
        assert law == PowerLawConductor(k=1.0, n=2.0) and len({law, law}) == 1
        with pytest.raises(ValueError, match=r"gradient must have shape \(\.\.\., d\)"):
            law.evaluate(np.float64(1.0))

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (dict(k=0.0), r"k must be > 0, got 0.0"),
            (dict(n=0.0), r"n must be > 0, got 0.0"),
            (dict(n=-2.0), r"n must be > 0"),
            (dict(g0=-1.0), r"g0 must be > 0"),
            (dict(eps=-1.0), r"eps must be >= 0"),
            (dict(n=0.5, eps=0.0), r"n = 0.5 < 1 needs eps > 0"),
            (dict(k=np.ones(2)), r"k must be a real scalar"),
            (dict(n=float("inf")), r"n must be finite"),
        ],
    )
    def test_invalid(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            PowerLawConductor(**(dict(k=1.0, n=2.0) | kwargs))


# ====================================================================== Neo-Hookean
MU, LAM = 1.3, 2.1


def random_F(rng, n, d, amp=0.3):
    F = np.eye(d) + amp * rng.standard_normal((n, d, d))
    return F[np.linalg.det(F) > 0.3]


def rotations(rng, n, d):
    if d == 3:
        return Rotation.random(n, random_state=rng).as_matrix()
    t = rng.uniform(0, 2 * np.pi, n)
    c, s = np.cos(t), np.sin(t)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


class TestNeoHookean:
    @pytest.mark.parametrize("d", [2, 3])
    def test_tangent_and_stress_match_finite_differences(self, d):
        law = NeoHookean(mu=MU, lam=LAM)
        F = random_F(np.random.default_rng(0), 100, d).reshape(-1, d * d)
        P, A, state = law.evaluate(F)
        assert state is None and P.shape == F.shape and A.shape == (len(F), d * d, d * d)
        fd = fd_tangent(lambda x: law.evaluate(x)[0], F, h=1e-6)
        np.testing.assert_allclose(A, fd, rtol=0, atol=FD_RTOL * (LAM + 2 * MU))
        dW = fd_tangent(lambda x: law.energy(x)[..., None], F, h=1e-6)[:, 0, :]
        np.testing.assert_allclose(P, dW, rtol=0, atol=FD_RTOL * (LAM + 2 * MU))

    @pytest.mark.parametrize("d", [2, 3])
    def test_major_symmetry(self, d):
        law = NeoHookean(E=3.0, nu=0.35)
        F = random_F(np.random.default_rng(1), 50, d, amp=0.5).reshape(-1, d * d)
        A = law.evaluate(F)[1]
        np.testing.assert_allclose(A, A.swapaxes(-1, -2), rtol=0, atol=1e-14 * np.abs(A).max())

    @pytest.mark.parametrize("d", [2, 3])
    def test_objectivity(self, d):
        law = NeoHookean(mu=MU, lam=LAM)
        rng = np.random.default_rng(2)
        F = random_F(rng, 40, d)
        R = rotations(rng, len(F), d)
        RF = (R @ F).reshape(-1, d * d)
        np.testing.assert_allclose(
            law.energy(RF), law.energy(F.reshape(-1, d * d)), rtol=EXACT, atol=EXACT
        )
        P_R = law.evaluate(RF)[0].reshape(-1, d, d)
        P = law.evaluate(F.reshape(-1, d * d))[0].reshape(-1, d, d)
        np.testing.assert_allclose(P_R, R @ P, rtol=0, atol=EXACT * (LAM + 2 * MU))
        # and the Kirchhoff-like P F^T is symmetric (balance of angular momentum)
        PFt = P @ F.swapaxes(-1, -2)
        np.testing.assert_allclose(PFt, PFt.swapaxes(-1, -2), rtol=0, atol=EXACT * 10)

    @pytest.mark.parametrize("d", [2, 3])
    def test_stress_free_reference_and_small_strain_limit(self, d):
        law = NeoHookean(mu=MU, lam=LAM)
        identity = np.eye(d).ravel()
        P, A, _ = law.evaluate(identity)
        np.testing.assert_array_equal(P, 0.0)
        assert law.energy(identity) == 0.0
        A4 = A.reshape(d, d, d, d)
        # minor symmetries at F = I, then the Mandel matrix is isotropic (lam, mu)
        np.testing.assert_allclose(A4, A4.swapaxes(0, 1), atol=1e-15)
        np.testing.assert_allclose(A4, A4.swapaxes(2, 3), atol=1e-15)
        C = tn.full_to_mandel(A4, order=4)
        expected = Elasticity(K=LAM + 2 * MU / 3, G=MU).tensor(d)
        np.testing.assert_allclose(C, expected, rtol=0, atol=1e-14)
        np.testing.assert_allclose(C, law.elastic.tensor(d), rtol=0, atol=1e-14)
        assert C[0, 0] == pytest.approx(LAM + 2 * MU) and C[0, 1] == pytest.approx(LAM)
        # P(I + h Grad u) = C : sym(h Grad u) + O(h^2)
        Gu = np.random.default_rng(3).standard_normal((d, d))
        for h in (1e-4, 1e-6):
            P = law.evaluate((np.eye(d) + h * Gu).ravel())[0].reshape(d, d)
            sig = tn.mandel_to_full(expected @ tn.full_to_mandel(h * Gu))
            np.testing.assert_allclose(P, sig, rtol=0, atol=20 * h**2 * (LAM + 2 * MU))

    def test_plane_strain_is_3d_with_unit_f33(self):
        law = NeoHookean(mu=MU, lam=LAM)
        F2 = random_F(np.random.default_rng(4), 30, 2)
        F3 = np.zeros((len(F2), 3, 3))
        F3[:, :2, :2] = F2
        F3[:, 2, 2] = 1.0
        P2, A2, _ = law.evaluate(F2.reshape(-1, 4))
        P3, A3, _ = law.evaluate(F3.reshape(-1, 9))
        inplane = [0, 1, 3, 4]
        np.testing.assert_allclose(P2, P3[:, inplane], rtol=0, atol=EXACT)
        np.testing.assert_allclose(A2, A3[:, inplane][:, :, inplane], rtol=0, atol=EXACT)
        np.testing.assert_allclose(
            law.energy(F2.reshape(-1, 4)), law.energy(F3.reshape(-1, 9)), rtol=EXACT, atol=EXACT
        )
        lnJ = np.log(np.linalg.det(F2))
        np.testing.assert_allclose(P3[:, 8], LAM * lnJ, rtol=0, atol=EXACT)  # P33 = lam ln J

    def test_pure_dilatation_closed_form(self):
        law = NeoHookean(mu=MU, lam=LAM)
        for s in (0.8, 1.0, 1.3):
            P = law.evaluate((s * np.eye(3)).ravel())[0].reshape(3, 3)
            lnJ = 3 * np.log(s)
            expected = (MU * s + (LAM * lnJ - MU) / s) * np.eye(3)
            np.testing.assert_allclose(P, expected, rtol=0, atol=EXACT)

    def test_non_positive_jacobian_names_points(self):
        law = NeoHookean(mu=MU, lam=LAM)
        F = np.tile(np.eye(3).ravel(), (2, 3, 1))
        F[1, 2] = np.diag([-1.0, 1.0, 1.0]).ravel()
        with pytest.raises(ValueError, match=r"det F <= 0 .*at 1 of 6 point\(s\).*\(1, 2\): -1"):
            law.evaluate(F)
        F[0, 0] = 0.0
        with pytest.raises(ValueError, match=r"at 2 of 6 point\(s\).*\(0, 0\): 0"):
            law.energy(F)
        with pytest.raises(ValueError, match=r"not finite"):
            law.evaluate(np.full(4, np.nan))

    def test_interface_and_validation(self):
        law = NeoHookean(E=1.0, nu=0.25)
        assert law.lam == pytest.approx(0.4) and law.mu == pytest.approx(0.4)
        assert isinstance(law, ConstitutiveLaw) and law.physics == "finite-strain"
        assert not law.has_state
        assert repr(law) == "NeoHookean(E=1.0, nu=0.25)"
        assert NeoHookean(mu=1.0, lam=2.0) == NeoHookean(mu=1.0, lam=2.0)
        assert as_phase_map([law])[0] is law
        with pytest.raises(ValueError, match=r"F must be flattened row-major, \(\.\.\., 4\)"):
            law.evaluate(np.eye(3))
        for kwargs, match in [
            (dict(mu=0.0, lam=1.0), r"mu must be > 0, got 0.0"),
            (dict(mu=1.0, lam=-1.0), r"lam must be > -2 mu / 3"),
            (dict(E=-1.0, nu=0.3), r"E must be > 0"),
            (dict(E=1.0, nu=0.5), r"nu must satisfy -1 < nu < 0.5"),
            (dict(mu=1.0, nu=0.3), r"exactly one parameter set.*got mu, nu"),
            (dict(), r"got nothing"),
            (dict(mu=True, lam=1.0), r"mu must be a real number"),
        ]:
            with pytest.raises(ValueError, match=match):
                NeoHookean(**kwargs)
