"""JobSpec radiation (ISR / CSR) and particle boundary blocks: validation, and the round trip through the engine.

Where the expected values come from: the rules are the spec's own (beamtrack.spec.job: Radiation,
ParticleBoundary, JobSpec); the engine settings are ImpactX's names (sim.isr, isr_order, isr_on_ref_part, csr,
csr_bins, particle_bc, bucket_length) that Simulation.from_spec must set from the spec and to_spec read back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from beamtrack.engine import Simulation
from beamtrack.spec import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[2]


def spec(**extra: Any) -> dict[str, Any]:
    """examples/fodo.json with a bunch charge (CSR needs one) and ``extra`` top-level blocks."""
    d = json.loads((ROOT / "examples" / "fodo.json").read_text())
    d = d.get("spec", d)
    d["beam"]["npart"] = 100
    d["beam"]["bunch_charge_C"] = 1e-9
    return {**d, **extra}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"radiation": {}}, "set isr and/or csr"),
        ({"radiation": {"csr": True, "isr_order": 2}}, "isr_order: does not apply while radiation.isr is off"),
        ({"radiation": {"isr": True, "csr_bins": 64}}, "csr_bins: does not apply while radiation.csr is off"),
        ({"radiation": {"isr": True, "isr_order": 4}}, "isr_order"),
        ({"radiation": {"isr": True}, "workers": 2}, "workers > 1 does not support radiation"),
        ({"boundary": {"particle_bc": "periodic"}}, "bucket_length_m"),
        ({"boundary": {"particle_bc": "periodic", "bucket_length_m": 0.0}}, "bucket_length_m"),
        ({"boundary": {"particle_bc": "open", "bucket_length_m": 1.0}}, "particle_bc"),
    ],
)
def test_bad_radiation_or_boundary_is_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec(spec(**extra))


def test_csr_needs_a_bunch_charge() -> None:
    d = spec(radiation={"csr": True})
    d["beam"]["bunch_charge_C"] = None
    with pytest.raises(SpecError, match="radiation.csr needs beam.bunch_charge_C"):
        load_spec(d)


def test_settings_reach_the_engine_and_round_trip(tmp_path: Path) -> None:
    s = load_spec(
        spec(
            radiation={"isr": True, "isr_order": 3, "isr_on_ref_part": True, "csr": True, "csr_bins": 64},
            boundary={"particle_bc": "reflecting", "bucket_length_m": 0.25},
        )
    )
    sim = Simulation.from_spec(s, tmp_path, kind="serial")
    assert (sim.isr, sim.isr_order, sim.isr_on_ref_part, sim.csr, sim.csr_bins) == (True, 3, True, True, 64)
    assert (sim.particle_bc, sim.bucket_length) == ("reflecting", 0.25)
    assert sim.to_spec(name=s.name) == s
    plain = Simulation.from_spec(load_spec(spec()), tmp_path / "plain", kind="serial")
    assert (plain.isr, plain.csr, plain.particle_bc) == (False, False, "open")
    assert plain.to_spec().radiation is None and plain.to_spec().boundary is None
