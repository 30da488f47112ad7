"""A beam split across workers (beamtrack.engine.sharded, spec ``workers``): shares are contiguous and
complete; K shares tracked in lockstep give the single run's diagnostics rows and openPMD particles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpmd_api as io
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine.sharded import run_threads, share
from beamtrack.spec import SpecError, load_spec

pytestmark = pytest.mark.unit

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "cases"


def case(name: str, npart: int) -> dict:
    data = json.loads((CASES / f"{name}.json").read_text())["spec"]
    data["beam"]["npart"] = npart
    return data


def row_scale(row: dict, key: str) -> float:
    """The physical scale a column's round-off is measured against: the beam size for means and
    extrema, 1 for alpha, sigma_q / sigma_pt for dispersions, the value itself otherwise."""
    for prefix in ("mean_", "min_", "max_"):
        if key.startswith(prefix):
            return abs(row[f"sigma_{key[len(prefix) :]}"])
    if key.startswith("alpha_"):
        return 1.0
    if key.startswith("dispersion_"):
        return abs(row[f"sigma_{key[len('dispersion_') :]}"] / row["sigma_pt"])
    return 0.0


def worst_row_error(rows_a: list[dict], rows_b: list[dict]) -> float:
    """max over rows and columns of |a - b| / (|a| + scale)."""
    assert len(rows_a) == len(rows_b) and rows_a
    worst = 0.0
    for a, b in zip(rows_a, rows_b, strict=True):
        assert a.keys() == b.keys() and a["step"] == b["step"]
        for k, x in a.items():
            y = b[k]
            if np.isnan(x) or np.isnan(y):
                assert np.isnan(x) and np.isnan(y), k
                continue
            if x != y:
                worst = max(worst, abs(x - y) / (abs(x) + row_scale(a, k)))
    return worst


def single_rows(spec, out: Path) -> list[dict]:
    rows: list[dict] = []
    sim = Simulation.from_spec(spec, out, kind="serial")
    sim.diagnostics_listeners.append(rows.append)
    sim.track_particles()
    sim.finalize()
    return rows


def read_series(path: Path) -> dict[int, dict[str, np.ndarray]]:
    series = io.Series(str(path), io.Access.read_only)
    out = {}
    for i in sorted(series.iterations):
        beam = series.iterations[i].particles["beam"]
        data = {}
        for rec in ("position", "momentum"):
            for c in "xyt":
                arr = beam[rec][c].load_chunk()
                series.flush()
                data[rec + c] = np.asarray(arr, dtype=float)
        ids = beam["id"][io.Record_Component.SCALAR].load_chunk()
        series.flush()
        data["id"] = np.asarray(ids)
        out[i] = data
    del series
    return out


def test_shares_are_contiguous_and_complete() -> None:
    for n, k in ((10, 3), (7, 7), (1_000_001, 4)):
        bounds = [share(n, k, i) for i in range(k)]
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
        assert max(h - lo for lo, h in bounds) - min(h - lo for lo, h in bounds) <= 1


def test_spec_workers_validated() -> None:
    assert load_spec(case("fodo", 100)).workers == 1
    assert load_spec({**case("fodo", 100), "workers": 4}).workers == 4
    for bad, why in (({"workers": 0}, "workers"), ({"workers": 200}, "workers")):
        with pytest.raises(SpecError, match=why):
            load_spec({**case("fodo", 100), **bad})
    with pytest.raises(SpecError, match="npart >= workers"):
        load_spec({**case("fodo", 3), "workers": 4})
    kv = case("fodo_2D_space_charge_kv", 100)
    with pytest.raises(SpecError, match="3D only"):
        load_spec({**kv, "workers": 2})
    prog = case("fodo", 100)
    prog["lattice"]["elements"].append({"type": "Programmable", "name": "p", "ds": 0.1})
    with pytest.raises(SpecError, match="Programmable"):
        load_spec({**prog, "workers": 2})


@pytest.mark.parametrize("k", [2, 3])
def test_k_shares_give_the_single_run_without_space_charge(tmp_path: Path, k: int) -> None:
    spec = load_spec(case("fodo", 3001))
    one = single_rows(spec, tmp_path / "one")
    rows: list[dict] = []
    run_threads(spec, k, tmp_path / "k", kind="serial", listeners=[rows.append])
    assert len(rows) == len(one) == 1 + 125 + 6  # slice-step rows: 5 x 25 slices, 6 monitors
    assert worst_row_error(one, rows) < 1e-12
    a = read_series(tmp_path / "one" / "diags" / "openPMD" / "monitor.h5")
    b = read_series(tmp_path / "k" / "diags" / "openPMD" / "monitor.h5")
    assert a.keys() == b.keys() and len(a) == 6
    for i in a:
        assert np.array_equal(a[i]["id"], b[i]["id"])  # one beam, shares in order
        for c in a[i]:
            assert np.array_equal(a[i][c], b[i][c]), (i, c)  # particles are tracked independently: bit-equal
    assert (tmp_path / "k" / "diags" / "ref_particle.0").read_text() == (
        tmp_path / "one" / "diags" / "ref_particle.0"
    ).read_text()


def test_two_shares_give_the_single_run_with_3d_space_charge(tmp_path: Path) -> None:
    spec = load_spec(case("expanding_beam_3D_fft", 4001))
    one = single_rows(spec, tmp_path / "one")
    rows: list[dict] = []
    reducer = run_threads(spec, 2, tmp_path / "k", kind="serial", listeners=[rows.append])
    assert reducer.rounds > 3 * 40  # census, extent and rho per slice went through the reducer
    assert worst_row_error(one, rows) < 1e-10
    # the space charge did act: sigma_x grew well beyond the drift's growth of a cold beam
    assert rows[-1]["sigma_x"] > 1.5 * rows[0]["sigma_x"]
    a = read_series(tmp_path / "one" / "diags" / "openPMD" / "monitor.h5")
    b = read_series(tmp_path / "k" / "diags" / "openPMD" / "monitor.h5")
    last = max(a)
    assert np.array_equal(a[last]["id"], b[last]["id"])
    for c in ("positionx", "momentumx", "positiont", "momentumt"):
        scale = np.std(a[last][c])
        assert np.max(np.abs(a[last][c] - b[last][c])) < 1e-10 * scale, c


def test_a_stop_or_an_error_ends_every_share(tmp_path: Path) -> None:
    from beamtrack.engine import TrackingCancelled
    from beamtrack.engine.spacecharge.solver import SpaceChargeError

    spec = load_spec(case("fodo", 1000))
    asked = []
    rows: list[dict] = []
    with pytest.raises(TrackingCancelled):
        run_threads(
            spec,
            3,
            tmp_path / "stop",
            kind="serial",
            listeners=[rows.append],
            stop_requested=lambda: len(asked.append(1) or asked) > 20,
        )
    assert 0 < len(rows) < 20  # stopped mid-run (run_threads returned: every share's thread ended)
    # a beam flat in y cannot get a 3D space-charge kick: every share raises, the driver raises it
    flat = case("expanding_beam_3D_fft", 1000)
    flat["beam"]["distribution"] = {
        "type": "Gaussian",
        "lambdaX": 1e-3,
        "lambdaY": 0.0,
        "lambdaT": 1e-3,
        "lambdaPx": 0.0,
        "lambdaPy": 0.0,
        "lambdaPt": 0.0,
    }
    with pytest.raises(SpaceChargeError, match="flat beam"):
        run_threads(load_spec(flat), 2, tmp_path / "flat", kind="serial")
