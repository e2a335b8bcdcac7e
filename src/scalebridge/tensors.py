"""Tensor notation and isotropic algebra: Mandel/Voigt/full conversions, moduli, rotations.

Conventions (fixed project-wide)
--------------------------------
Mandel notation is orthonormal.  3D index order ``[11, 22, 33, 23, 13, 12]``; 2D (plane
strain) ``[11, 22, 12]``, i.e. rows/columns ``[0, 1, 5]`` of the 3D matrix.  Vectors (strain
and stress alike) carry ``sqrt(2)`` on shear entries; matrices carry ``2`` on shear-shear and
``sqrt(2)`` on normal-shear blocks, so ``eps_M . sig_M == eps : sig`` and the Mandel matrix of
a symmetric fourth-order tensor is a symmetric matrix whose eigenvalues are the tensor's.

Voigt notation appears only at I/O edges and is named so: same index order, strain Voigt
with engineering shear (``2 eps12``), stress Voigt plain.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

_PAIRS = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))}
_NCOMP = {2: 3, 3: 6}
_DIM = {3: 2, 6: 3}
_S2 = np.sqrt(2.0)


def _index(d: int) -> NDArray[np.intp]:
    """``(d, d)`` map from a tensor index pair to its Mandel component."""
    idx = np.empty((d, d), dtype=np.intp)
    for a, (i, j) in enumerate(_PAIRS[d]):
        idx[i, j] = idx[j, i] = a
    return idx


def _weights2(m: int) -> Array:
    """Mandel matrix weights ``w_a w_b`` with shear-shear entries exactly 2."""
    w = _weights(m)
    W = np.outer(w, w)
    W[_DIM[m] :, _DIM[m] :] = 2.0
    return W


def _weights(m: int) -> Array:
    """Mandel weights ``[1, .., sqrt 2, ..]`` for ``m`` components (3 or 6)."""
    if m not in _DIM:
        raise ValueError(f"Mandel size must be 3 (2D) or 6 (3D), got {m}")
    d = _DIM[m]
    return np.array([1.0] * d + [_S2] * (m - d))


def mandel_to_full(v: ArrayLike, *, order: Literal[2, 4] = 2) -> Array:
    """Full symmetric tensor from Mandel components.

    Parameters
    ----------
    v : array_like
        ``order=2``: vectors ``(..., 3)`` or ``(..., 6)``, vectorised over leading axes.
        ``order=4``: Mandel matrices ``(..., 3, 3)`` or ``(..., 6, 6)``.
    order : {2, 4}
        Tensor order of the result: ``(..., d, d)`` or ``(..., d, d, d, d)``.

    Examples
    --------
    >>> mandel_to_full([1.0, 2.0, np.sqrt(2.0)])
    array([[1., 1.],
           [1., 2.]])
    """
    a = np.asarray(v, dtype=float)
    m = a.shape[-1]
    w = _weights(m)
    idx = _index(_DIM[m])
    W = w[idx]
    if order == 2:
        return a[..., idx] / W
    if order == 4:
        if a.ndim < 2 or a.shape[-2] != m:
            raise ValueError(f"order=4 needs square Mandel matrices, got shape {a.shape}")
        i4, j4 = idx[:, :, None, None], idx[None, None, :, :]
        return a[..., i4, j4] / _weights2(m)[i4, j4]
    raise ValueError(f"order must be 2 or 4, got {order!r}")


def full_to_mandel(t: ArrayLike, *, order: Literal[2, 4] = 2) -> Array:
    """Mandel components of a symmetric tensor (symmetrised first).

    Parameters
    ----------
    t : array_like
        ``order=2``: ``(..., d, d)``; ``order=4``: ``(..., d, d, d, d)``, ``d`` in {2, 3}.
    order : {2, 4}

    Examples
    --------
    >>> full_to_mandel([[1.0, 1.0], [1.0, 2.0]])
    array([1.        , 2.        , 1.41421356])
    """
    a = np.asarray(t, dtype=float)
    d = a.shape[-1]
    if d not in _PAIRS:
        raise ValueError(f"tensor dimension must be 2 or 3, got {d}")
    rows, cols = (np.array(p) for p in zip(*_PAIRS[d], strict=True))
    w = _weights(_NCOMP[d])
    if order == 2:
        return w * 0.5 * (a[..., rows, cols] + a[..., cols, rows])
    if order == 4:
        if a.ndim < 4 or a.shape[-4:] != (d, d, d, d):
            raise ValueError(f"order=4 needs (..., d, d, d, d), got shape {a.shape}")
        a = 0.5 * (a + a.swapaxes(-4, -3))
        s = 0.5 * (a + a.swapaxes(-2, -1))
        R, C = rows[:, None], cols[:, None]
        return s[..., R, C, rows[None, :], cols[None, :]] * _weights2(w.size)
    raise ValueError(f"order must be 2 or 4, got {order!r}")


def mandel_to_voigt_strain(e: ArrayLike) -> Array:
    """Voigt strain (engineering shear ``2 eps12``) from Mandel, ``(..., m)``.

    >>> mandel_to_voigt_strain([0.0, 0.0, np.sqrt(2.0)])
    array([0., 0., 2.])
    """
    a = np.asarray(e, dtype=float)
    return a * _weights(a.shape[-1])


def voigt_to_mandel_strain(e: ArrayLike) -> Array:
    """Mandel strain from Voigt strain (engineering shear).

    >>> voigt_to_mandel_strain([0.0, 0.0, 2.0])
    array([0.        , 0.        , 1.41421356])
    """
    a = np.asarray(e, dtype=float)
    return a / _weights(a.shape[-1])


def mandel_to_voigt_stress(s: ArrayLike) -> Array:
    """Voigt stress (plain shear ``sig12``) from Mandel, ``(..., m)``.

    >>> mandel_to_voigt_stress([0.0, 0.0, np.sqrt(2.0)])
    array([0., 0., 1.])
    """
    a = np.asarray(s, dtype=float)
    return a / _weights(a.shape[-1])


def voigt_to_mandel_stress(s: ArrayLike) -> Array:
    """Mandel stress from Voigt stress.

    >>> voigt_to_mandel_stress([0.0, 0.0, 1.0])
    array([0.        , 0.        , 1.41421356])
    """
    a = np.asarray(s, dtype=float)
    return a * _weights(a.shape[-1])


def mandel_to_voigt_stiffness(C: ArrayLike) -> Array:
    """Voigt stiffness (``sig_voigt = C_V @ eps_voigt``) from Mandel, ``(..., m, m)``.

    >>> mandel_to_voigt_stiffness(np.diag([1.0, 1.0, 2.0]))
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    a = np.asarray(C, dtype=float)
    return a / _weights2(a.shape[-1])


def voigt_to_mandel_stiffness(C: ArrayLike) -> Array:
    """Mandel stiffness from Voigt stiffness.

    >>> voigt_to_mandel_stiffness(np.eye(3))
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 2.]])
    """
    a = np.asarray(C, dtype=float)
    return a * _weights2(a.shape[-1])


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


def _check_rotation(R: Array) -> None:
    d = R.shape[-1]
    if d not in _PAIRS or R.shape[-2] != d:
        raise ValueError(f"R must be (..., d, d) with d in (2, 3), got shape {R.shape}")
    err = np.abs(R @ R.swapaxes(-1, -2) - np.eye(d)).max()
    if not err <= 1e-8:
        raise ValueError(f"R must be orthogonal (R R^T = I), deviation {err:.2e}")


def mandel_rotation(R: ArrayLike) -> Array:
    """Orthogonal Mandel matrix ``Q`` with ``mandel(R e R^T) = Q @ mandel(e)``.

    >>> Q = mandel_rotation(np.eye(3))
    >>> bool(np.allclose(Q, np.eye(6)))
    True
    """
    Rm = np.asarray(R, dtype=float)
    _check_rotation(Rm)
    d = Rm.shape[-1]
    basis = mandel_to_full(np.eye(_NCOMP[d]))  # (m, d, d)
    rotated = np.einsum("...ik,akl,...jl->...aij", Rm, basis, Rm)
    return full_to_mandel(rotated).swapaxes(-1, -2)


def rotate_stiffness(C: ArrayLike, R: ArrayLike) -> Array:
    """Mandel stiffness in the rotated frame, ``Q C Q^T``; ``R`` may be stacked ``(..., d, d)``.

    >>> C = isotropic_stiffness(2.0, 1.0)
    >>> c, s = np.cos(0.3), np.sin(0.3)
    >>> R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    >>> bool(np.allclose(rotate_stiffness(C, R), C))
    True
    """
    Q = mandel_rotation(R)
    A = np.asarray(C, dtype=float)
    if A.shape[-1] != Q.shape[-1]:
        raise ValueError(f"C {A.shape} and R do not match in dimension")
    return Q @ A @ Q.swapaxes(-1, -2)


def rotate_conductivity(k: ArrayLike, R: ArrayLike) -> Array:
    """Conductivity in the rotated frame, ``R k R^T``.

    >>> rotate_conductivity(np.diag([1.0, 2.0]), [[0.0, -1.0], [1.0, 0.0]])
    array([[2., 0.],
           [0., 1.]])
    """
    Rm = np.asarray(R, dtype=float)
    _check_rotation(Rm)
    return Rm @ np.asarray(k, dtype=float) @ Rm.swapaxes(-1, -2)
