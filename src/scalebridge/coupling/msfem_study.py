"""The MsFEM resonance study: error versus ``H / eps`` for each local boundary condition.

For the default Hou-Wu coefficient of period ``eps``, ``f = 1`` and ``u = 0`` on the
boundary, one fine Q1 reference is solved on the ``M^2`` grid (``M = fine_per_eps /
eps``) and every MsFEM variant is run for coarse sizes ``H = ratio * eps`` whose
sub-grids tile that same grid (``N = 1 / H`` and ``n = M / N`` must be integers), so the
errors are measured node-wise.  Linear boundary conditions show the resonance error
``O(eps / H)`` near ``H ~ eps``; oscillatory boundary conditions and oversampling reduce it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scalebridge.coupling.msfem import FORMULATIONS, default_coefficient, msfem_errors, msfem_solve
from scalebridge.coupling.msfem_grid import solve_fine_reference

VARIANTS = (
    "linear",
    "oscillatory",
    "oversampling",
    "oversampling-pg",
    "periodic",
    "linear-pg",
    "oscillatory-pg",
    "periodic-pg",
)
NORM_NAMES = ("l2", "h1", "energy", "coarse_nodal")


def parse_variant(variant: str) -> tuple[str, str]:
    """``"oversampling-pg"`` -> ``("oversampling", "petrov-galerkin")``."""
    if variant not in VARIANTS:
        raise ValueError(f"variants: got {variant!r}; expected names from {VARIANTS}")
    if variant.endswith("-pg"):
        return variant[:-3], FORMULATIONS[1]
    return variant, FORMULATIONS[0]


@dataclass(frozen=True)
class ResonanceRow:
    """One MsFEM run: ``H / eps``, ``N``, ``n``, variant, relative errors, wall times."""

    ratio: float
    coarse: int
    fine: int
    variant: str
    l2: float
    h1: float
    energy: float
    coarse_nodal: float
    offline_s: float
    online_s: float


@dataclass(frozen=True)
class ResonanceStudy:
    """All runs of `msfem_resonance_study` and the fine reference it was measured against."""

    eps: float
    fine_cells: int
    fine_time_s: float
    fine_iterations: int
    oversampling: float
    rows: tuple[ResonanceRow, ...]

    def curve(self, variant: str, norm: str = "h1") -> tuple[np.ndarray, np.ndarray]:
        """``(ratios, errors)`` of one variant in one norm."""
        if norm not in NORM_NAMES:
            raise ValueError(f"norm: got {norm!r}; expected one of {NORM_NAMES}")
        rows = [r for r in self.rows if r.variant == variant]
        return np.array([r.ratio for r in rows]), np.array([getattr(r, norm) for r in rows])

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(r.variant for r in self.rows))

    def table(self, norm: str = "h1") -> str:
        """Markdown table: one row per ``H / eps``, one column per variant."""
        ratios = sorted({r.ratio for r in self.rows})
        head = f"| H/eps | N | n | {' | '.join(self.variants)} |"
        lines = [head, "|" + "---|" * (3 + len(self.variants))]
        for q in ratios:
            rows = {r.variant: r for r in self.rows if r.ratio == q}
            first = next(iter(rows.values()))
            cells = [f"{getattr(rows[v], norm):.3e}" if v in rows else "" for v in self.variants]
            lines.append(f"| {q:g} | {first.coarse} | {first.fine} | {' | '.join(cells)} |")
        return "\n".join(lines)

    def timing_table(self) -> str:
        """Markdown table of offline / online MsFEM times against the fine solve."""
        lines = [
            f"fine reference: {self.fine_cells}^2 cells, {self.fine_time_s:.3f} s",
            "",
            "| H/eps | variant | offline s | online s | fine/online | fine/(offline+online) |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.ratio:g} | {r.variant} | {r.offline_s:.3f} | {r.online_s:.4f} | "
                f"{self.fine_time_s / r.online_s:.1f} | "
                f"{self.fine_time_s / (r.offline_s + r.online_s):.2f} |"
            )
        return "\n".join(lines)


def coarse_sizes(eps: float, ratio: float, fine_per_eps: int) -> tuple[int, int, int]:
    """``(M, N, n)``: fine cells of the whole square, coarse elements, fine per coarse."""
    if not (isinstance(ratio, int | float) and math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratios: got {ratio!r}; expected positive numbers (H / eps)")
    M = fine_per_eps / eps
    N = 1.0 / (ratio * eps)
    if abs(M - round(M)) > 1e-9 * M:
        raise ValueError(
            f"eps: got {eps!r}; fine_per_eps / eps = {M:g} must be an integer (fine cells)"
        )
    if abs(N - round(N)) > 1e-9 * N or round(N) < 1:
        raise ValueError(
            f"ratios: H/eps = {ratio!r} gives N = 1/H = {N:g} coarse elements; choose ratios "
            f"with 1/(ratio*eps) an integer (eps = {eps:g})"
        )
    M, N = round(M), round(N)
    if M % N:
        raise ValueError(
            f"ratios: H/eps = {ratio!r} gives H = 1/{N}, not a multiple of the fine mesh "
            f"h = 1/{M}; choose ratios with {M} divisible by 1/(ratio*eps)"
        )
    return M, N, M // N


def msfem_resonance_study(
    eps: float = 1 / 48,
    ratios: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0),
    variants: Sequence[str] = ("linear", "oscillatory", "oversampling", "oversampling-pg"),
    *,
    fine_per_eps: int = 8,
    oversampling: float = 2.0,
    correctors_resolution: int = 128,
    executor: Any = "serial",
) -> ResonanceStudy:
    """MsFEM errors against one fine reference for every ``H / eps`` and variant.

    Variants are a local boundary condition (``linear``, ``oscillatory``,
    ``oversampling``, ``periodic``) with ``-pg`` for the Petrov-Galerkin formulation.
    The fine reference is solved (and timed) once; each MsFEM run is timed offline
    (local problems and local matrices) and online (load, coarse assembly and solve).

    >>> s = msfem_resonance_study(1 / 8, ratios=(1.0, 2.0), variants=("linear",))
    >>> s.fine_cells, [r.coarse for r in s.rows]
    (64, [8, 4])
    """
    variants = list(variants)
    for v in variants:
        parse_variant(v)
    sizes = [coarse_sizes(eps, q, fine_per_eps) for q in ratios]
    a = default_coefficient(eps)
    M = sizes[0][0]
    ref = solve_fine_reference(a, M)
    correctors, cor_time = None, 0.0
    if any(v.startswith("periodic") for v in variants):
        from scalebridge.asymptotic.cell import PeriodicCoefficient, cell_correctors

        unit = default_coefficient(1.0)
        t0 = time.perf_counter()
        correctors = cell_correctors(
            PeriodicCoefficient.from_function(unit, 2, "Hou-Wu"), correctors_resolution
        )
        cor_time = time.perf_counter() - t0
    rows = []
    for q, (_, N, n) in zip(ratios, sizes, strict=True):
        for v in variants:
            bc, form = parse_variant(v)
            sol = msfem_solve(
                a,
                N,
                n,
                bc,
                form,
                oversampling=oversampling,
                correctors=correctors,
                eps=eps,
                executor=executor,
            )
            e = msfem_errors(sol, ref)
            offline = sol.offline_s + (cor_time if bc == "periodic" else 0.0)
            rows.append(
                ResonanceRow(
                    float(q), N, n, v, e.l2, e.h1, e.energy, e.coarse_nodal, offline, sol.online_s
                )
            )
    return ResonanceStudy(float(eps), M, ref.time_s, ref.iterations, oversampling, tuple(rows))


def plot_resonance_study(
    study: ResonanceStudy, path: str | Path, norms: Sequence[str] = ("l2", "h1")
) -> Path:
    """Log-log error versus ``H / eps`` per variant (one panel per norm), PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scalebridge.io.plots import save_figure

    fig, axes = plt.subplots(1, len(norms), figsize=(5 * len(norms), 4), squeeze=False)
    for ax, norm in zip(axes[0], norms, strict=True):
        for v in study.variants:
            x, y = study.curve(v, norm)
            ax.loglog(x, y, "o-", label=v)
        ax.set_xlabel("H / eps")
        ax.set_ylabel(f"relative {norm} error")
        ax.set_title(
            f"MsFEM, eps = 1/{1 / study.eps:.0f}, h = eps/{study.fine_cells * study.eps:.0f}"
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)
