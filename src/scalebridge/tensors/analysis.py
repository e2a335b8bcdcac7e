"""Engineering constants and checks of effective tensors."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalebridge.tensors.isotropic import (
    isotropic_moduli,
    isotropic_projectors,
)
from scalebridge.tensors.notation import _DIM, _PAIRS, Array, full_to_mandel


def _compliance(C: Array) -> Array:
    try:
        return np.linalg.inv(C)
    except np.linalg.LinAlgError:
        return np.full_like(C, np.nan)


def engineering_constants(C: ArrayLike) -> dict[str, float]:
    """Engineering constants of a Mandel stiffness, with ``S = C^-1`` (Mandel).

    6x6: ``E1, E2, E3`` (``Ei = 1/S_ii``); ``nu_ij = -S_ji / S_ii`` (``nu12 = -S12/S11``,
    strain in ``j`` under stress in ``i``; all six given); ``G23, G13, G12`` with the Mandel
    factor ``G = 1 / (2 S_mandel)``; ``K_iso = J::C / 3 = (1/9) sum_{i,j<=3} C_ij`` and
    ``G_iso = K::C / 10`` (exact ``K``, ``G`` for isotropic ``C``); Voigt averages
    ``K_voigt = K_iso``, ``G_voigt = G_iso``; Reuss ``K_reuss = 1 / (3 J::S)``,
    ``G_reuss = 5 / (2 K::S)``; Hill means ``K_hill``, ``G_hill``.

    3x3 (plane strain): ``E1, E2, nu12, G12`` are the *apparent plane-strain moduli*
    (``E/(1-nu^2)``, ``nu/(1-nu)``, ``mu`` for an isotropic phase); the in-plane bulk modulus
    ``K2D = (C11 + C22 + 2 C12) / 4`` (``lambda + mu``), ``G_iso = K::C / 4`` and the
    Voigt/Reuss ``K2D_voigt, G_voigt, K2D_reuss, G_reuss``.  Quantities that need ``S`` are
    NaN when ``C`` is singular.

    Examples
    --------
    >>> from scalebridge.tensors import bulk_shear_from, isotropic_stiffness
    >>> c = engineering_constants(isotropic_stiffness(*bulk_shear_from(E=1.0, nu=0.25)))
    >>> round(c["E1"], 12), round(c["nu12"], 12), round(c["G12"], 12)
    (1.0, 0.25, 0.4)
    """
    A = np.asarray(C, dtype=float)
    m = A.shape[-1]
    d = _DIM.get(m)
    if A.shape != (m, m) or d is None:
        raise ValueError(f"C must be a 3x3 or 6x6 Mandel matrix, got shape {A.shape}")
    S = _compliance(A)
    J, Kp = isotropic_projectors(d)
    bulk, shear = isotropic_moduli(A)
    with np.errstate(divide="ignore", invalid="ignore"):
        bulk_r = 1.0 / (d * np.sum(J * S))
        shear_r = (m - 1) / (2.0 * np.sum(Kp * S))
        out: dict[str, float] = {}
        for i in range(d):
            out[f"E{i + 1}"] = 1.0 / S[i, i]
        for i in range(d):
            for j in range(d):
                if i != j and (d == 3 or i < j):
                    out[f"nu{i + 1}{j + 1}"] = -S[j, i] / S[i, i]
        for a in range(d, m):
            i, j = _PAIRS[d][a]
            out[f"G{i + 1}{j + 1}"] = 1.0 / (2.0 * S[a, a])
    if d == 3:
        out |= {
            "K_iso": bulk,
            "G_iso": shear,
            "K_voigt": bulk,
            "G_voigt": shear,
            "K_reuss": bulk_r,
            "G_reuss": shear_r,
            "K_hill": 0.5 * (bulk + bulk_r),
            "G_hill": 0.5 * (shear + shear_r),
        }
    else:
        out |= {
            "K2D": bulk,
            "G_iso": shear,
            "K2D_voigt": bulk,
            "G_voigt": shear,
            "K2D_reuss": bulk_r,
            "G_reuss": shear_r,
        }
    return {k: float(v) for k, v in out.items()}


def conductivity_constants(k: ArrayLike) -> dict[str, object]:
    """Eigenvalues (ascending), ``mean = trace / d`` and ``anisotropy = max / min`` eig.

    >>> c = conductivity_constants(np.diag([1.0, 4.0]))
    >>> c["mean"], c["anisotropy"]
    (2.5, 4.0)
    """
    A = np.asarray(k, dtype=float)
    eig = np.linalg.eigvalsh(0.5 * (A + A.T))
    ratio = float(eig[-1] / eig[0]) if eig[0] > 0.0 else float("inf")
    return {"eigenvalues": eig, "mean": float(np.trace(A)) / A.shape[0], "anisotropy": ratio}


def directional_youngs_modulus(C: ArrayLike, direction: ArrayLike) -> float:
    """Young's modulus along ``direction``: ``1 / (n n : S : n n)``.

    For a 3x3 plane-strain matrix the direction is in-plane and the result is the
    plane-strain apparent modulus (``E / (1 - nu^2)`` for an isotropic phase).

    >>> from scalebridge.tensors import bulk_shear_from, isotropic_stiffness
    >>> C = isotropic_stiffness(*bulk_shear_from(E=2.0, nu=0.3))
    >>> round(directional_youngs_modulus(C, [1.0, 1.0, 0.0]), 12)
    2.0
    """
    A = np.asarray(C, dtype=float)
    n = np.asarray(direction, dtype=float)
    if n.shape != (_DIM.get(A.shape[-1], -1),) or not np.linalg.norm(n) > 0.0:
        raise ValueError(f"direction must be a non-zero vector of length d, got {n}")
    n = n / np.linalg.norm(n)
    N = full_to_mandel(np.outer(n, n))
    return float(1.0 / (N @ np.linalg.solve(A, N)))


def symmetry_error(A: ArrayLike) -> float:
    """``||A - A^T||_F / ||A||_F`` (0 for the zero matrix).

    >>> symmetry_error([[1.0, 1.0], [0.0, 1.0]])
    0.8164965809277261
    """
    M = np.asarray(A, dtype=float)
    norm = np.linalg.norm(M)
    return float(np.linalg.norm(M - M.T) / norm) if norm > 0.0 else 0.0


def is_positive_definite(A: ArrayLike, tol: float = 1e-12) -> bool:
    """True when the symmetric part's smallest eigenvalue exceeds ``tol * max |eig|``.

    >>> is_positive_definite(np.diag([1.0, 1e-3])), is_positive_definite(np.diag([1.0, 0.0]))
    (True, False)
    """
    M = np.asarray(A, dtype=float)
    eig = np.linalg.eigvalsh(0.5 * (M + M.T))
    return bool(eig[-1] > 0.0 and eig[0] > tol * np.abs(eig).max())
