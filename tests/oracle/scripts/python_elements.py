"""Elements written in Python through ImpactX's interfaces: a Programmable pushed by ``beam_particles(pti, refpart)``
(the particle iterator's ``soa().to_xp()`` arrays, written in place) with its ``ref_particle`` (and one without: the reference stays), a LinearMap built from
a Map6x6 (``symplectic`` checked), and a before_period hook that changes elements found by ``lattice.select``.
An aperture loses particles first, so the iterator sees only the particles alive; a BeamMonitor and finalize()
write openPMD files (diags/openPMD/mon.h5, particles_lost.h5)."""

import _output
import numpy as np
from impactx import ImpactX, Map6x6, elements

sim = ImpactX()
sim.space_charge = False
sim.slice_step_diagnostics = True
sim.init_grids()

ref = sim.beam.ref
ref.set_species("electron").set_kin_energy_MeV(250.0)
rng = np.random.default_rng(5)
n = 3000
x, y, t = rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n), rng.normal(0.0, 1e-3, n)
px, py, pt = rng.normal(0.0, 1e-4, n), rng.normal(0.0, 1e-4, n), rng.normal(0.0, 2e-4, n)
qm_eev = ref.charge_qe / (ref.mass_MeV * 1e6)
sim.beam.add_n_particles(x, y, t, px, py, pt, qm_eev, bunch_charge=1e-10)


def sextupole_like_drift(pge, pti, refpart):
    """Half drift, a kick px += k2 (x^2 - y^2), py -= 2 k2 x y, half drift (per slice)."""
    soa = pti.soa().to_xp()
    x, y, t = soa.real["position_x"], soa.real["position_y"], soa.real["position_t"]
    px, py, pt = soa.real["momentum_x"], soa.real["momentum_y"], soa.real["momentum_t"]
    assert soa.idcpu.shape == x.shape and soa.real["weighting"].shape == x.shape
    ds = pge.ds / pge.nslice
    betgam2 = refpart.pt**2 - 1.0
    for h in (0.5 * ds, None, 0.5 * ds):
        if h is None:
            k2 = 40.0 * ds
            px[:] += k2 * (x * x - y * y)
            py[:] -= 2.0 * k2 * x * y
            continue
        x[:] += h * px
        y[:] += h * py
        t[:] += (h / betgam2) * pt


def straight_ref(pge, refpart):
    ds = pge.ds / pge.nslice
    step = ds / (refpart.pt**2 - 1.0) ** 0.5
    refpart.x += step * refpart.px
    refpart.y += step * refpart.py
    refpart.z += step * refpart.pz
    refpart.t -= step * refpart.pt
    refpart.s += ds


pge = elements.Programmable(name="sext")
pge.nslice = 4
pge.ds = 0.3
pge.beam_particles = lambda pti, refpart: sextupole_like_drift(pge, pti, refpart)
pge.ref_particle = lambda refpart: straight_ref(pge, refpart)


def vertical_kick(pti, refpart):
    py = pti.soa().to_xp().real["momentum_y"]
    py[:] += 2e-5


kick = elements.Programmable(name="kick")  # beam_particles only: ImpactX leaves the reference where it is
kick.ds = 0.2
kick.beam_particles = vertical_kick

R = Map6x6.identity()
ds_map = 0.4
R[1, 2] = ds_map
R[3, 4] = ds_map
R[5, 6] = ds_map / (ref.pt**2 - 1.0)
drift_map = elements.LinearMap(name="drift_map", R=R, ds=ds_map)
assert drift_map.symplectic
R_bad = Map6x6.identity()
R_bad[1, 1] = 1.001
assert not elements.LinearMap(R=R_bad).symplectic

sim.lattice.extend(
    [
        elements.Aperture(name="ap", aperture_x=2.5e-3, aperture_y=2.5e-3, shape="elliptical"),
        elements.Quad(name="qf", ds=0.3, k=2.0, nslice=2),
        pge,
        kick,
        drift_map,
        elements.Drift(name="d1", ds=0.5),
        elements.Quad(name="qd", ds=0.3, k=-2.0, nslice=2),
        drift_map,
        elements.BeamMonitor("mon", backend="h5"),
    ]
)
sim.periods = 3


def before_period(sim):
    if sim.tracking_period > 0:
        sim.lattice.select(name="d1")[0].ds = 0.5 + 0.1 * sim.tracking_period
        for q in sim.lattice.select(kind="Quad").select(name=r"q[fd]"):
            q.k *= 1.05


sim.hook["before_period"] = before_period
sim.track_particles()
assert len(sim.lattice.select(kind=["Drift", "Quad"])) == 3
assert len(sim.lattice.select(kind=elements.LinearMap, name="d1")) == 3
_output.write(sim)
sim.finalize()
