"""A PALS lattice file read by ``lattice.load_file`` (command line: the file, then optionally min_model and nslice),
tracked with identical injected particles: a 2 GeV electron beam of the size of ImpactX's examples/pals/
run_fodo_pals.py (x, y ~ 75 um, t ~ 1 mm; px, py ~ 27 urad, pt ~ 2e-3)."""

import sys

import _output
import numpy as np
from impactx import ImpactX

path = sys.argv[1]
min_model = sys.argv[2] if len(sys.argv) > 2 else "linear"
nslice = int(sys.argv[3]) if len(sys.argv) > 3 else 25

sim = ImpactX()
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()
ref = sim.beam.ref
ref.set_species("electron").set_kin_energy_MeV(2.0e3)
rng = np.random.default_rng(17)
n = 2000
x, y, t = rng.normal(0.0, 7.5e-5, n), rng.normal(0.0, 7.5e-5, n), rng.normal(0.0, 1e-3, n)
px, py, pt = rng.normal(0.0, 2.7e-5, n), rng.normal(0.0, 2.7e-5, n), rng.normal(0.0, 2e-3, n)
sim.beam.add_n_particles(x, y, t, px, py, pt, ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-9)
sim.lattice.load_file(path, nslice=nslice, min_model=min_model)
with open("lattice.txt", "w") as f:  # what the file became: kind, name, ds, k, unit per element
    for el in sim.lattice:
        f.write(f"{type(el).__name__} {el.name} {el.ds!r} {getattr(el, 'k', None)!r} {getattr(el, 'unit', None)!r}\n")
sim.track_particles()
_output.write(sim)
sim.finalize()
