"""The Microstructure type: construction, validation, phases and volume fractions."""

from __future__ import annotations

import numpy as np
import pytest

import scalebridge.microstructure as msmod
from scalebridge.microstructure import Microstructure


class TestConstruction:
    def test_properties_of_a_2d_cell(self) -> None:
        labels = np.array([[0, 1, 1], [2, 1, 0]])
        ms = Microstructure(labels, size=(2.0, 3.0))
        assert ms.shape == (2, 3)
        assert ms.ndim == 2
        assert ms.size == (2.0, 3.0)
        assert ms.spacing == (1.0, 1.0)
        assert ms.n_voxels == 6
        assert ms.phases == (0, 1, 2)

    def test_default_size_is_unit_per_axis(self) -> None:
        ms = Microstructure(np.zeros((2, 4, 5), dtype=np.uint8))
        assert ms.size == (1.0, 1.0, 1.0)
        assert ms.spacing == (0.5, 0.25, 0.2)
        assert ms.ndim == 3

    def test_labels_are_a_read_only_integer_copy(self) -> None:
        labels = np.array([[0, 1], [1, 0]], dtype=np.int64)
        ms = Microstructure(labels)
        assert not ms.labels.flags.writeable
        assert np.issubdtype(ms.labels.dtype, np.integer)
        labels[0, 0] = 5
        assert ms.labels[0, 0] == 0
        with pytest.raises(ValueError):
            ms.labels[0, 0] = 3

    def test_bool_labels_are_converted_to_0_and_1(self) -> None:
        ms = Microstructure(np.array([[True, False], [False, False]]))
        assert np.issubdtype(ms.labels.dtype, np.integer)
        assert ms.labels.tolist() == [[1, 0], [0, 0]]

    def test_size_entries_become_floats(self) -> None:
        ms = Microstructure(np.zeros((2, 2), dtype=int), size=[2, np.float32(0.5)])
        assert ms.size == (2.0, 0.5)
        assert all(type(s) is float for s in ms.size)

    def test_is_frozen(self) -> None:
        ms = Microstructure(np.zeros((2, 2), dtype=int))
        with pytest.raises(AttributeError):
            ms.size = (2.0, 2.0)  # type: ignore[misc]

    def test_repr_is_short_and_names_fractions(self) -> None:
        ms = Microstructure(np.zeros((100, 100), dtype=int))
        text = repr(ms)
        assert text == "Microstructure(shape=(100, 100), size=(1.0, 1.0), phases={0: 1})"


class TestVolumeFractions:
    def test_fractions_are_counts_over_voxels(self) -> None:
        labels = np.array([[0, 0, 0, 3], [3, 3, 7, 0]])
        ms = Microstructure(labels)
        assert ms.volume_fractions() == {0: 0.5, 3: 0.375, 7: 0.125}
        assert ms.volume_fraction(3) == 0.375
        assert ms.volume_fraction(5) == 0.0

    def test_fractions_sum_to_one(self) -> None:
        rng = np.random.default_rng(0)
        ms = Microstructure(rng.integers(0, 4, size=(7, 5, 3)))
        assert sum(ms.volume_fractions().values()) == pytest.approx(1.0, abs=1e-15)


class TestCheckMaterials:
    def test_complete_mapping_passes(self) -> None:
        ms = Microstructure(np.array([[0, 1], [2, 1]]))
        ms.check_materials({0: "a", 1: "b", 2: "c", 9: "unused"})

    def test_missing_labels_are_all_named(self) -> None:
        ms = Microstructure(np.array([[0, 1], [2, 3]]))
        with pytest.raises(
            ValueError,
            match=r"materials: no law for phase label\(s\) \[1, 3\]; "
            r"labels present: \[0, 1, 2, 3\]",
        ):
            ms.check_materials({0: "a", 2: "c"})


class TestValidation:
    def test_float_labels_rejected_even_if_integral(self) -> None:
        with pytest.raises(ValueError, match=r"labels: dtype float64 is not an integer type"):
            Microstructure(np.array([[0.0, 1.0], [1.0, 0.0]]))

    def test_nan_labels_get_a_specific_message(self) -> None:
        with pytest.raises(ValueError, match=r"labels: contains NaN"):
            Microstructure(np.array([[0.0, np.nan], [1.0, 0.0]]))

    def test_negative_labels_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"labels: minimum label is -2; .*non-negative"):
            Microstructure(np.array([[0, -2], [1, 0]]))

    @pytest.mark.parametrize("shape", [(4,), (2, 2, 2, 2)])
    def test_ndim_1_and_4_rejected(self, shape: tuple[int, ...]) -> None:
        with pytest.raises(ValueError, match=rf"labels: got a {len(shape)}D array.*2D or 3D"):
            Microstructure(np.zeros(shape, dtype=int))

    def test_empty_axis_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"labels: got shape \(0, 3\); .*at least 1 voxel"):
            Microstructure(np.zeros((0, 3), dtype=int))

    def test_string_labels_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"labels: dtype <U1 is not an integer type"):
            Microstructure(np.array([["a", "b"], ["c", "d"]]))

    @pytest.mark.parametrize("size", [(1.0, 0.0), (1.0, -2.0), (1.0, np.inf), (np.nan, 1.0)])
    def test_non_positive_or_non_finite_size_rejected(self, size: tuple[float, ...]) -> None:
        with pytest.raises(ValueError, match=r"size: got .*positive and finite"):
            Microstructure(np.zeros((2, 2), dtype=int), size=size)

    @pytest.mark.parametrize("size", [(1.0,), (1.0, 1.0, 1.0)])
    def test_wrong_size_length_rejected(self, size: tuple[float, ...]) -> None:
        with pytest.raises(
            ValueError, match=rf"size: got {len(size)} edge length\(s\).*2D microstructure"
        ):
            Microstructure(np.zeros((2, 2), dtype=int), size=size)

    @pytest.mark.parametrize("size", [1.0, "ab", [[1.0, 1.0]]])
    def test_scalar_or_nested_size_rejected(self, size: object) -> None:
        with pytest.raises(ValueError, match=r"size: got .*expected a sequence of 2"):
            Microstructure(np.zeros((2, 2), dtype=int), size=size)  # type: ignore[arg-type]

    def test_non_numeric_size_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"size: got .*expected 2 positive finite floats"):
            Microstructure(np.zeros((2, 2), dtype=int), size=("a", "b"))  # type: ignore[arg-type]


def test_every_public_name_exists() -> None:
    for name in msmod.__all__:
        assert hasattr(msmod, name), name


def test_subpackage_stands_alone() -> None:
    import ast
    from pathlib import Path

    package = Path(msmod.__file__).parent
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                top = node.module.split(".")
                if top[0] == "scalebridge":
                    assert top[:2] == ["scalebridge", "microstructure"], (module, node.module)


@pytest.mark.parametrize("module", ["core", "generators", "io", "__init__"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    name = "scalebridge.microstructure" + ("" if module == "__init__" else f".{module}")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
