"""Study 3: a ring with bends and sextupoles over a few hundred turns.

twiss() gives the tunes and chromaticities; a beam is tracked turn by turn with a
TurnByTurnMonitor recording a few particles (by id) and the reduced beam characteristics every
turn; NAFF on the recorded particles reproduces the twiss tunes. Writes ring_twiss.png,
ring_turns.png (x of the recorded particles and sigma_x per turn) and ring_phase_space.png.

Run: MPLBACKEND=Agg python examples/optics_ring_turns.py [--out DIR] [--turns N]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from beamtrack import plot
from beamtrack.engine import Simulation, distribution, elements
from beamtrack.engine.optics import track_turn_by_turn


def ring(cells: int = 4) -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    for c in range(cells):
        sim.lattice.extend([
            elements.ChrQuad(name=f"qf{c}", ds=0.4, k=0.6, nslice=2),
            elements.ChrDrift(ds=1.1),
            elements.Multipole(name=f"sf{c}", multipole=3, K_normal=0.8),
            elements.ExactSbend(name=f"b{c}a", ds=1.5, phi=12.0, nslice=2),
            elements.ExactDrift(ds=1.1),
            elements.ChrQuad(name=f"qd{c}", ds=0.4, k=-0.6),
            elements.ChrDrift(ds=1.1),
            elements.Multipole(name=f"sd{c}", multipole=3, K_normal=-1.3),
            elements.ExactSbend(name=f"b{c}b", ds=1.5, phi=12.0, nslice=2),
            elements.ExactDrift(ds=1.1),
        ])
    return sim


def main(out: str = "out/ring_turns", turns: int = 300, npart: int = 2000) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    sim = ring()
    tw = sim.lattice.twiss()
    print(f"twiss: qx = {tw.qx:.6f}, qy = {tw.qy:.6f}, dqx = {tw.dqx:.4f}, dqy = {tw.dqy:.4f}, "
          f"alpha_c = {tw.momentum_compaction_factor:.5f}")
    tw.plot(lattice=sim.lattice, path=outdir / "ring_twiss.png")
    # a beam of 0.1 mm rms on momentum (pt = 0: the tune spread is the sextupoles' amplitude detuning only)
    sim.add_particles(1e-12, distribution.Gaussian(lambdaX=1e-4, lambdaY=1e-4, lambdaT=1e-3, lambdaPx=1e-5,
                                                   lambdaPy=1e-5, lambdaPt=0.0), npart, seed=11)
    mon = track_turn_by_turn(sim, turns, ids=[1, 2, 3, 4], reduced=True)
    q = mon.tunes(twiss=tw)
    print(q.to_string(index=False))
    fig, (a1, a2) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    x = mon.coordinates("x")
    for k, i in enumerate(mon.ids):
        a1.plot(mon.turns, 1e3 * x[:, k], lw=0.7, label=f"id {i}")
    a1.set_ylabel("x [mm]")
    a1.legend(fontsize=7)
    red = mon.reduced_df()
    a2.plot(red["turn"], 1e3 * red["sigma_x"], label=r"$\sigma_x$")
    a2.plot(red["turn"], 1e3 * red["sigma_y"], label=r"$\sigma_y$")
    a2.set_ylabel(r"$\sigma$ [mm]")
    a2.set_xlabel("turn")
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(outdir / "ring_turns.png", dpi=110)
    plot.phase_space(sim.beam, path=outdir / "ring_phase_space.png")
    return {"twiss": tw, "tunes": q, "monitor": mon, "max_tune_error": float(np.max(np.abs(
        np.r_[q["qx"] - tw.qx % 1.0, q["qy"] - tw.qy % 1.0])))}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/ring_turns")
    ap.add_argument("--turns", type=int, default=300)
    a = ap.parse_args()
    main(a.out, a.turns)
