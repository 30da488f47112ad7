"""ImpactX's coordinate_transformation: a 50 MeV proton beam after a drift and a quad goes to fixed-t coordinates
(saved in fixed_t.npz: 6 x N of x, y, z, px, py, pz in t's and pt's rows, ordered by id), back to fixed s, then
through another quad (final.npz / moments.json as the other scripts)."""

import _output
import numpy as np
from impactx import CoordSystem, ImpactX, coordinate_transformation, elements

sim = ImpactX()
sim.space_charge = False
sim.init_grids()

ref = sim.beam.ref
ref.set_species("proton").set_kin_energy_MeV(50.0)
rng = np.random.default_rng(11)
n = 2000
x, y, t = rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n), rng.normal(0.0, 2e-3, n)
px, py, pt = rng.normal(0.0, 2e-3, n), rng.normal(0.0, 2e-3, n), rng.normal(0.0, 5e-3, n)
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-10)

sim.lattice.extend([elements.Drift(name="d", ds=0.7, nslice=2), elements.Quad(name="qf", ds=0.3, k=4.0)])
sim.track_particles()

pc = sim.particle_container()
coordinate_transformation(pc, CoordSystem.t)
df = pc.to_df(local=True)
ids = ((df["idcpu"].to_numpy(dtype=np.uint64) >> np.uint64(24)) & np.uint64((1 << 39) - 1)).astype(np.int64)
order = np.argsort(ids)
np.savez("fixed_t.npz", ids=ids[order], coords=np.stack([df[c].to_numpy()[order] for c in _output.COLUMNS]))
coordinate_transformation(pc, CoordSystem.s)

sim.lattice.clear()
sim.lattice.append(elements.Quad(name="qd", ds=0.3, k=-4.0))
sim.track_particles()
_output.write(sim)
sim.finalize()
