"""Study 2: a four-bend chicane (a transfer line) from given initial optics.

``sim.lattice.twiss(init=...)`` gives beta, alpha and the dispersion along the line (sector bends
without edge focusing, so the dispersion does not quite close at the exit) and R56 from the line's
map. A Gaussian beam with 1e-3 energy spread is then tracked with per-slice reduced diagnostics:
its measured dispersion -<x pt>/<pt^2> is twiss's dx / beta0 along the line.
Writes chicane_twiss.png, chicane_moments.png and chicane_phase_space.png.

Run: MPLBACKEND=Agg python examples/optics_chicane.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from beamtrack import plot
from beamtrack.engine import Simulation, distribution, elements
from beamtrack.engine.optics.maps import to_xsuite

INIT = {"betx": 8.0, "alfx": 0.0, "bety": 8.0, "alfy": 0.0}


def chicane(phi_deg: float = 4.0, lb: float = 0.5) -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("electron").set_kin_energy_MeV(100.0)
    sim.lattice.extend([
        elements.ExactSbend(name="b1", ds=lb, phi=phi_deg, nslice=4),
        elements.ExactDrift(name="d1", ds=2.0, nslice=4),
        elements.ExactSbend(name="b2", ds=lb, phi=-phi_deg, nslice=4),
        elements.ExactDrift(name="d2", ds=1.0, nslice=2),
        elements.ExactSbend(name="b3", ds=lb, phi=-phi_deg, nslice=4),
        elements.ExactDrift(name="d3", ds=2.0, nslice=4),
        elements.ExactSbend(name="b4", ds=lb, phi=phi_deg, nslice=4),
    ])
    return sim


def main(out: str = "out/chicane", npart: int = 20_000) -> dict[str, Any]:
    outdir = Path(out)
    sim = chicane()
    tw = sim.lattice.twiss(init=INIT, at="slice")
    r56 = float(to_xsuite(tw.R_matrix, sim.reference.beta)[4, 5])  # dzeta/ddelta [m], xtrack's R56
    print(f"exit: D = {tw['dx'].iloc[-1]:.3e} m, D' = {tw['dpx'].iloc[-1]:.3e}, max D = {tw['dx'].abs().max():.4f} m, "
          f"R56 (zeta, delta) = {r56:.5f} m")
    tw.plot(lattice=sim.lattice, path=outdir / "chicane_twiss.png")
    sim.slice_step_diagnostics = True
    sim.add_particles(1e-10, distribution.Gaussian(lambdaX=2e-4, lambdaY=2e-4, lambdaT=1e-4, lambdaPx=2.5e-5,
                                                   lambdaPy=2.5e-5, lambdaPt=1e-3), npart, seed=7)
    rows: list[dict[str, float]] = []
    sim.diagnostics_listeners.append(rows.append)
    sim.track_particles(periods=1)
    import pandas as pd

    reduced = pd.DataFrame(rows)
    plot.moments(reduced, lattice=sim.lattice, path=outdir / "chicane_moments.png")
    plot.phase_space(sim.beam, path=outdir / "chicane_phase_space.png")
    return {"twiss": tw, "r56": r56, "reduced": reduced, "sim": sim}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/chicane")
    ap.add_argument("--npart", type=int, default=20_000)
    a = ap.parse_args()
    main(a.out, a.npart)
