"""Random microstructure models: exact geometry, ensemble fractions, seeds, periodicity."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage, special

from scalebridge.materials import Conductivity, Elasticity
from scalebridge.microstructure import (
    BooleanModel,
    GaussianExcursion,
    ImageWindows,
    Microstructure,
    RandomEllipsoids,
    RandomFibres,
    RandomModel,
    RandomSpheres,
    VoronoiPolycrystal,
    polycrystal_materials,
    two_point_correlation,
)
from scalebridge.tensors import rotate_stiffness

DOC = Path(__file__).resolve().parents[1] / "docs" / "random-models.md"

MODELS = [
    RandomSpheres(2, 0.3, 0.05),
    RandomSpheres(3, 0.2, 0.12, radius_std=0.03, min_gap=0.01),
    RandomFibres(0.4, 0.1, axis=1),
    RandomEllipsoids(2, 0.3, (0.08, 0.03)),
    RandomEllipsoids(3, 0.2, (0.15, 0.08, 0.06), orientation="aligned"),
    BooleanModel(2, 0.4, 0.04),
    BooleanModel(3, 0.3, 0.1),
    GaussianExcursion(2, 0.3, 0.05),
    GaussianExcursion(3, 0.5, 0.1),
    VoronoiPolycrystal(2, 0.2),
    VoronoiPolycrystal(3, 0.3),
]


def min_image(d: np.ndarray, box: np.ndarray) -> np.ndarray:
    return d - box * np.round(d / box)


def voxel_centres(shape: tuple[int, ...], size: tuple[float, ...]) -> np.ndarray:
    axes = [(np.arange(n) + 0.5) * s / n for n, s in zip(shape, size, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def periodic_components(mask: np.ndarray) -> np.ndarray:
    """Voxel counts of the face-connected components of ``mask`` on the periodic grid."""
    labels, n = ndimage.label(mask)
    parent = np.arange(n + 1)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for axis in range(mask.ndim):
        first = np.take(labels, 0, axis=axis).ravel()
        last = np.take(labels, -1, axis=axis).ravel()
        for a, b in zip(first, last, strict=True):
            if a and b:
                parent[find(a)] = find(b)
    roots = np.array([find(i) for i in range(n + 1)])
    return np.bincount(roots[labels[mask]])[np.unique(roots[1:])]


class TestProtocol:
    @pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{type(m).__name__}{m.ndim}d")
    def test_sample_shape_seed_and_description(self, model: RandomModel) -> None:
        assert isinstance(model, RandomModel)
        size = (1.0, 0.75) if model.ndim == 2 else (1.0, 1.0, 0.5)
        res = 64 if model.ndim == 2 else 24
        a = model.sample(size, res, seed=3)
        assert a.size == size
        assert a.shape == tuple(round(s * res) for s in size)
        assert np.array_equal(a.labels, model.sample(size, res, seed=3).labels)
        assert not np.array_equal(a.labels, model.sample(size, res, seed=4).labels)
        desc = model.describe()
        assert desc["model"] == type(model).__name__
        assert json.loads(json.dumps(desc)) == desc
        params = {k: v for k, v in json.loads(json.dumps(desc)).items() if k != "model"}
        assert type(model)(**params) == model  # the description rebuilds the model
        fractions = model.expected_volume_fractions()
        if fractions:  # {} for the polycrystal: every grain is its own phase
            assert sum(fractions.values()) == pytest.approx(1.0, abs=1e-15)

    @pytest.mark.parametrize("edge", [0.5, 2.0])
    def test_lengths_are_physical(self, edge: float) -> None:
        # a larger size at the same resolution is a larger window of the same material:
        # same inclusion radius, inclusion count and germ count proportional to the area
        spheres = RandomSpheres(2, 0.3, 0.05)
        _, radii = spheres.inclusions((edge, edge), seed=0)
        assert np.all(radii == 0.05) and len(radii) == round(0.3 * edge**2 / (np.pi * 0.05**2))
        assert spheres.sample((edge, edge), 64, seed=0).shape == (round(64 * edge),) * 2
        boolean = BooleanModel(2, 0.4, 0.03)
        counts = [len(boolean.germs((edge, edge), seed=s)) for s in range(8)]
        mean = boolean.intensity * edge**2  # Poisson: 4 standard errors of the mean of 8
        assert abs(np.mean(counts) - mean) < 4 * math.sqrt(mean / 8)

    def test_shape_rounds_and_never_vanishes(self) -> None:
        ms = GaussianExcursion(2, 0.5, 0.1).sample((1.0, 0.001), 10.4, seed=0)
        assert ms.shape == (10, 1)


class TestRandomSpheres:
    @pytest.mark.parametrize(
        ("model", "size"),
        [
            (RandomSpheres(2, 0.45, 0.04), (1.0, 1.0)),
            (RandomSpheres(2, 0.3, 0.05, radius_std=0.02, min_gap=0.005), (1.0, 0.6)),
            (RandomSpheres(3, 0.3, 0.08), (1.0, 1.0, 1.0)),
            (RandomSpheres(3, 0.25, 0.08, radius_std=0.03), (1.0, 0.8, 1.2)),
        ],
    )
    def test_no_overlap_and_fraction_reached(self, model: RandomSpheres, size: tuple) -> None:
        centres, radii = model.inclusions(size, seed=5)
        box = np.asarray(size)
        assert np.all((centres >= 0) & (centres < box))
        i, j = np.triu_indices(len(radii), k=1)
        dist = np.linalg.norm(min_image(centres[i] - centres[j], box), axis=1)
        assert np.all(dist >= radii[i] + radii[j] + model.min_gap)
        volumes = math.pi * radii**2 if model.ndim == 2 else 4 / 3 * math.pi * radii**3
        # the count is the one whose total volume is closest to the target
        assert abs(volumes.sum() / math.prod(size) - model.volume_fraction) <= (
            0.5 * volumes.max() / math.prod(size)
        )

    def test_lognormal_radii_have_the_given_mean_and_std(self) -> None:
        _, radii = RandomSpheres(2, 0.4, 0.01, radius_std=0.004).inclusions((1, 1), seed=0)
        # n = 1144 radii: standard error of the mean 1.1e-4, of the std 1.3e-4 (lognormal
        # excess kurtosis 3.0); measured mean 0.009835, std 0.003823 (1.5 and 1.4 standard
        # errors); the tolerances are 3 standard errors
        assert abs(radii.mean() - 0.01) < 3.4e-4 and abs(radii.std() - 0.004) < 4e-4
        assert np.all(np.diff(radii) <= 0)  # placed largest first

    def test_voxels_are_exactly_the_union_of_balls(self) -> None:
        model = RandomSpheres(2, 0.3, 0.06, radius_std=0.02)
        ms = model.sample((1.0, 1.0), 64, seed=2)
        centres, radii = model.inclusions((1.0, 1.0), seed=2)
        x = voxel_centres(ms.shape, ms.size).reshape(-1, 1, 2)
        d2 = (min_image(x - centres[None], np.ones(2)) ** 2).sum(-1)
        inside = np.any(d2 <= radii**2, axis=1).reshape(ms.shape)
        assert np.array_equal(ms.labels, inside.astype(np.int32))

    def test_periodic_every_inclusion_is_whole(self) -> None:
        # with a gap of 2.5 voxels no two disks touch, so each periodic component is one
        # disk; a truncated (non-periodic) disk would show up as a small component
        model = RandomSpheres(2, 0.3, 0.05, min_gap=0.02)
        ms = model.sample((1.0, 1.0), 128, seed=1)
        sizes = periodic_components(ms.labels == 1)
        centres, _ = model.inclusions((1.0, 1.0), seed=1)
        assert len(sizes) == len(centres)
        area = math.pi * (0.05 * 128) ** 2  # 128.7 voxels
        assert np.all(np.abs(sizes - area) < 10)  # voxelization: measured max 6.7 voxels

    def test_voxel_fraction_3d(self) -> None:
        ms = RandomSpheres(3, 0.3, 4.0).sample((64, 64, 64), 1.0, seed=0)
        # measured 0.29970 (continuum 0.29964: 293 spheres of 268 voxels)
        assert abs(ms.volume_fraction(1) - 0.3) < 1e-3

    def test_jamming_names_the_fraction_reached(self) -> None:
        model = RandomSpheres(2, 0.7, 0.05, max_attempts=2000)
        with pytest.raises(ValueError, match=r"volume_fraction=0\.7 unreachable.*reached 0\.\d+"):
            model.sample((1.0, 1.0), 32, seed=0)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"ndim": 4}, r"ndim: got 4; expected one of \(2, 3\)"),
            ({"volume_fraction": 1.0}, r"volume_fraction: got 1\.0; expected 0 < volume_frac"),
            ({"radius": -0.1}, r"radius: got -0\.1; expected 0 < radius"),
            ({"radius_std": float("nan")}, r"radius_std: got nan; expected 0 <= radius_std"),
            ({"min_gap": -1}, r"min_gap: got -1"),
            ({"max_attempts": 0}, r"max_attempts: got 0; expected a positive integer"),
        ],
    )
    def test_bad_parameters(self, kwargs: dict, message: str) -> None:
        params = {"ndim": 2, "volume_fraction": 0.3, "radius": 0.05, **kwargs}
        with pytest.raises(ValueError, match=message):
            RandomSpheres(**params)

    def test_bad_sample_arguments(self) -> None:
        model = RandomSpheres(2, 0.3, 0.3)
        with pytest.raises(ValueError, match=r"radius: 0\.3 is not below half the smallest"):
            model.sample((1.0, 0.5), 32, seed=0)
        with pytest.raises(ValueError, match=r"size: got 3 edge length"):
            model.sample((1.0, 1.0, 1.0), 32, seed=0)
        with pytest.raises(ValueError, match=r"resolution: got 0; expected 0 < resolution"):
            model.sample((1.0, 1.0), 0, seed=0)
        with pytest.raises(ValueError, match=r"seed: got -1; expected a non-negative integer"):
            model.sample((1.0, 1.0), 32, seed=-1)


class TestRandomFibres:
    def test_extruded_non_overlapping_disks(self) -> None:
        model = RandomFibres(0.5, 0.08, axis=0)
        ms = model.sample((0.5, 1.0, 1.0), 32, seed=0)
        assert ms.shape == (16, 32, 32)
        assert np.all(ms.labels == ms.labels[:1])  # invariant along the fibre axis
        centres, radii = model.inclusions((0.5, 1.0, 1.0), seed=0)
        i, j = np.triu_indices(len(radii), k=1)
        dist = np.linalg.norm(min_image(centres[i] - centres[j], np.ones(2)), axis=1)
        assert dist.min() >= 0.16
        # measured voxel fraction 0.5049, continuum 0.5027 (25 disks of radius 2.6 voxels)
        assert abs(ms.volume_fraction(1) - 0.5) < 0.01

    def test_bad_axis(self) -> None:
        with pytest.raises(ValueError, match=r"axis: got 3; expected 0, 1 or 2"):
            RandomFibres(0.3, 0.1, axis=3)


class TestRandomEllipsoids:
    @pytest.mark.parametrize(
        ("model", "size", "res"),
        [
            (RandomEllipsoids(2, 0.4, (0.06, 0.02)), (1.0, 1.0), 256),
            (RandomEllipsoids(3, 0.25, (0.12, 0.06, 0.05)), (1.0, 1.0, 1.0), 64),
        ],
    )
    def test_fraction_of_disjoint_ellipsoids(self, model, size, res) -> None:
        # n disjoint ellipsoids fill n v / V up to an unbiased voxelization scatter (about
        # 5e-4 here: ~100 shapes, a few voxels each); overlaps would lower the fraction.
        # Measured errors 1.7e-4 (2D) and 7.1e-4 (3D)
        f = model.sample(size, res, seed=0).volume_fraction(1)
        assert abs(f - model.volume_fraction) < 3e-3

    @pytest.mark.parametrize(
        ("orientation", "ratio", "rtol"), [("aligned", 1 / 3, 0.03), ("random", 1.0, 0.08)]
    )
    def test_orientation_sets_the_anisotropy(self, orientation, ratio, rtol) -> None:
        # interface crossings per unit length along x / along y = projection on y / on x:
        # b / a for aligned ellipses, 1 for random ones. Measured means of 4 seeds: 0.3379
        # (+1.4 %, voxel bias of a 5-voxel semi-minor axis; seed-to-seed std 0.001) and
        # 0.976 (seed-to-seed std 0.042, standard error of 4 seeds 0.021: rtol = 4 of them)
        model = RandomEllipsoids(2, 0.3, (0.06, 0.02), orientation)
        ratios = []
        for seed in range(4):
            s2 = two_point_correlation(model.sample((1, 1), 256, seed), 1)
            ratios.append((s2[0, 0] - s2[1, 0]) / (s2[0, 0] - s2[0, 1]))
        assert np.mean(ratios) == pytest.approx(ratio, rel=rtol)

    def test_bad_parameters(self) -> None:
        with pytest.raises(ValueError, match=r"semi_axes: got \(0\.1,\); expected 2 positive"):
            RandomEllipsoids(2, 0.3, (0.1,))
        with pytest.raises(ValueError, match=r"orientation: got 'random2'; expected 'random'"):
            RandomEllipsoids(2, 0.3, (0.1, 0.05), orientation="random2")
        with pytest.raises(ValueError, match=r"semi_axes \(largest\): 0\.6 is not below half"):
            RandomEllipsoids(2, 0.3, (0.6, 0.05)).sample((1.0, 1.0), 16, seed=0)


class TestBooleanModel:
    def test_voxels_are_the_periodic_union_of_grains(self) -> None:
        # brute force over all 3^d periodic images; radius larger than a quarter cell
        model = BooleanModel(2, 0.5, 0.3)
        ms = model.sample((1.0, 1.0), 48, seed=0)
        germs = model.germs((1.0, 1.0), seed=0)
        shifts = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=float)
        images = (germs[:, None, :] + shifts[None]).reshape(-1, 2)
        x = voxel_centres(ms.shape, ms.size).reshape(-1, 1, 2)
        inside = np.any(((x - images[None]) ** 2).sum(-1) <= 0.09, axis=1)
        assert np.array_equal(ms.labels.ravel(), inside.astype(np.int32))

    @pytest.mark.parametrize(("ndim", "res", "radius"), [(2, 256, 0.02), (3, 64, 0.06)])
    def test_ensemble_fraction(self, ndim: int, res: int, radius: float) -> None:
        model = BooleanModel(ndim, 0.4, radius)
        fractions = [model.sample((1.0,) * ndim, res, s).volume_fraction(1) for s in range(8)]
        # one realization's std measured 0.013 (2D) and 0.014 (3D): the mean of 8 has a
        # standard error of 0.005; measured deviations +0.0034 (2D) and +0.0027 (3D)
        assert abs(np.mean(fractions) - 0.4) < 0.015

    def test_germ_count_is_poisson(self) -> None:
        model = BooleanModel(2, 0.5, 0.02)
        counts = [len(model.germs((1.0, 1.0), seed=s)) for s in range(20)]
        mean = model.intensity  # 551.6 per unit area
        assert abs(np.mean(counts) - mean) < 4 * math.sqrt(mean / 20)


class TestGaussianExcursion:
    @pytest.mark.parametrize(("ndim", "res", "length"), [(2, 256, 0.02), (3, 64, 0.05)])
    def test_ensemble_fraction_is_one_minus_phi_u(self, ndim: int, res: int, length: float):
        model = GaussianExcursion(ndim, 0.3, length)
        assert 1.0 - special.ndtr(model.threshold) == pytest.approx(0.3, abs=1e-14)
        fractions = [model.sample((1.0,) * ndim, res, s).volume_fraction(1) for s in range(8)]
        # one realization's std measured 0.015 (2D) and 0.008 (3D), so the standard error
        # of the mean of 8 is at most 0.005; measured deviations -9e-5 (2D), -2.8e-4 (3D)
        assert abs(np.mean(fractions) - 0.3) < 0.015

    def test_field_has_unit_variance_and_gaussian_covariance(self) -> None:
        model = GaussianExcursion(2, 0.5, 0.04)
        fields = [model.gaussian_field((1.0, 1.0), 128, seed=s) for s in range(8)]
        x = np.stack(fields)
        lag = 3  # voxels of 1/128: r = 0.0234, rho = exp(-(r/l)^2) = 0.710
        cov = np.mean(x * np.roll(x, lag, axis=1))
        # the spatial mean of one realization has variance int C / V = pi l^2 (std 0.071),
        # its variance and covariance estimates a std of about sqrt(2 int C^2) = sqrt(pi) l
        # (0.071): over 8 realizations the standard errors are 0.025. Measured mean 0.037,
        # variance 1.0014, covariance 0.7059 vs 0.7094; tolerances are 4 standard errors
        assert abs(x.mean()) < 0.1
        assert abs(x.var() - 1.0) < 0.1
        assert abs(cov - math.exp(-((lag / 128 / 0.04) ** 2))) < 0.1


class TestVoronoiPolycrystal:
    def test_labels_are_periodic_nearest_seeds(self) -> None:
        model = VoronoiPolycrystal(2, 0.3)
        ms = model.sample((1.0, 1.5), 32, seed=0)
        seeds = model.seeds((1.0, 1.5), seed=0)
        x = voxel_centres(ms.shape, ms.size).reshape(-1, 1, 2)
        d2 = (min_image(x - seeds[None], np.array([1.0, 1.5])) ** 2).sum(-1)
        assert np.array_equal(ms.labels.ravel(), np.argmin(d2, axis=1))

    @pytest.mark.parametrize("ndim", [2, 3])
    def test_grain_count_is_poisson(self, ndim: int) -> None:
        model = VoronoiPolycrystal(ndim, 0.2)
        size = (1.0,) * ndim
        counts = [len(model.seeds(size, s)) for s in range(20)]
        mean = 1.0 / 0.2**ndim  # 25 (2D), 125 (3D)
        assert abs(np.mean(counts) - mean) < 4 * math.sqrt(mean / 20)
        ms = model.sample(size, 32, seed=0)  # every seed owns voxels at this resolution
        assert ms.labels.max() + 1 == len(model.seeds(size, seed=0))

    @pytest.mark.parametrize("ndim", [2, 3])
    def test_orientations_are_uniform_proper_rotations(self, ndim: int) -> None:
        model = VoronoiPolycrystal(ndim, 0.05)
        R = model.orientations((1.0,) * ndim, seed=0)
        eye = np.eye(ndim)
        assert np.allclose(R @ R.swapaxes(1, 2), eye, atol=1e-14)
        assert np.allclose(np.linalg.det(R), 1.0, atol=1e-14)
        assert np.array_equal(R, model.orientations((1.0,) * ndim, seed=0))
        # Haar measure: E[R] = 0, each entry has variance 1 / d
        assert np.all(np.abs(R.mean(axis=0)) < 4 * math.sqrt(1 / ndim / len(R)))

    def test_rotated_elastic_tensors_keep_the_crystal_invariants(self) -> None:
        # cubic crystal (copper-like), Mandel: C11, C12, 2 C44
        C = np.zeros((6, 6))
        C[:3, :3] = 121.0
        C[np.diag_indices(3)] = 168.0
        C[3:, 3:] = np.diag([2 * 75.0] * 3)
        laws = polycrystal_materials(
            VoronoiPolycrystal(3, 0.3).orientations((1, 1, 1), 0), Elasticity(C=C)
        )
        R = VoronoiPolycrystal(3, 0.3).orientations((1, 1, 1), 0)
        eig = np.linalg.eigvalsh(C)
        for i, law in laws.items():
            assert np.allclose(np.linalg.eigvalsh(law.tensor(3)), eig, rtol=1e-12)
            assert np.allclose(law.tensor(3), rotate_stiffness(C, R[i]), atol=1e-12)
        assert not np.allclose(laws[0].tensor(3), C)  # really rotated

    def test_2d_rotation_about_z_keeps_the_plane_strain_block(self) -> None:
        C = np.diag([3.0, 2.0, 1.5, 1.0, 1.2, 0.8]) + 0.4 * (np.ones((6, 6)) - np.eye(6))
        R = VoronoiPolycrystal(2, 0.3).orientations((1, 1), 0)
        for i, law in polycrystal_materials(R, Elasticity(C=C)).items():
            plane = law.tensor(2)
            assert np.allclose(plane, rotate_stiffness(C[np.ix_([0, 1, 5], [0, 1, 5])], R[i]))

    def test_2d_only_elastic_law(self) -> None:
        C2 = np.array([[3.0, 1.0, 0.2], [1.0, 2.0, 0.1], [0.2, 0.1, 1.5]])
        R = VoronoiPolycrystal(2, 0.3).orientations((1, 1), 2)
        for i, law in polycrystal_materials(R, Elasticity(C=C2)).items():
            assert np.allclose(law.tensor(2), rotate_stiffness(C2, R[i]), atol=1e-13)

    def test_rotated_conductivity(self) -> None:
        k = np.diag([1.0, 2.0, 5.0])
        laws = polycrystal_materials(
            VoronoiPolycrystal(3, 0.5).orientations((1, 1, 1), 1), Conductivity(k=k)
        )
        for law in laws.values():
            assert np.allclose(np.linalg.eigvalsh(law.tensor(3)), [1.0, 2.0, 5.0], rtol=1e-13)

    def test_bad_input(self) -> None:
        with pytest.raises(ValueError, match=r"grain_size: got 0; expected 0 < grain_size"):
            VoronoiPolycrystal(2, 0)
        with pytest.raises(ValueError, match=r"orientations: got shape \(3, 3\)"):
            polycrystal_materials(np.eye(3), Conductivity(k=1.0))
        with pytest.raises(ValueError, match=r"orientations: not orthogonal"):
            polycrystal_materials(2 * np.eye(3)[None], Conductivity(k=1.0))
        with pytest.raises(ValueError, match=r"crystal_law: got 'steel'"):
            polycrystal_materials(np.eye(3)[None], "steel")  # type: ignore[arg-type]


class TestImageWindows:
    def test_window_is_a_piece_of_the_image(self) -> None:
        image = GaussianExcursion(2, 0.4, 0.05).sample((2.0, 1.0), 64, seed=0)
        model = ImageWindows(image)
        window = model.sample((0.5, 0.25), 64, seed=3)
        assert window.shape == (32, 16) and window.size == (0.5, 0.25)
        found = [
            (i, j)
            for i in range(128 - 32 + 1)
            for j in range(64 - 16 + 1)
            if np.array_equal(image.labels[i : i + 32, j : j + 16], window.labels)
        ]
        assert found
        assert model.expected_volume_fractions() == image.volume_fractions()
        desc = json.loads(json.dumps(model.describe()))
        assert desc["model"] == "ImageWindows" and desc["shape"] == [128, 64]
        assert np.array_equal(model.sample((0.5, 0.25), 64, seed=3).labels, window.labels)

    def test_whole_image_is_the_only_window_of_its_size(self) -> None:
        image = BooleanModel(2, 0.3, 0.1).sample((1.0, 1.0), 32, seed=0)
        assert np.array_equal(ImageWindows(image).sample((1, 1), 32, seed=9).labels, image.labels)

    def test_bad_requests(self) -> None:
        image = BooleanModel(2, 0.3, 0.1).sample((1.0, 1.0), 32, seed=0)
        with pytest.raises(ValueError, match=r"resolution: got 64; .*image's resolution 32"):
            ImageWindows(image).sample((0.5, 0.5), 64, seed=0)
        with pytest.raises(ValueError, match=r"size: got \(1\.5, 0\.5\).*exceeds the image"):
            ImageWindows(image).sample((1.5, 0.5), 32, seed=0)
        with pytest.raises(ValueError, match=r"microstructure: got ndarray"):
            ImageWindows(image.labels)  # type: ignore[arg-type]
        anisotropic = Microstructure(image.labels, size=(1.0, 2.0))
        with pytest.raises(ValueError, match=r"resolutions \(32\.0, 16\.0\) per axis"):
            ImageWindows(anisotropic).sample((0.5, 0.5), 32, seed=0)


def test_documentation_example_runs() -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert code is not None
    namespace: dict = {}
    exec(code.group(1), namespace)
    # the example's 8 Boolean realizations: measured mean fraction 0.4034; one
    # realization's std is 0.013, so 0.015 is 3 standard errors of the mean of 8
    assert abs(namespace["mean_fraction"] - 0.4) < 0.015
    assert namespace["deviation"] < 0.02  # as in test_statistics (measured 3.5e-3)
