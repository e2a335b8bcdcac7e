"""The condensed macro tangent equals the tensor of the unit load cases."""

from __future__ import annotations

import numpy as np
import pytest

import scalebridge as sb
from scalebridge.cell.setup import make_solver
from scalebridge.materials import Conductivity, Elasticity


@pytest.mark.parametrize("bc", ["kubc", "periodic", "subc"])
@pytest.mark.parametrize("linear_solver", ["direct", "amg"])
@pytest.mark.parametrize("physics", ["conduction", "elasticity"])
def test_condensed_tangent_equals_unit_load_tensor(bc, linear_solver, physics):
    ms = sb.microstructure.random_inclusions((20, 20), volume_fraction=0.3, radius=0.1, seed=2)
    if physics == "elasticity":
        laws = {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=10.0, nu=0.2)}
    else:
        laws = {0: Conductivity(k=1.0), 1: Conductivity(k=10.0)}
    kw = {"bc": bc, "solver": "fe", "tol": 1e-11, "linear_solver": linear_solver}
    C = make_solver(ms, laws, **kw).condensed_tangent()
    R = sb.homogenize(ms, laws, **kw).tensor
    # measured agreement 1e-14..5e-14 (round-off; CG tol 1e-11 for AMG)
    assert np.abs(C - R).max() <= 1e-9 * np.abs(R).max()
    # condensation is symmetric by construction (A^T K A - B^T (T^T K T)^-1 B)
    if bc != "subc":
        assert np.abs(C - C.T).max() <= 1e-9 * np.abs(C).max()
