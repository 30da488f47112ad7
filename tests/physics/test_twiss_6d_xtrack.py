"""6D twiss of rings with RF against xtrack's ``Line.twiss(method="6d")`` (PyPI, 0.118).

The lattices are test_twiss_xtrack.py's FODO ring and ring with bends and sextupoles (the element
pairs shown per particle to 1e-10 in test_xtrack_crosscheck.py) with one thin RF gap, ImpactX's
ShortRF in beamtrack and xt.Cavity in xtrack. The mapping of the gap, checked per particle in
``test_shortrf_is_xtrack_cavity``: voltage [V] = V m c^2 / q, frequency = freq, xtrack's phase [rad]
= radians(phase + 90) (ShortRF: dE = V m c^2 cos(k t + phase), xt.Cavity: dE = q V sin(phase - k
zeta / beta0), zeta = -beta0 t); it is exact for phase = -90 or 90 deg, where the ImpactX reference
gains no energy (ShortRF rescales the momenta to the new reference otherwise, and a ring then has no
periodic solution). Below transition (both rings here) the stable phase is -90 deg (xtrack phase 0).

The ring with bends also runs with ImpactX's linear Buncher, given to xtrack as the
FirstOrderTaylorMap of its matrix (checked per particle in ``test_buncher_is_xtrack_taylor_map``).
RFCavity (a field-map cavity of finite length) has no exact xtrack counterpart and is not compared.

Expected numbers are xtrack's, at fine steps (step_W_sigma = 1e-3, delta_disp = 1e-6, as in
test_twiss_xtrack.py: xtrack's own truncation error is then < 1e-9 relative); beamtrack's maps are
central differences at eps = 1e-7. Relative deviations of a column are taken against its largest
|value|. Measured deviations (this version): qs 3e-11, qx 2e-11, betas 1e-10, dispersion 1.5e-9 of
its largest value, dqx 2e-7 (differences at delta = +-5e-5 in both codes); Buncher ring: qs 8e-12,
betas 1.5e-10, dispersion 1.3e-9.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E
from beamtrack.engine.optics import Prober, TwissTable, UnstableMotionError
from test_twiss_xtrack import XT_FINE, fodo, sextupole_ring

xt = pytest.importorskip("xtrack")

pytestmark = [pytest.mark.physics]

V_RF, F_RF = 1e-4, 100e6  # normalized voltage (q V / (m c^2)) and frequency [Hz] of the gap
COLUMNS = ["betx", "alfx", "gamx", "bety", "alfy", "gamy", "dx", "dpx", "mux", "muy", "muzeta"]
CASES = {"fodo": fodo, "sextupole_ring": sextupole_ring}


def _sim(elements: list[E.Element]) -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    sim.lattice.extend(elements)
    return sim


def _xt_line(elements: list[Any], sim: Simulation) -> Any:
    ref = sim.reference
    mass_eV = ref.mass_MeV * 1e6
    line = xt.Line(elements=elements, element_names=[f"e{i}" for i in range(len(elements))])
    line.particle_ref = xt.Particles(mass0=mass_eV, q0=ref.charge_qe, p0c=ref.beta_gamma * mass_eV)
    line.build_tracker()
    return line


def _xt_cavity(sim: Simulation, phase_deg: float) -> Any:
    """ImpactX's ShortRF(V_RF, F_RF, phase_deg) as xtrack's Cavity."""
    ref = sim.reference
    return xt.Cavity(
        voltage=V_RF * ref.mass_MeV * 1e6 / ref.charge_qe, frequency=F_RF, phase=math.radians(phase_deg + 90.0)
    )


def _ring(build: Any, phase_deg: float = -90.0) -> tuple[Simulation, Any]:
    bt, xl = build()
    sim = _sim([*bt, E.ShortRF(V=V_RF, freq=F_RF, phase=phase_deg, name="cav")])
    return sim, _xt_line([*xl, _xt_cavity(sim, phase_deg)], sim)


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[TwissTable, Any]]:
    """Per case: beamtrack's default twiss (6D: the ring has RF) and xtrack's 6d twiss at fine steps."""
    out = {}
    for name, build in CASES.items():
        sim, line = _ring(build)
        out[name] = (sim.lattice.twiss(), line.twiss(method="6d", **XT_FINE))
    return out


def _rel(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("phase", [-90.0, 90.0])
def test_shortrf_is_xtrack_cavity(phase: float) -> None:
    """One pass of particles through ShortRF and the mapped xt.Cavity: the same coordinates to 1e-15
    (ptau = -pt, zeta = -beta0 t), with an energy change of 1e-4 to show the kick is not 0."""
    sim = _sim([E.ShortRF(V=V_RF, freq=F_RF, phase=phase)])
    ref = sim.reference
    z = np.zeros((6, 4))
    z[0], z[1] = [0.0, 1e-3, 0.0, -2e-3], [0.0, 2e-4, 0.0, 1e-4]
    z[4], z[5] = [0.0, 0.05, -0.1, 0.3], [0.0, 1e-4, -2e-4, 3e-4]
    _, rec = Prober(sim.lattice, ref).track(z)
    out = rec[-1]
    line = _xt_line([_xt_cavity(sim, phase)], sim)
    mass_eV = ref.mass_MeV * 1e6
    p = xt.Particles(
        mass0=mass_eV,
        q0=ref.charge_qe,
        p0c=ref.beta_gamma * mass_eV,
        x=z[0],
        px=z[1],
        zeta=-ref.beta * z[4],
        ptau=-z[5],
    )
    line.track(p)
    np.testing.assert_allclose(-out[5], p.ptau, rtol=0, atol=1e-15)
    np.testing.assert_allclose(-ref.beta * out[4], p.zeta, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[1], p.px, rtol=0, atol=1e-15)
    assert np.max(np.abs(out[5] - z[5])) > 1e-5


@pytest.mark.parametrize("case", list(CASES))
def test_tunes_match_xtrack(results: dict[str, Any], case: str) -> None:
    """Synchrotron tune qs to 1e-8 and total tunes qx, qy to 1e-9 of xtrack's 6d twiss."""
    tw, ref = results[case]
    assert tw.method == "6d"
    assert abs(tw.qs - ref.qs) < 1e-8 and tw.qs > 1e-3
    assert abs(tw.qx - ref.qx) < 1e-9 and abs(tw.qy - ref.qy) < 1e-9


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("col", COLUMNS)
def test_lattice_functions_match_xtrack(results: dict[str, Any], case: str, col: str) -> None:
    """beta, alpha, gamma, 6D dispersion and the three mode phases at every boundary to 1e-8 relative."""
    tw, ref = results[case]
    assert len(tw) == len(ref.s)
    if col in ("dx", "dpx") and case == "fodo":
        assert np.max(np.abs(tw[col])) < 1e-12 and np.max(np.abs(ref[col])) < 1e-9  # no bends: no dispersion
        return
    assert _rel(tw[col], ref[col]) < 1e-8


@pytest.mark.parametrize("case", list(CASES))
def test_slip_factor_matches_xtrack(results: dict[str, Any], case: str) -> None:
    """Slip factor, slip_factor_dzeta_ddelta and bets0 (negative: below transition) to 1e-8 relative;
    the momentum compaction of the ring with bends to 1e-8 relative, that of the FODO (no bends) 0
    to 1e-10 (xtrack's is 5e-11 there, from its finite steps)."""
    tw, ref = results[case]
    assert tw.slip_factor == pytest.approx(ref.slip_factor, rel=1e-8)
    assert tw.slip_factor_dzeta_ddelta == pytest.approx(ref.slip_factor_dzeta_ddelta, rel=1e-8)
    assert tw.bets0 == pytest.approx(ref.bets0, rel=1e-8) and tw.bets0 < 0
    if case == "fodo":
        assert abs(tw.momentum_compaction_factor) < 1e-10 and abs(ref.momentum_compaction_factor) < 1e-10
    else:
        assert tw.momentum_compaction_factor == pytest.approx(ref.momentum_compaction_factor, rel=1e-8)
        assert tw.momentum_compaction_factor > 0


@pytest.mark.parametrize("case", list(CASES))
def test_chromaticity_matches_xtrack(results: dict[str, Any], case: str) -> None:
    """dQ/ddelta of the 6D off-momentum orbits (xtrack's zeta-shift construction) to 1e-6."""
    tw, ref = results[case]
    assert abs(tw.dqx - ref.dqx) < 1e-6 and abs(tw.dqy - ref.dqy) < 1e-6
    assert abs(tw.dqy) > 0.1


def test_unstable_rf_phase_is_reported() -> None:
    """Below transition the gap at phase +90 deg debunches: the 6D map has real eigenvalues (xtrack's
    eigenvalues of the same ring: 0.914, 1.094), a typed error, not NaN."""
    sim, _ = _ring(fodo, phase_deg=90.0)
    with pytest.raises(UnstableMotionError, match="6D one-turn map"):
        sim.lattice.twiss()


def test_accelerating_rf_has_no_periodic_solution() -> None:
    """Off the zero crossing ShortRF gives the reference energy every turn: a ValueError naming it."""
    sim, _ = _ring(fodo, phase_deg=-60.0)
    with pytest.raises(ValueError, match="energy changes over one period"):
        sim.lattice.twiss(chromaticity=False)


def test_6d_and_4d_agree_without_dispersion_at_the_rf(results: dict[str, Any]) -> None:
    """On the FODO (no dispersion, so no synchro-betatron coupling) the 6D transverse functions equal
    the 4D ones of the ring without its gap (to 1e-12), and method='4d' on the ring with RF refuses."""
    tw6, _ = results["fodo"]
    bt, _ = fodo()
    tw4 = _sim(bt).lattice.twiss(chromaticity=False)
    for col in ("betx", "alfx", "bety", "alfy", "mux", "muy"):
        np.testing.assert_allclose(
            tw6[col].iloc[:-2], tw4[col].iloc[:-1], rtol=0, atol=1e-12 * np.max(np.abs(tw4[col]))
        )
    sim, _ = _ring(fodo)
    with pytest.raises(NotImplementedError, match="ShortRF cav"):
        sim.lattice.twiss(method="4d")


K_BUNCHER = 2.0 * math.pi * F_RF / 299792458.0  # RF wavenumber [1/m] of the Buncher


def _xt_buncher(sim: Simulation) -> Any:
    """ImpactX's Buncher(V_RF, K_BUNCHER) (px += k V / (2 (beta gamma)^2) x, the same in y; pt -= k V t)
    as xtrack's FirstOrderTaylorMap, whose matrix acts on (x, px, y, py, tau, ptau) (xtrack's
    firstordertaylormap.h: tau = zeta / beta0 = -t, ptau = -pt)."""
    ref = sim.reference
    m1 = np.eye(6)
    m1[1, 0] = m1[3, 2] = K_BUNCHER * V_RF / (2.0 * ref.beta_gamma**2)
    m1[5, 4] = -K_BUNCHER * V_RF
    return xt.FirstOrderTaylorMap(m1=m1)


def test_buncher_is_xtrack_taylor_map() -> None:
    """One pass through Buncher and its FirstOrderTaylorMap: the same coordinates to 1e-15."""
    sim = _sim([E.Buncher(V=V_RF, k=K_BUNCHER)])
    ref = sim.reference
    z = np.zeros((6, 3))
    z[0], z[2], z[4], z[5] = [1e-3, 0.0, -2e-3], [0.0, 2e-3, 1e-3], [0.05, -0.1, 0.3], [1e-4, 0.0, -2e-4]
    _, rec = Prober(sim.lattice, ref).track(z)
    out = rec[-1]
    line = _xt_line([_xt_buncher(sim)], sim)
    mass_eV = ref.mass_MeV * 1e6
    p = xt.Particles(
        mass0=mass_eV, q0=ref.charge_qe, p0c=ref.beta_gamma * mass_eV, x=z[0], y=z[2], zeta=-ref.beta * z[4], ptau=-z[5]
    )
    line.track(p)
    np.testing.assert_allclose(-out[5], p.ptau, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[1], p.px, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[3], p.py, rtol=0, atol=1e-15)


def test_buncher_ring_matches_xtrack() -> None:
    """The ring with bends and a Buncher (dispersion at the RF: synchro-betatron coupled modes) against
    xtrack's 6d twiss with the Buncher as a FirstOrderTaylorMap: qs to 1e-8, qx, qy to 1e-9, lattice
    functions to 1e-8 relative; the 6D betx differs from the 4D one of the ring without RF (> 1e-6)."""
    bt, xl = sextupole_ring()
    sim = _sim([*bt, E.Buncher(V=V_RF, k=K_BUNCHER, name="buncher")])
    tw = sim.lattice.twiss(chromaticity=False)
    ref = _xt_line([*xl, _xt_buncher(sim)], sim).twiss(method="6d", **XT_FINE)
    assert tw.method == "6d" and tw.qs > 1e-3
    assert abs(tw.qs - ref.qs) < 1e-8
    assert abs(tw.qx - ref.qx) < 1e-9 and abs(tw.qy - ref.qy) < 1e-9
    for col in ("betx", "alfx", "bety", "alfy", "dx", "dpx", "mux", "muy", "muzeta"):
        assert _rel(tw[col], ref[col]) < 1e-8, col
    tw4 = _sim(bt).lattice.twiss(chromaticity=False)
    assert _rel(tw["betx"].iloc[:-2], tw4["betx"].iloc[:-1]) > 1e-6
