"""Runs collective-effect cases (space-charge models, ISR, CSR) in the real ImpactX (the oracle venv); invoked as a
subprocess by tests/oracle/test_collective_oracle.py.

    .venv-impactx/bin/python impactx_collective_runner.py CASES.json OUTDIR

CASES.json: {"cases": [{"name", "particles": "x.npy" (7 x N: x, y, t, px, py, pt, w), "mass_MeV", "charge_qe",
"kin_energy_MeV", "options": {ImpactX simulation attribute: value}, "elements": [{"type", "kwargs"}], "periods",
"field": bool, "bucket_length": float (optional, sim.particle_bc's), "moments": [beam_moments() keys] (optional)}]}. Each case runs in its own process (ImpactX reads algo.* options once per AMReX start), so this
script runs one case: CASES.json's case number ``argv[3]``. OUTDIR/<name>.npz holds the alive particles'
coordinates (ordered by id) and the reference particle; with "field", also the charge density and potential
of the last space-charge solve (rho, phi: one box with its ghost nodes, flattened; reshaped to rho_shape /
phi_shape they are indexed [ix, iy, iz, 0]) and the domain's corners (lo, hi) [m]; with "moments", ``moments``
holds those beam_moments() values after each element (an after_element hook), one row per element.
"""

import json
import os
import sys

import numpy as np
from impactx import ImpactX, elements

REF_KEYS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")


def main(cases_path, outdir, index):
    with open(cases_path) as f:
        case = json.load(f)["cases"][int(index)]
    data = np.load(os.path.join(os.path.dirname(cases_path), case["particles"]))
    os.chdir(outdir)
    sim = ImpactX()
    sim.particle_shape = 2
    sim.diagnostics = False
    sim.slice_step_diagnostics = False
    for key, value in case["options"].items():
        setattr(sim, key, value)
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_mass_MeV(case["mass_MeV"]).set_charge_qe(case["charge_qe"]).set_kin_energy_MeV(case["kin_energy_MeV"])
    qm_eV = ref.charge_qe / (ref.mass_MeV * 1e6)
    coords = [np.ascontiguousarray(c) for c in data[:6]]
    sim.beam.add_n_particles(*coords, qm_eV, w=np.ascontiguousarray(data[6]))
    if "bucket_length" in case:
        sim.particle_container().set_bucket_length(case["bucket_length"])
    sim.lattice.extend([getattr(elements, e["type"])(**e["kwargs"]) for e in case["elements"]])
    sim.periods = case.get("periods", 1)
    rows = []
    if case.get("moments"):
        sim.hook["after_element"] = lambda sim: rows.append([sim.beam.beam_moments()[k] for k in case["moments"]])
    sim.track_particles()
    df = sim.beam.to_df(local=True)
    ids = ((df["idcpu"].to_numpy(dtype=np.uint64) >> np.uint64(24)) & np.uint64((1 << 39) - 1)).astype(np.int64)
    order = np.argsort(ids)
    df = df.iloc[order]
    out = np.stack(
        [df[c].to_numpy() for c in ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")]
    )
    extra = {}
    if case.get("field"):
        rho = sim.rho(0)
        phi = sim.phi(0)
        extra["rho"] = np.concatenate([np.array(fab, copy=True).ravel() for fab in _fabs(rho)])
        extra["phi"] = np.concatenate([np.array(fab, copy=True).ravel() for fab in _fabs(phi)])
        extra["rho_shape"] = np.array(next(_fabs(rho)).shape)
        extra["phi_shape"] = np.array(next(_fabs(phi)).shape)
        geom = sim.Geom(0)
        extra["lo"] = np.array([geom.ProbLo(i) for i in range(3)])
        extra["hi"] = np.array([geom.ProbHi(i) for i in range(3)])
    if case.get("moments"):
        extra["moments"] = np.array(rows)
    refv = np.array([getattr(ref, k) for k in REF_KEYS])
    np.savez(os.path.join(outdir, case["name"] + ".npz"), ids=ids[order], coords=out, ref=refv, **extra)
    sim.finalize()


def _fabs(mf):
    for mfi in mf:
        yield mf.array(mfi).to_numpy()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
