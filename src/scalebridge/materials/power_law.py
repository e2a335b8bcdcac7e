"""`PowerLawConductor`: nonlinear isotropic conduction ``q = k (|g| / g0)^(n-1) g``.

The scalar analogue of a power-law (Norton, Ostwald-de Waele, p-Laplacian) material: ``n > 1``
stiffens and ``n < 1`` softens with the gradient magnitude.  The exact tangent is::

    dq/dg = k a^(n-1) [I + (n - 1) g (x) g / (|g|^2 + (eps g0)^2)],
    a     = sqrt((|g| / g0)^2 + eps^2)

with the regularisation ``eps`` (dimensionless, relative to ``g0``) entering the flux
``q = k a^(n-1) g`` the same way, so the tangent is the exact derivative of the flux for
every ``eps``.  Its eigenvalues are ``k a^(n-1)`` (across ``g``) and between ``k a^(n-1)``
and ``k a^(n-1) n`` (along ``g``): symmetric positive definite wherever ``a > 0``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalebridge.materials.base import Array, FrozenLaw, real_scalar
from scalebridge.materials.conductivity import Conductivity

DEFAULT_EPS = 1e-6
"""Regularisation used for ``n < 1`` when ``eps`` is not given: the tangent at ``g = 0`` is
then ``k eps^(n-1) I`` (finite) instead of unbounded."""


class PowerLawConductor(FrozenLaw):
    """Power-law conductor ``q = k ((|g|/g0)^2 + eps^2)^((n-1)/2) g``, any dimension ``d``.

    Parameters
    ----------
    k : float
        Conductivity ``k > 0`` at ``|g| = g0`` (units of flux per gradient).
    n : float
        Exponent ``n > 0``; ``n = 1`` is the linear ``Conductivity(k=k)`` (the same flux and
        the same constant ``(d, d)`` tangent).
    g0 : float
        Reference gradient magnitude ``g0 > 0``.
    eps : float or None
        Regularisation ``eps >= 0`` (relative to ``g0``).  None: ``0`` for ``n >= 1``, where
        the law is then exactly homogeneous (``q(t g) = t^n q(g)``) and the tangent at
        ``g = 0`` is ``0`` for ``n > 1`` (finite but singular; give ``eps > 0`` to keep it
        positive definite there); `DEFAULT_EPS` for ``n < 1``, where ``eps = 0`` is rejected
        because the tangent ``k (|g|/g0)^(n-1)`` is unbounded at ``g = 0``.

    Examples
    --------
    >>> law = PowerLawConductor(k=2.0, n=3.0)
    >>> q, tangent, state = law.evaluate(np.array([[0.5, 0.0], [0.0, 2.0]]))
    >>> q
    array([[ 0.25,  0.  ],
           [ 0.  , 16.  ]])
    >>> tangent[1]
    array([[ 8.,  0.],
           [ 0., 24.]])
    """

    __slots__ = ("_eps", "_g0", "_k", "_n")
    physics = "conduction"
    has_state = False

    def __init__(self, *, k: float, n: float, g0: float = 1.0, eps: float | None = None) -> None:
        k_, n_, g0_ = self._scalar("k", k), self._scalar("n", n), self._scalar("g0", g0)
        if not k_ > 0.0:
            raise ValueError(f"PowerLawConductor: k must be > 0, got {k_}")
        if not n_ > 0.0:
            raise ValueError(f"PowerLawConductor: n must be > 0, got {n_}")
        if not g0_ > 0.0:
            raise ValueError(f"PowerLawConductor: g0 must be > 0, got {g0_}")
        if eps is None:
            eps_ = DEFAULT_EPS if n_ < 1.0 else 0.0
        else:
            eps_ = self._scalar("eps", eps)
            if eps_ < 0.0:
                raise ValueError(f"PowerLawConductor: eps must be >= 0, got {eps_}")
            if n_ < 1.0 and eps_ == 0.0:
                raise ValueError(
                    f"PowerLawConductor: n = {n_} < 1 needs eps > 0 (the tangent "
                    f"k (|g|/g0)^(n-1) is unbounded at g = 0); leave eps=None for "
                    f"{DEFAULT_EPS:g} or give a small positive value"
                )
        self._set("_k", k_)
        self._set("_n", n_)
        self._set("_g0", g0_)
        self._set("_eps", eps_)

    @staticmethod
    def _scalar(name: str, value: object) -> float:
        x = real_scalar("PowerLawConductor", name, value)
        if x is None:
            raise ValueError(f"PowerLawConductor: {name} must be a real scalar, got {value!r}")
        return x

    @property
    def k(self) -> float:
        """Conductivity at ``|g| = g0``."""
        return self._k

    @property
    def n(self) -> float:
        """Exponent."""
        return self._n

    @property
    def g0(self) -> float:
        """Reference gradient magnitude."""
        return self._g0

    @property
    def eps(self) -> float:
        """Regularisation (relative to ``g0``) in use."""
        return self._eps

    @property
    def linear(self) -> Conductivity:
        """``Conductivity(k=k)``: the law for ``n = 1``, the secant law at ``|g| = g0``."""
        return Conductivity(k=self._k)

    def evaluate(
        self, gradient: ArrayLike, state: object | None = None
    ) -> tuple[Array, Array, None]:
        """Flux ``(..., d)`` and tangent ``(..., d, d)`` (``(d, d)`` for ``n = 1``); state None."""
        g = np.asarray(gradient, dtype=float)
        if g.ndim == 0 or g.shape[-1] < 1:
            raise ValueError(
                f"PowerLawConductor.evaluate: gradient must have shape (..., d), d >= 1, "
                f"got {g.shape}"
            )
        d = g.shape[-1]
        k, n = self._k, self._n
        if n == 1.0:
            return k * g, k * np.eye(d), None
        r2 = np.einsum("...i,...i->...", g, g) / self._g0**2 + self._eps**2
        c = k * r2 ** (0.5 * (n - 1.0))  # secant conductivity k a^(n-1); 0 at r2 = 0, n > 1
        flux = c[..., None] * g
        # (n - 1) / (g0^2 r2), zero where r2 = 0 (only g = 0 with eps = 0, n > 1: c = 0 there)
        w = np.divide(n - 1.0, r2 * self._g0**2, out=np.zeros_like(r2), where=r2 > 0.0)
        tangent = (c * w)[..., None, None] * (g[..., :, None] * g[..., None, :])
        diag = np.einsum("...ii->...i", tangent)
        diag += c[..., None]
        return flux, tangent, None

    def __repr__(self) -> str:
        return (
            f"PowerLawConductor(k={self._k!r}, n={self._n!r}, g0={self._g0!r}, eps={self._eps!r})"
        )

    def _key(self) -> tuple[float, ...]:
        return (self._k, self._n, self._g0, self._eps)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PowerLawConductor):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(("PowerLawConductor", *self._key()))
