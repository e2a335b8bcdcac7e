"""Cell-problem vocabulary: boundary conditions and macroscopic loads.

Strings are accepted only at the API edge (`as_boundary_condition`); inside, the
solvers pass these typed objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class Periodic:
    """Periodic fluctuation: ``u = E x + u~``, ``u~`` periodic, tractions anti-periodic."""

    name: str = "periodic"


@dataclass(frozen=True)
class KUBC:
    """Kinematically uniform boundary conditions: ``u = E x`` on the cell boundary."""

    name: str = "kubc"


@dataclass(frozen=True)
class SUBC:
    """Statically uniform boundary conditions: ``t = Sigma n`` on the cell boundary."""

    name: str = "subc"


BoundaryCondition = Periodic | KUBC | SUBC
_BCS: dict[str, BoundaryCondition] = {"periodic": Periodic(), "kubc": KUBC(), "subc": SUBC()}


def as_boundary_condition(bc: str | BoundaryCondition) -> BoundaryCondition:
    """Turn ``"periodic" | "kubc" | "subc"`` (or a BC object) into a BC object."""
    if isinstance(bc, Periodic | KUBC | SUBC):
        return bc
    if isinstance(bc, str) and bc.lower() in _BCS:
        return _BCS[bc.lower()]
    raise ValueError(f"bc: {bc!r} is not one of {', '.join(map(repr, _BCS))}")


@dataclass(frozen=True)
class MacroLoad:
    """Macroscopic load of a cell problem, one value per component (Mandel order).

    ``mask[i]`` True prescribes component ``i`` of the mean strain (or gradient),
    False prescribes component ``i`` of the mean stress (or flux).  All True is
    strain control, all False stress control, anything else mixed control.

    Examples
    --------
    >>> MacroLoad.strain([1.0, 0.0, 0.0]).mask.tolist()
    [True, True, True]
    >>> MacroLoad.mixed(strain=[0.01, 0, 0], stress=[0, 0, 0], mask=[True, False, False]).values
    array([0.01, 0.  , 0.  ])
    """

    values: NDArray[np.float64]
    mask: NDArray[np.bool_] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        v = np.array(self.values, dtype=float).reshape(-1)
        if not np.all(np.isfinite(v)):
            raise ValueError(f"load: values must be finite, got {v.tolist()}")
        mask = np.ones(v.size, bool) if self.mask is None else np.array(self.mask, dtype=bool)
        if mask.shape != v.shape:
            raise ValueError(f"load: mask has {mask.size} entries but values have {v.size}")
        v.setflags(write=False)
        mask.setflags(write=False)
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "mask", mask)

    @classmethod
    def strain(cls, E: ArrayLike) -> MacroLoad:
        """Prescribed mean strain (Mandel) or mean gradient."""
        return cls(np.asarray(E, dtype=float))

    @classmethod
    def stress(cls, S: ArrayLike) -> MacroLoad:
        """Prescribed mean stress (Mandel) or mean flux."""
        S = np.asarray(S, dtype=float).reshape(-1)
        return cls(S, np.zeros(S.size, bool))

    @classmethod
    def mixed(cls, *, strain: ArrayLike, stress: ArrayLike, mask: ArrayLike) -> MacroLoad:
        """Strain components where ``mask`` is True, stress components elsewhere."""
        m = np.asarray(mask, dtype=bool).reshape(-1)
        e = np.asarray(strain, dtype=float).reshape(-1)
        s = np.asarray(stress, dtype=float).reshape(-1)
        if not (e.shape == s.shape == m.shape):
            raise ValueError(
                "load: strain, stress and mask need equal lengths, "
                f"got {e.size}, {s.size}, {m.size}"
            )
        return cls(np.where(m, e, s), m)

    @property
    def is_strain_controlled(self) -> bool:
        """True when every component is a prescribed strain/gradient."""
        return bool(self.mask.all())


def as_load(load: ArrayLike | MacroLoad, m: int, physics: str) -> MacroLoad:
    """Validate a load against the number of components ``m`` of the problem."""
    out = load if isinstance(load, MacroLoad) else MacroLoad.strain(np.asarray(load, dtype=float))
    if out.values.size != m:
        what = "Mandel strain components" if physics == "elasticity" else "gradient components"
        raise ValueError(f"load: expected {m} {what}, got {out.values.size} values")
    return out
