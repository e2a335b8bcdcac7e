"""Figures of the surrogate jobs: parity plot, stress-strain curves, macro response."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scalebridge.coupling.surrogate.base import SurrogateLaw
from scalebridge.coupling.surrogate.database import SurrogateDatabase
from scalebridge.coupling.surrogate.regressor import GPSurrogate
from scalebridge.coupling.surrogate.validation import ValidationReport

__all__ = ["plot_macro_response", "plot_parity", "plot_stress_strain"]

_LABELS = ("σ11", "σ22", "√2 σ12")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_parity(report: ValidationReport, path: str | os.PathLike[str]) -> Path:
    """Surrogate against RVE stress, one panel per Mandel component (held-out records)."""
    from scalebridge.io.plots import save_figure

    plt = _pyplot()
    m = report.reference.shape[1]
    fig, axes = plt.subplots(1, m, figsize=(3.4 * m, 3.4))
    for i, ax in enumerate(np.atleast_1d(axes)):
        ref, pred = report.reference[:, i], report.predicted[:, i]
        lim = [min(ref.min(), pred.min()), max(ref.max(), pred.max())]
        ax.plot(lim, lim, "-", color="0.6", lw=1)
        if report.std is not None:
            ax.errorbar(ref, pred, yerr=2 * report.std[:, i], fmt="none", ecolor="C1", alpha=0.3)
        ax.plot(ref, pred, ".", ms=3, color="C0")
        ax.set_xlabel(f"RVE {_LABELS[i] if m == 3 else i} [MPa]")
        ax.set_ylabel("surrogate [MPa]")
        ax.set_title(f"RMS error {report.errors[f'stress_rms_{i}']:.2%}", fontsize=9)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    what = report.info.get("errors_on", "held-out paths")
    fig.suptitle(
        f"{report.info.get('model', '')} surrogate vs RVE on {what}: RMS "
        f"{report.errors['stress_rms']:.2%}, max {report.errors['stress_max']:.2%}",
        fontsize=10,
    )
    fig.tight_layout()
    out = save_figure(fig, path)
    plt.close(fig)
    return out


def plot_stress_strain(
    law: SurrogateLaw,
    db: SurrogateDatabase,
    paths: Sequence[int],
    path: str | os.PathLike[str],
) -> Path:
    """Stress along database paths: RVE (markers) against the surrogate (lines)."""
    from scalebridge.io.plots import save_figure

    plt = _pyplot()
    quiet = law.replace(out_of_range="ignore")
    fig, axes = plt.subplots(1, len(paths), figsize=(3.6 * len(paths), 3.4), squeeze=False)
    for ax, p in zip(axes[0], paths, strict=True):
        rec = np.flatnonzero(db.path == p)
        amp = db.amplitude[p]
        t_rve = db.factor[rec]
        t = np.linspace(min(0.0, t_rve.min()), t_rve.max(), 60)
        sig = quiet.evaluate(t[:, None] * amp)[0]
        for i in range(sig.shape[1]):
            ax.plot(t, sig[:, i], "-", color=f"C{i}", label=f"surrogate {_LABELS[i]}")
            ax.plot(t_rve, db.stress[rec, i], "o", ms=3.5, color=f"C{i}", mfc="none")
            if isinstance(quiet, GPSurrogate):
                std = quiet.predict(t[:, None] * amp, return_std=True)[1][:, i]
                ax.fill_between(
                    t, sig[:, i] - 2 * std, sig[:, i] + 2 * std, color=f"C{i}", alpha=0.15
                )
        ax.set_xlabel("load factor along the path")
        ax.set_ylabel("stress [MPa]")
        ax.set_title(f"path {db.keys[p][:8]}: E = {np.round(amp, 3).tolist()}", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, title="lines: surrogate, o: RVE", title_fontsize=7)
    fig.tight_layout()
    out = save_figure(fig, path)
    plt.close(fig)
    return out


def plot_macro_response(
    displacement: Sequence[float],
    force_fe2: Sequence[float] | None,
    force_surrogate: Sequence[float],
    path: str | os.PathLike[str],
    model: str = "surrogate",
) -> Path:
    """Force-displacement of the macro problem: FE² against the surrogate, and their
    relative difference."""
    from scalebridge.io.plots import save_figure

    plt = _pyplot()
    u = np.r_[0.0, displacement]
    fig, axes = plt.subplots(
        1, 2 if force_fe2 is not None else 1, figsize=(9.0, 3.6), squeeze=False
    )
    ax = axes[0][0]
    if force_fe2 is not None:
        ax.plot(u, np.r_[0.0, force_fe2], "o-", color="C0", label="FE² (RVE at every point)")
    ax.plot(
        u, np.r_[0.0, force_surrogate], "s--", color="C3", mfc="none", label=f"{model} surrogate"
    )
    ax.set_xlabel("displacement of the loaded edge [mm]")
    ax.set_ylabel("reaction force [N/mm]")
    ax.grid(alpha=0.3)
    ax.locator_params(axis="x", nbins=5)
    ax.legend()
    if force_fe2 is not None:
        f, s = np.asarray(force_fe2), np.asarray(force_surrogate)
        ax2 = axes[0][1]
        ax2.plot(displacement, 100 * (s - f) / np.abs(f), "o-", color="C3")
        ax2.axhline(0.0, color="0.6", lw=1)
        ax2.set_xlabel("displacement of the loaded edge [mm]")
        ax2.set_ylabel("(surrogate - FE²) / FE² force [%]")
        ax2.grid(alpha=0.3)
        ax2.locator_params(axis="x", nbins=5)
    fig.suptitle("Plate with a hole: macro response", fontsize=10)
    fig.tight_layout()
    out = save_figure(fig, path)
    plt.close(fig)
    return out
