"""Envelope tracking checks that need no ImpactX: the envelope is the second moments of a tracked beam.

Where the expected numbers come from:
- a beam tracked by the engine's particle kernels through a line of linear elements has, after the line,
  the covariance R S R^T of its start covariance S: the envelope pushed from S must equal the tracked
  beam's covariance to round-off (1e-11 of sqrt(S_ii S_jj));
- ``create_envelope`` of a distribution equals the analytic second moments of ImpactX's sampling map
  (<q^2> = lambdaQ^2 / (1 - mu^2), ...), which a 200k-particle sample reproduces within 5 of its
  standard errors (1 / sqrt(N) relative, about 0.2 %);
- Carlson's R_D at ImpactX's tolerance 1e-3 equals scipy.special.elliprd (an independent implementation)
  to 1e-12 relative (the closing series is fifth order in the deviations < 1e-3);
- 2D space charge in a drift: the perveance K of a round beam of radius a = 2 sigma (uniform-beam
  equivalent) gives px' = K x / a^2, i.e. R[px, x] = K ds / (4 sigma^2) for <x^2> = <y^2> = sigma^2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import Simulation, constants, distribution, elements
from beamtrack.engine.envelope import (
    EnvelopeError,
    EnvelopeTrackingError,
    create_envelope,
    elliptic_rd,
    space_charge2d_push,
)
from beamtrack.engine.refpart import RefPart

pytestmark = pytest.mark.physics

ROW_OF = [0, 3, 1, 4, 2, 5]  # map order -> particle container rows

LINEAR_LINE = [
    elements.Drift(ds=0.3, nslice=2),
    elements.Quad(ds=0.5, k=2.0, nslice=3),
    elements.Sbend(ds=0.8, rc=5.0),
    elements.DipEdge(psi=0.05, rc=5.0, g=0.02),
    elements.Sol(ds=0.4, ks=1.1),
    elements.ConstF(ds=0.3, kx=1.0, ky=0.5, kt=0.2),
    elements.Quad(ds=0.5, k=-2.0, dx=1e-4, rotation=7.0),
    elements.PlaneXYRot(angle=20.0),
    elements.Buncher(V=0.01, k=15.0),
    elements.CFbend(ds=0.5, rc=6.0, k=0.4),
]


def _waterbag() -> distribution.Waterbag:
    return distribution.Waterbag(
        lambdaX=4e-4,
        lambdaY=3e-4,
        lambdaT=1e-3,
        lambdaPx=2e-4,
        lambdaPy=1e-4,
        lambdaPt=1e-3,
        muxpx=-0.5,
        muypy=0.3,
        mutpt=0.2,
        dispX=0.1,
        dispPx=-0.02,
    )


def _sim(kind: str = "serial") -> Simulation:
    sim = Simulation(kind=kind, diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(50.0)
    return sim


def test_envelope_equals_tracked_second_moments(cpu_kind: str) -> None:
    sim = _sim(cpu_kind)
    sim.add_particles(1e-12, _waterbag(), 2000, seed=4)
    coords = np.asarray(sim.beam.real[:6])[ROW_OF]
    S0 = np.cov(coords, bias=True)
    sim.init_envelope(sim.reference, _waterbag())
    sim.envelope.envelope = S0
    sim.lattice.extend(LINEAR_LINE)
    sim.periods = 2
    sim.track_envelope()
    sim.compose_linear = False
    sim.track_particles()
    S1 = np.cov(np.asarray(sim.beam.real[:6])[ROW_OF], bias=True)
    scale = np.sqrt(np.outer(np.diag(S1), np.diag(S1)))
    assert float((np.abs(sim.envelope.envelope - S1) / scale).max()) < 1e-11
    # the envelope's reference went the same way as the beam's
    assert abs(sim.envelope_ref.s - sim.reference.s) < 1e-12 and abs(sim.envelope_ref.t - sim.reference.t) < 1e-9


def test_create_envelope_matches_sampled_moments() -> None:
    d = _waterbag()
    env = create_envelope(d, 1e-9)
    assert env.beam_intensity == 1e-9
    coords = d.sample(200_000, np.random.default_rng(11))[ROW_OF]
    S = np.cov(coords, bias=True)
    scale = np.sqrt(np.outer(np.diag(S), np.diag(S)))
    assert float((np.abs(env.envelope - S) / scale).max()) < 5 / math.sqrt(200_000)
    # the analytic x-plane entries (before the dispersion shear: y has none)
    lam, lamp, mu = 3e-4, 1e-4, 0.3
    assert env.envelope[2, 2] == pytest.approx(lam**2 / (1 - mu**2), rel=1e-14)
    assert env.envelope[2, 3] == pytest.approx(-lam * lamp * mu / (1 - mu**2), rel=1e-14)


def test_create_envelope_refuses_means_and_thermal() -> None:
    with pytest.raises(EnvelopeError, match="non-zero means"):
        create_envelope(
            distribution.Gaussian(
                lambdaX=1e-3, lambdaY=1e-3, lambdaT=1e-3, lambdaPx=1e-3, lambdaPy=1e-3, lambdaPt=1e-3, meanX=1e-4
            )
        )
    with pytest.raises(EnvelopeError, match="Empty"):
        create_envelope(distribution.Empty())


@pytest.mark.parametrize("xyz", [(1.0, 2.0, 3.0), (1e-6, 4e-6, 2.5e-7), (0.0, 1.0, 2.0), (3e-3, 3e-3, 3e-3)])
def test_elliptic_rd_matches_scipy(xyz: tuple[float, float, float]) -> None:
    scipy_special = pytest.importorskip("scipy.special")
    assert elliptic_rd(*xyz) == pytest.approx(float(scipy_special.elliprd(*xyz)), rel=1e-12)


def test_space_charge_2d_round_beam_focusing() -> None:
    ref = RefPart().set_mass_MeV(constants.mp_MeV).set_charge_qe(1.0).set_kin_energy_MeV(10.0)
    sigma, current, ds = 1e-3, 0.2, 0.01
    cm = np.diag([sigma**2, 1e-6, sigma**2, 1e-6, 1e-6, 1e-6])
    space_charge2d_push(ref, cm, current, ds)
    IA = 4 * math.pi * constants.epsilon0 * ref.mass * constants.c**3 / ref.charge
    K = 2 * current / IA / ref.beta_gamma**3
    k = K * ds / (4 * sigma**2)  # R[px, x]
    assert cm[0, 1] == pytest.approx(k * sigma**2, rel=1e-12)
    assert cm[2, 3] == pytest.approx(k * sigma**2, rel=1e-12)
    assert cm[1, 1] == pytest.approx(1e-6 + k * k * sigma**2, rel=1e-12)


def test_programmable_has_no_linear_map() -> None:
    sim = _sim()
    sim.init_envelope(sim.reference, _waterbag())
    sim.lattice.append(elements.Programmable(ds=0.1))
    with pytest.raises(EnvelopeTrackingError, match="Programmable"):
        sim.track_envelope()


def test_space_charge_2p5d_is_refused() -> None:
    sim = _sim()
    sim.space_charge = "2.5D"
    sim.init_envelope(sim.reference, _waterbag(), 1e-9)
    sim.lattice.append(elements.Drift(ds=0.1))
    with pytest.raises(NotImplementedError, match="2D .* and 3D"):
        sim.track_envelope()
