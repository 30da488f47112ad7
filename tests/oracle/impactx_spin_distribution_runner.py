"""Samples ImpactX 26.10's SpinvMF (the oracle venv); invoked as a subprocess by test_spin_oracle.py.

    .venv-impactx/bin/python impactx_spin_distribution_runner.py MUX MUY MUZ NPART OUT.npz

OUT.npz: spin (3 x NPART) of a beam drawn by add_particles(..., SpinvMF(MUX, MUY, MUZ)) and
kappa = SpinvMF.inverse_Langevin(|mu|).
"""

import sys

import numpy as np
from impactx import ImpactX, distribution


def main(mux, muy, muz, npart, out):
    sim = ImpactX()
    sim.space_charge = False
    sim.diagnostics = False
    sim.spin = True
    sim.init_grids()
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(250.0)
    d = distribution.Waterbag(lambdaX=1e-3, lambdaY=1e-3, lambdaT=1e-3, lambdaPx=1e-3, lambdaPy=1e-3, lambdaPt=1e-3)
    sim.add_particles(1e-12, d, npart, distribution.SpinvMF(mux, muy, muz))
    df = sim.beam.to_df(local=True)
    spin = np.stack([df[k].to_numpy() for k in ("spin_x", "spin_y", "spin_z")])
    kappa = distribution.SpinvMF.inverse_Langevin(float(np.sqrt(mux * mux + muy * muy + muz * muz)))
    np.savez(out, spin=spin, kappa=kappa)
    sim.finalize()


if __name__ == "__main__":
    main(float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
