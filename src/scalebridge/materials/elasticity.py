"""`Elasticity`: linear elasticity, Mandel stress ``sig = C @ eps``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalebridge import tensors
from scalebridge.materials.base import Array, FrozenLaw, format_value, real_scalar, spd_matrix

_SETS = "(E, nu), (K, G) or (C,)"
_C_ALLOWED = (
    "a symmetric positive-definite 6x6 Mandel matrix (3D; plane strain from rows/columns "
    "[0, 1, 5]) or 3x3 plane-strain Mandel matrix (2D only), all zero for a pore"
)
ISOTROPY_RTOL = 1e-10
"""A given ``C`` is reported isotropic when ``|C - iso(C)|_F <= ISOTROPY_RTOL |C|_F``."""

_PLANE = [0, 1, 5]


class Elasticity(FrozenLaw):
    """Linear elastic law in Mandel notation, 3D or 2D plane strain.

    Parameters
    ----------
    E, nu : float
        Young's modulus ``E >= 0`` (``E == 0`` is a pore) and Poisson's ratio
        ``-1 < nu < 0.5``.
    K, G : float
        Bulk and shear moduli, both ``> 0``, or both ``0`` for a pore.
    C : array_like
        Mandel stiffness: ``(6, 6)`` (3D; the 2D plane-strain matrix is rows/columns
        ``[0, 1, 5]``) or ``(3, 3)`` (a 2D-only law: ``tensor(3)`` raises).  Symmetric,
        positive definite, or all zero for a pore.

    Exactly one set, all keyword-only.  The law is immutable.

    Examples
    --------
    >>> law = Elasticity(E=1.0, nu=0.25)
    >>> law.tensor(2).round(12)
    array([[1.2, 0.4, 0. ],
           [0.4, 1.2, 0. ],
           [0. , 0. , 0.8]])
    >>> sig, tangent, state = law.evaluate(np.array([1e-3, 0.0, 0.0]))
    >>> sig.round(12)
    array([0.0012, 0.0004, 0.    ])
    """

    __slots__ = ("_C2", "_C3", "_iso", "_nu", "_repr")
    physics = "elasticity"
    has_state = False

    def __init__(
        self,
        *,
        E: float | None = None,
        nu: float | None = None,
        K: float | None = None,
        G: float | None = None,
        C: ArrayLike | None = None,
    ) -> None:
        given = {
            n for n, v in (("E", E), ("nu", nu), ("K", K), ("G", G), ("C", C)) if v is not None
        }
        if given == {"E", "nu"}:
            E_, nu_ = self._scalar("E", E), self._scalar("nu", nu)
            if E_ < 0.0:
                raise ValueError(f"Elasticity: E must be >= 0 (E == 0 is a pore), got {E_}")
            if not -1.0 < nu_ < 0.5:
                raise ValueError(f"Elasticity: nu must satisfy -1 < nu < 0.5, got {nu_}")
            self._set_isotropic(*tensors.bulk_shear_from(E=E_, nu=nu_), nu_)
            self._set("_repr", f"Elasticity(E={E_!r}, nu={nu_!r})")
        elif given == {"K", "G"}:
            K_, G_ = self._scalar("K", K), self._scalar("G", G)
            if not ((K_ > 0.0 and G_ > 0.0) or (K_ == 0.0 and G_ == 0.0)):
                raise ValueError(
                    f"Elasticity: K and G must both be > 0, or both 0 for a pore; "
                    f"got K={K_}, G={G_}"
                )
            nu_ = tensors.youngs_poisson_from(K=K_, G=G_)[1] if K_ > 0.0 else None
            self._set_isotropic(K_, G_, nu_)
            self._set("_repr", f"Elasticity(K={K_!r}, G={G_!r})")
        elif given == {"C"}:
            C_ = spd_matrix("Elasticity", "C", C, (3, 6), _C_ALLOWED)
            self._set_matrix(C_)
            self._set("_repr", f"Elasticity(C={format_value(C_)})")
        else:
            names = ", ".join(sorted(given)) or "nothing"
            raise ValueError(f"Elasticity: give exactly one parameter set, {_SETS}; got {names}")

    @staticmethod
    def _scalar(name: str, value: object) -> float:
        x = real_scalar("Elasticity", name, value)
        if x is None:
            raise ValueError(f"Elasticity: {name} must be a real scalar, got {value!r}")
        return x

    def _set_isotropic(self, K: float, G: float, nu: float | None) -> None:
        C3 = tensors.isotropic_stiffness(K, G, 3)
        self._store(C3, C3[np.ix_(_PLANE, _PLANE)], (K, G), nu)

    def _set_matrix(self, C: Array) -> None:
        if C.shape == (6, 6):
            C3, C2 = C, np.array(C[np.ix_(_PLANE, _PLANE)])
        else:
            C3, C2 = None, C
        iso: tuple[float, float] | None = None
        nu: float | None = None
        norm = np.linalg.norm(C)
        if norm == 0.0:
            iso = (0.0, 0.0)
        elif np.linalg.norm(C - tensors.isotropic_part(C)) <= ISOTROPY_RTOL * norm:
            if C3 is not None:
                iso = tensors.isotropic_moduli(C3)
            else:  # in-plane isotropic: lambda = C12, mu = C33 / 2 give the 3D moduli
                lam, mu = float(C[0, 1]), float(C[2, 2]) / 2.0
                K3 = lam + 2.0 * mu / 3.0
                iso = (K3, mu) if K3 > 0.0 else None
            if iso is not None:
                nu = tensors.youngs_poisson_from(K=iso[0], G=iso[1])[1]
        self._store(C3, C2, iso, nu)

    def _store(
        self, C3: Array | None, C2: Array, iso: tuple[float, float] | None, nu: float | None
    ) -> None:
        for A in (C3, C2):
            if A is not None:
                A.setflags(write=False)
        self._set("_C3", C3)
        self._set("_C2", C2)
        self._set("_iso", iso)
        self._set("_nu", nu)

    # ------------------------------------------------------------------ properties
    @property
    def is_void(self) -> bool:
        """True for a pore (zero stiffness)."""
        return not np.any(self._C2)

    @property
    def is_isotropic(self) -> bool:
        """True when isotropic (in-plane isotropic with a valid 3D ``K`` for a 3x3 ``C``)."""
        return self._iso is not None

    @property
    def K(self) -> float | None:
        """Bulk modulus (None when not isotropic)."""
        return None if self._iso is None else self._iso[0]

    @property
    def G(self) -> float | None:
        """Shear modulus (None when not isotropic)."""
        return None if self._iso is None else self._iso[1]

    @property
    def E(self) -> float | None:
        """Young's modulus (None when not isotropic)."""
        if self._iso is None:
            return None
        K, G = self._iso
        return 0.0 if K == G == 0.0 else tensors.youngs_poisson_from(K=K, G=G)[0]

    @property
    def nu(self) -> float | None:
        """Poisson's ratio (None when not isotropic, or a pore not given by ``(E, nu)``)."""
        return self._nu

    @property
    def lame(self) -> tuple[float, float] | None:
        """``(lambda, mu)`` (None when not isotropic)."""
        return None if self._iso is None else tensors.lame_from(K=self._iso[0], G=self._iso[1])

    # ------------------------------------------------------------------ law
    def tensor(self, ndim: int) -> Array:
        """Mandel stiffness: ``(3, 3)`` plane strain for ``ndim=2``, ``(6, 6)`` for 3."""
        if ndim == 2:
            return self._C2
        if ndim == 3:
            if self._C3 is None:
                raise ValueError(
                    "Elasticity.tensor: this law was given a 3x3 plane-strain C and has no "
                    "3D tensor; give a 6x6 Mandel C for 3D problems"
                )
            return self._C3
        raise ValueError(f"Elasticity.tensor: ndim must be 2 or 3, got {ndim!r}")

    def evaluate(
        self, gradient: ArrayLike, state: object | None = None
    ) -> tuple[Array, Array, None]:
        """Mandel stress and tangent for a Mandel strain ``(..., 3)`` (2D) or ``(..., 6)``."""
        eps = np.asarray(gradient, dtype=float)
        m = eps.shape[-1] if eps.ndim else 0
        if m not in (3, 6):
            raise ValueError(
                "Elasticity.evaluate: strain must be Mandel (..., 3) (2D plane strain) or "
                f"(..., 6) (3D), got shape {eps.shape}"
            )
        C = self.tensor(2 if m == 3 else 3)
        return eps @ C, C, None

    def __repr__(self) -> str:
        return str(self._repr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Elasticity):
            return NotImplemented
        a = self._C3 if self._C3 is not None else self._C2
        b = other._C3 if other._C3 is not None else other._C2
        return bool(a.shape == b.shape and np.array_equal(a, b))

    def __hash__(self) -> int:
        C = self._C3 if self._C3 is not None else self._C2
        return hash(("Elasticity", C.tobytes()))
