"""The MsFEM resonance study: error versus ``H / eps`` for each local boundary condition.

For the default Hou-Wu coefficient of period ``eps``, ``f = 1`` and ``u = 0`` on the
boundary, two designs:

* ``mode="fixed-eps"`` (default): one fine Q1 reference is solved on the ``M^2`` grid
  (``M = fine_per_eps / eps``) and every MsFEM variant is run for coarse sizes
  ``H = ratio * eps`` whose sub-grids tile that same grid (``N = 1 / H`` and
  ``n = M / N`` must be integers).  ``H`` grows with the ratio, so the ordinary ``O(H)``
  coarse error adds to the resonance error at large ratios.
* ``mode="fixed-H"``: the coarse mesh ``N = coarse`` (``H = 1 / N``) is fixed and
  ``eps = H / ratio`` varies; each ``eps`` gets its own fine reference with
  ``n = ceil(fine_per_eps * ratio)`` fine cells per coarse element (``h <= eps /
  fine_per_eps``, ``M = N n``).

In both the errors are measured node-wise on the fine grid.  Linear boundary conditions
show the resonance error ``O(eps / H)`` near ``H ~ eps``; oscillatory boundary
conditions and oversampling reduce it.
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

MODES = ("fixed-eps", "fixed-H")
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
    """One MsFEM run: ``H / eps``, ``N``, ``n``, variant, relative errors, wall times, and
    the ``eps``, fine cells per side ``M = N n`` and fine-solve time of its reference."""

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
    eps: float = math.nan
    fine_cells: int = 0
    fine_time_s: float = math.nan


@dataclass(frozen=True)
class ResonanceStudy:
    """All runs of `msfem_resonance_study` and the fine reference(s) they were measured
    against.

    In ``mode="fixed-eps"`` ``eps``, ``fine_cells``, ``fine_time_s`` and
    ``fine_iterations`` describe the one reference.  In ``mode="fixed-H"`` (``coarse``
    elements per side) each row carries its own ``eps`` / ``fine_cells`` /
    ``fine_time_s``; the study fields hold the smallest ``eps``, the largest
    ``fine_cells``, and the total time and iterations of all the fine solves.
    """

    eps: float
    fine_cells: int
    fine_time_s: float
    fine_iterations: int
    oversampling: float
    rows: tuple[ResonanceRow, ...]
    mode: str = "fixed-eps"
    coarse: int | None = None

    @property
    def varying_eps(self) -> bool:
        """Whether the rows have more than one ``eps`` (the fixed-H design)."""
        return len({r.eps for r in self.rows}) > 1

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
        """Markdown table: one row per ``H / eps``, one column per variant (with a
        ``1/eps`` and a fine-grid ``M`` column when ``eps`` varies)."""
        if norm not in NORM_NAMES:
            raise ValueError(f"norm: got {norm!r}; expected one of {NORM_NAMES}")
        ratios = sorted({r.ratio for r in self.rows})
        extra = self.varying_eps
        names = ["H/eps", "1/eps", "N", "n", "M"] if extra else ["H/eps", "N", "n"]
        head = f"| {' | '.join(names)} | {' | '.join(self.variants)} |"
        lines = [head, "|" + "---|" * (len(names) + len(self.variants))]
        for q in ratios:
            rows = {r.variant: r for r in self.rows if r.ratio == q}
            first = next(iter(rows.values()))
            cells = [f"{getattr(rows[v], norm):.3e}" if v in rows else "" for v in self.variants]
            if extra:
                lead = f"{q:g} | {1 / first.eps:g} | {first.coarse} | {first.fine} | "
                lead += f"{first.fine_cells}"
            else:
                lead = f"{q:g} | {first.coarse} | {first.fine}"
            lines.append(f"| {lead} | {' | '.join(cells)} |")
        return "\n".join(lines)

    def timing_table(self) -> str:
        """Markdown table of offline / online MsFEM times against the fine solve."""
        if self.varying_eps:
            first = "fine references: one per eps (columns M, fine s)"
            cols = "| H/eps | 1/eps | M | fine s | variant |"
        else:
            first = f"fine reference: {self.fine_cells}^2 cells, {self.fine_time_s:.3f} s"
            cols = "| H/eps | variant |"
        lines = [
            first,
            "",
            cols + " offline s | online s | fine/online | fine/(offline+online) |",
            "|" + "---|" * (cols.count("|") + 3),
        ]
        for r in self.rows:
            fine_s = r.fine_time_s if math.isfinite(r.fine_time_s) else self.fine_time_s
            lead = f"| {r.ratio:g} | "
            if self.varying_eps:
                lead += f"{1 / r.eps:g} | {r.fine_cells} | {fine_s:.3f} | "
            lines.append(
                f"{lead}{r.variant} | {r.offline_s:.3f} | {r.online_s:.4f} | "
                f"{fine_s / r.online_s:.1f} | {fine_s / (r.offline_s + r.online_s):.2f} |"
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


def fixed_h_sizes(coarse: int, ratio: float, fine_per_eps: int) -> tuple[float, int, int]:
    """``(eps, n, M)`` of the fixed-H design: ``eps = H / ratio`` with ``H = 1 / coarse``,
    ``n = ceil(fine_per_eps * ratio)`` fine cells per coarse element (``h <= eps /
    fine_per_eps``) and ``M = coarse * n`` fine cells per side.

    >>> fixed_h_sizes(8, 0.75, 8)
    (0.16666666666666666, 6, 48)
    """
    if not (isinstance(ratio, int | float) and math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratios: got {ratio!r}; expected positive numbers (H / eps)")
    eps = 1.0 / (coarse * ratio)
    if eps > 1:
        raise ValueError(
            f"ratios: H/eps = {ratio!r} with H = 1/{coarse} gives eps = {eps:g} > 1; "
            "choose ratios >= 1/coarse"
        )
    n = max(1, math.ceil(fine_per_eps * ratio - 1e-9))
    return eps, n, coarse * n


def _check_positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ValueError(f"{name}: got {v!r}; expected a positive integer")
    return int(v)


def msfem_resonance_study(
    eps: float = 1 / 48,
    ratios: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0),
    variants: Sequence[str] = ("linear", "oscillatory", "oversampling", "oversampling-pg"),
    *,
    fine_per_eps: int = 8,
    oversampling: float = 2.0,
    correctors_resolution: int = 128,
    executor: Any = "serial",
    mode: str = "fixed-eps",
    coarse: int = 8,
) -> ResonanceStudy:
    """MsFEM errors against fine references for every ``H / eps`` and variant.

    Variants are a local boundary condition (``linear``, ``oscillatory``,
    ``oversampling``, ``periodic``) with ``-pg`` for the Petrov-Galerkin formulation.
    ``mode="fixed-eps"`` (default) fixes ``eps`` and sets ``H = ratio * eps`` (one fine
    reference, ``coarse`` is ignored); ``mode="fixed-H"`` fixes ``H = 1 / coarse`` and
    sets ``eps = H / ratio`` (one fine reference per ratio, ``eps`` is ignored; ``1/eps``
    need not be an integer, the domain then holds a fractional number of periods).
    Each fine reference is solved (and timed) once; each MsFEM run is timed offline
    (local problems and local matrices) and online (load, coarse assembly and solve).

    >>> s = msfem_resonance_study(1 / 8, ratios=(1.0, 2.0), variants=("linear",))
    >>> s.fine_cells, [r.coarse for r in s.rows]
    (64, [8, 4])
    >>> s = msfem_resonance_study(ratios=(1.0, 2.0), variants=("linear",), mode="fixed-H",
    ...                           coarse=2)
    >>> [(1 / r.eps, r.fine, r.fine_cells) for r in s.rows]
    [(2.0, 8, 16), (4.0, 16, 32)]
    """
    if mode not in MODES:
        raise ValueError(f"mode: got {mode!r}; expected one of {MODES}")
    variants = list(variants)
    for v in variants:
        parse_variant(v)
    fine_per_eps = _check_positive_int("fine_per_eps", fine_per_eps)
    if mode == "fixed-eps":
        sizes = [coarse_sizes(eps, q, fine_per_eps) for q in ratios]
        cases = [(float(eps), N, n, M) for M, N, n in sizes]
    else:
        coarse = _check_positive_int("coarse", coarse)
        cases = []
        for q in ratios:
            e, n, M = fixed_h_sizes(coarse, q, fine_per_eps)
            cases.append((e, coarse, n, M))
    correctors, cor_time = None, 0.0
    if any(v.startswith("periodic") for v in variants):
        from scalebridge.asymptotic.cell import PeriodicCoefficient, cell_correctors

        unit = default_coefficient(1.0)
        t0 = time.perf_counter()
        correctors = cell_correctors(
            PeriodicCoefficient.from_function(unit, 2, "Hou-Wu"), correctors_resolution
        )
        cor_time = time.perf_counter() - t0
    refs: dict[tuple[float, int], Any] = {}
    rows = []
    for q, (e, N, n, M) in zip(ratios, cases, strict=True):
        a = default_coefficient(e)
        if (e, M) not in refs:
            refs[(e, M)] = solve_fine_reference(a, M)
        ref = refs[(e, M)]
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
                eps=e,
                executor=executor,
            )
            err = msfem_errors(sol, ref)
            offline = sol.offline_s + (cor_time if bc == "periodic" else 0.0)
            rows.append(
                ResonanceRow(
                    float(q),
                    N,
                    n,
                    v,
                    err.l2,
                    err.h1,
                    err.energy,
                    err.coarse_nodal,
                    offline,
                    sol.online_s,
                    eps=e,
                    fine_cells=M,
                    fine_time_s=ref.time_s,
                )
            )
    all_refs = list(refs.values())
    if mode == "fixed-eps":
        r0 = all_refs[0]
        return ResonanceStudy(
            float(eps), r0.cells, r0.time_s, r0.iterations, oversampling, tuple(rows)
        )
    return ResonanceStudy(
        min(e for e, *_ in cases),
        max(r.cells for r in all_refs),
        sum(r.time_s for r in all_refs),
        sum(r.iterations for r in all_refs),
        oversampling,
        tuple(rows),
        mode,
        coarse,
    )


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
        if study.mode == "fixed-H":
            h_eps = min(r.fine_cells * r.eps for r in study.rows)
            ax.set_title(f"MsFEM, H = 1/{study.coarse}, eps = H/ratio, h <= eps/{h_eps:.0f}")
        else:
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
