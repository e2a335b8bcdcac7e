"""What every surrogate law shares: the constitutive protocol and its sampled range.

A surrogate is an immutable small-strain law (``physics = "elasticity"``, no state): the
macro solver calls ``evaluate(strain, None) -> (stress, tangent, None)`` on Mandel
strains ``(..., m)`` exactly as it calls `J2Plasticity` or `RVELaw`.  Every evaluation
is checked against the `LoadBox` the database sampled: points outside are reported as
the ``out_of_range`` policy says (``"warn"``, ``"raise"`` or ``"ignore"``), never
silently extrapolated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalebridge.coupling.surrogate.sampling import LoadBox, check_in_range, check_policy
from scalebridge.materials.base import FrozenLaw

Array = NDArray[np.float64]

__all__ = ["SurrogateLaw"]


class SurrogateLaw(FrozenLaw):
    """Base of the surrogate laws: range checks and shape handling.

    Attributes
    ----------
    box : LoadBox
        The sampled range.
    out_of_range : {"warn", "raise", "ignore"}
    margin : float
        Tolerance on the box, as a fraction of its edge lengths.
    identity : str
        Identity (provenance hash) of the database it was fitted to.
    fit_error : dict of str to float
        Errors on the held-out paths (see `scalebridge.coupling.surrogate.validation`).
    """

    __slots__ = ("box", "fit_error", "identity", "margin", "out_of_range")
    physics = "elasticity"
    has_state = False

    def _init_range(
        self,
        box: LoadBox,
        out_of_range: str,
        margin: float,
        identity: str,
        fit_error: dict[str, float] | None,
    ) -> None:
        who = type(self).__name__
        check_policy(who, out_of_range)
        if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
            raise ValueError(f"{who}: margin must be a finite number >= 0, got {margin!r}")
        self._set("box", box)
        self._set("out_of_range", out_of_range)
        self._set("margin", float(margin))
        self._set("identity", str(identity))
        self._set("fit_error", dict(fit_error or {}))

    @property
    def m(self) -> int:
        """Mandel components of the strain."""
        return self.box.m

    def in_range(self, strain: ArrayLike) -> NDArray[np.bool_]:
        """Mask ``(n,)`` of the strains inside the sampled box (with the margin)."""
        return self.box.contains(strain, self.margin)

    def _points(self, strain: ArrayLike) -> tuple[Array, tuple[int, ...]]:
        """Flattened strains ``(n, m)`` and the batch shape; reports points out of range."""
        x = np.asarray(strain, dtype=float)
        if x.ndim == 0 or x.shape[-1] != self.m:
            raise ValueError(
                f"{type(self).__name__}: strain must be Mandel (..., {self.m}), got shape {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{type(self).__name__}: strain must be finite")
        flat = x.reshape(-1, self.m)
        if self.out_of_range != "ignore":
            c = self.box.to_coordinates(flat)
            inside = self.box.contains(flat, self.margin)
            check_in_range(
                inside,
                self.out_of_range,
                who=type(self).__name__,
                region=self.box.describe(),
                coordinates=c,
                stacklevel=4,
            )
        return flat, x.shape[:-1]

    def replace(self, **changes: Any) -> SurrogateLaw:
        """A copy with other ``out_of_range``, ``margin`` or ``fit_error`` (same fit)."""
        allowed = {"out_of_range", "margin", "fit_error"}
        bad = sorted(set(changes) - allowed)
        if bad:
            raise ValueError(f"replace: only {sorted(allowed)} can change, got {bad}")
        new = object.__new__(type(self))
        new.__setstate__(self.__getstate__())
        check_policy(type(self).__name__, changes.get("out_of_range", self.out_of_range))
        for k, v in changes.items():
            object.__setattr__(new, k, float(v) if k == "margin" else v)
        if "fit_error" in changes:
            object.__setattr__(new, "fit_error", dict(changes["fit_error"]))
        return new
