"""`apparent_tensors`: the three boundary conditions in one call, with the ordering."""

from __future__ import annotations

import numpy as np
import pytest

import scalebridge as sb
from scalebridge.materials import Conductivity, Elasticity


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ordering_holds_on_random_cells(seed):
    ms = sb.microstructure.random_inclusions((20, 20), volume_fraction=0.3, radius=0.1, seed=seed)
    laws = {0: Elasticity(E=1.0, nu=0.3), 1: Elasticity(E=20.0, nu=0.25)}
    res = sb.apparent_tensors(ms, laws, tol=1e-10)
    assert set(res.ordering) == {"reuss<=subc", "subc<=periodic", "periodic<=kubc", "kubc<=voigt"}
    assert all(res.ordering.values())  # the theorem
    assert max(res.hill_mandel.values()) < 1e-9
    assert res.spread is not None and res.spread > 0.0


def test_spread_shrinks_as_the_cell_grows():
    """Same inclusions (radius 4 voxels, 25 %), cells of 16, 32 and 64 voxels."""
    laws = {0: Conductivity(k=1.0), 1: Conductivity(k=20.0)}
    spreads = []
    for n in (16, 32, 64):
        ms = sb.microstructure.random_inclusions(
            (n, n), volume_fraction=0.25, radius=4.0 / n, seed=5
        )
        spreads.append(sb.apparent_tensors(ms, laws, tol=1e-10).spread)
    # measured 0.70, 0.61, 0.22: the KUBC-SUBC gap closes as the cell becomes representative
    assert spreads[0] > spreads[1] > spreads[2]


def test_subset_and_bad_bcs():
    ms = sb.microstructure.sphere((12, 12), volume_fraction=0.2)
    laws = {0: Conductivity(k=1.0), 1: Conductivity(k=5.0)}
    res = sb.apparent_tensors(ms, laws, bcs=["kubc", "subc"])
    assert list(res.results) == ["subc", "kubc"] and res.spread is None
    assert res.ordering == {"reuss<=subc": True, "subc<=kubc": True, "kubc<=voigt": True}
    assert np.isfinite(res.to_dict()["apparent"]["kubc"]["tensor"]).all()
    with pytest.raises(ValueError, match=r"bcs: .* must be a non-empty subset"):
        sb.apparent_tensors(ms, laws, bcs=["dirichlet"])
    with pytest.raises(ValueError, match="bcs: "):
        sb.apparent_tensors(ms, laws, bcs=[])
