"""Limitation 5 — strain localization in FE²: the macro problem loses uniqueness.

FE² assumes that the RVE's answer is the material's answer at a macro point.  That breaks
when the RVE *softens* or reaches a *limit load*: deformation localises into a band, the
RVE's macro tangent ``dΣ/dE`` becomes singular, and the macro boundary-value problem
loses uniqueness (any distribution of the band's slip between elements is a solution):
the results depend on the macro mesh, or the macro Newton solver finds no solution at all.

Here the epoxy matrix is *perfectly* plastic (no hardening) around an elastic glass
disk.  Under uniaxial stress in plane strain the limit load is known in closed form:

* lower bound: the uniform stress ``σ₁₁ = 2σ_y/√3`` (the plane-strain yield stress of the
  matrix, ``σ₃₃ = σ₁₁/2``) is statically admissible everywhere and plastically admissible
  in the matrix (the disk has no yield limit);
* upper bound: the disk leaves a periodic 45° band of pure matrix; sliding along it is a
  mechanism with the same load, ``2σ_y/√3``.

So ``Σ_lim = 2σ_y/√3`` — the disk does not strengthen the composite at all.  The script
checks

* the RVE (8² voxels, mixed control ``Σ₂₂ = Σ₁₂ = 0``) approaches ``2σ_y/√3`` (to 1e-5
  at ``E₁₁`` = 0.06) and its macro tangent's smallest eigenvalue falls below 1e-6 of its
  elastic value;
* FE² on a macro bar under traction converges up to 99 % of the limit load
  (quadratically), while the smallest eigenvalue of the RVE tangent at its points falls
  (below a tenth of its elastic value at 99 %), and raises `ConvergenceError` for a
  traction 5 % above it: there is no solution, and the macro Newton residuals show it by
  stalling instead of collapsing.

How a user detects it: the eigenvalues of the RVE tangent (``np.linalg.eigvalsh`` of the
tangent `RVELaw.evaluate` returns, against its elastic value) tend to zero ahead of the
failure; `SolidProblem.solve` raises `ConvergenceError` with the residual history
(``on_iteration`` records the macro one).  What to do: a material whose RVE softens needs
a regularised macro model (gradient or nonlocal enhancement, second-order
homogenization) or the fine-scale problem itself — FE² alone has no length scale for the
band.

Run ``python tutorials/limit_fe2_localization.py [OUTPUT_DIR]`` (about 4 s); figure
``limit_fe2_localization`` (PNG and SVG).
"""

from __future__ import annotations

import itertools

import numpy as np
from _style import COLORS, MARKERS, figure, output_dir, save

from scalebridge.cell.nonlinear_common import NewtonSettings
from scalebridge.cell.nonlinear_fft import NonlinearFFT
from scalebridge.cell.problem import MacroLoad
from scalebridge.coupling.fe2 import RVELaw
from scalebridge.errors import ConvergenceError
from scalebridge.fem import SolidProblem, rectangle
from scalebridge.materials import Elasticity, J2Plasticity
from scalebridge.microstructure.generators import sphere

SIGMA_Y = 40.0
MATRIX = J2Plasticity(E=3500.0, nu=0.35, yield_stress=SIGMA_Y)  # perfectly plastic epoxy
FIBRE = Elasticity(E=72000.0, nu=0.22)
LAWS = {0: MATRIX, 1: FIBRE}
SETTINGS = NewtonSettings(tol=1e-10, linear_tol=1e-11)
LIMIT = 2.0 * SIGMA_Y / np.sqrt(3.0)  # plane-strain uniaxial limit load


def rve_path(n: int, strains: np.ndarray) -> dict[str, np.ndarray]:
    """Uniaxial stress (``Σ22 = Σ12 = 0``) on the RVE: stress and tangent eigenvalues."""
    cell = NonlinearFFT(sphere((n, n), volume_fraction=0.3), LAWS, settings=SETTINGS)
    state, fluct = cell.initial_state(), None
    stress, eig = [], []
    for e in strains:
        load = MacroLoad.mixed(strain=[e, 0, 0], stress=[0, 0, 0], mask=[True, False, False])
        res = cell.solve(load, state, fluctuation=fluct)
        state, fluct = res.state, res.fluctuation
        stress.append(res.average_stress[0])
        eig.append(np.linalg.eigvalsh(0.5 * (res.tangent + res.tangent.T)))
    return {"stress": np.array(stress), "eig": np.array(eig)}


def macro_bar(n: int, factors: list[float], beyond: float) -> dict[str, object]:
    """FE² bar under traction ``factor x LIMIT``: converged increments, then one above."""
    law = RVELaw(sphere((n, n), volume_fraction=0.3), LAWS, settings=SETTINGS)
    problem = SolidProblem(rectangle(n=(2, 2), cell="tri"), law, quadrature=1)
    problem.fix("left", components=[0]).fix("bottom", components=[1])
    problem.traction("right", [LIMIT, 0.0])
    res = problem.solve(factors, tol=1e-10, max_iter=15)
    # the consistent tangent of each increment: its converged strain evaluated from the
    # state committed before it (re-evaluating the committed state itself would answer
    # elastically: a returned J2 state unloads elastically); one point, the state is uniform
    eig = []
    for before, inc in zip(res.increments[:-1], res.increments[1:], strict=True):
        _, C, _ = law.evaluate(inc.strain[:1], {k: v[:1] for k, v in before.state.items()})
        eig.append(np.linalg.eigvalsh(0.5 * (C[0] + C[0].T))[0])
    history: list[float] = []
    error = None
    try:
        problem.solve(
            [beyond],
            start=res.final,
            tol=1e-10,
            max_iter=5,
            max_cuts=0,
            on_iteration=lambda t, k, r: history.append(r),
        )
    except ConvergenceError as err:
        error = str(err)
    return {
        "result": res,
        "tangent_min": np.array(eig),  # increments 2, 3, ...
        "failed_history": np.array(history),
        "error": error,
        "micro_solves": law.stats.micro_solves,
    }


def main(
    outdir: str | None = None,
    *,
    n: int = 8,
    strains: tuple[float, ...] = (
        0.0025,
        0.005,
        0.0075,
        0.01,
        0.0125,
        0.015,
        0.02,
        0.03,
        0.04,
        0.06,
    ),
    verbose: bool = True,
) -> dict[str, object]:
    E = np.array(strains)
    path = rve_path(n, E)
    lam = path["eig"][:, 0]
    elastic = lam[0]  # the first increment is elastic
    bar = macro_bar(n, [0.8, 0.95, 0.99], 1.05)
    res = bar["result"]
    rates = []
    for inc in res.increments:
        r = inc.residuals
        rates += [np.log(b) / np.log(a) for a, b in itertools.pairwise(r) if a < 1e-2]
    out = {
        "limit_closed_form": LIMIT,
        "stress": path["stress"].tolist(),
        "limit_error": float(abs(path["stress"][-1] / LIMIT - 1)),
        "lambda_min_ratio": (lam / elastic).tolist(),
        "macro_load_factors": res.load_factors.tolist(),
        "macro_rate": float(max(rates)),
        "macro_tangent_ratio": dict(
            zip(res.load_factors[1:].tolist(), (bar["tangent_min"] / elastic).tolist(), strict=True)
        ),
        "beyond_limit_raised": bar["error"] is not None,
        "beyond_limit_history": bar["failed_history"].tolist(),
        "error_message": bar["error"],
    }

    # limit analysis: lower bound = upper bound = 2 sigma_y / sqrt3 (measured 1e-7 at
    # E11 = 0.06; the approach is exponential in E11)
    assert out["limit_error"] < 1e-5, out["stress"]
    assert np.all(path["stress"] <= LIMIT * (1 + 1e-9)), out["stress"]
    # the RVE tangent becomes singular at the limit load (measured 3e-10 of elastic)
    assert lam[-1] / elastic < 1e-6, lam
    # below the limit the macro Newton is quadratic (measured 2.0 and more), while the RVE
    # tangent at the macro points falls towards zero (measured 0.41 at 95 %, 0.038 at 99 %)
    ratio = bar["tangent_min"] / elastic
    assert out["macro_rate"] >= 1.8 and res.load_factors[-1] == 0.99, out
    assert np.all(np.diff(ratio) < 0) and ratio[-1] < 0.1, ratio
    # ... above it there is no solution: ConvergenceError, residuals that do not collapse
    h = bar["failed_history"]
    assert out["beyond_limit_raised"] and h.min() > 1e-6, out

    if verbose:
        print(
            f"RVE {n}^2, perfectly plastic matrix: Sigma11 -> {path['stress'][-1]:.5f} MPa; "
            f"2 sigma_y / sqrt3 = {LIMIT:.5f} (relative {out['limit_error']:.1e})"
        )
        print(
            "smallest tangent eigenvalue / elastic: "
            + ", ".join(f"{e:g}: {v:.1e}" for e, v in zip(E, lam / elastic, strict=True))
        )
        print(
            f"FE2 bar: converged to {res.load_factors[-1]:.2f} x limit (rate "
            f"{out['macro_rate']:.1f}); RVE tangent eigenvalue / elastic by load factor: "
            + ", ".join(f"{t:g}: {v:.2g}" for t, v in out["macro_tangent_ratio"].items())
            + f"; at 1.05 x limit: ConvergenceError, macro residuals "
            f"{np.array2string(h, precision=2)}"
        )
    if outdir is not None:
        out["figures"] = [str(p) for p in plot(E, path, lam / elastic, bar, outdir)]
    return out


def plot(E, path, ratio, bar, outdir) -> list:
    fig, (a, b, c) = figure(ncols=3, width=2.6, height=2.6)
    a.plot(
        np.r_[0, E],
        np.r_[0, path["stress"]],
        MARKERS[0] + "-",
        color=COLORS[0],
        ms=3,
        label="RVE, uniaxial stress",
    )
    a.axhline(LIMIT, color="k", ls="--", lw=0.8, label=r"$2\sigma_y/\sqrt{3}$ (limit analysis)")
    a.set_xlabel(r"$E_{11}$ (–)")
    a.set_ylabel(r"$\Sigma_{11}$ (MPa)")
    a.set_title("limit load, perfectly plastic matrix")
    a.legend(fontsize=7, loc="lower right")
    b.semilogy(E, np.maximum(ratio, 1e-12), MARKERS[1] + "-", color=COLORS[1], ms=3)
    b.set_xlabel(r"$E_{11}$ (–)")
    b.set_ylabel(r"$\lambda_{min}(d\Sigma/dE)$ / elastic (–)")
    b.set_title("the RVE tangent becomes singular")
    for k, inc in enumerate(bar["result"].increments):
        r = inc.residuals
        c.semilogy(
            range(r.size),
            r,
            MARKERS[k % len(MARKERS)] + "-",
            ms=3,
            color=COLORS[k],
            label=f"{inc.load_factor:.2f} x limit",
        )
    h = bar["failed_history"]
    c.semilogy(range(h.size), h, "x:", color="k", label="1.05 x limit: fails")
    c.set_xlabel("macro Newton iteration")
    c.set_ylabel("relative residual (–)")
    c.set_title("FE² bar under traction")
    c.legend(fontsize=7, loc="lower left")
    return save(fig, outdir, "limit_fe2_localization")


if __name__ == "__main__":
    main(output_dir())
