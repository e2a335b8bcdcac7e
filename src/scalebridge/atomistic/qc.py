"""Quasicontinuum (QC) method for chains and the triangular lattice.

Representative atoms (rep-atoms, a subset of the crystal's atoms) carry the degrees of
freedom; every atom follows the linear interpolation ``u(X_i) = sum_a N_a(X_i) U_a`` on a
triangulation of the rep-atoms (consecutive intervals in 1D, `scipy.spatial.Delaunay`
in 2D).  The atoms are split into *nonlocal* ones ``A`` (atomistic site energies) and
*local* ones ``C`` (Cauchy-Born).  With the half-shell bond vectors ``r_s`` of the crystal,
the site energy of an atom of the perfect lattice under a uniform ``F`` is
``Omega W(F) = sum_s phi_s(|F r_s|)``, and the couplings are:

``"energy"`` (QCE)
    ``E = sum_(i in A) E_i(y) + sum_(i in C) Omega W(F_(e(i)))``: every bond ``(i, j)``
    counted exactly with weight ``([i in A] + [j in A]) / 2`` (positions interpolated),
    and every element with weight ``|e| x (fraction of its vertices in C)`` (the share of
    the Voronoi cells of local atoms; elements touching ``A`` must be lattice simplices,
    coarse elements are wholly local).  It has *ghost forces*: under a uniform ``F``
    the atoms next to the interface feel spurious forces.
``"ghost-corrected"``
    QCE plus the dead load ``-(dE_QCE/dU - r_QCF)`` evaluated at the reference state
    (``U = 0``): the ghost forces of the undeformed crystal are removed exactly, those
    caused by the strain are not (Shenoy et al. recompute the correction, which converges
    to the force-based solution).
``"qnl"`` (quasi-nonlocal, Shimokawa et al.; chains only)
    As QCE, but a bond is exact iff its *centre* atom is nonlocal (the NNN bond
    ``(i-1, i+1)`` is centred at ``i``): no ghost forces for any uniform ``F``.
``"force"`` (QCF)
    No energy: the force on a nonlocal rep-atom is the atomistic force of the
    interpolated configuration, the force on a local rep-atom is that of the
    Cauchy-Born energy ``sum_e |e| W(F_e)`` over the whole mesh.  Ghost-force free in any
    dimension; the Jacobian is not symmetric.

`relax_qc` minimises (or, for ``"force"``, solves) with Newton or L-BFGS-B, `patch_test`
reports the ghost force of a uniform deformation, `adapt_qc` refines where the jump of
``F`` between neighbouring elements exceeds a threshold.

>>> from scalebridge.atomistic.chain import linear_chain
>>> from scalebridge.atomistic.potentials import Harmonic
>>> inf = float("inf")
>>> c = linear_chain(12, nearest=Harmonic(k=1.0, r0=1.0, cutoff=inf),
...                  next_nearest=Harmonic(k=0.5, r0=2.0, cutoff=inf))
>>> qc = quasicontinuum(c, np.arange(12), np.arange(12) < 6, coupling="energy")
>>> f = patch_test(qc, [[1.1]]).forces[4:8, 0]   # +-k2 a eps at the interface
>>> np.round(f, 12).tolist()
[-0.05, 0.05, 0.05, -0.05]
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import Delaunay, cKDTree

from scalebridge.atomistic.chain import (
    GTOL,
    BondSum,
    Crystal,
    Loading,
    _raise,
    _scale,
    incidence,
    relax_energy,
)

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
log = logging.getLogger(__name__)

__all__ = [
    "Adaptation",
    "Coupling",
    "PatchTest",
    "QCMesh",
    "QCSolution",
    "QuasiContinuum",
    "adapt_qc",
    "build_mesh",
    "graded_representatives",
    "gradient_jump",
    "pad_representatives",
    "patch_test",
    "quasicontinuum",
    "relax_qc",
]


class Coupling(Enum):
    """How local and nonlocal regions are joined (see the module docstring)."""

    ENERGY = "energy"
    GHOST_CORRECTED = "ghost-corrected"
    QNL = "qnl"
    FORCE = "force"

    @classmethod
    def parse(cls, value: str | Coupling) -> Coupling:
        """The member named by ``value`` (ValueError listing the allowed names)."""
        if isinstance(value, Coupling):
            return value
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            raise ValueError(f"coupling must be one of {allowed}, got {value!r}") from None


# ------------------------------------------------------------------------------ mesh
@dataclass(frozen=True, eq=False)
class QCMesh:
    """Linear simplices on the rep-atoms of a crystal.

    Attributes
    ----------
    crystal : Crystal
    rep : ndarray of int, shape (n_rep,)
        Atom index of every rep-atom.
    simplices : ndarray of int, shape (n_el, d + 1)
        Vertices as indices into ``rep``.
    gradients : ndarray, shape (n_el, d + 1, d)
        ``grad N_a`` of the vertex shape functions on each element.
    volumes : ndarray, shape (n_el,)
    boundary : ndarray of bool, shape (n_rep,)
        Rep-atoms on the boundary of the triangulated region.
    """

    crystal: Crystal
    rep: IntArray
    simplices: IntArray
    gradients: Array
    volumes: Array
    boundary: BoolArray

    @property
    def n_rep(self) -> int:
        """Number of rep-atoms."""
        return int(self.rep.size)

    @property
    def elementary_volume(self) -> float:
        """Volume of a lattice simplex ``Omega / d!``."""
        return self.crystal.volume / math.factorial(self.crystal.dim)

    def locate(self, points: ArrayLike, *, strict: bool = True) -> tuple[IntArray, Array]:
        """Element and barycentric coordinates ``(k, d + 1)`` of each point.

        Points outside the mesh raise a ValueError, or get element -1 if not ``strict``.
        """
        pts = np.reshape(np.asarray(points, dtype=float), (-1, self.crystal.dim))
        if self.crystal.dim == 1:
            xs = self.crystal.positions[self.rep[self.simplices[:, 0]], 0]
            xe = self.crystal.positions[self.rep[self.simplices[:, 1]], 0]
            e = np.clip(np.searchsorted(xs, pts[:, 0], side="right") - 1, 0, len(xs) - 1)
            t = (pts[:, 0] - xs[e]) / (xe[e] - xs[e])
            bad = (t < -1e-9) | (t > 1 + 1e-9)
            bary = np.stack([1.0 - t, t], axis=1)
        else:
            e, bary = self._locate_2d(pts)
            bad = e < 0
        if not strict:
            return np.where(bad, -1, e).astype(np.int64), bary
        if bad.any():
            raise ValueError(
                f"QCMesh.locate: {int(bad.sum())} point(s) lie outside the rep-atom mesh, "
                f"e.g. {pts[bad][0].tolist()}; include the hull atoms in rep"
            )
        return e.astype(np.int64), bary

    def _barycentric(self, e: IntArray, pts: Array) -> Array:
        x0 = self.crystal.positions[self.rep[self.simplices[e, 0]]]
        lam = np.einsum("kai,ki->ka", self.gradients[e], pts - x0)
        lam[:, 0] += 1.0
        return lam

    def _locate_2d(self, pts: Array) -> tuple[IntArray, Array]:
        """Candidates: the elements with the nearest centroids (more where none holds)."""
        X = self.crystal.positions[self.rep]
        tree = cKDTree(X[self.simplices].mean(axis=1))
        e = np.full(len(pts), -1, np.int64)
        bary = np.zeros((len(pts), 3))
        todo = np.arange(len(pts))
        tol = 1e-9
        for k in (4, 16, 64, len(self.simplices)):
            k = min(k, len(self.simplices))
            cand = tree.query(pts[todo], k=k)[1].reshape(len(todo), k)
            lam = self._barycentric(cand.ravel(), np.repeat(pts[todo], k, axis=0))
            inside = (lam.reshape(len(todo), k, 3) >= -tol).all(axis=2)
            hit = inside.any(axis=1)
            first = inside.argmax(axis=1)
            e[todo[hit]] = cand[hit, first[hit]]
            bary[todo[hit]] = lam.reshape(len(todo), k, 3)[hit, first[hit]]
            todo = todo[~hit]
            if todo.size == 0 or k == len(self.simplices):
                break
        return e, bary

    def interpolation(self, atoms: ArrayLike) -> sp.csr_matrix:
        """``N`` with ``u(X_atoms) = N U``, sparse ``(len(atoms), n_rep)``."""
        atoms = np.asarray(atoms, dtype=np.int64)
        e, bary = self.locate(self.crystal.positions[atoms])
        rows = np.repeat(np.arange(atoms.size), bary.shape[1])
        N = sp.csr_matrix(
            (bary.ravel(), (rows, self.simplices[e].ravel())), shape=(atoms.size, self.n_rep)
        )
        N.eliminate_zeros()
        return N

    def deformation_gradients(self, U: ArrayLike) -> Array:
        """``F_e = I + sum_a U_a (x) grad N_a`` on each element, ``(n_el, d, d)``."""
        U = np.asarray(U, dtype=float).reshape(self.n_rep, -1)
        d = U.shape[1]
        return np.eye(d) + np.einsum("eai,eaj->eij", U[self.simplices], self.gradients)

    def facet_neighbours(self) -> IntArray:
        """Pairs of elements sharing a facet, ``(k, 2)``."""
        if self.crystal.dim == 1:
            e = np.arange(len(self.simplices) - 1)
            return np.stack([e, e + 1], axis=1)
        faces, owner = _facets(self.simplices)
        order = np.lexsort(faces.T[::-1])
        f, o = faces[order], owner[order]
        same = np.all(f[1:] == f[:-1], axis=1)
        return np.stack([o[:-1][same], o[1:][same]], axis=1)


def _facets(simplices: IntArray) -> tuple[IntArray, IntArray]:
    k = simplices.shape[1]
    faces = np.concatenate([np.delete(simplices, i, axis=1) for i in range(k)])
    owner = np.tile(np.arange(len(simplices)), k)
    return np.sort(faces, axis=1), owner


def build_mesh(crystal: Crystal, rep: ArrayLike) -> QCMesh:
    """Triangulate the rep-atoms ``rep`` (atom indices) of ``crystal``.

    Examples
    --------
    >>> from scalebridge.atomistic.chain import linear_chain
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> m = build_mesh(linear_chain(9, nearest=Harmonic()), [0, 4, 8])
    >>> m.volumes.tolist(), m.interpolation([2]).toarray().tolist()
    ([4.0, 4.0], [[0.5, 0.5, 0.0]])
    """
    rep = np.unique(np.asarray(rep, dtype=np.int64))
    if rep.size < crystal.dim + 1 or rep.min() < 0 or rep.max() >= crystal.n_atoms:
        raise ValueError(
            f"build_mesh: rep must hold at least {crystal.dim + 1} atom indices in "
            f"[0, {crystal.n_atoms}), got {rep.size} in [{rep.min()}, {rep.max()}]"
        )
    X = crystal.positions[rep]
    if crystal.dim == 1:
        order = np.argsort(X[:, 0])
        simplices = np.stack([order[:-1], order[1:]], axis=1)
    elif crystal.dim == 2:
        simplices = Delaunay(X).simplices.astype(np.int64)
    else:
        raise ValueError(f"build_mesh: crystal.dim must be 1 or 2, got {crystal.dim}")
    D = X[simplices[:, 1:]] - X[simplices[:, :1]]  # (n_el, d, d): rows x_a - x_0
    if crystal.dim == 1:
        det = D[:, 0, 0]
        Dinv = 1.0 / D
    else:  # explicit 2x2 inverses (batched LAPACK calls are slow on busy machines)
        det = D[:, 0, 0] * D[:, 1, 1] - D[:, 0, 1] * D[:, 1, 0]
        Dinv = (
            np.stack(
                [
                    np.stack([D[:, 1, 1], -D[:, 0, 1]], axis=1),
                    np.stack([-D[:, 1, 0], D[:, 0, 0]], axis=1),
                ],
                axis=1,
            )
            / det[:, None, None]
        )
    vol = np.abs(det) / math.factorial(crystal.dim)
    if np.any(vol < 1e-9 * crystal.volume):
        raise ValueError("build_mesh: degenerate (zero-volume) element among the rep-atoms")
    g = np.swapaxes(Dinv, 1, 2)  # grad N_a (a >= 1) are the columns of D^-1
    grads = np.concatenate([-g.sum(axis=1, keepdims=True), g], axis=1)
    faces, _ = _facets(simplices)
    uniq, count = np.unique(faces, axis=0, return_counts=True)
    boundary = np.zeros(rep.size, bool)
    boundary[uniq[count == 1].ravel()] = True
    return QCMesh(crystal, rep, simplices, grads, vol, boundary)


def cauchy_born_sum(mesh: QCMesh, weight: Array) -> BondSum:
    """``sum_e weight_e / Omega sum_s phi_s(|F_e r_s|)`` over rep DOFs (elements ``weight > 0``)."""
    c = mesh.crystal
    el = np.flatnonzero(weight > 0)
    S, k = len(c.shell), mesh.simplices.shape[1]
    coef = np.einsum("eai,si->esa", mesh.gradients[el], c.shell)  # grad N_a . r_s
    rows = np.repeat(np.arange(el.size * S), k)
    cols = np.repeat(mesh.simplices[el][:, None, :], S, axis=1).ravel()
    C = sp.csr_matrix((coef.ravel(), (rows, cols)), shape=(el.size * S, mesh.n_rep))
    return BondSum(
        C,
        np.tile(c.shell, (el.size, 1)),
        np.repeat(weight[el] / c.volume, S),
        np.tile(c.shell_potential, el.size),
        c.potentials,
    )


def _bond_subset(
    mesh: QCMesh, bonds: IntArray, weight: Array, shell: IntArray, *, interpolate: bool
) -> tuple[BondSum, IntArray, sp.csr_matrix]:
    """Exact bonds on the atoms they touch (``interpolate``: composed with ``N``)."""
    c = mesh.crystal
    atoms, local = np.unique(bonds, return_inverse=True)
    local = local.reshape(bonds.shape)
    N = mesh.interpolation(atoms)
    C = incidence(local, atoms.size)
    X = c.positions
    s = BondSum(
        C @ N if interpolate else C,
        X[bonds[:, 1]] - X[bonds[:, 0]],
        weight,
        c.shell_potential[shell],
        c.potentials,
    )
    return s, atoms, N


# ------------------------------------------------------------------------------- QC
@dataclass(frozen=True, eq=False)
class QuasiContinuum:
    """A QC model: mesh, nonlocal atoms, coupling and its energy / force terms.

    Build with `quasicontinuum`.  ``energy``, ``gradient`` and ``hessian`` are those of the
    QC energy (QCE, or QNL for ``"qnl"``); ``residual`` and ``jacobian`` are what is driven
    to zero (the gradient minus the ghost-force dead load, or the QCF forces).
    """

    mesh: QCMesh
    nonlocal_atoms: BoolArray
    coupling: Coupling
    energy_sum: BondSum
    dead_load: Array
    atomistic: tuple[BondSum, sp.csr_matrix, IntArray] | None = None
    continuum: BondSum | None = None

    @property
    def n_dof(self) -> int:
        """Number of degrees of freedom ``n_rep * d``."""
        return self.mesh.n_rep * self.mesh.crystal.dim

    def energy(self, U: Array) -> float:
        """QC energy (QCE / QNL) at rep displacements ``U``."""
        return self.energy_sum.energy(U)

    def gradient(self, U: Array) -> Array:
        """Gradient of the QC energy, ``(n_rep, d)``."""
        return self.energy_sum.gradient(U)

    def hessian(self, U: Array) -> sp.csr_matrix:
        """Hessian of the QC energy."""
        return self.energy_sum.hessian(U)

    def residual(self, U: Array) -> Array:
        """Internal minus ghost-correction forces, negated: zero at equilibrium without load."""
        if self.coupling is not Coupling.FORCE:
            return self.gradient(U) - self.dead_load
        return _qcf_residual(self, U)

    def jacobian(self, U: Array) -> sp.csr_matrix:
        """``d residual / dU`` (not symmetric for ``"force"``)."""
        if self.coupling is not Coupling.FORCE:
            return self.hessian(U)
        return _qcf_jacobian(self, U)


def _qcf_parts(
    mesh: QCMesh, A: BoolArray
) -> tuple[tuple[BondSum, sp.csr_matrix, IntArray], BondSum]:
    c = mesh.crystal
    sel = A[c.bonds].any(axis=1)
    s, atoms, N = _bond_subset(
        mesh, c.bonds[sel], c.bond_scale[sel], c.bond_shell[sel], interpolate=False
    )
    pos = np.searchsorted(atoms, mesh.rep)
    is_A = A[mesh.rep]
    rows = np.where(is_A, pos, -1)
    has_C = (~A[mesh.rep][mesh.simplices]).any(axis=1)
    return (s, N, rows), cauchy_born_sum(mesh, mesh.volumes * has_C)


def _qcf_residual(qc: QuasiContinuum, U: Array) -> Array:
    s, N, rows = qc.atomistic  # type: ignore[misc]
    r = qc.continuum.gradient(U)  # type: ignore[union-attr]
    ga = s.gradient(N @ U)
    is_A = rows >= 0
    r[is_A] = ga[rows[is_A]]
    return r


def _qcf_jacobian(qc: QuasiContinuum, U: Array) -> sp.csr_matrix:
    s, N, rows = qc.atomistic  # type: ignore[misc]
    d = U.shape[1]
    Hc = qc.continuum.hessian(U)  # type: ignore[union-attr]
    Ha = s.hessian(N @ U) @ sp.kron(N, sp.identity(d), format="csr")
    is_A = np.repeat(rows >= 0, d)
    arow = np.repeat(np.maximum(rows, 0), d) * d + np.tile(np.arange(d), rows.size)
    P = sp.csr_matrix(
        (np.ones(is_A.sum()), (np.flatnonzero(is_A), arow[is_A])),
        shape=(rows.size * d, Ha.shape[0]),
    )
    keepC = sp.diags((~is_A).astype(float))
    return sp.csr_matrix(keepC @ Hc + P @ Ha)


def _exact_weights(crystal: Crystal, A: BoolArray, coupling: Coupling) -> Array:
    b = crystal.bonds
    w = 0.5 * (A[b[:, 0]].astype(float) + A[b[:, 1]])
    if coupling is Coupling.QNL:
        X = crystal.positions
        centre = crystal.find(0.5 * (X[b[:, 0]] + X[b[:, 1]]))
        on_atom = centre >= 0
        w[on_atom] = A[centre[on_atom]]
    return w * crystal.bond_scale


def quasicontinuum(
    crystal: Crystal,
    rep: ArrayLike,
    nonlocal_atoms: ArrayLike,
    *,
    coupling: str | Coupling = "energy",
) -> QuasiContinuum:
    """Build a QC model.

    Parameters
    ----------
    crystal : Crystal
        The full crystal (defects must lie among the nonlocal atoms).
    rep : array_like of int
        Atom indices of the rep-atoms (must include the hull corners and every nonlocal
        atom; elements touching a nonlocal atom must be lattice simplices, see
        `pad_representatives`).
    nonlocal_atoms : array_like
        Boolean mask over atoms, or atom indices.
    coupling : {"energy", "ghost-corrected", "qnl", "force"}

    Returns
    -------
    QuasiContinuum
    """
    cp = Coupling.parse(coupling)
    if cp is Coupling.QNL and crystal.dim != 1:
        raise ValueError(
            "quasicontinuum: coupling='qnl' is implemented for chains (d = 1); "
            "use 'force' (ghost-force free in any dimension)"
        )
    mesh = build_mesh(crystal, rep)
    A = _as_mask(nonlocal_atoms, crystal.n_atoms, "nonlocal_atoms")
    in_rep = np.zeros(crystal.n_atoms, bool)
    in_rep[mesh.rep] = True
    if np.any(A & ~in_rep):
        raise ValueError(
            f"quasicontinuum: nonlocal atoms {np.flatnonzero(A & ~in_rep)[:5]} "
            "are not rep-atoms; every nonlocal atom must be a rep-atom"
        )
    frac_C = (~A[mesh.rep][mesh.simplices]).mean(axis=1)
    mixed = (frac_C > 0) & (frac_C < 1)
    big = mesh.volumes > mesh.elementary_volume * (1 + 1e-6)
    if np.any(mixed & big):
        raise ValueError(
            f"quasicontinuum: {int(np.sum(mixed & big))} coarse element(s) touch nonlocal atoms; "
            "add rep-atoms around the nonlocal region (pad_representatives)"
        )
    w = _exact_weights(crystal, A, cp)
    sel = w > 0
    exact, _, _ = _bond_subset(
        mesh, crystal.bonds[sel], w[sel], crystal.bond_shell[sel], interpolate=True
    )
    energy_sum = BondSum.join([exact, cauchy_born_sum(mesh, mesh.volumes * frac_C)])
    dead = np.zeros((mesh.n_rep, crystal.dim))
    atomistic = continuum = None
    if cp in (Coupling.FORCE, Coupling.GHOST_CORRECTED):
        atomistic, continuum = _qcf_parts(mesh, A)
    qc = QuasiContinuum(mesh, A, cp, energy_sum, dead, atomistic, continuum)
    if cp is Coupling.GHOST_CORRECTED:
        U0 = np.zeros_like(dead)
        ghost = qc.gradient(U0) - _qcf_residual(qc, U0)
        qc = QuasiContinuum(mesh, A, cp, energy_sum, ghost, None, None)
    return qc


def _as_mask(value: ArrayLike, n: int, name: str) -> BoolArray:
    v = np.asarray(value)
    if v.dtype == bool:
        if v.shape != (n,):
            raise ValueError(f"{name}: boolean mask must have shape ({n},), got {v.shape}")
        return v.copy()
    mask = np.zeros(n, bool)
    mask[v.astype(np.int64)] = True
    return mask


# --------------------------------------------------------------------------- solving
@dataclass(frozen=True)
class QCSolution:
    """A relaxed QC configuration.

    Attributes
    ----------
    qc : QuasiContinuum
    rep_displacement : ndarray, shape (n_rep, d)
    energy : float
        QC energy (QCE / QNL; dead loads and external work not included).
    residual : float
    iterations : int
    history : ndarray
    """

    qc: QuasiContinuum
    rep_displacement: Array
    energy: float
    residual: float
    iterations: int
    history: Array

    def displacement(self, atoms: ArrayLike | None = None) -> Array:
        """Interpolated displacement of ``atoms`` (default: all), ``(k, d)``."""
        c = self.qc.mesh.crystal
        atoms = np.arange(c.n_atoms) if atoms is None else np.asarray(atoms, dtype=np.int64)
        return np.asarray(self.qc.mesh.interpolation(atoms) @ self.rep_displacement)


def _rep_loading(qc: QuasiContinuum, loading: Loading) -> tuple[BoolArray, Array, Array]:
    mesh, d = qc.mesh, qc.mesh.crystal.dim
    free = np.repeat(~np.asarray(loading.fixed, bool)[mesh.rep][:, None], d, axis=1)
    prescribed = np.asarray(loading.displacement, dtype=float)[mesh.rep]
    loaded = np.flatnonzero(np.any(np.asarray(loading.force) != 0, axis=1))
    f = np.zeros((mesh.n_rep, d))
    if loaded.size:
        f += mesh.interpolation(loaded).T @ np.asarray(loading.force, dtype=float)[loaded]
    return free, prescribed, f


def relax_qc(
    qc: QuasiContinuum,
    loading: Loading,
    *,
    method: str = "newton",
    gtol: float = GTOL,
    max_iter: int = 200,
    initial: ArrayLike | None = None,
) -> QCSolution:
    """Static equilibrium of a QC model under ``loading`` (atom-level, see `Loading`).

    Rep-atoms whose atom is fixed get the prescribed displacement; forces on non-rep atoms
    are distributed by ``N^T``.  Energy couplings minimise ``E - (f + dead) . U``
    (``method`` "newton" or "lbfgs"); ``"force"`` solves ``r(U) = f`` by Newton with the
    non-symmetric Jacobian and backtracking on ``|r - f|``.

    Raises
    ------
    ConvergenceError
        With the history of the largest free force component.
    """
    free, prescribed, f = _rep_loading(qc, loading)
    shape = (qc.mesh.n_rep, qc.mesh.crystal.dim)
    if initial is None and loading.initial is not None:
        initial = np.asarray(loading.initial, dtype=float)[qc.mesh.rep]
    if qc.coupling is Coupling.FORCE:
        if method != "newton":
            raise ValueError(
                f"relax_qc: coupling 'force' has no energy; method must be 'newton', got {method!r}"
            )
        U, hist, it = _solve_forces(qc, f, free, prescribed, initial, gtol, max_iter)
    else:
        res = relax_energy(
            qc.energy_sum,
            f + qc.dead_load,
            free,
            prescribed,
            shape,
            method=method,
            gtol=gtol,
            max_iter=max_iter,
            initial=initial,
        )
        U, hist, it = res.displacement, res.history, res.iterations
    return QCSolution(qc, U, qc.energy(U), float(hist[-1]), it, np.asarray(hist))


def _solve_forces(
    qc: QuasiContinuum,
    f: Array,
    free: BoolArray,
    prescribed: Array,
    initial: ArrayLike | None,
    gtol: float,
    max_iter: int,
) -> tuple[Array, Array, int]:
    shape = f.shape
    U = np.zeros(shape) if initial is None else np.array(initial, dtype=float).reshape(shape)
    U[~free] = prescribed[~free]
    fr = free.ravel()

    def res(V: Array) -> Array:
        return (qc.residual(V) - f).ravel()[fr]

    r = res(U)
    history = [float(np.abs(r).max(initial=0.0))]
    for it in range(max_iter):
        if history[-1] <= gtol:
            return U, np.array(history), it
        J = sp.csc_matrix(qc.jacobian(U)[fr][:, fr])
        dx = -spla.spsolve(J, r)
        step, n0 = 1.0, np.linalg.norm(r)
        for _ in range(30):
            V = U.copy()
            V.ravel()[fr] += step * dx
            rv = res(V)
            if np.linalg.norm(rv) <= (1 - 1e-4 * step) * n0 or n0 < 1e3 * gtol:
                break
            step *= 0.5
        U, r = V, rv
        history.append(float(np.abs(r).max(initial=0.0)))
    if history[-1] <= gtol:
        return U, np.array(history), max_iter
    _raise(history, "relax_qc (force-based Newton)", "raise max_iter or reduce the load")
    raise AssertionError  # unreachable


@dataclass(frozen=True)
class PatchTest:
    """Forces on the rep-atoms under a uniform deformation.

    Attributes
    ----------
    forces : ndarray, shape (n_rep, d)
        ``-residual`` at ``U = (F - I) X``.
    interior : ndarray of bool, shape (n_rep,)
        Rep-atoms off the mesh boundary.
    ghost_force : float
        Largest interior force component (zero for a consistent coupling).
    """

    forces: Array
    interior: BoolArray
    ghost_force: float


def patch_test(qc: QuasiContinuum, F: ArrayLike) -> PatchTest:
    """Apply ``U = (F - I) X`` to every rep-atom and report the interior residual forces.

    For a defect-free crystal the exact answer is zero force on every interior atom; what
    remains is the ghost force of the coupling.
    """
    d = qc.mesh.crystal.dim
    Fm = np.asarray(F, dtype=float).reshape(d, d)
    U = qc.mesh.crystal.positions[qc.mesh.rep] @ (Fm - np.eye(d)).T
    forces = -qc.residual(U)
    interior = ~qc.mesh.boundary
    return PatchTest(forces, interior, float(np.abs(forces[interior]).max(initial=0.0)))


# ------------------------------------------------------------------ meshes, adaptivity
def pad_representatives(
    crystal: Crystal, rep: ArrayLike, nonlocal_atoms: ArrayLike, padding: float | None = None
) -> IntArray:
    """``rep`` plus every atom within ``padding`` (default: the cutoff) of a nonlocal atom."""
    A = np.flatnonzero(_as_mask(nonlocal_atoms, crystal.n_atoms, "nonlocal_atoms"))
    pad = crystal.cutoff if padding is None else float(padding)
    near = crystal.tree.query_ball_point(crystal.positions[A], pad + 1e-6 * pad)
    extra = np.concatenate([np.asarray(n, dtype=np.int64) for n in near] + [A])
    return np.union1d(np.asarray(rep, dtype=np.int64), extra)


def graded_representatives(
    crystal: Crystal, center: ArrayLike, *, core_radius: float, grading: float = 0.25
) -> IntArray:
    """Rep-atoms: every atom within ``core_radius`` of ``center``, a coarsening
    superlattice outside (step ``s = 2^k`` lattice spacings with ``s a <= grading rho`` at
    distance ``rho``), and the crystal's hull atoms at the local step.

    Needs ``crystal.sites`` (from `linear_chain` or `triangular_patch`).

    Examples
    --------
    >>> from scalebridge.atomistic.chain import linear_chain
    >>> from scalebridge.atomistic.potentials import Harmonic
    >>> c = linear_chain(41, nearest=Harmonic())
    >>> graded_representatives(c, [20.0], core_radius=2.0, grading=0.5).tolist()
    [0, 4, 8, 12, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 26, 28, 32, 36, 40]
    """
    if crystal.sites is None:
        raise ValueError(
            "graded_representatives: crystal.sites is None; build the crystal "
            "with linear_chain or triangular_patch"
        )
    if not (core_radius >= 0 and grading > 0):
        raise ValueError(
            f"graded_representatives: need core_radius >= 0 and grading > 0, "
            f"got {core_radius!r}, {grading!r}"
        )
    a = _scale(crystal.shell)
    X, S = crystal.positions, crystal.sites
    ctr = np.asarray(center, dtype=float).reshape(crystal.dim)
    rho = np.linalg.norm(X - ctr, axis=1)
    step = 2 ** np.floor(np.log2(np.maximum(grading * rho / a, 1.0))).astype(np.int64)
    step[rho <= core_radius] = 1
    if crystal.dim == 1:
        d0 = S[:, 0] - int(np.rint(ctr[0] / a))
        keep = d0 % step == 0
        keep[[np.argmin(X[:, 0]), np.argmax(X[:, 0])]] = True
        return np.flatnonzero(keep)
    j0 = 2 * int(np.rint(ctr[1] / (np.sqrt(3.0) * a)))
    c0 = int(np.rint(ctr[0] / a))
    dc, dj = S[:, 0] - c0, S[:, 1] - j0
    shift = np.where((dj // step) % 2 == 1, step // 2, 0)
    keep = (step == 1) | ((dj % step == 0) & ((dc - shift) % step == 0))
    lo, hi = X.min(axis=0), X.max(axis=0)
    tol = 1e-6 * a
    on_x = (np.abs(X[:, 0] - lo[0]) < tol) | (np.abs(X[:, 0] - hi[0]) < tol)
    on_y = (np.abs(X[:, 1] - lo[1]) < tol) | (np.abs(X[:, 1] - hi[1]) < tol)
    keep |= on_y & (dc % step == 0)
    keep |= on_x & (dj % step == 0)
    keep |= on_x & on_y
    return np.flatnonzero(keep)


def gradient_jump(mesh: QCMesh, U: ArrayLike) -> Array:
    """Largest Frobenius jump ``|F_e - F_e'|`` over the facet neighbours of each element."""
    F = mesh.deformation_gradients(U)
    pairs = mesh.facet_neighbours()
    jump = np.linalg.norm(F[pairs[:, 0]] - F[pairs[:, 1]], axis=(1, 2))
    eta = np.zeros(len(F))
    np.maximum.at(eta, pairs[:, 0], jump)
    np.maximum.at(eta, pairs[:, 1], jump)
    return eta


@dataclass(frozen=True)
class Adaptation:
    """Result of `adapt_qc`: the final solution and one row per cycle.

    ``history`` rows: ``(n_rep, n_nonlocal, max indicator, flagged elements)``.
    """

    solution: QCSolution
    history: Array


def adapt_qc(
    crystal: Crystal,
    loading: Loading,
    rep: ArrayLike,
    nonlocal_atoms: ArrayLike,
    *,
    tol: float,
    coupling: str | Coupling = "energy",
    max_cycles: int = 10,
    method: str = "newton",
) -> Adaptation:
    """Solve, flag elements whose `gradient_jump` exceeds ``tol``, refine, repeat.

    A flagged coarse element gets rep-atoms at the lattice sites nearest to its edge
    midpoints; a flagged lattice simplex turns its vertices nonlocal (and the rep set is
    padded by the cutoff around them).  Elements whose vertices are all nonlocal are not
    flagged.  Stops when nothing is flagged, nothing changes, or after ``max_cycles``.
    """
    if not tol > 0:
        raise ValueError(f"adapt_qc: tol must be positive, got {tol!r}")
    A = _as_mask(nonlocal_atoms, crystal.n_atoms, "nonlocal_atoms")
    rep_ = pad_representatives(crystal, rep, A)
    rows, U_atoms = [], None
    for _ in range(max_cycles):
        qc = quasicontinuum(crystal, rep_, A, coupling=coupling)
        init = None if U_atoms is None else U_atoms[qc.mesh.rep]
        sol = relax_qc(qc, loading, method=method, initial=init)
        eta = gradient_jump(qc.mesh, sol.rep_displacement)
        eta[A[qc.mesh.rep][qc.mesh.simplices].all(axis=1)] = 0.0  # atomistic already
        flag = eta > tol
        rows.append((qc.mesh.n_rep, int(A.sum()), float(eta.max()), int(flag.sum())))
        log.info("adapt_qc: %d rep-atoms, %d nonlocal, max jump %.3g, %d flagged", *rows[-1])
        if not flag.any():
            break
        U_atoms = sol.displacement()
        new_rep, new_A = _refine(qc.mesh, A, flag)
        if new_rep.size == qc.mesh.n_rep and new_A.sum() == A.sum():
            log.warning("adapt_qc: flagged elements cannot be refined further; stopping")
            break
        rep_, A = new_rep, new_A
    return Adaptation(sol, np.array(rows, dtype=float))


def _refine(mesh: QCMesh, A: BoolArray, flag: BoolArray) -> tuple[IntArray, BoolArray]:
    c = mesh.crystal
    small = mesh.volumes <= mesh.elementary_volume * (1 + 1e-6)
    A = A.copy()
    A[mesh.rep[mesh.simplices[flag & small]].ravel()] = True
    X = c.positions[mesh.rep]
    coarse = mesh.simplices[flag & ~small]
    k = coarse.shape[1]
    mids = np.concatenate(
        [0.5 * (X[coarse[:, i]] + X[coarse[:, j]]) for i in range(k) for j in range(i + 1, k)]
    )
    new = c.tree.query(mids)[1] if len(mids) else np.zeros(0, np.int64)
    return pad_representatives(c, np.union1d(mesh.rep, new), A), A
