"""One figure style for the tutorials: sizes, fonts, colour maps, PNG + SVG output.

Every tutorial draws with `figure` and saves with `save`, so the figures on the site look
alike: labels with units (``x / L (–)`` for the dimensionless problems), a sequential
colour map for fields that have one sign (``FIELD``), a diverging one centred on zero for
signed fluctuations such as correctors (``SIGNED``), colour-blind-safe line colours, and
each figure written as ``NAME.png`` (150 dpi) and ``NAME.svg``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FIELD = "viridis"  # sequential: temperature, volume fraction, magnitude
SIGNED = "RdBu_r"  # diverging, symmetric limits: correctors, fluctuations, errors
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P"]

RC = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=COLORS),
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "image.cmap": FIELD,
    "svg.fonttype": "none",  # text stays text in the SVG
    "svg.hashsalt": "scalebridge",  # stable ids: the SVG changes only when the figure does
}

ENV = "SCALEBRIDGE_TUTORIAL_OUTPUT"


def output_dir(default: str = "tutorial-output") -> Path:
    """Where figures go: the first command-line argument, else ``$SCALEBRIDGE_TUTORIAL_OUTPUT``,
    else ``./tutorial-output``."""
    raw = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(ENV, default)
    return Path(raw)


def figure(ncols: int = 1, nrows: int = 1, width: float = 3.4, height: float = 2.8) -> Any:
    """``(fig, axes)`` with panels of ``width x height`` inches in the tutorial style.

    Applies `RC` to ``matplotlib.rcParams`` (fonts and colours are read while drawing);
    a caller that must keep its own settings wraps the tutorial in
    ``matplotlib.rc_context()``, as ``tests/test_tutorials.py`` does."""
    plt.rcParams.update(RC)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width * ncols, height * nrows),
        squeeze=False,
        layout="constrained",
    )
    return fig, axes.ravel() if axes.size > 1 else axes[0, 0]


def save(fig: Any, outdir: str | Path | None, name: str) -> list[Path]:
    """Write ``NAME.png`` and ``NAME.svg`` into ``outdir`` (created) and close ``fig``.

    With ``outdir=None`` nothing is written (the figure is still closed)."""
    paths: list[Path] = []
    if outdir is not None:
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None})):
            path = out / f"{name}.{ext}"
            fig.savefig(path, metadata=meta)
            paths.append(path)
    plt.close(fig)
    return paths


def signed_limits(values: Any, percentile: float = 100.0) -> dict[str, float]:
    """``vmin``/``vmax`` symmetric about zero for the ``SIGNED`` map (at a percentile of
    ``|values|`` so that a few extreme voxels do not wash out the rest)."""
    import numpy as np

    m = float(np.percentile(np.abs(values), percentile)) or 1.0
    return {"vmin": -m, "vmax": m}


def log_ticks(ax: Any, x: Any = None, fractions: bool = False) -> None:
    """Log axes without crowded minor labels; with ``x``, label exactly those values on
    the x axis (as ``1/n`` with ``fractions=True``)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, ScalarFormatter

    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() == "log" and hi > 10 * lo:  # decades labelled: minor labels clutter
            axis.set_minor_formatter(NullFormatter())
    if x is not None:
        ax.xaxis.set_major_locator(FixedLocator(list(x)))
        ax.xaxis.set_major_formatter(FuncFormatter(_fraction) if fractions else ScalarFormatter())
        ax.xaxis.set_minor_locator(FixedLocator([]))


def _fraction(x: float, pos: int | None = None) -> str:
    return f"1/{round(1 / x)}" if 0 < x < 1 else f"{x:g}"
