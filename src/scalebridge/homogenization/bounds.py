"""Voigt/Reuss and Hashin-Shtrikman bounds on effective conductivity and stiffness.

Voigt/Reuss hold in the Loewner order for any microstructure.  Hashin-Shtrikman (HS)
bounds are given on isotropic moduli when every phase is isotropic, in the general
(Walpole) form that also covers non-well-ordered phases and any number of phases:

* conduction, ``d`` dimensions:
  ``k_HS(k0) = [sum_i f_i / (k_i + (d-1) k0)]^-1 - (d-1) k0`` with ``k0 = min k`` (lower)
  and ``max k`` (upper);
* elasticity 3D: ``K_HS(G0) = [sum f_i/(K_i + 4 G0/3)]^-1 - 4 G0/3`` and
  ``G_HS(z) = [sum f_i/(G_i + z)]^-1 - z``, ``z = G0 (9 K0 + 8 G0) / (6 (K0 + 2 G0))``,
  with ``(K0, G0) = (min K, min G)`` (lower) and ``(max K, max G)`` (upper);
* elasticity 2D plane strain: on the in-plane bulk modulus ``kappa = lambda + mu``
  (key ``"K2D"``) and ``G``: ``kappa_HS(G0) = [sum f_i/(kappa_i + G0)]^-1 - G0`` and
  ``G_HS(z)`` with ``z = kappa0 G0 / (kappa0 + 2 G0)`` (Hashin 1965, transverse moduli).

For two well-ordered phases these are the classical HS formulas, e.g.
``k_lo = k1 + f2 / (1/(k2 - k1) + f1/(d k1))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalebridge import tensors as tn

Array = NDArray[np.float64]

ISOTROPY_RTOL = 1e-3
"""HS check only when ``|T - iso(T)|_F <= ISOTROPY_RTOL |T|_F`` for the effective ``T``."""

PHASE_ISOTROPY_RTOL = 1e-8
"""A phase tensor is isotropic (HS defined) when its distance to ``iso`` is below this."""


def _iso_distance(T: Array, physics: str) -> float:
    """Relative Frobenius distance of ``T`` to its isotropic projection."""
    norm = np.linalg.norm(T)
    if norm == 0.0:
        return 0.0
    if physics == "conduction":
        iso = np.trace(T) / T.shape[0] * np.eye(T.shape[0])
    else:
        iso = tn.isotropic_part(T)
    return float(np.linalg.norm(T - iso) / norm)


def _iso_moduli(T: Array, physics: str) -> dict[str, float]:
    if physics == "conduction":
        return {"k": float(np.trace(T)) / T.shape[0]}
    bulk, shear = tn.isotropic_moduli(T)
    return {("K" if T.shape[0] == 6 else "K2D"): bulk, "G": shear}


@dataclass(frozen=True, eq=False)
class Bounds:
    """Bounds on an effective tensor.

    Attributes
    ----------
    voigt : ndarray
        ``(m, m)`` arithmetic mean ``sum f_i T_i``.
    reuss : ndarray
        ``(m, m)`` harmonic mean ``(sum f_i T_i^-1)^-1``; the zero matrix when a phase of
        non-zero fraction is void (a pore).
    hashin_shtrikman : dict or None
        ``{"k": (lo, hi)}`` (conduction), ``{"K": .., "G": ..}`` (3D elasticity) or
        ``{"K2D": .., "G": ..}`` (2D plane strain, ``K2D = lambda + mu``); None unless
        every phase with non-zero fraction is isotropic.
    physics : str
    ndim : int
    """

    voigt: Array
    reuss: Array
    hashin_shtrikman: dict[str, tuple[float, float]] | None
    physics: str = "conduction"
    ndim: int = 0

    def check(self, tensor: ArrayLike, rtol: float = 1e-6) -> dict[str, bool | None]:
        """Whether ``tensor`` lies inside the bounds.

        ``"voigt_reuss"``: ``min eig(C_V - T) >= -rtol ||C_V||_2`` and
        ``min eig(T - C_R) >= -rtol ||C_V||_2``.  ``"hashin_shtrikman"``: the isotropic
        moduli of ``T`` inside ``[lo, hi]`` widened by ``max(rtol, delta) * hi``, with
        ``delta`` the relative Frobenius distance of ``T`` to its isotropic projection
        (the bounds are stated for isotropic composites; a nearly isotropic finite cell
        may differ from its isotropic part by that much); None ("not applicable") when
        no HS bounds exist or ``delta`` exceeds `ISOTROPY_RTOL` (1e-3).

        Examples
        --------
        >>> b = compute_bounds({0: 0.5, 1: 0.5}, {0: np.eye(2), 1: 4 * np.eye(2)},
        ...                    physics="conduction", ndim=2)
        >>> b.check(2.0 * np.eye(2))
        {'voigt_reuss': True, 'hashin_shtrikman': True}
        >>> b.check(3.0 * np.eye(2))["hashin_shtrikman"]
        False
        """
        T = np.asarray(tensor, dtype=float)
        if T.shape != self.voigt.shape:
            raise ValueError(f"tensor: expected shape {self.voigt.shape}, got {T.shape}")
        Ts = 0.5 * (T + T.T)
        scale = rtol * np.linalg.norm(self.voigt, 2)
        vr = bool(
            np.linalg.eigvalsh(self.voigt - Ts)[0] >= -scale
            and np.linalg.eigvalsh(Ts - self.reuss)[0] >= -scale
        )
        hs: bool | None = None
        delta = _iso_distance(Ts, self.physics) if self.hashin_shtrikman is not None else 1.0
        if self.hashin_shtrikman is not None and delta <= ISOTROPY_RTOL:
            moduli = _iso_moduli(Ts, self.physics)
            slack = max(rtol, delta)
            hs = all(
                lo - slack * abs(hi) <= moduli[name] <= hi + slack * abs(hi)
                for name, (lo, hi) in self.hashin_shtrikman.items()
            )
        return {"voigt_reuss": vr, "hashin_shtrikman": hs}


def _phases(
    fractions: Mapping[int, float], tensors: Mapping[int, ArrayLike]
) -> tuple[Array, list[Array]]:
    """Fractions and tensors in matching order; validates keys, sums and shapes."""
    if set(fractions) != set(tensors):
        raise ValueError(
            f"fractions and tensors must have the same phase labels, got "
            f"{sorted(fractions)} and {sorted(tensors)}"
        )
    keys = sorted(fractions)
    if not keys:
        raise ValueError("fractions: empty; give at least one phase")
    f = np.array([float(fractions[k]) for k in keys])
    if not np.all(np.isfinite(f)) or np.any(f < 0.0) or abs(f.sum() - 1.0) > 1e-6:
        raise ValueError(
            f"fractions must be finite, >= 0 and sum to 1 (within 1e-6), got "
            f"{dict(zip(keys, f.tolist(), strict=True))}"
        )
    Ts = [np.asarray(tensors[k], dtype=float) for k in keys]
    shape = Ts[0].shape
    if len(shape) != 2 or shape[0] != shape[1] or any(T.shape != shape for T in Ts):
        raise ValueError(f"tensors must be square and of one shape, got {[T.shape for T in Ts]}")
    return f / f.sum(), Ts


def voigt_bound(fractions: Mapping[int, float], tensors: Mapping[int, ArrayLike]) -> Array:
    """Voigt (arithmetic) bound ``sum f_i T_i``.

    >>> voigt_bound({0: 0.5, 1: 0.5}, {0: np.eye(2), 1: 3 * np.eye(2)})
    array([[2., 0.],
           [0., 2.]])
    """
    f, Ts = _phases(fractions, tensors)
    return sum((fi * T for fi, T in zip(f, Ts, strict=True)), np.zeros_like(Ts[0]))


def reuss_bound(fractions: Mapping[int, float], tensors: Mapping[int, ArrayLike]) -> Array:
    """Reuss (harmonic) bound ``(sum f_i T_i^-1)^-1``; zero when a present phase is void.

    >>> reuss_bound({0: 0.5, 1: 0.5}, {0: np.eye(2), 1: 3 * np.eye(2)})
    array([[1.5, 0. ],
           [0. , 1.5]])
    """
    f, Ts = _phases(fractions, tensors)
    present = [(fi, T) for fi, T in zip(f, Ts, strict=True) if fi > 0.0]
    if any(not np.any(T) for _, T in present):
        return np.zeros_like(Ts[0])
    S = sum(fi * np.linalg.inv(T) for fi, T in present)
    R = np.linalg.inv(S)
    return 0.5 * (R + R.T)


def _hs_mean(values: Array, f: Array, ref: float) -> float:
    """``[sum f_i / (v_i + ref)]^-1 - ref``, 0 when a present ``v_i + ref`` vanishes."""
    v = values[f > 0.0]
    if np.all(v == v[0]):
        return float(v[0])
    den = values + ref
    if np.any((den <= 0.0) & (f > 0.0)):
        return 0.0
    return float(1.0 / np.sum(f[f > 0.0] / den[f > 0.0]) - ref)


def _hs_conduction(k: Array, f: Array, ndim: int) -> tuple[float, float]:
    c = ndim - 1
    return _hs_mean(k, f, c * k.min()), _hs_mean(k, f, c * k.max())


def _zeta(bulk: float, shear: float, ndim: int) -> float:
    if shear == 0.0:
        return 0.0
    if ndim == 3:
        return shear * (9.0 * bulk + 8.0 * shear) / (6.0 * (bulk + 2.0 * shear))
    return bulk * shear / (bulk + 2.0 * shear)


def _hs_elasticity(
    bulk: Array, shear: Array, f: Array, ndim: int
) -> dict[str, tuple[float, float]]:
    """HS bounds from per-phase 3D ``K`` (ndim 3) or in-plane ``kappa`` (ndim 2), and ``G``."""
    c = 4.0 / 3.0 if ndim == 3 else 1.0
    b_lo = _hs_mean(bulk, f, c * shear.min())
    b_hi = _hs_mean(bulk, f, c * shear.max())
    g_lo = _hs_mean(shear, f, _zeta(bulk.min(), shear.min(), ndim))
    g_hi = _hs_mean(shear, f, _zeta(bulk.max(), shear.max(), ndim))
    return {("K" if ndim == 3 else "K2D"): (b_lo, b_hi), "G": (g_lo, g_hi)}


def hashin_shtrikman_conductivity(
    k1: float, k2: float, f2: float, ndim: int
) -> tuple[float, float]:
    """HS bounds ``(lo, hi)`` on the conductivity of a two-phase isotropic composite.

    ``lo = k1 + f2 / (1/(k2 - k1) + f1/(d k1))`` for ``k1 <= k2``; ``hi`` swaps the roles.

    >>> lo, hi = hashin_shtrikman_conductivity(1.0, 4.0, 0.5, 2)
    >>> round(lo, 12), round(hi, 12)
    (1.857142857143, 2.153846153846)
    """
    _check_ndim(ndim)
    if not 0.0 <= f2 <= 1.0:
        raise ValueError(f"f2 must be in [0, 1], got {f2}")
    if not (k1 >= 0.0 and k2 >= 0.0):
        raise ValueError(f"k1, k2 must be >= 0, got {k1}, {k2}")
    return _hs_conduction(np.array([k1, k2], dtype=float), np.array([1.0 - f2, f2]), ndim)


def hashin_shtrikman_elasticity(
    K1: float, G1: float, K2: float, G2: float, f2: float, ndim: int
) -> dict[str, tuple[float, float]]:
    """HS (Walpole) bounds for two isotropic phases given by 3D ``K`` and ``G``.

    3D: ``{"K": (lo, hi), "G": (lo, hi)}``.  2D plane strain: ``{"K2D": .., "G": ..}``
    on the in-plane bulk modulus ``kappa = K + G/3 = lambda + mu``.

    >>> b = hashin_shtrikman_elasticity(1.0, 1.0, 1.0, 1.0, 0.3, 3)
    >>> b["K"], b["G"]
    ((1.0, 1.0), (1.0, 1.0))
    """
    _check_ndim(ndim)
    if not 0.0 <= f2 <= 1.0:
        raise ValueError(f"f2 must be in [0, 1], got {f2}")
    if min(K1, G1, K2, G2) < 0.0:
        raise ValueError(f"moduli must be >= 0, got K1={K1}, G1={G1}, K2={K2}, G2={G2}")
    bulk = np.array([K1, K2], dtype=float)
    shear = np.array([G1, G2], dtype=float)
    if ndim == 2:
        bulk = bulk + shear / 3.0
    return _hs_elasticity(bulk, shear, np.array([1.0 - f2, f2]), ndim)


def _check_ndim(ndim: int) -> None:
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")


def compute_bounds(
    fractions: Mapping[int, float],
    tensors: Mapping[int, ArrayLike] | None,
    *,
    physics: str,
    ndim: int,
    laws: Mapping[int, Any] | None = None,
) -> Bounds:
    """Voigt, Reuss and (isotropic phases) Hashin-Shtrikman bounds.

    Parameters
    ----------
    fractions : mapping
        ``{label: volume fraction}``, summing to 1.
    tensors : mapping or None
        ``{label: tensor}``: ``(d, d)`` conductivity or Mandel stiffness (``(3, 3)`` plane
        strain in 2D, ``(6, 6)`` in 3D).  None: taken from ``laws[label].tensor(ndim)``.
    physics : {"conduction", "elasticity"}
    ndim : {2, 3}
    laws : mapping, optional
        Phase laws, used only when ``tensors`` is None.

    HS bounds are given for any number of phases when every phase of non-zero fraction is
    isotropic (to `PHASE_ISOTROPY_RTOL`); otherwise ``hashin_shtrikman`` is None.

    Examples
    --------
    >>> b = compute_bounds({0: 0.5, 1: 0.5}, {0: np.eye(3), 1: 2 * np.eye(3)},
    ...                    physics="conduction", ndim=3)
    >>> float(b.voigt[0, 0]), float(b.reuss[0, 0])
    (1.5, 1.3333333333333333)
    """
    if physics not in ("conduction", "elasticity"):
        raise ValueError(f"physics must be 'conduction' or 'elasticity', got {physics!r}")
    _check_ndim(ndim)
    if tensors is None:
        if laws is None:
            raise ValueError("compute_bounds: give tensors or laws")
        tensors = {k: law.tensor(ndim) for k, law in laws.items()}
    f, Ts = _phases(fractions, tensors)
    m = ndim if physics == "conduction" else (3 if ndim == 2 else 6)
    if Ts[0].shape != (m, m):
        raise ValueError(
            f"tensors: {physics} in {ndim}D needs ({m}, {m}) tensors, got {Ts[0].shape}"
        )
    voigt = voigt_bound(fractions, tensors)
    reuss = reuss_bound(fractions, tensors)
    present = [T for fi, T in zip(f, Ts, strict=True) if fi > 0.0]
    fp = f[f > 0.0]
    hs: dict[str, tuple[float, float]] | None = None
    if all(_iso_distance(T, physics) <= PHASE_ISOTROPY_RTOL for T in present):
        moduli = [_iso_moduli(T, physics) for T in present]
        if physics == "conduction":
            hs = {"k": _hs_conduction(np.array([mo["k"] for mo in moduli]), fp, ndim)}
        else:
            bname = "K" if ndim == 3 else "K2D"
            bulk = np.array([mo[bname] for mo in moduli])
            shear = np.array([mo["G"] for mo in moduli])
            hs = _hs_elasticity(bulk, shear, fp, ndim)
    for A in (voigt, reuss):
        A.setflags(write=False)
    return Bounds(voigt=voigt, reuss=reuss, hashin_shtrikman=hs, physics=physics, ndim=ndim)
