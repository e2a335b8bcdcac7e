"""Tutorial 4 — two-scale expansion, the cell problem, correctors and boundary layers.

For ``-div(a(x/ε) ∇u_ε) = 1`` on the unit square, ``u_ε = 0`` on the boundary, the ansatz
``u_ε ≈ u0(x) + ε u1(x, x/ε)`` with ``∇ → ∇_x + ε⁻¹ ∇_y`` gives, order by order,

* ε⁻²: ``u0`` does not depend on the fast variable ``y = x/ε``;
* ε⁻¹: the **cell problems** ``−div_y(a(y)(e_j + ∇_y χ_j)) = 0``, ``χ_j`` periodic with
  zero mean, and ``u1 = χ(y) · ∇u0`` (the **correctors**);
* ε⁰ (solvability): the homogenized equation ``−div(a_hom ∇u0) = 1`` with
  ``a_hom = <a (I + ∇_y χ)>``.

The coefficient is Hou & Wu's ``a(y) = 1/((2 + 1.8 sin 2πy₁)(2 + 1.8 sin 2πy₂))``.  It is
separable, ``a = p(y₁) p(y₂)``, so each corrector depends on one variable and
``a_hom = <p> H(p) I = 0.5/√0.76 I`` exactly (``H`` the harmonic mean) — between the
harmonic mean of ``a`` (0.25) and its arithmetic mean (1/0.76).

The script solves the cell problems (`cell_correctors`), the homogenized problem and
fine-scale problems for ε = 1/4, 1/8, 1/16 (`asymptotic_study`) and checks

* ``a_hom`` against the closed form (1e-9: the midpoint rule is spectral for smooth
  periodic ``a``),
* ``‖u_ε − u0‖_L2 = O(ε)`` (slope 1 ± 0.15),
* with the corrector, ``|u_ε − u0 − ε u1|_H1 = O(ε)`` away from the boundary (slope
  1 ± 0.1), while without it the H1 error does not decrease at all (``∇_y χ`` is O(1)).

Near the boundary ``u0 + ε u1`` violates ``u = 0`` by ``ε u1``: a boundary layer of width
O(ε).  For this separable coefficient ``χ₁`` is constant along the faces it meets, so the
layer is smooth; the limitation page shows a coefficient where it costs half an order.

Run ``python tutorials/04_two_scale_expansion.py [OUTPUT_DIR]`` (about 5 s); figures
``two_scale_correctors`` and ``two_scale_errors`` (PNG and SVG).
"""

from __future__ import annotations

import math

import numpy as np
from _style import COLORS, FIELD, SIGNED, figure, log_ticks, output_dir, save, signed_limits
from matplotlib.colors import LogNorm

from scalebridge.asymptotic import asymptotic_study, cell_correctors, default_coefficient

A_HOM = 0.5 / math.sqrt(0.76)  # <p> H(p) for p = 1 / (2 + 1.8 sin 2 pi y)
INTERIOR = "H1 interior"
L2 = "L2(u_eps - u0)"


def line_errors(study, result, samples: int = 600) -> dict[str, np.ndarray]:
    """``u_ε − u0`` and ``u_ε − u0 − ε u1`` along ``x₂ = 1/2`` (``result`` with fields)."""
    basis, ue, u0 = result.fields["basis"], result.fields["u_eps"], result.fields["u0"]
    eps = result.eps
    t = np.linspace(0.0, 1.0, samples)
    xs = np.array([t, np.full_like(t, 0.5)])
    P = basis.probes(xs)
    h = 1e-6
    grad = []
    for i in range(2):  # grad u0 by central differences of the Q2 interpolant
        step = np.zeros((2, 1))
        step[i] = h
        plus, minus = np.clip(xs + step, 0, 1), np.clip(xs - step, 0, 1)
        grad.append((basis.probes(plus) @ u0 - basis.probes(minus) @ u0) / (plus[i] - minus[i]))
    u1 = np.einsum("j...,j...->...", study.correctors.chi_at(xs / eps)[:, 0], np.array(grad))
    return {"x": t, "plain": P @ ue - P @ u0, "corrected": P @ ue - P @ u0 - eps * u1}


def h1_without_corrector(result) -> float:
    """``|u_ε − u0|_H1`` over the domain, from the kept fields (the O(1) error)."""
    basis = result.fields["basis"]
    d = basis.interpolate(result.fields["u_eps"] - result.fields["u0"]).grad
    return float(np.sqrt(np.sum((d[0] ** 2 + d[1] ** 2) * basis.dx)))


def main(
    outdir: str | None = None,
    *,
    eps_values: tuple[float, ...] = (1 / 4, 1 / 8, 1 / 16),
    cell_resolution: int = 64,
    elements_per_period: int = 6,
    verbose: bool = True,
) -> dict[str, object]:
    coef = default_coefficient()
    corr = cell_correctors(coef, cell_resolution)
    study = asymptotic_study(
        coef,
        list(eps_values),
        cell_resolution=cell_resolution,
        elements_per_period=elements_per_period,
        keep_fields=True,
    )
    no_corr = [h1_without_corrector(r) for r in study.results]
    out = {
        "a_hom": corr.a_hom.tolist(),
        "a_hom_exact": A_HOM,
        "arithmetic_mean": 1 / 0.76,
        "harmonic_mean": 0.25,
        "eps": study.eps.tolist(),
        "l2": study.errors(L2).tolist(),
        "h1_interior_corrected": study.errors(INTERIOR).tolist(),
        "h1_corrected": study.errors("H1(u_eps - u0 - eps u1)").tolist(),
        "h1_without_corrector": no_corr,
        "rate_l2": study.rate(L2),
        "rate_h1_interior": study.rate(INTERIOR),
        "rate_h1_without_corrector": float(np.polyfit(np.log(study.eps), np.log(no_corr), 1)[0]),
    }

    # closed form of the separable coefficient; measured 2e-13 at 64^2 voxels
    np.testing.assert_allclose(corr.a_hom, A_HOM * np.eye(2), atol=1e-9)
    # Bensoussan-Lions-Papanicolaou: L2 error O(eps) (measured 0.93, as with 8 elements
    # per period; 6 Q2 elements per period keep the fine solves below 40 000 unknowns)
    assert abs(out["rate_l2"] - 1.0) < 0.15, out["rate_l2"]
    # the corrected H1 error is O(eps) in the interior (measured 0.99) ...
    assert abs(out["rate_h1_interior"] - 1.0) < 0.1, out["rate_h1_interior"]
    # ... and O(1) without the corrector: grad_y chi does not shrink (measured slope 0.05)
    assert abs(out["rate_h1_without_corrector"]) < 0.1, out["rate_h1_without_corrector"]

    if verbose:
        print(
            f"a_hom = {corr.a_hom[0, 0]:.12f} I (closed form {A_HOM:.12f}); "
            f"harmonic 0.25 <= a_hom <= arithmetic {1 / 0.76:.4f}"
        )
        print("   eps    L2(u_eps-u0)  H1(u_eps-u0)  H1 corrected  H1 corrected, interior")
        for i, e in enumerate(study.eps):
            print(
                f"  1/{round(1 / e):<3d}  {out['l2'][i]:.3e}     {no_corr[i]:.3e}     "
                f"{out['h1_corrected'][i]:.3e}     {out['h1_interior_corrected'][i]:.3e}"
            )
        print(
            f"slopes: L2 {out['rate_l2']:.2f}, H1 interior {out['rate_h1_interior']:.2f}, "
            f"H1 without corrector {out['rate_h1_without_corrector']:.2f}"
        )
    if outdir is not None:
        out["figures"] = [str(p) for p in plot(study, corr, out, outdir)]
    return out


def plot(study, corr, out, outdir) -> list:
    n = 128
    y = (np.arange(n) + 0.5) / n
    Y = np.array(np.meshgrid(y, y, indexing="ij"))
    a = study.coefficient(Y)
    chi1 = corr.chi_at(Y.reshape(2, -1))[0, 0].reshape(n, n)
    fig, axes = figure(ncols=2, width=3.2, height=2.8)
    im = axes[0].imshow(a.T, origin="lower", extent=(0, 1, 0, 1), cmap=FIELD, norm=LogNorm())
    fig.colorbar(im, ax=axes[0], shrink=0.85, label=r"$a(y)/a_0$ (–)")
    axes[0].set_title(rf"cell coefficient; $a_{{hom}}$ = {corr.a_hom[0, 0]:.4f}")
    im = axes[1].imshow(
        chi1.T, origin="lower", extent=(0, 1, 0, 1), cmap=SIGNED, **signed_limits(chi1)
    )
    fig.colorbar(im, ax=axes[1], shrink=0.85, label=r"$\chi_1(y)/\ell$ (–)")
    axes[1].set_title(r"corrector $\chi_1$: depends on $y_1$ only")
    for ax in axes:
        ax.set_xlabel(r"$y_1 = x_1/\varepsilon$ (–)")
        ax.set_ylabel(r"$y_2 = x_2/\varepsilon$ (–)")
        ax.grid(False)
    paths = save(fig, outdir, "two_scale_correctors")

    fig, (a1, a2) = figure(ncols=2, width=3.6)
    r = study.results[1] if len(study.results) > 1 else study.results[0]
    line = line_errors(study, r)
    a1.plot(line["x"], line["plain"], color="0.6", lw=1.0, label=r"$u_\varepsilon - u_0$")
    a1.plot(
        line["x"],
        line["corrected"],
        color=COLORS[1],
        lw=1.4,
        label=r"$u_\varepsilon - u_0 - \varepsilon u_1$",
    )
    a1.axhline(0.0, color="k", lw=0.5)
    a1.set_xlabel(r"$x_1/L$ along $x_2/L = 1/2$ (–)")
    a1.set_ylabel(r"error $\times\,a_0/(f L^2)$ (–)")
    a1.set_title(rf"$\varepsilon$ = 1/{round(1 / r.eps)}: the corrector removes the oscillation")
    a1.legend()
    eps = np.asarray(out["eps"])
    a2.loglog(
        eps, out["h1_without_corrector"], "v-", color="0.5", label=r"$|u_\varepsilon-u_0|_{H^1}$"
    )
    a2.loglog(eps, out["l2"], "o-", color=COLORS[0], label=r"$\|u_\varepsilon-u_0\|_{L^2}$")
    a2.loglog(
        eps,
        out["h1_interior_corrected"],
        "s-",
        color=COLORS[1],
        label=r"$|u_\varepsilon-u_0-\varepsilon u_1|_{H^1}$, interior",
    )
    a2.loglog(
        eps,
        out["h1_interior_corrected"][-1] * eps / eps[-1],
        "k:",
        lw=1.0,
        label=r"$\propto\varepsilon$",
    )
    a2.set_xlabel(r"$\varepsilon = \ell/L$ (–)")
    a2.set_ylabel("error (–)")
    a2.set_title("orders of the expansion")
    a2.set_ylim(2e-4, 1.0)
    a2.legend(loc="lower right")
    log_ticks(a2, eps, fractions=True)
    return paths + save(fig, outdir, "two_scale_errors")


def solution(verbose: bool = True) -> dict[str, float]:
    """Exercise: a laminate ``a(y) = 1`` for ``y₁ < 1/2`` and ``10`` otherwise.  Predict
    ``a_hom`` and the corrector ``χ₁`` before computing them.

    Solution: the cell problem is one-dimensional: ``a (1 + χ₁')`` is constant, so
    ``a_hom,11`` is the harmonic mean ``2/1.1 = 1.818`` and ``χ₁' = a_hom/a − 1`` is
    piecewise constant (``+0.818`` in the soft layer, ``−0.818`` in the stiff one): ``χ₁``
    is a zig-zag of amplitude 0.818/4 = 0.205 about its mean.  Along the layers nothing
    happens (``χ₂ = 0``) and ``a_hom,22`` is the arithmetic mean 5.5.  Voxel grids aligned
    with the layers reproduce this exactly.
    """
    from scalebridge.asymptotic import PeriodicCoefficient

    lam = PeriodicCoefficient.from_function(lambda y: np.where(y[0] < 0.5, 1.0, 10.0), 2)
    c = cell_correctors(lam, 16)
    np.testing.assert_allclose(c.a_hom, np.diag([2 / 1.1, 5.5]), atol=1e-9)
    chi1 = c.chi[0, 0]
    amplitude = 0.5 * float(chi1.max() - chi1.min())
    # nodal zig-zag: exact piecewise-linear corrector (Q1 contains it)
    assert abs(amplitude - (2 / 1.1 - 1) / 4) < 1e-9, amplitude
    assert float(np.abs(c.chi[1]).max()) < 1e-9
    if verbose:
        print(
            f"laminate: a_hom = diag({c.a_hom[0, 0]:.4f}, {c.a_hom[1, 1]:.4f}), "
            f"chi_1 amplitude {amplitude:.4f}"
        )
    return {"a11": float(c.a_hom[0, 0]), "a22": float(c.a_hom[1, 1]), "amplitude": amplitude}


if __name__ == "__main__":
    main(output_dir())
    solution()
