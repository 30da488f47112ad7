"""Reduced beam characteristics and the ASCII diagnostics files, checked against independent NumPy math.

Expected numbers come from: np.average / np.cov(aweights=..., bias=True) (weighted population
moments, computed without our code), beams built so that their sample covariance equals a chosen
Twiss matrix exactly (so Twiss / dispersion are known to rounding), and ImpactX's header lines
copied from src/diagnostics/DiagnosticOutput.cpp.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from beamtrack.engine import constants
from beamtrack.engine.diagnostics import (
    DEPRECATED_ALIASES,
    REDUCED_COLUMNS,
    ReducedDiagnosticsWriter,
    RefParticleWriter,
    reduced_beam_characteristics,
)
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart

pytestmark = pytest.mark.unit

XP = ["numpy", pytest.param("cupy", marks=pytest.mark.gpu)]


def _xp(name: str):
    return np if name == "numpy" else pytest.importorskip("cupy")


def _ref() -> RefPart:
    return RefPart().set_species("proton").set_kin_energy_MeV(250.0)


def _beam(xp, coords: np.ndarray, weights: np.ndarray | None = None, bunch_charge: float = 1e-9) -> ParticleContainer:
    pc = ParticleContainer(xp=xp, qm=constants.qe / (constants.mp_MeV / constants.MeV_per_kg))
    pc.add_n_particles(*coords, qm=pc.qm, bunch_charge=bunch_charge)
    if weights is not None:
        pc.real[6] = xp.asarray(weights)
    return pc


def _whitened(rng: np.random.Generator, cov: np.ndarray, n: int) -> np.ndarray:
    """Samples (d, n) with zero mean and population covariance exactly ``cov`` (to rounding)."""
    z = rng.standard_normal((cov.shape[0], n))
    z -= z.mean(axis=1, keepdims=True)
    z = np.linalg.solve(np.linalg.cholesky(z @ z.T / n), z)
    return np.linalg.cholesky(cov) @ z


def _twiss_cov(beta: float, alpha: float, emit: float) -> np.ndarray:
    return emit * np.array([[beta, -alpha], [-alpha, (1 + alpha**2) / beta]])


@pytest.mark.parametrize("xp_name", XP)
def test_weighted_moments_match_numpy(xp_name: str) -> None:
    xp = _xp(xp_name)
    rng = np.random.default_rng(7)
    n = 4000
    scale = np.array([1e-3, 2e-3, 5e-4, 1e-4, 3e-4, 2e-3])[:, None]
    coords = rng.standard_normal((6, n)) * scale + np.array([1e-4, -2e-4, 3e-5, 1e-5, 0, -1e-4])[:, None]
    coords[3] += 0.3 * coords[0] / 1e-3 * 1e-4  # x-px correlation
    coords[0] += 0.05 * coords[5]  # x-pt correlation
    w = rng.uniform(0.5, 2.0, n)
    ref = _ref()
    row = reduced_beam_characteristics(_beam(xp, coords, w), ref)

    mean = np.average(coords, axis=1, weights=w)
    cov = np.cov(coords, aweights=w, bias=True)
    names = ("x", "y", "t", "px", "py", "pt")
    for i, c in enumerate(names):
        assert row[f"mean_{c}"] == pytest.approx(mean[i], rel=1e-12, abs=1e-18)
        assert row[f"sigma_{c}"] == pytest.approx(math.sqrt(cov[i, i]), rel=1e-12)
        assert row[f"min_{c}"] == coords[i].min()
        assert row[f"max_{c}"] == coords[i].max()
    for i, q in enumerate(("x", "y", "t")):
        emit = math.sqrt(np.linalg.det(cov[np.ix_([i, i + 3], [i, i + 3])]))
        assert row[f"emittance_{q}"] == pytest.approx(emit, rel=1e-9)
        assert row[f"emittance_{q}n"] == pytest.approx(emit * ref.beta_gamma, rel=1e-9)
    # dispersion: -<x pt>/<pt^2> of weighted central moments
    assert row["dispersion_x"] == pytest.approx(-cov[0, 5] / cov[5, 5], rel=1e-9)
    assert row["dispersion_py"] == pytest.approx(-cov[4, 5] / cov[5, 5], rel=1e-9)
    # charge: sum of weights times the species charge; weights replaced, so not the bunch charge
    assert row["charge_C"] == pytest.approx(w.sum() * constants.qe, rel=1e-12)
    assert row["s"] == ref.s
    assert list(row)[1:] == list(REDUCED_COLUMNS)


@pytest.mark.parametrize("xp_name", XP)
def test_twiss_of_a_known_gaussian_beam(xp_name: str) -> None:
    xp = _xp(xp_name)
    rng = np.random.default_rng(11)
    planes = {"x": (2.5, -0.7, 1.3e-6), "y": (0.8, 1.9, 4.0e-7), "t": (12.0, 0.4, 2.0e-6)}
    cov = np.zeros((6, 6))
    for i, (beta, alpha, emit) in enumerate(planes.values()):
        cov[np.ix_([i, i + 3], [i, i + 3])] = _twiss_cov(beta, alpha, emit)
    coords = _whitened(rng, cov, 5000)
    row = reduced_beam_characteristics(_beam(xp, coords), _ref())
    for q, (beta, alpha, emit) in planes.items():
        assert row[f"beta_{q}"] == pytest.approx(beta, rel=1e-9)
        assert row[f"alpha_{q}"] == pytest.approx(alpha, rel=1e-9)
        assert row[f"emittance_{q}"] == pytest.approx(emit, rel=1e-9)
        assert row[f"sigma_{q}"] == pytest.approx(math.sqrt(emit * beta), rel=1e-9)
    # uncorrelated energy spread: no dispersion
    for k in ("x", "px", "y", "py"):
        assert abs(row[f"dispersion_{k}"]) < 1e-9


def test_dispersion_of_a_beam_with_known_x_pt_correlation() -> None:
    rng = np.random.default_rng(3)
    beta, alpha, emit = 4.0, 1.2, 2e-6  # betatron part of x
    disp, disp_p = 0.35, -0.08  # [m], [1]: x = x_b - D pt, px = px_b - D' pt (pt = -delta)
    sig_pt = 1e-3
    cov = np.zeros((6, 6))
    cov[np.ix_([0, 3], [0, 3])] = _twiss_cov(beta, alpha, emit)
    cov[1, 1], cov[4, 4], cov[2, 2] = 1e-6, 1e-6, 1e-6
    cov[5, 5] = sig_pt**2
    coords = _whitened(rng, cov, 6000)
    coords[0] -= disp * coords[5]
    coords[3] -= disp_p * coords[5]
    row = reduced_beam_characteristics(_beam(np, coords), _ref())
    assert row["dispersion_x"] == pytest.approx(disp, rel=1e-9)
    assert row["dispersion_px"] == pytest.approx(disp_p, rel=1e-9)
    assert abs(row["dispersion_y"]) < 1e-12 and abs(row["dispersion_py"]) < 1e-12
    # Twiss with the dispersive part removed is the betatron Twiss (ImpactX docs, "dataanalysis")
    assert row["beta_x"] == pytest.approx(beta, rel=1e-9)
    assert row["alpha_x"] == pytest.approx(alpha, rel=1e-9)
    # the rms emittance keeps the dispersive contribution: det of the full 2x2 (x, px) moments
    full = np.cov(coords[[0, 3]], bias=True)
    assert row["emittance_x"] == pytest.approx(math.sqrt(np.linalg.det(full)), rel=1e-9)
    # and analytically: cov(x, px) = C_b + <pt^2> v v^T with v = (D, D')
    v = np.array([disp, disp_p])
    analytic = math.sqrt(np.linalg.det(_twiss_cov(beta, alpha, emit) + sig_pt**2 * np.outer(v, v)))
    assert row["emittance_x"] == pytest.approx(analytic, rel=1e-9)
    assert row["emittance_x"] > emit * 1.005


@pytest.mark.parametrize("xp_name", XP)
def test_empty_beam_gives_nan_and_zero_without_warnings(xp_name: str) -> None:
    xp = _xp(xp_name)
    pc = ParticleContainer(xp=xp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = reduced_beam_characteristics(pc, _ref())
    # ImpactX's guards: emittances and dispersions are 0 unless their argument is > 0; 0/0 elsewhere
    for c in ("x", "y", "t", "px", "py", "pt"):
        assert math.isnan(row[f"mean_{c}"]) and math.isnan(row[f"sigma_{c}"])
        assert math.isnan(row[f"min_{c}"]) and math.isnan(row[f"max_{c}"])
    for q in ("x", "y", "t"):
        assert row[f"emittance_{q}"] == 0.0 and row[f"emittance_{q}n"] == 0.0
        assert math.isnan(row[f"beta_{q}"]) and math.isnan(row[f"alpha_{q}"])
    assert row["dispersion_x"] == 0.0
    assert row["charge_C"] == 0.0 and math.copysign(1.0, row["charge_C"]) == 1.0


def test_all_lost_and_zero_weight_beams_are_empty_without_warnings() -> None:
    rng = np.random.default_rng(5)
    lost = _beam(np, rng.standard_normal((6, 10)))
    lost.state[:] = 1
    zero_w = _beam(np, rng.standard_normal((6, 10)), weights=np.zeros(10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r_lost = reduced_beam_characteristics(lost, _ref())
        r_zero = reduced_beam_characteristics(zero_w, _ref())
    assert math.isnan(r_lost["mean_x"]) and math.isnan(r_lost["max_x"]) and r_lost["charge_C"] == 0.0
    # zero weights: 0/0 moments (NaN) but the extrema of the particles present, as ImpactX reduces them
    assert math.isnan(r_zero["mean_x"]) and r_zero["max_x"] == zero_w.x.max() and r_zero["charge_C"] == 0.0


@pytest.mark.parametrize("xp_name", XP)
def test_lost_particles_are_excluded(xp_name: str) -> None:
    xp = _xp(xp_name)
    rng = np.random.default_rng(9)
    good = rng.standard_normal((6, 300)) * 1e-3
    wild = rng.standard_normal((6, 50)) * 10.0 + 5.0
    mixed = np.concatenate([good[:, :150], wild, good[:, 150:]], axis=1)
    pc = _beam(xp, mixed)
    pc.state[150:200] = 2
    only_good = _beam(xp, good, weights=np.full(300, float(pc.weight[0])))
    r_mixed = reduced_beam_characteristics(pc, _ref())
    r_good = reduced_beam_characteristics(only_good, _ref())
    for k in REDUCED_COLUMNS:
        assert r_mixed[k] == pytest.approx(r_good[k], rel=1e-12, abs=1e-300), k


def test_deprecated_aliases_name_impactx_old_columns() -> None:
    # ImpactX's deprecated block in ReducedBeamCharacteristics.cpp: x_mean, x_min, x_max, sig_x, ... sig_pt
    assert DEPRECATED_ALIASES["x_mean"] == "mean_x"
    assert DEPRECATED_ALIASES["sig_pt"] == "sigma_pt"
    assert DEPRECATED_ALIASES["px_max"] == "max_px"
    assert len(DEPRECATED_ALIASES) == 24
    assert set(DEPRECATED_ALIASES.values()) <= set(REDUCED_COLUMNS)


# header lines as ImpactX 26.10 writes them (impactx-noacc 26.10; no eigenemittances, no spin)
IMPACTX_RBC_HEADER = (
    "step period s mean_x min_x max_x mean_y min_y max_y mean_t min_t max_t sigma_x sigma_y sigma_t "
    "mean_px min_px max_px mean_py min_py max_py mean_pt min_pt max_pt sigma_px sigma_py sigma_pt "
    "emittance_x emittance_y emittance_t alpha_x alpha_y alpha_t beta_x beta_y beta_t "
    "dispersion_x dispersion_px dispersion_y dispersion_py emittance_xn emittance_yn emittance_tn charge_C"
)
IMPACTX_REF_HEADER = "step s beta gamma beta_gamma x y z t px py pz pt"


def test_reduced_file_layout_and_exact_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(1)
    ref = _ref()
    ref.s = 1.25
    rows = [reduced_beam_characteristics(_beam(np, rng.standard_normal((6, 200)) * 1e-3), ref)]
    rows.append(reduced_beam_characteristics(ParticleContainer(), ref))
    rows = [{**r, "period": p} for r, p in zip(rows, (0, 2), strict=True)]
    with ReducedDiagnosticsWriter(tmp_path / "diags") as w:
        w.write(0, rows[0])
        w.write(7, rows[1])
    path = tmp_path / "diags" / "reduced_beam_characteristics.0"
    lines = path.read_text().splitlines()
    assert lines[0] == IMPACTX_RBC_HEADER
    assert len(lines) == 3
    # ImpactX's analysis scripts read it like this
    df = pd.read_csv(path, sep=r"\s+")
    assert list(df["step"]) == [0, 7] and list(df["period"]) == [0, 2]
    for k in REDUCED_COLUMNS:
        got, want = df[k].to_numpy(), np.array([rows[0][k], rows[1][k]])
        np.testing.assert_array_equal(got, want, err_msg=k)  # %.16e round-trips float64 exactly, nan too
    assert df["s"].tolist() == [1.25, 1.25]


def test_reduced_writer_refuses_incomplete_rows_and_closed_files(tmp_path) -> None:
    w = ReducedDiagnosticsWriter(tmp_path, name="reduced_beam_characteristics_final")
    with pytest.raises(KeyError, match="charge_C"):
        w.write(0, {"s": 0.0})
    w.close()
    assert w.closed and (tmp_path / "reduced_beam_characteristics_final.0").exists()
    with pytest.raises(ValueError, match="closed"):
        w.write(1, {**reduced_beam_characteristics(ParticleContainer(), _ref()), "period": 0})


def test_ref_particle_file(tmp_path) -> None:
    ref = _ref()
    ref.s, ref.x, ref.z, ref.t = 3.5, 1e-3, 3.4, 4.1
    with RefParticleWriter(tmp_path) as r:
        r.write(0, ref)
        r.write(12, ref)
    path = tmp_path / "ref_particle.0"
    assert path.read_text().splitlines()[0] == IMPACTX_REF_HEADER
    df = pd.read_csv(path, sep=r"\s+")
    assert list(df["step"]) == [0, 12]
    last = df.iloc[-1]
    # RefPart values, exact through %.16e
    for k in ("s", "beta", "gamma", "beta_gamma", "x", "y", "z", "t", "px", "py", "pz", "pt"):
        assert last[k] == getattr(ref, k), k
    assert last["pt"] == -last["gamma"]


@pytest.mark.parametrize(
    "name", ["/tmp/x", "../x", "../../j/diags/openPMD/monitor", "..", ".hidden", "a\x00b", "a/b", ""]
)
def test_monitor_writer_refuses_names_that_leave_its_directory(tmp_path, name: str) -> None:
    """Issue 8: a BeamMonitor name became a path; the writer now refuses any name that is not a plain
    file name, whoever calls it (the spec's pattern refuses them first)."""
    from beamtrack.engine.diagnostics import BeamMonitorWriter

    out = tmp_path / "job" / "diags" / "openPMD"
    with pytest.raises(ValueError, match="BeamMonitor"):
        BeamMonitorWriter(out, name, "h5")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_monitor_writer_refuses_a_symlink_out_of_its_directory(tmp_path) -> None:
    from beamtrack.engine.diagnostics import BeamMonitorWriter

    out = tmp_path / "openPMD"
    out.mkdir()
    victim = tmp_path / "victim.h5"
    victim.write_bytes(b"keep")
    (out / "monitor.h5").symlink_to(victim)
    with pytest.raises(ValueError, match="outside"):
        BeamMonitorWriter(out, "monitor", "h5")
    assert victim.read_bytes() == b"keep"


def _drift_quad_run(tmp_path, slice_steps: bool) -> Any:
    """A serial Simulation writing its diagnostics under tmp_path: 50 electrons at 2 GeV (Waterbag, seed 1) on a
    0.25 m drift (2 slices) and a 0.1 m quad (k = 1 / m^2, 3 slices): 5 slices a period."""
    from beamtrack.engine import elements
    from beamtrack.engine.distribution import Waterbag
    from beamtrack.engine.simulation import Simulation

    sim = Simulation(kind="serial", output_dir=tmp_path, slice_step_diagnostics=slice_steps)
    sim.reference.set_species("electron").set_kin_energy_MeV(2000.0)
    sim.add_particles(
        1e-9,
        Waterbag(lambdaX=1e-4, lambdaY=1e-4, lambdaT=1e-3, lambdaPx=1e-5, lambdaPy=1e-5, lambdaPt=2e-3),
        npart=50,
        seed=1,
    )
    sim.lattice.extend([elements.Drift(name="d", ds=0.25, nslice=2), elements.Quad(name="q", ds=0.1, k=1.0, nslice=3)])
    return sim


@pytest.mark.parametrize("slice_steps", [False, True])
def test_run_writes_impactx_files_rows_and_periods(tmp_path, slice_steps: bool) -> None:
    """The rows ImpactX 26.10 writes (impactx-noacc 26.10 on this line, 3 periods: tests/oracle/
    test_diag_files_oracle.py compares the files themselves): the per-step files get step 0 (period 0) and,
    with slice_step_diagnostics, one row per slice in its 0-based period; the _final files one row, the last
    step in the last period. The listeners (the service's stream) get the per-step rows, then the final
    row unless the last slice's row already went out."""
    sim = _drift_quad_run(tmp_path, slice_steps)
    sim.periods = 3
    streamed: list[dict] = []
    sim.diagnostics_listeners.append(streamed.append)
    sim.track_particles()
    sim.finalize()
    d = tmp_path / "diags"
    per_step = pd.read_csv(d / "reduced_beam_characteristics.0", sep=r"\s+")
    final = pd.read_csv(d / "reduced_beam_characteristics_final.0", sep=r"\s+")
    ref, ref_final = (pd.read_csv(d / f"ref_particle{t}.0", sep=r"\s+") for t in ("", "_final"))
    assert list(per_step.columns[:3]) == ["step", "period", "s"] and "period" not in ref.columns
    want_steps = list(range(16)) if slice_steps else [0]
    want_periods = [0] + [p for p in range(3) for _ in range(5)] if slice_steps else [0]
    assert per_step["step"].tolist() == ref["step"].tolist() == want_steps
    assert per_step["period"].tolist() == want_periods
    assert final["step"].tolist() == ref_final["step"].tolist() == [15] and final["period"].tolist() == [2]
    assert [r["step"] for r in streamed] == (want_steps if slice_steps else [0, 15])
    assert [r["period"] for r in streamed] == (want_periods if slice_steps else [0, 2])


def test_table_rows_are_cxx_scientific_text_for_any_number_type(tmp_path) -> None:
    """Each value as C++ std::scientific with 16 digits (ImpactX's DiagnosticOutput.cpp), which is C's
    "%.16e" applied to the float64 value, written out here digit by digit with the decimal module;
    non-finite values as C++ streams print them (nan, inf, -inf); step and period as integers."""
    from decimal import ROUND_HALF_EVEN, Decimal

    def scientific(v: float) -> str:
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if v == 0.0:
            return ("-" if math.copysign(1.0, v) < 0 else "") + "0." + "0" * 16 + "e+00"
        d = Decimal(v)  # the exact binary value
        exp = d.adjusted()
        digits = d.scaleb(-exp).quantize(Decimal("1." + "0" * 16), rounding=ROUND_HALF_EVEN)
        if abs(digits) >= 10:
            exp += 1
            digits = d.scaleb(-exp).quantize(Decimal("1." + "0" * 16), rounding=ROUND_HALF_EVEN)
        return f"{digits}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"

    values = [0.1, -0.0, 5e-324, 1.7976931348623157e308, float("nan"), float("-inf"), float("inf"), 2.0 / 3.0]
    row = {c: values[i % len(values)] for i, c in enumerate(REDUCED_COLUMNS)}
    typed = {**row, "mean_x": np.float32(0.1), "charge_C": 3, "s": np.float64(1.25)}
    with ReducedDiagnosticsWriter(tmp_path) as w:
        w.write(4, {**row, "s": 1.25, "period": 2})
        w.write(np.int64(5), {**typed, "period": 2.0})
    lines = (tmp_path / "reduced_beam_characteristics.0").read_text().splitlines()
    want = [float(row[c]) for c in REDUCED_COLUMNS]
    assert lines[1] == " ".join(["4", "2", scientific(1.25), *map(scientific, want)])
    want_typed = [float(typed[c]) for c in REDUCED_COLUMNS]
    assert lines[2] == " ".join(["5", "2", scientific(1.25), *map(scientific, want_typed)])
    assert lines[2].split()[3] == "1.0000000149011612e-01"  # float32 0.1, widened exactly


def test_table_rows_reach_the_file_on_flush_close_and_every_flush_rows(tmp_path, monkeypatch) -> None:
    """Rows are buffered: on disk after flush() or close(), and without either once FLUSH_ROWS are pending
    or FLUSH_SECONDS passed (the bound on what a crash loses)."""
    from beamtrack.engine.diagnostics import ascii as ascii_mod

    monkeypatch.setattr(ascii_mod, "FLUSH_ROWS", 3)
    monkeypatch.setattr(ascii_mod, "FLUSH_SECONDS", 3600.0)
    ref = _ref()
    path = tmp_path / "ref_particle.0"
    w = RefParticleWriter(tmp_path)
    assert path.read_text() == IMPACTX_REF_HEADER + "\n"  # the header at once
    w.write(0, ref)
    w.write(1, ref)
    assert len(path.read_text().splitlines()) == 1
    w.write(2, ref)  # the third pending row writes all three
    assert len(path.read_text().splitlines()) == 4
    w.write(3, ref)
    w.flush()
    assert len(path.read_text().splitlines()) == 5
    monkeypatch.setattr(ascii_mod, "FLUSH_SECONDS", 0.0)  # every row is then due
    w.write(4, ref)
    assert len(path.read_text().splitlines()) == 6
    monkeypatch.setattr(ascii_mod, "FLUSH_SECONDS", 3600.0)
    w.write(5, ref)
    w.close()
    assert pd.read_csv(path, sep=r"\s+")["step"].tolist() == [0, 1, 2, 3, 4, 5]


def test_rows_are_on_disk_after_each_track_call_before_finalize(tmp_path) -> None:
    """An ImpactX script tracking one period per call may read the files between calls (before finalize):
    every row of each call is there (steps 0..5 then 0..10: 5 slices a period, slice_step_diagnostics)."""
    sim = _drift_quad_run(tmp_path, True)
    d = tmp_path / "diags"
    for calls in (1, 2):
        sim.track_particles(1)
        for name in ("reduced_beam_characteristics", "ref_particle"):
            assert pd.read_csv(d / f"{name}.0", sep=r"\s+")["step"].tolist() == list(range(5 * calls + 1)), name
            assert pd.read_csv(d / f"{name}_final.0", sep=r"\s+")["step"].tolist() == [
                5 * c for c in range(1, calls + 1)
            ]
    sim.finalize()


def test_a_table_dropped_without_close_keeps_its_pending_rows(tmp_path) -> None:
    """A run that raised and was never finalized: the rows still pending reach the file when the writer goes."""
    import gc

    w = RefParticleWriter(tmp_path)
    w.write(0, _ref())
    w.write(1, _ref())
    del w
    gc.collect()
    assert pd.read_csv(tmp_path / "ref_particle.0", sep=r"\s+")["step"].tolist() == [0, 1]
