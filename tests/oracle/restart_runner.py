"""ImpactX 26.10 side of tests/oracle/test_restart_oracle.py (run in .venv-impactx):

    .venv-impactx/bin/python restart_runner.py IN.npy OUTDIR [BEAMTRACK_SERIES]

Writes OUTDIR/diags/openPMD/m1.h5 with BeamMonitors around [Quad, Aperture, ChrAcc] on the particles of
IN.npy (6 x N: x, y, t, px, py, pt; a 250 MeV proton), then reads it back with elements.Source three ways
(defaults; load_step_index=0; load_ref_particle=False) into an electron beam, and, when given, reads
BEAMTRACK_SERIES (a series beamtrack wrote) with the defaults. Each read: OUTDIR/<case>.npz with the
particles' coordinates and weights (to_df order) and the reference particle.
"""

import os
import sys

import numpy as np
from impactx import ImpactX, elements, push

REF_KEYS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt", "mass_MeV", "charge_qe")
COLS = ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t", "weighting")


def main(in_path, outdir, bt_series=None):
    coords = np.load(in_path)
    os.chdir(outdir)
    sim = ImpactX()
    sim.particle_shape = 2
    sim.space_charge = False
    sim.slice_step_diagnostics = False
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_species("proton").set_kin_energy_MeV(250.0)
    sim.beam.add_n_particles(
        *[np.ascontiguousarray(c) for c in coords], ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-11
    )
    m1 = elements.BeamMonitor("m1", backend="h5")
    sim.lattice.extend(
        [
            m1,
            elements.Quad(ds=0.5, k=2.0),
            elements.Aperture(1.5e-3, 1.5e-3),
            elements.ChrAcc(ds=0.4, ez=0.05, bz=0.2),
            m1,
        ]
    )
    sim.track_particles()
    sim.lattice.clear()
    reads = {
        "default": ("diags/openPMD/m1.h5", {}),
        "first": ("diags/openPMD/m1.h5", {"load_step_index": 0}),
        "noref": ("diags/openPMD/m1.h5", {"load_ref_particle": False}),
    }
    if bt_series:
        reads["beamtrack_file"] = (bt_series, {})
    for name, (path, kw) in reads.items():
        sim.beam.clear_particles()
        r = sim.beam.ref
        r.set_species("electron").set_kin_energy_MeV(10.0)
        r.s = r.x = r.y = r.z = r.t = 0.0
        push(sim.beam, elements.Source("openPMD", path, **kw))
        df = sim.beam.to_df(local=True)
        data = np.stack([df[c].to_numpy() for c in COLS]) if df is not None else np.zeros((7, 0))
        np.savez(name + ".npz", coords=data, ref=np.array([getattr(r, k) for k in REF_KEYS]))
    sim.finalize()


if __name__ == "__main__":
    main(*sys.argv[1:])
