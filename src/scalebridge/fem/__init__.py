"""Macro finite elements on scikit-fem: small-strain solids with any constitutive law.

`SolidProblem` couples a mesh (`rectangle`, `box`, `plate_with_hole`, `read_mesh`) with a
`ConstitutiveLaw`; `SolidProblem.solve` steps the load with Newton–Raphson and the
consistent tangent, evaluating the law once per iteration on all quadrature points.

>>> from scalebridge.fem import SolidProblem, rectangle
>>> from scalebridge.materials import Elasticity
>>> problem = SolidProblem(rectangle(n=(2, 2)), Elasticity(E=1.0, nu=0.0))
>>> _ = problem.fix("left", [0]).fix("bottom", [1]).prescribe("right", 0, 0.01)
>>> result = problem.solve(steps=2)
>>> (result.reaction("right")[-1].round(12) + 0.0).tolist()
[0.01, 0.0]
"""

from __future__ import annotations

from scalebridge.fem.finite_strain import FiniteStrainProblem
from scalebridge.fem.mesh import (
    box,
    mesh_from_meshio,
    plate_with_hole,
    read_mesh,
    rectangle,
    write_mesh,
)
from scalebridge.fem.output import VtkWriter, write_vtk
from scalebridge.fem.solid import (
    Assembler,
    Increment,
    RejectedIncrement,
    SolidProblem,
    SolidResult,
    SolidState,
)

__all__ = [
    "Assembler",
    "FiniteStrainProblem",
    "Increment",
    "RejectedIncrement",
    "SolidProblem",
    "SolidResult",
    "SolidState",
    "VtkWriter",
    "box",
    "mesh_from_meshio",
    "plate_with_hole",
    "read_mesh",
    "rectangle",
    "write_mesh",
    "write_vtk",
]
