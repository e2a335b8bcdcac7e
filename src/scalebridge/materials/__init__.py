"""Constitutive laws: the `ConstitutiveLaw` protocol, the linear `Conductivity` and
`Elasticity` laws and the nonlinear `PowerLawConductor`, `J2Plasticity` and `NeoHookean`.

>>> from scalebridge.materials import Conductivity, as_phase_map
>>> as_phase_map([Conductivity(k=1.0), Conductivity(k=10.0)])
{0: Conductivity(k=1.0), 1: Conductivity(k=10.0)}
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

from scalebridge.materials.base import ConstitutiveLaw
from scalebridge.materials.conductivity import Conductivity
from scalebridge.materials.elasticity import Elasticity
from scalebridge.materials.hyperelastic import NeoHookean
from scalebridge.materials.plasticity import J2Plasticity
from scalebridge.materials.power_law import PowerLawConductor

__all__ = [
    "Conductivity",
    "ConstitutiveLaw",
    "Elasticity",
    "J2Plasticity",
    "NeoHookean",
    "PowerLawConductor",
    "as_phase_map",
]


def as_phase_map(
    materials: Mapping[int, ConstitutiveLaw] | Sequence[ConstitutiveLaw],
) -> dict[int, ConstitutiveLaw]:
    """Phase map ``{label: law}`` from a mapping or a sequence (``{index: law}``).

    Labels must be non-negative integers, values must satisfy `ConstitutiveLaw`, and all
    laws must share one ``physics``.

    Examples
    --------
    >>> as_phase_map({2: Conductivity(k=1.0)})
    {2: Conductivity(k=1.0)}
    """
    if isinstance(materials, Mapping):
        items = list(materials.items())
    elif isinstance(materials, Sequence) and not isinstance(materials, str | bytes):
        items = list(enumerate(materials))
    else:
        raise ValueError(
            f"materials: expected a mapping {{label: law}} or a sequence of laws, "
            f"got {type(materials).__name__}"
        )
    if not items:
        raise ValueError("materials: empty; give at least one {label: law}")
    out: dict[int, ConstitutiveLaw] = {}
    for key, law in items:
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) or key < 0:
            raise ValueError(f"materials: labels must be non-negative integers, got {key!r}")
        if not isinstance(law, ConstitutiveLaw):
            raise ValueError(
                f"materials: phase {key!r} is {law!r}, which is not a constitutive law "
                "(needs .physics and .evaluate(gradient, state))"
            )
        out[int(key)] = law
    physics = {k: law.physics for k, law in out.items()}
    if len(set(physics.values())) > 1:
        raise ValueError(f"materials: mixed physics {physics}")
    return out
