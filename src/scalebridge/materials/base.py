"""The `ConstitutiveLaw` protocol and validation helpers shared by the laws."""

from __future__ import annotations

import numbers
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

SYMMETRY_RTOL = 1e-12
"""Relative Frobenius asymmetry ``|A - A^T| / |A|`` accepted in a material matrix."""

DEFINITENESS_RTOL = 1e-12
"""A matrix is positive definite when ``min eig > DEFINITENESS_RTOL * max eig``."""


@runtime_checkable
class ConstitutiveLaw(Protocol):
    """A pointwise law ``gradient -> (flux, tangent, new_state)``, vectorised over points.

    ``physics`` is ``"conduction"`` (gradient: temperature gradient ``(..., d)``),
    ``"elasticity"`` (gradient: Mandel strain ``(..., 3)`` in 2D plane strain or
    ``(..., 6)`` in 3D; flux: Mandel stress) or ``"finite-strain"`` (gradient: deformation
    gradient ``F`` flattened row-major, ``(..., 4)`` plane strain or ``(..., 9)`` 3D; flux:
    first Piola-Kirchhoff stress ``P`` in the same layout; tangent ``dP/dF``).  A phase in a
    voxel, an RVE at a macro point or a surrogate all answer the same call; the state is
    returned, never mutated.

    The tangent is ``dflux/dgradient`` (for a path-dependent law, the consistent algorithmic
    tangent of the update from the given state), ``(..., m, m)`` or a single ``(m, m)`` that
    broadcasts over the points; callers must accept both.

    Notes
    -----
    State (optional attributes, not part of the runtime check): ``has_state`` (class
    attribute, absent means False) tells whether the law carries history.  A law with
    ``has_state = True`` also has ``initial_state(shape, m)``, the virgin state for points
    of ``shape`` and flux size ``m``, and accepts ``state=None`` as that virgin state.
    ``evaluate(gradient, state)`` takes the state committed at the end of the last converged
    increment and returns the trial ``new_state`` for ``gradient``; the caller keeps the
    committed state through the iterations of an increment and replaces it with
    ``new_state`` once converged.  Stateless laws return ``None``.
    """

    @property
    def physics(self) -> str:
        """``"conduction"``, ``"elasticity"`` or ``"finite-strain"``."""
        ...

    def evaluate(
        self, gradient: NDArray[np.float64], state: object | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], object | None]:
        """Flux ``(..., m)``, tangent ``(m, m)`` (broadcastable to ``(..., m, m)``), new state."""
        ...


def real_scalar(owner: str, name: str, value: object) -> float | None:
    """``float(value)`` for a real (numpy) scalar or 0-d array, None for anything else.

    Raises for booleans and for NaN/inf, naming ``owner: name`` and the value.
    """
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{owner}: {name} must be a real number, got {value!r}")
    if isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0):
        x = float(value)  # type: ignore[arg-type]
        if not np.isfinite(x):
            raise ValueError(f"{owner}: {name} must be finite, got {x}")
        return x
    return None


def spd_matrix(owner: str, name: str, value: object, sizes: tuple[int, ...], allowed: str) -> Array:
    """Validated read-only copy of a symmetric matrix that is positive definite or all zero.

    ``allowed`` completes the error messages ("what is allowed").
    """
    try:
        A = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}") from None
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] not in sizes:
        raise ValueError(f"{owner}: {name} must be {allowed}, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{owner}: {name} must be finite, got {A.tolist()}")
    norm = np.linalg.norm(A)
    if norm == 0.0:
        A.setflags(write=False)
        return A
    asym = np.linalg.norm(A - A.T) / norm
    if asym > SYMMETRY_RTOL:
        raise ValueError(
            f"{owner}: {name} must be symmetric (relative asymmetry <= {SYMMETRY_RTOL:g}), "
            f"got asymmetry {asym:.3e} in {A.tolist()}"
        )
    A = 0.5 * (A + A.T)
    eig = np.linalg.eigvalsh(A)
    if not eig[0] > DEFINITENESS_RTOL * eig[-1]:
        raise ValueError(
            f"{owner}: {name} must be positive definite, or all zero for a pore; got "
            f"eigenvalues {np.array2string(eig, precision=6)} (a singular or indefinite "
            "non-zero matrix is not allowed)"
        )
    A.setflags(write=False)
    return A


def format_value(value: float | Array) -> str:
    """Short repr of a scalar or matrix parameter."""
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ", precision=6).replace("\n", "")
    return repr(value)


class FrozenLaw:
    """Base for immutable laws: attributes are set once in ``__init__``."""

    __slots__ = ()

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; create a new law instead")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _set(self, key: str, value: object) -> None:
        object.__setattr__(self, key, value)

    # laws travel to worker processes (FE², parallel studies): pickle the slots
    def __getstate__(self) -> dict[str, object]:
        names = (n for c in type(self).__mro__ for n in getattr(c, "__slots__", ()))
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def __setstate__(self, state: dict[str, object]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
