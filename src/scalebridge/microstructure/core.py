"""The :class:`Microstructure` type: periodic voxel labels plus a physical cell size."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Microstructure"]

_INT32_MAX = np.iinfo(np.int32).max


def _check_shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """Validate a voxel grid shape: 2 or 3 positive integers."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(
            f"{name}: got {shape!r}; expected a tuple of 2 or 3 positive integers"
        ) from None
    if len(dims) not in (2, 3) or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1 for n in dims
    ):
        raise ValueError(f"{name}: got {shape!r}; expected a tuple of 2 or 3 positive integers")
    return tuple(int(n) for n in dims)


def _check_size(size: Any, ndim: int) -> tuple[float, ...]:
    """Validate a cell size: one positive finite edge length per axis (``None`` = unit cell)."""
    if size is None:
        return (1.0,) * ndim
    if isinstance(size, str | bytes) or np.ndim(size) != 1:
        raise ValueError(
            f"size: got {size!r}; expected a sequence of {ndim} positive finite floats "
            f"(one edge length per axis) or None for a unit cell"
        )
    try:
        edges = tuple(float(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size: got {size!r}; expected {ndim} positive finite floats") from None
    if len(edges) != ndim:
        raise ValueError(
            f"size: got {len(edges)} edge length(s) {edges} for a {ndim}D microstructure; "
            f"expected exactly {ndim} positive finite floats"
        )
    if not all(math.isfinite(s) and s > 0.0 for s in edges):
        raise ValueError(f"size: got {edges}; every edge length must be positive and finite")
    return edges


def _check_labels(labels: Any) -> npt.NDArray[np.int32]:
    """Validate phase labels and return a read-only ``int32`` copy."""
    arr = np.asarray(labels)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int32)
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
            raise ValueError(
                f"labels: contains NaN (dtype {arr.dtype}); phase labels must be "
                "non-negative integers"
            )
        raise ValueError(
            f"labels: dtype {arr.dtype} is not an integer type; phase labels must be an "
            "integer array (convert explicitly, e.g. np.rint(a).astype(np.int32), once you "
            "have checked the values are integral)"
        )
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"labels: got a {arr.ndim}D array of shape {arr.shape}; expected a 2D or 3D array"
        )
    if arr.size == 0:
        raise ValueError(f"labels: got shape {arr.shape}; every axis needs at least 1 voxel")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0:
        raise ValueError(
            f"labels: minimum label is {lo}; phase labels must be non-negative integers"
        )
    if hi > _INT32_MAX:
        raise ValueError(f"labels: maximum label is {hi}; labels must fit in int32")
    out = np.array(arr, dtype=np.int32, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False, repr=False)
class Microstructure:
    """A periodic voxel microstructure: integer phase labels on a box of physical size.

    Parameters
    ----------
    labels : array_like of int
        2D or 3D array of non-negative phase labels indexed ``[x, y(, z)]`` (axis 0 = x).
        A boolean array is accepted and converted to ``0``/``1``. Float arrays are
        rejected even when integral-valued. The array is copied to a read-only
        ``int32`` array.
    size : sequence of float, optional
        Physical edge length of the cell along each axis; default ``1.0`` per axis.

    Examples
    --------
    >>> import numpy as np
    >>> ms = Microstructure(np.array([[0, 1], [1, 1]]), size=(2.0, 1.0))
    >>> ms.shape, ms.spacing, ms.phases
    ((2, 2), (1.0, 0.5), (0, 1))
    >>> ms.volume_fraction(1)
    0.75
    """

    labels: npt.NDArray[np.int32]
    size: tuple[float, ...] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        labels = _check_labels(self.labels)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "size", _check_size(self.size, labels.ndim))

    # ------------------------------------------------------------------ geometry
    @property
    def shape(self) -> tuple[int, ...]:
        """Number of voxels per axis."""
        return tuple(int(n) for n in self.labels.shape)

    @property
    def ndim(self) -> int:
        """Spatial dimension, 2 or 3."""
        return int(self.labels.ndim)

    @property
    def spacing(self) -> tuple[float, ...]:
        """Voxel edge lengths ``size / shape`` per axis."""
        return tuple(s / n for s, n in zip(self.size, self.shape, strict=True))

    @property
    def n_voxels(self) -> int:
        """Total number of voxels."""
        return int(self.labels.size)

    # ------------------------------------------------------------------ phases
    @property
    def phases(self) -> tuple[int, ...]:
        """Sorted unique labels present in the image."""
        return tuple(int(p) for p in np.unique(self.labels))

    def volume_fractions(self) -> dict[int, float]:
        """Volume fraction of every label present, keyed by label.

        Examples
        --------
        >>> Microstructure([[0, 0], [0, 2]]).volume_fractions()
        {0: 0.75, 2: 0.25}
        """
        values, counts = np.unique(self.labels, return_counts=True)
        n = self.n_voxels
        return {int(v): float(c) / n for v, c in zip(values, counts, strict=True)}

    def volume_fraction(self, label: int) -> float:
        """Volume fraction of one label (``0.0`` when absent).

        Examples
        --------
        >>> Microstructure([[0, 1], [1, 1]]).volume_fraction(1)
        0.75
        """
        return float(np.count_nonzero(self.labels == label)) / self.n_voxels

    def check_materials(self, materials: Mapping[int, object]) -> None:
        """Raise ``ValueError`` naming every label present that has no material.

        Examples
        --------
        >>> ms = Microstructure([[0, 1], [2, 1]])
        >>> ms.check_materials({0: "a", 1: "b", 2: "c"})  # no error
        """
        missing = [p for p in self.phases if p not in materials]
        if missing:
            raise ValueError(
                f"materials: no law for phase label(s) {missing}; "
                f"labels present: {list(self.phases)}"
            )

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | PathLike[str]) -> None:
        """Save to ``.npy`` (labels only) or ``.npz`` (labels and size).

        See :func:`scalebridge.microstructure.io.save_microstructure`.
        """
        from scalebridge.microstructure.io import save_microstructure

        save_microstructure(path, self)

    @classmethod
    def load(
        cls,
        path: str | PathLike[str],
        size: Sequence[float] | None = None,
        threshold: float | None = None,
    ) -> Microstructure:
        """Load from ``.npy``/``.npz`` or an image; see ``load_microstructure``."""
        from scalebridge.microstructure.io import load_microstructure

        return load_microstructure(path, size=size, threshold=threshold)

    def to_vti(
        self,
        path: str | PathLike[str],
        fields: Mapping[str, npt.ArrayLike] | None = None,
    ) -> None:
        """Write a VTK ImageData file with the phase labels and optional cell fields."""
        from scalebridge.microstructure.io import write_vti

        write_vti(path, self, fields)

    def __repr__(self) -> str:
        fractions = ", ".join(f"{k}: {v:.4g}" for k, v in self.volume_fractions().items())
        return f"Microstructure(shape={self.shape}, size={self.size}, phases={{{fractions}}})"
