"""Bridging domain method (scalebridge.atomistic.bridging).

Oracles: the patch test (a uniform deformation is reproduced exactly -- to round-off with
Lagrange multipliers, to O(1/p) with a penalty), equality of the eliminated and
saddle-point Lagrange solutions, the fully atomistic solution of a defect problem
(convergence as the atomistic region grows), exact mass bookkeeping, and for the dynamics
energy conservation of velocity Verlet (O(dt^2)), the constraint to round-off, and the
reflection of a wave packet that vanishes for long waves and grows with the wavenumber.
"""

from __future__ import annotations

import numpy as np
import pytest

from scalebridge.atomistic.benchmarks import defect_benchmark, vacancy_problem
from scalebridge.atomistic.bridging import (
    Handshake,
    bridging_domain,
    relax_bridging,
    simulate,
    wave_reflection,
)
from scalebridge.atomistic.cauchy_born import relax_lattice_constant
from scalebridge.atomistic.chain import Loading, linear_chain, triangular_patch
from scalebridge.atomistic.lattice import triangular
from scalebridge.atomistic.potentials import Harmonic, LennardJones

INF = float("inf")


def lj_chain(n: int = 61):
    """Nearest-neighbour LJ chain (cutoff 1.5 sigma) at its equilibrium spacing."""
    return linear_chain(n, spacing=2 ** (1 / 6), nearest=LennardJones(cutoff=1.5))


def nnn_chain(n: int = 61):
    return linear_chain(
        n,
        nearest=Harmonic(k=1.0, r0=1.0, cutoff=INF),
        next_nearest=Harmonic(k=0.5, r0=2.0, cutoff=INF),
    )


def perturbed(load: Loading, scale: float, seed: int = 0) -> Loading:
    """The same loading, started away from the affine answer."""
    noise = np.random.default_rng(seed).normal(scale=scale, size=load.displacement.shape)
    return Loading(load.fixed, load.displacement, load.force, load.displacement + noise)


def patch_error(crystal, hs, constraint="lagrange", F=None, **kw):
    d = crystal.dim
    F = np.asarray(F if F is not None else np.eye(d) * 1.02)
    X = crystal.positions
    lo, hi = X.min(axis=0), X.max(axis=0)
    edge = np.any((X - lo < crystal.cutoff) | (hi - X < crystal.cutoff), axis=1)
    load = perturbed(Loading.clamped(crystal, edge, F=F), 0.01 * crystal.shell[0, 0])
    bd = bridging_domain(crystal, hs, constraint=constraint, **kw)
    sol = relax_bridging(bd, load)
    return float(np.abs(sol.displacement() - load.displacement).max()), sol


class TestPatchTest1D:
    @pytest.mark.parametrize("profile", ["linear", "constant", "cubic"])
    @pytest.mark.parametrize("make", [lj_chain, nnn_chain])
    def test_lagrange_is_exact(self, profile, make):
        """Nearest-neighbour bonds: each bond weight is the mean of alpha over its element,
        so the bond sum of the band equals the blended continuum integral; measured 2e-16
        (NN LJ) and 0 (NN+NNN harmonic)."""
        c = make()
        a = c.positions[1, 0]
        for constraint in ("lagrange", "lagrange-saddle"):
            err, sol = patch_error(c, Handshake([30 * a], 8 * a, 16 * a, profile), constraint)
            assert err < 1e-12
            assert sol.constraint_violation < 1e-13

    def test_penalty_error_scales_as_one_over_p(self):
        """Under a uniform strain the multipliers are non-zero (blended bonds are
        unbalanced), so a penalty needs B u = lambda / p != 0: violation ~ 1/p.
        Measured 2.5e-6 (p = 100 phi'') and 2.5e-7 (p x 10)."""
        c = lj_chain()
        a = c.positions[1, 0]
        hs = Handshake([30 * a], 8 * a, 16 * a)
        k = float(LennardJones(cutoff=1.5).d2phi(a))
        e1, s1 = patch_error(c, hs, "penalty", penalty=100 * k)
        e2, s2 = patch_error(c, hs, "penalty", penalty=1000 * k)
        assert 1e-8 < e2 < e1 < 1e-4
        assert s1.constraint_violation / s2.constraint_violation == pytest.approx(10, rel=0.05)

    def test_augmented_lagrangian_reaches_the_exact_answer(self):
        c = nnn_chain()
        err, sol = patch_error(c, Handshake([30.0], 8.0, 16.0), "augmented")
        assert sol.constraint_violation < 1e-10 and err < 1e-10  # measured 3e-12, 1e-12


class TestPatchTest2D:
    @pytest.fixture(scope="class")
    @classmethod
    def lattices(cls):
        out = {}
        for cut in (1.5, 2.1):  # NN only; NN + NNN
            lj = LennardJones(cutoff=cut)
            a = relax_lattice_constant(triangular(1.0), lj).a
            c = triangular_patch(31, 31, spacing=a, potential=lj)
            out[cut] = (c, np.array([15 * a, 15 * np.sqrt(3) / 2 * a]), a)
        return out

    @pytest.mark.parametrize("profile", ["linear", "cubic"])
    def test_nearest_neighbour_lagrange_is_exact(self, lattices, profile):
        """NN bonds weighted by the mean of alpha over their rhombus (two lattice triangles):
        exact element by element; measured 2e-16."""
        c, ctr, a = lattices[1.5]
        F = [[1.02, 0.01], [0.0, 0.99]]
        err, sol = patch_error(c, Handshake(ctr, 4 * a, 8 * a, profile), F=F)
        assert err < 1e-12 and sol.constraint_violation < 1e-13

    def test_next_nearest_bonds_leave_a_small_error(self, lattices):
        """sqrt(3) a bonds span two triangles: the midpoint rule for alpha is not exact.
        Measured 1.1e-4 (band 4a..6a), 5.8e-5 (4a..8a), 3.2e-5 (2a..8a) against
        displacements of 0.3: the error falls roughly as 1 / band width."""
        c, ctr, a = lattices[2.1]
        F = [[1.02, 0.01], [0.0, 0.99]]
        narrow, _ = patch_error(c, Handshake(ctr, 4 * a, 6 * a), F=F)
        wide, _ = patch_error(c, Handshake(ctr, 2 * a, 8 * a), F=F)
        assert 1e-6 < wide < narrow < 2e-4
        assert narrow / wide > 2.0


class TestDefect:
    def test_vacancy_error_decreases_with_atomistic_radius(self):
        """41 x 41 lattice, 7 vacancies, 3 % biaxial stretch: measured displacement errors
        (R = 2a, 4a, 6a, 8a) 3.3e-3, 2.6e-3, 1.5e-3, 1.0e-3 (slope about -0.9)."""
        p = vacancy_problem(41)
        a = p.crystal.positions[1, 0]
        radii = np.array([2.0, 4.0, 8.0]) * a
        rows = defect_benchmark(p, radii, methods=("bridging",))
        e = np.array([r.displacement_error for r in rows])
        assert np.all(np.diff(e) < 0) and e[0] < 0.01
        assert np.polyfit(np.log(radii), np.log(e), 1)[0] < -0.5
        assert max(r.energy_error for r in rows) < 1e-3  # measured 2e-4


class TestMasses:
    def test_lumped_masses_add_up_to_the_chain(self):
        """Atoms carry m (1 - mean alpha of their bonds), nodes rho int alpha N: the total is
        rho L plus half an atom at the free atomistic end (its cell sticks out by a/2)."""
        n = 81
        c = nnn_chain(n)
        bd = bridging_domain(c, Handshake([0.0], 30.0, 46.0, "cubic"))
        assert bd.mass_weight.min() >= 0  # atoms reached only by NNN bonds weigh 0
        assert bd.mass_weight.sum() == pytest.approx((n - 1) + 0.5, rel=1e-12)


class TestDynamics:
    @pytest.fixture(scope="class")
    @classmethod
    def reflection(cls):
        return wave_reflection([0.2, 0.4, 0.6, 0.8, 1.0, 1.2], element=2)

    def test_reflection_small_for_long_waves_and_growing(self, reflection):
        """Measured (q = 0.2 .. 1.2, elements of 2a): 1.7e-5, 1.5e-4, 7.4e-4, 2.8e-3, 0.20,
        0.99 -- the coarse mesh cannot carry q > ~1 (its cut-off frequency)."""
        r = reflection[:, 1]
        assert np.all(np.diff(r) > 0)
        assert r[0] < 1e-4 and r[1] < 1e-3
        assert r[-1] > 0.9

    def test_energy_is_conserved(self, reflection):
        assert reflection[:, 2].max() < 1e-3  # measured relative drift <= 2e-4

    def test_verlet_energy_error_is_second_order_and_constraint_holds(self):
        """Total energy oscillates by O(dt^2); B u = 0 to round-off (RATTLE projection)."""
        c = linear_chain(120, nearest=Harmonic(k=1.0, r0=1.0, cutoff=INF))
        X = c.positions[:, 0]
        nodes = np.union1d(np.flatnonzero((X >= 60) & (X % 4 == 0)), [119])
        bd = bridging_domain(c, Handshake([0.0], 60.0, 72.0), nodes=nodes)
        xa = X[bd.atoms]
        u0 = np.zeros((bd.n_atoms + bd.mesh.n_rep, 1))
        u0[: bd.n_atoms, 0] = 0.01 * np.exp(-0.5 * ((xa - 45) / 5) ** 2)
        drift = []
        for dt in (0.2, 0.1):
            tr = simulate(bd, u0, np.zeros_like(u0), dt=dt, steps=int(40 / dt), sample_every=5)
            drift.append(np.ptp(tr.energy) / tr.energy[0])
            assert tr.constraint_violation.max() < 1e-14  # measured 0 to 4e-17
        assert drift[0] / drift[1] == pytest.approx(4.0, rel=0.15)  # measured 3.9-4.0


class TestValidation:
    def test_bad_arguments(self):
        c = nnn_chain(20)
        with pytest.raises(ValueError, match="inner < outer"):
            Handshake([0.0], 5.0, 2.0)
        with pytest.raises(ValueError, match="profile must be one of"):
            Handshake([0.0], 1.0, 2.0, "smooth")
        with pytest.raises(ValueError, match="constraint must be one of"):
            bridging_domain(c, Handshake([0.0], 4.0, 8.0), constraint="glue")
        with pytest.raises(ValueError, match="center must have 1"):
            bridging_domain(c, Handshake([0.0, 0.0], 4.0, 8.0))
