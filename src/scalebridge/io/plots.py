"""Figures written by the command line (matplotlib, Agg backend)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["plot_microstructure_and_field"]


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
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=".png", dir=p.parent)
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=dpi, format="png")
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; a figure is meant to be shared
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    finally:
        plt.close(fig)
    return p
