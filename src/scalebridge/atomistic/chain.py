"""Finite crystals with pair bonds, their energy as a bond sum, and lattice statics.

A `Crystal` is a set of atoms at reference positions ``X`` with the bonds of a *shell*:
half-shell reference vectors ``r_s`` (each bond listed once), each with its own pair
potential, so a 1D chain may carry different nearest- (NN) and next-nearest-neighbour
(NNN) springs.  Defects: vacancies (`Crystal.without`) and soft or broken bonds
(`Crystal.with_bond_scale`, the bond energy multiplied by a factor, 0 = broken).

Every energy of this package (full atomistics, quasicontinuum, bridging domain) is a
`BondSum`: with displacements ``U`` of some nodes (atoms or representative atoms) and a
sparse linear map ``C`` giving each bond's stretch,

    E(U) = sum_b w_b phi_(p_b)(|R_b + (C U)_b|),

so one vectorised routine gives energy, forces and the sparse Hessian
``H = G^T blockdiag(k_b) G``, ``G = C (x) I_d``, ``k_b = w (phi'' n n + phi'/r (I - n n))``.
`minimize` is a Newton method with backtracking (optionally on the saddle-point system of
linear constraints ``B U = 0``) or SciPy's L-BFGS-B; `relax_crystal` is lattice statics
with dead loads and prescribed displacements.

>>> from scalebridge.atomistic.potentials import Harmonic
>>> c = linear_chain(5, spacing=1.0, nearest=Harmonic(k=1.0, r0=1.0, cutoff=float("inf")))
>>> load = Loading.clamped(c, fixed=[0], force={4: 0.1})
>>> round(float(relax_crystal(c, load).displacement[-1, 0]), 10)  # 4 springs, f/k each
0.4
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize as scipy_minimize
from scipy.spatial import cKDTree

from scalebridge.atomistic.potentials import PairPotential
from scalebridge.errors import ConvergenceError

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
log = logging.getLogger(__name__)

__all__ = [
    "BondSum",
    "Crystal",
    "Loading",
    "Relaxation",
    "crystal_energy",
    "linear_chain",
    "minimize",
    "relax_crystal",
    "triangular_patch",
]

GTOL = 1e-9
"""Default tolerance on the largest free force component (energy / length units)."""


def _readonly(a: ArrayLike, dtype: type = float) -> NDArray:
    out = np.array(a, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Crystal:
    """Atoms, their pair bonds and the lattice shell they come from.

    Parameters
    ----------
    positions : array_like, shape (n, d)
        Reference positions ``X``.
    shell : array_like, shape (s, d)
        Half-shell reference bond vectors (``r`` listed, ``-r`` not).
    shell_potential : array_like of int, shape (s,)
        Index into ``potentials`` of each shell vector.
    potentials : sequence of PairPotential
    volume : float
        Reference volume (length, area) per atom ``Omega`` of the perfect lattice.
    sites : array_like of int, shape (n, d), optional
        Integer lattice coordinates (used by the graded mesh builders).
    bonds, bond_shell, bond_scale
        Computed from the positions when omitted: every pair ``(i, j)`` with
        ``X_j - X_i`` equal to a shell vector; ``bond_scale`` multiplies the bond energy.
    """

    positions: Array
    shell: Array
    shell_potential: IntArray
    potentials: tuple[PairPotential, ...]
    volume: float
    sites: IntArray | None = None
    bonds: IntArray = field(default=None)  # type: ignore[assignment]
    bond_shell: IntArray = field(default=None)  # type: ignore[assignment]
    bond_scale: Array = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        X = _readonly(self.positions)
        if X.ndim != 2 or X.shape[1] not in (1, 2, 3) or len(X) < 2:
            raise ValueError(f"Crystal: positions must be (n >= 2, d <= 3), got {X.shape}")
        shell = _readonly(np.reshape(self.shell, (-1, X.shape[1])))
        pots = tuple(self.potentials)
        sp_idx = _readonly(self.shell_potential, np.int64)
        if sp_idx.shape != (len(shell),) or sp_idx.min() < 0 or sp_idx.max() >= len(pots):
            raise ValueError(
                f"Crystal: shell_potential must hold {len(shell)} indices in [0, {len(pots)}), "
                f"got {self.shell_potential!r}"
            )
        if not self.volume > 0:
            raise ValueError(f"Crystal: volume must be positive, got {self.volume!r}")
        for name, value in (("positions", X), ("shell", shell), ("shell_potential", sp_idx)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "potentials", pots)
        if self.sites is not None:
            object.__setattr__(self, "sites", _readonly(self.sites, np.int64))
        if self.bonds is None:
            bonds, bshell = _find_bonds(X, shell)
            object.__setattr__(self, "bonds", _readonly(bonds, np.int64))
            object.__setattr__(self, "bond_shell", _readonly(bshell, np.int64))
            object.__setattr__(self, "bond_scale", _readonly(np.ones(len(bonds))))

    @property
    def dim(self) -> int:
        """Spatial dimension ``d``."""
        return int(self.positions.shape[1])

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return int(self.positions.shape[0])

    @property
    def bond_potential(self) -> IntArray:
        """Potential index of every bond."""
        return self.shell_potential[self.bond_shell]

    @property
    def cutoff(self) -> float:
        """Longest reference bond of the shell."""
        return float(np.linalg.norm(self.shell, axis=1).max())

    @cached_property
    def tree(self) -> cKDTree:
        """KD-tree of the reference positions (built once)."""
        return cKDTree(self.positions)

    def find(self, points: ArrayLike) -> IntArray:
        """Index of the atom at each of ``points`` (-1 where there is none)."""
        pts = np.reshape(np.asarray(points, dtype=float), (-1, self.dim))
        dist, idx = self.tree.query(pts, distance_upper_bound=1e-6 * _scale(self.shell))
        return np.where(np.isfinite(dist), idx, -1)

    def without(self, atoms: ArrayLike) -> Crystal:
        """The crystal with ``atoms`` removed (vacancies); bonds to them disappear."""
        drop = np.zeros(self.n_atoms, bool)
        drop[np.asarray(atoms, dtype=np.int64)] = True
        keep = np.flatnonzero(~drop)
        new = np.full(self.n_atoms, -1)
        new[keep] = np.arange(keep.size)
        ok = ~drop[self.bonds].any(axis=1)
        return Crystal(
            self.positions[keep],
            self.shell,
            self.shell_potential,
            self.potentials,
            self.volume,
            None if self.sites is None else self.sites[keep],
            new[self.bonds[ok]],
            self.bond_shell[ok],
            self.bond_scale[ok],
        )

    def with_bond_scale(self, bonds: ArrayLike, factor: float) -> Crystal:
        """The crystal with the energy of ``bonds`` (indices) multiplied by ``factor`` >= 0."""
        if not factor >= 0:
            raise ValueError(f"with_bond_scale: factor must be >= 0, got {factor!r}")
        scale = self.bond_scale.copy()
        scale[np.asarray(bonds, dtype=np.int64)] *= factor
        return Crystal(
            self.positions,
            self.shell,
            self.shell_potential,
            self.potentials,
            self.volume,
            self.sites,
            self.bonds,
            self.bond_shell,
            scale,
        )

    def bond_between(self, i: int, j: int) -> int:
        """Index of the bond joining atoms ``i`` and ``j`` (ValueError if none)."""
        hit = np.flatnonzero(
            ((self.bonds[:, 0] == i) & (self.bonds[:, 1] == j))
            | ((self.bonds[:, 0] == j) & (self.bonds[:, 1] == i))
        )
        if hit.size == 0:
            raise ValueError(f"bond_between: atoms {i} and {j} are not bonded")
        return int(hit[0])


def _scale(shell: Array) -> float:
    return float(np.linalg.norm(shell, axis=1).min())


def _find_bonds(X: Array, shell: Array) -> tuple[IntArray, IntArray]:
    tree = cKDTree(X)
    tol = 1e-6 * _scale(shell)
    out_b, out_s = [], []
    for s, r in enumerate(shell):
        dist, j = tree.query(X + r, distance_upper_bound=tol)
        i = np.flatnonzero(np.isfinite(dist))
        out_b.append(np.stack([i, j[i]], axis=1))
        out_s.append(np.full(i.size, s))
    return np.concatenate(out_b).astype(np.int64), np.concatenate(out_s).astype(np.int64)


def linear_chain(
    n: int,
    *,
    spacing: float = 1.0,
    nearest: PairPotential,
    next_nearest: PairPotential | None = None,
) -> Crystal:
    """A chain of ``n`` atoms at ``X_i = i * spacing`` with NN (and optionally NNN) bonds.

    The bonds are topological: the NN potential acts on ``(i, i+1)``, the NNN one on
    ``(i, i+2)``, whatever their cutoffs (a single potential reaching both shells is
    passed as both ``nearest`` and ``next_nearest``).

    Examples
    --------
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> linear_chain(6, nearest=Harmonic(), next_nearest=Harmonic(r0=2.0, cutoff=3.0)).bonds.shape
    (9, 2)
    """
    if not (isinstance(n, int | np.integer) and n >= 3):
        raise ValueError(f"linear_chain: n must be an integer >= 3, got {n!r}")
    if not spacing > 0:
        raise ValueError(f"linear_chain: spacing must be positive, got {spacing!r}")
    pots = (nearest,) if next_nearest is None else (nearest, next_nearest)
    shell = [[spacing]] if next_nearest is None else [[spacing], [2.0 * spacing]]
    idx = np.arange(n)
    return Crystal(
        idx[:, None] * float(spacing),
        shell,
        np.arange(len(pots)),
        pots,
        spacing,
        sites=idx[:, None],
    )


def triangular_patch(nx: int, ny: int, *, spacing: float, potential: PairPotential) -> Crystal:
    """A rectangle of the triangular lattice, nearest-neighbour distance ``spacing``.

    Row ``j`` (``y = j sqrt(3)/2 a``, ``j < ny``, ``ny`` odd) holds ``nx`` atoms at
    ``x = c a`` when ``j`` is even and ``nx - 1`` atoms at ``x = (c + 1/2) a`` when odd, so the
    convex hull is the rectangle ``[0, (nx-1) a] x [0, (ny-1) sqrt(3)/2 a]`` with an atom
    at each corner.  The shell holds every lattice vector shorter than the cutoff.
    ``sites`` are ``(c, j)``.

    Examples
    --------
    >>> from scalebridge.atomistic.potentials import LennardJones
    >>> c = triangular_patch(5, 5, spacing=1.0, potential=LennardJones(cutoff=1.5))
    >>> c.n_atoms, len(c.shell)
    (23, 3)
    """
    if not (nx >= 3 and ny >= 3 and ny % 2 == 1):
        raise ValueError(f"triangular_patch: need nx >= 3 and odd ny >= 3, got nx={nx}, ny={ny}")
    a = float(spacing)
    c, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    c, j = c.ravel(), j.ravel()
    keep = (j % 2 == 0) | (c < nx - 1)
    c, j = c[keep], j[keep]
    X = np.stack([(c + 0.5 * (j % 2)) * a, j * np.sqrt(3.0) / 2 * a], axis=1)
    a1, a2 = np.array([a, 0.0]), np.array([0.5 * a, np.sqrt(3.0) / 2 * a])
    m = int(np.ceil(potential.cutoff / a)) + 1
    p, q = np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1))
    R = p.ravel()[:, None] * a1 + q.ravel()[:, None] * a2
    rr = np.linalg.norm(R, axis=1)
    half = (R[:, 1] > 1e-9 * a) | ((np.abs(R[:, 1]) <= 1e-9 * a) & (R[:, 0] > 0))
    shell = R[half & (rr < potential.cutoff)]
    if len(shell) == 0:
        raise ValueError(f"triangular_patch: cutoff {potential.cutoff} < spacing {a}: no bonds")
    return Crystal(
        X,
        shell,
        np.zeros(len(shell), np.int64),
        (potential,),
        np.sqrt(3.0) / 2 * a * a,
        sites=np.stack([c, j], axis=1),
    )


# ---------------------------------------------------------------------------- bond sums
def incidence(bonds: IntArray, n: int) -> sp.csr_matrix:
    """``C`` with ``(C U)_b = U_j - U_i`` for bond ``b = (i, j)``."""
    m = len(bonds)
    rows = np.repeat(np.arange(m), 2)
    cols = bonds[:, ::-1].ravel()
    vals = np.tile([1.0, -1.0], m)
    return sp.csr_matrix((vals, (rows, cols)), shape=(m, n))


@dataclass(frozen=True, eq=False)
class BondSum:
    """``E(U) = sum_b w_b phi_(p_b)(|R_b + (C U)_b|)`` over nodes with displacements ``U``.

    Parameters
    ----------
    operator : sparse matrix, shape (m, n_nodes)
        ``C``: the stretch of bond ``b`` is ``(C U)_b`` (``U`` of shape ``(n_nodes, d)``).
    reference : array_like, shape (m, d)
        Reference bond vectors ``R_b``.
    weight : array_like, shape (m,)
    potential : array_like of int, shape (m,)
    potentials : sequence of PairPotential

    Examples
    --------
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> s = BondSum(incidence(np.array([[0, 1]]), 2), [[1.0]], [1.0], [0], (Harmonic(k=2.0),))
    >>> round(float(s.energy(np.array([[0.0], [0.4]]))), 12)  # k/2 (0.4)^2
    0.16
    """

    operator: sp.csr_matrix
    reference: Array
    weight: Array
    potential: IntArray
    potentials: tuple[PairPotential, ...]

    def __post_init__(self) -> None:
        C = sp.csr_matrix(self.operator)
        R = np.asarray(self.reference, dtype=float)
        if R.ndim != 2:
            R = R.reshape(C.shape[0], -1)
        w = np.broadcast_to(np.asarray(self.weight, dtype=float), (C.shape[0],))
        p = np.broadcast_to(np.asarray(self.potential, dtype=np.int64), (C.shape[0],))
        for name, value in (("operator", C), ("reference", R), ("weight", w), ("potential", p)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "potentials", tuple(self.potentials))
        d = R.shape[1]
        object.__setattr__(self, "_G", sp.kron(C, sp.identity(d), format="csr"))

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``U`` refers to."""
        return int(self.operator.shape[1])

    def _stretch(self, U: Array) -> tuple[Array, Array]:
        y = self.reference + self.operator @ U
        return y, np.linalg.norm(y, axis=1)

    def _eval(self, r: Array, order: int) -> Array:
        out = np.zeros_like(r)
        for k, pot in enumerate(self.potentials):
            sel = self.potential == k
            f = (pot.phi, pot.dphi, pot.d2phi)[order]
            out[sel] = f(r[sel])
        return out * self.weight

    def energy(self, U: Array) -> float:
        """Energy at nodal displacements ``U`` ``(n_nodes, d)``."""
        return float(self._eval(self._stretch(U)[1], 0).sum())

    def bond_forces(self, U: Array) -> Array:
        """``w phi'(r) y / r`` per bond, ``(m, d)``."""
        y, r = self._stretch(U)
        return (self._eval(r, 1) / r)[:, None] * y

    def gradient(self, U: Array) -> Array:
        """``dE/dU``, shape ``(n_nodes, d)``."""
        return np.asarray(self.operator.T @ self.bond_forces(U))

    def hessian(self, U: Array) -> sp.csr_matrix:
        """``d2E/dU2`` on ``U.ravel()`` (node-major), sparse ``(n_nodes d, n_nodes d)``."""
        y, r = self._stretch(U)
        d = y.shape[1]
        n = y / r[:, None]
        nn = n[:, :, None] * n[:, None, :]
        t = (self._eval(r, 1) / r)[:, None, None]
        K = self._eval(r, 2)[:, None, None] * nn + t * (np.eye(d) - nn)
        m = len(r)
        Kb = sp.bsr_matrix((K, np.arange(m), np.arange(m + 1)), shape=(m * d, m * d))
        G: sp.csr_matrix = self._G  # type: ignore[attr-defined]
        return sp.csr_matrix(G.T @ (Kb @ G))

    def select(self, keep: BoolArray) -> BondSum:
        """The sum restricted to the bonds where ``keep`` is True."""
        return BondSum(
            self.operator[keep],
            self.reference[keep],
            self.weight[keep],
            self.potential[keep],
            self.potentials,
        )

    @staticmethod
    def join(parts: Sequence[BondSum]) -> BondSum:
        """One bond sum holding the bonds of ``parts`` (same nodes and potentials)."""
        return BondSum(
            sp.vstack([p.operator for p in parts], format="csr"),
            np.concatenate([p.reference for p in parts]),
            np.concatenate([p.weight for p in parts]),
            np.concatenate([p.potential for p in parts]),
            parts[0].potentials,
        )


def crystal_energy(crystal: Crystal) -> BondSum:
    """The full atomistic energy of ``crystal`` as a `BondSum` over its atoms."""
    X, b = crystal.positions, crystal.bonds
    return BondSum(
        incidence(b, crystal.n_atoms),
        X[b[:, 1]] - X[b[:, 0]],
        crystal.bond_scale,
        crystal.bond_potential,
        crystal.potentials,
    )


# ------------------------------------------------------------------------- loadings
@dataclass(frozen=True, eq=False)
class Loading:
    """Boundary conditions on atoms: prescribed displacements and dead forces.

    Parameters
    ----------
    fixed : array_like of bool, shape (n_atoms,)
        Atoms whose displacement is prescribed (all components).
    displacement : array_like, shape (n_atoms, d)
        Prescribed displacement (read where ``fixed``).
    force : array_like, shape (n_atoms, d)
        External dead forces.
    initial : array_like, shape (n_atoms, d), optional
        Starting guess for the relaxations (default: zero on free atoms).
    """

    fixed: BoolArray
    displacement: Array
    force: Array
    initial: Array | None = None

    @staticmethod
    def clamped(
        crystal: Crystal,
        fixed: ArrayLike,
        *,
        force: Mapping[int, float | ArrayLike] | None = None,
        F: ArrayLike | None = None,
    ) -> Loading:
        """Atoms ``fixed`` (indices or mask) at ``(F - I) X`` (zero if ``F`` is None), forces.

        With ``F`` the relaxations start from the affine field ``(F - I) X``.

        Examples
        --------
        >>> from scalebridge.atomistic.potentials import Harmonic
        >>> c = linear_chain(4, nearest=Harmonic())
        >>> Loading.clamped(c, [0, 3], F=[[1.1]]).displacement[3].tolist()
        [0.30000000000000027]
        """
        n, d = crystal.n_atoms, crystal.dim
        mask = np.zeros(n, bool)
        fx = np.asarray(fixed)
        mask[fx if fx.dtype != bool else np.flatnonzero(fx)] = True
        Fm = np.eye(d) if F is None else np.asarray(F, dtype=float).reshape(d, d)
        u = crystal.positions @ (Fm - np.eye(d)).T
        f = np.zeros((n, d))
        for i, v in (force or {}).items():
            f[i] = v
        return Loading(mask, u, f, None if F is None else u)


@dataclass(frozen=True)
class Relaxation:
    """A relaxed configuration.

    Attributes
    ----------
    displacement : ndarray, shape (n_nodes, d)
    energy : float
        Stored energy (external work not included).
    residual : float
        Largest free force component at the end.
    iterations : int
    history : ndarray
        Largest free force component after each iteration (first entry: initial).
    """

    displacement: Array
    energy: float
    residual: float
    iterations: int
    history: Array


Objective = Callable[..., tuple[float, Array, sp.spmatrix | None]]
"""``fun(x, hessian=True) -> (energy, gradient, Hessian or None)`` on flat vectors."""


def _raise(history: list[float], what: str, hint: str) -> None:
    h = np.asarray(history)
    raise ConvergenceError(f"{what} did not converge; {hint}", h / max(h[0], 1e-300))


def minimize(
    fun: Objective,
    x0: ArrayLike,
    free: ArrayLike,
    *,
    constraint: sp.spmatrix | None = None,
    method: str = "newton",
    gtol: float = GTOL,
    max_iter: int = 200,
) -> Relaxation:
    """Minimise ``fun`` over the ``free`` entries of ``x``, optionally with ``B x = 0``.

    Parameters
    ----------
    fun : callable
        ``fun(x, hessian=True) -> (energy, gradient, sparse Hessian)`` on flat vectors
        (the Hessian may be None when ``hessian`` is False).
    x0 : array_like
        Start (fixed entries keep their value; the free ones are first moved onto the
        constraint by the least-norm correction).
    free : array_like of bool
    constraint : sparse matrix, optional
        ``B`` of the linear constraints ``B x = 0``; Newton then solves the saddle-point
        system ``[H B^T; B 0]`` (Lagrange multipliers).
    method : {"newton", "lbfgs"}
        Newton with backtracking (exact sparse Hessian) or SciPy's L-BFGS-B (whose energy
        comparisons limit it to gradients of about ``1e-7`` x the force scale).
    gtol : float
        Tolerance on the largest component of ``g + B^T lambda`` over free entries.
    max_iter : int

    Returns
    -------
    Relaxation

    Raises
    ------
    ConvergenceError
        With the history of the largest free force component.
    """
    x = np.array(x0, dtype=float).ravel()
    free = np.asarray(free, bool).ravel()
    if method not in ("newton", "lbfgs"):
        raise ValueError(f"minimize: method must be 'newton' or 'lbfgs', got {method!r}")
    if method == "lbfgs":
        if constraint is not None:
            raise ValueError("minimize: method='lbfgs' has no constraints; use 'newton'")
        return _lbfgs(fun, x, free, gtol, max_iter)
    B = None if constraint is None else sp.csr_matrix(constraint)[:, free]
    if B is not None:  # start on the constraint: least-norm correction of the free entries
        c = sp.csr_matrix(constraint) @ x
        if np.abs(c).max(initial=0.0) > 0:
            x[free] -= B.T @ spla.spsolve(sp.csc_matrix(B @ B.T), c)
    history: list[float] = []
    E, g, H = fun(x)
    for it in range(max_iter + 1):
        gf = g[free]
        Hff = sp.csr_matrix(H)[free][:, free]
        dx, lam = _newton_step(Hff, gf, B)
        r = gf if B is None else gf + B.T @ lam
        history.append(float(np.abs(r).max(initial=0.0)))
        if history[-1] <= gtol:
            return Relaxation(x.reshape(np.shape(x0)), E, history[-1], it, np.array(history))
        if it == max_iter:
            break
        slope = float(gf @ dx)
        if not slope < 0:
            dx, lam = _newton_step(Hff, gf, B, shift=1e-6 * abs(Hff.diagonal()).max())
            slope = float(gf @ dx)
        step, accepted = 1.0, False
        for _ in range(40):
            xt = x.copy()
            xt[free] += step * dx
            Et, gt, Ht = fun(xt)
            if Et <= E + 1e-4 * step * slope + 1e-13 * abs(E):
                accepted = True
                break
            step *= 0.5
        if not accepted:
            break
        x, E, g, H = xt, Et, gt, Ht
    _raise(history, "minimize (Newton)", "check the loading (instability?) or raise max_iter")
    raise AssertionError  # unreachable


def _newton_step(
    H: sp.csr_matrix, g: Array, B: sp.csr_matrix | None, shift: float = 0.0
) -> tuple[Array, Array]:
    n = H.shape[0]
    if shift:
        H = H + shift * sp.identity(n, format="csr")
    if B is None:
        return -spla.spsolve(sp.csc_matrix(H), g, permc_spec="MMD_AT_PLUS_A"), np.zeros(0)
    k = B.shape[0]
    K = sp.bmat([[H, B.T], [B, None]], format="csc")
    sol = spla.spsolve(K, np.concatenate([-g, np.zeros(k)]), permc_spec="MMD_AT_PLUS_A")
    return sol[:n], sol[n:]


def _lbfgs(fun: Objective, x: Array, free: BoolArray, gtol: float, max_iter: int) -> Relaxation:
    history: list[float] = []

    E0 = fun(x, False)[0]  # L-BFGS-B's stopping test is relative to |f|: shift f to ~0

    def f(z: Array) -> tuple[float, Array]:
        x[free] = z
        E, g, _ = fun(x, False)
        history.append(float(np.abs(g[free]).max(initial=0.0)))
        return E - E0, g[free]

    res = scipy_minimize(
        f,
        x[free],
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 50 * max_iter, "gtol": gtol, "ftol": 0.0, "maxcor": 30},
    )
    E, gr = f(res.x)
    E += E0
    if np.abs(gr).max(initial=0.0) > gtol:
        _raise(history, "minimize (L-BFGS-B)", f"scipy says {res.message!r}; try 'newton'")
    return Relaxation(x, E, history[-1], int(res.nit), np.array(history))


def relax_crystal(
    crystal: Crystal,
    loading: Loading,
    *,
    method: str = "newton",
    gtol: float = GTOL,
    max_iter: int = 200,
    initial: ArrayLike | None = None,
) -> Relaxation:
    """Lattice statics: minimise ``E(U) - f . U`` with ``U = U_bar`` on fixed atoms.

    Parameters
    ----------
    crystal : Crystal
    loading : Loading
    method : {"newton", "lbfgs"}
    gtol : float
        Tolerance on the largest free force component.
    max_iter : int
    initial : array_like, optional
        Starting displacement (default: zero, prescribed values on fixed atoms).

    Returns
    -------
    Relaxation
        ``energy`` is the stored energy ``E(U)``.
    """
    model = crystal_energy(crystal)
    shape = (crystal.n_atoms, crystal.dim)
    free = np.repeat(~np.asarray(loading.fixed, bool)[:, None], crystal.dim, axis=1)
    if initial is None:
        initial = loading.initial
    return relax_energy(
        model,
        loading.force,
        free,
        loading.displacement,
        shape,
        method=method,
        gtol=gtol,
        max_iter=max_iter,
        initial=initial,
    )


def relax_energy(
    model: BondSum,
    force: Array,
    free: BoolArray,
    prescribed: Array,
    shape: tuple[int, int],
    *,
    method: str = "newton",
    gtol: float = GTOL,
    max_iter: int = 200,
    initial: ArrayLike | None = None,
    extra: Callable[[Array], tuple[float, Array, sp.spmatrix]] | None = None,
    constraint: sp.spmatrix | None = None,
) -> Relaxation:
    """Minimise ``model.energy(U) - force . U (+ extra)`` over free entries (see `minimize`)."""
    f = np.asarray(force, dtype=float).ravel()

    def fun(x: Array, hessian: bool = True) -> tuple[float, Array, sp.spmatrix | None]:
        U = x.reshape(shape)
        E = model.energy(U) - f @ x
        g = model.gradient(U).ravel() - f
        H = model.hessian(U) if hessian else None
        if extra is not None:
            e2, g2, h2 = extra(x)
            E, g = E + e2, g + g2
            H = None if H is None else H + h2
        return E, g, H

    x0 = np.zeros(shape) if initial is None else np.array(initial, dtype=float).reshape(shape)
    x0[~free] = np.asarray(prescribed, dtype=float).reshape(shape)[~free]
    res = minimize(
        fun, x0, free, constraint=constraint, method=method, gtol=gtol, max_iter=max_iter
    )
    U = res.displacement.reshape(shape)
    return Relaxation(U, model.energy(U), res.residual, res.iterations, res.history)
