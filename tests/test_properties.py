"""Property-based checks: every effective tensor is symmetric, positive definite,
between the Voigt and Reuss bounds, and satisfies Hill-Mandel at solver tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalebridge as sb
from scalebridge.materials import Conductivity, Elasticity

TOL = 1e-8

# One-voxel features carry a large discretisation error, and conforming elements
# overestimate the continuum tensor: a nearly isotropic random pixel cell can then sit
# just above the Hashin-Shtrikman upper bound (measured 0.3 %), which homogenize
# reports as a warning.  Voigt/Reuss hold for the discrete problem itself.
pytestmark = pytest.mark.filterwarnings("ignore:homogenize. effective tensor outside")

labels_2d = st.integers(0, 2**32 - 1).map(
    lambda seed: np.random.default_rng(seed).integers(0, 3, size=(12, 10))
)
modulus = st.floats(0.01, 100.0)
poisson = st.floats(-0.5, 0.45)


def check(res, contrast):
    T = res.tensor
    # symmetric to the CG tolerance amplified by the conditioning: measured 1e-9 at
    # contrast 10 and 1.07e-6 at contrast 4000 (tol 1e-8); allowed 10 * tol * contrast
    assert res.symmetry_error < max(1e-6, 10 * TOL * contrast)
    assert np.linalg.eigvalsh(0.5 * (T + T.T)).min() > 0.0
    assert res.bounds_check["voigt_reuss"] is True
    assert res.hill_mandel_residual < 1e-6


@settings(max_examples=15, deadline=None)
@given(labels=labels_2d, k=st.lists(modulus, min_size=3, max_size=3))
def test_conduction_tensor_properties(labels, k):
    ms = sb.Microstructure(labels, size=(1.2, 1.0))
    laws = {p: Conductivity(k=k[p]) for p in ms.phases}
    check(sb.homogenize(ms, laws, tol=TOL), max(k) / min(k))


@settings(max_examples=15, deadline=None)
@given(
    labels=labels_2d,
    E=st.lists(modulus, min_size=3, max_size=3),
    nu=st.lists(poisson, min_size=3, max_size=3),
)
def test_elastic_tensor_properties(labels, E, nu):
    ms = sb.Microstructure(labels, size=(1.0, 0.8))
    laws = {p: Elasticity(E=E[p], nu=nu[p]) for p in ms.phases}
    check(sb.homogenize(ms, laws, tol=TOL), max(E) / min(E))
