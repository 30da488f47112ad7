"""A matched Gaussian beam through three FODO cells (linear and chromatic quads), drawn by the code itself."""

import _output
from impactx import ImpactX, distribution, elements, twiss

sim = ImpactX()
sim.particle_shape = 2
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()

ref = sim.beam.ref
ref.set_species("electron").set_kin_energy_MeV(2.0e3)
distr = distribution.Gaussian(
    **twiss(
        beta_x=2.8216194100262637,
        beta_y=2.8216194100262637,
        beta_t=0.5,
        emitt_x=2e-09,
        emitt_y=2e-09,
        emitt_t=2e-06,
        alpha_x=-1.5905003499999992,
        alpha_y=1.5905003499999992,
        alpha_t=0.0,
    )
)
sim.add_particles(1.0e-9, distr, 100_000)

monitor = elements.BeamMonitor("monitor", backend="h5")
sim.lattice.extend(
    [
        monitor,
        elements.Drift(name="d1", ds=0.25, nslice=4),
        elements.Quad(name="q1", ds=1.0, k=1.0, nslice=4),
        elements.Drift(name="d2", ds=0.5, nslice=4),
        elements.ChrQuad(name="q2", ds=1.0, k=-1.0, nslice=4),
        elements.ChrDrift(name="d3", ds=0.25, nslice=4),
        monitor,
    ]
)
sim.periods = 3
sim.track_particles()
_output.write(sim)
sim.finalize()
