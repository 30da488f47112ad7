"""Runs envelope cases in the real ImpactX (the oracle venv .venv-impactx); invoked by test_envelope_oracle.py.

    .venv-impactx/bin/python impactx_envelope_runner.py CASES.json OUTDIR

CASES.json: {"cases": [{"name", "mass_MeV", "charge_qe", "kin_energy_MeV", "periods", "space_charge",
"intensity", "strang_split", "cm" (6x6, map order), "slice_step_diagnostics", "elements": [{"type", "kwargs"}]}]}. Each case runs
in OUTDIR/<name>/ (its diags/ stays there); OUTDIR/<name>.npz holds the covariance matrix after track_envelope
and the final reference particle (ImpactX keeps the envelope's reference to itself: read from
diags/ref_particle_final.0).
"""

import json
import os
import sys

import numpy as np
import pandas as pd
from impactx import ImpactX, Map6x6, distribution
from impactx_runner import REF_KEYS, make_element


def to_map(a):
    m = Map6x6.identity()
    for i in range(6):
        for j in range(6):
            m[i + 1, j + 1] = a[i][j]
    return m


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
    waterbag = distribution.Waterbag(
        lambdaX=1e-4,
        lambdaY=1e-4,
        lambdaT=1e-3,
        lambdaPx=1e-4,
        lambdaPy=1e-4,
        lambdaPt=1e-3,
        muxpx=0.0,
        muypy=0.0,
        mutpt=0.0,
    )
    for case in cfg["cases"]:
        sim.lattice.clear()
        sim.space_charge = case["space_charge"]
        sim.strang_split = case.get("strang_split", True)
        sim.diagnostics = True
        sim.slice_step_diagnostics = bool(case.get("slice_step_diagnostics"))
        os.makedirs(os.path.join(outdir, case["name"]), exist_ok=True)
        os.chdir(os.path.join(outdir, case["name"]))
        ref = sim.beam.ref
        ref.set_mass_MeV(case["mass_MeV"]).set_charge_qe(case["charge_qe"]).set_kin_energy_MeV(case["kin_energy_MeV"])
        ref.s = ref.x = ref.y = ref.z = ref.t = 0.0
        sim.init_envelope(ref, waterbag, case["intensity"])
        sim.envelope.envelope = to_map(case["cm"])
        sim.lattice.extend([make_element(e) for e in case["elements"]])
        sim.periods = case["periods"]
        sim.track_envelope()
        cm = np.array(sim.envelope.envelope.to_numpy())
        final = pd.read_csv("diags/ref_particle_final.0", sep=r"\s+").iloc[-1]
        refv = np.array([final[k] for k in REF_KEYS])
        os.chdir(outdir)
        np.savez(os.path.join(outdir, case["name"] + ".npz"), cm=cm, ref=refv)
    sim.finalize()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
