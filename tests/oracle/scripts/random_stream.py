"""Beams drawn from AMReX's random stream and kicked by ISR, in either code (no seed anywhere: both draw from the
stream ImpactX() starts): a Gaussian and then a KV beam with spins added to it (the stream runs on), through a
strong bend with incoherent synchrotron radiation (ImpactX's RandomNormal per particle and slice). Writes
initial.npz (the drawn beam, as _output.write) and final.npz / moments.json after the bend."""

import os

import _output
from impactx import ImpactX, distribution, elements

sim = ImpactX()
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.isr = True
sim.isr_order = 3
sim.init_grids()
ref = sim.beam.ref
ref.set_species("electron").set_kin_energy_MeV(10.0e3)
kw = dict(lambdaX=1e-4, lambdaY=2e-4, lambdaT=1e-4, lambdaPx=1e-5, lambdaPy=2e-5, lambdaPt=1e-3)
sim.add_particles(1e-9, distribution.Gaussian(**kw, muxpx=0.2), 1500)
sim.add_particles(1e-9, distribution.KVdist(**kw), 500, distribution.SpinvMF(0.2, 0.1, 0.6))
_output.write(sim)
os.rename("final.npz", "initial.npz")
sim.lattice.append(elements.Sbend(name="bend", ds=2.0, rc=10.0, nslice=20))
sim.track_particles()
_output.write(sim)
sim.finalize()
