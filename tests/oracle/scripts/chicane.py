"""A four-bend chicane (Sbend, DipEdge, ExactSbend, ChrDrift) for a 5 GeV electron beam given particle by particle."""

import _output
import numpy as np
from impactx import ImpactX, elements

sim = ImpactX()
sim.particle_shape = 2
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()

ref = sim.beam.ref
ref.set_species("electron").set_kin_energy_MeV(5.0e3)
rng = np.random.default_rng(7)
n = 2000
x, y = rng.normal(0.0, 2e-4, n), rng.normal(0.0, 1.5e-4, n)
t, px, py = rng.normal(0.0, 1e-4, n), rng.normal(0.0, 3e-5, n), rng.normal(0.0, 2e-5, n)
pt = rng.normal(0.0, 2e-3, n) - 40.0 * t  # energy chirp: the chicane compresses the bunch
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-9)

rc, psi, g = 10.35, 0.048345620280243, 0.0
sim.lattice.extend(
    [
        elements.Sbend(name="sb1", ds=0.500194828041958, rc=-rc, nslice=5),
        elements.DipEdge(name="edge1", psi=-psi, rc=-rc, g=g, K2=0.5),
        elements.ChrDrift(name="dr1", ds=5.0058489435, nslice=5),
        elements.DipEdge(name="edge2", psi=psi, rc=rc, g=g, K2=0.5),
        elements.ExactSbend(name="sb2", ds=0.500194828041958, phi=2.7690, nslice=5),
        elements.ChrDrift(name="dr2", ds=0.5, nslice=2),
        elements.ExactSbend(name="sb3", ds=0.500194828041958, phi=2.7690, nslice=5),
        elements.ChrDrift(name="dr3", ds=5.0058489435, nslice=5),
        elements.Sbend(name="sb4", ds=0.500194828041958, rc=-rc, nslice=5),
    ]
)
sim.track_particles()
_output.write(sim)
sim.finalize()
