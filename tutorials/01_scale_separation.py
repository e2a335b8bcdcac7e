"""Tutorial 1 — scale separation and the meaning of ε.

A bar of length L whose conductivity oscillates with period ℓ,
``-(a(x/ε) u')' = 1`` on ``(0, 1)``, ``u(0) = u(1) = 0``, with ``a(y) = 1/(2 + cos 2πy)``
and ``ε = ℓ/L``.  The homogenized bar has the *harmonic* mean ``a_hom = 1/2`` (not the
arithmetic mean ``1/√3``), its solution is ``u0 = x − x²``, and the exact fine-scale
solution is known in closed form (1/ε an integer):

    u_ε = x − x² + (ε/2π)(½ − x) sin(2πx/ε) + (ε/2π)² (1 − cos(2πx/ε)).

So the error of the homogenized model is ``‖u_ε − u0‖_L2 ≈ ε / (2π √24)``: first order in
ε, about 0.18 ε relative to ``‖u0‖``.  The script solves the fine problem by finite
elements (``scalebridge.asymptotic``) for ε = 1/2 … 1/64 and checks

* ``a_hom = 0.5`` (the harmonic mean; exact in 1D),
* each finite-element error equals the closed-form error (rtol 1e-4),
* the fitted slope of the error in ε (ε ≤ 1/8) is 1 (± 0.02),
* only the ratio ε = ℓ/L matters: the unit bar with period 1/R and the bar of length R
  with period 1 give the same rescaled error (``scale_separation``, to 1e-9).

Run ``python tutorials/01_scale_separation.py [OUTPUT_DIR]`` (1 s); figures
``scale_separation_fields`` and ``scale_separation_error`` (PNG and SVG).
"""

from __future__ import annotations

import math

import numpy as np
from _style import COLORS, figure, log_ticks, output_dir, save

from scalebridge.asymptotic import PeriodicCoefficient, asymptotic_study, scale_separation

TWO_PI = 2.0 * math.pi
COEFFICIENT = PeriodicCoefficient.from_function(lambda y: 1.0 / (2.0 + np.cos(TWO_PI * y[0])), 1)
L2 = "L2(u_eps - u0)"


def exact(x: np.ndarray, eps: float) -> np.ndarray:
    """The closed-form fine-scale solution ``u_ε`` (1/ε an integer)."""
    s = eps / TWO_PI
    phase = TWO_PI * x / eps
    return x - x**2 + s * (0.5 - x) * np.sin(phase) + s**2 * (1.0 - np.cos(phase))


def exact_error(eps: float, n: int = 200_000) -> float:
    """``‖u_ε − u0‖_L2`` from the closed form (midpoint rule on ``n`` cells)."""
    x = (np.arange(n) + 0.5) / n
    return float(np.sqrt(np.mean((exact(x, eps) - (x - x**2)) ** 2)))


def main(
    outdir: str | None = None,
    *,
    eps_values: tuple[float, ...] = (1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64),
    elements_per_period: int = 32,
    verbose: bool = True,
) -> dict[str, object]:
    """Fine-scale solves against the homogenized solution; returns the key numbers."""
    study = asymptotic_study(COEFFICIENT, list(eps_values), elements_per_period=elements_per_period)
    a_hom = float(study.correctors.a_hom[0, 0])
    eps = study.eps
    fem = study.errors(L2)
    closed = np.array([exact_error(e) for e in eps])
    tail = eps <= 1 / 8  # the asymptotic range: at eps = 1/2 the eps^2 term is 19 %
    rate = float(np.polyfit(np.log(eps[tail]), np.log(fem[tail]), 1)[0])
    sep = scale_separation(COEFFICIENT, [2, 4, 8])
    out = {
        "a_hom": a_hom,
        "arithmetic_mean": 1.0 / math.sqrt(3.0),
        "eps": eps.tolist(),
        "error_fem": fem.tolist(),
        "error_closed_form": closed.tolist(),
        "rate": rate,
        "relative_error_per_eps": float(np.mean(fem / eps) * math.sqrt(30.0)),
        "scale_separation_difference": sep["max_relative_difference"],
    }

    # Oracles.  a_hom: the 1D harmonic mean is exact (closed-form corrector), round-off.
    assert abs(a_hom - 0.5) < 1e-12, a_hom
    # FE error = closed-form error: P2 with 32 elements per period, measured max rel.
    # difference 3e-6 (the FE discretisation error of u_eps).
    np.testing.assert_allclose(fem, closed, rtol=1e-4)
    # the slope in eps: 1 by the expansion (measured 1.005 on 1/8 ... 1/64; the
    # closed form's eps^2 term alone would give 1.003)
    assert abs(rate - 1.0) < 0.02, rate
    # only eps matters: the two limits are one rescaling (measured 4e-14)
    assert sep["max_relative_difference"] < 1e-9, sep

    if verbose:
        print(f"a_hom = {a_hom:.12f} (harmonic mean 0.5; arithmetic mean {1 / math.sqrt(3):.4f})")
        print("   eps    ||u_eps - u0|| FE   closed form   relative to ||u0||")
        for e, f, c in zip(eps, fem, closed, strict=True):
            print(f"  1/{round(1 / e):<3d}  {f:.6e}       {c:.6e}   {f * math.sqrt(30):.4f}")
        print(
            f"fitted slope {rate:.3f}; scale separation difference "
            f"{sep['max_relative_difference']:.1e}"
        )
    if outdir is not None:
        out["figures"] = [str(p) for p in plot(out, outdir)]
    return out


def plot(out: dict[str, object], outdir: str) -> list:
    x = np.linspace(0.0, 1.0, 2001)
    fig, ax = figure(width=4.2)
    ax.plot(x, x - x**2, color="k", lw=2.0, label=r"homogenized $u_0$")
    for eps, c in ((1 / 4, COLORS[1]), (1 / 16, COLORS[0])):
        ax.plot(
            x,
            exact(x, eps),
            color=c,
            lw=1.0,
            label=rf"$u_\varepsilon$, $\varepsilon$ = 1/{round(1 / eps)}",
        )
    ax.set_xlabel(r"position $x/L$ (–)")
    ax.set_ylabel(r"temperature $u\,a_0/(f L^2)$ (–)")
    ax.legend(loc="lower center")
    ax.set_title("fine-scale solutions oscillate about $u_0$")
    paths = save(fig, outdir, "scale_separation_fields")

    eps = np.asarray(out["eps"])
    fig, ax = figure(width=4.2)
    ax.loglog(eps, out["error_fem"], "o", label="finite elements")
    e = np.geomspace(eps.min(), eps.max(), 50)
    ax.loglog(
        e,
        e / (TWO_PI * math.sqrt(24.0)),
        "k-",
        lw=1.0,
        label=r"closed form $\varepsilon/(2\pi\sqrt{24})$",
    )
    ax.set_xlabel(r"scale ratio $\varepsilon = \ell/L$ (–)")
    ax.set_ylabel(r"$\|u_\varepsilon - u_0\|_{L^2}$ (–)")
    ax.set_title(f"first order in ε: fitted slope {out['rate']:.2f}")
    ax.legend()
    log_ticks(ax, eps, fractions=True)
    return paths + save(fig, outdir, "scale_separation_error")


def solution(verbose: bool = True) -> dict[str, float]:
    """Exercise: a bar of L = 10 mm with a period of ℓ = 0.5 mm.  What relative error does
    the homogenized model make, and how small must ℓ be for 1 %?

    Solution: ε = 0.05 and the relative error is ≈ ε √30 / (2π √24) = 0.178 ε ≈ 0.9 %;
    1 % needs ε ≤ 0.056, i.e. ℓ ≤ 0.56 mm.  The fine solve at ε = 1/20 confirms it.
    """
    constant = math.sqrt(30.0) / (TWO_PI * math.sqrt(24.0))  # ||u_eps - u0|| / (eps ||u0||)
    eps = 0.5 / 10.0
    predicted = constant * eps
    study = asymptotic_study(COEFFICIENT, [eps], elements_per_period=32)
    measured = float(study.errors(L2)[0]) * math.sqrt(30.0)  # ||u0||_L2 = 1/sqrt(30)
    # the O(eps^2) term of the closed form is 0.4 % of the leading one at eps = 0.05
    assert abs(measured / predicted - 1.0) < 0.01, (measured, predicted)
    ell_max = 10.0 * 0.01 / constant
    if verbose:
        print(
            f"eps = {eps}: predicted {predicted:.4%}, measured {measured:.4%}; "
            f"1 % needs l <= {ell_max:.2f} mm"
        )
    return {"predicted": predicted, "measured": measured, "ell_max_mm": ell_max}


if __name__ == "__main__":
    main(output_dir())
    solution()
