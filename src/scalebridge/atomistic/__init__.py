"""Atomistic scale: lattices, pair potentials, Cauchy-Born, quasicontinuum, bridging.

>>> from scalebridge.atomistic import CauchyBorn, Harmonic, triangular
>>> law = CauchyBorn(triangular(1.0), Harmonic(k=1.0, r0=1.0))
>>> law.physics, law.evaluate([1.0, 0.0, 0.0, 1.0])[1].shape
('finite-strain', (4, 4))
"""

from scalebridge.atomistic.ase_adapter import ASECauchyBorn
from scalebridge.atomistic.bridging import Handshake, bridging_domain, relax_bridging, simulate
from scalebridge.atomistic.cauchy_born import CauchyBorn, StabilityResult, relax_lattice_constant
from scalebridge.atomistic.chain import (
    Crystal,
    Loading,
    linear_chain,
    relax_crystal,
    triangular_patch,
)
from scalebridge.atomistic.hierarchical import (
    CBDatabase,
    MacroComparison,
    OutOfRangeError,
    OutOfRangeWarning,
    PolynomialSurrogate,
    StrainBox,
    build_database,
    compare_macro,
    fit_surrogate,
    load_database,
    save_database,
    strain_box,
    stretched_sheet,
)
from scalebridge.atomistic.lattice import Lattice, bcc, chain, diamond, fcc, hcp, triangular
from scalebridge.atomistic.neighbours import (
    NeighbourList,
    energy_forces,
    hessian,
    neighbour_list,
    virial_stress,
)
from scalebridge.atomistic.potentials import Harmonic, LennardJones, Morse, PairPotential
from scalebridge.atomistic.qc import adapt_qc, patch_test, quasicontinuum, relax_qc

__all__ = [
    "ASECauchyBorn",
    "CBDatabase",
    "CauchyBorn",
    "Crystal",
    "Handshake",
    "Harmonic",
    "Lattice",
    "LennardJones",
    "Loading",
    "MacroComparison",
    "Morse",
    "NeighbourList",
    "OutOfRangeError",
    "OutOfRangeWarning",
    "PairPotential",
    "PolynomialSurrogate",
    "StabilityResult",
    "StrainBox",
    "adapt_qc",
    "bcc",
    "bridging_domain",
    "build_database",
    "chain",
    "compare_macro",
    "diamond",
    "energy_forces",
    "fcc",
    "fit_surrogate",
    "hcp",
    "hessian",
    "linear_chain",
    "load_database",
    "neighbour_list",
    "patch_test",
    "quasicontinuum",
    "relax_bridging",
    "relax_crystal",
    "relax_lattice_constant",
    "relax_qc",
    "save_database",
    "simulate",
    "strain_box",
    "stretched_sheet",
    "triangular",
    "triangular_patch",
    "virial_stress",
]
