"""Limitation 4 — the Cauchy–Born rule fails under large shear.

Cauchy–Born assumes that every atom follows the macroscopic deformation gradient ``F``.
That is right only while the homogeneously deformed crystal is a *stable* energy minimum.
Two checks decide it: **strong ellipticity** of the Cauchy–Born energy (the acoustic
tensor ``Q_ik(n) = A_iJkL n_J n_L`` positive definite for every direction ``n``: real
wave speeds, no localisation into a band) and **phonon stability** (the dynamical matrix
positive at every wavevector: no lattice-scale mode, such as slip or twinning, lowers the
energy).  Past them the real crystal does something inhomogeneous — it slips, twins or
transforms — while the Cauchy–Born law keeps returning the energy of a state that no
longer exists.

The script shears an FCC Lennard-Jones crystal (smooth LJ, cutoff 2.5 σ, zero-pressure
lattice constant) on the cube axes, ``F = I + γ e₁ ⊗ e₂``, and checks

* at ``F = I``: the Cauchy relation ``C₁₂ = C₄₄`` (pair potential, centrosymmetric
  lattice, stress free; to 1e-9) and the smallest acoustic eigenvalue
  ``min(C₄₄, (C₁₁ − C₁₂)/2)`` of a cubic crystal (to 1e-9);
* the shear ``γ_c`` where `CauchyBorn.stability` reports the loss of strong ellipticity
  (bisection to 1e-6), cross-checked independently: an acoustic tensor built from central
  differences of the stress ``P(F)`` (``evaluate`` only) is positive definite over 2000
  directions at ``γ_c − 10⁻³`` and has a negative eigenvalue along the reported worst
  direction at ``γ_c + 10⁻³``;
* nothing shows in the loading curve: the shear stress ``P₁₂(γ)`` still rises through
  ``γ_c`` (the unstable mode is not the imposed shear).

How scalebridge shows it: ``CauchyBorn.stability(F)`` returns the flags ``stable``,
``strong_ellipticity``, ``phonon``, ``born``, the smallest eigenvalues and the worst
direction.  A multiscale code using the Cauchy–Born law must call it on its deformation
gradients; there is no automatic warning in ``evaluate``.

Run ``python tutorials/limit_cauchy_born.py [OUTPUT_DIR]`` (about 1 s); figure
``limit_cauchy_born`` (PNG and SVG).
"""

from __future__ import annotations

import numpy as np
from _style import COLORS, MARKERS, figure, output_dir, save

from scalebridge.atomistic import CauchyBorn, LennardJones, fcc, relax_lattice_constant


def shear(gamma: np.ndarray) -> np.ndarray:
    """Flattened ``F = I + γ e1 (x) e2``, shape ``(n, 9)``."""
    F = np.tile(np.eye(3), (np.size(gamma), 1, 1))
    F[:, 0, 1] = gamma
    return F.reshape(-1, 9)


def fd_acoustic_min(law: CauchyBorn, gamma: float, N: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Smallest eigenvalue of ``Q(n)`` for each row of ``N``, with ``A = dP/dF`` from
    central differences of the stress (independent of the law's analytic tangent)."""
    F0 = shear(np.array([gamma]))[0]
    A = np.empty((9, 9))
    for j in range(9):
        dF = np.zeros(9)
        dF[j] = h
        A[:, j] = (law.evaluate(F0 + dF)[0] - law.evaluate(F0 - dF)[0]).ravel() / (2 * h)
    A4 = 0.5 * (A + A.T).reshape(3, 3, 3, 3)  # A_iJkL, major symmetry (hyperelastic)
    Q = np.einsum("ijkl,mj,ml->mik", A4, N, N)
    return np.linalg.eigvalsh(Q)[:, 0]


def bisect(flag, lo: float, hi: float, tol: float = 1e-6) -> float:
    """The switch of ``flag(γ)`` from True (at ``lo``) to False (at ``hi``)."""
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if flag(mid) else (lo, mid)
    return 0.5 * (lo + hi)


def main(
    outdir: str | None = None, *, gamma_max: float = 0.25, points: int = 51, verbose: bool = True
) -> dict[str, object]:
    lj = LennardJones(cutoff=2.5)  # smooth: energy and force vanish at the cutoff
    law = CauchyBorn(relax_lattice_constant(fcc(1.55), lj), lj)
    C = law.elastic_constants("voigt")
    C11, C12, C44 = C[0, 0], C[0, 1], C[3, 3]
    g = np.linspace(0.0, gamma_max, points)
    res = law.stability(shear(g))
    P12 = law.evaluate(shear(g))[0].reshape(-1, 3, 3)[:, 0, 1]

    thresholds = {}
    for name in ("born", "strong_ellipticity", "phonon"):
        kp = None if name == "phonon" else 0

        def ok(x: float, name: str = name, kp: int | None = kp) -> bool:
            r = law.stability(shear(np.array([x])), kpoints=kp)
            return bool(getattr(r, name)[0])

        bad = g[~getattr(res, name)]
        thresholds[name] = bisect(ok, 0.0, float(bad[0])) if bad.size else float("nan")
    gc = thresholds["strong_ellipticity"]

    delta = 1e-3
    rng = np.random.default_rng(0)
    N = rng.normal(size=(2000, 3))
    N /= np.linalg.norm(N, axis=1, keepdims=True)
    below = float(fd_acoustic_min(law, gc - delta, N).min())
    worst = law.stability(shear(np.array([gc + delta])), kpoints=0).worst_direction[0]
    above = float(fd_acoustic_min(law, gc + delta, worst[None, :])[0])
    rising = bool(np.all(np.diff(P12) > 0))

    out = {
        "lattice_constant": law.lattice.a,
        "C11": float(C11),
        "C12": float(C12),
        "C44": float(C44),
        "cauchy_relation": float(abs(C12 - C44) / C44),
        "min_acoustic_identity": float(res.min_acoustic[0]),
        "thresholds": thresholds,
        "fd_min_below": below,
        "fd_min_above": above,
        "worst_direction": worst.tolist(),
        "shear_stress_rising": rising,
    }

    # central forces at a centre of symmetry, zero stress: C12 = C44 (Cauchy 1828)
    assert out["cauchy_relation"] < 1e-9, out
    # acoustic tensor of a cubic crystal: [100] gives C44, [110] gives (C11 - C12)/2;
    # both directions are sampled, so the minimum is exact to round-off
    assert abs(res.min_acoustic[0] / min(C44, (C11 - C12) / 2) - 1) < 1e-9, out
    # the flag flips where the finite-difference acoustic tensor loses definiteness:
    # positive over 2000 random directions 1e-3 before, negative along the reported
    # worst direction 1e-3 after (FD error ~1e-4 against eigenvalues ~0.2 there)
    assert below > 0 > above, out
    # the ordering of the three criteria for this path (Born first, then ellipticity,
    # then phonons) and where ellipticity goes: gamma_c = 0.1645 for this potential
    assert thresholds["born"] < gc < thresholds["phonon"], thresholds
    # the loading curve shows nothing: P12 keeps rising through gamma_c
    assert rising and gc < gamma_max, out

    if verbose:
        print(
            f"LJ FCC a0 = {law.lattice.a:.4f} sigma: C11 {C11:.2f}, C12 {C12:.2f}, C44 {C44:.2f} "
            f"(Cauchy relation to {out['cauchy_relation']:.0e})"
        )
        print(
            "simple shear F12 loses: " + ", ".join(f"{k} at {v:.4f}" for k, v in thresholds.items())
        )
        print(
            f"finite-difference acoustic minimum: {below:.3f} at gamma_c - 1e-3, {above:.3f} at "
            f"gamma_c + 1e-3 along n = {np.round(worst, 3).tolist()}"
        )
    if outdir is not None:
        out["figures"] = [str(p) for p in plot(g, res, P12, thresholds, C11, C12, C44, outdir)]
    return out


def plot(g, res, P12, thresholds, C11, C12, C44, outdir) -> list:
    fig, (a, b) = figure(ncols=2, width=3.5, height=2.8)
    a.plot(
        g,
        res.min_acoustic / res.min_acoustic[0],
        MARKERS[0] + "-",
        ms=2.5,
        color=COLORS[0],
        label="acoustic tensor (ellipticity)",
    )
    a.plot(
        g,
        res.min_born / res.min_born[0],
        MARKERS[1] + "-",
        ms=2.5,
        color=COLORS[1],
        label="Born (d²W/dE²)",
    )
    a.plot(
        g,
        res.min_phonon / res.min_phonon[0],
        MARKERS[2] + "-",
        ms=2.5,
        color=COLORS[2],
        label="phonons (6³ q-grid)",
    )
    a.axhline(0.0, color="k", lw=0.8)
    for k, name in enumerate(("strong_ellipticity", "born", "phonon")):
        a.axvline(thresholds[name], color=COLORS[k], lw=0.8, ls="--")
    a.set_ylim(-1.0, 1.1)
    a.set_xlabel(r"simple shear $\gamma = F_{12}$ (–)")
    a.set_ylabel("smallest eigenvalue / value at F = I")
    a.set_title("LJ FCC: where Cauchy–Born stops")
    a.legend(fontsize=7, loc="lower left")
    unstable = g >= thresholds["strong_ellipticity"]
    b.plot(g, P12, "-", color=COLORS[6], label=r"Cauchy–Born $P_{12}$")
    b.fill_between(
        g,
        0,
        P12.max() * 1.05,
        where=unstable,
        color=COLORS[3],
        alpha=0.15,
        label="not elliptic: CB invalid",
    )
    b.axvline(thresholds["strong_ellipticity"], color=COLORS[0], lw=0.8, ls="--")
    b.set_xlabel(r"simple shear $\gamma = F_{12}$ (–)")
    b.set_ylabel(r"shear stress $P_{12}$ ($\varepsilon/\sigma^3$)")
    b.set_title("nothing shows in the stress")
    b.legend(fontsize=7, loc="upper left")
    return save(fig, outdir, "limit_cauchy_born")


if __name__ == "__main__":
    main(output_dir())
