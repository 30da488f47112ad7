"""A MAD-X file (written here) read by RefPart.load_file and lattice.load_file: variables and expressions, BEAM
(proton, total energy), DRIFT, QUADRUPOLE (tilted), SBEND (with edges and FINT/HGAP; with K1), DIPEDGE,
SOLENOID (KSI), KICKER / HKICKER / VKICKER with length, MONITOR with length, MARKER, nested and repeated lines."""

import _output
import numpy as np
from impactx import ImpactX

MADX = """
! a transfer line in MAD-X's syntax
TITLE, 'beamtrack oracle line';
lq = 0.4;  kq := 1.8;
ang = 0.05 * 2;  // total bend angle
BEAM, PARTICLE=PROTON, ENERGY=1.2;
D1: DRIFT, L=0.5;
D2: D1, L=0.25;
QF: QUADRUPOLE, L=lq, K1=kq, TILT=0.01;
QD: QUADRUPOLE, L=lq, K1=-kq;
B1: SBEND, L=1.2, ANGLE=ang/2, E1=ang/4, E2=0.02, FINT=0.4, HGAP=0.02;
B2: SBEND, L=0.8, ANGLE=-0.03, K1=0.3;
E1: DIPEDGE, H=0.1, E1=0.03, FINT=0.5, HGAP=0.015;
S1: SOLENOID, L=0.6, KSI=0.6*0.7;
K1: KICKER, L=0.2, HKICK=1e-4, VKICK=-2e-4;
K2: HKICKER, KICK=5e-5;
K3: VKICKER, L=0.1, VKICK=3e-5;
M1: MONITOR, L=0.1;
P1: MARKER;
CELL: LINE=(QF, D1, B1, D2, QD, D1, E1, B2);
LINE1: LINE=(P1, 2*CELL, S1, K1, K2, K3, M1, 2*(D2, QF));
USE, SEQUENCE=LINE1;
"""
with open("line.madx", "w") as f:
    f.write(MADX)

sim = ImpactX()
sim.space_charge = False
sim.slice_step_diagnostics = False
sim.init_grids()

ref = sim.beam.ref.load_file("line.madx")
rng = np.random.default_rng(23)
n = 2000
x, y, t = rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n)
px, py, pt = rng.normal(0.0, 1e-4, n), rng.normal(0.0, 1e-4, n), rng.normal(0.0, 1e-4, n)
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-10)
sim.lattice.load_file("line.madx", nslice=3)
sim.track_particles()
_output.write(sim)
sim.finalize()
