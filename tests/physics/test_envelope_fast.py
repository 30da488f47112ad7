"""The C envelope loop (engine/envelope/fast.py, c/envelope_cpu.c) against the Python loop it replaces.

Where the expected numbers come from: the Python loop of ``envelope.tracking.track_envelope`` (checked
against ImpactX 26.10 per matrix entry to 1e-10 in tests/oracle/test_envelope_oracle.py), run on the same
lattice by giving the simulation a hook that does nothing (hooks keep the Python loop). The C loop applies
the same slice maps and space-charge kicks with another summation order: the covariance matrices agree to
round-off, 1e-13 of sqrt(S_ii S_jj) after 3 periods; the reference particle goes through the same
operations in the same order, so it is bit-identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beamtrack.engine import Simulation, distribution, elements
from beamtrack.engine.envelope import EnvelopeSpaceChargeWarning
from beamtrack.engine.envelope import tracking as envelope_tracking
from beamtrack.engine.tracking import TrackingCancelled

pytestmark = pytest.mark.physics

REF_FIELDS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt", "sedge")


def _line() -> list[Any]:
    return [
        elements.Drift(ds=0.3, nslice=2),
        elements.Quad(ds=0.5, k=2.0, nslice=3, rotation=3.0),
        elements.Sbend(ds=0.8, rc=5.0, nslice=2),
        elements.DipEdge(psi=0.05, rc=5.0, g=0.02),
        elements.Multipole(multipole=3, K_normal=0.5),
        elements.ThinDipole(theta=0.5, rc=4.0),
        elements.Sol(ds=0.4, ks=1.1),
        elements.ExactSbend(ds=0.6, phi=4.0, nslice=2),
        elements.CFbend(ds=0.5, rc=6.0, k=0.4, nslice=2),
        elements.Quad(ds=0.5, k=-2.0, nslice=3),
    ]


def _waterbag() -> distribution.Waterbag:
    return distribution.Waterbag(
        lambdaX=1e-3, lambdaY=8e-4, lambdaT=1e-3, lambdaPx=1e-4, lambdaPy=1.2e-4, lambdaPt=1e-4, muxpx=-0.3
    )


def _run(
    python_loop: bool,
    space_charge: str | None = None,
    strang_split: bool = True,
    configure: Callable[[Simulation], None] | None = None,
) -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(10.0)
    intensity = 0.0
    if space_charge is not None:
        sim.space_charge = space_charge
        intensity = 1e-9 if space_charge == "3D" else 0.05  # bunch charge [C] / beam current [A]
    sim.strang_split = strang_split
    sim.init_envelope(sim.reference, _waterbag(), intensity)
    sim.lattice.extend(_line())
    sim.periods = 3
    if python_loop:
        sim.hook["before_period"] = lambda s: None
    if configure is not None:
        configure(sim)
    sim.track_envelope()
    return sim


@pytest.fixture
def c_loop_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many track_envelope calls ran the C loop."""
    calls: list[int] = []
    original = envelope_tracking.track_periods

    def counted(*args: Any) -> None:
        calls.append(1)
        original(*args)

    monkeypatch.setattr(envelope_tracking, "track_periods", counted)
    return calls


def _assert_same(c: Simulation, py: Simulation) -> None:
    S_c, S_py = c.envelope.envelope, py.envelope.envelope
    scale = np.sqrt(np.outer(np.diag(S_py), np.diag(S_py)))
    assert float((np.abs(S_c - S_py) / scale).max()) < 1e-13
    for k in REF_FIELDS:
        assert getattr(c.envelope_ref, k) == getattr(py.envelope_ref, k), k
    assert (c.tracking_step, c.tracking_period, c.tracking_element) == (
        py.tracking_step,
        py.tracking_period,
        py.tracking_element,
    )


@pytest.mark.filterwarnings("ignore::beamtrack.engine.envelope.EnvelopeSpaceChargeWarning")
@pytest.mark.parametrize(
    ("space_charge", "strang_split"), [(None, True), ("2D", True), ("2D", False), ("3D", True), ("3D", False)]
)
def test_c_loop_equals_python_loop(space_charge: str | None, strang_split: bool, c_loop_calls: list[int]) -> None:
    py = _run(True, space_charge, strang_split)
    assert not c_loop_calls
    c = _run(False, space_charge, strang_split)
    assert len(c_loop_calls) == 1
    _assert_same(c, py)
    assert c.tracking_step == 3 * sum(el.nslice for el in _line())


def test_progress_and_stop_per_slice(c_loop_calls: list[int]) -> None:
    """With progress listeners the C loop runs slice by slice: the same reports, and a stop asked for by a
    listener at step 7 leaves the envelope where the Python loop leaves it."""

    def listen(sim: Simulation, seen: list[tuple[int, int]]) -> None:
        def fn(step: int, total: int) -> None:
            seen.append((step, total))
            if step == 7:
                sim.request_stop()

        sim.progress_listeners.append(fn)

    seen: dict[bool, list[tuple[int, int]]] = {True: [], False: []}
    sims = {}
    for python_loop in (True, False):
        with pytest.raises(TrackingCancelled, match="stopped at step 7"):
            _run(python_loop, "2D", configure=lambda s, p=python_loop: (listen(s, seen[p]), sims.__setitem__(p, s)))
    assert len(c_loop_calls) == 1
    assert seen[False] == seen[True] == [(k, 3 * sum(el.nslice for el in _line())) for k in range(1, 8)]
    _assert_same(sims[False], sims[True])


def _read_rows(path: Path) -> tuple[list[str], np.ndarray]:
    lines = path.read_text().split("\n")
    head = lines[0].split()
    return head, np.array([[float(v) for v in ln.split()] for ln in lines[1:] if ln.strip()])


def _tolerance(row: dict[str, float], key: str) -> float:
    """Relative tolerance of a diagnostics value (see test_diagnostics_files_equal)."""
    for q in ("x", "y", "t"):
        if key in (f"emittance_{q}", f"emittance_{q}n", f"alpha_{q}", f"beta_{q}"):
            amplification = (row[f"sigma_{q}"] * row[f"sigma_p{q}"] / row[f"emittance_{q}"]) ** 2
            return max(1e-10, 1e-12 * amplification)
    return 1e-10


@pytest.mark.filterwarnings("ignore::beamtrack.engine.envelope.EnvelopeSpaceChargeWarning")
@pytest.mark.parametrize("slice_step", [False, True])
def test_diagnostics_files_equal(tmp_path: Path, slice_step: bool, c_loop_calls: list[int]) -> None:
    """The same diagnostics files, with the same columns and rows, and the same rows to the diagnostics
    listeners, with and without slice-step diagnostics: step, period and s equal, the other values to
    1e-10 relative (the oracle's tolerance vs ImpactX), an emittance and the plane's Twiss functions to
    1e-12 (sigma_q sigma_p / emittance)^2 where that is larger (e^2 = <q^2><p^2> - <qp>^2 turns the
    entries' round-off, 1e-13 of <q^2><p^2>, into 1e-13 (sigma_q sigma_p / e)^2 of e^2)."""
    out = {}
    rows: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for python_loop in (True, False):
        d = tmp_path / str(python_loop)

        def configure(sim: Simulation, d: Path = d, seen: list[dict[str, float]] = rows[python_loop]) -> None:
            sim.diagnostics = True
            sim.slice_step_diagnostics = slice_step
            sim.output_dir = d
            sim.diagnostics_listeners.append(seen.append)

        _run(python_loop, "3D", configure=configure)
        out[python_loop] = d / "diags"
    assert len(c_loop_calls) == 1
    nrows = 1 + (3 * sum(el.nslice for el in _line()) if slice_step else 0) + 1  # initial, slices, final
    assert len(rows[False]) == len(rows[True]) == nrows
    for row_c, row_py in zip(rows[False], rows[True], strict=True):
        assert row_c.keys() == row_py.keys()
        assert (row_c["step"], row_c["period"], row_c["s"]) == (row_py["step"], row_py["period"], row_py["s"])
        for k, v in row_py.items():
            assert row_c[k] == pytest.approx(v, rel=_tolerance(row_py, k), abs=0.0, nan_ok=True), k
    names = sorted(p.name for p in out[True].iterdir())
    assert names and names == sorted(p.name for p in out[False].iterdir())
    for name in names:
        head_py, rows_py = _read_rows(out[True] / name)
        head_c, rows_c = _read_rows(out[False] / name)
        assert head_c == head_py and rows_c.shape == rows_py.shape and rows_py.shape[0] >= 1
        for row_c, row_py in zip(rows_c, rows_py, strict=True):
            named = dict(zip(head_py, row_py.tolist(), strict=True))
            for k, vc, vpy in zip(head_py, row_c.tolist(), row_py.tolist(), strict=True):
                assert vc == pytest.approx(vpy, rel=_tolerance(named, k), abs=0.0, nan_ok=True), (name, k)


def test_correlation_warning_from_c_loop(c_loop_calls: list[int]) -> None:
    """The 3D model's warning on <x t> (a bend's dispersion) comes from the C loop as from spacecharge.py."""
    with pytest.warns(EnvelopeSpaceChargeWarning, match="non-zero correlations"):
        _run(False, "3D")
    assert len(c_loop_calls) == 1


def test_energy_change_keeps_python_loop(c_loop_calls: list[int]) -> None:
    """An element that changes the reference energy (ShortRF) has maps that change slice by slice: the
    Python loop runs."""

    def add_rf(sim: Simulation) -> None:
        sim.lattice.append(elements.ShortRF(V=0.01, freq=200e6, phase=-45.0))

    sim = _run(False, configure=add_rf)
    assert not c_loop_calls
    assert math.isfinite(float(sim.envelope.envelope[0, 0]))


def test_python_loop_sees_a_hook_changing_an_element() -> None:
    """The Python loop keeps slice maps across slices (keyed on the element's version): a hook that sets a
    quadrupole's k at the second period must give what two track calls, k changed between them, give
    (the same operations: equal to the bit)."""
    k2 = 3.5

    def change_at_period_1(sim: Simulation) -> None:
        if sim.tracking_period == 1:
            sim.lattice[1].k = k2

    def hooked(sim: Simulation) -> None:
        sim.periods = 2
        sim.hook["before_period"] = change_at_period_1

    a = _run(True, "2D", configure=hooked)
    b = _run(True, "2D", configure=lambda sim: setattr(sim, "periods", 1))
    b.lattice[1].k = k2
    b.track_envelope()
    assert np.array_equal(a.envelope.envelope, b.envelope.envelope)
    c = _run(True, "2D", configure=lambda sim: setattr(sim, "periods", 2))
    assert not np.array_equal(a.envelope.envelope, c.envelope.envelope)


def test_moments_in_plain_floats_equal_numpy_ones() -> None:
    """envelope_moments' plain-float path gives the NumPy path's values to the bit (the same operations;
    the NumPy path is the one the oracle checks against ImpactX), on 50 random covariance matrices; a
    matrix with a zero emittance falls back to NumPy's inf / nan."""
    from beamtrack.engine.envelope.covariance import _moments, _moments_of_positive, envelope_moments
    from beamtrack.engine.refpart import RefPart

    ref = RefPart().set_species("proton").set_kin_energy_MeV(10.0)
    ref.s = 1.25
    rng = np.random.default_rng(3)
    for _ in range(50):
        A = rng.normal(size=(6, 6)) * np.array([1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])[:, None]
        cm = A @ A.T
        fast, slow = _moments_of_positive(cm, ref), _moments(cm, ref)
        assert list(fast) == list(slow)
        assert all(fast[k] == slow[k] or (math.isnan(fast[k]) and math.isnan(slow[k])) for k in slow)
    flat_t = np.diag([1e-6, 1e-8, 1e-6, 1e-8, 1e-6, 0.0])  # <pt^2> = 0: emittance_t 0, beta_t = t_ms / 0
    with pytest.raises(ZeroDivisionError):
        _moments_of_positive(flat_t, ref)
    row = envelope_moments(flat_t, ref)
    assert row["emittance_t"] == 0.0 and row["beta_t"] == math.inf and math.isnan(row["alpha_t"])
