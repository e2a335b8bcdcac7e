"""Volume averages against ensemble averages: self-averaging and ergodicity of a model.

For a stationary ergodic random medium, the average of a field ``k`` over a window of
volume ``V`` inside one realization converges to the ensemble mean ``E[k]`` as ``V``
grows, and its variance over windows decays as ``D^2(V) = D_k^2 (A / V)^alpha`` with
``alpha = 1`` when the integral range ``A`` is finite (``D_k^2`` the point variance).
`ergodicity_study` measures both sides on a model:

* spatial: one large realization cut into non-overlapping windows of each size;
* ensemble: independent realizations, the field at one point (``E[k]``, ``D_k^2``) and
  the window at the origin (the ensemble variance of volume averages, which ergodicity
  makes equal to the spatial one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.rve.analysis import Summary, VarianceLaw, fit_variance_law, summarize

Array = NDArray[np.float64]


@dataclass(frozen=True)
class ErgodicityResult:
    """Spatial (one realization) and ensemble statistics of window averages.

    Attributes
    ----------
    windows : ndarray
        Window edge lengths (physical).
    volumes : ndarray
        Window volumes ``edge^d``.
    n_windows : ndarray of int
        Windows per size in the large realization.
    spatial_mean, spatial_variance : ndarray
        Mean and variance (ddof 1) of the window averages inside one realization.
    spatial_low, spatial_high : ndarray
        5 % and 95 % quantiles of those window averages: the band that narrows onto
        ``E[k]`` as the windows grow (self-averaging).
    nested_mean : ndarray
        The average over the window at the origin of the large realization, for each
        size: one trajectory of the volume average as the volume grows.
    ensemble_window_mean, ensemble_window_variance : ndarray
        The same over realizations, for the window at the origin.
    point : Summary
        The field at one point over realizations: ``E[k]`` with its interval.
    point_variance : float
        ``D_k^2``, the variance of the field at a point over realizations.
    law : VarianceLaw
        Fit of the spatial ``D^2(V)``; ``law.alpha`` is the decay exponent and
        ``law.integral_range`` the integral range ``A``.
    """

    windows: Array
    volumes: Array
    n_windows: NDArray[np.int64]
    spatial_mean: Array
    spatial_variance: Array
    spatial_low: Array
    spatial_high: Array
    nested_mean: Array
    ensemble_window_mean: Array
    ensemble_window_variance: Array
    point: Summary
    point_variance: float
    law: VarianceLaw
    ndim: int

    @property
    def alpha(self) -> float:
        return self.law.alpha

    @property
    def integral_range(self) -> float | None:
        return self.law.integral_range

    def plot(self, path: str | Path | None = None) -> Any:
        """Window mean against ``E[k]`` (left) and ``D^2(V)`` log-log with the fit."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        a.fill_between(
            self.volumes,
            self.spatial_low,
            self.spatial_high,
            color="tab:blue",
            alpha=0.2,
            label="windows of one realization (5-95 %)",
        )
        a.semilogx(self.volumes, self.nested_mean, "o-", label="nested windows at the origin")
        a.semilogx(self.volumes, self.ensemble_window_mean, "s--", label="ensemble (origin window)")
        a.axhline(self.point.mean, color="k", lw=1, label="E[k] (ensemble, one point)")
        a.set_xlabel("window volume V")
        a.set_ylabel("mean of window averages")
        a.legend(fontsize=8)
        b.loglog(self.volumes, self.spatial_variance, "o", label="spatial D²(V)")
        b.loglog(
            self.volumes, self.ensemble_window_variance, "s", mfc="none", label="ensemble D²(V)"
        )
        b.loglog(
            self.volumes,
            self.law.variance(self.volumes),
            "-",
            label=f"fit α = {self.alpha:.2f}",
        )
        b.set_xlabel("window volume V")
        b.set_ylabel("variance of window averages")
        b.legend(fontsize=8)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig


def _indicator(phase: int | None) -> Callable[[Any], Array]:
    def field(ms: Any) -> Array:
        p = phase if phase is not None else max(ms.phases)
        return (np.asarray(ms.labels) == p).astype(float)

    return field


def _window_means(f: Array, n: int) -> Array:
    """Means over non-overlapping ``n^d`` blocks (the grid cropped to a multiple of n)."""
    d = f.ndim
    m = [s // n for s in f.shape]
    crop = f[tuple(slice(0, mi * n) for mi in m)]
    shape = []
    for mi in m:
        shape += [mi, n]
    return crop.reshape(shape).mean(axis=tuple(range(1, 2 * d, 2))).ravel()


def ergodicity_study(
    model: Any,
    size: float,
    resolution: float,
    windows: Sequence[float],
    realizations: int = 32,
    *,
    seed: int = 0,
    field: Callable[[Any], Array] | None = None,
    phase: int | None = None,
    ensemble_size: float | None = None,
    confidence: float = 0.95,
) -> ErgodicityResult:
    """Volume averages over growing windows of one realization against ensemble averages.

    Parameters
    ----------
    model : RandomModel
        Anything with ``ndim`` and ``sample(size, resolution, seed)``.
    size : float
        Edge of the large realization (physical units).
    resolution : float
        Voxels per unit length.
    windows : sequence of float
        Window edges; each must fit at least twice in ``size``.
    realizations : int
        Independent realizations for the ensemble side (at least 2).
    field : callable, optional
        ``field(microstructure) -> voxel array``; default the indicator of ``phase``
        (default the largest label), whose point variance is ``p (1 - p)``.
    ensemble_size : float, optional
        Edge of the ensemble realizations (default: twice the largest window, at most
        ``size``); stationarity makes the point statistics independent of it.
    """
    f_of = field or _indicator(phase)
    d = int(model.ndim)
    w = np.array(sorted(float(x) for x in windows))
    if w.size < 2 or np.any(w <= 0):
        raise ValueError(f"windows: got {list(windows)}; expected at least two positive edges")
    if 2 * w[-1] > size:
        raise ValueError(
            f"windows: the largest window {w[-1]} must fit at least twice in size={size}"
        )
    if realizations < 2:
        raise ValueError(f"realizations: got {realizations}; expected at least 2")
    nvox = np.maximum(1, np.rint(w * resolution).astype(int))
    if len(set(nvox.tolist())) != nvox.size:
        raise ValueError(
            f"windows: {list(w)} give {nvox.tolist()} voxels at resolution {resolution}; "
            "the windows must differ by at least one voxel"
        )
    big = f_of(model.sample([size] * d, resolution, seed))
    sp_mean, sp_var, counts, lo, hi, nested = [], [], [], [], [], []
    for n in nvox:
        means = _window_means(big, int(n))
        counts.append(means.size)
        sp_mean.append(float(means.mean()))
        sp_var.append(float(means.var(ddof=1)) if means.size > 1 else np.nan)
        q = np.quantile(means, [0.05, 0.95])
        lo.append(float(q[0]))
        hi.append(float(q[1]))
        nested.append(float(big[tuple(slice(0, int(n)) for _ in range(d))].mean()))
    # twice the largest window: a window that is the whole periodic cell would not be a
    # window of the infinite medium (its average has a smaller variance)
    ens_edge = ensemble_size if ensemble_size is not None else min(float(size), 2.0 * w[-1])
    pts, origin = [], [[] for _ in nvox]
    ss = np.random.SeedSequence([seed, 1])
    for child in ss.spawn(realizations):
        sd = int(child.generate_state(1, dtype=np.uint32)[0])
        f = f_of(model.sample([ens_edge] * d, resolution, sd))
        pts.append(float(f.reshape(-1)[0]))
        for j, n in enumerate(nvox):
            n = min(int(n), *f.shape)
            origin[j].append(float(f[tuple(slice(0, n) for _ in range(d))].mean()))
    point = summarize(pts, confidence)
    pvar = float(np.var(pts, ddof=1))
    vols = w**d
    law = fit_variance_law(vols, sp_var, point_variance=pvar)
    return ErgodicityResult(
        windows=w,
        volumes=vols,
        n_windows=np.array(counts),
        spatial_mean=np.array(sp_mean),
        spatial_variance=np.array(sp_var),
        spatial_low=np.array(lo),
        spatial_high=np.array(hi),
        nested_mean=np.array(nested),
        ensemble_window_mean=np.array([np.mean(o) for o in origin]),
        ensemble_window_variance=np.array([np.var(o, ddof=1) for o in origin]),
        point=point,
        point_variance=pvar,
        law=law,
        ndim=d,
    )
