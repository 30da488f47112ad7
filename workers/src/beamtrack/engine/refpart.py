"""The reference particle (ImpactX's RefPart): global coordinates and energy of the design orbit.

Units: s, x, y, z [m]; t = c * time [m]; px, py, pz = p / (m c) [1] (ImpactX: momenta of the
reference particle are normalised by m c); pt = -gamma [1]; mass_MeV [MeV/c^2]; charge_qe [e].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from beamtrack.spec import SPECIES

from . import constants


class ReferenceEnergyError(ValueError):
    """The reference particle has no (or an unphysical) kinetic energy."""


@dataclass
class RefPart:
    """Reference particle state; ``pt = -gamma`` (ImpactX convention)."""

    s: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    t: float = 0.0
    px: float = 0.0
    py: float = 0.0
    pz: float = 0.0
    pt: float = -1.0
    mass_MeV: float = constants.me_MeV
    charge_qe: float = -1.0
    #: gyromagnetic anomaly G = (g - 2) / 2 [1] (spin tracking); set_species sets it, set_mass_MeV does not
    gyromagnetic_anomaly: float = constants.GYROMAGNETIC_ANOMALY["electron"]
    #: s at the entry of the current element [m] (set by the tracking loop)
    sedge: float = field(default=0.0, repr=False)

    # --- ImpactX-style setters (chainable) ---------------------------------------------------
    def set_species(self, name: str) -> RefPart:
        """Set mass, charge and gyromagnetic anomaly from a species name: electron, positron, proton, Hminus."""
        try:
            self.mass_MeV, self.charge_qe = SPECIES[name]
        except KeyError:
            raise ValueError(f"unknown species {name!r}; known: {', '.join(SPECIES)}") from None
        self.gyromagnetic_anomaly = constants.GYROMAGNETIC_ANOMALY[name]
        return self

    def set_gyromagnetic_anomaly(self, gyromagnetic_anomaly: float) -> RefPart:
        """Set the gyromagnetic anomaly G [1] (ImpactX's, for spin tracking)."""
        self.gyromagnetic_anomaly = float(gyromagnetic_anomaly)
        return self

    def set_mass_MeV(self, mass_MeV: float) -> RefPart:
        self.mass_MeV = float(mass_MeV)
        return self

    def set_charge_qe(self, charge_qe: float) -> RefPart:
        self.charge_qe = float(charge_qe)
        return self

    def set_kin_energy_MeV(self, kin_energy_MeV: float) -> RefPart:
        """Set the kinetic energy [MeV] (> 0); the reference moves along +z."""
        if not kin_energy_MeV > 0.0:
            raise ReferenceEnergyError(
                f"kin_energy_MeV must be > 0 (the reference particle must move), not {kin_energy_MeV}"
            )
        gamma = 1.0 + kin_energy_MeV / self.mass_MeV
        self.pt = -gamma
        self.px = self.py = 0.0
        self.pz = math.sqrt(gamma * gamma - 1.0)
        return self

    def check_energy(self) -> None:
        """Raise ReferenceEnergyError when the reference is at rest (beta gamma = 0): maps and the
        reference push divide by it."""
        if not self.pt * self.pt - 1.0 > 0.0:
            raise ReferenceEnergyError(
                f"the reference particle has no kinetic energy (kin_energy_MeV = {self.kin_energy_MeV:g}); "
                "set it with sim.reference.set_kin_energy_MeV(...) before tracking or computing optics"
            )

    # --- derived quantities ------------------------------------------------------------------
    @property
    def gamma(self) -> float:
        return -self.pt

    @property
    def beta_gamma(self) -> float:
        return math.sqrt(self.pt * self.pt - 1.0)

    @property
    def beta(self) -> float:
        return self.beta_gamma / self.gamma

    @property
    def kin_energy_MeV(self) -> float:
        return self.mass_MeV * (self.gamma - 1.0)

    @property
    def mass(self) -> float:
        """Rest mass [kg]."""
        return self.mass_MeV / constants.MeV_per_kg

    @property
    def charge(self) -> float:
        """Charge [C]."""
        return self.charge_qe * constants.qe

    @property
    def qm_ratio_SI(self) -> float:
        """Charge over mass [C/kg]."""
        return self.charge / self.mass

    @property
    def rigidity_Tm(self) -> float:
        """Magnetic rigidity B rho = p / q [T m]."""
        return self.beta_gamma * self.mass_MeV * 1e6 / (constants.c * self.charge_qe)

    def copy(self) -> RefPart:
        return RefPart(**{k: getattr(self, k) for k in self.__dataclass_fields__})

    def to_dict(self) -> dict[str, float]:
        """Attributes as written to ref_particle files and openPMD (ImpactX names, no _ref suffix)."""
        return {
            "s": self.s,
            "beta": self.beta,
            "gamma": self.gamma,
            "beta_gamma": self.beta_gamma,
            "x": self.x,
            "y": self.y,
            "z": self.z,
            "t": self.t,
            "px": self.px,
            "py": self.py,
            "pz": self.pz,
            "pt": self.pt,
            "mass": self.mass,
            "charge": self.charge,
        }
