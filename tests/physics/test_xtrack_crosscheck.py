"""Cross-code check against xtrack (PyPI, 0.118): one FODO-like line tracked by both codes from
identical particles, compared per particle and after every element.

Which models are the same Hamiltonian (from both codes' sources and docs):
- ImpactX ChrDrift  <-> xtrack ``Drift(model="expanded")`` (the default "adaptive" resolves to it,
  xtrack/beam_elements/elements_src/drift.h): both H = -(1+delta) + (px^2+py^2)/(2(1+delta)), exact in
  the energy deviation, paraxial in px, py.
- ImpactX ExactDrift <-> xtrack ``Drift(model="exact")``: H = -sqrt((1+delta)^2 - px^2 - py^2).
- ImpactX ChrQuad <-> xtrack ``Quadrupole(model="mat-kick-mat")`` (the default, QUADRUPOLE_DEFAULT_MODEL
  in default_magnet_config.h): the expanded Hamiltonian above plus k1 (x^2 - y^2)/2, solved exactly with
  the chromatic strength k1/(1+delta) (MAD-X trrun's expanded dipole-quadrupole); with k1 inside the
  matrix part no kicks remain.
- ImpactX ExactSbend <-> xtrack ``Bend(model="bend-kick-bend", k0_from_h=True)`` with both edges off:
  the exact sector-bend body H = -(1+hx) sqrt((1+delta)^2 - px^2 - py^2) + h x + h^2 x^2/2 (Forest's
  exact map; ImpactX's has no edge effects). xtrack's default bend model ("rot-kick-rot") splits the
  body into drifts and kicks, which is a different (approximate) map.
Coordinates: x, y [m] and px, py (= P/p0) are the same in both codes; zeta = -beta0 t, ptau = -pt.

xtrack compiles one kernel for the line (tens of seconds on a cold cache), so the module builds ONE
line and is marked slow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E

xt = pytest.importorskip("xtrack")

pytestmark = [pytest.mark.physics, pytest.mark.slow]

LQ, LD, K1, LB, PHI_DEG = 0.4, 1.1, 0.6, 1.5, 12.0  # stable cell: f = 1/(K1 LQ) ~ 4 m
PERIODS = 3
RTOL, ATOL = 1e-10, 1e-15  # per coordinate; ATOL only guards coordinates that pass through ~0


def beamtrack_cell() -> list[E.Element]:
    return [
        E.ChrQuad(ds=LQ, k=K1, nslice=2),
        E.ChrDrift(ds=LD),
        E.ExactSbend(ds=LB, phi=PHI_DEG, nslice=2),
        E.ExactDrift(ds=LD),
        E.ChrQuad(ds=LQ, k=-K1),
        E.ChrDrift(ds=LD),
        E.ExactSbend(ds=LB, phi=PHI_DEG),
        E.ExactDrift(ds=LD),
    ]


def xtrack_cell() -> list[object]:
    phi = math.radians(PHI_DEG)

    def bend() -> object:
        return xt.Bend(
            length=LB, angle=phi, k0_from_h=True, model="bend-kick-bend", edge_entry_active=0, edge_exit_active=0
        )

    return [
        xt.Quadrupole(length=LQ, k1=K1, model="mat-kick-mat"),
        xt.Drift(length=LD, model="expanded"),
        bend(),
        xt.Drift(length=LD, model="exact"),
        xt.Quadrupole(length=LQ, k1=-K1, model="mat-kick-mat"),
        xt.Drift(length=LD, model="expanded"),
        bend(),
        xt.Drift(length=LD, model="exact"),
    ]


def initial(n: int = 300) -> np.ndarray:
    """x, px, y, py, t, pt with amplitudes where the nonlinear terms matter (px, py up to 1e-2, pt 1e-2)."""
    rng = np.random.default_rng(2024)
    scale = np.array([3e-3, 1e-2, 3e-3, 1e-2, 1e-2, 1e-2])
    return rng.uniform(-1, 1, (6, n)) * scale[:, None]


@pytest.fixture(scope="module")
def runs() -> dict[str, np.ndarray]:
    """Both codes over PERIODS cells; coordinates after every element (beamtrack order x, px, y, py, t, pt)."""
    z = initial()
    x, px, y, py, t, pt = z
    out: dict[str, np.ndarray] = {"z0": z}

    def run_beamtrack(cell: list[E.Element]) -> tuple[np.ndarray, Simulation]:
        sim = Simulation(kind="serial", diagnostics=False)
        sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
        sim.beam.add_n_particles(x, y, t, px, py, pt, qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0)
        sim.lattice.extend(cell)
        sim.periods = PERIODS
        snaps: list[np.ndarray] = []
        sim.hook["after_element"] = lambda s: snaps.append(np.asarray(s.beam.real[:6])[[0, 3, 1, 4, 2, 5]].copy())
        sim.track_particles()
        assert (np.asarray(sim.beam.state) == 0).all()
        return np.array(snaps), sim

    out["bt"], sim = run_beamtrack(beamtrack_cell())
    ref = sim.reference
    beta0 = ref.beta
    out["beta0"] = np.array(beta0)
    out["s_ref"] = np.array(ref.s)

    line = xt.Line(elements=xtrack_cell() * 1, element_names=[f"e{i}" for i in range(8)])
    mass_eV = ref.mass_MeV * 1e6
    line.particle_ref = xt.Particles(mass0=mass_eV, q0=1, p0c=ref.beta_gamma * mass_eV)
    line.build_tracker()
    p = line.build_particles(x=x, px=px, y=y, py=py, zeta=-beta0 * t, ptau=-pt)
    np.testing.assert_allclose(p.beta0[0], beta0, rtol=1e-15)
    snaps = []
    for _ in range(PERIODS):
        line.track(p, num_turns=1, turn_by_turn_monitor="ONE_TURN_EBE")
        rec = line.record_last_track
        for i in range(1, 9):  # the record holds element entries 0..7 and the end
            snaps.append(
                np.array(
                    [rec.x[:, i], rec.px[:, i], rec.y[:, i], rec.py[:, i], -rec.zeta[:, i] / beta0, -rec.ptau[:, i]]
                )
            )
    assert (p.state > 0).all()
    out["xt"] = np.array(snaps)

    # sensitivity: the same line with ChrDrift in place of ExactDrift must NOT agree with xtrack
    cell = beamtrack_cell()
    cell[3] = E.ChrDrift(ds=LD)
    cell[7] = E.ChrDrift(ds=LD)
    out["bt_expanded"], _ = run_beamtrack(cell)
    return out


def test_reference_particle_matches(runs: dict[str, np.ndarray]) -> None:
    """Same mass and energy in both codes; s after the periods is the sum of the lengths."""
    assert runs["s_ref"] == pytest.approx(PERIODS * (2 * LQ + 4 * LD + 2 * LB), rel=1e-15)


def test_every_element_agrees_per_particle(runs: dict[str, np.ndarray]) -> None:
    """After each of the 3 x 8 elements, every particle and coordinate agrees to RTOL relative."""
    bt, xtr = runs["bt"], runs["xt"]
    assert bt.shape == xtr.shape == (PERIODS * 8, 6, 300)
    rel = np.abs(bt - xtr) / np.maximum(np.abs(xtr), ATOL / RTOL)
    worst = np.unravel_index(np.argmax(rel), rel.shape)
    assert rel.max() < RTOL, f"max relative difference {rel.max():.3e} at element/coord/particle {worst}"


def test_comparison_is_sensitive_to_the_model(runs: dict[str, np.ndarray]) -> None:
    """Replacing ExactDrift by ChrDrift (a different Hamiltonian at |p_perp| ~ 1e-2) breaks agreement by
    many orders of magnitude more than RTOL: the check above distinguishes the models."""
    rel = np.abs(runs["bt_expanded"][-1] - runs["xt"][-1]) / np.maximum(np.abs(runs["xt"][-1]), ATOL / RTOL)
    assert rel.max() > 1e4 * RTOL
