"""Elements with ds < 0 run their map backwards (ImpactX: the same map with a negative length; its reversibility
examples undo a bend with a negative-length element). Expected numbers: the flow property M(-L) = M(L)^-1 of an
exact map or of a symmetric (time-reversible) integrator, so the element followed by its ds < 0 twin returns every
particle to its start, and the reference particle to s = 0 and its start (kernel kinds: ``kind`` fixture).
ImpactX's own numbers for ds < 0: tests/oracle/test_element_options_oracle.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine import elements as E
from track_columns import random_points, track

pytestmark = pytest.mark.physics

#: (element of length L, its ds < 0 twin); each map is an exact flow or a symmetric integrator
PAIRS = {
    "Drift": (E.Drift(ds=0.7, nslice=3), E.Drift(ds=-0.7, nslice=3)),
    "ChrDrift": (E.ChrDrift(ds=0.9), E.ChrDrift(ds=-0.9)),
    "ExactDrift": (E.ExactDrift(ds=1.3), E.ExactDrift(ds=-1.3)),
    "Quad": (E.Quad(ds=0.5, k=-3.1), E.Quad(ds=-0.5, k=-3.1)),
    "ChrQuad": (E.ChrQuad(ds=0.4, k=2.5), E.ChrQuad(ds=-0.4, k=2.5)),
    "Sbend": (E.Sbend(ds=1.2, rc=4.0), E.Sbend(ds=-1.2, rc=4.0)),
    "SbendZeroRc": (E.Sbend(ds=10.0, rc=0.0), E.Drift(ds=-10.0)),  # ImpactX: rc = 0 is a drift
    "CFbend": (E.CFbend(ds=0.6, rc=-7.0, k=-0.8), E.CFbend(ds=-0.6, rc=-7.0, k=-0.8)),
    "ExactSbend": (E.ExactSbend(ds=1.0, phi=12.0, nslice=2), E.ExactSbend(ds=-1.0, phi=-12.0, nslice=2)),
    "ExactSbendB": (E.ExactSbend(ds=0.5, phi=8.0, B=0.3), E.ExactSbend(ds=-0.5, phi=8.0, B=0.3)),
    "Sol": (E.Sol(ds=0.8, ks=1.1), E.Sol(ds=-0.8, ks=1.1)),
    "ExactQuad": (
        E.ExactQuad(ds=0.4, k=2.5, int_order=4, mapsteps=3),
        E.ExactQuad(ds=-0.4, k=2.5, int_order=4, mapsteps=3),
    ),
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_negative_ds_undoes_the_element(name: str, kind: str) -> None:
    """Forward then backward: back to the start to 1e-12 relative (round-off of two maps at 1 mm / 1 mrad)."""
    forward, backward = PAIRS[name]
    z = random_points(64, 1e-3)
    out, state, sim = track([forward, backward], z, kind)
    assert (state == 0).all()
    np.testing.assert_allclose(out, z, rtol=0, atol=1e-12 * np.abs(z).max())
    ref = sim.reference
    assert abs(ref.s) <= 1e-12 and abs(ref.x) <= 1e-12 and abs(ref.z) <= 1e-12 and abs(ref.t) <= 1e-11
    one_way, _, _ = track([forward], z, kind)
    assert np.abs(one_way - z).max() > 1e-6  # the element does move the particles


def test_ds_sign_of_the_exact_bend_angle() -> None:
    """ImpactX's ExactSbend bends by sign(ds rc) |phi|: ds < 0 with phi < 0 (rc = ds / phi > 0) turns the reference
    back, as the thin_dipole example's inverse bend."""
    _, _, sim = track([E.ExactSbend(ds=-0.5, phi=-10.0)], random_points(1), "serial")
    assert sim.reference.px == pytest.approx(sim.reference.beta_gamma * np.sin(np.radians(10.0)), rel=1e-12)
    assert sim.reference.s == pytest.approx(-0.5, rel=1e-15)


def test_negative_ds_under_collective_kicks_is_refused() -> None:
    """ImpactX kicks with a negative slice length; beamtrack does not implement that (yet) and says so."""
    from track_columns import make_sim

    sim = make_sim()
    sim.space_charge = "3D"
    with pytest.raises(NotImplementedError, match="ds = -0.5 < 0 under space charge"):
        sim.has_collective_kick(E.Drift(ds=-0.5))
    assert not sim.has_collective_kick(E.Drift(ds=0.0))
