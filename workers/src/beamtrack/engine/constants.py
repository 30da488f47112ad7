"""Physical constants (CODATA 2022, SI), as ImpactX 26.10 uses them (ablastr::constant::SI).

Rest energies are ImpactX's: the mass in kg divided by MeV_inv_c2 = 1e6 qe / c^2 (so ``set_species("proton")``
gives the same double, 938.2720894282575 MeV, as ImpactX 26.10's RefPart).
"""

c = 299_792_458.0  #: speed of light [m/s]
qe = 1.602176634e-19  #: elementary charge [C]
me_kg = 9.1093837139e-31  #: electron mass [kg]
mp_kg = 1.67262192595e-27  #: proton mass [kg]
epsilon0 = 8.8541878188e-12  #: vacuum permittivity [F/m]
hbar = 1.054571817e-34  #: reduced Planck constant [J s] (h / 2 pi, h exact)
r_e = 2.8179403205e-15  #: classical electron radius [m]
MeV_inv_c2 = 1e6 * qe / (c * c)  #: mass of 1 MeV/c^2 [kg]
MeV_per_kg = c**2 / qe / 1e6  #: rest energy of 1 kg [MeV]
me_MeV = me_kg / MeV_inv_c2  #: electron rest energy [MeV]
mp_MeV = mp_kg / MeV_inv_c2  #: proton rest energy [MeV]
#: H- rest energy [MeV] as ImpactX: proton plus two electrons, the ~14 eV binding energy neglected
mHminus_MeV = (mp_kg + 2.0 * me_kg) / MeV_inv_c2
#: gyromagnetic anomalies G = (g - 2) / 2 [1] of the species as ImpactX 26.10 sets them in
#: RefPart.set_species (measured: electron and positron a_e, proton and H- the proton's G)
GYROMAGNETIC_ANOMALY = {
    "electron": 0.00115965218062,
    "positron": 0.00115965218062,
    "proton": 1.7928473446,
    "Hminus": 1.7928473446,
}
