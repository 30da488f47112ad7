"""Runs cases in the real ImpactX (the oracle venv .venv-impactx); invoked as a subprocess by the oracle tests.

    .venv-impactx/bin/python impactx_runner.py CASES.json OUTDIR

CASES.json: {"particles": "in.npy" (6 x N: x, y, t, px, py, pt), "cases": [{"name", "mass_MeV", "charge_qe",
"kin_energy_MeV", "periods", "elements": [{"type", "kwargs"}]}]}. For each case, OUTDIR/<name>.npz holds
the alive particles' ids and coordinates and the reference particle after tracking. All cases share one
ImpactX object (AMReX initialises once per process), which keeps the oracle's start-up to one.
"""

import json
import os
import sys

import numpy as np
from impactx import ImpactX, Map6x6, elements

REF_KEYS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")


def make_element(spec):
    kw = dict(spec["kwargs"])
    if spec["type"] == "LinearMap":
        R = Map6x6.identity()
        for i in range(6):
            for j in range(6):
                R[i + 1, j + 1] = kw["R"][i][j]
        kw["R"] = R
    return getattr(elements, spec["type"])(**kw)


def main(cases_path, outdir):
    with open(cases_path) as f:
        cfg = json.load(f)
    coords = np.load(os.path.join(os.path.dirname(cases_path), cfg["particles"]))
    os.chdir(outdir)  # ImpactX writes diags/ here
    sim = ImpactX()
    sim.particle_shape = 2
    sim.space_charge = False
    sim.diagnostics = False
    sim.slice_step_diagnostics = False
    sim.init_grids()
    n_before = 0  # ImpactX keeps counting ids over beam.clear(): ids of case k start at k * N + 1
    for case in cfg["cases"]:
        sim.lattice.clear()
        sim.beam.clear()
        ref = sim.beam.ref
        ref.set_mass_MeV(case["mass_MeV"]).set_charge_qe(case["charge_qe"]).set_kin_energy_MeV(case["kin_energy_MeV"])
        ref.s = ref.x = ref.y = ref.z = ref.t = 0.0
        qm_eV = ref.charge_qe / (ref.mass_MeV * 1e6)
        sim.beam.add_n_particles(*[np.ascontiguousarray(c) for c in coords], qm_eV, bunch_charge=1e-12)
        ids_offset = n_before
        n_before += coords.shape[1]
        sim.lattice.extend([make_element(e) for e in case["elements"]])
        sim.periods = case["periods"]
        sim.track_particles()
        df = sim.beam.to_df(local=True)
        if df is None:
            ids, out = np.zeros(0, dtype=np.int64), np.zeros((6, 0))
        else:
            # AMReX packs the particle id into idcpu: bits 24..62 (bit 63 = valid)
            ids = ((df["idcpu"].to_numpy(dtype=np.uint64) >> np.uint64(24)) & np.uint64((1 << 39) - 1)).astype(np.int64)
            order = np.argsort(ids)
            ids, df = ids[order] - ids_offset, df.iloc[order]
            out = np.stack(
                [
                    df[c].to_numpy()
                    for c in ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")
                ]
            )
        refv = np.array([getattr(ref, k) for k in REF_KEYS])
        np.savez(os.path.join(outdir, case["name"] + ".npz"), ids=ids, coords=out, ref=refv)
    sim.finalize()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
