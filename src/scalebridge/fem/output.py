"""VTK output of a solid's increments: one ``.vtu`` per step and a ``.pvd`` time series.

Point data: ``displacement`` (vertex values, padded to 3 components).  Cell data
(quadrature-point values averaged per element with their weights): ``strain`` and
``stress`` (Mandel components, ``[11, 22, sqrt2 12]`` in 2D,
``[11, 22, 33, sqrt2 23, sqrt2 13, sqrt2 12]`` in 3D) and every array of the law's state,
for example ``equivalent_plastic_strain`` and ``plastic_strain``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scalebridge.fem.solid import SolidProblem, SolidState

Array = NDArray[np.float64]
_VTK_CELL = {"RefTri": "triangle", "RefQuad": "quad", "RefTet": "tetra", "RefHex": "hexahedron"}


def element_average(problem: SolidProblem, values: Array) -> Array:
    """Weighted mean over each element's quadrature points: ``(n_points, ...) -> (n_el, k)``.

    Examples
    --------
    >>> from scalebridge.fem import SolidProblem, rectangle
    >>> from scalebridge.materials import Elasticity
    >>> p = SolidProblem(rectangle(n=(2, 1)), Elasticity(E=1.0, nu=0.0))
    >>> element_average(p, p.points[:, 0]).ravel().round(12).tolist()
    [0.25, 0.75]
    """
    dx = problem.assembler.dx
    v = np.asarray(values, dtype=float).reshape((*dx.shape, -1))
    return np.einsum("eqk,eq->ek", v, dx) / dx.sum(axis=1)[:, None]


def to_meshio(problem: SolidProblem, solution: SolidState) -> Any:
    """`meshio.Mesh` of the (linear) cells with the fields of ``solution``."""
    import meshio
    from skfem.io.meshio import HEX_MAPPING

    mesh = problem.mesh
    ref = mesh.refdom.__name__
    cells = np.asarray(mesh.t).T
    if ref == "RefHex":
        cells = cells[:, HEX_MAPPING[:8]]
    nv = int(mesh.nvertices)
    points = np.zeros((nv, 3))
    points[:, : problem.dim] = np.asarray(mesh.p)[:, :nv].T
    u = np.zeros((nv, 3))
    u[:, : problem.dim] = solution.displacement[problem.basis.nodal_dofs].T
    fields: dict[str, Array] = {}
    strain = getattr(solution, "strain", None)
    if strain is None:
        strain = problem.assembler.strain(np.asarray(solution.displacement, dtype=float))
    fields["strain"] = strain
    stress = getattr(solution, "stress", None)
    if stress is not None:
        fields["stress"] = stress
    fields.update(solution.state or {})
    cell_data = {}
    for key, arr in fields.items():
        avg = element_average(problem, arr)
        cell_data[key] = [avg[:, 0] if avg.shape[1] == 1 else avg]
    return meshio.Mesh(
        points, [(_VTK_CELL[ref], cells)], point_data={"displacement": u}, cell_data=cell_data
    )


def write_vtk(path: str | os.PathLike[str], problem: SolidProblem, solution: SolidState) -> Path:
    """Write one solution (an `Increment` or a `SolidState`) as a VTK file.

    Examples
    --------
    >>> import tempfile, os, meshio
    >>> from scalebridge.fem import SolidProblem, rectangle
    >>> from scalebridge.materials import Elasticity
    >>> p = SolidProblem(rectangle(n=(2, 1)), Elasticity(E=1.0, nu=0.0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     f = write_vtk(os.path.join(tmp, "s.vtu"), p, p.initial_state())
    ...     sorted(meshio.read(f).point_data)
    ['displacement']
    """
    import meshio

    path = Path(path)
    meshio.write(path, to_meshio(problem, solution))
    return path


class VtkWriter:
    """Writes ``PREFIX_NNNN.vtu`` per step into a folder and keeps ``PREFIX.pvd`` current.

    The ``.pvd`` collection (time = step number) opens as a time series in ParaView.  On
    a restart (``first_step > 1``) the entries of earlier steps already listed there
    are kept.

    Parameters
    ----------
    directory : str or os.PathLike
        Output folder (created).
    problem : SolidProblem
    first_step : int
        Step number of the first file this writer will write.
    prefix : str
        File name prefix.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        problem: SolidProblem,
        first_step: int = 1,
        prefix: str = "solution",
    ) -> None:
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"output_dir: {str(self.directory)!r} exists and is not a folder")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.problem = problem
        self.prefix = prefix
        self.pvd = self.directory / f"{prefix}.pvd"
        self.entries: list[tuple[int, str]] = []
        if self.pvd.is_file() and first_step > 1:
            root = ET.parse(self.pvd).getroot()
            for ds in root.iter("DataSet"):
                step = int(float(ds.get("timestep", "0")))
                if step < first_step:
                    self.entries.append((step, ds.get("file", "")))

    def write(self, solution: SolidState) -> Path:
        """Write ``solution`` (its ``step`` names the file) and update the ``.pvd``."""
        name = f"{self.prefix}_{solution.step:04d}.vtu"
        path = write_vtk(self.directory / name, self.problem, solution)
        self.entries = [e for e in self.entries if e[0] != solution.step]
        self.entries.append((solution.step, name))
        root = ET.Element("VTKFile", type="Collection", version="0.1")
        coll = ET.SubElement(root, "Collection")
        for step, file in sorted(self.entries):
            ET.SubElement(coll, "DataSet", timestep=str(step), part="0", file=file)
        ET.indent(root)
        ET.ElementTree(root).write(self.pvd, xml_declaration=True, encoding="utf-8")
        return path
