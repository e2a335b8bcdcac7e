"""Gallery: effective diffusivity and tortuosity of a porous medium against porosity.

Diffusion (or ionic conduction) through the fluid-filled pores of an impermeable solid:
the effective diffusivity ``D_eff / D_0`` is the effective conductivity of the pore phase
(conductivity 1) in an insulating solid (0).  Two random pore spaces
(`scalebridge.microstructure.random_models`):

* **overlapping spherical pores** (`BooleanModel`, the pore space is the union of the
  spheres): isolated at low porosity, connected only above the continuum percolation
  threshold of overlapping spheres, ``φ_c = 0.2895`` (Rintoul & Torquato 1997; Lorenz &
  Ziff 2001);
* **a bicontinuous pore space**, the excursion of a Gaussian random field
  (`GaussianExcursion`), a common model of porous rocks and sintered ceramics.

They are compared with

* the Hashin–Shtrikman (Maxwell) upper bound ``2φ / (3 − φ)`` for an insulating solid —
  no isotropic pore space conducts more;
* Bruggeman's ``φ^1.5`` (spherical grains) and Archie's law ``φ^m`` with the cementation
  exponent ``m`` fitted here (Archie 1942: ``m`` ≈ 1.8–2 for consolidated sandstones);
* the tortuosity factor ``τ = φ / (D_eff / D_0)`` (≥ 1: the Voigt bound).

Run ``python examples/porous_diffusivity.py`` (about 10 s at 48^3 voxels); it prints a
table and writes ``porous_diffusivity.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PERCOLATION_OVERLAPPING_SPHERES = 0.2895  # Rintoul & Torquato (1997), Lorenz & Ziff (2001)


def hs_upper(phi: float | np.ndarray) -> float | np.ndarray:
    """Hashin-Shtrikman upper bound of a conducting phase ``phi`` in an insulator (3D)."""
    return 2.0 * phi / (3.0 - phi)


def main(
    n: int = 48,
    porosities: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    length: float = 0.08,
    seed: int = 0,
    verbose: bool = True,
    figure: Any = None,
) -> dict[str, Any]:
    import scalebridge as sb
    from scalebridge.materials import Conductivity
    from scalebridge.microstructure.random_models import BooleanModel, GaussianExcursion

    laws = {0: Conductivity(k=0.0), 1: Conductivity(k=1.0)}  # label 1: the pores
    models = {
        "spherical pores": lambda p: BooleanModel(ndim=3, volume_fraction=p, radius=length),
        "Gaussian excursion": lambda p: GaussianExcursion(
            3, volume_fraction=p, correlation_length=length
        ),
    }
    rows = []
    for name, make in models.items():
        for p in porosities:
            ms = make(p).sample((1.0, 1.0, 1.0), resolution=n, seed=seed)
            phi = ms.volume_fraction(1)
            K = sb.homogenize(ms, laws, tol=1e-8).tensor
            d = float(np.trace(K) / 3.0)
            rows.append(
                {
                    "model": name,
                    "porosity": phi,
                    "diffusivity": d,
                    "hs_upper": float(hs_upper(phi)),
                    "bruggeman": phi**1.5,
                    "tortuosity": phi / d if d > 1e-9 else float("inf"),
                }
            )
    archie = {}
    for name in models:
        sel = [r for r in rows if r["model"] == name and r["porosity"] > 0.35]
        x = np.log([r["porosity"] for r in sel])
        y = np.log([r["diffusivity"] for r in sel])
        # D_eff = a phi^m on the well-connected range (needs two porosities there)
        archie[name] = float(np.polyfit(x, y, 1)[0]) if len(sel) > 1 else float("nan")
    if verbose:
        print("model                porosity  D_eff/D0  HS upper  Bruggeman  tortuosity")
        for r in rows:
            print(
                f"{r['model']:20s} {r['porosity']:8.3f}  {r['diffusivity']:8.4f}  "
                f"{r['hs_upper']:8.4f}  {r['bruggeman']:9.4f}  {r['tortuosity']:10.2f}"
            )
        print(
            "Archie exponent m (porosity > 0.35): "
            + ", ".join(f"{k} {v:.2f}" for k, v in archie.items())
        )
    if figure is not None:
        plot(rows, archie, figure)
    return {"rows": rows, "archie_m": archie}


def plot(rows: list[dict[str, Any]], archie: dict[str, float], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scalebridge.io.plots import save_figure

    s = np.linspace(0.05, 0.75, 100)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
    a.plot(s, hs_upper(s), "k:", label="Hashin–Shtrikman upper bound")
    a.plot(s, s**1.5, "k--", label="Bruggeman φ^1.5")
    for (name, m), c in zip(archie.items(), ("tab:red", "tab:blue"), strict=True):
        sel = [r for r in rows if r["model"] == name]
        phi = np.array([r["porosity"] for r in sel])
        d = np.array([r["diffusivity"] for r in sel])
        a.plot(phi, d, "o", color=c, label=f"{name} (Archie m = {m:.2f})")
        b.semilogy(phi, np.maximum(d, 1e-6), "o-", color=c, label=name)
    for ax in (a, b):
        ax.axvline(PERCOLATION_OVERLAPPING_SPHERES, color="tab:red", lw=0.8, ls="-.")
        ax.set_xlabel("porosity φ")
        ax.set_ylabel("D_eff / D_0")
    b.plot(s, hs_upper(s), "k:")
    b.set_ylim(1e-6, 1)
    b.set_title("φ_c = 0.2895 of overlapping spheres (dash-dot)", fontsize=9)
    a.legend(fontsize=7)
    b.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, Path(path))
    plt.close(fig)


if __name__ == "__main__":
    main(figure="porous_diffusivity.png")
