"""The limits a worker enforces while a job runs (beamtrack.workers.runner), and the resource model
they share with the submit-time check (beamtrack.spec.resources). Issue 8, item 5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from beamtrack.spec import load_spec
from beamtrack.spec.resources import BYTES_PER_PARTICLE, MONITOR_BYTES_PER_PARTICLE, estimate
from beamtrack.workers.runner import JobLimits, limit_exceeded, resident_mb, tree_bytes

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def fodo(**beam) -> dict:
    spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec["beam"].update(beam)
    return spec


def test_no_limit_no_error(tmp_path: Path) -> None:
    assert limit_exceeded(JobLimits(), elapsed_s=1e9, out_dir=tmp_path) == ""


def test_each_limit_names_itself(tmp_path: Path) -> None:
    (tmp_path / "diags").mkdir()
    (tmp_path / "diags" / "big.h5").write_bytes(b"\0" * (3 * 2**20))
    assert tree_bytes(tmp_path) == 3 * 2**20
    assert limit_exceeded(JobLimits(wall_s=10), elapsed_s=11, out_dir=tmp_path).startswith("wall-clock limit")
    # this test process holds more than 1 MiB resident
    assert resident_mb() > 1
    assert limit_exceeded(JobLimits(memory_mb=1), elapsed_s=0, out_dir=tmp_path).startswith("out of memory")
    msg = limit_exceeded(JobLimits(disk_mb=2), elapsed_s=0, out_dir=tmp_path)
    assert msg.startswith("disk quota") and "BEAMTRACK_JOB_DISK_MB" in msg
    assert limit_exceeded(JobLimits(disk_mb=4, memory_mb=1e6, wall_s=100), elapsed_s=1, out_dir=tmp_path) == ""


def test_tree_bytes_does_not_follow_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"x" * 1000)
    job = tmp_path / "job"
    job.mkdir()
    (job / "link").symlink_to(outside)
    assert tree_bytes(job) == 0


def test_estimate_scales_with_the_fields_that_drive_it() -> None:
    """Memory grows by BYTES_PER_PARTICLE per particle; monitor output by 72 B per particle and
    snapshot (ImpactX's 9 float64 records); the wall-time bound by periods."""
    a, b = estimate(load_spec(fodo(npart=1000))), estimate(load_spec(fodo(npart=2000)))
    assert b.memory.amount - a.memory.amount == 1000 * BYTES_PER_PARTICLE
    snapshots = sum(1 for el in load_spec(fodo()).lattice.elements if el.type == "BeamMonitor")
    periods = load_spec(fodo()).lattice.periods
    assert b.disk.amount - a.disk.amount >= 1000 * MONITOR_BYTES_PER_PARTICLE * snapshots * periods
    assert a.memory.loc == "beam.npart" and a.time_s.loc == "lattice.periods"
    big_grid = fodo(npart=1000, bunch_charge_C=1e-9)
    big_grid["space_charge"] = {"mode": "3D", "n_cell": [256, 256, 256]}
    assert estimate(load_spec(big_grid)).memory.loc == "space_charge.n_cell"
