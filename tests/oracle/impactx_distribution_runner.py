"""Draws distributions in the real ImpactX (the oracle venv .venv-impactx); invoked by the moment oracle test.

    .venv-impactx/bin/python impactx_distribution_runner.py CASES.json OUTDIR

CASES.json: {"npart": N, "cases": [{"name", "type", "kwargs", "species", "kin_energy_MeV", "bunch_charge_C"}]}.
For each case ImpactX's ``add_particles`` draws N particles; OUTDIR/<name>.npy holds them as a (6, N) array
(x, y, t, px, py, pt in ImpactX's units). One ImpactX object for all cases (AMReX initialises once per process).
"""

import json
import os
import sys

import numpy as np
from impactx import ImpactX, distribution

COLUMNS = ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")


def main(cases_path, outdir):
    with open(cases_path) as f:
        cfg = json.load(f)
    os.chdir(outdir)
    sim = ImpactX()
    sim.particle_shape = 2
    sim.space_charge = False
    sim.diagnostics = False
    sim.slice_step_diagnostics = False
    sim.init_grids()
    for case in cfg["cases"]:
        sim.beam.clear()
        sim.beam.ref.set_species(case["species"]).set_kin_energy_MeV(case["kin_energy_MeV"])
        distr = getattr(distribution, case["type"])(**case["kwargs"])
        sim.add_particles(case["bunch_charge_C"], distr, cfg["npart"])
        df = sim.beam.to_df(local=True)
        np.save(os.path.join(outdir, case["name"] + ".npy"), np.stack([df[c].to_numpy() for c in COLUMNS]))
    sim.finalize()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
