"""Multiscale basis functions of MsFEM: the boundary conditions of the local problems.

On each coarse element ``K`` (``n^d`` fine cells) the basis function ``phi_v`` of vertex
``v`` is given by its nodal values on the fine sub-grid of ``K``:

* `LinearBoundary`: ``-div(a grad phi) = 0`` in ``K``, ``phi = lambda_v`` (the Q1 nodal
  function) on ``dK`` (Hou & Wu 1997);
* `OscillatoryBoundary`: same, with ``phi`` on each edge the 1D solution of
  ``-(a phi')' = 0`` along the edge (discrete: cumulative sums of the fine cells'
  resistances ``1 / <a>``), vertex values 0 / 1;
* `Oversampling`: ``-div(a grad psi_j) = 0`` on a patch ``S`` of side ``factor * H``
  centred on ``K`` (extended outside the domain: ``a(x)`` is defined everywhere),
  ``psi_j`` the Q1 nodal functions of ``S`` on ``dS``; ``phi = C psi|_K`` with ``C`` the
  inverse of the vertex-value matrix ``psi_j(x_w)`` (Hou, Wu & Cai 1999).  The basis is
  discontinuous across coarse edges (non-conforming);
* `PeriodicCorrectors`: ``phi_v = lambda_v + eps chi(x / eps) . grad lambda_v`` with the
  cell correctors ``chi`` of a periodic coefficient (no local solves; non-conforming).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.coupling.msfem_grid import (
    ReferenceQ1,
    boundary_mask,
    grid_nodes,
    local_solve_task,
    node_index,
    quadrature_points,
    solve_dirichlet_batch,
)

Array = NDArray[np.float64]


@dataclass(frozen=True)
class LinearBoundary:
    """Local problems on ``K`` with the Q1 nodal functions as boundary values."""

    name: str = "linear"


@dataclass(frozen=True)
class OscillatoryBoundary:
    """Local problems on ``K`` with 1D edge solutions as boundary values."""

    name: str = "oscillatory"


@dataclass(frozen=True)
class Oversampling:
    """Local problems on a patch of side ``factor * H`` (``factor >= 1``) centred on ``K``."""

    factor: float = 2.0
    name: str = "oversampling"

    def __post_init__(self) -> None:
        if not np.isfinite(self.factor) or self.factor < 1.0:
            raise ValueError(
                f"oversampling factor: got {self.factor!r}; expected a number >= 1 "
                "(1 = no oversampling, 2-3 typical)"
            )


@dataclass(frozen=True)
class PeriodicCorrectors:
    """``phi = lambda + eps chi(x/eps) . grad lambda`` from `cell_correctors` at period ``eps``."""

    correctors: Any
    eps: float
    name: str = "periodic"


LocalBoundary = LinearBoundary | OscillatoryBoundary | Oversampling | PeriodicCorrectors


@dataclass(frozen=True)
class CoarseLayout:
    """Coarse elements of ``[0, 1]^d``: ``N^d`` elements of ``n^d`` fine cells each."""

    coarse: int
    fine: int
    dim: int

    @property
    def H(self) -> float:
        return 1.0 / self.coarse

    @property
    def h(self) -> float:
        return 1.0 / (self.coarse * self.fine)

    def origins(self) -> Array:
        """Lower corners ``(nK, d)`` of the coarse elements."""
        return grid_nodes(self.coarse - 1, self.dim) * self.H

    def local_nodes(self, cells: int | None = None) -> Array:
        """Unit coordinates ``t (nnodes, d)`` of a sub-grid with ``cells`` per axis."""
        m = self.fine if cells is None else cells
        return grid_nodes(m, self.dim) / m


def q1_values(corners: NDArray[np.int64], t: Array) -> Array:
    """Q1 nodal functions ``(nb, npts)`` of the unit cell at unit coordinates ``t (npts, d)``."""
    f = np.where(corners[:, None, :] == 1, t[None, :, :], 1.0 - t[None, :, :])
    return np.prod(f, axis=2)


def _chunks(n: int, size: int) -> Iterator[slice]:
    for s in range(0, n, size):
        yield slice(s, min(s + size, n))


def _solve_local(
    aq: Array, values: Array, cells: int, ref: ReferenceQ1, h: float, executor: Any, workers: Any
) -> Array:
    """Local Dirichlet problems in-process, or chunked through `run_tasks`."""
    if executor is None or executor == "serial":
        return solve_dirichlet_batch(aq, values, cells, ref, h)
    from scalebridge.parallel import Task, run_tasks

    per = max(1, len(aq) // (4 * (workers or 4)))
    tasks = [
        Task(
            f"patches{s.start}",
            {
                "aq": aq[s].tolist(),
                "values": values[s].tolist(),
                "cells": cells,
                "dim": ref.dim,
                "points": round(len(ref.points) ** (1 / ref.dim)),
                "h": h,
            },
        )
        for s in _chunks(len(aq), per)
    ]
    report = run_tasks(
        local_solve_task,
        tasks,
        executor,
        max_workers=workers,
        progress=False,
        description="MsFEM local problems",
    )
    report.raise_if_failed()
    return np.concatenate([np.asarray(r["phi"]) for r in report.results])


def multiscale_basis(
    coefficient: Callable[[Array], Array],
    layout: CoarseLayout,
    boundary: LocalBoundary,
    ref: ReferenceQ1,
    executor: Any = "serial",
    max_workers: int | None = None,
) -> Array:
    """Nodal values ``(nK, nb, (n+1)^d)`` of the multiscale basis on every coarse element."""
    if isinstance(boundary, PeriodicCorrectors):
        return _periodic_basis(layout, boundary, ref)
    n, h, d = layout.fine, layout.h, layout.dim
    origins = layout.origins()
    if isinstance(boundary, Oversampling):
        m = round(0.5 * (boundary.factor - 1.0) * n)
        cells = n + 2 * m
        x = quadrature_points(origins - m * h, cells, h, ref)
        aq = np.asarray(coefficient(x), dtype=float).reshape(x.shape[1:])
        t = grid_nodes(cells, d)[boundary_mask(cells, d)] / cells
        vals = np.broadcast_to(q1_values(ref.corners, t), (len(origins), len(ref.corners), len(t)))
        psi = _solve_local(aq, np.ascontiguousarray(vals), cells, ref, h, executor, max_workers)
        inside = node_index(grid_nodes(n, d) + m, cells)
        psi = psi[:, :, inside]  # restricted to K
        vertex = node_index(ref.corners * n, n)
        C = np.linalg.inv(psi[:, :, vertex])  # C M = I, M[j, w] = psi_j(x_w)
        return np.einsum("kvj,kjn->kvn", C, psi)
    x = quadrature_points(origins, n, h, ref)
    aq = np.asarray(coefficient(x), dtype=float).reshape(x.shape[1:])
    t = layout.local_nodes()[boundary_mask(n, d)]
    vals = np.broadcast_to(q1_values(ref.corners, t), (len(origins), len(ref.corners), len(t)))
    vals = np.array(vals)
    if isinstance(boundary, OscillatoryBoundary) and d == 2:
        _oscillatory_edges(coefficient, layout, ref, vals)
    return _solve_local(aq, vals, n, ref, h, executor, max_workers)


def _oscillatory_edges(
    coefficient: Callable[[Array], Array], layout: CoarseLayout, ref: ReferenceQ1, vals: Array
) -> None:
    """Replace the linear edge profiles of ``vals`` (2D) by the 1D edge solutions, in place."""
    n, h = layout.fine, layout.h
    origins = layout.origins()
    xi, w = np.polynomial.legendre.leggauss(round(np.sqrt(len(ref.points))))
    xi, w = 0.5 * (xi + 1.0), 0.5 * w
    bidx = grid_nodes(n, 2)[boundary_mask(n, 2)]
    s_run = (np.arange(n)[:, None] + xi[None, :]) * h  # (n, nq1) along the edge
    for k in (0, 1):  # running axis
        j = 1 - k
        for side in (0, 1):
            x = np.empty((2, len(origins), n, len(xi)))
            x[k] = origins[:, k, None, None] + s_run[None]
            x[j] = (origins[:, j] + side * layout.H)[:, None, None]
            abar = np.asarray(coefficient(x), dtype=float).reshape(x.shape[1:]) @ w
            r = np.concatenate([np.zeros((len(origins), 1)), np.cumsum(1.0 / abar, axis=1)], 1)
            s = r / r[:, -1:]  # (nK, n + 1): 0 -> 1 along the edge
            on = bidx[:, j] == side * n
            i_run = bidx[on, k]
            for v, corner in enumerate(ref.corners):
                prof = s[:, i_run] if corner[k] == 1 else 1.0 - s[:, i_run]
                vals[:, v, on] = prof * (1.0 if corner[j] == side else 0.0)


def _periodic_basis(layout: CoarseLayout, boundary: PeriodicCorrectors, ref: ReferenceQ1) -> Array:
    cor, eps = boundary.correctors, float(boundary.eps)
    d = layout.dim
    if getattr(cor, "ndim", None) != d:
        raise ValueError(
            f"correctors: got {type(cor).__name__} of dimension {getattr(cor, 'ndim', None)}; "
            f"expected scalebridge.asymptotic.Correctors of dimension {d}"
        )
    t = layout.local_nodes()  # (nn, d)
    lam = q1_values(ref.corners, t)  # (nb, nn)
    dlam = np.empty((d, *lam.shape))
    for k in range(d):
        others = np.delete(
            np.where(ref.corners[:, None, :] == 1, t[None], 1.0 - t[None]), k, axis=2
        )
        sign = np.where(ref.corners[:, k] == 1, 1.0, -1.0)[:, None]
        dlam[k] = sign * np.prod(others, axis=2) / layout.H
    x = layout.origins()[:, None, :] + t[None] * layout.H  # (nK, nn, d)
    chi = np.asarray(cor.chi_at(np.moveaxis(x, -1, 0) / eps))[:, 0]  # (d, nK, nn)
    return lam[None] + eps * np.einsum("kpn,kvn->pvn", chi, dlam)
