"""The space-charge grids a hook reads: ``sim.rho(0)``, ``sim.phi(0)``, ``sim.space_charge_field(0, c)`` after the first
element (command line: the Poisson solver, fft or multigrid, then the space-charge model, 3D by default, or 2D /
2p5D), written with their ghost nodes to grids.npz; identical injected particles (a low-energy proton bunch)."""

import sys

import _output
import numpy as np
from impactx import ImpactX, elements

sim = ImpactX()
sim.n_cell = [16, 24, 32]
sim.particle_shape = 2
sim.space_charge = sys.argv[2] if len(sys.argv) > 2 else "3D"
sim.poisson_solver = sys.argv[1] if len(sys.argv) > 1 else "fft"
sim.prob_relative = [1.5]
sim.slice_step_diagnostics = False
sim.init_grids()
ref = sim.beam.ref
ref.set_species("proton").set_kin_energy_MeV(10.0)
rng = np.random.default_rng(3)
n = 20000
x, y, t = rng.normal(0, 1e-3, n), rng.normal(0, 2e-3, n), rng.normal(0, 3e-3, n)
px, py, pt = rng.normal(0, 1e-4, n), rng.normal(0, 1e-4, n), rng.normal(0, 1e-4, n)
sim.beam.add_n_particles(x, y, t, px, py, pt, ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-9)
grids = {}


def after_element(sim):
    if grids:
        return
    named = [("rho", sim.rho(0)), ("phi", sim.phi(0))] + [(f"E{c}", sim.space_charge_field(0, c)) for c in "xyz"]
    for name, mf in named:
        arrays = [mf.array(mfi).to_numpy() for mfi in mf]
        assert len(arrays) == 1
        grids[name] = np.array(arrays[0])
        grids[name + "_grow"] = np.array(tuple(mf.n_grow_vect))
        grids[name + "_shape"] = np.array(mf.shape)
    np.savez("grids.npz", **grids)


sim.hook["after_element"] = after_element
sim.lattice.extend([elements.Drift(name="d", ds=0.1, nslice=2), elements.Quad(name="q", ds=0.1, k=1.0)])
sim.track_particles()
_output.write(sim)
sim.finalize()
