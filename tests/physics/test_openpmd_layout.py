"""BeamMonitor openPMD output: ImpactX's layout, read back the way shared/spec/check_case.py and
ImpactX's analysis scripts read it.

Expected values are the particle arrays and RefPart written (round-trip must be exact); record and
attribute names come from ImpactX's BeamMonitor.cpp (species "beam", position/momentum {x,y,t},
qm, weighting, id, positionOffset, *_ref attributes) and its docs' "dataanalysis" page.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import openpmd_api as io
import pytest
from beamtrack.engine import constants
from beamtrack.engine.diagnostics import BeamMonitorWarning, BeamMonitorWriter, reduced_beam_characteristics
from beamtrack.engine.diagnostics.openpmd import resolve_backend
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart

pytestmark = pytest.mark.physics


def _ref(s: float) -> RefPart:
    ref = RefPart().set_species("electron").set_kin_energy_MeV(2000.0)
    ref.s, ref.x, ref.y, ref.z, ref.t = s, 1e-4, -2e-4, s, s / ref.beta
    return ref


def _beam(seed: int, n: int = 500) -> ParticleContainer:
    rng = np.random.default_rng(seed)
    pc = ParticleContainer()
    pc.add_n_particles(*(rng.standard_normal((6, n)) * 1e-3), qm=pc.qm, bunch_charge=1e-9)
    return pc


def _read_like_check_case(path):
    """The reading code of check_case.py, verbatim in its calls."""
    series = io.Series(str(path), io.Access.read_only)
    its = sorted(series.iterations)
    out = {}
    for i in its:
        beam = series.iterations[i].particles["beam"]
        data = {}
        for rec, comps in (("position", "xyt"), ("momentum", "xyt")):
            for c in comps:
                arr = beam[rec][c].load_chunk()
                series.flush()
                data[("" if rec == "position" else "p") + c] = np.asarray(arr, dtype=float)
        attrs = {k: beam.get_attribute(k) for k in beam.attributes}
        out[i] = (data, attrs)
    return its, out, series


def test_two_iterations_round_trip_through_check_case_reader(tmp_path) -> None:
    out_dir = tmp_path / "diags" / "openPMD"
    pc1, pc2 = _beam(1), _beam(2)
    pc2.state[:40] = 1  # lost: must not be written
    ref1, ref2 = _ref(0.0), _ref(3.25)
    # two BeamMonitor elements named "monitor" share one series
    m_a = BeamMonitorWriter.open(out_dir, "monitor", "h5")
    m_b = BeamMonitorWriter.open(out_dir, "monitor", "h5")
    assert m_a is m_b
    m_a.write(1, pc1, ref1)
    m_b.write(57, pc2, ref2)
    BeamMonitorWriter.close_all()
    assert m_a.closed

    its, got, series = _read_like_check_case(out_dir / "monitor.h5")
    assert its == [1, 57]
    for step, pc, ref in ((1, pc1, ref1), (57, pc2, ref2)):
        data, attrs = got[step]
        alive = pc.state == 0
        for k, row in (("x", 0), ("y", 1), ("t", 2), ("px", 3), ("py", 4), ("pt", 5)):
            np.testing.assert_array_equal(data[k], pc.real[row][alive])
        expect_ref = {
            "s_ref": ref.s, "gamma_ref": ref.gamma, "beta_ref": ref.beta, "beta_gamma_ref": ref.beta_gamma,
            "x_ref": ref.x, "y_ref": ref.y, "z_ref": ref.z, "t_ref": ref.t,
            "px_ref": ref.px, "py_ref": ref.py, "pz_ref": ref.pz, "pt_ref": ref.pt,
            "mass_ref": constants.me_MeV / constants.MeV_per_kg, "charge_ref": -constants.qe,
        }  # fmt: skip
        for k, v in expect_ref.items():
            assert attrs[k] == v, k
        rbc = reduced_beam_characteristics(pc, ref)
        assert attrs["sigma_x"] == rbc["sigma_x"] and attrs["sig_x"] == rbc["sigma_x"]
        assert attrs["emittance_yn"] == rbc["emittance_yn"] and attrs["charge_C"] == rbc["charge_C"]
        # check_case's own sigma (unweighted, ddof=0) equals ours for equal weights
        assert math.sqrt(np.mean((data["x"] - data["x"].mean()) ** 2)) == pytest.approx(rbc["sigma_x"], rel=1e-12)

    it = series.iterations[57]
    assert it.time == 3.25  # ImpactX: iteration time = s of the reference particle
    beam = it.particles["beam"]
    assert beam["position"]["x"].shape == [460]
    assert beam["id"][io.Record_Component.SCALAR].dtype == np.dtype(np.uint64)
    ids = beam["id"][io.Record_Component.SCALAR].load_chunk()
    qm = beam["qm"][io.Record_Component.SCALAR].load_chunk()
    wt = beam["weighting"][io.Record_Component.SCALAR].load_chunk()
    off = beam["positionOffset"]["y"].load_chunk()
    series.flush()
    np.testing.assert_array_equal(ids, np.arange(41, 501))
    np.testing.assert_array_equal(qm, np.full(460, pc2.qm))
    np.testing.assert_array_equal(wt, np.full(460, 1e-9 / constants.qe / 500))
    np.testing.assert_array_equal(off, np.full(460, ref2.y))
    # openpmd-api's default for "position" (ImpactX sets none): length
    assert beam["position"].unit_dimension[0] == 1.0
    series.close()
    assert (out_dir / "paraview.pmd").read_text() == "monitor.h5\n"


def test_impactx_analysis_style_to_df(tmp_path) -> None:
    pc, ref = _beam(4, 300), _ref(1.0)
    with BeamMonitorWriter(tmp_path, "monitor", "h5") as m:
        m.write(3, pc, ref)
        m.write(9, pc, ref)
    series = io.Series(str(tmp_path / "monitor.h5"), io.Access.read_only)
    # as in ImpactX's examples' analysis scripts
    last_step = list(series.iterations)[-1]
    df = series.iterations[last_step].particles["beam"].to_df()
    for col in (
        "position_x",
        "position_y",
        "position_t",
        "momentum_x",
        "momentum_y",
        "momentum_t",
        "qm",
        "weighting",
        "id",
    ):
        assert col in df.columns, col
    np.testing.assert_array_equal(df["momentum_t"].to_numpy(), pc.pt)
    np.testing.assert_array_equal(df["id"].to_numpy(), pc.id)
    # the docs' "dataanalysis" example
    s_refs = {k: i.particles["beam"].get_attribute("s_ref") for k, i in series.iterations.items()}
    assert s_refs == {3: 1.0, 9: 1.0}
    series.close()


def test_repeated_step_is_skipped_with_a_warning(tmp_path) -> None:
    m = BeamMonitorWriter(tmp_path, "monitor", "h5")
    m.write(5, _beam(1), _ref(0.0))
    with pytest.warns(BeamMonitorWarning, match="step 5 is already"):
        m.write(5, _beam(2), _ref(0.0))
    m.close()
    its, got, series = _read_like_check_case(tmp_path / "monitor.h5")
    np.testing.assert_array_equal(got[5][0]["x"], _beam(1).x)  # the first write is kept
    series.close()


def test_empty_beam_iterations(tmp_path) -> None:
    empty = ParticleContainer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with BeamMonitorWriter(tmp_path, "h", "h5") as m:
            m.write(1, _beam(1, 10), _ref(0.0))
            m.write(2, empty, _ref(1.0))
        with BeamMonitorWriter(tmp_path, "j", "json") as m:
            m.write(2, empty, _ref(1.0))
    its, got, series = _read_like_check_case(tmp_path / "h.h5")
    assert its == [1, 2] and got[2][0]["x"].size == 0
    assert math.isnan(got[2][1]["mean_x"]) and got[2][1]["s_ref"] == 1.0
    series.close()
    # JSON cannot read NaN attributes back: they are left out, the finite ones stay
    its, got, series = _read_like_check_case(tmp_path / "j.json")
    assert "mean_x" not in got[2][1] and got[2][1]["charge_C"] == 0.0 and got[2][1]["s_ref"] == 1.0
    series.close()


@pytest.mark.skipif(not io.variants["adios2"], reason="openpmd-api without ADIOS2")
def test_adios2_group_based_skips_empty_beam_and_stays_readable(tmp_path) -> None:
    assert resolve_backend("default") == "bp4"  # ImpactX: ADIOS2 first when available
    with BeamMonitorWriter(tmp_path, "monitor") as m:
        m.write(1, _beam(1, 20), _ref(0.0))
        with pytest.warns(BeamMonitorWarning, match="no particles alive"):
            m.write(2, ParticleContainer(), _ref(1.0))
        m.write(3, _beam(3, 20), _ref(2.0))
    its, got, series = _read_like_check_case(tmp_path / "monitor.bp4")
    assert its == [1, 3]
    np.testing.assert_array_equal(got[3][0]["pt"], _beam(3, 20).pt)
    series.close()


def test_backend_and_encoding_choices(tmp_path) -> None:
    with pytest.raises(ValueError, match="backend"):
        BeamMonitorWriter(tmp_path, "m", "hdf5")
    with pytest.raises(ValueError, match="group-based"):
        BeamMonitorWriter(tmp_path, "m", "bp5", "g")  # refused by ImpactX too
    with BeamMonitorWriter(tmp_path, "m", "h5", "f") as m:
        m.write(4, _beam(1, 5), _ref(0.0))
    assert (tmp_path / "m_000004.h5").exists()  # ImpactX: <name>_%06T.<ext>
