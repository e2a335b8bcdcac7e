"""FE-HMM micro problems: the effective tensor of one sampling domain.

On a sampling domain ``I_delta`` discretised by ``n^d`` voxels (one coefficient value per
voxel, the same voxel Q1 discretisation as `scalebridge.cell`), solve for each unit
gradient ``e_j``

    -div( a (e_j + grad w_j) ) = 0 in I_delta,
    w_j periodic on I_delta          (periodic coupling), or
    w_j = 0 on the boundary of I_delta (Dirichlet coupling, KUBC),

and return ``A = <a (I + grad w)>`` (mean flux; symmetric part).  The stiffness is
assembled once from ``d^2`` reference element matrices (vectorised over voxels) and
factorised once for the ``d`` right-hand sides: about 1 ms for ``16^2`` voxels, where a
general cell solver set up per sampling domain costs 10 ms (per-phase element matrices).
In 1D both couplings give the harmonic mean of the voxel values exactly.

`micro_tensors` is module-level with JSON parameters so that `scalebridge.parallel.run_tasks`
can ship a chunk of sampling domains to any executor.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import NDArray

from scalebridge.cell.problem import KUBC, Periodic

Array = NDArray[np.float64]
COUPLINGS: dict[str, Periodic | KUBC] = {
    "periodic": Periodic(),
    "dirichlet": KUBC(),
    "kubc": KUBC(),
}


def as_coupling(coupling: str | Periodic | KUBC) -> Periodic | KUBC:
    """``"periodic"`` or ``"dirichlet"`` (alias ``"kubc"``) as a boundary-condition object."""
    if isinstance(coupling, Periodic | KUBC):
        return coupling
    if isinstance(coupling, str) and coupling.lower() in COUPLINGS:
        return COUPLINGS[coupling.lower()]
    raise ValueError(f"coupling: {coupling!r} is not one of 'periodic', 'dirichlet' (alias 'kubc')")


@lru_cache(maxsize=8)
def _reference(d: int) -> tuple[Array, Array]:
    """Q1 gradient tables ``B (nq, d, 2^d)`` on the unit voxel and weights ``(nq,)``.

    2-point Gauss per axis: exact for the (bilinear) Q1 stiffness with a constant
    coefficient per voxel.
    """
    g = np.array([0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0)])
    corners = np.array(list(itertools.product((0, 1), repeat=d)), dtype=float)  # (2^d, d)
    qps = np.array(list(itertools.product(g, repeat=d)))  # (nq, d)
    B = np.empty((len(qps), d, len(corners)))
    for q, x in enumerate(qps):
        hat = np.where(corners == 1, x, 1.0 - x)  # (2^d, d): 1D hat values per axis
        for k in range(d):
            dhat = hat.copy()
            dhat[:, k] = np.where(corners[:, k] == 1, 1.0, -1.0)
            B[q, k] = dhat.prod(axis=1)
    return B, np.full(len(qps), 1.0 / len(qps))


def _connectivity(n: int, d: int, periodic: bool) -> tuple[NDArray[np.int64], int]:
    """Voxel-to-node table ``(n^d, 2^d)`` and the node count."""
    m = n if periodic else n + 1
    idx = np.indices((n,) * d).reshape(d, -1)  # (d, ne)
    conn = []
    for corner in itertools.product((0, 1), repeat=d):
        c = idx + np.array(corner)[:, None]
        if periodic:
            c = c % n
        conn.append(np.ravel_multi_index(tuple(c), (m,) * d))
    return np.array(conn).T, m**d


def _as_matrices(values: Array, d: int) -> Array:
    """Voxel values ``(n^d,)`` (scalar) or ``(d, d, n^d)`` as matrices ``(n^d, d, d)``."""
    if values.ndim == 1:
        return values[:, None, None] * np.eye(d)
    return np.moveaxis(values, -1, 0)


def micro_tensor(values: Array, coupling: Periodic | KUBC, d: int) -> Array:
    """Effective ``(d, d)`` tensor of one sampling domain.

    Parameters
    ----------
    values : ndarray
        The coefficient per voxel, C order: ``(n,)*d`` (scalar) or ``(d, d, *(n,)*d)``.
    coupling : Periodic or KUBC
    d : int

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.tile([1.0, 4.0], (8, 4))            # laminate: layers normal to axis 2
    >>> A = micro_tensor(lam, Periodic(), 2)
    >>> bool(np.allclose(np.diag(A), [2.5, 1.6]))   # arithmetic, harmonic means
    True
    """
    v = np.asarray(values, dtype=float)
    n = v.shape[-1]
    v = v.reshape(-1) if v.ndim == d else v.reshape(d, d, -1)
    if np.any(~np.isfinite(v)):
        raise ValueError("coefficient: non-finite values in a sampling domain")
    if d == 1:
        if np.any(v <= 0):
            raise ValueError("coefficient: a(x) must be positive")
        return np.array([[1.0 / np.mean(1.0 / v.reshape(-1))]])
    A = _as_matrices(v, d)  # (ne, d, d)
    B, w = _reference(d)
    h = 1.0 / n  # the tensor does not depend on the domain's size
    Bh = B / h
    vol = h**d
    # element matrices K_e = sum_q w_q vol Bh_q^T A_e Bh_q ; loads f_e^j = -sum_q ... A_e e_j
    Ke = np.einsum("q,qia,eij,qjb->eab", w * vol, Bh, A, Bh)
    Fe = -np.einsum("q,qia,eij->eja", w * vol, Bh, A)  # (ne, j, 2^d)
    periodic = isinstance(coupling, Periodic)
    conn, nn = _connectivity(n, d, periodic)
    nloc = conn.shape[1]
    rows = np.repeat(conn, nloc, axis=1).reshape(-1)
    cols = np.tile(conn, (1, nloc)).reshape(-1)
    K = sp.csr_matrix((Ke.reshape(-1), (rows, cols)), shape=(nn, nn))
    F = np.zeros((nn, d))
    for j in range(d):
        np.add.at(F[:, j], conn.reshape(-1), Fe[:, j].reshape(-1))
    if periodic:
        free = np.arange(1, nn)  # pin one node: the constant is the null space
    else:
        nodes = np.indices((n + 1,) * d).reshape(d, -1)
        free = np.flatnonzero(np.all((nodes > 0) & (nodes < n), axis=0))
    W = np.zeros((nn, d))
    if free.size:
        lu = spla.splu(K[free][:, free].tocsc())
        W[free] = lu.solve(np.ascontiguousarray(F[free]))
    # mean flux: <A (e_j + grad w_j)>
    grad_w = np.einsum("qia,eaj->eqij", Bh, W[conn])  # (ne, nq, d, j)
    flux = np.einsum("q,eik,eqkj->ij", w, A, np.eye(d)[None, None] + grad_w) / A.shape[0]
    return 0.5 * (flux + flux.T)


def micro_tensors(values: list[Any], coupling: str, ndim: int) -> dict[str, Any]:
    """Task function for `run_tasks`: the tensors of a chunk of sampling domains.

    ``values`` is a list of per-voxel arrays (as nested lists); returns
    ``{"tensors": [A_1, A_2, ...]}`` with each ``A`` a ``(d, d)`` nested list.
    """
    bc = as_coupling(coupling)
    return {"tensors": [micro_tensor(np.asarray(v), bc, ndim).tolist() for v in values]}
