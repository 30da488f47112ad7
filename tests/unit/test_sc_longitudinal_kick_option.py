"""ImpactX's ``algo.space_charge.apply_longitudinal_kick`` through the engine, the JobSpec and beamtrack.impactx.

Where the expected values come from: ImpactX 26.10's GatherAndPush reads the option for 2.5D only (its True_2p5D
branch skips the potential gather when it is false, so pt -= 0) and keeps the other models' longitudinal kicks;
beamtrack refuses false for those models rather than ignore it. The numbers against ImpactX itself are in
tests/oracle/test_space_charge_2p5d_oracle.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart
from beamtrack.engine.spacecharge import SpaceChargeSolver
from beamtrack.engine.spacecharge.solver import SpaceChargeError
from beamtrack.impactx import ImpactX
from beamtrack.spec import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[2]


def spec(**sc: Any) -> dict[str, Any]:
    """examples/fodo.json with a small beam, a bunch charge and a space-charge block ``sc``."""
    d = json.loads((ROOT / "examples" / "fodo.json").read_text())
    d = d.get("spec", d)
    d["beam"]["npart"] = 100
    d["beam"]["bunch_charge_C"] = 1e-9
    d["space_charge"] = {"n_cell": [8, 8, 8], **sc}
    return d


def beam(n: int = 400) -> tuple[ParticleContainer, RefPart]:
    rng = np.random.default_rng(3)
    ref = RefPart().set_species("proton").set_kin_energy_MeV(10.0)
    b = ParticleContainer(qm=ref.charge / ref.mass)
    coords = rng.standard_normal((6, n)) * np.array([1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4])[:, None]
    b.add_n_particles(*coords, qm=ref.charge / ref.mass, bunch_charge=1e-9)
    return b, ref


@pytest.mark.parametrize("mode", ["3D", "2D", "Gauss3D", "Gauss2.5D"])
def test_false_is_refused_outside_2p5d(mode: str) -> None:
    with pytest.raises(SpaceChargeError, match="apply_longitudinal_kick = False applies to 2.5D"):
        SpaceChargeSolver(mode=mode, apply_longitudinal_kick=False)
    with pytest.raises(SpecError, match="apply_longitudinal_kick false applies to space_charge.mode 2.5D only"):
        load_spec(spec(mode=mode, apply_longitudinal_kick=False))


def test_2p5d_without_the_kick_leaves_pt_and_keeps_the_transverse_kick() -> None:
    (b_on, ref), (b_off, _) = beam(), beam()
    pt0, px0 = b_on.real[5].copy(), b_on.real[3].copy()
    SpaceChargeSolver(mode="2.5D", n_cell=[16, 16, 1], kind="serial").kick(b_on, ref, 0.1)
    SpaceChargeSolver(mode="2.5D", n_cell=[16, 16, 1], kind="serial", apply_longitudinal_kick=False).kick(
        b_off, ref, 0.1
    )
    np.testing.assert_array_equal(b_off.real[5], pt0)
    assert np.abs(b_on.real[5] - pt0).max() > 0.0
    np.testing.assert_array_equal(b_off.real[3], b_on.real[3])  # the same transverse kick, bit for bit
    assert np.abs(b_on.real[3] - px0).max() > 0.0


def test_spec_reaches_the_engine_and_round_trips(tmp_path: Path) -> None:
    s = load_spec(spec(mode="2.5D", apply_longitudinal_kick=False))
    sim = Simulation.from_spec(s, tmp_path, kind="serial")
    assert sim.space_charge_apply_longitudinal_kick is False
    assert SpaceChargeSolver.from_simulation(sim).apply_longitudinal_kick is False
    assert sim.to_spec(name=s.name) == s
    plain = Simulation.from_spec(load_spec(spec(mode="2.5D")), tmp_path / "plain", kind="serial")
    assert plain.space_charge_apply_longitudinal_kick is True
    assert plain.to_spec().space_charge.apply_longitudinal_kick is True  # type: ignore[union-attr]


def test_impactx_drop_in_accepts_a_bool_only() -> None:
    sim = ImpactX(kind="serial")
    assert sim.space_charge_apply_longitudinal_kick is True  # ImpactX's default
    sim.space_charge_apply_longitudinal_kick = False
    assert sim.space_charge_apply_longitudinal_kick is False
    with pytest.raises(TypeError, match="must be a bool"):
        sim.space_charge_apply_longitudinal_kick = "false"
