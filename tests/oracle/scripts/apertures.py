"""Apertures: rectangular and elliptical, transmit and absorb, repeated, misaligned and rotated; thick elements
with their own aperture_x / aperture_y. Particles given one by one; about half of them are lost."""

import _output
import numpy as np
from impactx import ImpactX, elements

sim = ImpactX()
sim.particle_shape = 2
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()

ref = sim.beam.ref
ref.set_species("proton").set_kin_energy_MeV(250.0)
rng = np.random.default_rng(11)
n = 4000
x, y, t = rng.uniform(-3e-3, 3e-3, n), rng.uniform(-3e-3, 3e-3, n), rng.normal(0.0, 1e-3, n)
px, py, pt = rng.normal(0.0, 2e-4, n), rng.normal(0.0, 2e-4, n), rng.normal(0.0, 1e-3, n)
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-10)

sim.lattice.extend(
    [
        elements.Aperture(name="rect", aperture_x=2.5e-3, aperture_y=2.8e-3, shape="rectangular"),
        elements.Drift(name="d1", ds=0.5, nslice=2),
        elements.Aperture(
            name="ellip", aperture_x=2.6e-3, aperture_y=2.2e-3, shape="elliptical", dx=1e-4, rotation=15.0
        ),
        elements.Quad(name="q1", ds=0.4, k=2.0, aperture_x=2.4e-3, aperture_y=2.4e-3, nslice=3),
        elements.Aperture(name="absorb", aperture_x=3e-4, aperture_y=3e-4, shape="rectangular", action="absorb"),
        elements.Aperture(
            name="grid", aperture_x=8e-4, aperture_y=8e-4, repeat_x=2e-3, repeat_y=2e-3, shape="elliptical"
        ),
        elements.ExactDrift(name="d2", ds=0.3, aperture_x=3e-3, aperture_y=2e-3),
    ]
)
sim.track_particles()
_output.write(sim)
sim.finalize()
