"""Every element on every kernel kind, and the guard that every element class has its tests.

Each kind of ``BEAMTRACK_TEST_KINDS`` (the ``kind`` fixture) tracks lines holding every built-in element
and must reproduce the serial kind: bit for bit on the CPU kinds (the same vectorised code without
fast-math, losses included), to 1e-13 relative on cuda (other rounding of the same expressions). The
guard fails when an element class of the engine's registry has no test file naming it (cheetah's
element registry test is the model), and when a kernel element is missing from the every-kind lines below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import track_columns as tc  # tests/physics is on sys.path (pytest rootdir-relative import)
import track_rows as tr
from beamtrack.engine import elements as E
from beamtrack.engine.elements.registry import builtin

pytestmark = pytest.mark.physics

TESTS = Path(__file__).resolve().parents[1]


def test_every_element_class_has_a_test_case() -> None:
    """Every element class of the engine's registry is constructed (``Name(``) in a test file under tests/
    (the drift/quad, bend, thin-kick, focusing, RF and aperture files hold the built-ins' physics tests)."""
    texts = [p.read_text() for p in TESTS.rglob("test_*.py")]
    missing = sorted(name for name in builtin() if not any(f"{name}(" in t for t in texts))
    assert not missing, f"element classes that no test constructs: {missing}"


def straight_and_bent_line() -> list[E.Element]:
    """One of each drift, quadrupole and bend case of track_columns (a Marker among them)."""
    line = [make() for make, _, _ in tc.ALL_CASES.values()]
    return [*line[:3], E.Marker(), *line[3:]]


def kicks_focusing_rf_line() -> list[E.Element]:
    COS, SIN = tr.COS, tr.SIN
    return [
        E.Multipole(3, 100.0, -50.0),
        E.NonlinearLens(knll=1e-3, cnll=0.01),
        E.Kicker(1e-4, 2e-4),
        E.PlaneXYRot(30.0),
        E.ConstF(ds=1.0, kx=1.0, ky=-0.5, kt=0.3, nslice=3),
        E.Sol(ds=1.0, ks=0.8, nslice=2),
        E.ShortRF(0.01, 1.3e9, -30.0),
        E.Buncher(0.01, 15.0),
        E.SoftSolenoid(ds=1.0, bscale=0.5, cos_coefficients=COS, sin_coefficients=SIN, nslice=2, mapsteps=4),
        E.SoftQuadrupole(ds=1.0, gscale=1.0, cos_coefficients=COS, sin_coefficients=SIN, nslice=2, mapsteps=4),
        E.RFCavity(
            ds=1.0,
            escale=0.05,
            freq=1.3e9,
            phase=-45.0,
            cos_coefficients=COS,
            sin_coefficients=SIN,
            nslice=2,
            mapsteps=4,
        ),
        E.Aperture(2.5e-3, 2.5e-3, shape="elliptical"),
        E.Sol(ds=0.5, ks=0.3, dx=1e-4, dy=-2e-4, rotation=10.0, aperture_x=3e-3, aperture_y=3e-3),
        E.LinearMap((np.eye(6) + 1e-3 * np.arange(36).reshape(6, 6)).tolist(), ds=0.2),
        E.Empty(),
        E.ChrPlasmaLens(ds=0.5, k=2.0, nslice=2),
        E.TaperedPL(0.1, 20.0),
        E.QuadEdge(5.0),
        E.QuadEdge(5.0, flag="exit"),
        E.ChrAcc(ds=0.5, ez=0.02, bz=0.3, nslice=2),
        E.ExactQuad(ds=0.4, k=2.0, int_order=4, mapsteps=2),
        E.ExactMultipole(ds=0.3, k_normal=[0.0, 1.0, 20.0], k_skew=[0.0, 0.0, 5.0], mapsteps=2),
        E.ExactCFbend(ds=0.3, k_normal=[0.1, 1.0, 5.0], k_skew=[0.0, 0.2, 0.0], mapsteps=2),
        E.PolygonAperture([-2e-3, 2.5e-3, 1e-3, -2.5e-3, -2e-3], [-2.5e-3, -2e-3, 2.5e-3, 2e-3, -2.5e-3]),
        E.SpinMap(v=[0.3, -0.2, 0.5], A=(1e-2 * np.arange(18).reshape(3, 6)).tolist(), ds=0.1),
    ]


def test_lines_cover_every_kernel_element() -> None:
    """The two lines hold every built-in element class that has a C kernel: add a new one to a line."""
    kernel_types = {name for name, cls in builtin().items() if cls.kernel is not None}
    in_lines = {el.model_cls.model_fields["type"].default for el in straight_and_bent_line() + kicks_focusing_rf_line()}
    assert kernel_types <= in_lines, (
        f"kernel elements not tracked on every kind (add them to a line): {sorted(kernel_types - in_lines)}"
    )


def assert_same_as_serial(kind: str, got: np.ndarray, want: np.ndarray) -> None:
    if kind == "cuda":
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-18)
    else:
        np.testing.assert_array_equal(got, want)


def test_straight_and_bent_line_same_on_every_kind(kind: str) -> None:
    """2000 particles (several chunks and threads), 5 of them lost in the exact drift."""
    z = tc.random_points(2000, 5e-2, seed=3)
    z[1, :5] = 1.05  # lost in the exact drift
    a, sa, _ = tc.track(straight_and_bent_line(), z, "serial")
    b, sb, _ = tc.track(straight_and_bent_line(), z, kind)
    np.testing.assert_array_equal(sb, sa)
    assert (sa[:5] > 0).all() and (sa[5:] == 0).mean() > 0.9
    assert_same_as_serial(kind, b, a)


def test_kicks_focusing_rf_line_same_on_every_kind(kind: str) -> None:
    z = tr.point_sampler()(3000, [1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])
    a, sa = tr.track(kicks_focusing_rf_line(), z, kind="serial")
    b, sb = tr.track(kicks_focusing_rf_line(), z, kind=kind)
    assert_same_as_serial(kind, b, a)
    state = np.asarray(sa.beam.host(sa.beam.state))
    np.testing.assert_array_equal(np.asarray(sb.beam.host(sb.beam.state)), state)
    assert_same_as_serial(kind, np.asarray(sb.beam.host(sb.beam.s_lost)), np.asarray(sa.beam.host(sa.beam.s_lost)))
    assert 0 < int((state > 0).sum()) < 3000
