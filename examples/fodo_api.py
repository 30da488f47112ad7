"""The README's Python example: a FODO cell tracked for 10 periods with an in-situ diagnostic hook.

Run: python examples/fodo_api.py [--out DIR]
"""

from __future__ import annotations

import argparse

from beamtrack.engine import Simulation, distribution, elements


def main(out: str = "out/fodo_api", npart: int = 100_000, periods: int = 10) -> Simulation:
    sim = Simulation(output_dir=out)
    sim.reference.set_species("electron").set_kin_energy_MeV(2000)
    sim.add_particles(
        bunch_charge_C=1e-9, npart=npart, seed=1,
        distr=distribution.Waterbag(lambdaX=3.9984884770e-5, lambdaY=3.9984884770e-5, lambdaT=1.0e-3,
                                    lambdaPx=2.6623538760e-5, lambdaPy=2.6623538760e-5, lambdaPt=2.0e-3,
                                    muxpx=-0.846574929020762, muypy=0.846574929020762, mutpt=0.0),
    )
    sim.lattice.extend([
        elements.BeamMonitor("monitor", backend="h5"),
        elements.Drift(name="d1", ds=0.25, nslice=25),
        elements.Quad(name="q1", ds=1.0, k=1.0, nslice=25),
        elements.Drift(name="d2", ds=0.5, nslice=25),
        elements.Quad(name="q2", ds=1.0, k=-1.0, nslice=25),
        elements.Drift(name="d3", ds=0.25, nslice=25),
        elements.BeamMonitor("monitor", backend="h5"),
    ])
    sim.periods = periods
    sim.hook["after_period"] = lambda s: print(
        f"period {s.tracking_period}: s = {s.reference.s:.2f} m, sigma_x = {s.beam.to_df()['position_x'].std():.4e} m")
    sim.track_particles()
    sim.finalize()
    print("one-period transfer map (x, px, y, py, t, pt):")
    print(sim.lattice.transfer_map())
    return sim


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/fodo_api")
    ap.add_argument("--npart", type=int, default=100_000)
    a = ap.parse_args()
    main(a.out, a.npart)
