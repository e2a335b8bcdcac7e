"""`J2Plasticity`: small-strain von Mises plasticity with linear isotropic and kinematic
hardening, radial return mapping and the consistent (algorithmic) tangent.

Formulation (Simo & Hughes, *Computational Inelasticity*, 1998, box 3.2), in orthonormal
Mandel notation so that ``a : b`` is the plain dot product of Mandel vectors::

    sig = 3K vol(eps - eps_p) + 2G dev(eps - eps_p)
    f   = |dev sig - X| - sqrt(2/3) (sigma_y + H_iso p)          (yield function)
    d eps_p = dgamma n,   n = (dev sig - X) / |dev sig - X|
    d p     = sqrt(2/3) dgamma,   d X = (2/3) H_kin d eps_p

With linear hardening the return is closed form: a trial step with ``f_trial > 0`` gives
``dgamma = f_trial / (2G + (2/3)(H_iso + H_kin))`` and the algorithmic tangent::

    C_alg = 3K J + 2G (1 - beta) K_dev - 2G (1 / (1 + (H_iso + H_kin) / (3G)) - beta) n (x) n
    beta  = 2G dgamma / |xi_trial|

(``J``, ``K_dev``: spherical and deviatoric projectors).  The return is exact for any strain
increment along which the trial direction does not rotate (uniaxial, pure shear, ...).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from scalebridge import tensors
from scalebridge.materials.base import Array, FrozenLaw, real_scalar
from scalebridge.materials.elasticity import Elasticity

_PLANE = [0, 1, 5]
_SQ23 = float(np.sqrt(2.0 / 3.0))

YIELD_RTOL = 1e-12
"""A trial state is plastic when ``f_trial > YIELD_RTOL * sqrt(2/3) (sigma_y + H_iso p)``:
re-evaluating a returned state (which lies on the surface to round-off) stays elastic."""

STATE_KEYS = ("plastic_strain", "back_stress", "equivalent_plastic_strain")
"""Keys every J2 state holds; plane-strain states also hold ``"stress_33"``."""


class J2Plasticity(FrozenLaw):
    """Small-strain J2 (von Mises) plasticity, 3D Mandel ``(..., 6)`` or plane strain ``(..., 3)``.

    Parameters
    ----------
    E, nu : float
        Young's modulus ``E > 0`` and Poisson's ratio ``-1 < nu < 0.5``.
    yield_stress : float
        Initial uniaxial yield stress ``sigma_y > 0``.
    isotropic_modulus : float
        Linear isotropic hardening ``H_iso >= 0``: yield radius ``sigma_y + H_iso p``.
    kinematic_modulus : float
        Linear (Prager) kinematic hardening ``H_kin >= 0``: ``dX = (2/3) H_kin d eps_p``.

    Notes
    -----
    In uniaxial tension the hardening slope is ``d sigma / d eps_p = H_iso + H_kin``.

    The state is a dict of arrays (``initial_state(shape, m)`` gives the virgin one; ``None`` means
    virgin): ``"plastic_strain"`` ``(..., 6)`` and ``"back_stress"`` ``(..., 6)`` as 3D
    Mandel vectors, ``"equivalent_plastic_strain"`` ``(...,)``; for plane strain also
    ``"stress_33"`` ``(...,)``, the out-of-plane stress.  Plane strain is computed in 3D with
    ``eps_33 = eps_13 = eps_23 = 0``.  ``evaluate`` never mutates the state it is given: it
    returns a new one, which the caller commits once the (global) iteration has converged.

    The tangent is the consistent tangent ``(..., m, m)``; when no point yields it is the
    elastic matrix ``(m, m)`` (read-only), which broadcasts, as the protocol allows.  In
    plane strain it is rows/columns ``[0, 1, 5]`` of the 3D tangent.

    Examples
    --------
    >>> law = J2Plasticity(E=200.0, nu=0.3, yield_stress=0.2, isotropic_modulus=2.0)
    >>> eps = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 1e-4], [0.0, 0.0, 0.0, 0.0, 0.0, 1e-2]])
    >>> sig, tangent, state = law.evaluate(eps)
    >>> sig[:, 5].round(6)
    array([0.015385, 0.175115])
    >>> tangent.shape, state["equivalent_plastic_strain"].round(6)
    ((2, 6, 6), array([0.      , 0.007236]))
    """

    __slots__ = ("_C", "_E", "_G", "_Hi", "_Hk", "_K", "_elastic", "_nu", "_proj", "_sy")
    physics = "elasticity"
    has_state = True

    def __init__(
        self,
        *,
        E: float,
        nu: float,
        yield_stress: float,
        isotropic_modulus: float = 0.0,
        kinematic_modulus: float = 0.0,
    ) -> None:
        E_ = self._scalar("E", E)
        nu_ = self._scalar("nu", nu)
        sy = self._scalar("yield_stress", yield_stress)
        Hi = self._scalar("isotropic_modulus", isotropic_modulus)
        Hk = self._scalar("kinematic_modulus", kinematic_modulus)
        if not E_ > 0.0:
            raise ValueError(f"J2Plasticity: E must be > 0, got {E_}")
        if not -1.0 < nu_ < 0.5:
            raise ValueError(f"J2Plasticity: nu must satisfy -1 < nu < 0.5, got {nu_}")
        if not sy > 0.0:
            raise ValueError(f"J2Plasticity: yield_stress must be > 0, got {sy}")
        for name, H in (("isotropic_modulus", Hi), ("kinematic_modulus", Hk)):
            if H < 0.0:
                raise ValueError(f"J2Plasticity: {name} must be >= 0, got {H}")
        K, G = tensors.bulk_shear_from(E=E_, nu=nu_)
        elastic = Elasticity(E=E_, nu=nu_)
        J, Kd = tensors.isotropic_projectors(3)
        for A in (J, Kd):
            A.setflags(write=False)
        for key, value in (
            ("_E", E_),
            ("_nu", nu_),
            ("_sy", sy),
            ("_Hi", Hi),
            ("_Hk", Hk),
            ("_K", float(K)),
            ("_G", float(G)),
            ("_elastic", elastic),
            ("_C", {3: elastic.tensor(2), 6: elastic.tensor(3)}),
            ("_proj", (J, Kd)),
        ):
            self._set(key, value)

    @staticmethod
    def _scalar(name: str, value: object) -> float:
        x = real_scalar("J2Plasticity", name, value)
        if x is None:
            raise ValueError(f"J2Plasticity: {name} must be a real scalar, got {value!r}")
        return x

    # ------------------------------------------------------------------ properties
    @property
    def E(self) -> float:
        """Young's modulus."""
        return self._E

    @property
    def nu(self) -> float:
        """Poisson's ratio."""
        return self._nu

    @property
    def yield_stress(self) -> float:
        """Initial uniaxial yield stress ``sigma_y``."""
        return self._sy

    @property
    def isotropic_modulus(self) -> float:
        """Linear isotropic hardening modulus ``H_iso``."""
        return self._Hi

    @property
    def kinematic_modulus(self) -> float:
        """Linear kinematic hardening modulus ``H_kin``."""
        return self._Hk

    @property
    def elastic(self) -> Elasticity:
        """The elastic part, an `Elasticity` law with the same ``(E, nu)``."""
        return self._elastic

    # ------------------------------------------------------------------ state
    def initial_state(self, shape: int | tuple[int, ...] = (), m: int = 6) -> dict[str, Array]:
        """Virgin state (all zero) for points of ``shape`` and Mandel size ``m`` (3 or 6).

        >>> sorted(J2Plasticity(E=1.0, nu=0.3, yield_stress=1e-3).initial_state((2,), 3))
        ['back_stress', 'equivalent_plastic_strain', 'plastic_strain', 'stress_33']
        """
        pts = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
        if m not in (3, 6):
            raise ValueError(
                f"J2Plasticity.initial_state: m must be 3 (2D plane strain) or 6 (3D), got {m!r}"
            )
        state = {
            "plastic_strain": np.zeros((*pts, 6)),
            "back_stress": np.zeros((*pts, 6)),
            "equivalent_plastic_strain": np.zeros(pts),
        }
        if m == 3:
            state["stress_33"] = np.zeros(pts)
        return state

    def _read_state(self, state: object, pts: tuple[int, ...]) -> tuple[Array, Array, Array]:
        if state is None:
            return np.zeros(6), np.zeros(6), np.zeros(())
        if not isinstance(state, Mapping):
            raise ValueError(
                "J2Plasticity.evaluate: state must be None or a mapping with keys "
                f"{list(STATE_KEYS)} (from initial_state or a previous evaluate), got "
                f"{type(state).__name__}"
            )
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"J2Plasticity.evaluate: state lacks {missing}; has {sorted(state)}")
        out = []
        for key, tail in zip(STATE_KEYS, ((6,), (6,), ()), strict=True):
            a = np.asarray(state[key], dtype=float)
            target = (*pts, *tail)
            try:
                ok = np.broadcast_shapes(a.shape, target) == target
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"J2Plasticity.evaluate: state[{key!r}] has shape {a.shape}, which does "
                    f"not broadcast to {target} (points {pts} of the strain)"
                )
            out.append(a)
        return out[0], out[1], out[2]

    # ------------------------------------------------------------------ law
    def evaluate(
        self, gradient: ArrayLike, state: object | None = None
    ) -> tuple[Array, Array, dict[str, Array]]:
        """Stress, consistent tangent and new state for a Mandel strain ``(..., 3|6)``.

        ``state`` is the committed state at the start of the increment (None: virgin); the
        step from it to ``gradient`` is one radial return.
        """
        eps = np.asarray(gradient, dtype=float)
        m = eps.shape[-1] if eps.ndim else 0
        if m not in (3, 6):
            raise ValueError(
                "J2Plasticity.evaluate: strain must be Mandel (..., 3) (2D plane strain) or "
                f"(..., 6) (3D), got shape {eps.shape}"
            )
        pts = eps.shape[:-1]
        if m == 3:
            e = np.zeros((*pts, 6))
            e[..., _PLANE] = eps
        else:
            e = eps
        ep, X, p = self._read_state(state, pts)
        K, G, Hi, Hk = self._K, self._G, self._Hi, self._Hk

        ee = e - ep  # elastic trial strain (new array, never a view of the state)
        tr = ee[..., 0] + ee[..., 1] + ee[..., 2]
        s = ee
        s *= 2.0 * G
        s[..., :3] -= (2.0 * G / 3.0) * tr[..., None]  # trial deviatoric stress
        xi = s - X
        norm = np.sqrt(np.einsum("...i,...i->...", xi, xi))
        radius = _SQ23 * (self._sy + Hi * p)
        f = norm - radius
        plastic = f > YIELD_RTOL * radius
        dgamma = np.where(plastic, f, 0.0) / (2.0 * G + (2.0 / 3.0) * (Hi + Hk))
        beta_over_2G = dgamma / np.where(plastic, norm, 1.0)  # dgamma / |xi|; 0 if elastic
        dep = beta_over_2G[..., None] * xi  # dgamma n

        sig = s
        sig -= (2.0 * G) * dep
        sig[..., :3] += K * tr[..., None]
        new_state = {
            "plastic_strain": ep + dep,
            "back_stress": X + ((2.0 / 3.0) * Hk) * dep,
            "equivalent_plastic_strain": p + _SQ23 * dgamma,
        }
        if m == 3:
            new_state["stress_33"] = sig[..., 2].copy()
            flux = sig[..., _PLANE]
        else:
            flux = sig
        return flux, self._tangent(m, pts, plastic, xi, norm, dgamma), new_state

    def _tangent(
        self,
        m: int,
        pts: tuple[int, ...],
        plastic: Array,
        xi: Array,
        norm: Array,
        dgamma: Array,
    ) -> Array:
        """``C - 2G beta K_dev - 2G gamma n (x) n`` (``beta = gamma = 0`` at elastic points).

        Assembled over all points (one outer product, no gather/scatter of the plastic
        ones); ``K_dev = I - J`` enters through the diagonal and the normal block only.
        """
        C = self._C[m]
        if not np.any(plastic):
            view = C.view()  # read-only even if the law was unpickled with writeable arrays
            view.setflags(write=False)
            return view
        G, H = self._G, self._Hi + self._Hk
        inv = np.where(plastic, 1.0 / np.where(plastic, norm, 1.0), 0.0)  # 1/|xi| or 0
        n = (xi if m == 6 else xi[..., _PLANE]) * inv[..., None]
        b = (2.0 * G) ** 2 * dgamma * inv  # 2G beta
        c = np.where(plastic, (2.0 * G) / (1.0 + H / (3.0 * G)), 0.0) - b  # 2G gamma
        T = np.empty((*pts, m, m))
        np.multiply((-c[..., None] * n)[..., :, None], n[..., None, :], out=T)
        T += C
        diag = np.einsum("...ii->...i", T)
        diag -= b[..., None]
        nd = 3 if m == 6 else 2  # normal components: J = (1/3) on that block
        T[..., :nd, :nd] += (b / 3.0)[..., None, None]
        return T

    def yield_function(self, stress: ArrayLike, state: Mapping[str, ArrayLike]) -> Array:
        """``f = |dev sig - X| - sqrt(2/3) (sigma_y + H_iso p)`` at Mandel stress ``(..., 3|6)``.

        A plane-strain stress ``(..., 3)`` takes its ``sigma_33`` from ``state["stress_33"]``.
        ``f <= 0`` is admissible; a returned plastic state has ``f = 0`` to round-off.
        """
        sig = np.asarray(stress, dtype=float)
        if sig.ndim == 0 or sig.shape[-1] not in (3, 6):
            raise ValueError(
                f"J2Plasticity.yield_function: stress must be (..., 3) or (..., 6), got {sig.shape}"
            )
        if sig.shape[-1] == 3:
            if "stress_33" not in state:
                raise ValueError(
                    'J2Plasticity.yield_function: a plane-strain stress needs state["stress_33"]'
                )
            s3 = np.zeros((*sig.shape[:-1], 6))
            s3[..., _PLANE] = sig
            s3[..., 2] = np.asarray(state["stress_33"], dtype=float)
            sig = s3
        xi = sig @ self._proj[1] - np.asarray(state["back_stress"], dtype=float)
        p = np.asarray(state["equivalent_plastic_strain"], dtype=float)
        return np.sqrt(np.einsum("...i,...i->...", xi, xi)) - _SQ23 * (self._sy + self._Hi * p)

    def __repr__(self) -> str:
        return (
            f"J2Plasticity(E={self._E!r}, nu={self._nu!r}, yield_stress={self._sy!r}, "
            f"isotropic_modulus={self._Hi!r}, kinematic_modulus={self._Hk!r})"
        )

    def _key(self) -> tuple[float, ...]:
        return (self._E, self._nu, self._sy, self._Hi, self._Hk)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, J2Plasticity):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(("J2Plasticity", *self._key()))
