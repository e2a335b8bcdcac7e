"""Pair potentials ``phi(r)`` with analytic first and second derivatives.

Every potential is vectorised over ``r`` (any array of distances) and vanishes beyond its
``cutoff``.  Two truncation conventions are offered for the Lennard-Jones and Morse
potentials (``v`` the untruncated function, ``r_c`` the cutoff):

* ``smooth=False`` -- energy shifted: ``phi = v(r) - v(r_c)``; ``phi(r_c) = 0`` but the
  force jumps at the cutoff (this is ASE's ``LennardJones(smooth=False)`` convention);
* ``smooth=True`` -- energy and force shifted:
  ``phi = v(r) - v(r_c) - (r - r_c) v'(r_c)``; ``phi`` and ``phi'`` vanish at ``r_c``,
  ``phi''`` jumps there.

The sums of a potential over the bonds of a finite or periodic atom set (energy, forces,
virial stress, Hessian) live in :mod:`scalebridge.atomistic.neighbours`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = ["Harmonic", "LennardJones", "Morse", "PairPotential"]


@runtime_checkable
class PairPotential(Protocol):
    """A radial pair potential, vectorised over an array of distances ``r``.

    ``phi(r) = 0`` for ``r >= cutoff``; ``dphi`` and ``d2phi`` are its first and second
    derivatives with respect to ``r``.
    """

    cutoff: float

    def phi(self, r: ArrayLike) -> Array:
        """Pair energy at distances ``r``."""
        ...

    def dphi(self, r: ArrayLike) -> Array:
        """``d phi / dr`` at distances ``r``."""
        ...

    def d2phi(self, r: ArrayLike) -> Array:
        """``d^2 phi / dr^2`` at distances ``r``."""
        ...


def _positive(owner: str, name: str, value: object, *, allow_inf: bool = False) -> float:
    """``float(value)`` if it is a positive real number, else a ValueError naming it."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be a positive number, got {value!r}") from None
    if isinstance(value, bool) or not (x > 0.0) or (np.isinf(x) and not allow_inf):
        allowed = "a positive number (inf allowed)" if allow_inf else "a positive finite number"
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}")
    return x


class _Truncated:
    """Shared truncation of a raw potential ``v`` at ``cutoff`` (see the module docstring).

    Subclasses implement ``_raw(r) -> (v, v', v'')`` for finite ``r > 0``.
    """

    cutoff: float
    smooth: bool

    def _raw(self, r: Array) -> tuple[Array, Array, Array]:
        raise NotImplementedError

    def _shift(self) -> tuple[float, float]:
        """``(v(r_c), v'(r_c))`` used by the shifts (zero for an infinite cutoff)."""
        if np.isinf(self.cutoff):
            return 0.0, 0.0
        v, dv, _ = self._raw(np.array([self.cutoff]))
        return float(v[0]), float(dv[0]) if self.smooth else 0.0

    def _eval(self, r: ArrayLike, order: int) -> Array:
        r = np.asarray(r, dtype=float)
        inside = r < self.cutoff
        # evaluate the raw function at a safe distance outside the cutoff (masked anyway)
        rr = np.where(inside, r, 1.0 if np.isinf(self.cutoff) else self.cutoff)
        raw = self._raw(rr)[order]
        v_c, dv_c = self._shift()
        if order == 0:
            val = raw - v_c - (rr - self.cutoff) * dv_c if dv_c else raw - v_c
        elif order == 1:
            val = raw - dv_c
        else:
            val = raw
        return np.where(inside, val, 0.0)

    def phi(self, r: ArrayLike) -> Array:
        """Pair energy ``phi(r)`` (zero for ``r >= cutoff``)."""
        return self._eval(r, 0)

    def dphi(self, r: ArrayLike) -> Array:
        """First derivative ``phi'(r)`` (zero for ``r >= cutoff``)."""
        return self._eval(r, 1)

    def d2phi(self, r: ArrayLike) -> Array:
        """Second derivative ``phi''(r)`` (zero for ``r >= cutoff``)."""
        return self._eval(r, 2)


class Harmonic(_Truncated):
    """Harmonic spring ``phi = k/2 (r - r0)^2`` for ``r < cutoff``, zero beyond.

    The energy is *not* shifted: it jumps by ``k/2 (cutoff - r0)^2`` at the cutoff, so a
    spring network is defined by which bonds start inside the cutoff; deformations must
    not carry a bond across it.  ``cutoff=inf`` is allowed (springs never break).

    Parameters
    ----------
    k : float
        Spring constant (energy / length^2), positive.
    r0 : float
        Rest length, positive.
    cutoff : float
        Distance beyond which the spring is absent; must exceed ``r0``.

    Examples
    --------
    >>> Harmonic(k=2.0, r0=1.0).phi([1.0, 1.25, 2.0]).tolist()
    [0.0, 0.0625, 0.0]
    """

    def __init__(self, *, k: float = 1.0, r0: float = 1.0, cutoff: float = 1.5) -> None:
        self.k = _positive("Harmonic", "k", k)
        self.r0 = _positive("Harmonic", "r0", r0)
        self.cutoff = _positive("Harmonic", "cutoff", cutoff, allow_inf=True)
        if self.cutoff <= self.r0:
            raise ValueError(
                f"Harmonic: cutoff must exceed r0 = {self.r0}, got cutoff = {self.cutoff}"
            )
        self.smooth = False

    def _raw(self, r: Array) -> tuple[Array, Array, Array]:
        d = r - self.r0
        return 0.5 * self.k * d**2, self.k * d, np.full_like(r, self.k)

    def _shift(self) -> tuple[float, float]:
        return 0.0, 0.0

    def __repr__(self) -> str:
        return f"Harmonic(k={self.k!r}, r0={self.r0!r}, cutoff={self.cutoff!r})"


class LennardJones(_Truncated):
    """Lennard-Jones ``v = 4 epsilon ((sigma/r)^12 - (sigma/r)^6)``, truncated at ``cutoff``.

    Parameters
    ----------
    epsilon : float
        Well depth, positive.
    sigma : float
        Length scale (``v(sigma) = 0``; the minimum is at ``2^(1/6) sigma``), positive.
    cutoff : float
        Cutoff radius (absolute length, not in units of sigma), positive; ``inf`` allowed.
    smooth : bool
        True: energy and force shifted to vanish at the cutoff; False: energy only.

    Examples
    --------
    >>> lj = LennardJones(cutoff=2.5)
    >>> float(lj.phi(2.5)), abs(float(lj.dphi(2.5 - 1e-9))) < 1e-8
    (0.0, True)
    """

    def __init__(
        self,
        *,
        epsilon: float = 1.0,
        sigma: float = 1.0,
        cutoff: float = 2.5,
        smooth: bool = True,
    ) -> None:
        self.epsilon = _positive("LennardJones", "epsilon", epsilon)
        self.sigma = _positive("LennardJones", "sigma", sigma)
        self.cutoff = _positive("LennardJones", "cutoff", cutoff, allow_inf=True)
        if not isinstance(smooth, bool | np.bool_):
            raise ValueError(f"LennardJones: smooth must be True or False, got {smooth!r}")
        self.smooth = bool(smooth)

    def _raw(self, r: Array) -> tuple[Array, Array, Array]:
        s6 = (self.sigma / r) ** 6
        s12 = s6 * s6
        e4 = 4.0 * self.epsilon
        return (
            e4 * (s12 - s6),
            e4 * (-12.0 * s12 + 6.0 * s6) / r,
            e4 * (156.0 * s12 - 42.0 * s6) / r**2,
        )

    def __repr__(self) -> str:
        return (
            f"LennardJones(epsilon={self.epsilon!r}, sigma={self.sigma!r}, "
            f"cutoff={self.cutoff!r}, smooth={self.smooth!r})"
        )


class Morse(_Truncated):
    """Morse ``v = D (exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0)))``, truncated.

    Parameters
    ----------
    D : float
        Well depth (``v(r0) = -D``), positive.
    alpha : float
        Inverse width, positive.
    r0 : float
        Equilibrium distance of the untruncated pair, positive.
    cutoff : float
        Cutoff radius, positive; ``inf`` allowed.
    smooth : bool
        True: energy and force shifted to vanish at the cutoff; False: energy only.

    Examples
    --------
    >>> m = Morse(cutoff=float("inf"))
    >>> float(m.phi(1.0)), float(m.dphi(1.0))
    (-1.0, 0.0)
    """

    def __init__(
        self,
        *,
        D: float = 1.0,
        alpha: float = 1.0,
        r0: float = 1.0,
        cutoff: float = 3.0,
        smooth: bool = True,
    ) -> None:
        self.D = _positive("Morse", "D", D)
        self.alpha = _positive("Morse", "alpha", alpha)
        self.r0 = _positive("Morse", "r0", r0)
        self.cutoff = _positive("Morse", "cutoff", cutoff, allow_inf=True)
        if not isinstance(smooth, bool | np.bool_):
            raise ValueError(f"Morse: smooth must be True or False, got {smooth!r}")
        self.smooth = bool(smooth)

    def _raw(self, r: Array) -> tuple[Array, Array, Array]:
        e = np.exp(-self.alpha * (r - self.r0))
        a, D = self.alpha, self.D
        e2 = e * e
        return D * (e2 - 2.0 * e), D * a * (2.0 * e - 2.0 * e2), D * a * a * (4.0 * e2 - 2.0 * e)

    def __repr__(self) -> str:
        return (
            f"Morse(D={self.D!r}, alpha={self.alpha!r}, r0={self.r0!r}, "
            f"cutoff={self.cutoff!r}, smooth={self.smooth!r})"
        )
