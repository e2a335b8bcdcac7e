"""FE-HMM studies: errors against a fine-scale or homogenized reference, timings, plots.

Errors are measured on a fine mesh nested in the macro mesh (its divisions a multiple of
``N``), where the macro P1/Q1 solution is represented exactly: relative L2 and H1
(semi-norm) errors of ``u_H - u_ref``.  Against the fine solution ``u^eps`` the H1
error keeps an O(1) part (``u_H`` has no oscillating corrector); against the
homogenized ``u0`` it converges in ``H`` down to the micro modelling error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.coupling.hmm import MultiscaleCoefficient, effective_tensors, solve_hmm

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Reference:
    """A reference solution on a fine mesh: its basis, nodal values and solve time."""

    basis: Any
    u: Array
    wall_time: float
    kind: str


def fine_divisions(eps: float, per_eps: int, multiple_of: Sequence[int]) -> int:
    """Smallest count of divisions with ``h <= eps / per_eps``, a multiple of every ``N``."""
    m = math.lcm(*[int(k) for k in multiple_of]) if multiple_of else 1
    need = math.ceil(per_eps / eps - 1e-9)
    return m * math.ceil(need / m)


def solve_fine(
    coefficient: MultiscaleCoefficient,
    f: float | Callable[[Array], Array] = 1.0,
    *,
    per_eps: int = 8,
    multiple_of: Sequence[int] = (),
) -> Reference:
    """Fine-scale Q1 (P1 in 1D) solve on the unit box with ``h <= eps / per_eps``."""
    from scalebridge.asymptotic.fem import (
        box_mesh,
        lagrange_basis,
        quadrature_points,
        solve_diffusion,
    )

    d = coefficient.ndim
    n = fine_divisions(coefficient.eps, per_eps, multiple_of)
    t0 = time.perf_counter()
    basis = lagrange_basis(box_mesh([0.0] * d, [1.0] * d, [n] * d), 1)
    sol = solve_diffusion(basis, coefficient(quadrature_points(basis)), f, 0.0)
    return Reference(basis, sol.u, time.perf_counter() - t0, f"fine Q1, h = 1/{n}")


def solve_reference_homogenized(
    a_hom: Array,
    d: int,
    f: float | Callable[[Array], Array] = 1.0,
    *,
    divisions: int = 128,
) -> Reference:
    """Homogenized ``u0`` (constant ``a_hom``) with Q2/P2 on the unit box."""
    from scalebridge.asymptotic.fem import box_mesh, solve_homogenized

    t0 = time.perf_counter()
    sol = solve_homogenized(a_hom, box_mesh([0.0] * d, [1.0] * d, [divisions] * d), f, order=2)
    return Reference(sol.basis, sol.u, time.perf_counter() - t0, f"u0, Q2 h = 1/{divisions}")


def _tensor_grid(basis: Any) -> tuple[Array, Array, Array] | None:
    """Nodal values layout of a Q1/P1 basis on an axis-aligned uniform tensor grid.

    Returns ``(lower, h, index)`` with ``index`` the ``(d, nnodes)`` integer grid position
    of each mesh node, or ``None`` when the mesh is not such a grid (any element not one
    grid cell, missing or duplicate nodes) or the element is not nodal Q1/P1.
    """
    import skfem

    if not isinstance(basis.elem, (skfem.ElementLineP1, skfem.ElementQuad1, skfem.ElementHex1)):
        return None
    mesh = basis.mesh
    p = np.asarray(mesh.p, dtype=float)
    lo, hi = p.min(axis=1), p.max(axis=1)
    # element extents give the spacing; a uniform grid has one extent per axis
    ext = np.ptp(p[:, mesh.t], axis=1)  # (d, nelems)
    h = ext.max(axis=1)
    if np.any(h <= 0) or np.any(np.abs(ext - h[:, None]) > 1e-9 * h[:, None]):
        return None
    n = np.rint((hi - lo) / h).astype(np.int64)
    t = (p - lo[:, None]) / h[:, None]
    idx = np.rint(t).astype(np.int64)
    if np.abs(t - idx).max() > 1e-8 or p.shape[1] != int(np.prod(n + 1)):
        return None
    flat = np.ravel_multi_index(tuple(idx), tuple(n + 1))
    if np.unique(flat).size != flat.size or mesh.t.shape[1] != int(np.prod(n)):
        return None
    cells = np.ravel_multi_index(tuple(idx[:, mesh.t].min(axis=1)), tuple(n + 1))
    if np.unique(cells).size != cells.size:
        return None
    return lo, h, idx


def _eval_grid_q1(
    U: Array, lo: Array, h: Array, x: Array, grad: bool
) -> tuple[Array, Array | None]:
    """Value (and gradient) of the tensor-grid Q1 function with nodal values ``U`` at ``x``.

    ``U`` has shape ``n + 1`` (one entry per grid node), ``x`` is ``(d, m)``; each point's
    cell is ``floor((x - lo) / h)`` (clipped to the grid), shape functions bilinear.
    """
    d = x.shape[0]
    n = np.asarray(U.shape) - 1
    t = (x - lo[:, None]) / h[:, None]
    i = np.clip(np.floor(t).astype(np.int64), 0, n[:, None] - 1)
    s = t - i
    w = (1.0 - s, s)
    val = np.zeros(x.shape[1])
    g = np.zeros_like(x) if grad else None
    for corner in np.ndindex(*(2,) * d):
        uc = U[tuple(i[k] + corner[k] for k in range(d))]
        wk = [w[corner[k]][k] for k in range(d)]
        val += uc * np.prod(wk, axis=0)
        if g is not None:
            for k in range(d):
                others = [wk[j] for j in range(d) if j != k]
                sign = 1.0 if corner[k] else -1.0
                g[k] += uc * (sign / h[k]) * (np.prod(others, axis=0) if others else 1.0)
    return val, g


def relative_errors(sol: Any, ref: Reference, *, chunk: int = 65536) -> dict[str, float]:
    """Relative L2 and H1-semi errors of an `HMMSolution` against a nested reference.

    On a macro tensor grid (the `box_mesh` of `solve_hmm`) ``u_H`` and its gradient are
    evaluated analytically at the reference quadrature points, ``chunk`` reference
    elements at a time, with the reference's own basis values and weights: the same
    quadrature as its mass and stiffness matrices, so the numbers equal the
    interpolate-and-assemble path (used for other macro meshes) to rounding, at a few
    hundred MB of extra memory for a million reference elements.
    """
    grid = _tensor_grid(sol.basis)
    if grid is None:
        return _relative_errors_assembled(sol, ref)
    lo, h, idx = grid
    U = np.empty(tuple(idx.max(axis=1) + 1))
    U[tuple(idx)] = np.asarray(sol.u)[sol.basis.nodal_dofs[0]]
    rb = ref.basis
    d = rb.mesh.p.shape[0]
    ru = np.asarray(ref.u)
    dofs = rb.element_dofs
    dx = rb.dx
    sums = np.zeros(4)  # |e|^2, |u|^2, |grad e|^2, |grad u|^2
    nel = dofs.shape[1]
    for a in range(0, nel, chunk):
        sl = slice(a, min(a + chunk, nel))
        tind = np.arange(sl.start, sl.stop)
        x = np.asarray(rb.mapping.F(rb.X, tind=tind))  # (d, m, nqp)
        shape = x.shape[1:]
        uH, gH = _eval_grid_q1(U, lo, h, x.reshape(d, -1), True)
        uH = uH.reshape(shape)
        gH = gH.reshape((d, *shape))
        ur = np.zeros(shape)
        gr = np.zeros((d, *shape))
        for j, phi in enumerate(rb.basis):
            c = ru[dofs[j, sl]][:, None]
            ur += c * np.asarray(phi[0])[sl]
            gr += c * phi[0].grad[:, sl]
        w = dx[sl]
        e, ge = uH - ur, gH - gr
        sums += [
            np.sum(e * e * w),
            np.sum(ur * ur * w),
            np.sum(np.sum(ge * ge, axis=0) * w),
            np.sum(np.sum(gr * gr, axis=0) * w),
        ]
    return {"l2": float(np.sqrt(sums[0] / sums[1])), "h1": float(np.sqrt(sums[2] / sums[3]))}


def _relative_errors_assembled(sol: Any, ref: Reference) -> dict[str, float]:
    """`relative_errors` by interpolation on the reference nodes and assembled matrices."""
    from skfem.models import laplace, mass

    uH = sol.basis.probes(np.asarray(ref.basis.doflocs)) @ sol.u
    e = uH - ref.u
    M = mass.assemble(ref.basis)
    K = laplace.assemble(ref.basis)
    return {
        "l2": float(np.sqrt(e @ (M @ e) / (ref.u @ (M @ ref.u)))),
        "h1": float(np.sqrt(e @ (K @ e) / (ref.u @ (K @ ref.u)))),
    }


def fitted_rate(h: Sequence[float], err: Sequence[float]) -> float:
    """Slope of ``log err`` against ``log h`` (least squares)."""
    return float(np.polyfit(np.log(np.asarray(h)), np.log(np.asarray(err)), 1)[0])


def convergence_in_h(
    coefficient: MultiscaleCoefficient,
    Ns: Sequence[int],
    a_hom: Array,
    f: float | Callable[[Array], Array] = 1.0,
    *,
    ref_divisions: int | None = None,
    **hmm_options: Any,
) -> dict[str, Any]:
    """FE-HMM errors against ``u0`` (homogenized with ``a_hom``) for macro meshes ``Ns``.

    Returns ``{"rows": [{"N", "H", "l2", "h1", "micro_s", "macro_s"}], "rate_l2",
    "rate_h1"}``; expected rates 2 and 1 down to the micro modelling error.
    """
    d = coefficient.ndim
    nref = ref_divisions or math.lcm(*Ns) * max(1, 128 // math.lcm(*Ns))
    ref = solve_reference_homogenized(np.asarray(a_hom), d, f, divisions=nref)
    rows = []
    for N in Ns:
        sol = solve_hmm(coefficient, int(N), f, **hmm_options)
        err = relative_errors(sol, ref)
        rows.append(
            {"N": int(N), "H": 1.0 / N, **err, "micro_s": sol.micro_time, "macro_s": sol.macro_time}
        )
    H = [r["H"] for r in rows]
    return {
        "rows": rows,
        "rate_l2": fitted_rate(H, [r["l2"] for r in rows]),
        "rate_h1": fitted_rate(H, [r["h1"] for r in rows]),
    }


def tensor_error_vs_delta(
    coefficient: MultiscaleCoefficient,
    ratios: Sequence[float],
    a_hom: Array,
    point: Sequence[float],
    couplings: Sequence[str] = ("periodic", "dirichlet"),
    voxels_per_eps: int = 16,
) -> list[dict[str, Any]]:
    """Relative error ``|A_K - a_hom| / |a_hom|`` (Frobenius) at one point vs ``delta/eps``."""
    from scalebridge.coupling.hmm import hmm_settings

    x = np.asarray(point, dtype=float).reshape(-1, 1)
    ref = np.asarray(a_hom)
    rows = []
    for c in couplings:
        for r in ratios:
            s = hmm_settings(c, float(r), voxels_per_eps)
            t0 = time.perf_counter()
            A = effective_tensors(coefficient, x, s)[0]
            rows.append(
                {
                    "coupling": c,
                    "delta_over_eps": float(r),
                    "error": float(np.linalg.norm(A - ref) / np.linalg.norm(ref)),
                    "seconds": time.perf_counter() - t0,
                }
            )
    return rows


def compare_with_fine(
    coefficient: MultiscaleCoefficient,
    N: int,
    f: float | Callable[[Array], Array] = 1.0,
    *,
    per_eps: int = 8,
    a_hom: Array | None = None,
    **hmm_options: Any,
) -> dict[str, Any]:
    """One FE-HMM and one fine-scale solve in the same run: errors and wall times.

    ``speedup`` is the fine solve time over the whole FE-HMM time (micro + macro).
    """
    fine = solve_fine(coefficient, f, per_eps=per_eps, multiple_of=[N])
    sol = solve_hmm(coefficient, N, f, **hmm_options)
    out: dict[str, Any] = {
        "N": N,
        "eps": coefficient.eps,
        "fine_dofs": int(fine.basis.N),
        "fine_s": fine.wall_time,
        "hmm_s": sol.wall_time,
        "micro_s": sol.micro_time,
        "speedup": fine.wall_time / sol.wall_time,
        "vs_fine": relative_errors(sol, fine),
    }
    if a_hom is not None:
        nref = fine_divisions(1.0 / 128, 1, [N])
        ref0 = solve_reference_homogenized(np.asarray(a_hom), coefficient.ndim, f, divisions=nref)
        out["vs_u0"] = relative_errors(sol, ref0)
    return out


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of ``rows`` (floats in ``%.3g``)."""
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = ""
    for r in rows:
        cells = [f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in columns]
        body += "| " + " | ".join(cells) + " |\n"
    return head + body


def plot_convergence(
    study: dict[str, Any], delta_rows: Sequence[dict[str, Any]], path: str
) -> Path:
    """Two panels: errors vs ``H`` (against ``u0``) and ``A_K`` error vs ``delta/eps``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scalebridge.io.plots import save_figure

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    H = np.array([r["H"] for r in study["rows"]])
    for key, p in (("l2", 2), ("h1", 1)):
        e = np.array([r[key] for r in study["rows"]])
        ax1.loglog(H, e, "o-", label=f"{key.upper()} (rate {study['rate_' + key]:.2f})")
        ax1.loglog(H, e[-1] * (H / H[-1]) ** p, "k:", lw=0.8)
    ax1.set_xlabel("H")
    ax1.set_ylabel("relative error vs u0")
    ax1.legend()
    for c in sorted({r["coupling"] for r in delta_rows}):
        rr = [r for r in delta_rows if r["coupling"] == c]
        x = [r["delta_over_eps"] for r in rr]
        y = [max(r["error"], 1e-16) for r in rr]
        ax2.loglog(x, y, "o-", label=c)
    ax2.set_xlabel("delta / eps")
    ax2.set_ylabel("|A_K - a_hom| / |a_hom|")
    ax2.legend()
    fig.tight_layout()
    out = save_figure(fig, path)
    plt.close(fig)
    return out
