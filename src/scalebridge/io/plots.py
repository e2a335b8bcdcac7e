"""Figures written by the command line (matplotlib, Agg backend)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["plot_microstructure_and_field", "plot_rve_study", "save_figure"]


def _mid_slice(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A 2D array as is; the middle slice along the last axis (z) of a 3D one."""
    return array if array.ndim == 2 else array[..., array.shape[-1] // 2]


def plot_microstructure_and_field(
    microstructure: Any,
    field: npt.ArrayLike,
    title: str,
    path: str | os.PathLike[str],
    dpi: int = 120,
) -> Path:
    """Save a PNG with the phase labels next to a scalar field.

    Parameters
    ----------
    microstructure : Microstructure
        Supplies the labels and the cell size (for the axes' extent).
    field : array_like
        Scalar field of shape ``microstructure.shape``.
    title : str
        Title of the field panel (e.g. ``"sigma_11, load case 1"``).
    path : path-like
        PNG file to write (atomically: temporary file, then :func:`os.replace`).
    dpi : int
        Resolution.

    Returns
    -------
    pathlib.Path
        The path written. For a 3D cell both panels show the mid-slice along z.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(microstructure.labels)
    values = np.asarray(field, dtype=float)
    if values.shape != labels.shape:
        raise ValueError(
            f"field: shape {values.shape} does not match the microstructure {labels.shape}"
        )
    size = microstructure.size
    # imshow puts axis 0 on the vertical: transpose so x (axis 0) runs horizontally
    extent = (0.0, float(size[0]), 0.0, float(size[1]))
    where = " (mid-slice z)" if labels.ndim == 3 else ""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    try:
        phases = np.unique(labels)
        im0 = axes[0].imshow(
            _mid_slice(labels).T,
            origin="lower",
            extent=extent,
            cmap="viridis",
            interpolation="nearest",
            vmin=phases.min(),
            vmax=max(phases.max(), 1),
        )
        axes[0].set_title(f"phases{where}")
        fig.colorbar(im0, ax=axes[0], ticks=phases.tolist(), label="label")
        shown = _mid_slice(values)
        lo, hi = np.percentile(shown, [0.5, 99.5])  # a few hot spots would wash out the rest
        im1 = axes[1].imshow(
            shown.T,
            origin="lower",
            extent=extent,
            cmap="inferno",
            interpolation="nearest",
            vmin=lo,
            vmax=hi if hi > lo else None,
        )
        axes[1].set_title(f"{title}{where}")
        fig.colorbar(im1, ax=axes[1], extend="both", label="clipped to 0.5–99.5 percentiles")
        for ax in axes:
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        p = save_figure(fig, path, dpi)
    finally:
        plt.close(fig)
    return p


def save_figure(
    fig: Any, path: str | os.PathLike[str], dpi: int = 120, *, svg: bool = True
) -> Path:
    """Write a matplotlib figure as PNG atomically (temporary file, then rename), and the
    same figure as SVG next to it (``NAME.svg``, for publications) unless ``svg=False``.

    Returns the PNG path.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    targets = [(p, "png")] + ([(p.with_suffix(".svg"), "svg")] if svg else [])
    for target, fmt in targets:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".{fmt}", dir=p.parent)
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=dpi, format=fmt)
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; a figure is meant to be shared
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return p


_BC_STYLE = {
    "kubc": ("tab:red", "KUBC"),
    "periodic": ("tab:green", "PBC"),
    "subc": ("tab:blue", "SUBC"),
}


def plot_rve_study(
    study: Any, quantity: str | None = None, path: str | os.PathLike[str] | None = None
) -> Any:
    """The three figures of an RVE study in one row.

    Left: the mean apparent ``quantity`` against the cell edge per boundary condition,
    with its confidence band.  Middle: the standard deviation against the volume
    (log-log) with the fitted law ``D^2 = c V^-alpha``.  Right: the radially averaged
    two-point correlation of every size (mean over realizations).  Written atomically
    to ``path`` when given; the figure is returned.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scalebridge.rve.study import _nanmean_rows

    q = quantity or study.config.get("quantity") or study.quantities[0]
    sizes = np.array(study.sizes)
    vols = sizes**study.ndim
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    ax0, ax1, ax2 = axes
    for bc in study.bcs:
        colour, name = _BC_STYLE.get(bc, ("k", bc))
        summ = study.summary(q, bc)
        m = np.array([s.mean for s in summ])
        lo = np.array([s.ci_low for s in summ])
        hi = np.array([s.ci_high for s in summ])
        sd = np.array([s.std for s in summ])
        ax0.semilogx(sizes, m, "o-", color=colour, label=name)
        ax0.fill_between(sizes, lo, hi, color=colour, alpha=0.2)
        ax1.loglog(vols, sd, "o", color=colour, label=name)
        try:
            law = study.variance_law(q, bc)
            ax1.loglog(
                vols,
                np.sqrt(law.variance(vols)),
                "-",
                color=colour,
                lw=1,
                label=f"{name} fit: α = {law.alpha:.2f}",
            )
        except ValueError:
            pass
    conf = round(100 * float(study.config.get("confidence", 0.95)))
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax0.xaxis.set_major_formatter(ScalarFormatter())
    for ax in (ax0, ax1):
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax0.set_xticks(sizes)
    ax0.set_xlabel("cell edge")
    ax0.set_ylabel(f"apparent {q} (mean, {conf} % band)")
    ax0.legend()
    ax1.set_xlabel("cell volume V")
    ax1.set_ylabel(f"standard deviation of {q}")
    ax1.legend(fontsize=8)
    bc0 = study.bcs[0]
    for s in study.sizes:
        recs = [
            r
            for r in study.records
            if r["bc"] == bc0 and "descriptors" in r and np.isclose(r["edge"], s)
        ]
        if not recs:
            continue
        r = np.array(recs[0]["descriptors"]["s2_r"])
        v = _nanmean_rows([rr["descriptors"]["s2"] for rr in recs])
        ax2.plot(r, v, ".-", label=f"edge {s:g}")
    ax2.set_xlabel("distance r")
    ax2.set_ylabel("S2(r) (radial mean)")
    ax2.legend(fontsize=8)
    if path is not None:
        try:
            save_figure(fig, path)
        finally:
            plt.close(fig)
    return fig
