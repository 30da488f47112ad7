"""The tracking loop: hook order and counts (ImpactX's), hook errors, Programmable elements,
dynamic lattice changes, fused vs unfused equality, spec round trip."""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine import HookError, Simulation, TrackingCancelled, elements
from beamtrack.engine.distribution import Waterbag

pytestmark = pytest.mark.unit


def make_sim(kind: str = "serial", n: int = 200, **kw) -> Simulation:
    sim = Simulation(kind=kind, diagnostics=False, **kw)
    sim.reference.set_species("electron").set_kin_energy_MeV(2000)
    sim.add_particles(
        1e-9,
        Waterbag(
            lambdaX=1e-4, lambdaY=1e-4, lambdaT=1e-3, lambdaPx=1e-5, lambdaPy=1e-5, lambdaPt=2e-3, muxpx=-0.5, muypy=0.5
        ),
        npart=n,
        seed=3,
    )
    return sim


def fodo() -> list[elements.Element]:
    return [
        elements.Drift(name="d1", ds=0.25, nslice=3),
        elements.Quad(name="q1", ds=1.0, k=1.0, nslice=2),
        elements.Drift(name="d2", ds=0.5, nslice=1),
        elements.Quad(name="q2", ds=1.0, k=-1.0, nslice=4),
    ]


def test_hook_order_and_counts() -> None:
    sim = make_sim()
    sim.lattice.extend(fodo())
    sim.periods = 2
    log: list[tuple] = []
    for name in ("before_period", "after_period", "before_element", "after_element", "before_slice"):
        sim.hook[name] = lambda s, name=name: log.append((name, s.tracking_period, s.tracking_element, s.tracking_step))
    sim.track_particles()
    names = [e[0] for e in log]
    # expected from ImpactX's loop: per period 1 before/after_period, per element 1 before/after, per slice 1
    assert names.count("before_period") == names.count("after_period") == 2
    assert names.count("before_element") == names.count("after_element") == 8
    assert names.count("before_slice") == 2 * (3 + 2 + 1 + 4)
    first_period = names[: names.index("after_period") + 1]
    assert first_period[0] == "before_period" and first_period[-1] == "after_period"
    assert first_period[1:5] == ["before_element", "before_slice", "before_slice", "before_slice"]
    assert first_period[5] == "after_element"
    slices = [e for e in log if e[0] == "before_slice"]
    assert [e[3] for e in slices] == list(range(1, 21))  # global step counts slices, from 1
    assert [e[2] for e in log if e[0] == "before_element"][:4] == [0, 1, 2, 3]
    assert sim.tracking_step == 20


def test_hook_that_raises_names_the_hook() -> None:
    sim = make_sim()
    sim.lattice.extend(fodo())

    def bad(s: Simulation) -> None:
        raise ZeroDivisionError("boom in user code")

    sim.hook["after_element"] = bad
    with pytest.raises(HookError) as info:
        sim.track_particles()
    msg = str(info.value)
    assert "after_element" in msg and "ZeroDivisionError" in msg and "boom in user code" in msg
    assert "Traceback" in msg and "in bad" in msg  # the user function appears in the traceback


def test_unknown_hook_name_rejected() -> None:
    sim = make_sim()
    with pytest.raises(KeyError, match="before_turn"):
        sim.hook["before_turn"] = print


def test_fused_composed_and_sliced_agree(kind: str) -> None:
    """The same line tracked fused+composed, fused only, and slice by slice gives the same particles."""
    results = []
    for compose, hook in ((True, False), (False, False), (False, True)):
        sim = make_sim(kind, n=500, compose_linear=compose)
        sim.lattice.extend(fodo())
        if hook:
            sim.hook["before_slice"] = lambda s: None
        sim.periods = 3
        sim.track_particles()
        results.append(sim.beam.host(sim.beam.real)[:6].copy())
        assert sim.reference.s == pytest.approx(3 * 2.75)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-11, atol=1e-17)
    np.testing.assert_array_equal(results[1], results[2])


def test_dynamic_quad_change_between_periods() -> None:
    """A hook changes a quad's k after period 0: period 1 uses it (fused kernels included)."""
    sim = make_sim()
    sim.lattice.extend(fodo())
    q1 = sim.lattice[1]
    sim.periods = 2
    sim.hook["after_period"] = lambda s: setattr(q1, "k", 0.5) if s.tracking_period == 0 else None
    sim.track_particles()
    # oracle: one period at k=1 then one period at k=0.5, tracked separately
    ref = make_sim()
    ref.lattice.extend(fodo())
    ref.track_particles(periods=1)
    ref.lattice[1].k = 0.5
    ref.track_particles(periods=1)
    np.testing.assert_array_equal(sim.beam.real, ref.beam.real)
    with pytest.raises(Exception, match="k"):
        q1.k = "strong"


def test_programmable_sees_live_arrays_without_copies() -> None:
    sim = make_sim()
    seen = {}

    def kick(arrays, refpart) -> None:
        px = arrays["momentum_x"]
        seen["shares"] = np.shares_memory(px, sim.beam.real)
        px += 1e-3  # in place: must land in the beam

    prog = elements.Programmable(name="kick", ds=0.0, nslice=1)
    prog.beam_particles = kick
    sim.lattice.extend([prog])
    before = sim.beam.real[3].copy()
    sim.track_particles()
    assert seen["shares"]
    np.testing.assert_allclose(sim.beam.real[3], before + 1e-3)


def test_programmable_push_called_per_slice() -> None:
    sim = make_sim()
    calls = []
    prog = elements.Programmable(name="p", ds=1.0, nslice=4)
    prog.push = lambda s, step, period: calls.append((step, period))
    sim.lattice.append(prog)
    sim.periods = 2
    sim.track_particles()
    assert calls == [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1), (6, 1), (7, 1), (8, 1)]


def test_request_stop_cancels_at_step_boundary() -> None:
    sim = make_sim()
    sim.lattice.extend(fodo())
    sim.periods = 5
    sim.hook["after_period"] = lambda s: s.request_stop() if s.tracking_period == 1 else None
    with pytest.raises(TrackingCancelled):
        sim.track_particles()
    assert sim.tracking_step == 20


def test_spec_round_trip() -> None:
    sim = make_sim()
    sim.lattice.extend(fodo())
    sim.periods = 3
    spec = sim.to_spec(name="rt")
    again = Simulation.from_spec(spec, kind="serial").to_spec(name="rt")
    assert again == spec
    assert spec.model_dump()["lattice"]["elements"][1] == {
        "type": "Quad",
        "name": "q1",
        "dx": 0.0,
        "dy": 0.0,
        "rotation": 0.0,
        "ds": 1.0,
        "k": 1.0,
        "nslice": 2,
        "aperture_x": 0.0,
        "aperture_y": 0.0,
    }
    # same seed -> same particles
    a = Simulation.from_spec(spec, kind="serial").beam.real
    np.testing.assert_array_equal(a, Simulation.from_spec(spec, kind="serial").beam.real)


def test_total_steps_and_progress() -> None:
    sim = make_sim()
    sim.lattice.extend(fodo())
    sim.periods = 2
    seen = []
    sim.progress_listeners.append(lambda step, total: seen.append((step, total)))
    sim.track_particles()
    assert sim.total_steps == 20 and seen[-1] == (20, 20)


def test_nonlinear_runs_are_not_composed() -> None:
    """A fused run with a nonlinear element is pushed element by element, never as a matrix
    (regression: a sextupole between drifts was once composed from unit-vector probes)."""

    def line() -> list[elements.Element]:
        return [
            elements.Drift(ds=0.5),
            elements.Multipole(multipole=3, K_normal=100.0, K_skew=-50.0),
            elements.Drift(ds=0.5),
        ]

    out = []
    for compose in (True, False):
        sim = make_sim(compose_linear=compose)
        sim.lattice.extend(line())
        sim.track_particles()
        out.append(sim.beam.real.copy())
    np.testing.assert_array_equal(out[0], out[1])


def test_lost_particles_written_with_s_lost(tmp_path) -> None:
    """Particles an Aperture removes are kept (state > 0, s_lost) and written at finalize to
    diags/openPMD/particles_lost.h5 with an s_lost record, as ImpactX writes its lost-particle series."""
    import openpmd_api as io

    sim = Simulation(kind="serial", output_dir=tmp_path)
    sim.reference.set_species("proton").set_kin_energy_MeV(250)
    rng = np.random.default_rng(1)
    sim.beam.add_n_particles(
        *(rng.normal(size=(6, 500)) * 1e-3), qm=sim.reference.charge / sim.reference.mass, bunch_charge=1e-9
    )
    sim.lattice.extend(
        [
            elements.Drift(ds=1.0),
            elements.Aperture(aperture_x=1e-3, aperture_y=1e-3, shape="elliptical"),
            elements.Drift(ds=1.0),
        ]
    )
    x_after_drift = sim.beam.real[0] + 1.0 * sim.beam.real[3]
    y_after_drift = sim.beam.real[1] + 1.0 * sim.beam.real[4]
    outside = (x_after_drift / 1e-3) ** 2 + (y_after_drift / 1e-3) ** 2 > 1.0  # oracle: drift then ellipse test
    sim.track_particles()
    sim.finalize()
    lost = sim.beam.lost_to_df()
    assert sorted(lost["id"]) == sorted(sim.beam.id[outside])
    assert (lost["s_lost"] == 1.0).all()
    series = io.Series(str(tmp_path / "diags" / "openPMD" / "particles_lost.h5"), io.Access.read_only)
    it = series.iterations[next(iter(series.iterations))]
    s_lost = it.particles["beam"]["s_lost"][io.Record_Component.SCALAR].load_chunk()
    ids = it.particles["beam"]["id"][io.Record_Component.SCALAR].load_chunk()
    series.flush()
    assert sorted(ids) == sorted(lost["id"]) and (s_lost == 1.0).all()


def test_period_by_period_calls_equal_one_call() -> None:
    """ImpactX scripts often call track_particles() one period at a time: the reused tracker (kernel
    and cached ops) gives exactly what one call over all periods gives, and sees a new hook."""
    one = make_sim()
    one.lattice.extend(fodo())
    one.track_particles(periods=4)
    many = make_sim()
    many.lattice.extend(fodo())
    for _ in range(4):
        many.track_particles(periods=1)
    np.testing.assert_array_equal(one.beam.real, many.beam.real)
    assert many.tracking_step == one.tracking_step and many.reference.s == pytest.approx(one.reference.s)
    seen = []
    many.hook["before_slice"] = lambda s: seen.append(s.tracking_step)
    many.track_particles(periods=1)
    assert len(seen) == 10


def test_elements_from_a_spec_own_their_parameters() -> None:
    """An element made from a spec's element model (``Element.from_model``, as ``from_spec`` makes
    every element) is equal to it but shares nothing mutable with it: changing the element's
    lists in place, or the model's, leaves the other as it was (the copy is shallow for numbers
    and strings only)."""
    from beamtrack.engine.elements.registry import element_class
    from beamtrack.spec import elements as models

    cases = [
        models.ExactMultipole(ds=0.0, k_normal=[0.0, 1.0], k_skew=[0.0, 0.5], unit=0),
        models.LinearMap(R=[[float(i == j) for j in range(6)] for i in range(6)], ds=0.1),
        models.PolygonAperture(vertices_x=[-1e-3, 1e-3, 1e-3, -1e-3], vertices_y=[-1e-3, -1e-3, 1e-3, -1e-3]),
    ]
    for m in cases:
        el = element_class(m.type).from_model(m)
        before = m.model_dump()
        assert el.model.model_dump() == before and el.model is not m
        for k, value in m.__dict__.items():
            if isinstance(value, list):
                getattr(el.model, k).append(99.0)  # in place, on the element's copy
                assert getattr(m, k) == before[k], (m.type, k)
                value.append(7.0)  # and on the model
                assert getattr(el.model, k)[-1] == 99.0, (m.type, k)
