"""Longitudinal and solenoid focusing: ShortRF, Buncher, Sol, SoftSolenoid and a sliced Quad, low-energy proton."""

import _output
import numpy as np
from impactx import ImpactX, elements

sim = ImpactX()
sim.particle_shape = 2
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()

ref = sim.beam.ref
ref.set_species("proton").set_kin_energy_MeV(10.0)
rng = np.random.default_rng(17)
n = 3000
x, y, t = rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n), rng.normal(0.0, 2e-3, n)
px, py, pt = rng.normal(0.0, 1e-4, n), rng.normal(0.0, 1e-4, n), rng.normal(0.0, 5e-4, n)
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-10)

cos_coef = [0.35, 0.2, -0.08, 0.03, 0.01]
sin_coef = [0.0, 0.05, 0.02, -0.01, 0.0]
sim.lattice.extend(
    [
        elements.ShortRF(name="rf", V=0.01, freq=2.0e8, phase=-45.0),
        elements.Drift(name="d1", ds=0.3),
        elements.Buncher(name="bunch", V=0.002, k=3.0),
        elements.Sol(name="sol", ds=0.5, ks=1.2, nslice=3),
        elements.SoftSolenoid(
            name="softsol",
            ds=0.6,
            bscale=1.1,
            cos_coefficients=cos_coef,
            sin_coefficients=sin_coef,
            mapsteps=20,
            nslice=2,
        ),
        elements.Quad(name="q", ds=0.3, k=-2.0, nslice=2, dx=1e-4, rotation=3.0),
    ]
)
sim.periods = 2
sim.track_particles()
_output.write(sim)
sim.finalize()
