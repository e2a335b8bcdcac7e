"""Rotations of stiffness and conductivity tensors in Mandel notation."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalebridge.tensors.notation import _NCOMP, _PAIRS, Array, full_to_mandel, mandel_to_full


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

    >>> from scalebridge.tensors import isotropic_stiffness
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
