"""Bridging domain method (Xiao & Belytschko): atoms and finite elements in a handshake band.

The crystal is split around a centre ``c`` by the distance ``rho = |X - c|``: atoms only for
``rho < inner``, a handshake band ``inner <= rho <= outer`` where both models coexist,
linear Cauchy-Born finite elements beyond.  A blending function ``alpha`` (0 in the
atomistic region, 1 in the continuum; profile ``"linear"``, ``"constant"`` = 1/2 or the
smooth ``"cubic"`` ``3t^2 - 2t^3`` of ``t = (rho - inner) / (outer - inner)``) weights the
energies,

    E = sum_b (1 - alpha_b) phi(|y_j - y_i|) + sum_e (int_e alpha) W(F_e),

with ``alpha`` the P1 interpolant of its nodal values on the mesh (lattice-scale in the
band), ``int_e alpha = |e| mean(alpha at the vertices)``, and the bond weight
``alpha_b`` the mean of ``alpha`` over the lattice simplices that share the bond for
nearest-neighbour bonds (the bond itself in 1D, the rhombus of two triangles in 2D:
``(alpha_i + alpha_j)/3 + (alpha_k + alpha_l)/6``), ``alpha`` at the midpoint otherwise.
With that choice a uniform deformation is an exact equilibrium for nearest-neighbour
interactions (the bond sum of the band equals the integral of the blended continuum
stress element by element); longer bonds leave a small patch-test error.

Every atom inside the mesh is tied to the finite-element interpolation,
``u_i = sum_a N_a(X_i) U_a``, by Lagrange multipliers (saddle-point Newton), a penalty
``p/2 |B u|^2`` or an augmented Lagrangian.  `simulate` integrates the dynamics with
velocity Verlet and the RATTLE projection of the velocities onto the constraint (lumped
masses: atoms ``m (1 - mean alpha)``, nodes ``rho int alpha N_a``), so ``B u = 0`` holds to
round-off; `wave_reflection` sends a wave packet across the band and reports the energy
that comes back.

>>> from scalebridge.atomistic.chain import linear_chain, Loading
>>> from scalebridge.atomistic.potentials import Harmonic
>>> c = linear_chain(41, nearest=Harmonic(k=1.0, r0=1.0, cutoff=float("inf")))
>>> bd = bridging_domain(c, Handshake([0.0], 10.0, 16.0))
>>> load = Loading.clamped(c, [0, 40], F=[[1.01]])
>>> sol = relax_bridging(bd, load)
>>> float(np.abs(sol.displacement() - load.displacement).max()) < 1e-12
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray

from scalebridge.atomistic.chain import (
    GTOL,
    BondSum,
    Crystal,
    Loading,
    _scale,
    incidence,
    minimize,
    relax_energy,
)
from scalebridge.atomistic.qc import (
    QCMesh,
    build_mesh,
    cauchy_born_sum,
    graded_representatives,
)
from scalebridge.errors import ConvergenceError

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
log = logging.getLogger(__name__)

__all__ = [
    "BridgingDomain",
    "BridgingSolution",
    "Constraint",
    "Handshake",
    "Profile",
    "Trajectory",
    "bridging_domain",
    "relax_bridging",
    "simulate",
    "wave_reflection",
]


class Profile(Enum):
    """Blending profile across the handshake band."""

    LINEAR = "linear"
    CONSTANT = "constant"
    CUBIC = "cubic"


class Constraint(Enum):
    """How the atoms of the band are tied to the finite elements."""

    LAGRANGE = "lagrange"
    SADDLE = "lagrange-saddle"
    PENALTY = "penalty"
    AUGMENTED = "augmented"


def _parse(enum: type[Enum], value: object, name: str) -> Enum:
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}") from None


@dataclass(frozen=True)
class Handshake:
    """The band ``inner <= |X - center| <= outer`` and its blending profile.

    Examples
    --------
    >>> Handshake([0.0], 1.0, 3.0, "cubic").alpha([[0.5], [2.0], [4.0]]).tolist()
    [0.0, 0.5, 1.0]
    """

    center: ArrayLike
    inner: float
    outer: float
    profile: str | Profile = "linear"

    def __post_init__(self) -> None:
        if not (0 <= self.inner < self.outer):
            raise ValueError(
                f"Handshake: need 0 <= inner < outer, got inner={self.inner!r}, "
                f"outer={self.outer!r}"
            )
        object.__setattr__(self, "profile", _parse(Profile, self.profile, "Handshake.profile"))
        object.__setattr__(self, "center", np.asarray(self.center, dtype=float).ravel())

    def distance(self, X: ArrayLike) -> Array:
        """``|X - center|``."""
        return np.linalg.norm(np.asarray(X, dtype=float) - self.center, axis=-1)

    def alpha(self, X: ArrayLike) -> Array:
        """Continuum weight at points ``X`` ``(k, d)``: 0 atomistic, 1 continuum."""
        t = (self.distance(X) - self.inner) / (self.outer - self.inner)
        if self.profile is Profile.LINEAR:
            return np.clip(t, 0.0, 1.0)
        if self.profile is Profile.CUBIC:
            s = np.clip(t, 0.0, 1.0)
            return s * s * (3.0 - 2.0 * s)
        return np.where(t <= 0, 0.0, np.where(t >= 1, 1.0, 0.5))


@dataclass(frozen=True, eq=False)
class BridgingDomain:
    """A bridging-domain model (build with `bridging_domain`).

    Unknowns: the displacements of ``atoms`` (crystal indices) followed by those of the
    mesh nodes, ``U`` of shape ``(n_atoms + n_nodes, d)``.

    Attributes
    ----------
    crystal, handshake, mesh
    atoms : ndarray of int
        Atoms of the atomistic model (every atom with a bond of non-zero weight).
    energy_sum : BondSum
        Blended energy over all unknowns.
    constraint : sparse matrix
        ``B`` (scalar, one row per tied atom): ``B U = 0`` componentwise.
    mass_weight : ndarray
        Lumped mass per unknown in units of the atomic mass.
    constraint_type : Constraint
    penalty : float
    """

    crystal: Crystal
    handshake: Handshake
    mesh: QCMesh
    atoms: IntArray
    energy_sum: BondSum
    constraint: sp.csr_matrix
    mass_weight: Array
    constraint_type: Constraint
    penalty: float
    tied: IntArray

    @property
    def n_atoms(self) -> int:
        """Atoms in the atomistic model."""
        return int(self.atoms.size)

    @property
    def n_dof(self) -> int:
        """Primal unknowns ``(n_atoms + n_nodes) d`` (multipliers not counted)."""
        return (self.atoms.size + self.mesh.n_rep) * self.crystal.dim

    @property
    def masters(self) -> IntArray:
        """Unknowns not tied to the mesh (untied atoms, then nodes): the independent ones."""
        return np.setdiff1d(np.arange(self.atoms.size + self.mesh.n_rep), self.tied)


def _submesh(mesh: QCMesh, keep: BoolArray) -> QCMesh:
    used = np.unique(mesh.simplices[keep])
    new = np.full(mesh.n_rep, -1)
    new[used] = np.arange(used.size)
    simp = new[mesh.simplices[keep]]
    k = simp.shape[1]
    faces = np.sort(np.concatenate([np.delete(simp, i, axis=1) for i in range(k)]), axis=1)
    uniq, count = np.unique(faces, axis=0, return_counts=True)
    boundary = np.zeros(used.size, bool)
    boundary[uniq[count == 1].ravel()] = True
    return QCMesh(
        mesh.crystal, mesh.rep[used], simp, mesh.gradients[keep], mesh.volumes[keep], boundary
    )


def _lumped_masses(
    crystal: Crystal,
    mesh: QCMesh,
    w: Array,
    alpha_atoms: Array,
    alpha_nodes: Array,
    atoms: IntArray,
) -> Array:
    """Atoms ``1 - mean alpha_b`` over their NN bonds (the Voronoi-cell mean of ``1 - alpha``
    in 1D), nodes ``int alpha N_a / Omega`` (P1 ``alpha``: ``|e| (alpha_a + sum alpha) /
    ((d+1)(d+2))`` per element); in units of the atomic mass."""
    a = _scale(crystal.shell)
    nn = np.isclose(np.linalg.norm(crystal.shell, axis=1)[crystal.bond_shell], a)
    ends = crystal.bonds[nn].ravel()
    cnt = np.bincount(ends, minlength=crystal.n_atoms)
    asum = np.bincount(ends, np.repeat(1.0 - w[nn], 2), crystal.n_atoms)
    mean_alpha = np.where(cnt > 0, asum / np.maximum(cnt, 1), alpha_atoms)
    d = crystal.dim
    an = alpha_nodes[mesh.simplices]
    m_el = mesh.volumes[:, None] * (an + an.sum(axis=1, keepdims=True)) / ((d + 1) * (d + 2))
    m_nodes = np.bincount(mesh.simplices.ravel(), m_el.ravel(), mesh.n_rep) / crystal.volume
    return np.concatenate([1.0 - mean_alpha[atoms], m_nodes])


def _default_penalty(crystal: Crystal) -> float:
    """100 x the largest ``|phi''|`` of the shell bonds at their reference length."""
    lengths = np.linalg.norm(crystal.shell, axis=1)
    return 100.0 * max(
        abs(float(crystal.potentials[p].d2phi(r)))
        for p, r in zip(crystal.shell_potential, lengths, strict=True)
    )


def _bond_alpha(crystal: Crystal, alpha_at: Array, hs: Handshake) -> Array:
    """Blending weight ``alpha_b`` of every bond (see the module docstring)."""
    X, b = crystal.positions, crystal.bonds
    ab = hs.alpha(0.5 * (X[b[:, 0]] + X[b[:, 1]]))
    lengths = np.linalg.norm(crystal.shell, axis=1)
    nn = np.isclose(lengths[crystal.bond_shell], lengths.min())
    ai, aj = alpha_at[b[:, 0]], alpha_at[b[:, 1]]
    if crystal.dim == 1:
        ab[nn] = 0.5 * (ai[nn] + aj[nn])
        return ab
    if crystal.dim == 2:
        r = X[b[nn, 1]] - X[b[nn, 0]]
        rot = np.array([[0.5, -np.sqrt(3) / 2], [np.sqrt(3) / 2, 0.5]])
        apex = [X[b[nn, 0]] + r @ rot.T, X[b[nn, 0]] + r @ rot]  # +-60 degrees
        ak = [hs.alpha(p) for p in apex]
        ab[nn] = (ai[nn] + aj[nn]) / 3.0 + (ak[0] + ak[1]) / 6.0
    return ab


def bridging_domain(
    crystal: Crystal,
    handshake: Handshake,
    *,
    nodes: ArrayLike | None = None,
    grading: float = 0.25,
    constraint: str | Constraint = "lagrange",
    penalty: float | None = None,
) -> BridgingDomain:
    """Build a bridging-domain model of ``crystal``.

    Parameters
    ----------
    crystal : Crystal
        Defects must lie in the atomistic region.
    handshake : Handshake
    nodes : array_like of int, optional
        Atom indices used as mesh nodes; default: every atom up to
        ``outer + cutoff + spacing`` from the centre, a graded superlattice beyond
        (`graded_representatives` with ``grading``).
    constraint : {"lagrange", "lagrange-saddle", "penalty", "augmented"}
        See `relax_bridging`.
    penalty : float, optional
        Penalty parameter (default: 100 x the largest bond stiffness ``phi''`` at rest).

    Returns
    -------
    BridgingDomain
    """
    ctype = _parse(Constraint, constraint, "constraint")
    hs = handshake
    if hs.center.size != crystal.dim:
        raise ValueError(
            f"bridging_domain: handshake.center must have {crystal.dim} "
            f"coordinates, got {hs.center.tolist()}"
        )
    a, rc = _scale(crystal.shell), crystal.cutoff
    if nodes is None:
        nodes = graded_representatives(
            crystal, hs.center, core_radius=hs.outer + rc + a, grading=grading
        )
    full = build_mesh(crystal, nodes)
    rho_nodes = hs.distance(crystal.positions[full.rep])
    keep_el = (rho_nodes[full.simplices] >= hs.inner - rc - a).any(axis=1)
    mesh = _submesh(full, keep_el)
    alpha_nodes = hs.alpha(crystal.positions[mesh.rep])
    alpha_atoms = hs.alpha(crystal.positions)
    w = 1.0 - _bond_alpha(crystal, alpha_atoms, hs)
    sel = w > 1e-14
    atoms = np.unique(np.concatenate([crystal.bonds[sel].ravel(), np.flatnonzero(alpha_atoms < 1)]))
    new = np.full(crystal.n_atoms, -1)
    new[atoms] = np.arange(atoms.size)
    na, nc, X = atoms.size, mesh.n_rep, crystal.positions
    C_at = sp.hstack([incidence(new[crystal.bonds[sel]], na), sp.csr_matrix((sel.sum(), nc))])
    atomistic = BondSum(
        C_at,
        X[crystal.bonds[sel, 1]] - X[crystal.bonds[sel, 0]],
        w[sel] * crystal.bond_scale[sel],
        crystal.bond_potential[sel],
        crystal.potentials,
    )
    el_alpha = mesh.volumes * alpha_nodes[mesh.simplices].mean(axis=1)
    cb = cauchy_born_sum(mesh, el_alpha)
    cont = BondSum(
        sp.hstack([sp.csr_matrix((cb.operator.shape[0], na)), cb.operator]),
        cb.reference,
        cb.weight,
        cb.potential,
        cb.potentials,
    )
    energy = BondSum.join([atomistic, cont])
    # tie every atom that lies inside the kept mesh
    e_full, _ = full.locate(X[atoms], strict=False)
    tied = np.flatnonzero(((e_full >= 0) & keep_el[e_full]) | np.isin(atoms, mesh.rep))
    N = mesh.interpolation(atoms[tied])
    B = sp.hstack(
        [
            sp.csr_matrix(
                (np.ones(tied.size), (np.arange(tied.size), tied)), shape=(tied.size, na)
            ),
            -N,
        ],
        format="csr",
    )
    mass = _lumped_masses(crystal, mesh, w, alpha_atoms, alpha_nodes, atoms)
    penalty = _default_penalty(crystal) if penalty is None else penalty
    if not penalty > 0:
        raise ValueError(f"bridging_domain: penalty must be positive, got {penalty!r}")
    return BridgingDomain(crystal, hs, mesh, atoms, energy, B, mass, ctype, float(penalty), tied)


# ---------------------------------------------------------------------------- statics
@dataclass(frozen=True)
class BridgingSolution:
    """A relaxed bridging-domain configuration.

    Attributes
    ----------
    model : BridgingDomain
    unknowns : ndarray, shape (n_atoms + n_nodes, d)
    energy : float
        Blended stored energy (external work not included).
    constraint_violation : float
        ``max |B U|``.
    iterations : int
    history : ndarray
    """

    model: BridgingDomain
    unknowns: Array
    energy: float
    constraint_violation: float
    iterations: int
    history: Array

    def displacement(self, atoms: ArrayLike | None = None) -> Array:
        """Displacement of crystal ``atoms`` (default all): atomistic if modelled, else FE."""
        m = self.model
        atoms = np.arange(m.crystal.n_atoms) if atoms is None else np.asarray(atoms)
        pos = np.searchsorted(m.atoms, atoms)
        pos = np.minimum(pos, m.atoms.size - 1)
        mine = m.atoms[pos] == atoms
        out = np.zeros((atoms.size, m.crystal.dim))
        out[mine] = self.unknowns[pos[mine]]
        if (~mine).any():
            N = m.mesh.interpolation(atoms[~mine])
            out[~mine] = N @ self.unknowns[m.n_atoms :]
        return out


def _loading(bd: BridgingDomain, loading: Loading) -> tuple[BoolArray, Array, Array]:
    d = bd.crystal.dim
    owner = np.concatenate([bd.atoms, bd.mesh.rep])
    fixed = np.asarray(loading.fixed, bool)[owner]
    free = np.repeat(~fixed[:, None], d, axis=1)
    prescribed = np.asarray(loading.displacement, dtype=float)[owner]
    f = np.zeros((owner.size, d))
    force = np.asarray(loading.force, dtype=float)
    loaded = np.flatnonzero(np.any(force != 0, axis=1))
    in_at = np.isin(loaded, bd.atoms)
    f[np.searchsorted(bd.atoms, loaded[in_at])] += force[loaded[in_at]]
    if (~in_at).any():
        f[bd.n_atoms :] += bd.mesh.interpolation(loaded[~in_at]).T @ force[loaded[~in_at]]
    return free, prescribed, f


def relax_bridging(
    bd: BridgingDomain,
    loading: Loading,
    *,
    gtol: float = GTOL,
    max_iter: int = 100,
    ctol: float = 1e-10,
) -> BridgingSolution:
    """Static equilibrium of the blended energy under ``loading`` with the constraint.

    ``"lagrange"``: the constraint is exact (Lagrange multipliers eliminated: the tied
    atoms follow the nodes, ``u = P U_masters``, Newton on ``P^T H P``; the multipliers are
    the reactions ``lambda = -dE/du`` on the tied atoms); ``"lagrange-saddle"``: the same
    solution by Newton on the saddle-point system ``[H B^T; B 0]`` (slower);
    ``"penalty"``: ``+ p/2 |B U|^2`` (violation ``O(1/p)``); ``"augmented"``: penalty plus
    multiplier updates ``lambda += p B U`` until ``max |B U| <= ctol``.

    Raises
    ------
    ConvergenceError
        Newton or the multiplier iteration did not converge.
    """
    free, prescribed, f = _loading(bd, loading)
    d = bd.crystal.dim
    shape = (bd.n_atoms + bd.mesh.n_rep, d)
    Bd = sp.kron(bd.constraint, sp.identity(d), format="csr")
    init = None
    if loading.initial is not None:
        init = np.asarray(loading.initial, dtype=float)[np.concatenate([bd.atoms, bd.mesh.rep])]
    if bd.constraint_type is Constraint.LAGRANGE:
        U, it, hist = _relax_eliminated(bd, f, free, prescribed, init, gtol, max_iter)
    elif bd.constraint_type is Constraint.SADDLE:
        res = relax_energy(
            bd.energy_sum,
            f,
            free,
            prescribed,
            shape,
            gtol=gtol,
            max_iter=max_iter,
            initial=init,
            constraint=Bd,
        )
        U, it, hist = res.displacement, res.iterations, res.history
    else:
        p = bd.penalty
        BtB = p * (Bd.T @ Bd)
        lam = np.zeros(Bd.shape[0])
        outer = 1 if bd.constraint_type is Constraint.PENALTY else 50
        viol: list[float] = []
        it, U = 0, init
        for _ in range(outer):
            lam_k = lam.copy()

            def extra(x: Array, lam_k: Array = lam_k) -> tuple[float, Array, sp.spmatrix]:
                c = Bd @ x
                return float(lam_k @ c + 0.5 * p * c @ c), Bd.T @ lam_k + BtB @ x, BtB

            res = relax_energy(
                bd.energy_sum,
                f,
                free,
                prescribed,
                shape,
                gtol=gtol,
                max_iter=max_iter,
                initial=U,
                extra=extra,
            )
            U, it = res.displacement, it + res.iterations
            c = Bd @ U.ravel()
            viol.append(float(np.abs(c).max(initial=0.0)))
            if bd.constraint_type is Constraint.PENALTY or viol[-1] <= ctol:
                break
            lam = lam + p * c
        else:
            raise ConvergenceError(
                "relax_bridging: augmented Lagrangian did not reach ctol; raise the penalty",
                np.array(viol) / max(viol[0], 1e-300),
            )
        hist = res.history
    U = np.asarray(U).reshape(shape)
    viol_f = float(np.abs(Bd @ U.ravel()).max(initial=0.0))
    return BridgingSolution(bd, U, bd.energy_sum.energy(U), viol_f, it, np.asarray(hist))


def _relax_eliminated(
    bd: BridgingDomain,
    f: Array,
    free: BoolArray,
    prescribed: Array,
    init: Array | None,
    gtol: float,
    max_iter: int,
) -> tuple[Array, int, Array]:
    """Minimise over the masters (untied atoms and nodes) with ``u_tied = N U_nodes``."""
    d, na = bd.crystal.dim, bd.n_atoms
    n = na + bd.mesh.n_rep
    if np.any(~free[bd.tied]):
        raise ValueError(
            "relax_bridging: tied atoms of the band cannot be fixed; prescribe "
            "displacements on nodes or on atoms outside the mesh"
        )
    masters = bd.masters
    pos = np.full(n, -1)
    pos[masters] = np.arange(masters.size)
    Nn = -bd.constraint[:, na:].tocoo()  # rows: tied atoms, cols: nodes
    rows = np.concatenate([masters, bd.tied[Nn.row]])
    cols = np.concatenate([np.arange(masters.size), pos[na + Nn.col]])
    vals = np.concatenate([np.ones(masters.size), Nn.data])
    P = sp.kron(
        sp.csr_matrix((vals, (rows, cols)), shape=(n, masters.size)), sp.identity(d), format="csr"
    )
    fv = f.ravel()

    def fun(z: Array, hessian: bool = True) -> tuple[float, Array, sp.spmatrix | None]:
        U = (P @ z).reshape(n, d)
        E = bd.energy_sum.energy(U) - fv @ U.ravel()
        g = P.T @ (bd.energy_sum.gradient(U).ravel() - fv)
        return E, g, (P.T @ bd.energy_sum.hessian(U) @ P) if hessian else None

    z0 = np.zeros((masters.size, d)) if init is None else np.array(init)[masters]
    fm = free[masters]
    z0[~fm] = prescribed[masters][~fm]
    res = minimize(fun, z0, fm, gtol=gtol, max_iter=max_iter)
    U = (P @ res.displacement.ravel()).reshape(n, d)
    return U, res.iterations, res.history


# --------------------------------------------------------------------------- dynamics
@dataclass(frozen=True)
class Trajectory:
    """Samples of a `simulate` run.

    Attributes
    ----------
    times : ndarray, shape (k,)
    energy : ndarray, shape (k,)
        Total energy ``1/2 v M v + E(u)`` (Hamiltonian of the constrained system).
    constraint_violation : ndarray, shape (k,)
        ``max |B u|``.
    displacement, velocity : ndarray, shape (n_unknowns, d)
        Final state.
    """

    times: Array
    energy: Array
    constraint_violation: Array
    displacement: Array
    velocity: Array


def simulate(
    bd: BridgingDomain,
    u0: ArrayLike,
    v0: ArrayLike,
    *,
    dt: float,
    steps: int,
    mass: float = 1.0,
    fixed: ArrayLike | None = None,
    sample_every: int = 10,
) -> Trajectory:
    """Velocity Verlet with lumped masses and RATTLE projection onto ``B v = 0``.

    ``v <- v - M^-1 B^T (B M^-1 B^T)^-1 B v`` after each half kick (``B`` linear, so
    ``B u`` stays zero once ``B u0 = 0``; ``u0`` and ``v0`` are first projected).  Tied
    atoms of zero mass (Voronoi cell wholly in the continuum, present for their longer
    bonds) follow the nodes, ``v_i = N_i V``, and hand their forces to the nodes
    (``N_i^T f_i``).  ``fixed`` unknowns (bool ``(n, d)``) keep zero velocity.
    """
    if not (dt > 0 and steps >= 1):
        raise ValueError(f"simulate: need dt > 0 and steps >= 1, got dt={dt!r}, steps={steps!r}")
    d, na = bd.crystal.dim, bd.n_atoms
    shape = (na + bd.mesh.n_rep, d)
    u = np.array(u0, dtype=float).reshape(shape)
    v = np.array(v0, dtype=float).reshape(shape)
    hold = np.zeros(shape, bool) if fixed is None else np.asarray(fixed, bool).reshape(shape)
    w = mass * bd.mass_weight
    massless = w[bd.tied] <= 1e-14 * w.max()
    Nz = -bd.constraint[massless][:, na:]  # massless tied atoms: u_z = Nz U_nodes
    z = bd.tied[massless]
    minv = np.where(hold, 0.0, 1.0 / np.where(w > 0, w, np.inf)[:, None])
    Bd = sp.kron(bd.constraint[~massless], sp.identity(d), format="csr")
    S = spla.splu(sp.csc_matrix(Bd @ sp.diags(minv.ravel()) @ Bd.T))

    def follow(x: Array) -> Array:
        x[z] = Nz @ x[na:]
        return x

    def project(x: Array) -> Array:
        lam = S.solve(Bd @ x.ravel())
        return follow(x - (minv.ravel() * (Bd.T @ lam)).reshape(shape))

    def accel(x: Array) -> Array:
        f = -bd.energy_sum.gradient(x)
        f[na:] += Nz.T @ f[z]
        f[z] = 0.0
        return f * minv

    def total(x: Array, y: Array) -> float:
        return 0.5 * float(np.sum(w[:, None] * y * y)) + bd.energy_sum.energy(x)

    Ball = sp.kron(bd.constraint, sp.identity(d), format="csr")
    u, v = project(u), project(v)
    acc = accel(u)
    times, energy = [0.0], [total(u, v)]
    viol = [float(np.abs(Ball @ u.ravel()).max(initial=0.0))]
    for n in range(1, steps + 1):
        v = project(v + 0.5 * dt * acc)
        u = u + dt * v
        acc = accel(u)
        v = project(v + 0.5 * dt * acc)
        if n % sample_every == 0 or n == steps:
            times.append(n * dt)
            energy.append(total(u, v))
            viol.append(float(np.abs(Ball @ u.ravel()).max(initial=0.0)))
    return Trajectory(np.array(times), np.array(energy), np.array(viol), u, v)


def wave_reflection(
    wavenumbers: ArrayLike,
    *,
    n_atoms: int = 400,
    overlap: tuple[float, float] = (160.0, 176.0),
    element: int = 4,
    width: float = 12.0,
    amplitude: float = 1e-3,
    profile: str = "linear",
    dt: float = 0.2,
) -> Array:
    """Reflected energy fraction of a wave packet crossing the band (1D harmonic chain).

    A harmonic NN chain (``k = m = a = 1``, dispersion ``omega = 2 |sin(q/2)|``) is atomistic
    for ``x < overlap[1]``, continuum (elements of ``element`` lattice spacings, also in the
    band) beyond; a right-moving packet ``A exp(-(x - x0)^2 / 2 w^2) cos(q x)`` starts at
    ``x0 = overlap[0] / 2``; after it has crossed, the energy of the atoms with
    ``x < overlap[0]`` divided by the initial energy is the reflected fraction.

    Returns
    -------
    ndarray, shape (k, 3)
        Rows ``(q, reflected fraction, relative energy drift)``.
    """
    from scalebridge.atomistic.chain import linear_chain
    from scalebridge.atomistic.potentials import Harmonic

    c = linear_chain(n_atoms, nearest=Harmonic(k=1.0, r0=1.0, cutoff=np.inf))
    x0, x1 = overlap
    X = c.positions[:, 0]
    nodes = np.flatnonzero((X >= x0) & ((X - x0) % element == 0))
    nodes = np.union1d(nodes, [n_atoms - 1])
    bd = bridging_domain(c, Handshake([0.0], x0, x1, profile), nodes=nodes)
    xa = X[bd.atoms]
    xc = X[bd.mesh.rep]
    fixed = np.zeros((bd.n_atoms + bd.mesh.n_rep, 1), bool)
    fixed[bd.n_atoms + np.argmax(xc)] = True
    rows = []
    for q in np.atleast_1d(np.asarray(wavenumbers, dtype=float)):
        om = 2.0 * abs(np.sin(q / 2.0))
        cg = np.cos(q / 2.0)
        xs = 0.5 * x0
        env = amplitude * np.exp(-0.5 * ((xa - xs) / width) ** 2)
        denv = -(xa - xs) / width**2 * env
        ua = env * np.cos(q * xa)
        va = om * env * np.sin(q * xa) - cg * denv * np.cos(q * xa)
        u0 = np.zeros((bd.n_atoms + bd.mesh.n_rep, 1))
        v0 = np.zeros_like(u0)
        u0[: bd.n_atoms, 0], v0[: bd.n_atoms, 0] = ua, va
        T = (x1 - xs + (x0 - xs)) / max(cg, 0.05)  # packet reaches the band and returns
        steps = int(np.ceil(T / dt))
        tr = simulate(bd, u0, v0, dt=dt, steps=steps, fixed=fixed, sample_every=steps)
        left = np.flatnonzero(xa < x0 - width)
        e_left = _chain_energy(tr.displacement[: bd.n_atoms, 0], tr.velocity[: bd.n_atoms, 0], left)
        e0 = tr.energy[0]
        rows.append((q, e_left / e0, abs(tr.energy[-1] - e0) / e0))
    return np.array(rows)


def _chain_energy(u: Array, v: Array, idx: IntArray) -> float:
    """Kinetic plus half the bond energy of the harmonic chain atoms ``idx`` (k = m = 1)."""
    du = np.diff(u)
    site = 0.5 * v**2
    bond = 0.5 * du**2
    site[:-1] += 0.5 * bond
    site[1:] += 0.5 * bond
    return float(site[idx].sum())
