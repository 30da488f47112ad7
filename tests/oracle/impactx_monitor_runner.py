"""One line with BeamMonitors writing the IOTA invariants H, I and eigen-emittances, in ImpactX or beamtrack.impactx.

    python impactx_monitor_runner.py impactx|beamtrack.impactx PARTICLES.npy OUTDIR

Used by tests/oracle/test_element_options_oracle.py: the same script and the same injected particles (6 x N: x, y,
t, px, py, pt) in both codes; each writes diags/ (openPMD monitor.h5 with H, I and the emittance_1..3 attributes;
reduced_beam_characteristics.0 with the emittance_1..3 columns) under OUTDIR.
"""

import importlib
import os
import sys

import numpy as np


def main(module, particles, outdir):
    api = importlib.import_module(module)
    coords = np.load(particles)
    os.chdir(outdir)
    sim = api.ImpactX()
    sim.particle_shape = 2
    sim.space_charge = False
    sim.slice_step_diagnostics = True
    sim.eigenemittances = True
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_species("proton").set_kin_energy_MeV(250.0)
    sim.beam.add_n_particles(*coords, ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-12)

    el = api.elements
    monitor = el.BeamMonitor("monitor", backend="h5")
    monitor.nonlinear_lens_invariants = True
    monitor.alpha = 0.3
    monitor.beta = 1.5
    monitor.tn = 0.4
    monitor.cn = 0.01
    sim.lattice.extend(
        [
            monitor,
            el.Sol(name="sol", ds=0.6, ks=1.3, nslice=2),
            el.Quad(name="skew", ds=0.3, k=2.0, rotation=30.0),
            el.NonlinearLens(name="nll", knll=4.0e-6, cnll=0.01),
            el.ShortRF(name="rf", V=0.01, freq=2.0e8, phase=-45.0),
            monitor,
        ]
    )
    sim.track_particles()
    sim.finalize()


if __name__ == "__main__":
    main(*sys.argv[1:4])
