"""Aperture and LinearMap: which particles are lost, where, with frozen coordinates (on every CPU kernel kind,
``cpu_kind`` fixture), and the LinearMap's ordering and ds. Oracles: tests/physics/track_rows.py.
"""

from __future__ import annotations

import numpy as np
import numpy_maps_b as nm  # tests/physics is on sys.path (pytest rootdir-relative import)
import pytest
from beamtrack.engine import elements as E
from track_rows import (
    point_sampler,
    tmap,
    track,
)

pytestmark = pytest.mark.physics

random_points = point_sampler()


# --- Aperture -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape,action,rx,ry",
    [
        ("rectangular", "transmit", 0.0, 0.0),
        ("elliptical", "transmit", 0.0, 0.0),
        ("rectangular", "absorb", 0.0, 0.0),
        ("elliptical", "absorb", 4e-3, 5e-3),
    ],
)
def test_aperture_losses(shape, action, rx, ry, cpu_kind):
    """Which particles are lost (numpy_maps_b.aperture_lost), where (s_lost = s of the aperture), frozen coordinates."""
    ax, ay = 1e-3, 1.5e-3
    z = random_points(400, [2e-3, 1e-4, 2e-3, 1e-4, 1e-3, 1e-4])
    z[:, 1] = z[:, 3] = 0.0  # no transverse motion in the first drift: the aperture sees the initial x, y
    ap = E.Aperture(ax, ay, repeat_x=rx, repeat_y=ry, shape=shape, action=action)
    out, sim = track([E.Drift(ds=1.5), ap, E.Drift(ds=2.0)], z, kind=cpu_kind)
    expect = nm.aperture_lost(z[:, 0], z[:, 2], ax, ay, rx, ry, shape, action)
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


# --- LinearMap ------------------------------------------------------------------------------------------------
def test_linear_map_ordering_and_ds():
    """ImpactX LinearMap: x_f = R(1,1) x + R(1,2) px + ..., order (x, px, y, py, t, pt); ds only advances s."""
    R = np.eye(6) + 0.01 * np.arange(36).reshape(6, 6)
    np.testing.assert_allclose(tmap([E.LinearMap(R.tolist(), ds=0.7)]), R, rtol=1e-15)
    _, sim = track([E.LinearMap(R.tolist(), ds=0.7)], np.zeros((1, 6)))
    assert sim.reference.s == pytest.approx(0.7)
    assert sim.reference.t == pytest.approx(0.7 / sim.reference.beta, rel=1e-14)
