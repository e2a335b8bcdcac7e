"""MsFEM oracles: 1D exactness, constant coefficients, the resonance error and its cures."""

from __future__ import annotations

import numpy as np
import pytest

from scalebridge.asymptotic.cell import PeriodicCoefficient, cell_correctors
from scalebridge.asymptotic.fem import box_mesh, lagrange_basis, quadrature_points, solve_diffusion
from scalebridge.coupling.msfem import default_coefficient, msfem_errors, msfem_solve
from scalebridge.coupling.msfem_basis import Oversampling
from scalebridge.coupling.msfem_grid import node_index, solve_fine_reference
from scalebridge.coupling.msfem_study import (
    coarse_sizes,
    msfem_resonance_study,
    plot_resonance_study,
)

ALL_VARIANTS = [
    (b, f)
    for b in ("linear", "oscillatory", "oversampling", "periodic")
    for f in ("galerkin", "petrov-galerkin")
]


@pytest.fixture(scope="module")
def correctors():
    return cell_correctors(PeriodicCoefficient.from_function(default_coefficient(1.0), 2), 32)


@pytest.fixture(scope="module")
def resonance_case():
    """eps = 1/16, h = eps/8: one 128^2 fine reference shared by the runs."""
    eps = 1 / 16
    a = default_coefficient(eps)
    return eps, a, solve_fine_reference(a, 128)


def _in_c_order(basis, u, n):
    """skfem nodal values reordered to the C order of the structured grids."""
    out = np.empty(basis.mesh.p.shape[1])
    out[node_index(np.rint(basis.mesh.p.T * n).astype(np.int64), n)] = u[: len(out)]
    return out


class TestOneDimension:
    def test_coarse_nodes_are_exact(self):
        """In 1D the a-harmonic basis makes MsFEM the interpolant of the fine solution:
        measured nodal error 2.8e-13 (SuperLU round-off)."""
        a = lambda x: 1.0 / (2.0 + 1.9 * np.sin(2 * np.pi * x[0] / 0.07))  # noqa: E731
        ref = solve_fine_reference(a, 8 * 40, dim=1)
        for bc in ("linear", "oscillatory", "oversampling"):
            sol = msfem_solve(a, 8, 40, bc, dim=1)
            assert msfem_errors(sol, ref).coarse_nodal < 1e-10, bc


class TestConstantCoefficient:
    @pytest.mark.parametrize(("boundary", "formulation"), ALL_VARIANTS)
    def test_equals_coarse_q1(self, boundary, formulation):
        """a = 2: every multiscale basis is the Q1 basis, so MsFEM = Q1 FEM (skfem) on the
        coarse mesh, non-zero Dirichlet data included (measured difference ~1e-15)."""
        N = 4
        g = lambda x: x[0] + 2.0 * x[1]  # noqa: E731
        cor = cell_correctors(PeriodicCoefficient.from_function(lambda y: 2.0 + 0 * y[0], 2), 8)
        sol = msfem_solve(
            lambda x: 2.0 + 0 * x[0], N, 8, boundary, formulation, g=g, correctors=cor, eps=1 / 4
        )
        basis = lagrange_basis(box_mesh([0, 0], [1, 1], [N, N]), 1)
        q1 = _in_c_order(basis, solve_diffusion(basis, 2.0, 1.0, g).u, N)
        np.testing.assert_allclose(sol.coarse_values, q1, atol=1e-12)


class TestFineReference:
    def test_matches_scikit_fem(self):
        """The structured fine reference uses skfem's 3x3 Gauss rule: same solution to
        round-off (measured 2e-15)."""
        a = default_coefficient(1 / 8)
        basis = lagrange_basis(box_mesh([0, 0], [1, 1], [32, 32]), 1, intorder=4)
        u = solve_diffusion(basis, a(quadrature_points(basis)), 1.0, 0.0).u
        ref = solve_fine_reference(a, 32)
        np.testing.assert_allclose(ref.u, _in_c_order(basis, u, 32), atol=1e-12)


class TestResonance:
    def test_oversampling_cures_resonance(self, resonance_case):
        """Measured (eps = 1/16): H = 2 eps: linear L2 7.2e-2, H1 0.269; oversampling
        (patch 2H) L2 2.5e-2, H1 0.164 -> factors 2.85 (L2), 1.64 (H1).  H = eps: H1
        0.341 vs 0.099 -> 3.45."""
        eps, a, ref = resonance_case
        lin = msfem_errors(msfem_solve(a, 8, 16, "linear", eps=eps), ref)
        ovs = msfem_errors(msfem_solve(a, 8, 16, "oversampling", eps=eps), ref)
        assert lin.l2 > 2.0 * ovs.l2
        assert lin.h1 > 1.3 * ovs.h1
        lin1 = msfem_errors(msfem_solve(a, 16, 8, "linear", eps=eps), ref)
        ovs1 = msfem_errors(msfem_solve(a, 16, 8, "oversampling", eps=eps), ref)
        assert lin1.h1 > 2.5 * ovs1.h1

    def test_oscillatory_boundary_helps(self, resonance_case):
        """Oscillatory BCs sit between linear and oversampling at H = eps (measured at
        eps = 1/48: L2 3.6e-2 vs 1.1e-1 linear)."""
        eps, a, ref = resonance_case
        lin = msfem_errors(msfem_solve(a, 16, 8, "linear", eps=eps), ref)
        osc = msfem_errors(msfem_solve(a, 16, 8, "oscillatory", eps=eps), ref)
        assert osc.l2 < 0.5 * lin.l2

    def test_executor_gives_the_same_basis(self, resonance_case):
        eps, a, _ = resonance_case
        serial = msfem_solve(a, 8, 16, "oversampling", eps=eps)
        threads = msfem_solve(a, 8, 16, "oversampling", eps=eps, executor="threads", max_workers=2)
        np.testing.assert_allclose(threads.coarse_values, serial.coarse_values, atol=1e-13)


class TestPeriodicCorrectors:
    def test_close_to_oversampling_for_small_eps(self, correctors):
        """For H >> eps both approximate the homogenized coarse operator: measured
        coarse-value difference 9e-4 (N = 4, eps = 1/16, patch 3H)."""
        eps = 1 / 16
        a = default_coefficient(eps)
        per = msfem_solve(a, 4, 32, "periodic", correctors=correctors, eps=eps)
        ovs = msfem_solve(a, 4, 32, "oversampling", oversampling=3.0, eps=eps)
        diff = np.abs(per.coarse_values - ovs.coarse_values).max() / ovs.coarse_values.max()
        assert diff < 5e-3

    def test_no_resonance(self, resonance_case, correctors):
        """At H = eps the periodic basis has no resonance: measured L2 2.7e-2 vs 1.13e-1
        (linear)."""
        eps, a, ref = resonance_case
        per = msfem_errors(msfem_solve(a, 16, 8, "periodic", correctors=correctors, eps=eps), ref)
        lin = msfem_errors(msfem_solve(a, 16, 8, "linear", eps=eps), ref)
        assert per.l2 < 0.4 * lin.l2


class TestStudy:
    def test_table_and_plot(self, tmp_path):
        study = msfem_resonance_study(1 / 8, ratios=(1.0, 2.0), variants=("linear", "oversampling"))
        assert len(study.rows) == 4 and "| 2 | 4 | 16 |" in study.table()
        assert "fine/online" in study.timing_table()
        path = plot_resonance_study(study, tmp_path / "res.png")
        assert path.read_bytes()[:4] == b"\x89PNG"

    def test_fixed_h_design(self, tmp_path):
        """H = 1/4 fixed, eps = H / ratio: one fine reference per eps (M = 32, 64, 128).
        Measured H1: linear 0.411, 0.364, 0.335; oversampling 0.306, 0.307, 0.307
        (max/min 1.003); L2: oversampling 0.101, 0.091, 0.091 (max/min 1.11).  0.6 s."""
        study = msfem_resonance_study(
            ratios=(1.0, 2.0, 4.0), variants=("linear", "oversampling"), mode="fixed-H", coarse=4
        )
        assert study.mode == "fixed-H" and study.coarse == 4
        assert [(r.coarse, r.fine, r.fine_cells) for r in study.rows[::2]] == [
            (4, 8, 32),
            (4, 16, 64),
            (4, 32, 128),
        ]
        assert [1 / r.eps for r in study.rows[::2]] == pytest.approx([4, 8, 16])
        assert study.eps == pytest.approx(1 / 16) and study.fine_cells == 128
        assert "| 2 | 8 | 4 | 16 | 64 |" in study.table()
        assert "| 4 | 16 | 128 |" in study.timing_table()
        _, ovs_h1 = study.curve("oversampling", "h1")
        _, ovs_l2 = study.curve("oversampling", "l2")
        _, lin_h1 = study.curve("linear", "h1")
        assert ovs_h1.max() / ovs_h1.min() < 1.05  # measured 1.003: no resonance
        assert ovs_l2.max() / ovs_l2.min() < 1.3  # measured 1.11
        excess = lin_h1 / ovs_h1  # measured 1.34, 1.19, 1.09: resonance fades as eps / H
        assert excess[0] > 1.25 and excess[-1] < 1.15 and np.all(np.diff(excess) < 0)
        path = plot_resonance_study(study, tmp_path / "fixed_h.png")
        assert path.read_bytes()[:4] == b"\x89PNG"


class TestBadInputs:
    def test_coarse_not_multiple_of_fine(self):
        with pytest.raises(ValueError, match=r"ratios: H/eps = 2\.5"):
            coarse_sizes(1 / 48, 2.5, 8)
        with pytest.raises(ValueError, match="not a multiple of the fine mesh"):
            coarse_sizes(1 / 48, 48 / 9, 8)

    def test_under_resolved_warns(self):
        with pytest.warns(UserWarning, match="does not resolve eps"):
            msfem_solve(default_coefficient(1 / 4), 2, 4, eps=1 / 4)

    def test_oversampling_factor(self):
        with pytest.raises(ValueError, match=r"oversampling factor: got 0\.5"):
            Oversampling(0.5)
        with pytest.raises(ValueError, match="expected a number >= 1"):
            msfem_solve(lambda x: 1 + 0 * x[0], 2, 2, "oversampling", oversampling=0.9)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"boundary": "bubble"}, "boundary: got 'bubble'"),
            ({"formulation": "mixed"}, "formulation: got 'mixed'"),
            ({"boundary": "periodic"}, "needs correctors"),
            ({"coarse": 0}, "coarse: got 0"),
            ({"dim": 3}, "dim: got 3"),
        ],
    )
    def test_unknown_options(self, kwargs, match):
        args = {"coarse": 2, "fine": 2, **kwargs}
        with pytest.raises(ValueError, match=match):
            msfem_solve(lambda x: 1 + 0 * x[0], **args)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"mode": "fixed-h"}, "mode"),
            ({"mode": "fixed-H", "coarse": 0}, "coarse"),
            ({"mode": "fixed-H", "coarse": 4, "ratios": (0.1,)}, "ratios"),
        ],
    )
    def test_bad_study_mode(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            msfem_resonance_study(variants=("linear",), **kwargs)

    def test_unknown_variant_in_study(self):
        with pytest.raises(ValueError, match="variants: got 'quadratic'"):
            msfem_resonance_study(1 / 8, ratios=(1.0,), variants=("quadratic",))
