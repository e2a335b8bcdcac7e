"""The generated voxel kernels and the Green operator against dense references."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

from scalebridge.cell.fft import RealFFT
from scalebridge.cell.green import GreenPreconditioner
from scalebridge.cell.voxel_fe import VoxelOperator, element_matrices

ROOT = Path(__file__).resolve().parents[1]


def test_generated_kernels_are_current():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "generate_kernels.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.generate() == (ROOT / "src" / "scalebridge" / "cell" / "_kernels.py").read_text()


def iso_mandel(E: float, nu: float, d: int) -> np.ndarray:
    lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    C = np.zeros((6, 6))
    C[:3, :3] = lam
    C[np.arange(6), np.arange(6)] += 2 * mu
    return C if d == 3 else C[np.ix_([0, 1, 5], [0, 1, 5])]


def dense_apply(u, labels, Ke, d):
    """Reference: gather element dofs with np.roll, dense element matrices, scatter."""
    nc = u.shape[0]
    offs = list(itertools.product((0, 1), repeat=d))
    axes = tuple(range(1, d + 1))
    ue = np.stack([np.roll(u, tuple(-o for o in off), axis=axes) for off in offs], axis=1)
    ue = ue.reshape(nc * len(offs), *labels.shape)
    fe = np.einsum("...rs,s...->r...", Ke[labels], ue).reshape(nc, len(offs), *labels.shape)
    out = np.zeros_like(u)
    for a, off in enumerate(offs):
        out += np.roll(fe[:, a], off, axis=axes)
    return out


def phase_tensors(physics, d, anisotropic):
    if physics == "conduction":
        if anisotropic:
            A = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 3.0]])[:d, :d]
            return [np.eye(d), A]
        return [np.eye(d), 7.0 * np.eye(d)]
    T = [iso_mandel(1.0, 0.3, d), iso_mandel(10.0, 0.2, d)]
    if anisotropic:
        T[1] = T[1] + np.diag(np.linspace(0.5, 1.5, T[1].shape[0]))
    return T


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("physics", ["conduction", "elasticity"])
@pytest.mark.parametrize("anisotropic", [False, True])
@pytest.mark.parametrize("shape_id", [0, 1])
def test_kernel_matches_dense_elements(d, physics, anisotropic, shape_id):
    shape = [(6, 5, 4), (3, 1, 7)][shape_id][:d]  # odd sizes and a single-voxel axis
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, shape).astype(np.int32)
    h = np.array([1.0, 1.3, 0.7])[:d]
    tensors = phase_tensors(physics, d, anisotropic)
    op = VoxelOperator(labels, h, tensors, physics)
    assert op.isotropic == (not anisotropic)
    u = rng.random(op.field_shape)
    Ke = element_matrices(h, tensors, physics)
    ref = dense_apply(u, labels, Ke, d)
    out = op.apply(u, np.empty_like(u))
    # round-off only: 1e-16 measured
    assert np.abs(out - ref).max() <= 1e-12 * np.abs(ref).max()
    # energy of the post kernel equals u.Ku / N
    energy = op.fields(u, np.zeros((op.nc, d))).energy
    assert energy == pytest.approx(np.vdot(u, out) / labels.size, rel=1e-12)
    # diagonal
    diag = op.diagonal()
    e = np.zeros_like(u)
    idx = (0, *tuple(s // 2 for s in shape))
    e[idx] = 1.0
    assert op.apply(e, np.empty_like(e))[idx] == pytest.approx(diag[idx], rel=1e-12)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("physics", ["conduction", "elasticity"])
def test_green_operator_inverts_homogeneous_operator(d, physics):
    shape = (8, 6, 5)[:d]
    h = np.array([0.1, 0.13, 0.07])[:d]
    T = 2.0 * np.eye(d) if physics == "conduction" else iso_mandel(2.0, 0.3, d)
    op = VoxelOperator(np.zeros(shape, np.int32), h, [T], physics)
    ref = (2.0,) if physics == "conduction" else (T[0, 1], T[-1, -1] / 2)
    green = GreenPreconditioner(shape, h, physics, ref, fft=RealFFT(op.nc, shape, backend="scipy"))
    u = np.random.default_rng(0).random(op.field_shape)
    u -= u.reshape(op.nc, -1).mean(axis=1).reshape((op.nc,) + (1,) * d)
    z = green(op.apply(u, np.empty_like(u)))
    assert np.abs(z - u).max() < 1e-12


def test_fft_backends_agree():
    a = RealFFT(2, (6, 5, 4), backend="scipy")
    b = RealFFT(2, (6, 5, 4))
    x = np.random.default_rng(2).random((2, 6, 5, 4))
    a.real[...] = x
    b.real[...] = x
    np.testing.assert_allclose(a.forward(), b.forward(), atol=1e-12)
    with pytest.raises(ValueError, match="backend: 'cuda' is not one of"):
        RealFFT(1, (4, 4), backend="cuda")
