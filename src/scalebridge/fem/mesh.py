"""Macro meshes: structured rectangles and boxes, a quarter plate with a hole (gmsh), and
meshio files, all returned as scikit-fem meshes with named boundaries.

Boundary names follow scikit-fem's defaults: ``"left"``/``"right"`` (x min/max),
``"bottom"``/``"top"`` (y min/max) and, in 3D, ``"front"``/``"back"`` (z min/max).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

_CELLS_2D = ("tri", "quad")
_CELLS_3D = ("tet", "hex")
# meshio volume cell type -> (skfem mesh class name, number of vertices)
_VOLUME = {
    "triangle": ("MeshTri1", 3),
    "triangle6": ("MeshTri2", 3),
    "quad": ("MeshQuad1", 4),
    "quad9": ("MeshQuad2", 4),
    "tetra": ("MeshTet1", 4),
    "tetra10": ("MeshTet2", 4),
    "hexahedron": ("MeshHex1", 8),
    "hexahedron27": ("MeshHex2", 8),
}
# meshio facet cell type -> number of vertices (higher-order nodes are dropped)
_FACETS_2D = {"line": 2, "line3": 2}
_FACETS_3D = {"triangle": 3, "triangle6": 3, "quad": 4, "quad8": 4, "quad9": 4}


def rectangle(
    lower: Sequence[float] = (0.0, 0.0),
    upper: Sequence[float] = (1.0, 1.0),
    n: Sequence[int] = (4, 4),
    cell: str = "quad",
) -> Any:
    """Structured mesh of the rectangle ``[lower, upper]``.

    Parameters
    ----------
    lower, upper : sequence of 2 floats
        Opposite corners, ``upper > lower`` on both axes.
    n : sequence of 2 ints
        Divisions along x and y (each ``>= 1``).
    cell : {"quad", "tri"}
        Bilinear quadrilaterals, or each square split into two triangles.

    Returns
    -------
    skfem.MeshQuad1 or skfem.MeshTri1
        With boundaries ``"left"``, ``"right"``, ``"bottom"``, ``"top"``.

    Examples
    --------
    >>> m = rectangle((0, 0), (2, 1), (4, 2), cell="tri")
    >>> m.nelements, sorted(m.boundaries)
    (16, ['bottom', 'left', 'right', 'top'])
    """
    return _structured(lower, upper, n, cell, _CELLS_2D, "rectangle")


def box(
    lower: Sequence[float] = (0.0, 0.0, 0.0),
    upper: Sequence[float] = (1.0, 1.0, 1.0),
    n: Sequence[int] = (2, 2, 2),
    cell: str = "hex",
) -> Any:
    """Structured mesh of the box ``[lower, upper]``.

    Parameters
    ----------
    lower, upper : sequence of 3 floats
        Opposite corners, ``upper > lower`` on every axis.
    n : sequence of 3 ints
        Divisions along x, y and z (each ``>= 1``).
    cell : {"hex", "tet"}
        Trilinear hexahedra, or each cube split into tetrahedra.

    Returns
    -------
    skfem.MeshHex1 or skfem.MeshTet1
        With boundaries ``"left"``/``"right"`` (x), ``"bottom"``/``"top"`` (y) and
        ``"front"``/``"back"`` (z min/max).

    Examples
    --------
    >>> box(n=(2, 1, 1)).nelements
    2
    """
    return _structured(lower, upper, n, cell, _CELLS_3D, "box")


def _structured(
    lower: Sequence[float],
    upper: Sequence[float],
    n: Sequence[int],
    cell: str,
    allowed: tuple[str, ...],
    owner: str,
) -> Any:
    import skfem

    d = 2 if owner == "rectangle" else 3
    lo = np.asarray(lower, dtype=float).ravel()
    hi = np.asarray(upper, dtype=float).ravel()
    if lo.shape != (d,) or hi.shape != (d,) or not np.all(np.isfinite(np.r_[lo, hi])):
        raise ValueError(
            f"{owner}: lower and upper must be {d} finite numbers each, got "
            f"lower={list(lower)}, upper={list(upper)}"
        )
    if np.any(hi <= lo):
        raise ValueError(
            f"{owner}: upper {hi.tolist()} must exceed lower {lo.tolist()} on every axis"
        )
    counts = list(n)
    if len(counts) != d or any(isinstance(k, bool) or int(k) != k or k < 1 for k in counts):
        raise ValueError(f"{owner}: n must be {d} integers >= 1, got {counts}")
    if cell not in allowed:
        raise ValueError(f"{owner}: cell must be one of {allowed}, got {cell!r}")
    axes = [np.linspace(a, b, int(k) + 1) for a, b, k in zip(lo, hi, counts, strict=True)]
    kind = {
        "quad": skfem.MeshQuad1,
        "tri": skfem.MeshTri1,
        "hex": skfem.MeshHex1,
        "tet": skfem.MeshTet1,
    }[cell]
    return kind.init_tensor(*axes).with_defaults()


def plate_with_hole(
    width: float = 1.0,
    height: float = 1.0,
    radius: float = 0.25,
    size: float = 0.1,
    *,
    hole_size: float | None = None,
    cell: str = "tri",
    order: int = 1,
) -> Any:
    """Quarter of a plate with a central circular hole, meshed with gmsh.

    The domain is ``[0, width] x [0, height]`` minus the disc of ``radius`` centred at
    the origin; ``"left"`` (x = 0) and ``"bottom"`` (y = 0) are the symmetry planes.

    Parameters
    ----------
    width, height : float
        Quarter-plate dimensions, both ``> radius``.
    radius : float
        Hole radius, ``> 0``.
    size : float
        Target element size away from the hole, ``> 0``.
    hole_size : float, optional
        Element size on the hole (default ``size``); sizes grade linearly between.
    cell : {"tri", "quad"}
        Triangles, or quadrilaterals (recombined, all-quad).
    order : {1, 2}
        Geometric order: 2 gives curved 6-node triangles / 9-node quadrilaterals that
        follow the hole.

    Returns
    -------
    skfem mesh
        ``MeshTri1``/``MeshQuad1`` (order 1) or ``MeshTri2``/``MeshQuad2`` (order 2) with
        boundaries ``"left"``, ``"bottom"``, ``"right"``, ``"top"`` and ``"hole"``.

    Examples
    --------
    >>> m = plate_with_hole(1.0, 1.0, 0.3, size=0.2)
    >>> sorted(m.boundaries)
    ['bottom', 'hole', 'left', 'right', 'top']
    """
    import gmsh

    for name, v in (("width", width), ("height", height), ("radius", radius), ("size", size)):
        if not (isinstance(v, int | float) and np.isfinite(v) and v > 0):
            raise ValueError(f"plate_with_hole: {name} must be a finite number > 0, got {v!r}")
    if radius >= min(width, height):
        raise ValueError(
            f"plate_with_hole: radius must be smaller than width and height, got "
            f"radius={radius}, width={width}, height={height}"
        )
    h_hole = size if hole_size is None else hole_size
    if not (isinstance(h_hole, int | float) and np.isfinite(h_hole) and h_hole > 0):
        raise ValueError(f"plate_with_hole: hole_size must be a number > 0, got {hole_size!r}")
    if cell not in _CELLS_2D:
        raise ValueError(f"plate_with_hole: cell must be one of {_CELLS_2D}, got {cell!r}")
    if order not in (1, 2):
        raise ValueError(f"plate_with_hole: order must be 1 or 2, got {order!r}")

    started = not gmsh.isInitialized()
    if started:
        gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("scalebridge_plate_with_hole")
        occ = gmsh.model.occ
        plate = occ.addRectangle(0.0, 0.0, 0.0, width, height)
        hole = occ.addDisk(0.0, 0.0, 0.0, radius, radius)
        occ.cut([(2, plate)], [(2, hole)])
        occ.synchronize()
        _tag_plate_curves(gmsh, width, height, radius, h_hole)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.option.setNumber("Mesh.MeshSizeMin", min(size, h_hole) / 4.0)
        if cell == "quad":
            gmsh.option.setNumber("Mesh.Algorithm", 8)
            gmsh.option.setNumber("Mesh.RecombineAll", 1)
            gmsh.option.setNumber("Mesh.SubdivisionAlgorithm", 1)
        gmsh.model.mesh.generate(2)
        if order == 2:
            gmsh.option.setNumber("Mesh.SecondOrderIncomplete", 0)
            gmsh.model.mesh.setOrder(2)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "plate.msh")
            gmsh.write(path)
            return read_mesh(path)
    finally:
        gmsh.model.remove()
        if started:
            gmsh.finalize()


def _tag_plate_curves(gmsh: Any, width: float, height: float, radius: float, h: float) -> None:
    """Physical groups for the quarter plate's curves (identified by their centre)."""
    tol = 1e-8 * max(width, height)
    names: dict[str, list[int]] = {n: [] for n in ("left", "bottom", "right", "top", "hole")}
    for _, tag in gmsh.model.getEntities(1):
        x, y, _ = gmsh.model.occ.getCenterOfMass(1, tag)
        if abs(x) < tol:
            names["left"].append(tag)
        elif abs(y) < tol:
            names["bottom"].append(tag)
        elif abs(x - width) < tol:
            names["right"].append(tag)
        elif abs(y - height) < tol:
            names["top"].append(tag)
        else:
            names["hole"].append(tag)
    for name, tags in names.items():
        gmsh.model.addPhysicalGroup(1, tags, name=name)
    gmsh.model.addPhysicalGroup(2, [t for _, t in gmsh.model.getEntities(2)], name="domain")
    hole_points = gmsh.model.getBoundary([(1, t) for t in names["hole"]], oriented=False)
    gmsh.model.mesh.setSize(hole_points, h)


def read_mesh(path: str | os.PathLike[str]) -> Any:
    """Read a mesh file with meshio into a scikit-fem mesh with named boundaries.

    The cells of highest dimension (triangles, quadrilaterals, tetrahedra or hexahedra,
    linear or quadratic) form the mesh; points they do not use are dropped.  Boundaries
    come from named facet cell sets (gmsh physical groups) and from the
    ``skfem:b:NAME`` cell data written by `write_mesh`; volume cell sets become
    subdomains.

    Parameters
    ----------
    path : str or os.PathLike
        Any format meshio reads (``.msh``, ``.vtu``, ``.xdmf``, ...).

    Returns
    -------
    skfem mesh

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_mesh(rectangle(n=(2, 2)), os.path.join(tmp, "m.vtu"))
    ...     sorted(read_mesh(os.path.join(tmp, "m.vtu")).boundaries)
    ['bottom', 'left', 'right', 'top']
    """
    import meshio

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"read_mesh: path {str(p)!r} is not an existing file")
    fmt = "gmsh" if p.suffix == ".msh" else None  # not ANSYS, which meshio tries first
    return mesh_from_meshio(meshio.read(p, file_format=fmt))


def write_mesh(mesh: Any, path: str | os.PathLike[str]) -> None:
    """Write a scikit-fem mesh with meshio; boundaries and subdomains travel as cell data.

    Use a format that keeps cell data (``.vtu``, ``.xdmf``); `read_mesh` reads it back.
    """
    import meshio
    from skfem.io.meshio import to_meshio

    m = to_meshio(mesh)
    if m.points.shape[1] == 2:  # VTK formats want 3D points; read_mesh drops z again
        m.points = np.hstack([m.points, np.zeros((len(m.points), 1))])
    meshio.write(str(path), m)


def mesh_from_meshio(m: Any) -> Any:
    """scikit-fem mesh (with boundaries and subdomains) from a `meshio.Mesh`.

    See `read_mesh` for what is read.
    """
    import skfem
    from skfem.io.meshio import INV_HEX_MAPPING

    kinds = [b.type for b in m.cells if b.type in _VOLUME]
    if not kinds:
        found = sorted({b.type for b in m.cells})
        raise ValueError(
            f"read_mesh: no supported volume cells in the mesh (found {found}); allowed: "
            f"{sorted(_VOLUME)}"
        )
    dim3 = [k for k in kinds if k.startswith(("tetra", "hexa"))]
    kind = (dim3 or kinds)[0]
    dim = 3 if dim3 else 2
    if len({k for k in kinds if (k in dim3) == bool(dim3)}) > 1:
        raise ValueError(
            f"read_mesh: mixed volume cell types {sorted(set(kinds))}; one type per mesh"
        )
    blocks = [i for i, b in enumerate(m.cells) if b.type == kind]
    cells = np.concatenate([m.cells[i].data for i in blocks]).astype(np.int64)
    used, local = np.unique(cells, return_inverse=True)
    points = np.asarray(m.points, dtype=float)[used, :dim]
    t = local.reshape(cells.shape)
    if kind.startswith("hexahedron"):  # meshio's node order -> skfem's
        t = t[:, INV_HEX_MAPPING[: t.shape[1]]]
    cls_name, nvert = _VOLUME[kind]
    mesh = getattr(skfem, cls_name)(np.ascontiguousarray(points.T), np.ascontiguousarray(t.T))
    # vertex numbering of the skfem mesh: high-order meshes renumber the vertices
    vertex_ids = np.unique(t[:, :nvert])
    to_vertex = np.full(used.size, -1, dtype=np.int64)
    to_vertex[vertex_ids] = np.arange(vertex_ids.size)
    old_to_vertex = np.full(len(m.points), -1, dtype=np.int64)
    old_to_vertex[used] = to_vertex

    boundaries: dict[str, NDArray[np.int64]] = {}
    subdomains: dict[str, NDArray[np.int64]] = {}
    facet_kinds = _FACETS_3D if dim == 3 else _FACETS_2D
    for name, per_block in m.cell_sets.items():
        if name.startswith("gmsh:"):
            continue
        facets: list[NDArray[np.int64]] = []
        elems: list[NDArray[np.int64]] = []
        offset = 0
        for block, ids in zip(m.cells, per_block, strict=False):
            ids = np.zeros(0, dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
            if block.type in facet_kinds and ids.size:
                nodes = block.data[ids, : facet_kinds[block.type]].astype(np.int64)
                facets.append(old_to_vertex[nodes])
            if block.type == kind:
                elems.append(offset + ids)
                offset += block.data.shape[0]
        if facets:
            boundaries[name] = _match_facets(mesh, np.concatenate(facets), name)
        if elems and np.concatenate(elems).size:
            subdomains[name] = np.concatenate(elems)
    for name, data in m.cell_data.items():
        parts = name.split(":")
        if parts[0] != "skfem" or len(parts) != 3:
            continue
        values = np.concatenate([data[i] for i in blocks]).astype(np.int64)
        if parts[1] == "b":
            mask = ((1 << np.arange(mesh.t2f.shape[0]))[:, None] & values[None, :]).astype(bool)
            boundaries[parts[2]] = np.unique(mesh.t2f[mask])
        elif parts[1] == "s":
            subdomains[parts[2]] = np.nonzero(values)[0]
    if boundaries:
        mesh = mesh.with_boundaries(boundaries)
    if subdomains:
        mesh = mesh.with_subdomains(subdomains)
    return mesh


def _match_facets(mesh: Any, nodes: NDArray[np.int64], name: str) -> NDArray[np.int64]:
    """Indices of ``mesh.facets`` given by their vertex lists ``(k, n_vertices)``."""
    if np.any(nodes < 0):
        raise ValueError(f"read_mesh: boundary {name!r} uses points that no cell uses")
    facets = np.sort(mesh.facets, axis=0).T
    both = np.vstack([facets, np.sort(nodes, axis=1)])
    _, inverse = np.unique(both, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    facet_of = np.full(inverse.max() + 1, -1, dtype=np.int64)
    facet_of[inverse[: len(facets)]] = np.arange(len(facets))
    found = facet_of[inverse[len(facets) :]]
    if np.any(found < 0):
        raise ValueError(
            f"read_mesh: {int(np.sum(found < 0))} facets of boundary {name!r} are not facets "
            "of the mesh"
        )
    return np.unique(found)
