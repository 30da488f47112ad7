"""Runs spin-tracking cases in the real ImpactX (the oracle venv .venv-impactx); invoked as a subprocess.

    .venv-impactx/bin/python impactx_spin_runner.py CASES.json OUTDIR

CASES.json: {"particles": "in.npy" (9 x N: x, y, t, px, py, pt, sx, sy, sz), "cases": [{"name", "species",
"kin_energy_MeV", "elements": [{"type", "kwargs"}]}]}. ImpactX runs with ``sim.spin = True``; the species
sets mass, charge and gyromagnetic anomaly (RefPart.set_species). For each case OUTDIR/<name>.npz holds the
alive particles' ids, phase space (6 x n), spins (3 x n), the reference particle and the species' G.
"""

import json
import os
import sys

import numpy as np
from impactx import ImpactX, Map6x6, elements

REF_KEYS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")


def make_element(spec):
    kw = dict(spec["kwargs"])
    if "R" in kw:
        R = Map6x6.identity()
        for i in range(6):
            for j in range(6):
                R[i + 1, j + 1] = kw["R"][i][j]
        kw["R"] = R
    if "v" in kw:  # SpinMap: amrex.SmallMatrix 3x1 and 3x6, 1-based
        import amrex.space3d as amr

        v, A = amr.SmallMatrix_3x1_F_SI1_double(), amr.SmallMatrix_3x6_F_SI1_double()
        for i in range(3):
            v[i + 1, 1] = kw["v"][i]
            for j in range(6):
                A[i + 1, j + 1] = kw["A"][i][j]
        kw["v"], kw["A"] = v, A
    return getattr(elements, spec["type"])(**kw)


def main(cases_path, outdir):
    with open(cases_path) as f:
        cfg = json.load(f)
    coords = np.load(os.path.join(os.path.dirname(cases_path), cfg["particles"]))
    outdir = os.path.abspath(outdir)
    os.chdir(outdir)  # ImpactX writes diags/ here
    sim = ImpactX()
    sim.particle_shape = 2
    sim.space_charge = False
    sim.diagnostics = False
    sim.slice_step_diagnostics = False
    sim.spin = True
    sim.init_grids()
    n_before = 0
    for case in cfg["cases"]:
        sim.lattice.clear()
        sim.beam.clear()
        ref = sim.beam.ref
        ref.set_species(case["species"]).set_kin_energy_MeV(case["kin_energy_MeV"])
        ref.s = ref.x = ref.y = ref.z = ref.t = 0.0
        qm_eV = ref.charge_qe / (ref.mass_MeV * 1e6)
        c = [np.ascontiguousarray(v) for v in coords]
        sim.beam.add_n_particles(*c[:6], qm_eV, bunch_charge=1e-12, sx=c[6], sy=c[7], sz=c[8])
        ids_offset = n_before
        n_before += coords.shape[1]
        sim.lattice.extend([make_element(e) for e in case["elements"]])
        sim.periods = 1
        sim.track_particles()
        df = sim.beam.to_df(local=True)
        ids = ((df["idcpu"].to_numpy(dtype=np.uint64) >> np.uint64(24)) & np.uint64((1 << 39) - 1)).astype(np.int64)
        order = np.argsort(ids)
        ids, df = ids[order] - ids_offset, df.iloc[order]
        out = np.stack(
            [
                df[k].to_numpy()
                for k in ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")
            ]
        )
        spin = np.stack([df[k].to_numpy() for k in ("spin_x", "spin_y", "spin_z")])
        refv = np.array([getattr(ref, k) for k in REF_KEYS])
        np.savez(
            os.path.join(outdir, case["name"] + ".npz"),
            ids=ids,
            coords=out,
            spin=spin,
            ref=refv,
            G=ref.gyromagnetic_anomaly,
        )
    sim.finalize()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
