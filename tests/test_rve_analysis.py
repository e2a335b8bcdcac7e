"""The statistics of the RVE analysis against exact values and synthetic samples drawn
from a known variance law."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from scalebridge.rve.analysis import (
    VarianceLaw,
    convergence_size,
    fit_variance_law,
    realizations_needed,
    rve_size,
    rve_volume,
    scalar_quantities,
    summarize,
)
from scalebridge.tensors import isotropic_stiffness


def test_summary_interval_is_the_t_interval():
    x = np.array([2.0, 4.0, 4.0, 5.0, 7.0])
    s = summarize(x, 0.9)
    h = stats.t.ppf(0.95, 4) * x.std(ddof=1) / math.sqrt(5)
    assert s.mean == pytest.approx(4.4, abs=1e-15)
    assert s.ci_high - s.mean == pytest.approx(h, rel=1e-14)
    assert s.ci_low == pytest.approx(s.mean - h, rel=1e-14)


def test_interval_covers_the_mean_at_its_nominal_rate():
    """Coverage of the 95 % interval over 2000 normal samples of 8: binomial sd 0.5 %."""
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        s = summarize(rng.normal(3.0, 2.0, 8))
        hits += s.ci_low <= 3.0 <= s.ci_high
    assert abs(hits / 2000 - 0.95) < 0.02  # 4 binomial standard deviations


def test_variance_law_is_recovered_exactly_from_a_power_law():
    V = np.array([1.0, 4.0, 16.0, 64.0])
    law = fit_variance_law(V, 0.3 * V**-0.8, point_variance=0.21)
    assert law.alpha == pytest.approx(0.8, rel=1e-12)
    assert law.amplitude == pytest.approx(0.3, rel=1e-12)
    assert law.integral_range == pytest.approx((0.3 / 0.21) ** (1 / 0.8), rel=1e-12)
    assert law.r2 == pytest.approx(1.0, abs=1e-12)


def test_kanit_formulas():
    # eps = 2 D / (Z sqrt n): n = (2 * 0.05 / (0.01 * 1)) ^ 2 = 100
    assert realizations_needed(0.05, 1.0, 0.01) == 100
    assert realizations_needed(0.05, 1.0, 0.011) == 83  # ceil(82.6)
    law = VarianceLaw(alpha=1.0, amplitude=2.0, alpha_stderr=0.0, r2=1.0)
    V = rve_volume(law, mean=4.0, rel_error=0.05, realizations=3)
    # at V the relative error with 3 samples is exactly 5 %
    assert 2 * math.sqrt(law.variance(V)) / (4.0 * math.sqrt(3)) == pytest.approx(0.05, rel=1e-12)


def test_bootstrap_rve_size_brackets_the_true_value():
    """Samples drawn with D^2(V) = 0.5 / V (alpha = 1) and mean 2: the true RVE volume
    for 1 % with one realization is 4 * 0.5 / (1e-4 * 4) = 5000."""
    rng = np.random.default_rng(1)
    vols = [10.0, 40.0, 160.0, 640.0]
    samples = {V: rng.normal(2.0, math.sqrt(0.5 / V), 40) for V in vols}
    res = rve_size(samples, 0.01, 1, n_boot=400, seed=0)
    assert res.ci_low <= 5000.0 <= res.ci_high
    assert res.volume == pytest.approx(5000.0, rel=0.3)  # 40 samples per size: ~20 % spread
    assert res.alpha == pytest.approx(1.0, abs=0.25)


def test_convergence_size_interpolates_log_log():
    # gap = 0.8 / L: 0.05 is crossed at L = 16 exactly
    L = np.array([2.0, 4.0, 8.0, 32.0])
    assert convergence_size(L, 0.8 / L, 0.05) == pytest.approx(16.0, rel=1e-12)
    assert convergence_size(L, 0.8 / L, 1e-3) is None


def test_scalar_quantities():
    C = isotropic_stiffness(5.0, 2.0, 3)
    q = scalar_quantities(C, "elasticity")
    assert q["bulk"] == pytest.approx(5.0, rel=1e-14)
    assert q["shear"] == pytest.approx(2.0, rel=1e-14)
    k = np.diag([1.0, 3.0])
    assert scalar_quantities(k, "conduction") == {"k11": 1.0, "k_mean": 2.0}


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: summarize([]), "values"),
        (lambda: fit_variance_law([1, 2], [0.0, 0.0]), "variances"),
        (lambda: realizations_needed(1.0, 1.0, 0.0), "rel_error"),
        (lambda: rve_size({1.0: [1.0, 2.0]}, 0.01), "samples"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
