"""Reading and writing microstructures: NumPy files, images, TIFF stacks and VTK ImageData."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from io import StringIO
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt

from scalebridge.microstructure.core import Microstructure

__all__ = ["load_microstructure", "save_microstructure", "write_vti"]

logger = logging.getLogger(__name__)

SAVE_SUFFIXES = (".npy", ".npz")
IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")
LOAD_SUFFIXES = SAVE_SUFFIXES + IMAGE_SUFFIXES


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a temporary file in the target directory, then rename it into place."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; data files are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_microstructure(path: str | os.PathLike[str], microstructure: Microstructure) -> None:
    """Save a microstructure to ``.npy`` (labels only) or ``.npz`` (``labels`` and ``size``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ms = Microstructure([[0, 1], [1, 0]], size=(2.0, 3.0))
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cell.npz"
    >>> save_microstructure(p, ms)
    >>> load_microstructure(p).size
    (2.0, 3.0)
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        _atomic_write(p, lambda fh: np.save(fh, microstructure.labels))
    elif suffix == ".npz":
        _atomic_write(
            p,
            lambda fh: np.savez(
                fh, labels=microstructure.labels, size=np.asarray(microstructure.size)
            ),
        )
    else:
        raise ValueError(
            f"path: unsupported suffix {p.suffix!r} in {str(p)!r}; "
            f"supported for saving: {', '.join(SAVE_SUFFIXES)}"
        )


def _grey_to_labels(
    image: npt.NDArray[Any], path: Path, threshold: float | None
) -> npt.NDArray[np.int32]:
    """Map grey values to labels: sorted unique values -> 0..n-1, or binarize."""
    if np.issubdtype(image.dtype, np.floating) and np.isnan(image).any():
        raise ValueError(f"path: image {str(path)!r} contains NaN grey values")
    if threshold is not None:
        return (image > threshold).astype(np.int32)
    _, inverse = np.unique(image, return_inverse=True)
    return inverse.reshape(image.shape).astype(np.int32)


def _to_grey(image: npt.NDArray[Any], path: Path, colour: bool) -> npt.NDArray[Any]:
    """Drop an alpha channel and collapse equal RGB channels to one grey channel."""
    if not colour:
        return image
    channels = image[..., :3] if image.shape[-1] in (3, 4) else image[..., :1]
    if not np.all(channels == channels[..., :1]):
        raise ValueError(
            f"path: {str(path)!r} is a colour image with unequal RGB channels; "
            "save it as a grey-level image (one grey value per phase)"
        )
    return channels[..., 0]


def _read_image(path: Path) -> npt.NDArray[Any]:
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            image = series.asarray()
            colour = "S" in series.axes  # samples (colour channels), possibly planar
            if colour:
                image = np.moveaxis(image, series.axes.index("S"), -1)
    else:
        import imageio.v3 as iio

        image = np.asarray(iio.imread(path))
        colour = image.ndim == 3 and image.shape[-1] in (2, 3, 4)
        if colour and image.shape[-1] == 2:  # grey + alpha
            image = image[..., :1]
    image = _to_grey(np.asarray(image), path, colour)
    image = np.squeeze(image) if image.ndim > 3 else image
    return image


def load_microstructure(
    path: str | os.PathLike[str],
    size: Sequence[float] | None = None,
    threshold: float | None = None,
) -> Microstructure:
    """Load a microstructure from a NumPy file, a 2D image or a 3D TIFF stack.

    ``.npy`` holds the labels; ``.npz`` holds ``labels`` and ``size``. Images (``.png``,
    ``.bmp`` through imageio; ``.tif``/``.tiff`` through tifffile, multi-page = 3D stack)
    are read with their axes as stored (row index -> axis 0). Grey levels become labels:
    the sorted unique grey values map to ``0 .. n-1`` (darkest = 0). With ``threshold``,
    the image is binarized instead: label ``1`` where grey > threshold, else ``0``.
    RGB(A) images are accepted when the three colour channels are equal; alpha is ignored.

    Parameters
    ----------
    path : path-like
        File to read.
    size : sequence of float, optional
        Cell edge lengths; overrides the size stored in ``.npz``. Default ``1.0`` per axis.
    threshold : float, optional
        Grey level for binarization (images only).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cell.npy"
    >>> Microstructure([[0, 2], [2, 2]]).save(p)
    >>> load_microstructure(p, size=(2.0, 2.0)).volume_fraction(2)
    0.75
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in LOAD_SUFFIXES:
        raise ValueError(
            f"path: unsupported suffix {p.suffix!r} in {str(p)!r}; "
            f"supported: {', '.join(LOAD_SUFFIXES)}"
        )
    if not p.is_file():
        raise FileNotFoundError(f"path: no such file {str(p)!r}")
    if suffix == ".npy":
        labels = np.load(p, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(p, allow_pickle=False) as data:
            if "labels" not in data:
                raise ValueError(
                    f"path: {str(p)!r} has no 'labels' array (found {sorted(data.files)})"
                )
            labels = data["labels"]
            if size is None and "size" in data:
                size = tuple(float(s) for s in data["size"])
    else:
        labels = _grey_to_labels(_read_image(p), p, threshold)
    logger.debug("loaded %s with shape %s", p, np.shape(labels))
    return Microstructure(labels, size=size)


def _vtk_type(values: npt.NDArray[Any]) -> tuple[str, str, npt.NDArray[Any]]:
    """VTK type name, printf format and converted values for a cell field."""
    if values.dtype == np.bool_ or np.issubdtype(values.dtype, np.integer):
        return "Int64", "%d", values.astype(np.int64)
    if np.issubdtype(values.dtype, np.floating):
        return "Float64", "%.17g", values.astype(np.float64)
    raise ValueError(f"fields: dtype {values.dtype} not supported; use integer or float arrays")


def _data_array(name: str, values: npt.NDArray[Any], ncomp: int) -> str:
    """One ASCII ``<DataArray>``; ``values`` has shape (n_cells, ncomp) in VTK cell order."""
    vtk_type, fmt, values = _vtk_type(values)
    buffer = StringIO()
    np.savetxt(buffer, values.reshape(-1, ncomp), fmt=fmt, delimiter=" ")
    return (
        f'        <DataArray type="{vtk_type}" Name={quoteattr(name)} '
        f'NumberOfComponents="{ncomp}" format="ascii">\n'
        f"{buffer.getvalue()}        </DataArray>\n"
    )


def _cell_order(field: npt.NDArray[Any], shape: tuple[int, ...]) -> tuple[npt.NDArray, int]:
    """Reorder a scalar (``shape``) or component-first (``(ncomp, *shape)``) field so that
    x varies fastest (VTK order); return ``(values of shape (n_cells, ncomp), ncomp)``."""
    if field.shape == shape:
        return field.reshape(-1, 1, order="F"), 1
    ncomp = field.shape[0]
    return field.reshape(ncomp, -1, order="F").T, ncomp


def write_vti(
    path: str | os.PathLike[str],
    microstructure: Microstructure,
    fields: Mapping[str, npt.ArrayLike] | None = None,
) -> None:
    """Write a VTK ImageData (``.vti``, ASCII XML) file with cell data.

    The cell array ``"phase"`` holds the labels; each entry of ``fields`` is either a scalar
    field of shape ``ms.shape`` or a component-first field of shape ``(ncomp, *ms.shape)``,
    written with ``NumberOfComponents=ncomp``. Origin is 0, spacing ``ms.spacing``; arrays
    indexed ``[x, y, z]`` are written with x varying fastest, as VTK expects. 2D cells are
    written as one layer of cells (z extent 0..0). The file is written atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ms = Microstructure([[0, 1], [1, 1]])
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cell.vti"
    >>> write_vti(p, ms, {"grad": np.zeros((2, 2, 2))})
    >>> p.read_text().count("<DataArray")
    2
    """
    p = Path(path)
    if p.suffix.lower() != ".vti":
        raise ValueError(f"path: got {str(p)!r}; a VTK ImageData file must end in '.vti'")
    shape = microstructure.shape
    arrays = [_data_array("phase", microstructure.labels.reshape(-1, order="F"), 1)]
    for name, value in (fields or {}).items():
        if not isinstance(name, str) or not name or name == "phase":
            raise ValueError(
                f"fields: invalid name {name!r}; use a non-empty str other than 'phase'"
            )
        field = np.asarray(value)
        if field.shape != shape and (field.ndim != len(shape) + 1 or field.shape[1:] != shape):
            raise ValueError(
                f"fields[{name!r}]: shape {field.shape} does not match the microstructure; "
                f"expected {shape} (scalar) or (ncomp, *{shape}) (component-first)"
            )
        values, ncomp = _cell_order(field, shape)
        arrays.append(_data_array(name, values, ncomp))
    cells = list(shape) + [0] * (3 - len(shape))
    spacing = list(microstructure.spacing) + [min(microstructure.spacing)] * (3 - len(shape))
    extent = " ".join(f"0 {n}" for n in cells)
    spacing_text = " ".join(repr(float(h)) for h in spacing)
    text = (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="ImageData" version="0.1" byte_order="LittleEndian">\n'
        f'  <ImageData WholeExtent="{extent}" Origin="0 0 0" Spacing="{spacing_text}">\n'
        f'    <Piece Extent="{extent}">\n'
        '      <CellData Scalars="phase">\n'
        f"{''.join(arrays)}"
        "      </CellData>\n"
        "    </Piece>\n"
        "  </ImageData>\n"
        "</VTKFile>\n"
    )
    _atomic_write(p, lambda fh: fh.write(text.encode("utf-8")))
