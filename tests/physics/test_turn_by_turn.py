"""Turn-by-turn data and its NAFF tune against twiss's tune from the one-turn map.

Expected numbers: the fractional part of ``twiss().qx`` (the eigen-phase of the tracked one-turn map,
itself equal to xtrack's to 1e-9, test_twiss_xtrack.py). A particle at small amplitude in a ring
whose transverse map is linear on momentum (chromatic quads and drifts at pt = 0) turns with exactly
that tune; NAFF with a Hann window over 1024 turns resolves it to ~1e-10, well inside 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E
from beamtrack.engine.optics import TurnByTurnMonitor, track_turn_by_turn

pytestmark = [pytest.mark.physics]


def ring(sextupoles: bool) -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    for _ in range(4):
        sim.lattice.extend(
            [
                E.ChrQuad(ds=0.4, k=0.6, nslice=2),
                E.ChrDrift(ds=1.1),
                E.ExactSbend(ds=1.5, phi=12.0),
                E.ChrQuad(ds=0.4, k=-0.54),
                E.ChrDrift(ds=1.1),
                E.ExactSbend(ds=1.5, phi=12.0),
            ]
        )
        if sextupoles:
            sim.lattice.append(E.Multipole(multipole=3, K_normal=0.8))
    return sim


def _beam(sim: Simulation, amp: float) -> None:
    sim.beam.add_n_particles(
        x=[amp, 2 * amp, amp],
        y=[amp, amp, 2 * amp],
        t=[0.0] * 3,
        px=[0.0] * 3,
        py=[0.0] * 3,
        pt=[0.0] * 3,
        qm=sim.reference.qm_ratio_SI,
        bunch_charge=1e-12,
    )


@pytest.mark.parametrize("sextupoles", [False, True])
def test_naff_tune_equals_twiss_tune(sextupoles: bool) -> None:
    """Every tracked particle's NAFF tune is twiss's fractional tune to 1e-6 (amplitude 1e-6 m with
    sextupoles: the amplitude detuning ~ (K2 beta^2 x)^2 is far below 1e-6)."""
    sim = ring(sextupoles)
    tw = sim.lattice.twiss(chromaticity=False)
    _beam(sim, 1e-6 if sextupoles else 1e-4)
    mon = track_turn_by_turn(sim, 1024, ids=[1, 2, 3])
    assert mon.turns == list(range(1025))
    q = mon.tunes(twiss=tw)
    np.testing.assert_allclose(q["qx"], tw.qx % 1.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(q["qy"], tw.qy % 1.0, rtol=0, atol=1e-6)
    # the analysis is sensitive: a 1e-4 change of the quad strength moves the tune by more than the tolerance
    sim2 = ring(sextupoles)
    sim2.lattice[0].k = 0.6 * (1 + 1e-3)
    assert abs(sim2.lattice.twiss(chromaticity=False).qx - tw.qx) > 1e-5


def test_sampling_every_n_periods_and_reduced_rows() -> None:
    """period_sample_intervals=3 over 10 periods samples turns 0, 3, 6, 9; the reduced rows are the
    beam's moments at those turns (mean_x recomputed from the recorded particles)."""
    sim = ring(False)
    _beam(sim, 1e-4)
    mon = track_turn_by_turn(sim, 10, period_sample_intervals=3, reduced=True)
    assert mon.turns == [0, 3, 6, 9]
    assert sim.tracking_period == 10
    red = mon.reduced_df()
    assert list(red["turn"]) == [0, 3, 6, 9]
    np.testing.assert_allclose(red["mean_x"], mon.coordinates("x").mean(axis=1), rtol=1e-12, atol=1e-20)
    df = mon.to_df()
    assert len(df) == 4 * 3 and set(df["id"]) == {1, 2, 3}
    with pytest.raises(ValueError, match="period_sample_intervals=1"):
        mon.tunes()


def test_monitor_chains_an_existing_hook_and_restores_it() -> None:
    """A user's after_period hook still runs every period while the monitor is attached, and is back after."""
    sim = ring(False)
    _beam(sim, 1e-4)
    calls: list[int] = []

    def hook(s: Simulation) -> None:
        calls.append(s.tracking_period)

    sim.hook["after_period"] = hook
    with TurnByTurnMonitor(sim, ids=[2]) as mon:
        sim.track_particles(periods=4)
    assert calls == [0, 1, 2, 3] and mon.turns == [0, 1, 2, 3, 4]
    assert sim.hook["after_period"] is hook
    with pytest.raises(KeyError, match="not in the beam"):
        TurnByTurnMonitor(sim, ids=[99])


def test_an_empty_beam_or_nothing_to_record_is_an_error() -> None:
    """A monitor of a beam with no particles, or with no ids and no reduced rows, would record
    nothing and return empty tunes: a ValueError instead."""
    sim = ring(sextupoles=False)
    with pytest.raises(ValueError, match="no particles"):
        track_turn_by_turn(sim, 3)
    _beam(sim, 1e-4)
    with pytest.raises(ValueError, match="nothing to record"):
        TurnByTurnMonitor(sim, ids=[])
    assert TurnByTurnMonitor(sim, ids=[], reduced=True).ids.size == 0
