"""Limitation 3 — non-ergodic and non-stationary microstructures: no RVE exists.

An RVE is justified by ergodicity: the volume average of one sample converges to the
ensemble average, and the variance of window averages decays as ``D²(V) ∝ V^-1``.  Two
common ways to break it:

* **non-ergodic**: every sample is stationary, but samples differ by a random global
  parameter (batch-to-batch porosity).  Here each realization is a Boolean model of disks
  whose volume fraction is 0.2 or 0.4 with probability ½.  One sample's windows converge
  to *its own* fraction; the ensemble variance of window averages stalls at
  ``Var(Φ) = 0.01`` instead of vanishing;
* **non-stationary**: the statistics depend on position (a graded material).  Here the
  volume fraction grows linearly from 0.1 to 0.5 across the sample.  Window averages
  depend on where the window is; their variance stalls at the variance of the profile,
  and a cell cut anywhere is representative of that place only.

The stationary, ergodic control is tutorial 2 (α = 1.00).  Checks (``ergodicity_study``):

* non-ergodic: the ensemble variance of the largest windows equals the closed form
  ``Var(Φ) + E[Φ(1−Φ)A(Φ)]/V`` within 30 %, and exceeds the spatial one by more than 2×
  (an ergodic model gives a ratio near 1);
* non-stationary: the spatial variance of the largest windows equals the variance of the
  profile ``φ(x₁)`` averaged over each window plus the Boolean term, within 30 %, and the
  fitted decay exponent α is below 0.5 (1 for a stationary model).

How scalebridge shows it: `ergodicity_study` returns the spatial and ensemble variances,
the fitted exponent α and both means — a ratio of variances far from 1, or α well below 1,
says that no RVE exists; `rve_study(...).variance_law` shows the same α on the apparent
property.  There is no automatic warning: these numbers are the check.

Run ``python tutorials/limit_non_ergodic.py [OUTPUT_DIR]`` (about 2 s); figure
``limit_non_ergodic`` (PNG and SVG).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from _style import COLORS, figure, log_ticks, output_dir, save
from scipy.spatial import cKDTree

from scalebridge.microstructure import Microstructure
from scalebridge.microstructure.random_models import BooleanModel
from scalebridge.microstructure.statistics import boolean_integral_range
from scalebridge.rve.ergodicity import ergodicity_study

RADIUS = 1.0


@dataclass(frozen=True)
class BatchBoolean:
    """Non-ergodic: each realization is a Boolean model with fraction ``low`` or ``high``."""

    low: float = 0.2
    high: float = 0.4
    ndim: int = 2

    def fraction(self, seed: int) -> float:
        return self.low if np.random.default_rng([seed, 7]).random() < 0.5 else self.high

    def sample(self, size: Any, resolution: float, seed: int) -> Microstructure:
        return BooleanModel(2, self.fraction(seed), RADIUS).sample(size, resolution, seed)


@dataclass(frozen=True)
class GradedBoolean:
    """Non-stationary: disks whose germ intensity makes ``φ(x₁)`` linear from ``lo`` to
    ``hi`` across the sample (Poisson germs by thinning; not periodic)."""

    lo: float = 0.1
    hi: float = 0.5
    ndim: int = 2

    def phi(self, t: np.ndarray) -> np.ndarray:
        """Target volume fraction at ``t = x₁ / size`` in [0, 1]."""
        return self.lo + (self.hi - self.lo) * np.clip(t, 0.0, 1.0)

    def sample(self, size: Any, resolution: float, seed: int) -> Microstructure:
        edges = np.asarray(size, dtype=float)
        rng = np.random.default_rng(seed)
        area = math.pi * RADIUS**2
        lam_max = -math.log1p(-self.hi) / area
        box_lo, box_hi = -RADIUS, edges + RADIUS  # germs just outside cover the edges
        n = rng.poisson(lam_max * np.prod(box_hi - box_lo))
        g = box_lo + rng.random((n, 2)) * (box_hi - box_lo)
        lam = -np.log1p(-self.phi(g[:, 0] / edges[0])) / area
        g = g[rng.random(n) < lam / lam_max]
        dims = np.rint(edges * resolution).astype(int)
        axes = [(np.arange(m) + 0.5) / resolution for m in dims]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        dist, _ = cKDTree(g).query(pts, distance_upper_bound=RADIUS)
        return Microstructure((dist <= RADIUS).reshape(dims).astype(np.int64), size=tuple(edges))


def batch_closed_form(model: BatchBoolean, volume: float) -> float:
    """Ensemble variance of a window average: ``Var(Φ) + E[Φ(1 − Φ) A(Φ)] / V``."""
    fs = (model.low, model.high)
    var_phi = np.var(fs)
    within = np.mean([f * (1 - f) * boolean_integral_range(2, f, RADIUS) for f in fs])
    return float(var_phi + within / volume)


def graded_closed_form(model: GradedBoolean, size: float, window: float) -> float:
    """Variance over the tiling of ``size²`` by windows of edge ``window`` of the window
    averages: the spread of the profile between windows plus the Boolean term."""
    m = int(size // window)
    t = (np.arange(m) + 0.5) * window / size  # window centres; phi is linear: mean = centre
    means = np.repeat(model.phi(t), m)  # m windows per column
    between = float(np.var(means, ddof=1))
    f = model.phi(np.linspace(0, 1, 201))
    within = np.mean([x * (1 - x) * boolean_integral_range(2, x, RADIUS) for x in f[::20]])
    return between + float(within) / window**2


def main(
    outdir: str | None = None,
    *,
    size: float = 96.0,
    windows: tuple[float, ...] = (4, 6, 8, 12, 16, 24),
    realizations: int = 48,
    verbose: bool = True,
) -> dict[str, object]:
    batch, graded = BatchBoolean(), GradedBoolean()
    kw = {"size": size, "resolution": 4.0, "windows": list(windows), "seed": 3}
    rb = ergodicity_study(batch, realizations=realizations, **kw)
    rg = ergodicity_study(graded, realizations=8, **kw)
    V = rb.volumes[-1]
    out = {
        "batch_ensemble_variance": float(rb.ensemble_window_variance[-1]),
        "batch_spatial_variance": float(rb.spatial_variance[-1]),
        "batch_closed_form": batch_closed_form(batch, V),
        "batch_sample_fraction": float(rb.spatial_mean[-1]),
        "batch_ensemble_mean": float(rb.ensemble_window_mean[-1]),
        "graded_spatial_variance": float(rg.spatial_variance[-1]),
        "graded_closed_form": graded_closed_form(graded, size, windows[-1]),
        "graded_alpha": rg.alpha,
        "batch_alpha": rb.alpha,
    }
    out["batch_variance_ratio"] = out["batch_ensemble_variance"] / out["batch_spatial_variance"]

    # non-ergodic: the ensemble variance stalls at Var(Phi) (closed form; measured
    # within 10 %: 48 realizations estimate a variance to ~20 % at one sigma)
    assert abs(out["batch_ensemble_variance"] / out["batch_closed_form"] - 1) < 0.3, out
    # ... far above what one sample shows (ergodic models: ratio in (0.5, 2))
    assert out["batch_variance_ratio"] > 2.0, out["batch_variance_ratio"]
    # non-stationary: the spread of the profile between windows (closed form; measured
    # within 10 %) ...
    assert abs(out["graded_spatial_variance"] / out["graded_closed_form"] - 1) < 0.3, out
    # ... stalls the decay of the variance: alpha far below 1 (measured 0.28)
    assert out["graded_alpha"] < 0.5, out["graded_alpha"]

    if verbose:
        print(
            f"non-ergodic batches: sample fraction {out['batch_sample_fraction']:.3f}, "
            f"ensemble {out['batch_ensemble_mean']:.3f}"
        )
        print(
            f"  window {windows[-1]:g}: ensemble variance {out['batch_ensemble_variance']:.2e}"
            f" (closed form {out['batch_closed_form']:.2e}), spatial "
            f"{out['batch_spatial_variance']:.2e}: ratio {out['batch_variance_ratio']:.1f}"
        )
        print(
            f"non-stationary gradient: window {windows[-1]:g} spatial variance "
            f"{out['graded_spatial_variance']:.2e} (closed form {out['graded_closed_form']:.2e});"
            f" alpha = {out['graded_alpha']:.2f}"
        )
    if outdir is not None:
        out["figures"] = [str(p) for p in plot(batch, graded, rb, rg, size, outdir)]
    return out


def plot(batch, graded, rb, rg, size, outdir) -> list:
    fig, (a1, a2, a3) = figure(ncols=3, width=2.9, height=2.7)
    ms = graded.sample([size / 2, size / 4], 4.0, seed=1)
    two = matplotlib.colors.ListedColormap(["#f2efe6", COLORS[0]])  # matrix, inclusions
    a1.imshow(
        ms.labels.T,
        origin="lower",
        extent=(0, size / 2, 0, size / 4),
        cmap=two,
        interpolation="nearest",
    )
    a1.set_xlabel(r"$x_1$ ($r$)")
    a1.set_ylabel(r"$x_2$ ($r$)")
    a1.set_title(r"graded: $\varphi$ = 0.1 → 0.5")
    a1.grid(False)

    v = np.geomspace(rb.volumes.min(), rb.volumes.max(), 50)
    a2.loglog(rb.volumes, rb.spatial_variance, "o", color=COLORS[0], label="one sample")
    a2.loglog(
        rb.volumes,
        rb.ensemble_window_variance,
        "s",
        mfc="none",
        color=COLORS[1],
        label="over realizations",
    )
    a2.loglog(
        v,
        [batch_closed_form(batch, x) for x in v],
        "k-",
        lw=1.0,
        label=r"Var$(\Phi)$ + E$[\Phi(1-\Phi)A]/V$",
    )
    a2.set_xlabel(r"window area $V$ ($r^2$)")
    a2.set_ylabel(r"variance of $\langle\varphi\rangle_V$ (–)")
    a2.set_title("non-ergodic batches")
    a2.set_ylim(3e-4, 0.3)
    a2.legend(loc="upper right")
    log_ticks(a2)

    a3.loglog(rg.volumes, rg.spatial_variance, "o", color=COLORS[2], label="graded, one sample")
    w = np.sqrt(rg.volumes)
    a3.loglog(
        rg.volumes,
        [graded_closed_form(graded, size, x) for x in w],
        "k-",
        lw=1.0,
        label="profile + Boolean (closed form)",
    )
    a3.loglog(
        rg.volumes,
        rg.spatial_variance[0] * rg.volumes[0] / rg.volumes,
        "k:",
        lw=1.0,
        label=r"stationary: $\propto V^{-1}$",
    )
    a3.set_xlabel(r"window area $V$ ($r^2$)")
    a3.set_ylabel(r"variance of $\langle\varphi\rangle_V$ (–)")
    a3.set_title(f"non-stationary: α = {rg.alpha:.2f}")
    a3.set_ylim(3e-4, 0.3)
    a3.legend(loc="upper right")
    log_ticks(a3)
    return save(fig, outdir, "limit_non_ergodic")


if __name__ == "__main__":
    main(output_dir())
