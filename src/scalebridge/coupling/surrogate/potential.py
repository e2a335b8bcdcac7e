"""Potential-based surrogate: an energy ``W(eps)`` of strain invariants fitted to stresses.

For an RVE whose response is (nonlinear) elastic, or elasto-plastic under monotonic
proportional loading (deformation theory: then the response along radial paths is path
independent), the stress is the gradient of an energy.  `PotentialSurrogate` fits

    W(eps) = sum_a c_a P_a(v, g2, an)                                  (smooth part)
           + sum_{p,k,j} c_pkj v^p h_k(q) A_j(eps)                     (yield part)

to the averaged stresses of a database by linear least squares on ``dW/deps = sigma``,
so that the stress is exactly ``dW/deps`` and the tangent exactly the symmetric Hessian.
In 2D plane strain (Mandel ``x = (e11, e22, sqrt2 e12)``):

* ``v = e11 + e22``, ``a = (e11 - e22) / 2``, ``b = e12``; ``g2 = a^2 + b^2`` is
  invariant under every rotation, ``an = a^2 - b^2`` under the square group (the
  symmetry of a centred fibre in a square cell);
* the smooth part holds the monomials of these invariants of degree 2 to ``degree``
  (``degree = 2``: linear elasticity of that symmetry, exactly);
* ``q = sqrt(g2 + kappa v^2)`` is an equivalent strain (``kappa = 1/12`` makes it
  proportional to the von Mises equivalent of the plane-strain deviator), and
  ``h_k(q) = (q - q_k)_+^3`` are cubic hinges at knots ``q_k`` spaced geometrically up
  to the largest sampled ``q``: they carry the yield knee, and are C2, so the tangent
  is continuous;
* ``A_j`` are angular factors of the symmetry: 1 (isotropic), ``(an / q^2)^j``
  (square), or the monomials of ``(a / q, b / q)`` (none);
* ``v^p`` (``p <= volumetric_order``) couple the knee to the volumetric strain.

The inputs are invariants of the material symmetry group, so the surrogate is objective
for that group by construction.  It is valid for monotonic proportional loading only:
unloading or non-proportional paths of a path-dependent RVE are not represented.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalebridge.coupling.surrogate.base import SurrogateLaw
from scalebridge.coupling.surrogate.jets import Jet
from scalebridge.coupling.surrogate.sampling import LoadBox

Array = NDArray[np.float64]
SYMMETRIES = ("isotropic", "square", "none")
_SQRT2 = math.sqrt(2.0)

__all__ = ["SYMMETRIES", "PotentialBasis", "PotentialSurrogate", "fit_potential"]


def _clamped_reciprocal(floor: float) -> tuple[Any, Any, Any]:
    """``1 / max(u, floor)`` and its derivatives (only used where ``u > floor``)."""

    def f(u: Array) -> Array:
        return 1.0 / np.maximum(u, floor)

    def df(u: Array) -> Array:
        return np.where(u > floor, -1.0 / np.maximum(u, floor) ** 2, 0.0)

    def d2f(u: Array) -> Array:
        return np.where(u > floor, 2.0 / np.maximum(u, floor) ** 3, 0.0)

    return f, df, d2f


def _hinges(q2: Jet, knots: tuple[float, ...]) -> Jet:
    """Stacked jet ``(n, K)`` of ``(sqrt(q2) - k)_+^3`` for every knot ``k``."""
    k = np.asarray(knots)
    q = np.sqrt(np.maximum(q2.val[:, None], k * k))  # >= k: only used where t > 0
    t = np.maximum(q - k, 0.0)
    d1 = 3.0 * t * t / (2.0 * q)  # d/d(q2) of t^3
    d2 = 6.0 * t / (4.0 * q * q) - 3.0 * t * t / (4.0 * q**3)
    outer = q2.grad[:, :, None] * q2.grad[:, None, :]
    return Jet(
        t**3,
        d1[..., None] * q2.grad[:, None, :],
        d1[..., None, None] * q2.hess[:, None] + d2[..., None, None] * outer[:, None],
    )


@functools.lru_cache(maxsize=32)
def _smooth_exponents(symmetry: str, degree: int) -> tuple[tuple[int, int, int], ...]:
    """Exponents of the smooth monomials: ``v^i a^j b^k`` (none) or ``v^i g2^j an^k``."""
    weight = (1, 1, 1) if symmetry == "none" else (1, 2, 2)
    out = []
    for e in itertools.product(range(degree + 1), repeat=3):
        if symmetry == "isotropic" and e[2]:
            continue
        if 2 <= sum(w * p for w, p in zip(weight, e, strict=True)) <= degree:
            out.append(e)
    return tuple(sorted(out, key=lambda e: (sum(w * p for w, p in zip(weight, e, strict=True)), e)))


@dataclass(frozen=True)
class PotentialBasis:
    """The energy terms of a `PotentialSurrogate` (2D plane strain, Mandel strains).

    Attributes
    ----------
    symmetry : {"isotropic", "square", "none"}
    kappa : float
        Weight of the volumetric strain in ``q``.
    knots : tuple of float
        Hinge knots ``q_k > 0``, increasing.
    degree : int
        Highest degree of the smooth polynomial part (2: linear elastic).
    volumetric_order : int
        Highest power of ``v`` multiplying a hinge.
    harmonics : int
        Highest degree of the angular factors (0: isotropic hinges).
    """

    symmetry: str
    kappa: float
    knots: tuple[float, ...]
    degree: int = 2
    volumetric_order: int = 1
    harmonics: int = 4

    def __post_init__(self) -> None:
        if self.symmetry not in SYMMETRIES:
            raise ValueError(
                f"PotentialBasis: symmetry must be one of {SYMMETRIES}, got {self.symmetry!r}"
            )
        k = np.asarray(self.knots, dtype=float)
        if k.size and not (np.all(k > 0) and np.all(np.diff(k) > 0)):
            raise ValueError(f"PotentialBasis: knots must be positive, increasing: {self.knots}")
        for name, low in (("degree", 2), ("volumetric_order", 0), ("harmonics", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"PotentialBasis: {name} must be an integer >= {low}, got {v!r}")
        if not (math.isfinite(self.kappa) and self.kappa >= 0):
            raise ValueError(f"PotentialBasis: kappa must be >= 0, got {self.kappa!r}")

    def _angular_count(self) -> int:
        if self.symmetry == "isotropic":
            return 1
        if self.symmetry == "square":
            return self.harmonics + 1
        return (self.harmonics + 1) * (self.harmonics + 2) // 2

    @property
    def n_smooth(self) -> int:
        """Number of smooth (polynomial) terms; they come first."""
        return len(_smooth_exponents(self.symmetry, self.degree))

    @property
    def size(self) -> int:
        """Number of terms."""
        return self.n_smooth + (self.volumetric_order + 1) * len(self.knots) * self._angular_count()

    def evaluate(self, x: Array) -> Jet:
        """Every term at Mandel strains ``x`` ``(n, 3)``: a stacked `Jet` with ``val (n,
        size)``, ``grad (n, size, 3)`` and ``hess (n, size, 3, 3)`` (for fitting)."""
        smooth, parts = self._parts(x)
        if parts is None:
            return smooth
        powers, hinges, angular = parts
        yield_part = powers.outer(hinges.outer(angular))  # ordered (p, k, j)
        return Jet(
            np.concatenate([smooth.val, yield_part.val], 1),
            np.concatenate([smooth.grad, yield_part.grad], 1),
            np.concatenate([smooth.hess, yield_part.hess], 1),
        )

    def energy(self, x: Array, coefficients: Array) -> Jet:
        """``W = sum_a c_a term_a`` at ``x`` as one `Jet` (value, stress, tangent); the
        angular factors are combined before the products, a few times cheaper than
        `evaluate`."""
        smooth, parts = self._parts(x)
        c = np.asarray(coefficients, dtype=float)
        w = smooth.combine(c[None, : self.n_smooth]).total()
        if parts is None:
            return w
        powers, hinges, angular = parts
        n_pk = powers.val.shape[1] * hinges.val.shape[1]
        mixed = angular.combine(c[self.n_smooth :].reshape(n_pk, -1))  # (n, p * k)
        return w + (powers.outer(hinges) * mixed).total()

    def _parts(self, x: Array) -> tuple[Jet, tuple[Jet, Jet, Jet] | None]:
        """The stacked smooth terms, and the stacked ``v^p``, hinges and angular factors."""
        v = Jet.linear(x, [1.0, 1.0, 0.0])
        a = Jet.linear(x, [0.5, -0.5, 0.0])
        b = Jet.linear(x, [0.0, 0.0, 1.0 / _SQRT2])
        g2, an = a * a + b * b, a * a - b * b
        base = (v, a, b) if self.symmetry == "none" else (v, g2, an)
        terms: list[Jet] = []
        for e in _smooth_exponents(self.symmetry, self.degree):
            t = base[0].power(e[0])
            for u, p in zip(base[1:], e[1:], strict=True):
                t = t * u.power(p) if p else t
            terms.append(t)
        smooth = Jet.stack(terms)
        if not self.knots:
            return smooth, None
        q2 = g2 + (v * v).scale(self.kappa)
        hinges = _hinges(q2, self.knots)
        angular = Jet.stack(self._angular(q2, a, b, an))
        powers = Jet.stack([v.power(p) for p in range(self.volumetric_order + 1)])
        return smooth, (powers, hinges, angular)

    def _angular(self, q2: Jet, a: Jet, b: Jet, an: Jet) -> list[Jet]:
        n, m = a.grad.shape
        one = Jet.constant(1.0, n, m)
        if self.symmetry == "isotropic":
            return [one]
        inv = q2.map(*_clamped_reciprocal(self.knots[0] ** 2))  # 1 / q^2 where hinges live
        if self.symmetry == "square":
            c = an * inv
            return [one] + [c.power(j) for j in range(1, self.harmonics + 1)]
        r = inv.map(np.sqrt, lambda u: 0.5 / np.sqrt(u), lambda u: -0.25 / u**1.5)  # 1 / q
        ua, ub = a * r, b * r
        return [
            ua.power(i) * ub.power(j)
            for d in range(self.harmonics + 1)
            for i, j in ((i, d - i) for i in range(d + 1))
        ]


class PotentialSurrogate(SurrogateLaw):
    """Hyperelastic surrogate ``W(eps)`` (see the module docstring); build with
    `fit_potential` or `scalebridge.coupling.surrogate.fit_surrogate`.

    ``evaluate(strain)`` takes Mandel strains ``(..., 3)`` and returns the stress
    ``dW/deps`` ``(..., 3)``, the exact symmetric tangent ``(..., 3, 3)`` and None.

    Attributes
    ----------
    basis : PotentialBasis
    coefficients : ndarray, shape (basis.size,)
    box, out_of_range, margin, identity, fit_error
        See `SurrogateLaw`.
    """

    __slots__ = ("basis", "coefficients")

    def __init__(
        self,
        basis: PotentialBasis,
        coefficients: ArrayLike,
        box: LoadBox,
        *,
        out_of_range: str = "warn",
        margin: float = 0.0,
        identity: str = "",
        fit_error: dict[str, float] | None = None,
    ) -> None:
        c = np.asarray(coefficients, dtype=float).ravel()
        if c.shape != (basis.size,):
            raise ValueError(f"PotentialSurrogate: {basis.size} coefficients needed, got {c.size}")
        if box.m != 3:
            raise ValueError(f"PotentialSurrogate: 2D plane strain only (m = 3), got m = {box.m}")
        c.setflags(write=False)
        self._set("basis", basis)
        self._set("coefficients", c)
        self._init_range(box, out_of_range, margin, identity, fit_error)

    def __repr__(self) -> str:
        b = self.basis
        return (
            f"PotentialSurrogate(symmetry={b.symmetry!r}, knots={len(b.knots)}, "
            f"terms={b.size}, out_of_range={self.out_of_range!r})"
        )

    def energy(self, strain: ArrayLike) -> Array:
        """``W`` per unit volume, shape ``strain.shape[:-1]``."""
        x, batch = self._points(strain)
        return self.basis.energy(x, self.coefficients).val.reshape(batch)

    def evaluate(self, gradient: ArrayLike, state: Any = None) -> tuple[Array, Array, None]:
        """Stress ``(..., 3)``, tangent ``(..., 3, 3)``, None."""
        x, batch = self._points(gradient)
        w = self.basis.energy(x, self.coefficients)
        return w.grad.reshape(*batch, 3), w.hess.reshape(*batch, 3, 3), None

    def stiffness(self) -> Array:
        """Tangent at zero strain (the effective elastic tensor, Mandel ``(3, 3)``)."""
        return self.basis.energy(np.zeros((1, 3)), self.coefficients).hess[0]


def fit_potential(
    strain: Array,
    stress: Array,
    box: LoadBox,
    *,
    tangent: Array | None = None,
    tangent_weight: float = 0.3,
    symmetry: str = "square",
    knots: int = 10,
    knot_ratio: float = 0.02,
    degree: int = 2,
    volumetric_order: int = 1,
    harmonics: int = 4,
    kappa: float = 1.0 / 12.0,
    ridge: float = 1e-8,
    out_of_range: str = "warn",
    margin: float = 0.0,
    identity: str = "",
) -> PotentialSurrogate:
    """Least-squares fit of a `PotentialSurrogate` to ``stress = dW/dstrain``.

    Parameters
    ----------
    strain, stress : ndarray, shape (n, 3)
        Mandel strains and stresses (from monotonic radial paths).
    box : LoadBox
        The sampled range.
    tangent : ndarray, shape (n, 3, 3), optional
        The RVE's consistent tangents at the samples.  Along a radial path ``t -> t x``
        the derivative of the stress is ``tangent @ x``, so rows ``H(x) @ x = tangent @
        x`` (``H`` the Hessian of ``W``) join the fit, weighted by ``tangent_weight``:
        they pin the slope on the yield knee where the stress samples are sparse.
    tangent_weight : float
        Weight of those rows against the stress rows (0: stresses only).
    symmetry : {"isotropic", "square", "none"}
        Material symmetry of the RVE (`cell_symmetry` detects "square").
    knots : int
        Number of hinges; 0 gives a polynomial energy of ``degree``.
    knot_ratio : float
        First knot over the largest sampled ``q``; the knots are geometric from there.
    degree, volumetric_order, harmonics, kappa
        See `PotentialBasis`.
    ridge : float
        Tikhonov weight on the (unit-normalised) hinge coefficients; the smooth
        polynomial part is not damped, so linear data are fitted exactly.
    out_of_range, margin, identity
        See `SurrogateLaw`.

    Returns
    -------
    PotentialSurrogate

    Examples
    --------
    >>> C = np.array([[3.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 1.5]])
    >>> from scalebridge.coupling.surrogate import load_box
    >>> box = load_box(2, 0.01)
    >>> x = box.sample(60)
    >>> law = fit_potential(x, x @ C, box)
    >>> bool(np.allclose(law.stiffness(), C, atol=1e-10))
    True
    """
    x = np.asarray(strain, dtype=float)
    s = np.asarray(stress, dtype=float)
    if x.ndim != 2 or x.shape[1] != 3 or s.shape != x.shape:
        raise ValueError(
            f"fit_potential: strain and stress must both be (n, 3), got {x.shape}, {s.shape}"
        )
    if isinstance(knots, bool) or not isinstance(knots, int) or knots < 0:
        raise ValueError(f"fit_potential: knots must be an integer >= 0, got {knots!r}")
    if not 0.0 < knot_ratio < 1.0:
        raise ValueError(f"fit_potential: knot_ratio must lie in (0, 1), got {knot_ratio!r}")
    v = x[:, 0] + x[:, 1]
    q = np.sqrt(0.25 * (x[:, 0] - x[:, 1]) ** 2 + 0.5 * x[:, 2] ** 2 + kappa * v * v)
    q_max = float(q.max(initial=0.0))
    if knots and q_max <= 0.0:
        raise ValueError("fit_potential: all strains are zero; nothing to fit")
    k = tuple(np.geomspace(knot_ratio * q_max, q_max, knots + 1)[:-1].tolist()) if knots else ()
    basis = PotentialBasis(symmetry, float(kappa), k, degree, volumetric_order, harmonics)
    if 3 * len(x) < basis.size:
        raise ValueError(
            f"fit_potential: {len(x)} samples give {3 * len(x)} stress equations for "
            f"{basis.size} terms; add paths or use fewer knots/harmonics"
        )
    jet = basis.evaluate(x)
    A = jet.grad.transpose(0, 2, 1).reshape(-1, basis.size)
    rhs = [s.ravel()]
    if tangent is not None and tangent_weight > 0:
        T = np.asarray(tangent, dtype=float)
        if T.shape != (len(x), 3, 3):
            raise ValueError(f"fit_potential: tangent must be ({len(x)}, 3, 3), got {T.shape}")
        radial = np.einsum("nkij,nj->nik", jet.hess, x).reshape(-1, basis.size)
        A = np.vstack([A, tangent_weight * radial])
        rhs.append(tangent_weight * np.einsum("nij,nj->ni", T, x).ravel())
    norm = np.linalg.norm(A, axis=0)
    norm[norm == 0.0] = 1.0
    rows = [A / norm]
    if ridge > 0 and basis.size > basis.n_smooth:
        damp = np.zeros((basis.size - basis.n_smooth, basis.size))
        damp[:, basis.n_smooth :] = math.sqrt(ridge) * np.eye(basis.size - basis.n_smooth)
        rows.append(damp)
        rhs.append(np.zeros(len(damp)))
    c = np.linalg.lstsq(np.vstack(rows), np.concatenate(rhs), rcond=None)[0] / norm
    return PotentialSurrogate(
        basis, c, box, out_of_range=out_of_range, margin=margin, identity=identity
    )
