"""Figures of the asymptotic study: error rates, fields and the boundary layer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

STYLE = {
    "L2(u_eps - u0)": ("tab:blue", "o", "‖u_ε − u₀‖_L2"),
    "H1(u_eps - u0 - eps u1)": ("tab:red", "s", "|u_ε − u₀ − εu₁|_H1 (whole domain)"),
    "H1 interior": ("tab:green", "^", "|u_ε − u₀ − εu₁|_H1 (interior)"),
    "H1 boundary layer": ("tab:orange", "v", "|u_ε − u₀ − εu₁|_H1 (strip of width 2ε)"),
    "H1 with cut-off": ("tab:purple", "D", "|u_ε − u₀ − εη u₁|_H1 (cut-off)"),
    "L2 flux": ("tab:gray", "x", "‖a∇u_ε − a(I+∇χ)∇u₀‖_L2"),
}


def _agg(path: Any) -> Any:
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_rates(studies: Sequence[Any], path: str | Path | None = None) -> Any:
    """Log-log error against ``eps`` per norm, one panel per study, fitted slopes."""
    plt = _agg(path)
    fig, axes = plt.subplots(1, len(studies), figsize=(6.5 * len(studies), 4.8), squeeze=False)
    for ax, st in zip(axes[0], studies, strict=True):
        e = st.eps
        for norm, (colour, marker, label) in STYLE.items():
            err = st.errors(norm)
            ax.loglog(
                e, err, marker=marker, color=colour, label=f"{label}: slope {st.rate(norm):.2f}"
            )
        ref = st.errors("L2(u_eps - u0)")[0]
        ax.loglog(e, ref * (e / e[0]), "k:", lw=1, label="slope 1")
        ax.loglog(e, ref * 3 * (e / e[0]) ** 0.5, "k--", lw=1, label="slope 1/2")
        ax.set_xlabel("ε")
        ax.set_ylabel("error")
        ax.set_title(st.coefficient.name, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _finish(fig, path, plt)


def plot_study(study: Any, path: str | Path | None = None) -> Any:
    return plot_rates([study], path)


def _finish(fig: Any, path: str | Path | None, plt: Any) -> Any:
    if path is not None:
        from scalebridge.io.plots import save_figure

        try:
            save_figure(fig, path)
        finally:
            plt.close(fig)
    return fig


def plot_fields(study: Any, result: Any, path: str | Path | None = None, samples: int = 800) -> Any:
    """``u_eps``, ``u0`` and the boundary layer along a line (2D), or profiles (1D).

    ``result`` must come from a study run with ``keep_fields=True``.
    """
    from scalebridge.asymptotic.study import _distance_to_boundary

    plt = _agg(path)
    f = result.fields
    if not f:
        raise ValueError("result: has no fields; run the study with keep_fields=True")
    basis, ue, u0 = f["basis"], f["u_eps"], f["u0"]
    corr, eps = study.correctors, result.eps
    lo, hi = study.domain
    d = len(lo)
    mesh = basis.mesh
    verts = basis.nodal_dofs[0]
    if d == 1:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        xs = np.linspace(lo[0], hi[0], samples)[None, :]
    else:
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
        p = mesh.p
        for ax, val, title in ((axes[0], ue, "u_ε (DNS)"), (axes[1], u0, "u₀ (homogenized)")):
            im = ax.tripcolor(p[0], p[1], val[verts], shading="gouraud", cmap="viridis")
            fig.colorbar(im, ax=ax)
            ax.set_title(f"{title}, ε = {eps:g}")
            ax.set_aspect("equal")
        mid = [0.5 * (a + b) for a, b in zip(lo, hi, strict=True)]
        width = 0.5 * (hi[0] - lo[0])
        t = np.linspace(lo[0], lo[0] + width, samples)
        xs = np.array([t] + [np.full_like(t, m) for m in mid[1:]])
    h = 1e-6 * (hi[0] - lo[0])
    P = basis.probes(xs)
    v_e, v_0 = P @ ue, P @ u0
    grads = []
    for i in range(d):
        shift = np.zeros((d, 1))
        shift[i] = h
        plus = np.clip(xs + shift, np.array(lo)[:, None], np.array(hi)[:, None])
        minus = np.clip(xs - shift, np.array(lo)[:, None], np.array(hi)[:, None])
        grads.append((basis.probes(plus) @ u0 - basis.probes(minus) @ u0) / (plus[i] - minus[i]))
    g0 = np.array(grads)
    u1 = np.einsum("j...,j...->...", corr.chi_at(xs / eps)[:, 0], g0)
    eta = np.minimum(1.0, _distance_to_boundary(xs, lo, hi) / eps)
    ax = axes[-1]
    ax.plot(xs[0], v_e - v_0, "0.6", lw=1, label="u_ε − u₀")
    ax.plot(xs[0], v_e - v_0 - eps * u1, "tab:red", lw=1.2, label="u_ε − u₀ − εu₁")
    ax.plot(
        xs[0], v_e - v_0 - eps * eta * u1, "tab:purple", ls=":", label="u_ε − u₀ − εηu₁ (cut-off)"
    )
    ax.axhline(0.0, color="k", lw=0.5)
    where = "" if d == 1 else f" along x₂ = {xs[1][0]:g}"
    ax.set_title(
        f"errors{where}: the corrector removes the oscillation, not the boundary layer", fontsize=9
    )
    ax.set_xlabel("x₁")
    ax.legend(fontsize=8)
    if d == 1:
        axes[0].plot(xs[0], v_e - v_0, "k", lw=1, label="u_ε − u₀")
        axes[0].plot(xs[0], v_e - v_0 - eps * u1, "tab:red", lw=1, label="u_ε − u₀ − εu₁")
        axes[0].legend(fontsize=8)
        axes[0].set_title(f"errors, ε = {eps:g}")
    fig.tight_layout()
    return _finish(fig, path, plt)


def plot_scale_separation(data: dict[str, Any], path: str | Path | None = None) -> Any:
    """Interior H1 error against ``eps = l / L``: refined period vs enlarged domain."""
    plt = _agg(path)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    e = 1.0 / np.array(data["ratios"], dtype=float)
    ax.loglog(e, data["refined_period"], "o-", label="unit domain, period ℓ = ε → 0")
    ax.loglog(
        e, data["enlarged_domain"], "x--", ms=10, label="unit period, domain L = 1/ε → ∞ (rescaled)"
    )
    ax.set_xlabel("ε = ℓ / L")
    ax.set_ylabel("interior H1 error of u₀ + εu₁")
    ax.set_title(
        f"only ε matters: max relative difference {data['max_relative_difference']:.1e}", fontsize=9
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _finish(fig, path, plt)
