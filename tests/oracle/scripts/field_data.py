"""RFCavity, SoftSolenoid and SoftQuadrupole built from sampled on-axis fields (``z``, ``field_on_axis`` /
``gradient_on_axis``, ``ncoef``: ImpactX's ``fourier_coefficients`` of them), unevenly sampled, low-energy proton."""

import _output
import numpy as np
from impactx import ImpactX, elements, fourier_coefficients

sim = ImpactX()
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()

ref = sim.beam.ref
ref.set_species("proton").set_kin_energy_MeV(50.0)
rng = np.random.default_rng(11)
n = 2000
x, y, t = rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n)
px, py, pt = rng.normal(0.0, 1e-4, n), rng.normal(0.0, 1e-4, n), rng.normal(0.0, 1e-4, n)
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-10)

z = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0.0, 1.0, 199)]))
ez = np.cos(np.pi * (z - 0.5)) ** 2
bz = np.exp(-(((z - 0.5) / 0.2) ** 2))
gz = np.tanh(10 * (z - 0.2)) - np.tanh(10 * (z - 0.8))
cos_c, sin_c = fourier_coefficients(z, bz, 15)
assert cos_c.shape == sin_c.shape == (15,)

sim.lattice.extend(
    [
        elements.RFCavity(
            name="rf", ds=0.8, escale=0.02, freq=2.0e8, phase=-30.0, z=z, field_on_axis=ez, ncoef=20, nslice=3
        ),
        elements.Drift(name="d", ds=0.2),
        elements.SoftSolenoid(name="sol", ds=0.6, bscale=0.8, z=z, field_on_axis=bz, ncoef=15, mapsteps=20),
        elements.SoftQuadrupole(name="q", ds=0.5, gscale=3.0, z=z, gradient_on_axis=gz, ncoef=25, nslice=2),
        elements.SoftSolenoid(name="sol2", ds=0.6, bscale=0.8, cos_coefficients=cos_c, sin_coefficients=sin_c),
    ]
)
sim.track_particles()
_output.write(sim)
sim.finalize()
