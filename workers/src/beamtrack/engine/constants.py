"""Physical constants (CODATA 2018, SI), as ImpactX uses them."""

c = 299_792_458.0  #: speed of light [m/s]
qe = 1.602176634e-19  #: elementary charge [C]
me_MeV = 0.51099895000  #: electron rest energy [MeV]
mp_MeV = 938.27208816  #: proton rest energy [MeV]
epsilon0 = 8.8541878128e-12  #: vacuum permittivity [F/m]
MeV_per_kg = c**2 / qe / 1e6  #: rest energy of 1 kg [MeV]
