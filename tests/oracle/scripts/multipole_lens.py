"""Thin multipoles, an IOTA-style nonlinear lens, kicks and a constant-focusing channel over four periods."""

import _output
import numpy as np
from impactx import ImpactX, elements

sim = ImpactX()
sim.particle_shape = 2
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()

ref = sim.beam.ref
ref.set_species("proton").set_kin_energy_MeV(2.5)
rng = np.random.default_rng(13)
n = 3000
x, y, t = rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n)
px, py, pt = rng.normal(0.0, 2e-4, n), rng.normal(0.0, 2e-4, n), rng.normal(0.0, 1e-4, n)
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-10)

sim.lattice.extend(
    [
        elements.Multipole(name="thin_quad", multipole=2, K_normal=3.0, K_skew=0.0),
        elements.Multipole(name="thin_sext", multipole=3, K_normal=100.0, K_skew=-50.0),
        elements.Multipole(name="thin_oct", multipole=4, K_normal=65.0, K_skew=6.0),
        elements.ConstF(name="const", ds=0.1, kx=1.0, ky=1.0, kt=1.0e-12, nslice=2),
        elements.NonlinearLens(name="nll", knll=4.0e-6, cnll=0.01),
        elements.Kicker(name="kick", xkick=1e-5, ykick=-2e-5),
        elements.ConstF(name="const2", ds=0.1, kx=1.0, ky=1.0, kt=1.0e-12),
        elements.ThinDipole(name="thin_dip", theta=0.1, rc=1.0),
        elements.PRot(name="prot", phi_in=0.5, phi_out=-0.5),
    ]
)
sim.periods = 4
sim.track_particles()
_output.write(sim)
sim.finalize()
