"""Hierarchical (sequential) coupling: a Cauchy-Born database and a hyperelastic surrogate.

Offline, deformations are sampled by a Latin hypercube (`scipy.stats.qmc`) over a box of
strain components, the Cauchy-Born law (`CauchyBorn` with a built-in potential, or
`ASECauchyBorn` with any ASE calculator) is evaluated there, and the samples are stored
(`save_database`: ``.npz`` or HDF5, written atomically).  Online, `fit_surrogate` fits

    W(E) = sum_c a_c prod_k (e_k / s)^(n_ck),     e = Mandel components of E = (C - I) / 2,

a polynomial of total degree ``<= degree`` (``s`` the largest sampled ``|e_k|``), by linear
least squares on the sampled second Piola-Kirchhoff stresses ``S = F^-1 P`` and energies.
`PolynomialSurrogate` is a finite-strain law: ``S = dW/dE``, ``P = F S`` and the exact
tangent ``A_iJkL = delta_ik S_JL + F_iI F_kK CC_IJKL`` (``CC = d2W/dE2``).  It depends
on ``F`` only through ``C = F^T F``, hence is frame indifferent, and it is a potential,
hence its tangent is symmetric.  Evaluations outside the sampled box are detected: a
warning, an error or nothing (``out_of_range``).

Strain boxes are given on tensor components in Voigt order (no factor 2 or sqrt 2):
``(11, 22, 12)`` in 2D, ``(11, 22, 33, 23, 13, 12)`` in 3D, either of the Green-Lagrange
strain ``E`` (``measure="green-lagrange"``) or of the Biot strain ``U - I``, ``U`` the
right stretch tensor (``measure="stretch"``); the samples are ``F = U``.

>>> from scalebridge.atomistic import CauchyBorn, Harmonic, triangular
>>> law = CauchyBorn(triangular(1.0), Harmonic(k=1.0, r0=1.0))
>>> db = build_database(law, 40, bounds=0.05, seed=0)
>>> sur = fit_surrogate(db, degree=4)
>>> print(f"{sur.fit_error['stress_max']:.1e}")   # relative, on the 40 samples
4.7e-04
>>> float(np.abs(sur.elastic_constants() - law.elastic_constants()).max()) < 1e-3
True
"""

from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalebridge.coupling.surrogate.database import atomic_file
from scalebridge.coupling.surrogate.sampling import (
    OutOfRangeError,
    OutOfRangeWarning,
    box_bounds,
    check_in_range,
    check_policy,
    inside_box,
    unit_samples,
)
from scalebridge.materials.base import FrozenLaw
from scalebridge.tensors import full_to_mandel, mandel_to_full

Array = NDArray[np.float64]
Measure = Literal["green-lagrange", "stretch"]
Policy = Literal["warn", "raise", "ignore"]

__all__ = [
    "CBDatabase",
    "MacroComparison",
    "OutOfRangeError",
    "OutOfRangeWarning",
    "PolynomialSurrogate",
    "StrainBox",
    "build_database",
    "compare_macro",
    "fit_surrogate",
    "load_database",
    "save_database",
    "strain_box",
    "stretched_sheet",
]

_PAIRS = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))}
_MEASURES = ("green-lagrange", "stretch")


# --------------------------------------------------------------------------- strain boxes
@dataclass(frozen=True)
class StrainBox:
    """A box of strain components (Voigt order, tensor components) of one measure.

    Attributes
    ----------
    measure : {"green-lagrange", "stretch"}
    lower, upper : ndarray, shape (m,)
        Bounds; ``m = 3`` (2D) or ``6`` (3D).
    """

    measure: str
    lower: Array
    upper: Array

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the deformation gradients."""
        return 2 if self.lower.size == 3 else 3

    def components(self, gradient: ArrayLike) -> Array:
        """Strain components ``(n, m)`` of flattened deformation gradients ``(n, d*d)``."""
        F = _as_F(gradient, self.dim, "StrainBox.components")
        C = np.swapaxes(F, 1, 2) @ F
        if self.measure == "green-lagrange":
            T = 0.5 * (C - np.eye(self.dim))
        else:
            lam, V = np.linalg.eigh(C)
            T = np.einsum("nij,nj,nkj->nik", V, np.sqrt(lam), V) - np.eye(self.dim)
        rows, cols = (np.array(p) for p in zip(*_PAIRS[self.dim], strict=True))
        return T[:, rows, cols]

    def contains(self, gradient: ArrayLike, margin: float = 0.0) -> NDArray[np.bool_]:
        """Mask ``(n,)``: inside the box widened by ``margin`` times its edge lengths."""
        return inside_box(self.components(gradient), self.lower, self.upper, margin)

    def sample(self, n: int, seed: int | None = 0) -> Array:
        """``n`` deformation gradients ``F = U`` (flattened), Latin hypercube in the box."""
        u = unit_samples("lhs", n, self.lower.size, seed)
        c = self.lower + u * (self.upper - self.lower)  # equal bounds: a fixed component
        d = self.dim
        T = np.zeros((n, d, d))
        for a, (i, j) in enumerate(_PAIRS[d]):
            T[:, i, j] = T[:, j, i] = c[:, a]
        if self.measure == "stretch":
            U = T + np.eye(d)
        else:
            lam, V = np.linalg.eigh(np.eye(d) + 2.0 * T)
            if np.any(lam <= 0.0):
                raise ValueError(
                    f"strain box: I + 2E is not positive definite at some samples (smallest "
                    f"eigenvalue {lam.min():.3g}); narrow the bounds {self.lower.tolist()} .. "
                    f"{self.upper.tolist()}"
                )
            U = np.einsum("nij,nj,nkj->nik", V, np.sqrt(lam), V)
        if np.any(np.linalg.eigvalsh(U) <= 0.0):
            raise ValueError(
                f"strain box: U = I + (U - I) is not positive definite at some samples; "
                f"narrow the stretch bounds {self.lower.tolist()} .. {self.upper.tolist()}"
            )
        return U.reshape(n, d * d)


def strain_box(
    dim: int, bounds: float | tuple[ArrayLike, ArrayLike], measure: Measure = "green-lagrange"
) -> StrainBox:
    """A `StrainBox`: ``bounds`` a half-width ``r`` (all components in ``[-r, r]``) or a pair
    ``(lower, upper)`` of ``m`` values each (Voigt order).

    Examples
    --------
    >>> strain_box(2, 0.1).upper.tolist()
    [0.1, 0.1, 0.1]
    """
    if dim not in (2, 3):
        raise ValueError(f"strain_box: dim must be 2 or 3, got {dim!r}")
    if measure not in _MEASURES:
        raise ValueError(f"strain_box: measure must be one of {_MEASURES}, got {measure!r}")
    lo, hi = box_bounds("strain_box", dim, bounds)
    return StrainBox(measure, lo, hi)


def _as_F(gradient: ArrayLike, d: int, who: str) -> Array:
    g = np.asarray(gradient, dtype=float)
    if g.ndim == 0 or g.shape[-1] != d * d:
        raise ValueError(
            f"{who}: gradient must be deformation gradients flattened row-major, shape "
            f"(..., {d * d}), got shape {g.shape}"
        )
    F = g.reshape(-1, d, d)
    det = np.linalg.det(F)
    if not np.all(np.isfinite(F)) or np.any(det <= 0.0):
        bad = np.flatnonzero(~(det > 0.0))[:3]
        raise ValueError(f"{who}: need finite F with det F > 0, got det F = {det[bad].tolist()}")
    return F


# --------------------------------------------------------------------------- database
@dataclass(frozen=True)
class CBDatabase:
    """Sampled deformations and the law's answers there.

    Attributes
    ----------
    F : ndarray, shape (n, d*d)
        Deformation gradients, flattened row-major.
    energy : ndarray, shape (n,)
        ``W(F)`` per unit reference volume (NaN when the law has no ``energy``).
    stress : ndarray, shape (n, d*d)
        First Piola-Kirchhoff stress.
    box : StrainBox
        The sampled strain box.
    law : str
        ``repr`` of the law that was sampled.
    seconds : float
        Wall time of the evaluations.
    tangent : ndarray, shape (n, d*d, d*d), or None
    """

    F: Array
    energy: Array
    stress: Array
    box: StrainBox
    law: str
    seconds: float
    tangent: Array | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Number of samples."""
        return int(self.F.shape[0])


def build_database(
    law: Any,
    n_samples: int,
    *,
    bounds: float | tuple[ArrayLike, ArrayLike] = 0.05,
    measure: Measure = "green-lagrange",
    seed: int | None = 0,
    tangent: bool = False,
) -> CBDatabase:
    """Evaluate a finite-strain law at Latin-hypercube samples of a strain box.

    Parameters
    ----------
    law : finite-strain law
        `CauchyBorn`, `ASECauchyBorn` or any law with ``physics == "finite-strain"`` and an
        integer ``dim``; ``energy(F)`` is used when present, ``first_piola(F)`` (ASE: no
        finite-difference tangent) in preference to ``evaluate``.
    n_samples : int
    bounds, measure
        The strain box, see `strain_box`.
    seed : int, optional
    tangent : bool
        Also store ``dP/dF`` (costly for `ASECauchyBorn`).

    Returns
    -------
    CBDatabase
    """
    if getattr(law, "physics", None) != "finite-strain":
        raise ValueError(
            f"build_database: law must have physics 'finite-strain', got {law!r} with "
            f"physics {getattr(law, 'physics', None)!r}"
        )
    dim = getattr(law, "dim", None)
    if dim not in (2, 3):
        raise ValueError(f"build_database: law.dim must be 2 or 3, got {dim!r} for {law!r}")
    box = strain_box(int(dim), bounds, measure)
    F = box.sample(n_samples, seed)
    t0 = time.perf_counter()
    A = None
    if tangent:
        P, A, _ = law.evaluate(F)
    elif callable(getattr(law, "first_piola", None)):
        P = law.first_piola(F)
    else:
        P = law.evaluate(F)[0]
    W = law.energy(F) if callable(getattr(law, "energy", None)) else np.full(len(F), np.nan)
    seconds = time.perf_counter() - t0
    A = None if A is None else np.asarray(A, dtype=float)
    return CBDatabase(
        F, np.asarray(W, dtype=float), np.asarray(P, dtype=float), box, repr(law), seconds, A
    )


def save_database(db: CBDatabase, path: str | os.PathLike[str]) -> Path:
    """Write ``db`` atomically: ``.npz`` (numpy) or ``.h5``/``.hdf5`` (h5py).  Returns the path."""
    p = Path(path)
    if p.suffix not in (".npz", ".h5", ".hdf5"):
        raise ValueError(f"save_database: path must end in .npz, .h5 or .hdf5, got {str(p)!r}")
    arrays: dict[str, Any] = {
        "F": db.F,
        "energy": db.energy,
        "stress": db.stress,
        "lower": db.box.lower,
        "upper": db.box.upper,
        "seconds": np.float64(db.seconds),
    }
    if db.tangent is not None:
        arrays["tangent"] = db.tangent
    with atomic_file(p) as tmp:
        if p.suffix == ".npz":
            with open(tmp, "wb") as f:
                np.savez(f, measure=np.str_(db.box.measure), law=np.str_(db.law), **arrays)
        else:
            import h5py

            with h5py.File(tmp, "w") as f:
                for key, value in arrays.items():
                    f.create_dataset(key, data=value)
                f.attrs["measure"] = db.box.measure
                f.attrs["law"] = db.law
    return p


def load_database(path: str | os.PathLike[str]) -> CBDatabase:
    """Read a database written by `save_database`."""
    p = Path(path)
    if p.suffix == ".npz":
        with np.load(p) as z:
            a = {k: z[k] for k in z.files}
        meta = {"measure": str(a.pop("measure")), "law": str(a.pop("law"))}
    elif p.suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(p, "r") as f:
            a = {k: f[k][()] for k in f}
            meta = {k: str(f.attrs[k]) for k in ("measure", "law")}
    else:
        raise ValueError(f"load_database: path must end in .npz, .h5 or .hdf5, got {str(p)!r}")
    box = StrainBox(meta["measure"], np.asarray(a["lower"]), np.asarray(a["upper"]))
    return CBDatabase(
        a["F"], a["energy"], a["stress"], box, meta["law"], float(a["seconds"]), a.get("tangent")
    )


# --------------------------------------------------------------------------- surrogate
def _exponents(m: int, degree: int) -> NDArray[np.int64]:
    """Exponents ``(n_mono, m)`` of all monomials of total degree ``<= degree``."""
    rows = [np.zeros(m, dtype=np.int64)]
    for p in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(range(m), p):
            rows.append(np.bincount(combo, minlength=m))
    return np.array(rows)


def _derivative_matrices(exps: NDArray[np.int64]) -> Array:
    """``D[k]`` ``(n_mono, n_mono)``: coefficients of ``d/dx_k`` in the same basis."""
    index = {tuple(e): c for c, e in enumerate(exps.tolist())}
    n, m = exps.shape
    D = np.zeros((m, n, n))
    for c, e in enumerate(exps):
        for k in np.flatnonzero(e):
            lower = e.copy()
            lower[k] -= 1
            D[k, index[tuple(lower)], c] = e[k]
    return D


def _vandermonde(x: Array, exps: NDArray[np.int64]) -> Array:
    """Monomials at points ``x`` ``(n, m)``: ``(n, n_mono)``."""
    pw = x[:, :, None] ** np.arange(int(exps.max(initial=0)) + 1)
    return np.prod(pw[:, np.arange(exps.shape[1])[None, :], exps], axis=-1)


class PolynomialSurrogate(FrozenLaw):
    """Hyperelastic law ``W(E)``, a polynomial of the Mandel components of ``E`` (see above).

    Build it with `fit_surrogate`.  ``physics = "finite-strain"``: ``evaluate(F)`` takes
    ``(..., d*d)`` and returns ``P`` ``(..., d*d)``, ``dP/dF`` ``(..., d*d, d*d)``, None.

    Attributes
    ----------
    dim : int
    degree : int
    coefficients : ndarray, shape (n_monomials,)
    scale : float
        ``s``: the polynomial variable is ``e / s``.
    box : StrainBox
        The sampled box; evaluations outside it are reported per ``out_of_range``.
    out_of_range : {"warn", "raise", "ignore"}
    margin : float
        Tolerance on the box, as a fraction of its edge lengths.
    fit_error : dict of str to float
        Relative RMS and max residuals of the fit (``stress_rms``, ``stress_max``,
        ``energy_rms``) on the database.
    """

    __slots__ = (
        "_exps",
        "_grad",
        "_hess",
        "box",
        "coefficients",
        "degree",
        "dim",
        "fit_error",
        "margin",
        "out_of_range",
        "scale",
    )
    physics = "finite-strain"
    has_state = False

    def __init__(
        self,
        box: StrainBox,
        degree: int,
        coefficients: ArrayLike,
        scale: float,
        *,
        out_of_range: Policy = "warn",
        margin: float = 0.0,
        fit_error: dict[str, float] | None = None,
    ) -> None:
        check_policy("PolynomialSurrogate", out_of_range)
        if not (margin >= 0 and math.isfinite(margin)):
            raise ValueError(f"PolynomialSurrogate: margin must be >= 0, got {margin!r}")
        m = box.lower.size
        exps = _exponents(m, degree)
        a = np.asarray(coefficients, dtype=float).ravel()
        if a.shape != (len(exps),):
            raise ValueError(
                f"PolynomialSurrogate: {len(exps)} coefficients needed for degree {degree} "
                f"in {m} variables, got {a.size}"
            )
        D = _derivative_matrices(exps)
        self._set("_exps", exps)
        self._set("_grad", D @ a)  # (m, n_mono)
        self._set("_hess", np.einsum("lij,kj->kli", D, D @ a))  # (m, m, n_mono)
        self._set("box", box)
        self._set("coefficients", a)
        self._set("degree", int(degree))
        self._set("dim", box.dim)
        self._set("fit_error", dict(fit_error or {}))
        self._set("margin", float(margin))
        self._set("out_of_range", out_of_range)
        self._set("scale", float(scale))

    def __repr__(self) -> str:
        return (
            f"PolynomialSurrogate(dim={self.dim}, degree={self.degree}, "
            f"measure={self.box.measure!r}, out_of_range={self.out_of_range!r})"
        )

    def _check_range(self, F: Array) -> None:
        if self.out_of_range == "ignore":
            return
        c = self.box.components(F.reshape(len(F), -1))
        check_in_range(
            inside_box(c, self.box.lower, self.box.upper, self.margin),
            self.out_of_range,
            who="PolynomialSurrogate",
            region=f"{self.box.measure} box {self.box.lower.tolist()} .. {self.box.upper.tolist()}",
            coordinates=c,
            stacklevel=4,
        )

    def _parts(self, gradient: ArrayLike) -> tuple[Array, tuple[int, ...], Array]:
        g = np.asarray(gradient, dtype=float)
        F = _as_F(g, self.dim, "PolynomialSurrogate")
        self._check_range(F)
        E = 0.5 * (np.swapaxes(F, 1, 2) @ F - np.eye(self.dim))
        V = _vandermonde(full_to_mandel(E) / self.scale, self._exps)
        return F, g.shape[:-1], V

    def energy(self, gradient: ArrayLike) -> Array:
        """``W(F)`` per unit reference volume, shape ``batch``."""
        _, batch, V = self._parts(gradient)
        return (V @ self.coefficients).reshape(batch)

    def second_piola(self, gradient: ArrayLike) -> Array:
        """``S = dW/dE``, ``(..., d, d)``."""
        _, batch, V = self._parts(gradient)
        S = mandel_to_full(V @ self._grad.T / self.scale)
        return S.reshape(*batch, self.dim, self.dim)

    def evaluate(self, gradient: ArrayLike, state: None = None) -> tuple[Array, Array, None]:
        """``P = F S`` ``(..., d*d)``, exact tangent ``(..., d*d, d*d)``, state None."""
        F, batch, V = self._parts(gradient)
        d, n = self.dim, len(F)
        S = mandel_to_full(V @ self._grad.T / self.scale)
        m = self._grad.shape[0]
        CC = mandel_to_full((V @ self._hess.reshape(m * m, -1).T).reshape(n, m, m), order=4)
        CC = CC / self.scale**2
        P = F @ S
        A = np.einsum("ik,nJL->niJkL", np.eye(d), S) + np.einsum(
            "niI,nkK,nIJKL->niJkL", F, F, CC, optimize=True
        )
        return P.reshape(*batch, d * d), A.reshape(*batch, d * d, d * d), None

    def elastic_constants(self) -> Array:
        """Lagrangian moduli ``d2W/dE2`` at ``F = I``, Mandel ``(3, 3)`` or ``(6, 6)``."""
        m = self._grad.shape[0]
        V = _vandermonde(np.zeros((1, m)), self._exps)
        return (V @ self._hess.reshape(m * m, -1).T).reshape(m, m) / self.scale**2


def fit_surrogate(
    db: CBDatabase,
    *,
    degree: int = 4,
    out_of_range: Policy = "warn",
    margin: float = 0.0,
) -> PolynomialSurrogate:
    """Least-squares fit of a `PolynomialSurrogate` to the stresses and energies of ``db``.

    Rows: ``dW/de_k = S_k`` for every sample and Mandel component, and ``W = W_sample``
    scaled by ``1 / s`` (a stress error ``dS`` weighs as an energy error ``s dS``); without
    energies the constant term is zero.

    Parameters
    ----------
    db : CBDatabase
    degree : int
        Total degree of the polynomial, 2 to 8.
    out_of_range : {"warn", "raise", "ignore"}
        What evaluating outside ``db.box`` does.
    margin : float
        Tolerance on the box (fraction of its edge lengths).

    Returns
    -------
    PolynomialSurrogate
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or not 2 <= degree <= 8:
        raise ValueError(f"fit_surrogate: degree must be an integer in [2, 8], got {degree!r}")
    d = db.box.dim
    m = db.box.lower.size
    F = _as_F(db.F, d, "fit_surrogate")
    E = 0.5 * (np.swapaxes(F, 1, 2) @ F - np.eye(d))
    e = full_to_mandel(E)
    scale = float(np.abs(e).max()) or 1.0
    exps = _exponents(m, degree)
    if db.size * m < len(exps):
        raise ValueError(
            f"fit_surrogate: {db.size} samples give {db.size * m} stress equations for "
            f"{len(exps)} coefficients (degree {degree}); add samples or lower the degree"
        )
    S = np.linalg.solve(F, db.stress.reshape(-1, d, d))
    s_m = full_to_mandel(S)
    V = _vandermonde(e / scale, exps)
    D = _derivative_matrices(exps)
    rows = [np.einsum("ni,kij->nkj", V, D).reshape(-1, len(exps)) / scale]
    rhs = [s_m.ravel()]
    has_energy = bool(np.all(np.isfinite(db.energy)))
    if has_energy:
        rows.append(V / scale)
        rhs.append(db.energy / scale)
    a = np.linalg.lstsq(np.vstack(rows), np.concatenate(rhs), rcond=None)[0]
    fit = PolynomialSurrogate(db.box, degree, a, scale, out_of_range="ignore")
    s_fit = full_to_mandel(fit.second_piola(db.F))
    ref = float(np.sqrt(np.mean(s_m**2))) or 1.0
    err = {
        "stress_rms": float(np.sqrt(np.mean((s_fit - s_m) ** 2)) / ref),
        "stress_max": float(np.abs(s_fit - s_m).max() / np.abs(s_m).max()),
    }
    if has_energy:
        dW = fit.energy(db.F) - db.energy
        err["energy_rms"] = float(np.sqrt(np.mean(dW**2)) / (np.ptp(db.energy) or 1.0))
    return PolynomialSurrogate(
        db.box, degree, a, scale, out_of_range=out_of_range, margin=margin, fit_error=err
    )


# --------------------------------------------------------------------------- macro problem
@dataclass(frozen=True)
class MacroComparison:
    """The same macro problem solved with the reference law and with its surrogate.

    Attributes
    ----------
    reference, surrogate : SolidResult
        Finite-strain solutions (increments: ``strain`` = ``F``, ``stress`` = ``P``).
    displacement_error : float
        ``max |u_sur - u_ref| / max |u_ref|`` at the final load.
    force_error : float
        Relative difference of the reaction on ``"right"`` at the final load.
    reference_seconds, surrogate_seconds : float
        Wall times of the two solves.
    in_range : float
        Fraction of the surrogate's quadrature points inside its strain box at the end.
    """

    reference: Any = field(repr=False)
    surrogate: Any = field(repr=False)
    displacement_error: float
    force_error: float
    reference_seconds: float
    surrogate_seconds: float
    in_range: float


def stretched_sheet(mesh: Any, law: Any, strain: float) -> Any:
    """`FiniteStrainProblem` of a sheet pulled along x by ``strain`` times its width.

    ``mesh`` has boundaries ``"left"``, ``"bottom"`` and ``"right"`` (a `rectangle` or the
    quarter `plate_with_hole`): ``u_x = 0`` on the left, ``u_y = 0`` on the bottom
    (symmetry planes), ``u_x = strain * width`` on the right.
    """
    from scalebridge.fem.finite_strain import FiniteStrainProblem

    width = float(np.ptp(np.asarray(mesh.p)[0]))
    problem = FiniteStrainProblem(mesh, law)
    return problem.fix("left", [0]).fix("bottom", [1]).prescribe("right", 0, strain * width)


def compare_macro(
    reference: Any,
    surrogate: PolynomialSurrogate,
    mesh: Any,
    *,
    strain: float = 0.02,
    steps: int = 2,
    tol: float = 1e-8,
) -> MacroComparison:
    """Solve `stretched_sheet` with ``reference`` (e.g. `CauchyBorn`) and ``surrogate``.

    Returns
    -------
    MacroComparison
    """
    results, seconds = [], []
    for law in (reference, surrogate):
        t0 = time.perf_counter()
        results.append(stretched_sheet(mesh, law, strain).solve(steps=steps, tol=tol))
        seconds.append(time.perf_counter() - t0)
    ref, sur = results
    u_ref, u_sur = ref.final.displacement, sur.final.displacement
    f_ref, f_sur = ref.reaction("right")[-1], sur.reaction("right")[-1]
    return MacroComparison(
        ref,
        sur,
        float(np.abs(u_sur - u_ref).max() / np.abs(u_ref).max()),
        float(np.linalg.norm(f_sur - f_ref) / np.linalg.norm(f_ref)),
        seconds[0],
        seconds[1],
        float(surrogate.box.contains(sur.final.strain, surrogate.margin).mean()),
    )
