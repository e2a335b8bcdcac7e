"""Isotropic projectors, stiffness and conversions between elastic moduli."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalebridge.tensors.notation import _DIM, _NCOMP, Array


def isotropic_projectors(ndim: int) -> tuple[Array, Array]:
    """Spherical and deviatoric projectors ``(J, K)`` in Mandel form.

    3D: ``J = (1/3) I (x) I`` (6x6).  2D (plane strain, 3x3): the *in-plane* projectors
    with ``d = 2``, ``J = (1/2) i (x) i``, ``i = [1, 1, 0]``.  Always ``K = Id - J``, so
    ``J + K = Id``, ``J J = J``, ``J K = 0``; an in-plane isotropic plane-strain stiffness is
    ``2 kappa J + 2 G K`` with ``kappa = lambda + mu``.

    Examples
    --------
    >>> J, K = isotropic_projectors(2)
    >>> J
    array([[0.5, 0.5, 0. ],
           [0.5, 0.5, 0. ],
           [0. , 0. , 0. ]])
    """
    if ndim not in _NCOMP:
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    m = _NCOMP[ndim]
    i = np.zeros(m)
    i[:ndim] = 1.0
    J = np.outer(i, i) / ndim
    return J, np.eye(m) - J


def _check_moduli(**kw: float) -> None:
    for name, val in kw.items():
        if not np.isfinite(val):
            raise ValueError(f"{name} must be finite, got {val}")


def lame_from(
    *,
    E: float | None = None,
    nu: float | None = None,
    K: float | None = None,
    G: float | None = None,
) -> tuple[float, float]:
    """Lamé ``(lambda, mu)`` from ``(E, nu)`` or ``(K, G)``.

    Requires ``E >= 0`` and ``-1 < nu < 0.5``, or ``K >= 0`` and ``G >= 0``.

    Examples
    --------
    >>> lame_from(E=1.0, nu=0.25)
    (0.4, 0.4)
    """
    if E is not None and nu is not None and K is None and G is None:
        _check_moduli(E=E, nu=nu)
        if E < 0.0:
            raise ValueError(f"E must be >= 0, got {E}")
        if not -1.0 < nu < 0.5:
            raise ValueError(f"nu must satisfy -1 < nu < 0.5, got {nu}")
        return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))
    if K is not None and G is not None and E is None and nu is None:
        _check_moduli(K=K, G=G)
        if K < 0.0 or G < 0.0:
            raise ValueError(f"K and G must be >= 0, got K={K}, G={G}")
        return K - 2.0 * G / 3.0, G
    raise ValueError("lame_from: give exactly one pair, (E, nu) or (K, G)")


def bulk_shear_from(
    *,
    E: float | None = None,
    nu: float | None = None,
    lam: float | None = None,
    mu: float | None = None,
) -> tuple[float, float]:
    """Bulk and shear moduli ``(K, G)`` from ``(E, nu)`` or ``(lam, mu)``.

    Examples
    --------
    >>> bulk_shear_from(lam=0.4, mu=0.4)
    (0.6666666666666667, 0.4)
    """
    if lam is not None and mu is not None and E is None and nu is None:
        _check_moduli(lam=lam, mu=mu)
        K = lam + 2.0 * mu / 3.0
        if mu < 0.0 or K < 0.0:
            raise ValueError(f"need mu >= 0 and lam + 2 mu / 3 >= 0, got lam={lam}, mu={mu}")
        return K, mu
    if E is not None and nu is not None and lam is None and mu is None:
        mu_ = lame_from(E=E, nu=nu)[1]
        return E / (3.0 * (1.0 - 2.0 * nu)), mu_
    raise ValueError("bulk_shear_from: give exactly one pair, (E, nu) or (lam, mu)")


def youngs_poisson_from(
    *,
    K: float | None = None,
    G: float | None = None,
    lam: float | None = None,
    mu: float | None = None,
) -> tuple[float, float]:
    """Young's modulus and Poisson's ratio ``(E, nu)`` from ``(K, G)`` or ``(lam, mu)``.

    Undefined (ValueError) for a void, ``K = G = 0``.

    Examples
    --------
    >>> E, nu = youngs_poisson_from(K=2.0 / 3.0, G=0.4)
    >>> round(E, 12), round(nu, 12)
    (1.0, 0.25)
    """
    if lam is not None and mu is not None and K is None and G is None:
        K, G = bulk_shear_from(lam=lam, mu=mu)
    elif K is None or G is None or lam is not None or mu is not None:
        raise ValueError("youngs_poisson_from: give exactly one pair, (K, G) or (lam, mu)")
    _check_moduli(K=K, G=G)
    if K < 0.0 or G < 0.0:
        raise ValueError(f"K and G must be >= 0, got K={K}, G={G}")
    if 3.0 * K + G == 0.0:
        raise ValueError("E and nu are undefined for a void (K = G = 0)")
    E = 9.0 * K * G / (3.0 * K + G)
    nu = (3.0 * K - 2.0 * G) / (2.0 * (3.0 * K + G))
    return float(E), float(nu)


def isotropic_stiffness(K: float, G: float, ndim: int = 3) -> Array:
    """Isotropic Mandel stiffness from bulk ``K`` and shear ``G`` moduli.

    3D: ``3K J + 2G K`` (6x6).  2D: plane strain, rows/columns ``[0, 1, 5]`` of the 3D
    matrix: ``C11 = lambda + 2 mu``, ``C12 = lambda``, ``C33 = 2 mu``.

    Examples
    --------
    >>> isotropic_stiffness(2.0 / 3.0, 0.4, ndim=2).round(12)
    array([[1.2, 0.4, 0. ],
           [0.4, 1.2, 0. ],
           [0. , 0. , 0.8]])
    """
    J, Kp = isotropic_projectors(3)
    C = 3.0 * K * J + 2.0 * G * Kp
    if ndim == 3:
        return C
    if ndim == 2:
        return C[np.ix_([0, 1, 5], [0, 1, 5])]
    raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")


def isotropic_moduli(C: ArrayLike) -> tuple[float, float]:
    """Moduli of the isotropic projection of a Mandel stiffness.

    ``(K, G)`` for 6x6 with ``K = J::C / 3`` and ``G = K::C / 10``; ``(kappa, G)`` for a
    3x3 plane-strain matrix with the in-plane ``kappa = J::C / 2``, ``G = K::C / 4``.

    >>> [round(x, 12) for x in isotropic_moduli(isotropic_stiffness(2.0, 1.0))]
    [2.0, 1.0]
    """
    A = np.asarray(C, dtype=float)
    m = A.shape[-1]
    d = _DIM.get(m)
    if A.shape != (m, m) or d is None:
        raise ValueError(f"C must be a 3x3 or 6x6 Mandel matrix, got shape {A.shape}")
    J, Kp = isotropic_projectors(d)
    a, b = float(np.sum(J * A)), float(np.sum(Kp * A))
    return a / d, b / (2.0 * (m - 1))


def isotropic_part(C: ArrayLike) -> Array:
    """Closest isotropic (3D) or in-plane isotropic (2D) Mandel stiffness (Frobenius).

    >>> C = isotropic_stiffness(2.0, 1.0)
    >>> bool(np.allclose(isotropic_part(C), C))
    True
    """
    A = np.asarray(C, dtype=float)
    d = _DIM.get(A.shape[-1], 0)
    bulk, shear = isotropic_moduli(A)
    J, Kp = isotropic_projectors(d)
    return d * bulk * J + 2.0 * shear * Kp
