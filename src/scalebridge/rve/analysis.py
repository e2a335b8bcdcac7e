"""Statistics of apparent properties over realizations: the representative-volume analysis.

Following Kanit et al. (2003, Int. J. Solids Struct. 40, 3647-3679): the apparent
property ``Z`` of a volume ``V`` has a mean ``Z(V)`` and a variance ``D_Z^2(V)`` over
realizations.  For a material with a finite integral range ``A_3`` the variance decays
as ``D_Z^2(V) = D_Z^2 (A_3 / V)^alpha`` with ``alpha = 1`` (``alpha < 1`` when the
integral range is infinite or the property is not additive).  With ``n`` independent
realizations of volume ``V`` the relative error of the estimated mean at 95 % is

    eps_rel = 2 D_Z(V) / (Z sqrt(n)),

so a tolerance ``eps`` needs ``n = (2 D_Z(V) / (eps Z))^2`` realizations, or a single
volume of size ``V_RVE = A_3 (4 D_Z^2 / (eps^2 Z^2 n))^(1/alpha)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Summary:
    """Mean of a sample with its standard deviation and a t-distribution interval."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    confidence: float

    @property
    def half_width(self) -> float:
        return 0.5 * (self.ci_high - self.ci_low)


def summarize(values: ArrayLike, confidence: float = 0.95) -> Summary:
    """Mean, sample standard deviation (ddof 1) and the two-sided confidence interval
    of the mean (Student t with ``n - 1`` degrees of freedom).

    >>> s = summarize([1.0, 2.0, 3.0])
    >>> s.mean, s.std, round(s.ci_high - s.mean, 4)
    (2.0, 1.0, 2.4841)
    """
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("values: empty; need at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: got {confidence!r}; expected a number in (0, 1)")
    mean = float(x.mean())
    if x.size == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan, confidence)
    std = float(x.std(ddof=1))
    t = float(stats.t.ppf(0.5 + 0.5 * confidence, x.size - 1))
    h = t * std / math.sqrt(x.size)
    return Summary(int(x.size), mean, std, mean - h, mean + h, confidence)


@dataclass(frozen=True)
class VarianceLaw:
    """Fit ``D^2(V) = amplitude * V^-alpha`` (least squares in log-log).

    ``integral_range`` is ``(amplitude / point_variance)^(1/alpha)`` when the point
    variance ``D_Z^2`` was given (for the indicator of a phase of fraction ``p``,
    ``D_Z^2 = p (1 - p)``; for a two-phase property Kanit's ``p (1-p) (Z_1 - Z_2)^2``).
    """

    alpha: float
    amplitude: float
    alpha_stderr: float
    r2: float
    point_variance: float | None = None

    @property
    def integral_range(self) -> float | None:
        if self.point_variance is None or self.point_variance <= 0.0:
            return None
        return float((self.amplitude / self.point_variance) ** (1.0 / self.alpha))

    def variance(self, volume: ArrayLike) -> Array:
        return self.amplitude * np.asarray(volume, dtype=float) ** (-self.alpha)


def fit_variance_law(
    volumes: ArrayLike, variances: ArrayLike, point_variance: float | None = None
) -> VarianceLaw:
    """Fit ``log D^2 = log c - alpha log V`` over sizes with a positive variance.

    >>> law = fit_variance_law([1.0, 10.0, 100.0], [0.5, 0.05, 0.005], point_variance=0.25)
    >>> round(law.alpha, 12), round(law.integral_range, 12)
    (1.0, 2.0)
    """
    V = np.asarray(volumes, dtype=float).ravel()
    D2 = np.asarray(variances, dtype=float).ravel()
    if V.shape != D2.shape:
        raise ValueError(
            f"volumes and variances: lengths {V.size} and {D2.size} differ; one variance per volume"
        )
    ok = np.isfinite(D2) & (D2 > 0.0) & (V > 0.0)
    if ok.sum() < 2:
        raise ValueError(
            f"variances: {int(ok.sum())} positive finite value(s); the power law needs at least "
            "two sizes with a nonzero spread (use more realizations or more sizes)"
        )
    x, y = np.log(V[ok]), np.log(D2[ok])
    res = stats.linregress(x, y)
    alpha = -float(res.slope)
    r2 = float(res.rvalue**2) if ok.sum() > 2 else 1.0
    stderr = float(res.stderr) if ok.sum() > 2 else math.nan
    return VarianceLaw(alpha, float(np.exp(res.intercept)), stderr, r2, point_variance)


def realizations_needed(std: float, mean: float, rel_error: float) -> int:
    """Realizations for a 95 % relative error ``rel_error``: ``ceil((2 D / (eps Z))^2)``.

    >>> realizations_needed(std=0.1, mean=2.0, rel_error=0.01)
    100
    """
    if not rel_error > 0.0:
        raise ValueError(f"rel_error: got {rel_error!r}; expected a positive number")
    if mean == 0.0:
        raise ValueError("mean: zero; the relative error is undefined")
    return max(1, math.ceil((2.0 * std / (rel_error * abs(mean))) ** 2 - 1e-9))


def rve_volume(law: VarianceLaw, mean: float, rel_error: float, realizations: int = 1) -> float:
    """Volume at which ``realizations`` samples give the 95 % relative error ``rel_error``:
    ``V = (4 c / (eps^2 Z^2 n))^(1/alpha)`` with ``D^2(V) = c V^-alpha``.

    >>> law = VarianceLaw(alpha=1.0, amplitude=0.5, alpha_stderr=0.0, r2=1.0)
    >>> round(rve_volume(law, mean=1.0, rel_error=0.1, realizations=2), 9)
    100.0
    """
    if not rel_error > 0.0:
        raise ValueError(f"rel_error: got {rel_error!r}; expected a positive number")
    if realizations < 1:
        raise ValueError(f"realizations: got {realizations!r}; expected an integer >= 1")
    if not law.alpha > 0.0:
        return math.inf  # the variance does not decay: no volume is representative
    return float(
        (4.0 * law.amplitude / (rel_error**2 * mean**2 * realizations)) ** (1.0 / law.alpha)
    )


@dataclass(frozen=True)
class RVESize:
    """RVE volume for a tolerance, with a bootstrap confidence interval."""

    rel_error: float
    realizations: int
    volume: float
    ci_low: float
    ci_high: float
    confidence: float
    alpha: float

    def edge(self, ndim: int) -> tuple[float, float, float]:
        """The volumes as cube/square edge lengths ``V^(1/d)``: estimate, low, high."""
        return (
            self.volume ** (1.0 / ndim),
            self.ci_low ** (1.0 / ndim),
            self.ci_high ** (1.0 / ndim),
        )


def rve_size(
    samples: Mapping[float, ArrayLike],
    rel_error: float,
    realizations: int = 1,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> RVESize:
    """RVE volume for ``rel_error`` from per-volume samples of a property.

    The point estimate fits the variance law to the sample variances and takes the
    overall mean as ``Z``; the interval resamples the realizations of every volume with
    replacement (``n_boot`` times) and refits (percentile bootstrap).
    """
    vols = sorted(float(v) for v in samples)
    data = [np.asarray(samples[v], dtype=float).ravel() for v in vols]
    if len(vols) < 2 or any(d.size < 2 for d in data):
        raise ValueError(
            "samples: need at least two volumes with at least two realizations each "
            f"(got sizes {[d.size for d in data]})"
        )
    V = np.array(vols)

    def estimate(ds: Sequence[Array]) -> tuple[float, float]:
        var = np.array([d.var(ddof=1) for d in ds])
        mean = float(ds[-1].mean())  # the largest volume: least biased mean
        try:
            law = fit_variance_law(V, var)
        except ValueError:
            return math.inf, math.nan
        return rve_volume(law, mean, rel_error, realizations), law.alpha

    vol, alpha = estimate(data)
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    for b in range(n_boot):
        boot[b] = estimate([d[rng.integers(0, d.size, d.size)] for d in data])[0]
    q = 0.5 * (1.0 - confidence)
    finite = boot[np.isfinite(boot)]
    if finite.size < 0.5 * n_boot:
        lo, hi = math.nan, math.inf
    else:
        lo, hi = (float(x) for x in np.quantile(boot, [q, 1.0 - q]))
    return RVESize(rel_error, realizations, vol, lo, hi, confidence, alpha)


def convergence_size(sizes: ArrayLike, gap: ArrayLike, tol: float) -> float | None:
    """Smallest size at which ``gap`` (e.g. ``|Z_KUBC - Z_SUBC| / Z_PBC``) falls below
    ``tol``, interpolated log-log between the two bracketing sizes; ``None`` if it never
    does within the sizes studied.

    >>> convergence_size([1.0, 2.0, 4.0], [0.4, 0.2, 0.1], 0.2)
    2.0
    """
    L = np.asarray(sizes, dtype=float)
    g = np.abs(np.asarray(gap, dtype=float))
    order = np.argsort(L)
    L, g = L[order], g[order]
    below = np.flatnonzero(g <= tol)
    if below.size == 0:
        return None
    i = int(below[0])
    if i == 0 or g[i] == tol:
        return float(L[i])
    # log-log interpolation between L[i-1] (above tol) and L[i] (below)
    t = (math.log(tol) - math.log(g[i - 1])) / (math.log(g[i]) - math.log(g[i - 1]))
    return float(math.exp(math.log(L[i - 1]) + t * (math.log(L[i]) - math.log(L[i - 1]))))


def scalar_quantities(tensor: ArrayLike, physics: str) -> dict[str, float]:
    """Scalar summaries of an apparent tensor: conduction ``k11`` and ``k_mean``
    (trace / d); elasticity ``C11``, ``bulk`` and ``shear`` (isotropic projection)."""
    from scalebridge.tensors import isotropic_moduli

    T = np.asarray(tensor, dtype=float)
    if physics == "conduction":
        return {"k11": float(T[0, 0]), "k_mean": float(np.trace(T) / T.shape[0])}
    K, G = isotropic_moduli(T)
    return {"C11": float(T[0, 0]), "bulk": float(K), "shear": float(G)}
