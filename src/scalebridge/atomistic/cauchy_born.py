"""The Cauchy-Born rule as a finite-strain constitutive law.

Every atom of a crystal is assumed to follow the macroscopic deformation gradient ``F``;
the atoms of a multi-atom basis may in addition shift rigidly by ``s_alpha`` (the first
basis atom fixes the translation).  With the reference bonds ``R_b`` of one primitive
cell (from basis atom ``alpha_b`` to ``beta_b``, every bond listed from both ends), the
deformed bonds are ``y_b = F R_b + s_beta - s_alpha`` and the energy per unit reference
volume is

    W(F, s) = 1 / (2 V_c) sum_b phi(|y_b|),        V_c = primitive cell volume.

With ``g_b = phi'(r) y/r`` and the bond stiffness ``k_b = phi'' n n + (phi'/r)(I - n n)``
(``r = |y_b|``, ``n = y_b / r``), the exact derivatives are

    P_iJ       = dW/dF_iJ       = 1/(2 V_c) sum_b g_i R_J,
    A_iJkL     = d2W/dF_iJ dF_kL = 1/(2 V_c) sum_b k_ik R_J R_L,
    dW/ds_c    = 1/(2 V_c) sum_b g Q_bc,          Q_bc = delta_(beta_b c) - delta_(alpha_b c),

and, at the relaxed shifts (``dW/ds = 0``), the relaxed tangent is the Schur complement
``A - W_Fs W_ss^-1 W_sF``.  The lattice sums include every bond that can come inside
the cutoff: ``|R| <= (r_c + 2 max|s|) / sigma_min(F)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from scalebridge.atomistic.lattice import Lattice
from scalebridge.atomistic.potentials import PairPotential
from scalebridge.errors import ConvergenceError
from scalebridge.materials.base import FrozenLaw
from scalebridge.tensors import full_to_mandel, mandel_to_voigt_stiffness

Array = NDArray[np.float64]

__all__ = [
    "CauchyBorn",
    "StabilityResult",
    "elastic_stability",
    "lagrangian_moduli",
    "moduli_matrix",
    "relax_lattice_constant",
]


STABILITY_RTOL = 1e-10
"""A spectrum is stable when its smallest eigenvalue exceeds ``STABILITY_RTOL`` times its
largest magnitude (zero modes, such as phonons at q = 0, are excluded beforehand)."""


@dataclass(frozen=True)
class _Bonds:
    alpha: NDArray[np.intp]
    beta: NDArray[np.intp]
    R: Array  # (B, d) reference bond vectors
    Q: Array  # (B, n_basis) incidence: +1 at beta, -1 at alpha


@dataclass(frozen=True)
class _Sums:
    """Lattice sums at ``n`` points (shift blocks have the first basis atom removed)."""

    W: Array  # (n,)
    P: Array  # (n, d, d)
    Ws: Array  # (n, nb - 1, d)
    force_scale: Array  # (n,) sum over bonds of |phi'| / (2 V_c)
    A: Array | None = None  # (n, d, d, d, d)
    Wss: Array | None = None  # (n, nb - 1, d, nb - 1, d)
    WFs: Array | None = None  # (n, d, d, nb - 1, d)
    k: Array | None = None  # (n, B, d, d) bond stiffnesses
    bonds: _Bonds | None = None


@dataclass(frozen=True)
class StabilityResult:
    """Stability of the homogeneously deformed crystal at each point (shape ``batch``).

    Attributes
    ----------
    stable : ndarray of bool
        ``strong_ellipticity & phonon`` (``phonon`` when computed): the homogeneous
        state is a local energy minimum against every long-wave (continuum) and every
        lattice-scale (phonon) perturbation -- where this fails, Cauchy-Born fails.
    born : ndarray of bool
        Lagrangian elastic constants ``d2W/dE2`` (Mandel matrix) positive definite: the
        Born criterion, exact at a stress-free state; under stress it is the stability
        under a fixed second Piola-Kirchhoff load and is not part of ``stable``.
    strong_ellipticity : ndarray of bool
        Acoustic tensor ``Q_ik(n) = A_iJkL n_J n_L`` positive definite for every sampled
        direction ``n`` (rank-one convexity of ``W``: real wave speeds, no localisation).
    phonon : ndarray of bool or None
        Dynamical matrix positive definite at every wavevector of the grid (q = 0
        excluded; long waves are covered by ``strong_ellipticity``).
    min_born, min_acoustic, min_phonon : ndarray
        Smallest eigenvalues found (``min_phonon`` None when not computed).
    worst_direction : ndarray, shape batch + (d,)
        Reference direction ``n`` of the smallest acoustic eigenvalue.
    """

    stable: NDArray[np.bool_]
    born: NDArray[np.bool_]
    strong_ellipticity: NDArray[np.bool_]
    phonon: NDArray[np.bool_] | None
    min_born: Array
    min_acoustic: Array
    min_phonon: Array | None
    worst_direction: Array


def _positive(eig: Array, axes: tuple[int, ...]) -> tuple[NDArray[np.bool_], Array]:
    lo = eig.min(axis=axes)
    return lo > STABILITY_RTOL * np.abs(eig).max(axis=axes), lo


def _directions(d: int, count: int) -> Array:
    """Unit vectors covering half the sphere (``n`` and ``-n`` give the same tensor)."""
    if d == 1:
        return np.ones((1, 1))
    if d == 2:
        t = np.pi * np.arange(count) / count
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    k = np.arange(count) + 0.5  # Fibonacci points on the upper hemisphere
    z = k / count
    phi = np.pi * (1.0 + np.sqrt(5.0)) * k
    rho = np.sqrt(1.0 - z**2)
    fib = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
    sym = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [1, -1, 0], [1, 0, 1], [1, 0, -1]])
    sym = np.vstack([sym, [[0, 1, 1], [0, 1, -1], [1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]]])
    sym = sym / np.linalg.norm(sym, axis=1, keepdims=True)
    return np.vstack([fib, sym])


def lagrangian_moduli(F: Array, P: Array, A: Array) -> Array:
    """Lagrangian moduli ``C = d2W/dE2``, ``(n, d, d, d, d)``, from ``F``, ``P``, ``A = d2W/dF2``.

    ``A_iJkL = F_iI F_kK C_IJKL + delta_ik S_JL`` with ``S = F^-1 P``, hence
    ``C_IJKL = Finv_Ii Finv_Kk (A_iJkL - delta_ik S_JL)``.  Shapes: ``F``, ``P``
    ``(n, d, d)``; ``A`` ``(n, d*d, d*d)`` or ``(n, d, d, d, d)``.
    """
    n, d = F.shape[0], F.shape[-1]
    Finv = np.linalg.inv(F)
    A = A.reshape(n, d, d, d, d) - np.einsum("ik,njl->nijkl", np.eye(d), Finv @ P)
    return np.einsum("nIi,nKk,nijkl->nIjKl", Finv, Finv, A)


def moduli_matrix(C: Array, notation: Literal["mandel", "voigt"] = "mandel") -> Array:
    """``(n, d, d, d, d)`` moduli as Mandel (or Voigt) matrices; ``d = 1`` gives ``(n, 1, 1)``."""
    if notation not in ("mandel", "voigt"):
        raise ValueError(f"notation must be 'mandel' or 'voigt', got {notation!r}")
    if C.shape[-1] == 1:
        return C.reshape(-1, 1, 1)
    M = full_to_mandel(C, order=4)
    return mandel_to_voigt_stiffness(M) if notation == "voigt" else M


def elastic_stability(
    F: Array,
    P: Array,
    A: Array,
    batch: tuple[int, ...],
    directions: int = 180,
    phonon_eigenvalues: Array | None = None,
) -> StabilityResult:
    """Born and strong-ellipticity checks at ``n`` points, plus given phonon eigenvalues.

    ``F``, ``P``: ``(n, d, d)``; ``A``: ``(n, d*d, d*d)``; the result is reshaped to
    ``batch``.  ``phonon_eigenvalues``: ``(n, n_q, n_modes)`` or None.
    """
    n, d = F.shape[0], F.shape[-1]
    born, min_born = _positive(np.linalg.eigvalsh(moduli_matrix(lagrangian_moduli(F, P, A))), (1,))
    N = _directions(d, directions)
    A4 = A.reshape(n, d, d, d, d)
    eig = np.linalg.eigvalsh(np.einsum("nijkl,mj,ml->nmik", A4, N, N, optimize=True))
    ell, min_ac = _positive(eig, (1, 2))
    worst = N[np.argmin(eig.min(axis=2), axis=1)]
    stable = ell
    phonon = min_ph = None
    if phonon_eigenvalues is not None:
        phonon, min_ph = _positive(phonon_eigenvalues, (1, 2))
        stable = stable & phonon
        phonon, min_ph = phonon.reshape(batch), min_ph.reshape(batch)
    return StabilityResult(
        stable.reshape(batch),
        born.reshape(batch),
        ell.reshape(batch),
        phonon,
        min_born.reshape(batch),
        min_ac.reshape(batch),
        min_ph,
        worst.reshape(*batch, d),
    )


class CauchyBorn(FrozenLaw):
    """Cauchy-Born law of a crystal with a pair potential (``physics = "finite-strain"``).

    ``evaluate(F)`` takes deformation gradients flattened row-major, ``(..., d*d)``
    (``d`` = lattice dimension: 1 for a chain, 2 for the triangular lattice, 3 for cubic
    and hexagonal crystals), and returns the first Piola-Kirchhoff stress ``P = dW/dF``
    ``(..., d*d)``, the tangent ``d2W/dF2`` ``(..., d*d, d*d)`` and the state ``None``.
    ``W`` is the energy per unit *reference* volume, including the cohesive energy.

    Parameters
    ----------
    lattice : Lattice
        Reference crystal (its lattice constant fixes the reference configuration; see
        `relax_lattice_constant` for the stress-free one).
    potential : PairPotential
        Pair potential with a finite cutoff.
    relax : bool, optional
        Minimise ``W`` over the sublattice shifts at fixed ``F`` (default: True when the
        basis has more than one atom); the tangent is then the relaxed one.
    tol : float
        Newton tolerance on ``max |dW/ds|`` relative to the bond-force scale.
    max_iter : int
        Newton iterations allowed for the shift relaxation.

    Examples
    --------
    >>> from scalebridge.atomistic.lattice import chain
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> law = CauchyBorn(chain(1.0), Harmonic(k=2.0, r0=1.0, cutoff=1.5))
    >>> P, A, _ = law.evaluate([[1.1]])
    >>> round(float(P[0, 0]), 12), round(float(A[0, 0, 0]), 12)  # k a (F - 1), k a
    (0.2, 2.0)
    """

    __slots__ = ("_cache", "lattice", "max_iter", "potential", "relax", "tol")
    physics = "finite-strain"
    has_state = False

    def __init__(
        self,
        lattice: Lattice,
        potential: PairPotential,
        *,
        relax: bool | None = None,
        tol: float = 1e-10,
        max_iter: int = 50,
    ) -> None:
        if not isinstance(lattice, Lattice):
            raise ValueError(f"CauchyBorn: lattice must be a Lattice, got {type(lattice)!r}")
        if not isinstance(potential, PairPotential):
            raise ValueError(f"CauchyBorn: potential must be a PairPotential, got {potential!r}")
        if not np.isfinite(potential.cutoff):
            raise ValueError(
                "CauchyBorn: potential.cutoff must be finite for a lattice sum, got "
                f"{potential.cutoff!r}"
            )
        if not (tol > 0 and max_iter >= 1):
            raise ValueError(f"CauchyBorn: need tol > 0 and max_iter >= 1, got {tol}, {max_iter}")
        self._set("lattice", lattice)
        self._set("potential", potential)
        self._set("relax", lattice.n_basis > 1 if relax is None else bool(relax))
        self._set("tol", float(tol))
        self._set("max_iter", int(max_iter))
        self._set("_cache", {})

    def __repr__(self) -> str:
        return f"CauchyBorn({self.lattice.name}, {self.potential!r}, relax={self.relax})"

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the deformation gradient (``d*d`` gradient components)."""
        return self.lattice.dim

    # ------------------------------------------------------------------ lattice sums
    def _bonds(self, radius: float) -> _Bonds:
        """Bonds up to ``radius``, cached on a grid of radii (a tenth of ``a``)."""
        step = 0.1 * self.lattice.a
        key = int(np.ceil(radius / step))
        if key not in self._cache:
            alpha, beta, R = self.lattice.bonds(key * step)
            Q = np.zeros((len(R), self.lattice.n_basis))
            np.add.at(Q, (np.arange(len(R)), beta), 1.0)
            np.add.at(Q, (np.arange(len(R)), alpha), -1.0)
            self._cache[key] = _Bonds(alpha, beta, R, Q)
        return self._cache[key]

    def _sums(self, F: Array, s: Array, *, second: bool = True) -> _Sums:
        smin = np.linalg.svd(F, compute_uv=False)[:, -1].min()
        reach = self.potential.cutoff + 2.0 * np.max(np.linalg.norm(s, axis=-1), initial=0.0)
        b = self._bonds(reach / smin)
        y = np.einsum("nij,bj->nbi", F, b.R) + s[:, b.beta] - s[:, b.alpha]
        r = np.linalg.norm(y, axis=-1)
        c = 1.0 / (2.0 * self.lattice.cell_volume)
        dphi = self.potential.dphi(r)
        g = (dphi / r)[..., None] * y
        Q = b.Q[:, 1:]
        W = c * self.potential.phi(r).sum(axis=1)
        P = c * np.einsum("nbi,bj->nij", g, b.R)
        Ws = c * np.einsum("nbi,bc->nci", g, Q)
        fs = c * np.abs(dphi).sum(axis=1)
        if not second:
            return _Sums(W, P, Ws, fs)
        n = y / r[..., None]
        nn = n[..., :, None] * n[..., None, :]
        t = (dphi / r)[..., None, None]
        k = self.potential.d2phi(r)[..., None, None] * nn + t * (np.eye(self.dim) - nn)
        A = c * np.einsum("nbik,bj,bl->nijkl", k, b.R, b.R, optimize=True)
        Wss = c * np.einsum("nbik,bc,be->nciek", k, Q, Q, optimize=True)
        WFs = c * np.einsum("nbik,bj,be->nijek", k, b.R, Q, optimize=True)
        return _Sums(W, P, Ws, fs, A, Wss, WFs, k, b)

    def _as_F(self, gradient: ArrayLike) -> tuple[Array, tuple[int, ...]]:
        g = np.asarray(gradient, dtype=float)
        d = self.dim
        if g.ndim == 0 or g.shape[-1] != d * d:
            raise ValueError(
                f"CauchyBorn: gradient must be deformation gradients flattened row-major, "
                f"shape (..., {d * d}) for d = {d}, got shape {g.shape}"
            )
        F = g.reshape(-1, d, d)
        det = np.linalg.det(F)
        if not np.all(np.isfinite(g)) or np.any(det <= 0.0):
            bad = np.flatnonzero(~(det > 0.0))[:3]
            raise ValueError(
                f"CauchyBorn: deformation gradients must be finite with det F > 0, got "
                f"det F = {det[bad].tolist()} at points {bad.tolist()}"
            )
        return F, g.shape[:-1]

    def _relaxed(self, F: Array) -> tuple[Array, _Sums]:
        """Shifts minimising ``W`` at fixed ``F`` (Newton with backtracking) and the sums."""
        nb, d = self.lattice.n_basis, self.dim
        s = np.zeros((len(F), nb, d))
        if not self.relax or nb == 1:
            return s, self._sums(F, s)
        m = (nb - 1) * d
        history: list[float] = []
        for _ in range(self.max_iter + 1):
            S = self._sums(F, s)
            res = np.abs(S.Ws).reshape(len(F), m).max(axis=1) / S.force_scale
            history.append(float(res.max()))
            if history[-1] <= self.tol:
                return s, S
            grad = S.Ws.reshape(-1, m)
            lam, V = np.linalg.eigh(S.Wss.reshape(-1, m, m))
            lam = np.maximum(np.abs(lam), 1e-12 * np.abs(lam).max(axis=1, keepdims=True))
            step = -np.einsum("nij,nj->ni", V, np.einsum("nji,nj->ni", V, grad) / lam)
            slope = np.einsum("ni,ni->n", grad, step)
            t = np.ones(len(F))
            for _ in range(30):  # per-point backtracking: Armijo or a smaller residual
                trial = s.copy()
                trial[:, 1:] += (t[:, None] * step).reshape(-1, nb - 1, d)
                T = self._sums(F, trial, second=False)
                res_t = np.abs(T.Ws).reshape(len(F), m).max(axis=1) / T.force_scale
                ok = (T.W <= S.W + 1e-4 * t * slope) | (res_t < 0.5 * res)
                if ok.all():
                    break
                t = np.where(ok, t, 0.5 * t)
            s = trial
        raise ConvergenceError(
            "CauchyBorn: sublattice shift relaxation did not converge; the deformed crystal "
            "may have no stable internal configuration (check stability) or raise max_iter",
            history,
        )

    def _tangent(self, S: _Sums) -> Array:
        """``(n, d*d, d*d)`` tangent, condensed over the relaxed shifts when relaxing."""
        n, mm = len(S.W), self.dim**2
        A = S.A.reshape(n, mm, mm)
        if not self.relax or self.lattice.n_basis == 1:
            return A
        m = (self.lattice.n_basis - 1) * self.dim
        B = S.WFs.reshape(n, mm, m)
        A = A - B @ np.linalg.solve(S.Wss.reshape(n, m, m), np.swapaxes(B, 1, 2))
        return 0.5 * (A + np.swapaxes(A, 1, 2))

    # ------------------------------------------------------------------ public API
    def evaluate(self, gradient: ArrayLike, state: None = None) -> tuple[Array, Array, None]:
        """First Piola-Kirchhoff stress ``(..., d*d)``, tangent ``(..., d*d, d*d)``, None."""
        F, batch = self._as_F(gradient)
        _, S = self._relaxed(F)
        mm = self.dim**2
        return S.P.reshape(*batch, mm), self._tangent(S).reshape(*batch, mm, mm), None

    def energy(self, gradient: ArrayLike) -> Array:
        """Strain energy per unit reference volume ``W(F)`` (relaxed), shape ``batch``."""
        F, batch = self._as_F(gradient)
        return self._relaxed(F)[1].W.reshape(batch)

    def shifts(self, gradient: ArrayLike) -> Array:
        """Relaxed sublattice shifts ``(..., n_basis, d)`` (deformed frame; first is 0)."""
        F, batch = self._as_F(gradient)
        return self._relaxed(F)[0].reshape(*batch, self.lattice.n_basis, self.dim)

    def cauchy_stress(self, gradient: ArrayLike) -> Array:
        """Cauchy stress ``sigma = P F^T / det F``, ``(..., d, d)``."""
        F, batch = self._as_F(gradient)
        P = self._relaxed(F)[1].P
        sig = P @ np.swapaxes(F, 1, 2) / np.linalg.det(F)[:, None, None]
        return sig.reshape(*batch, self.dim, self.dim)

    def elastic_constants(self, notation: Literal["mandel", "voigt"] = "mandel") -> Array:
        """Elastic constants ``d2W/dE2`` at ``F = I``: Mandel ``(3, 3)`` / ``(6, 6)`` (d=1: 1x1).

        At a stress-free reference these are the usual small-strain constants; with a
        residual stress ``S0`` they are the Lagrangian constants (``A - I (x) S0``).

        Examples
        --------
        >>> from scalebridge.atomistic.lattice import chain
        >>> from scalebridge.atomistic.potentials import Harmonic
        >>> CauchyBorn(chain(1.0), Harmonic(k=2.0)).elastic_constants().tolist()
        [[2.0]]
        """
        if notation not in ("mandel", "voigt"):
            raise ValueError(
                f"elastic_constants: notation must be 'mandel' or 'voigt', got {notation!r}"
            )
        F = np.eye(self.dim)[None]
        S = self._relaxed(F)[1]
        return moduli_matrix(lagrangian_moduli(F, S.P, self._tangent(S)), notation)[0]

    def stability(
        self, gradient: ArrayLike, *, directions: int = 180, kpoints: int | None = None
    ) -> StabilityResult:
        """Elastic (Born, strong ellipticity) and phonon stability at each ``F``.

        Parameters
        ----------
        gradient : array_like
            Deformation gradients ``(..., d*d)``.
        directions : int
            Directions sampled for the acoustic tensor (2D: angles in ``[0, pi)``; 3D:
            Fibonacci points on a hemisphere plus the cubic symmetry directions).
        kpoints : int, optional
            Gamma-centred grid of ``kpoints^d`` reference wavevectors of the primitive
            reciprocal cell for the dynamical matrix (unit masses, q = 0 excluded);
            0 skips the phonon check.  Default: 64 (1D), 16 (2D), 6 (3D).

        Examples
        --------
        >>> from scalebridge.atomistic.lattice import chain
        >>> from scalebridge.atomistic.potentials import LennardJones
        >>> law = CauchyBorn(chain(2 ** (1 / 6)), LennardJones(cutoff=1.5, smooth=False))
        >>> law.stability([[1.0], [1.3]]).stable.tolist()  # tension past the inflection
        [True, False]
        """
        F, batch = self._as_F(gradient)
        _, S = self._relaxed(F)
        kpoints = {1: 64, 2: 16, 3: 6}[self.dim] if kpoints is None else int(kpoints)
        ph = self._phonon_eigenvalues(S, kpoints) if kpoints > 0 else None
        return elastic_stability(F, S.P, self._tangent(S), batch, directions, ph)

    def _phonon_eigenvalues(self, S: _Sums, kpoints: int) -> Array:
        """Eigenvalues ``(n, n_q, n_basis d)`` of the dynamical matrix on the q-grid.

        ``D_ce(q) = sum_b k_b [delta_(alpha c) delta_(ce) - delta_(alpha c) delta_(beta e)
        exp(i q.R_b)]`` (unit masses), from the Hessian of ``1/2 sum phi`` over the crystal.
        """
        d, nb = self.dim, self.lattice.n_basis
        b = S.bonds
        frac = np.stack(np.meshgrid(*[np.arange(kpoints)] * d, indexing="ij"), -1)
        frac = frac.reshape(-1, d)[1:] / kpoints  # drop q = 0
        phase = (frac @ self.lattice.reciprocal) @ b.R.T  # (nq, B)
        if nb == 1:
            D = np.einsum("qb,nbik->nqik", 1.0 - np.cos(phase), S.k, optimize=True)
            return np.linalg.eigvalsh(D)
        Ia = np.eye(nb)[b.alpha]
        Ib = np.eye(nb)[b.beta]
        onsite = np.einsum("bc,nbik->ncik", Ia, S.k)
        D = -np.einsum("qb,bc,be,nbik->nqciek", np.exp(1j * phase), Ia, Ib, S.k, optimize=True)
        idx = np.arange(nb)
        D[:, :, idx, :, idx, :] += onsite.transpose(1, 0, 2, 3)[:, :, None]
        m = nb * d
        return np.linalg.eigvalsh(D.reshape(len(S.W), -1, m, m))


def relax_lattice_constant(lattice: Lattice, potential: PairPotential) -> Lattice:
    """The lattice scaled isotropically to zero pressure (``tr P(lambda I) = 0``).

    The root is bracketed on ``lambda`` in ``[0.5, 2]`` (the first sign change from
    compression to tension) and refined with Brent's method; for ``hcp`` only the scale is
    relaxed, not ``c/a``.

    Examples
    --------
    >>> from scalebridge.atomistic.lattice import chain
    >>> from scalebridge.atomistic.potentials import LennardJones
    >>> lat = relax_lattice_constant(chain(1.0), LennardJones(cutoff=1.5, smooth=False))
    >>> round(lat.a, 9) == round(2 ** (1 / 6), 9)
    True
    """
    law = CauchyBorn(lattice, potential)
    d = lattice.dim

    def pressure(lam: Array) -> Array:
        F = np.multiply.outer(np.atleast_1d(lam), np.eye(d)).reshape(-1, d * d)
        return law.evaluate(F)[0].reshape(-1, d, d).trace(axis1=1, axis2=2)

    grid = np.linspace(0.5, 2.0, 151)
    p = pressure(grid)
    change = np.flatnonzero((p[:-1] < 0) & (p[1:] > 0))
    if change.size == 0:
        raise ValueError(
            f"relax_lattice_constant: no zero-pressure scale of {lattice.name} in [0.5, 2] "
            f"x a = {lattice.a} for {potential!r}; choose a closer lattice constant"
        )
    lo, hi = grid[change[0]], grid[change[0] + 1]
    lam = brentq(lambda x: float(pressure(x)[0]), lo, hi, xtol=1e-15, rtol=1e-15)
    return lattice.scaled(lam)
