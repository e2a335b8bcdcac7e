"""Microstructure file I/O: NumPy round trips, images, TIFF stacks and VTK ImageData."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from scalebridge.microstructure import (
    Microstructure,
    checkerboard,
    load_microstructure,
    save_microstructure,
    write_vti,
)


@pytest.fixture
def ms3d() -> Microstructure:
    rng = np.random.default_rng(0)
    return Microstructure(rng.integers(0, 3, size=(4, 3, 2)), size=(2.0, 1.5, 0.5))


class TestNumpyFiles:
    def test_npz_round_trip_keeps_labels_and_size(
        self, tmp_path: Path, ms3d: Microstructure
    ) -> None:
        path = tmp_path / "cell.npz"
        ms3d.save(path)
        back = Microstructure.load(path)
        assert np.array_equal(back.labels, ms3d.labels)
        assert back.size == (2.0, 1.5, 0.5)

    def test_npz_size_argument_overrides_stored(self, tmp_path: Path, ms3d: Microstructure) -> None:
        path = tmp_path / "cell.npz"
        save_microstructure(path, ms3d)
        assert load_microstructure(path, size=(1.0, 1.0, 1.0)).size == (1.0, 1.0, 1.0)

    def test_npy_round_trip_keeps_labels_only(self, tmp_path: Path, ms3d: Microstructure) -> None:
        path = tmp_path / "cell.npy"
        ms3d.save(path)
        assert np.array_equal(np.load(path), ms3d.labels)
        back = load_microstructure(path)
        assert np.array_equal(back.labels, ms3d.labels)
        assert back.size == (1.0, 1.0, 1.0)
        assert load_microstructure(path, size=(2.0, 1.5, 0.5)).size == (2.0, 1.5, 0.5)

    def test_save_leaves_no_temporary_files(self, tmp_path: Path, ms3d: Microstructure) -> None:
        ms3d.save(tmp_path / "a.npz")
        ms3d.save(tmp_path / "a.npz")  # overwrite in place
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]

    def test_npz_without_labels(self, tmp_path: Path) -> None:
        path = tmp_path / "x.npz"
        np.savez(path, other=np.zeros((2, 2), dtype=int))
        with pytest.raises(ValueError, match=r"has no 'labels' array \(found \['other'\]\)"):
            load_microstructure(path)

    def test_npy_with_float_labels_is_rejected(self, tmp_path: Path) -> None:
        path = tmp_path / "f.npy"
        np.save(path, np.zeros((2, 2)))
        with pytest.raises(ValueError, match=r"labels: dtype float64 is not an integer type"):
            load_microstructure(path)


class TestImages:
    def test_png_grey_levels_map_to_sorted_labels(self, tmp_path: Path) -> None:
        grey = np.array([[0, 128, 255], [255, 128, 0]], dtype=np.uint8)
        path = tmp_path / "img.png"
        iio.imwrite(path, grey)
        ms = load_microstructure(path, size=(2.0, 3.0))
        assert ms.labels.tolist() == [[0, 1, 2], [2, 1, 0]]
        assert ms.size == (2.0, 3.0)

    def test_png_round_trip_of_a_binary_image(self, tmp_path: Path) -> None:
        ms = checkerboard((8, 6), cells=2)
        path = tmp_path / "cb.png"
        iio.imwrite(path, (ms.labels * 255).astype(np.uint8))
        assert np.array_equal(load_microstructure(path).labels, ms.labels)

    def test_bmp_is_read(self, tmp_path: Path) -> None:
        grey = np.array([[10, 20], [20, 20]], dtype=np.uint8)
        path = tmp_path / "img.bmp"
        iio.imwrite(path, np.stack([grey] * 3, axis=-1))
        assert load_microstructure(path).labels.tolist() == [[0, 1], [1, 1]]

    def test_threshold_binarizes(self, tmp_path: Path) -> None:
        grey = np.array([[0, 100, 200], [50, 150, 250]], dtype=np.uint8)
        path = tmp_path / "img.png"
        iio.imwrite(path, grey)
        ms = load_microstructure(path, threshold=120)
        assert ms.labels.tolist() == [[0, 0, 1], [0, 1, 1]]

    def test_rgba_with_equal_channels_is_grey(self, tmp_path: Path) -> None:
        grey = np.array([[0, 200], [200, 90]], dtype=np.uint8)
        rgba = np.stack([grey, grey, grey, np.full_like(grey, 255)], axis=-1)
        path = tmp_path / "rgba.png"
        iio.imwrite(path, rgba)
        assert load_microstructure(path).labels.tolist() == [[0, 2], [2, 1]]

    def test_colour_image_rejected(self, tmp_path: Path) -> None:
        rgb = np.zeros((2, 2, 3), dtype=np.uint8)
        rgb[0, 0] = (255, 0, 0)
        path = tmp_path / "rgb.png"
        iio.imwrite(path, rgb)
        with pytest.raises(ValueError, match=r"colour image with unequal RGB channels"):
            load_microstructure(path)

    def test_tiff_stack_round_trip(self, tmp_path: Path, ms3d: Microstructure) -> None:
        path = tmp_path / "stack.tif"
        tifffile.imwrite(path, (ms3d.labels * 40).astype(np.uint8), photometric="minisblack")
        back = load_microstructure(path, size=ms3d.size)
        assert back.shape == ms3d.shape
        assert np.array_equal(back.labels, ms3d.labels)

    def test_tiff_2d_and_16_bit(self, tmp_path: Path) -> None:
        grey = np.array([[1000, 5], [5, 60000]], dtype=np.uint16)
        path = tmp_path / "img.tiff"
        tifffile.imwrite(path, grey)
        assert load_microstructure(path).labels.tolist() == [[1, 0], [0, 2]]

    @pytest.mark.parametrize("planar", ["contig", "separate"])
    def test_tiff_rgb_with_equal_channels(self, tmp_path: Path, planar: str) -> None:
        grey = np.array([[0, 7, 7], [7, 7, 0]], dtype=np.uint8)
        rgb = np.stack([grey] * 3, axis=-1 if planar == "contig" else 0)
        path = tmp_path / "rgb.tif"
        tifffile.imwrite(path, rgb, photometric="rgb", planarconfig=planar)
        assert load_microstructure(path).labels.tolist() == [[0, 1, 1], [1, 1, 0]]


class TestLoadErrors:
    def test_bad_suffix_lists_supported(self, tmp_path: Path) -> None:
        with pytest.raises(
            ValueError,
            match=r"path: unsupported suffix '\.jpg'.*\.npy, \.npz, \.png, \.bmp, "
            r"\.tif, \.tiff",
        ):
            load_microstructure(tmp_path / "a.jpg")

    def test_bad_save_suffix(self, tmp_path: Path, ms3d: Microstructure) -> None:
        with pytest.raises(ValueError, match=r"supported for saving: \.npy, \.npz"):
            ms3d.save(tmp_path / "a.png")

    def test_missing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "nothing.npz"
        with pytest.raises(FileNotFoundError, match=r"nothing\.npz"):
            load_microstructure(path)


def read_vti(path: Path) -> tuple[ET.Element, dict[str, tuple[int, np.ndarray]]]:
    root = ET.parse(path).getroot()
    arrays = {}
    for da in root.iter("DataArray"):
        values = np.array(da.text.split(), dtype=float)
        arrays[da.get("Name")] = (int(da.get("NumberOfComponents")), values)
    return root, arrays


class TestVti:
    def test_header_and_phase_order_3d(self, tmp_path: Path, ms3d: Microstructure) -> None:
        path = tmp_path / "cell.vti"
        ms3d.to_vti(path)
        root, arrays = read_vti(path)
        assert root.get("type") == "ImageData"
        image = root.find("ImageData")
        assert image.get("WholeExtent") == "0 4 0 3 0 2"
        assert np.allclose([float(s) for s in image.get("Spacing").split()], [0.5, 0.5, 0.25])
        assert image.get("Origin") == "0 0 0"
        ncomp, phase = arrays["phase"]
        assert ncomp == 1 and phase.size == 24
        # VTK order: x fastest; cell (i, j, k) sits at i + nx * (j + ny * k)
        i, j, k = 3, 1, 1
        assert phase[i + 4 * (j + 3 * k)] == ms3d.labels[i, j, k]
        assert np.array_equal(phase.reshape(2, 3, 4).transpose(2, 1, 0), ms3d.labels)

    def test_scalar_and_vector_fields_2d(self, tmp_path: Path) -> None:
        ms = Microstructure(np.array([[0, 1, 1], [1, 0, 0]]), size=(1.0, 1.5))
        scalar = np.arange(6, dtype=float).reshape(2, 3) + 0.25
        vector = np.stack([scalar, 10 * scalar])  # (2, nx, ny): component-first
        path = tmp_path / "f.vti"
        write_vti(path, ms, {"temperature": scalar, "flux": vector})
        root, arrays = read_vti(path)
        assert root.find("ImageData").get("WholeExtent") == "0 2 0 3 0 0"
        assert set(arrays) == {"phase", "temperature", "flux"}
        assert arrays["temperature"][1].size == 6
        assert np.array_equal(arrays["temperature"][1], scalar.ravel(order="F"))
        ncomp, flux = arrays["flux"]
        assert ncomp == 2 and flux.size == 12
        flux = flux.reshape(6, 2)  # rows: cells in VTK order, columns: components
        assert np.array_equal(flux[:, 0], scalar.ravel(order="F"))
        assert np.array_equal(flux[:, 1], 10 * scalar.ravel(order="F"))

    def test_floats_written_exactly(self, tmp_path: Path) -> None:
        ms = Microstructure(np.zeros((1, 2), dtype=int))
        values = np.array([[1 / 3, -2.5e-300]])
        write_vti(tmp_path / "x.vti", ms, {"v": values})
        _, arrays = read_vti(tmp_path / "x.vti")
        assert np.array_equal(arrays["v"][1], values.ravel())

    def test_field_shape_mismatch(self, tmp_path: Path, ms3d: Microstructure) -> None:
        with pytest.raises(ValueError, match=r"fields\['u'\]: shape \(3, 4, 3\) does not match"):
            write_vti(tmp_path / "x.vti", ms3d, {"u": np.zeros((3, 4, 3))})
        assert not list(tmp_path.iterdir())

    def test_reserved_name_and_suffix(self, tmp_path: Path, ms3d: Microstructure) -> None:
        with pytest.raises(ValueError, match=r"fields: invalid name 'phase'"):
            write_vti(tmp_path / "x.vti", ms3d, {"phase": np.zeros(ms3d.shape)})
        with pytest.raises(ValueError, match=r"must end in '\.vti'"):
            write_vti(tmp_path / "x.vtk", ms3d)
