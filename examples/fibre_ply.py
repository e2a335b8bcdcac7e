"""Gallery: moduli of a unidirectional glass/epoxy ply against the classical estimates.

Random non-overlapping aligned fibres (`RandomFibres`, axis z) in epoxy; a thin periodic
3D cell (the fibres are straight, so the cell needs only a few voxels along them) gives
the full stiffness; from its compliance come the longitudinal modulus ``E3`` and the
transverse modulus ``E2``, compared with

* the rule of mixtures for ``E3`` (Voigt, nearly exact along aligned fibres),
* Halpin-Tsai with ``xi = 2`` for ``E2`` (the usual design formula),
* the Voigt and Reuss bounds.

Run ``python examples/fibre_ply.py`` (a few seconds); it prints a table and writes
``fibre_ply.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

E_F, NU_F = 72.4, 0.22  # E-glass, GPa
E_M, NU_M = 3.5, 0.35  # epoxy


def halpin_tsai(vf: float, xi: float = 2.0) -> float:
    r = E_F / E_M
    eta = (r - 1.0) / (r + xi)
    return E_M * (1.0 + xi * eta * vf) / (1.0 - eta * vf)


def main(
    n: int = 64,
    fractions: tuple[float, ...] = (0.2, 0.35, 0.5),
    radius: float = 0.06,
    seed: int = 0,
    verbose: bool = True,
    figure: Any = None,
) -> dict[str, Any]:
    import scalebridge as sb
    from scalebridge.materials import Elasticity
    from scalebridge.microstructure.random_models import RandomFibres

    laws = {0: Elasticity(E=E_M, nu=NU_M), 1: Elasticity(E=E_F, nu=NU_F)}
    rows = []
    for vf in fractions:
        ms = RandomFibres(volume_fraction=vf, radius=radius).sample(
            (1.0, 1.0, 4.0 / n), resolution=n, seed=seed
        )
        f = ms.volume_fraction(1)
        C = sb.homogenize(ms, laws, tol=1e-8).tensor
        S = np.linalg.inv(C)
        rows.append(
            {
                "vf": f,
                "E3": 1.0 / S[2, 2],
                "E2": 0.5 * (1.0 / S[0, 0] + 1.0 / S[1, 1]),
                "rule_of_mixtures": f * E_F + (1 - f) * E_M,
                "halpin_tsai": halpin_tsai(f),
                "reuss": 1.0 / (f / E_F + (1 - f) / E_M),
            }
        )
    if verbose:
        print("   vf     E3   mixtures     E2   Halpin-Tsai  Reuss   (GPa)")
        for r in rows:
            print(
                f"{r['vf']:5.3f} {r['E3']:6.2f} {r['rule_of_mixtures']:8.2f} {r['E2']:8.2f} "
                f"{r['halpin_tsai']:10.2f} {r['reuss']:7.2f}"
            )
    if figure is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from scalebridge.io.plots import save_figure

        s = np.linspace(0.0, 0.6, 100)
        fig, ax = plt.subplots(figsize=(5, 3.8))
        ax.plot(s, [halpin_tsai(v) for v in s], "k--", label="Halpin–Tsai ξ = 2")
        ax.plot(s, 1 / (s / E_F + (1 - s) / E_M), "k:", label="Reuss (lower bound)")
        ax.plot(
            [r["vf"] for r in rows],
            [r["E2"] for r in rows],
            "o",
            color="tab:red",
            label="scalebridge E₂",
        )
        ax.set_xlabel("fibre volume fraction")
        ax.set_ylabel("transverse modulus E₂ (GPa)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        save_figure(fig, Path(figure))
        plt.close(fig)
    return {"rows": rows}


if __name__ == "__main__":
    main(figure="fibre_ply.png")
