"""Microstructure statistics against exact identities, closed forms and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, special, stats

from scalebridge.microstructure import (
    BooleanModel,
    GaussianExcursion,
    Microstructure,
    boolean_integral_range,
    boolean_s2,
    correlation_length,
    gaussian_excursion_integral_range,
    gaussian_excursion_s2,
    integral_range,
    laminate,
    radial_average,
    specific_surface,
    two_point_correlation,
    volume_fractions,
)
from scalebridge.microstructure.random_models import _paint_balls
from scalebridge.microstructure.statistics import _lag_distances


def random_labels(shape: tuple[int, ...], seed: int = 0) -> Microstructure:
    return Microstructure(np.random.default_rng(seed).integers(0, 3, shape), size=None)


def ensemble_s2(model, res: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Radial S2 of phase 1 averaged over ``n`` realizations of a unit cell."""
    size = (1.0,) * model.ndim
    s2 = np.mean([two_point_correlation(model.sample(size, res, s), 1) for s in range(n)], 0)
    return radial_average(s2, (1.0 / res,) * model.ndim)


class TestTwoPointCorrelation:
    @pytest.mark.parametrize("shape", [(7, 5), (6, 4, 5)])
    def test_equals_brute_force_over_all_lags(self, shape: tuple[int, ...]) -> None:
        ms = random_labels(shape)
        a, b = ms.labels == 1, ms.labels == 2
        s2, cross = two_point_correlation(ms, 1), two_point_correlation(ms, 1, 2)
        for lag in np.ndindex(*shape):
            shifted = np.roll(b, [-x for x in lag], axis=tuple(range(len(shape))))
            assert cross[lag] == pytest.approx(np.mean(a & shifted), abs=1e-14)
            shifted = np.roll(a, [-x for x in lag], axis=tuple(range(len(shape))))
            assert s2[lag] == pytest.approx(np.mean(a & shifted), abs=1e-14)

    def test_exact_identities(self) -> None:
        ms = random_labels((16, 12, 10), seed=1)
        f = volume_fractions(ms)
        s2 = two_point_correlation(ms, 1)
        assert s2[0, 0, 0] == pytest.approx(f[1], abs=1e-15)  # S2(0) = f
        assert s2.sum() / ms.n_voxels == pytest.approx(f[1] ** 2, abs=1e-14)  # sum = N f^2
        flipped = np.roll(s2[::-1, ::-1, ::-1], 1, axis=(0, 1, 2))  # S2(-v)
        assert np.allclose(s2, flipped, atol=1e-15)
        cross = [two_point_correlation(ms, 1, b) for b in (0, 1, 2)]
        assert cross[1] == pytest.approx(s2, abs=1e-15)
        assert np.allclose(sum(cross), f[1], atol=1e-14)  # sum over b of S2_ab = f_a
        assert two_point_correlation(ms, 1, 2)[0, 0, 0] == pytest.approx(0.0, abs=1e-15)

    def test_periodic_translation_leaves_statistics_unchanged(self) -> None:
        ms = BooleanModel(2, 0.4, 0.05).sample((1.0, 1.0), 64, seed=0)
        moved = Microstructure(np.roll(ms.labels, (17, -5), axis=(0, 1)), size=ms.size)
        assert np.allclose(two_point_correlation(moved, 1), two_point_correlation(ms, 1))
        assert specific_surface(moved, 1) == pytest.approx(specific_surface(ms, 1), rel=1e-12)
        assert correlation_length(moved, 1) == pytest.approx(correlation_length(ms, 1))

    def test_decorrelates_to_f_squared_in_a_large_cell(self) -> None:
        # l = 5 voxels in a 512^2 cell: beyond r = 0.1 = 10 l the covariance is exp(-100);
        # measured max |S2 - f_sample^2| = 9.0e-4 (sampling noise of the lag products)
        ms = GaussianExcursion(2, 0.3, 0.01).sample((1.0, 1.0), 512, seed=0)
        f = ms.volume_fraction(1)
        r, s2 = radial_average(two_point_correlation(ms, 1), ms.spacing)
        assert np.all(np.abs(s2[r > 0.1] - f * f) < 2e-3)


class TestRadialAverage:
    def test_distance_field_and_bins(self) -> None:
        spacing = (0.5, 0.25)
        dist = _lag_distances((16, 32), spacing)
        r, values = radial_average(dist, spacing)
        assert r[0] == 0.0 and np.allclose(values, r, atol=1e-14)  # mean distance per bin
        assert r[-1] <= 4.0 + 0.125 and np.all(np.diff(r) > 0)
        r2, _ = radial_average(dist, spacing, nbins=4)
        assert len(r2) == 5  # origin + 4 shells

    def test_bad_input(self) -> None:
        with pytest.raises(ValueError, match=r"spacing: got \(1\.0,\) for a field of shape"):
            radial_average(np.zeros((4, 4)), (1.0,))
        with pytest.raises(ValueError, match=r"nbins: got 0; expected a positive integer"):
            radial_average(np.zeros((4, 4)), (1.0, 1.0), nbins=0)


class TestClosedForms:
    @pytest.mark.parametrize("ndim", [2, 3])
    def test_boolean_limits(self, ndim: int) -> None:
        r = np.array([0.0, 0.3, 2.0, 5.0])
        s2 = boolean_s2(r, ndim, 0.4, 1.0)
        assert s2[0] == pytest.approx(0.4, abs=1e-15)
        assert np.allclose(s2[2:], 0.16, atol=1e-15)  # independent beyond 2 radii
        pores = boolean_s2(r, ndim, 0.4, 1.0, phase=0)
        assert np.allclose(pores, 1.0 - 2 * 0.4 + s2, atol=1e-15)  # two-phase identity
        # dilute limit: C(r) -> lambda K(r), so A -> v_ball
        v = math.pi if ndim == 2 else 4 / 3 * math.pi
        assert boolean_integral_range(ndim, 1e-9, 1.0) == pytest.approx(v, rel=1e-6)

    @pytest.mark.parametrize("rho", [0.0, 0.1, 0.5, 0.9, 0.999])
    def test_gaussian_excursion_s2_is_the_bivariate_normal(self, rho: float) -> None:
        f, length = 0.3, 0.05
        u = special.ndtri(1 - f)
        r = length * math.sqrt(-math.log(rho)) if rho > 0 else 10.0
        mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([u, u])
        expected = 1 - 2 * special.ndtr(u) + mvn
        # Gauss-Legendre vs scipy's Genz integration: measured difference <= 6e-17
        assert float(gaussian_excursion_s2(r, f, length)) == pytest.approx(expected, abs=1e-9)

    def test_gaussian_excursion_median_level(self) -> None:
        # u = 0: S2 = 1/4 + asin(rho) / (2 pi) exactly
        r = np.linspace(0, 0.2, 9)
        rho = np.exp(-((r / 0.05) ** 2))
        expected = 0.25 + np.arcsin(rho) / (2 * math.pi)
        assert np.allclose(gaussian_excursion_s2(r, 0.5, 0.05), expected, atol=1e-15)


class TestModelsAgainstClosedForms:
    @pytest.mark.parametrize(
        ("model", "res", "exact"),
        [
            (BooleanModel(2, 0.4, 0.02), 256, lambda r: boolean_s2(r, 2, 0.4, 0.02)),
            (BooleanModel(3, 0.4, 0.06), 64, lambda r: boolean_s2(r, 3, 0.4, 0.06)),
            (GaussianExcursion(2, 0.3, 0.02), 256, lambda r: gaussian_excursion_s2(r, 0.3, 0.02)),
            (GaussianExcursion(3, 0.3, 0.05), 64, lambda r: gaussian_excursion_s2(r, 0.3, 0.05)),
        ],
    )
    def test_s2_of_four_realizations(self, model, res, exact) -> None:
        # the deviation is the scatter of the 4-realization mean fraction (one
        # realization's std 0.008 to 0.015): measured max deviations 6.4e-3, 9.4e-3 (Boolean
        # 2D, 3D), 6.2e-3, 4.6e-3 (Gaussian 2D, 3D); tolerance 0.02 is 3 standard errors of
        # the worst case
        r, s2 = ensemble_s2(model, res, 4)
        assert np.abs(s2 - exact(r)).max() < 0.02

    @pytest.mark.parametrize(
        ("model", "exact"),
        [
            (BooleanModel(2, 0.4, 0.02), boolean_integral_range(2, 0.4, 0.02)),
            (GaussianExcursion(3, 0.3, 0.05), gaussian_excursion_integral_range(3, 0.3, 0.05)),
        ],
    )
    def test_integral_range(self, model, exact: float) -> None:
        # 8 realizations; one estimate's relative std measured 0.21 (Boolean 2D) and 0.15
        # (Gaussian 3D), so the standard error of the mean is at most 0.075 (tolerance:
        # 3.3 of them); measured mean ratios 0.999 and 0.981. Over 100 realizations of
        # BooleanModel(2, 0.5, 0.02) at radius 0.06 the ratio was 1.008 +- 0.013
        size = (1.0,) * model.ndim
        res = 256 if model.ndim == 2 else 64
        estimates = [integral_range(model.sample(size, res, s), 1) for s in range(8)]
        assert np.mean(estimates) / exact == pytest.approx(1.0, abs=0.25)

    @pytest.mark.parametrize(
        ("model", "s2"),
        [
            (GaussianExcursion(2, 0.5, 0.02), lambda r: gaussian_excursion_s2(r, 0.5, 0.02)),
            (BooleanModel(2, 0.4, 0.02), lambda r: boolean_s2(r, 2, 0.4, 0.02)),
        ],
    )
    def test_correlation_length(self, model, s2) -> None:
        f = model.volume_fraction
        exact = optimize.brentq(
            lambda r: (s2(r) - f * f) / (f - f * f) - math.exp(-1.0), 1e-9, 0.2
        )  # 0.778 l for the median Gaussian excursion, 0.93 r for this Boolean model
        lengths = [correlation_length(model.sample((1, 1), 256, s), 1) for s in range(4)]
        # one estimate's relative std measured 0.016 (Gaussian) and 0.025 (Boolean);
        # measured mean ratios 0.989 and 1.011
        assert np.mean(lengths) / exact == pytest.approx(1.0, abs=0.04)


class TestSpecificSurface:
    @pytest.mark.parametrize(
        ("ndim", "n", "radius", "centre", "measured"),
        [
            (2, 128, 10.0, (40.3, 70.7), 5.1e-3),
            (2, 128, 20.0, (64.0, 64.0), 5.1e-3),
            (3, 64, 10.0, (20.2, 33.1, 40.7), -3.1e-4),
            (3, 64, 16.0, (32.0, 32.0, 32.0), 3.7e-3),
        ],
    )
    def test_single_disk_or_sphere(self, ndim, n, radius, centre, measured) -> None:
        # perimeter 2 pi r or area 4 pi r^2 per cell volume; the relative voxel bias at
        # these radii (10 to 20 voxels) is measured below 0.6 % (3 % at any position)
        size = (1.0,) * ndim
        mask = _paint_balls((n,) * ndim, size, np.array([centre]) / n, np.array([radius / n]))
        ms = Microstructure(mask, size=size)
        r = radius / n
        exact = 2 * math.pi * r if ndim == 2 else 4 * math.pi * r * r
        error = specific_surface(ms, 1) / exact - 1
        assert error == pytest.approx(measured, abs=1e-4)
        assert abs(error) < 0.01
        assert specific_surface(ms, 0) == pytest.approx(specific_surface(ms, 1), rel=1e-12)

    def test_gaussian_excursion_rice_formula(self) -> None:
        # Rice: crossings per unit length P_L = sqrt(2) exp(-u^2/2) / (pi l), S_V = 2 P_L.
        # l = 6 voxels: measured mean error -3.2 % (the curvature of S2 over the fitted
        # lags biases the slope low), one realization's std 1.1 %: the tolerance is the
        # measured bias plus 3 standard errors of the mean of 4
        model = GaussianExcursion(3, 0.3, 6 / 64)
        p_l = math.sqrt(2) * math.exp(-(model.threshold**2) / 2) / (math.pi * 6 / 64)
        estimates = [specific_surface(model.sample((1, 1, 1), 64, s), 1) for s in range(4)]
        assert abs(np.mean(estimates) / (2 * p_l) - 1) < 0.05

    def test_laminate(self) -> None:
        # two interfaces of unit length in a unit square. The estimator assumes isotropy:
        # for this orientation its 4 lattice directions weighted by |v|^2 average |cos|
        # to 1.0023 times the isotropic 2 / pi, so the exact discrete value is 2.0046
        ms = laminate((32, 32), volume_fraction=0.5, axis=0)
        assert specific_surface(ms, 1) == pytest.approx(2.0 * 1.0023, rel=1e-4)

    def test_missing_phase(self) -> None:
        with pytest.raises(ValueError, match=r"phase: label 3 has volume fraction 0"):
            specific_surface(laminate((8, 8), 0.5), 3)
        with pytest.raises(ValueError, match=r"phase: label 1 has volume fraction 1"):
            integral_range(Microstructure(np.ones((4, 4), dtype=int)), 1)

    def test_integral_range_radius_checked(self) -> None:
        ms = BooleanModel(2, 0.4, 0.05).sample((1.0, 1.0), 32, seed=0)
        with pytest.raises(ValueError, match=r"radius: got 0\.8; expected 0 < radius <= 0\.5"):
            integral_range(ms, 1, radius=0.8)

    def test_correlation_length_needs_a_large_enough_cell(self) -> None:
        # layers 2 thick: along x the covariance falls off over 1, but shells stop at 0.5
        ms = laminate((64, 16), 0.5, axis=0, size=(4.0, 1.0))
        with pytest.raises(ValueError, match=r"stays above 1/e .* too small"):
            correlation_length(ms, 1)
