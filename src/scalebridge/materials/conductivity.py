"""`Conductivity`: linear (Fourier/Darcy/Ohm) conduction, flux ``q = k g``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalebridge.materials.base import Array, FrozenLaw, format_value, real_scalar, spd_matrix

_ALLOWED = (
    "a finite scalar >= 0 (isotropic; 0 is a pore) or a symmetric positive-definite 2x2 or "
    "3x3 matrix (all zero is a pore)"
)


class Conductivity(FrozenLaw):
    """Linear conductivity law ``flux = k @ gradient`` (sign convention: no minus sign).

    Parameters
    ----------
    k : float or array_like
        Keyword-only.  A scalar ``k >= 0`` (isotropic) or a symmetric positive-definite
        ``(2, 2)``/``(3, 3)`` matrix.  ``k = 0`` (or the zero matrix) is a pore
        (`is_void`).  Singular non-zero, indefinite, non-symmetric (relative asymmetry
        above ``1e-12``) or non-finite values raise ``ValueError``.

    Examples
    --------
    >>> law = Conductivity(k=2.0)
    >>> flux, tangent, state = law.evaluate(np.array([[1.0, 0.5]]))
    >>> flux
    array([[2., 1.]])
    >>> law.tensor(2)
    array([[2., 0.],
           [0., 2.]])
    """

    __slots__ = ("_k",)
    physics = "conduction"
    has_state = False

    def __init__(self, *, k: float | ArrayLike) -> None:
        scalar = real_scalar("Conductivity", "k", k)
        if scalar is not None:
            if scalar < 0.0:
                raise ValueError(f"Conductivity: k must be {_ALLOWED}, got {scalar}")
            self._set("_k", scalar)
        else:
            self._set("_k", spd_matrix("Conductivity", "k", k, (2, 3), _ALLOWED))

    @property
    def k(self) -> float | Array:
        """The scalar or (read-only) matrix given."""
        return self._k

    @property
    def is_void(self) -> bool:
        """True for a pore (zero conductivity)."""
        return not np.any(self._k)

    @property
    def is_isotropic(self) -> bool:
        """True for a scalar or a multiple of the identity (to ``1e-12`` relative)."""
        if isinstance(self._k, float):
            return True
        k0 = np.trace(self._k) / self._k.shape[0]
        scale = max(np.abs(self._k).max(), 1e-300)
        return bool(np.abs(self._k - k0 * np.eye(self._k.shape[0])).max() <= 1e-12 * scale)

    def tensor(self, ndim: int) -> Array:
        """``(ndim, ndim)`` conductivity matrix (a scalar expands to ``k I``)."""
        if ndim not in (2, 3):
            raise ValueError(f"Conductivity.tensor: ndim must be 2 or 3, got {ndim!r}")
        if isinstance(self._k, float):
            return self._k * np.eye(ndim)
        if self._k.shape[0] != ndim:
            raise ValueError(
                f"Conductivity.tensor: this law has a {self._k.shape[0]}x{self._k.shape[0]} "
                f"matrix k and cannot serve a {ndim}D problem; give a scalar or a "
                f"{ndim}x{ndim} matrix"
            )
        return self._k.copy()

    def evaluate(
        self, gradient: ArrayLike, state: object | None = None
    ) -> tuple[Array, Array, None]:
        """Flux ``(..., d)`` and tangent ``(d, d)`` for a gradient ``(..., d)``; state None."""
        g = np.asarray(gradient, dtype=float)
        if g.ndim == 0 or g.shape[-1] not in (2, 3):
            raise ValueError(
                f"Conductivity.evaluate: gradient must have shape (..., 2) or (..., 3), "
                f"got {g.shape}"
            )
        k = self.tensor(g.shape[-1])
        return g @ k, k, None

    def __repr__(self) -> str:
        return f"Conductivity(k={format_value(self._k)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Conductivity):
            return NotImplemented
        return bool(np.shape(self._k) == np.shape(other._k) and np.all(self._k == other._k))

    def __hash__(self) -> int:
        return hash(("Conductivity", np.asarray(self._k).tobytes()))
