"""Drifts and quadrupoles (Drift, Quad, ChrDrift, ExactDrift, ChrQuad; the linear Drift and Quad headers
and the chromatic and exact ones) against NumPy twins, analytic matrices, symplecticity, limits and the
reference-particle push; the kernel-vs-twin check runs on every kernel kind (``kind`` fixture).
Oracles and units: tests/physics/track_columns.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import elements as E
from numpy_maps import phase_space as nm  # tests/physics is on sys.path (pytest rootdir-relative import)
from track_columns import (
    ALL_CASES,
    ALL_LINEAR_EXPECT,
    BETA,
    GAMMA,
    LINEAR,
    check_kernel_symplectic,
    check_twin_symplectic,
    random_points,
    ref_after,
    rigidity,
    track,
    transfer_map,
)

pytestmark = pytest.mark.physics

CASES = {k: ALL_CASES[k] for k in ("Drift", "Quad", "ChrDrift", "ExactDrift", "ChrQuadF", "ChrQuadD")}
LINEAR_EXPECT = {k: ALL_LINEAR_EXPECT[k] for k in ("Drift", "QuadF", "QuadD", "ChrDrift", "ExactDrift", "ChrQuad")}
NONLINEAR = [k for k in CASES if k not in LINEAR]


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_matches_numpy_twin(name: str, kind: str) -> None:
    """Kernel vs the literal ImpactX formulas, at amplitudes up to 5e-2 (well into the nonlinear regime).

    Tolerance: both evaluate the same expressions with different rounding; the literal forms lose up
    to ~|L/beta| * eps (t of the drifts) and ~rc * eps (x of ExactSbend) to cancellation, so 1e-13
    absolute plus 1e-12 relative holds with margin.
    """
    make, twin, n = CASES[name]
    z = random_points(64, 5e-2)
    got, state, _ = track([make()], z, kind)
    want = np.array(nm.repeat(twin, tuple(z), n))
    assert (state == 0).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", list(LINEAR_EXPECT))
def test_transfer_matrix_matches_textbook(name: str) -> None:
    make, expect, tol = LINEAR_EXPECT[name]
    R = transfer_map(make())
    np.testing.assert_allclose(R, expect(), rtol=0, atol=tol)


@pytest.mark.parametrize("name", ["Drift", "QuadF", "QuadD"])
def test_linear_maps_symplectic(name: str) -> None:
    make, _, _ = LINEAR_EXPECT[name]
    assert nm.symplecticity_error(transfer_map(make())) < 1e-12


@pytest.mark.parametrize("name", NONLINEAR)
def test_twin_jacobian_symplectic(name: str) -> None:
    _, twin, n = CASES[name]
    check_twin_symplectic(twin, n, name)


@pytest.mark.parametrize("name", NONLINEAR)
def test_kernel_jacobian_symplectic(name: str) -> None:
    make, twin, n = CASES[name]
    check_kernel_symplectic(make, twin, n, name)


def test_chrquad_zero_strength_limit_is_chrdrift() -> None:
    """k -> 0: ChrQuad -> ChrDrift. The difference is O(k L^2 |x|) ~ 1e-9 * 1 * 5e-2 here; k = 0 is exact."""
    z = random_points(32, 5e-2)
    drift, _, _ = track([E.ChrDrift(ds=1.0)], z)
    small, _, _ = track([E.ChrQuad(ds=1.0, k=1e-9)], z)
    zero, _, _ = track([E.ChrQuad(ds=1.0, k=0.0)], z)
    np.testing.assert_array_equal(zero, drift)
    np.testing.assert_allclose(small, drift, rtol=0, atol=1e-9)


def test_exact_drift_paraxial_limit_is_chrdrift() -> None:
    """ExactDrift -> ChrDrift for small px, py: the Hamiltonians differ by the p_perp^4 / (8 D^3) term of
    sqrt(D^2 - p^2) = D - p^2/(2D) - p^4/(8 D^3) - ..., so at the same (x, y, t, pt) the difference scales
    as amplitude^3 in x, y and amplitude^4 in t: scaling px, py by 1/10 divides it by 1e3 and 1e4."""
    z = random_points(32, 1e-2)
    diffs = []
    for amp in (1e-2, 1e-3):
        za = z.copy()
        za[[1, 3]] *= amp / 1e-2
        ex, _, _ = track([E.ExactDrift(ds=2.0)], za)
        ch, _, _ = track([E.ChrDrift(ds=2.0)], za)
        diffs.append(np.abs(ex - ch))
    big, small = diffs
    assert big[[0, 2]].max() < 2.0 * (2 * 1e-2**2) ** 1.5  # L |p|^3 / 2 with |p| <= sqrt(2) amp, margin 2
    np.testing.assert_allclose(big[[0, 2]] / small[[0, 2]], 1e3, rtol=1e-3)
    # in t the small-amplitude difference is p^4 / (8 D^3) next to the O(p^2) terms' round-off (sqrt(D^2 - p^2)
    # loses eps D^2 / p^2 of them): keep the particles where it is 1e4 ulp of t or more (a few of 32 are not)
    t_small = np.abs(ex[4])
    keep = small[4] > 1e4 * np.spacing(t_small)
    assert keep.sum() >= 24
    np.testing.assert_allclose(big[4][keep] / small[4][keep], 1e4, rtol=1e-2)


def test_chrquad_unit_tesla_per_m() -> None:
    """unit=1: k [T/m] / (B rho) [T m] (ImpactX); B rho = beta gamma m c / q from CODATA."""
    brho = rigidity(GAMMA)
    G = 7.5  # T/m
    z = random_points(16, 1e-2)
    a, _, _ = track([E.ChrQuad(ds=0.4, k=G, unit=1)], z)
    b, _, _ = track([E.ChrQuad(ds=0.4, k=G / brho, unit=0)], z)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize(
    "el",
    [
        E.ChrDrift(ds=1.3, nslice=3),
        E.ExactDrift(ds=1.3),
        E.ChrQuad(ds=1.3, k=2.0, nslice=2),
        E.ChrQuad(ds=1.3, k=20.0, unit=1),
    ],
    ids=["ChrDrift", "ExactDrift", "ChrQuad", "ChrQuadT"],
)
def test_reference_straight(el: E.Element) -> None:
    r = ref_after(el)
    bg = math.sqrt(GAMMA**2 - 1)
    assert r.s == pytest.approx(1.3, rel=1e-15) and r.gamma == GAMMA
    assert (r.x, r.y, r.px, r.py) == (0.0, 0.0, 0.0, 0.0)
    assert r.z == pytest.approx(1.3, rel=1e-14) and r.pz == pytest.approx(bg, rel=1e-15)
    assert r.t == pytest.approx(1.3 / BETA, rel=1e-14)
