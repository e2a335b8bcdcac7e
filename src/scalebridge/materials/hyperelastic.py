"""`NeoHookean`: compressible Neo-Hookean hyperelasticity at finite strain.

Stored energy, first Piola-Kirchhoff stress and its tangent (``H = F^-T``, ``J = det F``)::

    W      = mu/2 (I1 - 3) - mu ln J + lam/2 (ln J)^2,       I1 = tr(F^T F)
    P      = dW/dF = mu F + (lam ln J - mu) H
    A_iJkL = dP_iJ/dF_kL = mu d_ik d_JL + lam H_iJ H_kL + (mu - lam ln J) H_iL H_kJ

``A`` has the major symmetry ``A_iJkL = A_kLiJ``; at ``F = I`` it is the isotropic
stiffness ``lam d_iJ d_kL + mu (d_ik d_JL + d_iL d_Jk)``.  Plane strain is the 3D law with
``F = [[F11, F12, 0], [F21, F22, 0], [0, 0, 1]]`` (``I1`` counts ``F33^2 = 1``); its
out-of-plane stress is ``P33 = lam ln J``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalebridge import tensors
from scalebridge.materials.base import Array, FrozenLaw, real_scalar
from scalebridge.materials.elasticity import Elasticity

_DIM = {4: 2, 9: 3}
_MAX_NAMED = 5


class NeoHookean(FrozenLaw):
    """Compressible Neo-Hookean law, gradient ``F`` and flux ``P`` flattened row-major.

    Parameters
    ----------
    mu, lam : float
        Lamé constants of the small-strain limit: ``mu > 0`` and ``lam > -2 mu / 3``
        (positive bulk modulus).  For ``lam < 0`` the energy is not bounded below at large
        volume changes; physical materials have ``lam >= 0``.
    E, nu : float
        Young's modulus ``E > 0`` and Poisson's ratio ``-1 < nu < 0.5`` of the small-strain
        limit.

    ``evaluate(F)``: ``F`` is ``(..., 4)`` (2D plane strain, ``[F11, F12, F21, F22]``) or
    ``(..., 9)`` (3D, ``F[i, J]`` at ``3 i + J``); returns ``P`` in the same layout and the
    tangent ``A[..., d i + J, d k + L] = dP_iJ / dF_kL`` ``(..., m, m)``.  ``det F <= 0``
    raises ``ValueError`` naming the points.

    Examples
    --------
    >>> law = NeoHookean(mu=1.0, lam=2.0)
    >>> P, A, state = law.evaluate(np.eye(3).ravel())
    >>> P.round(15) + 0.0
    array([0., 0., 0., 0., 0., 0., 0., 0., 0.])
    >>> F = np.array([1.1, 0.0, 0.0, 1.0])   # plane strain, uniaxial stretch
    >>> law.evaluate(F)[0].round(6)
    array([0.3642 , 0.     , 0.     , 0.19062])
    """

    __slots__ = ("_lam", "_mu", "_repr")
    physics = "finite-strain"
    has_state = False

    def __init__(
        self,
        *,
        mu: float | None = None,
        lam: float | None = None,
        E: float | None = None,
        nu: float | None = None,
    ) -> None:
        given = {n for n, v in (("mu", mu), ("lam", lam), ("E", E), ("nu", nu)) if v is not None}
        if given == {"mu", "lam"}:
            mu_, lam_ = self._scalar("mu", mu), self._scalar("lam", lam)
            if not mu_ > 0.0:
                raise ValueError(f"NeoHookean: mu must be > 0, got {mu_}")
            if not lam_ + 2.0 * mu_ / 3.0 > 0.0:
                raise ValueError(
                    f"NeoHookean: lam must be > -2 mu / 3 (positive bulk modulus), got "
                    f"lam={lam_}, mu={mu_}"
                )
            self._set("_repr", f"NeoHookean(mu={mu_!r}, lam={lam_!r})")
        elif given == {"E", "nu"}:
            E_, nu_ = self._scalar("E", E), self._scalar("nu", nu)
            if not E_ > 0.0:
                raise ValueError(f"NeoHookean: E must be > 0, got {E_}")
            if not -1.0 < nu_ < 0.5:
                raise ValueError(f"NeoHookean: nu must satisfy -1 < nu < 0.5, got {nu_}")
            lam_, mu_ = tensors.lame_from(E=E_, nu=nu_)
            self._set("_repr", f"NeoHookean(E={E_!r}, nu={nu_!r})")
        else:
            names = ", ".join(sorted(given)) or "nothing"
            raise ValueError(
                f"NeoHookean: give exactly one parameter set, (mu, lam) or (E, nu); got {names}"
            )
        self._set("_mu", float(mu_))
        self._set("_lam", float(lam_))

    @staticmethod
    def _scalar(name: str, value: object) -> float:
        x = real_scalar("NeoHookean", name, value)
        if x is None:
            raise ValueError(f"NeoHookean: {name} must be a real scalar, got {value!r}")
        return x

    # ------------------------------------------------------------------ properties
    @property
    def mu(self) -> float:
        """Shear modulus (Lamé ``mu``) of the small-strain limit."""
        return self._mu

    @property
    def lam(self) -> float:
        """Lamé ``lambda`` of the small-strain limit."""
        return self._lam

    @property
    def elastic(self) -> Elasticity:
        """The small-strain limit: `Elasticity` with bulk ``lam + 2 mu / 3`` and shear ``mu``."""
        return Elasticity(K=self._lam + 2.0 * self._mu / 3.0, G=self._mu)

    # ------------------------------------------------------------------ law
    def _kinematics(self, F_flat: ArrayLike, who: str) -> tuple[Array, Array, Array]:
        """``F (..., d, d)``, ``ln J (...,)`` and ``H = F^-T (..., d, d)``; checks ``J > 0``."""
        Ff = np.asarray(F_flat, dtype=float)
        m = Ff.shape[-1] if Ff.ndim else 0
        if m not in _DIM:
            raise ValueError(
                f"NeoHookean.{who}: F must be flattened row-major, (..., 4) (2D plane strain) "
                f"or (..., 9) (3D), got shape {Ff.shape}"
            )
        d = _DIM[m]
        F = Ff.reshape((*Ff.shape[:-1], d, d))
        if d == 2:
            a, b, c, e = F[..., 0, 0], F[..., 0, 1], F[..., 1, 0], F[..., 1, 1]
            J = a * e - b * c
            cof = np.stack([e, -c, -b, a], axis=-1).reshape(F.shape)
        else:
            cof = np.empty(F.shape)
            for i in range(3):  # cof_iJ = (F_j x F_k)_J, rows (i, j, k) cyclic
                j, k = (i + 1) % 3, (i + 2) % 3
                for a in range(3):
                    b, c = (a + 1) % 3, (a + 2) % 3
                    cof[..., i, a] = F[..., j, b] * F[..., k, c] - F[..., j, c] * F[..., k, b]
            J = np.einsum("...i,...i->...", F[..., 0, :], cof[..., 0, :])
        bad = ~(J > 0.0)
        if np.any(bad):
            where = np.argwhere(bad)
            named = ", ".join(
                f"{tuple(int(i) for i in w)}: {J[tuple(w)]:.6g}" for w in where[:_MAX_NAMED]
            )
            more = f" and {len(where) - _MAX_NAMED} more" if len(where) > _MAX_NAMED else ""
            raise ValueError(
                f"NeoHookean.{who}: det F must be > 0 (no inversion or collapse); det F <= 0 "
                f"(or not finite) at {len(where)} of {J.size} point(s), index: det F = "
                f"{named}{more}"
            )
        H = cof / J[..., None, None]
        return F, np.log(J), H

    def energy(self, F_flat: ArrayLike) -> Array:
        """Stored energy ``W`` ``(...,)`` per unit reference volume."""
        F, lnJ, _ = self._kinematics(F_flat, "energy")
        I1 = np.einsum("...ij,...ij->...", F, F) + (1.0 if F.shape[-1] == 2 else 0.0)
        mu, lam = self._mu, self._lam
        return 0.5 * mu * (I1 - 3.0) - mu * lnJ + 0.5 * lam * lnJ**2

    def evaluate(
        self, gradient: ArrayLike, state: object | None = None
    ) -> tuple[Array, Array, None]:
        """``P (..., m)`` and ``A = dP/dF (..., m, m)``, flattened row-major; state None."""
        F, lnJ, H = self._kinematics(gradient, "evaluate")
        d = F.shape[-1]
        m = d * d
        pts = F.shape[:-2]
        mu, lam = self._mu, self._lam
        P = mu * F + (lam * lnJ - mu)[..., None, None] * H
        A = np.empty((*pts, m, m))
        cH = (mu - lam * lnJ)[..., None, None] * H
        Ht = np.swapaxes(H, -1, -2)
        # (mu - lam ln J) H_iL H_kJ written straight into A viewed as (i, J, k, L)
        np.multiply(
            cH[..., :, None, None, :], Ht[..., None, :, :, None], out=A.reshape((*pts, d, d, d, d))
        )
        Hf = H.reshape((*pts, m))
        lHf = lam * Hf
        for a in range(m):  # + lam H_a H_b, one row at a time (small temporaries)
            A[..., a, :] += lHf[..., a, None] * Hf
        diag = np.einsum("...ii->...i", A)
        diag += mu
        return P.reshape((*pts, m)), A, None

    def __repr__(self) -> str:
        return str(self._repr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NeoHookean):
            return NotImplemented
        return (self._mu, self._lam) == (other._mu, other._lam)

    def __hash__(self) -> int:
        return hash(("NeoHookean", self._mu, self._lam))
