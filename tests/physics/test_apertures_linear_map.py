"""Aperture and LinearMap: which particles are lost, where, with frozen coordinates (on every CPU kernel kind,
``cpu_kind`` fixture), and the LinearMap's ordering and ds. Oracles: tests/physics/track_rows.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine import elements as E
from numpy_maps import apertures as nm  # tests/physics is on sys.path (pytest rootdir-relative import)
from track_rows import (
    point_sampler,
    tmap,
    track,
)

pytestmark = pytest.mark.physics

random_points = point_sampler()


# --- Aperture -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape,action,rx,ry,shift",
    [
        ("rectangular", "transmit", 0.0, 0.0, False),
        ("elliptical", "transmit", 0.0, 0.0, False),
        ("rectangular", "absorb", 0.0, 0.0, False),
        ("elliptical", "absorb", 4e-3, 5e-3, False),
        ("rectangular", "transmit", 2.5e-3, 3.5e-3, True),
        ("elliptical", "absorb", 3e-3, 3.5e-3, True),
    ],
)
def test_aperture_losses(shape, action, rx, ry, shift, cpu_kind):
    """Which particles are lost (numpy_maps.apertures.aperture_lost), where (s_lost = s of the aperture), frozen coordinates."""
    ax, ay = 1e-3, 1.5e-3
    z = random_points(400, [2e-3, 1e-4, 2e-3, 1e-4, 1e-3, 1e-4])
    z[:, 1] = z[:, 3] = 0.0  # no transverse motion in the first drift: the aperture sees the initial x, y
    ap = E.Aperture(ax, ay, repeat_x=rx, repeat_y=ry, shape=shape, action=action, shift_odd_x=shift)
    out, sim = track([E.Drift(ds=1.5), ap, E.Drift(ds=2.0)], z, kind=cpu_kind)
    expect = nm.aperture_lost(z[:, 0], z[:, 2], ax, ay, rx, ry, shape, action, shift)
    if shift:  # the shift changes which particles are lost
        assert (expect != nm.aperture_lost(z[:, 0], z[:, 2], ax, ay, rx, ry, shape, action)).any()
    lost = np.asarray(sim.beam.state[:400]) > 0
    assert 0 < expect.sum() < 400
    np.testing.assert_array_equal(lost, expect)
    assert (np.asarray(sim.beam.state[:400])[lost] == 2).all()  # state = element index + 1
    np.testing.assert_allclose(np.asarray(sim.beam.s_lost[:400])[lost], 1.5, rtol=1e-15)
    after_first = z.copy()
    after_first[:, 4] += 1.5 * z[:, 5] / sim.reference.beta_gamma**2
    np.testing.assert_allclose(out[lost], after_first[lost], rtol=1e-14, atol=1e-18)  # frozen at the aperture
    after_all = z.copy()
    after_all[:, 4] += 3.5 * z[:, 5] / sim.reference.beta_gamma**2
    np.testing.assert_allclose(out[~lost], after_all[~lost], rtol=1e-12, atol=1e-18)
    df = sim.beam.lost_to_df()
    assert len(df) == expect.sum()
    assert sim.beam.total_number_of_particles() == 400 - expect.sum()


def test_aperture_shift_odd_x_needs_rows():
    """ImpactX: "shift_odd_x can only be used if repeat_y is set, too"."""
    with pytest.raises(ValueError, match="shift_odd_x needs repeat_y"):
        E.Aperture(1e-3, 1e-3, repeat_x=2e-3, shift_odd_x=True)


# --- LinearMap ------------------------------------------------------------------------------------------------
def test_linear_map_ordering_and_ds():
    """ImpactX LinearMap: x_f = R(1,1) x + R(1,2) px + ..., order (x, px, y, py, t, pt); ds only advances s."""
    R = np.eye(6) + 0.01 * np.arange(36).reshape(6, 6)
    np.testing.assert_allclose(tmap([E.LinearMap(R.tolist(), ds=0.7)]), R, rtol=1e-15)
    _, sim = track([E.LinearMap(R.tolist(), ds=0.7)], np.zeros((1, 6)))
    assert sim.reference.s == pytest.approx(0.7)
    assert sim.reference.t == pytest.approx(0.7 / sim.reference.beta, rel=1e-14)
