"""Apparent tensors of one cell under SUBC, PBC and KUBC, with their ordering checks."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scalebridge.homogenization.homogenize import HomogenizationResult, homogenize

__all__ = ["ALL_BCS", "ApparentResult", "apparent_tensors"]

Array = NDArray[np.float64]
ALL_BCS = ("subc", "periodic", "kubc")


@dataclass(frozen=True)
class ApparentResult:
    """Apparent tensors of one cell under several boundary conditions.

    Attributes
    ----------
    results : dict
        ``{bc: HomogenizationResult}`` in the order SUBC, PBC, KUBC.
    ordering : dict
        Quadratic-form checks of ``Reuss <= SUBC <= PBC <= KUBC <= Voigt`` between
        neighbours of the chain, for the conditions present, e.g.
        ``{"reuss<=subc": True, "subc<=periodic": True, ...}``.
    hill_mandel : dict
        Largest relative Hill-Mandel residual per condition.
    spread : float or None
        ``|C_KUBC - C_SUBC| / |C_PBC|`` (Frobenius): it shrinks as the cell becomes
        representative; None unless all three conditions were computed.
    """

    results: dict[str, HomogenizationResult]
    ordering: dict[str, bool]
    hill_mandel: dict[str, float]
    spread: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (no fields).

        ``bounds`` holds Voigt/Reuss (shared by all conditions) and ``inside``, which is
        True for a check only when every apparent tensor passes it.
        """
        first = next(iter(self.results.values()))
        inside: dict[str, bool | None] = {}
        for key in first.bounds_check:
            values = [r.bounds_check.get(key) for r in self.results.values()]
            inside[key] = None if all(v is None for v in values) else all(v is True for v in values)
        hs = first.bounds.hashin_shtrikman
        return {
            "physics": first.physics,
            "ndim": first.ndim,
            "bcs": list(self.results),
            "notation": "mandel" if first.physics == "elasticity" else "matrix",
            "apparent": {bc: r.to_dict() for bc, r in self.results.items()},
            "ordering": dict(self.ordering),
            "hill_mandel": dict(self.hill_mandel),
            "spread": self.spread,
            "bounds": {
                "voigt": first.bounds.voigt.tolist(),
                "reuss": first.bounds.reuss.tolist(),
                "hashin_shtrikman": None if hs is None else {k: list(v) for k, v in hs.items()},
                "inside": inside,
            },
            "wall_time_s": sum(r.wall_time for r in self.results.values()),
            "volume_fractions": {str(k): v for k, v in first.volume_fractions.items()},
        }


def _loewner_le(A: Array, B: Array, atol: float) -> bool:
    """``A <= B`` as quadratic forms (symmetrised), to ``atol``."""
    D = 0.5 * ((B - A) + (B - A).T)
    return bool(np.linalg.eigvalsh(D).min() >= -atol)


def _check_bcs(bcs: Any) -> list[str]:
    if isinstance(bcs, str):
        bcs = (bcs,)
    try:
        chosen = [str(b).lower() if isinstance(b, str) else b for b in bcs]
    except TypeError:
        chosen = []
    allowed = ", ".join(map(repr, ALL_BCS))
    bad = [b for b in chosen if b not in ALL_BCS]
    if not chosen or bad:
        why = f" ({bad[0]!r} is not one of them)" if bad else ""
        raise ValueError(f"bcs: {bcs!r} must be a non-empty subset of {allowed}{why}")
    return [bc for bc in ALL_BCS if bc in chosen]


def apparent_tensors(
    microstructure: Any,
    materials: Mapping[int, Any] | Sequence[Any],
    *,
    bcs: Sequence[str] = ALL_BCS,
    tol: float = 1e-8,
    solver: str = "auto",
    linear_solver: str = "auto",
    discretization: str = "fe",
    max_iter: int = 1000,
    keep_fields: bool | Sequence[str] = False,
    progress: Callable[[int, int], None] | None = None,
) -> ApparentResult:
    """Apparent tensors of one cell under SUBC, PBC and KUBC, with the ordering checks.

    On any cell, the apparent tensors are ordered as quadratic forms,
    ``Reuss <= C_SUBC <= C_PBC <= C_KUBC <= Voigt``; they converge to the same effective
    tensor as the cell grows, so their spread measures how representative the cell is.

    Parameters
    ----------
    microstructure : Microstructure
    materials : mapping or sequence
        ``{label: law}``; a sequence means ``{index: law}``.
    bcs : sequence of {"subc", "periodic", "kubc"}
        Conditions to compute (all three by default); a non-empty subset.
    tol : float
        Relative residual of the iterative solvers (CG / AMG-CG); the ordering checks
        allow ``max(100 tol, 1e-9) |C_Voigt|_2``.
    solver : {"auto", "fft", "fe"}
        As in :func:`scalebridge.homogenize`; ``"fft"`` only with ``bcs=("periodic",)``.
    linear_solver : {"auto", "direct", "amg"}
        For the sparse FE solver (KUBC/SUBC, or every condition with ``solver="fe"``).
    discretization, max_iter : str, int
        Passed to :func:`scalebridge.homogenize`.
    keep_fields : bool or sequence of str
        Keep local fields for all conditions (True) or for those named.
    progress : callable, optional
        ``progress(done, total)`` over all ``len(bcs) * m`` load cases.

    Returns
    -------
    ApparentResult

    Raises
    ------
    ValueError
        If ``bcs`` is empty or names an unknown condition (message starts ``bcs:``).

    Examples
    --------
    >>> import scalebridge as sb
    >>> from scalebridge.materials import Conductivity
    >>> ms = sb.microstructure.random_inclusions((16, 16), volume_fraction=0.3,
    ...                                          radius=0.12, seed=0)
    >>> res = sb.apparent_tensors(ms, {0: Conductivity(k=1.0), 1: Conductivity(k=10.0)})
    >>> list(res.ordering)
    ['reuss<=subc', 'subc<=periodic', 'periodic<=kubc', 'kubc<=voigt']
    >>> all(res.ordering.values())
    True
    >>> bool(0.0 < res.spread < 1.0)
    True
    """
    order = _check_bcs(bcs)
    if isinstance(keep_fields, bool):
        keep = set(order) if keep_fields else set()
    else:
        keep = {str(b).lower() for b in keep_fields}
    results: dict[str, HomogenizationResult] = {}
    done = 0
    for bc in order:

        def step(k: int, total: int, offset: int = done) -> None:
            if progress is not None:
                progress(offset + k, total * len(order))

        results[bc] = homogenize(
            microstructure,
            materials,
            bc=bc,
            solver=solver,
            tol=tol,
            linear_solver=linear_solver,
            discretization=discretization,
            max_iter=max_iter,
            keep_fields=bc in keep,
            progress=step,
        )
        done += results[bc].tensor.shape[0]
    first = results[order[0]]
    voigt, reuss = first.bounds.voigt, first.bounds.reuss
    atol = max(100.0 * tol, 1e-9) * float(np.linalg.norm(voigt, 2))
    chain = [("reuss", reuss), *((bc, results[bc].tensor) for bc in order), ("voigt", voigt)]
    ordering = {
        f"{a}<={b}": _loewner_le(A, B, atol) for (a, A), (b, B) in itertools.pairwise(chain)
    }
    spread = None
    if len(order) == len(ALL_BCS):
        spread = float(
            np.linalg.norm(results["kubc"].tensor - results["subc"].tensor)
            / np.linalg.norm(results["periodic"].tensor)
        )
    return ApparentResult(
        results=results,
        ordering=ordering,
        hill_mandel={bc: float(r.hill_mandel_residual) for bc, r in results.items()},
        spread=spread,
    )
