"""``lattice.transfer_map(ref)`` of a mixed line (a misaligned, rotated, sliced quad, a bend and its edge, a solenoid,
an RF kick that changes the reference energy, a chromatic quad) and of each element alone: written to tm.npz."""

import numpy as np
from impactx import ImpactX, RefPart, elements

sim = ImpactX()
sim.init_grids()
ref = RefPart()
ref.set_species("proton").set_kin_energy_MeV(50.0)
line = [
    elements.Drift(name="d", ds=0.3),
    elements.Quad(name="q", ds=0.2, k=3.0, nslice=3, dx=1e-4, rotation=5.0),
    elements.Sbend(name="b", ds=0.5, rc=4.0),
    elements.DipEdge(name="e", psi=0.05, rc=4.0, g=0.02, K2=0.5),
    elements.Sol(name="s", ds=0.4, ks=1.2),
    elements.ShortRF(name="rf", V=0.01, freq=2e8, phase=-60.0),
    elements.ChrQuad(name="cq", ds=0.3, k=-2.0),
]
sim.lattice.extend(line)
maps = {"line": sim.lattice.transfer_map(ref).to_numpy()}
assert ref.s == 0.0 and abs(ref.kin_energy_MeV - 50.0) < 1e-12  # the reference given is not moved
for el in line:
    sim.lattice.clear()
    sim.lattice.append(el)
    maps[el.name] = sim.lattice.transfer_map(ref).to_numpy()
np.savez("tm.npz", **maps)
