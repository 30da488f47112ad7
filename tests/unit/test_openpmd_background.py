"""BeamMonitorWriter stores iterations in a background thread: what it stores is the beam as it was at
``write`` (the tracking goes on changing it), iterations arrive in order, and an error of the thread is
raised in the caller's thread by the next write, flush or close."""

from __future__ import annotations

import numpy as np
import openpmd_api as io
import pytest
from beamtrack.engine.diagnostics import BeamMonitorWriter
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart

pytestmark = pytest.mark.unit

BACKEND = "h5" if io.variants.get("hdf5") else "json"


def _beam(seed: int, n: int = 300) -> ParticleContainer:
    pc = ParticleContainer()
    pc.add_n_particles(*(np.random.default_rng(seed).standard_normal((6, n)) * 1e-3), qm=pc.qm, bunch_charge=1e-9)
    return pc


def _ref(s: float) -> RefPart:
    ref = RefPart().set_species("electron").set_kin_energy_MeV(100.0)
    ref.s = s
    return ref


def test_stored_iterations_are_the_beam_at_write_time(tmp_path) -> None:
    pc, ref = _beam(1), _ref(0.5)
    expected = []
    w = BeamMonitorWriter(tmp_path, "mon", BACKEND)
    for step in range(1, 6):
        expected.append(pc.real[0, : pc.size].copy())
        w.write(step, pc, ref)
        pc.real[:6] += 1.0  # the tracking moves on before the thread has stored the step
        ref.s += 1.0
    w.close()
    series = io.Series(str(w.path), io.Access.read_only)
    assert sorted(series.iterations) == [1, 2, 3, 4, 5]
    for step, x in zip(range(1, 6), expected, strict=True):
        it = series.iterations[step]
        got = it.particles["beam"]["position"]["x"].load_chunk()
        series.flush()
        np.testing.assert_array_equal(got, x)
        assert it.time == pytest.approx(0.5 + step - 1)
    series.close()


def test_an_error_in_the_writer_thread_is_raised_by_the_next_call(tmp_path, monkeypatch) -> None:
    w = BeamMonitorWriter(tmp_path, "bad", BACKEND)

    def fail(*args: object) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(w, "_write_iteration", fail)
    w.write(1, _beam(2), _ref(0.0))
    with pytest.raises(RuntimeError, match="no space left on device"):
        w.flush()
    w.write(2, _beam(3), _ref(1.0))
    with pytest.raises(RuntimeError, match="no space left on device"):
        w.close()
    assert w.closed
