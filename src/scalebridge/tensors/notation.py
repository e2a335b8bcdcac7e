"""Mandel, Voigt and full-tensor notation (see `scalebridge.tensors` for the conventions)."""

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
