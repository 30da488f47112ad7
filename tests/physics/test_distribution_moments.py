"""Statistics of the engine distributions against analytic moments and ImpactX's reference numbers.

Tolerances are statistical: for N samples the relative error of an rms size is about
sqrt((kurtosis - 1) / (4 N)), of a correlation coefficient (1 - r^2) / sqrt(N); each bound
below is >= 5 of those standard errors. Every test is seeded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from beamtrack.engine import distribution
from beamtrack.engine.distribution import thermal
from beamtrack.engine.refpart import RefPart
from beamtrack.spec import load_spec
from scipy.integrate import solve_ivp

pytestmark = pytest.mark.physics

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "cases"  # shared/ beside the checkout
N = 200_000
PLANES = (("X", "Px", "muxpx", 0, 3), ("Y", "Py", "muypy", 1, 4), ("T", "Pt", "mutpt", 2, 5))
PARAMS = dict(
    lambdaX=1e-3,
    lambdaY=2e-3,
    lambdaT=3e-3,
    lambdaPx=4e-4,
    lambdaPy=5e-4,
    lambdaPt=6e-4,
    muxpx=0.5,
    muypy=-0.7,
    mutpt=0.3,
)
PHASE_SPACE = ["Gaussian", "Waterbag", "Kurth6D", "Kurth4D", "KVdist", "Semigaussian", "Triangle"]


def central_cov(a: np.ndarray) -> np.ndarray:
    """Population (ddof=0) covariance of the six rows, as the reference cases define it."""
    return np.cov(a, bias=True)


def emittance(cov: np.ndarray, iq: int, ip: int) -> float:
    return math.sqrt(max(cov[iq, iq] * cov[ip, ip] - cov[iq, ip] ** 2, 0.0))


def kurtosis(v: np.ndarray) -> float:
    d = v - v.mean()
    return float((d**4).mean() / (d**2).mean() ** 2)


# Marginal kurtosis E[q^4]/E[q^2]^2 of each unit shape: a coordinate of a uniform d-ball has 3(d+2)/(d+4)
# (so 2.4 for d = 6, 15/7 for d = 3, 2 for d = 2, 2.25 for d = 4); uniform on an interval 1.8; Gaussian 3.
# A KV beam is uniform on the 4D sphere, whose (x, y) projection is the uniform disk (d = 2).
KURTOSIS = {
    "Gaussian": (3.0, 3.0, 3.0, 3.0, 3.0, 3.0),
    "Waterbag": (2.4,) * 6,
    "Kurth6D": (15 / 7, 15 / 7, 15 / 7, None, None, None),
    "Kurth4D": (2.0, 2.0, 1.8, None, None, 3.0),
    "KVdist": (2.0, 2.0, 1.8, 2.0, 2.0, 3.0),
    "Semigaussian": (2.0, 2.0, 1.8, 3.0, 3.0, 3.0),
    "Triangle": (2.25, 2.25, None, 2.25, 2.25, 3.0),
}


@pytest.mark.parametrize("name", PHASE_SPACE)
def test_second_moments_match_lambda_mu(name: str) -> None:
    # ImpactX docs (Beam Distribution Input): <q^2> = lq^2/(1-mu^2), <p^2> = lp^2/(1-mu^2),
    # <qp> = -mu lq lp/(1-mu^2), emittance = lq lp / sqrt(1-mu^2)
    a = distribution.DISTRIBUTIONS[name](**PARAMS).sample(N, np.random.default_rng(20))
    cov = central_cov(a)
    sig = np.sqrt(np.diag(cov))
    for q, p, mu_name, iq, ip in PLANES:
        lq, lp, mu = PARAMS[f"lambda{q}"], PARAMS[f"lambda{p}"], PARAMS[mu_name]
        root = math.sqrt(1 - mu * mu)
        assert sig[iq] == pytest.approx(lq / root, rel=0.015), (name, q)
        assert sig[ip] == pytest.approx(lp / root, rel=0.015), (name, p)
        assert cov[iq, ip] / (sig[iq] * sig[ip]) == pytest.approx(-mu, abs=0.012), (name, mu_name)
        assert emittance(cov, iq, ip) == pytest.approx(lq * lp / root, rel=0.015), (name, q)
    corr = cov / np.outer(sig, sig)
    for i in range(6):
        assert abs(a[i].mean()) < 5 * sig[i] / math.sqrt(N), (name, i)
        for j in range(6):
            if j != i and {i, j} not in ({0, 3}, {1, 4}, {2, 5}):
                assert abs(corr[i, j]) < 0.015, (name, i, j)


@pytest.mark.parametrize("name", PHASE_SPACE)
def test_shape_kurtosis_of_each_coordinate(name: str) -> None:
    a = distribution.DISTRIBUTIONS[name](lambdaX=1, lambdaY=1, lambdaT=1, lambdaPx=1, lambdaPy=1, lambdaPt=1).sample(
        N, np.random.default_rng(21)
    )
    for row, expected in enumerate(KURTOSIS[name]):
        if expected is not None:
            assert kurtosis(a[row]) == pytest.approx(expected, abs=0.06), (name, row)


def test_triangle_current_profile_skewness() -> None:
    # density (2 sqrt2 - t)/9 on [-sqrt2, 2 sqrt2]: E[t^3] = 0.1 sqrt2^5 = 0.4 sqrt2 = 0.566 (unit variance)
    t = distribution.Triangle(lambdaX=1, lambdaY=1, lambdaT=1, lambdaPx=1, lambdaPy=1, lambdaPt=1).sample(
        N, np.random.default_rng(22)
    )[2]
    d = t - t.mean()
    assert float((d**3).mean() / (d**2).mean() ** 1.5) == pytest.approx(0.4 * math.sqrt(2), abs=0.03)


@pytest.mark.parametrize("cut", [0.5, 1.0, 3.0])
def test_gaussian_cut_keeps_rms_sizes(cut: float) -> None:
    # ImpactX rescales a cut plane by r2scale so that <q^2> = lambdaQ^2 stays (mu = 0)
    a = distribution.Gaussian(
        lambdaX=1e-3,
        lambdaY=1e-3,
        lambdaT=1e-3,
        lambdaPx=1e-4,
        lambdaPy=1e-4,
        lambdaPt=1e-4,
        cutX=cut,
        cutY=cut,
        cutT=cut,
    ).sample(N, np.random.default_rng(23))
    np.testing.assert_allclose(a.std(axis=1), [1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4], rtol=0.01)


@pytest.mark.parametrize("name", ["Gaussian", "KVdist", "Waterbag"])
def test_twiss_input_is_recovered_from_the_sample(name: str) -> None:
    # beta = <q^2>/eps, alpha = -<q p>/eps (Courant-Snyder); Twiss values of the 2D KV FODO case
    twiss = dict(
        betaX=0.737881,
        alphaX=2.4685083,
        emittX=1e-6,
        betaY=0.737881,
        alphaY=-2.4685083,
        emittY=1e-6,
        betaT=0.5,
        alphaT=0.3,
        emittT=1e-12,
    )
    a = distribution.DISTRIBUTIONS[name](from_twiss=True, **twiss).sample(N, np.random.default_rng(24))
    cov = central_cov(a)
    for q, _, _, iq, ip in PLANES:
        eps = emittance(cov, iq, ip)
        assert eps == pytest.approx(twiss[f"emitt{q}"], rel=0.015), (name, q)
        assert cov[iq, iq] / eps == pytest.approx(twiss[f"beta{q}"], rel=0.02), (name, q)
        assert -cov[iq, ip] / eps == pytest.approx(twiss[f"alpha{q}"], rel=0.02, abs=0.01), (name, q)


def case_ids() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.json"))


@pytest.mark.parametrize("case", case_ids())
def test_initial_beam_matches_impactx_reference_case(case: str) -> None:
    # expected numbers: ImpactX's initial-beam moments from the case file (its examples' analysis scripts);
    # the tolerances are ~2.2 standard errors at N = 10000, so one seed of 10000 can miss by chance
    # (solenoid_hard_edge sigma_t does at seed 1): 100000 particles keep our own noise 3x smaller
    data = json.loads((CASES / f"{case}.json").read_text())
    spec = load_spec(data["spec"])
    d = distribution.from_model(spec.beam.distribution)
    ref = RefPart().set_species(spec.reference.species).set_kin_energy_MeV(spec.reference.kin_energy_MeV)
    a = d.sample(
        100_000, np.random.default_rng(spec.beam.seed), ref=ref, bunch_charge_C=spec.beam.bunch_charge_C or 0.0
    )
    cov = central_cov(a)
    got = {f"sigma_{c}": math.sqrt(cov[i, i]) for c, i in (("x", 0), ("y", 1), ("t", 2))}
    got.update({f"emittance_{c}": emittance(cov, i, i + 3) for c, i in (("x", 0), ("y", 1), ("t", 2))})
    checks = [c for c in data["checks"] if c["at"] == "initial" and c["quantity"] in got]
    assert checks
    for c in checks:
        value = got[c["quantity"]]
        assert abs(value - c["expected"]) <= c["atol"] + c["rtol"] * abs(c["expected"]), (case, c, value)


# --- Thermal ------------------------------------------------------------------------------------

PROTON_100keV = RefPart().set_species("proton").set_kin_energy_MeV(0.1)


@pytest.mark.parametrize(
    ("params", "expected", "rtol"),
    [
        # ImpactX examples/epac2004_benchmarks: input_thermal.in and analysis_thermal.py (initial beam)
        (
            dict(k=6.283185307179586, kT=36.0e-6, normalize=0.41604661),
            [2.569162e-03, 2.569557e-03, 1.757951e-01, 1.540773e-05, 1.541883e-05, 1.538814e-05],
            3.5e-2,
        ),
        # input_bithermal.in and analysis_bithermal.py
        (
            dict(
                k=6.283185307179586, kT=36.0e-6, kT_halo=900.0e-6, halo=0.05, normalize=0.54226, normalize_halo=0.08195
            ),
            [2.751162e-03, 2.751725e-03, 1.884003e-01, 2.449966e-05, 2.451077e-05, 2.444195e-05],
            4.0e-2,
        ),
    ],
)
@pytest.mark.filterwarnings("error")
def test_thermal_matches_impactx_epac2004_benchmarks(params: dict, expected: list[float], rtol: float) -> None:
    # rtol is ImpactX's own (3.5 or 4 / sqrt(10000)): it covers the reference's sampling noise;
    # 100000 particles here keep ours small
    a = distribution.Thermal(**params).sample(
        100_000, np.random.default_rng(25), ref=PROTON_100keV, bunch_charge_C=1.4285714285714285714e-10
    )
    cov = central_cov(a)
    got = [math.sqrt(cov[i, i]) for i in range(3)] + [emittance(cov, i, i + 3) for i in range(3)]
    np.testing.assert_allclose(got, expected, rtol=rtol)


def test_thermal_without_space_charge_is_the_gaussian_equilibrium() -> None:
    # C = 0: n(r) ~ exp(-k^2 r^2 / (2 kT)), so sigma_x = sqrt(kT)/k, sigma_px = sqrt(kT), and in the lab frame
    # sigma_t = sigma_z / (beta gamma), sigma_pt = sqrt(kT) beta gamma
    k, kT = 5.0, 4e-6
    a = distribution.Thermal(k=k, kT=kT, normalize=1.0).sample(N, np.random.default_rng(26), ref=PROTON_100keV)
    bg = PROTON_100keV.beta_gamma
    sx = math.sqrt(kT) / k
    np.testing.assert_allclose(
        a.std(axis=1), [sx, sx, sx / bg, math.sqrt(kT), math.sqrt(kT), math.sqrt(kT) * bg], rtol=0.01
    )
    for row in range(6):
        assert kurtosis(a[row]) == pytest.approx(3.0, abs=0.06)


def test_thermal_radial_integration_converges_to_an_independent_ode_solve() -> None:
    # the same radial equations (Thermal.H) solved by scipy's adaptive DOP853:
    # phi' = -f / (4 pi r^2), f' = 4 pi r^2 p exp(-(k^2 r^2 / 2 + C phi) / kT); space charge of the EPAC2004 case
    k, kT, p_in = 6.283185307179586, 36e-6, 0.41604661
    intensity = thermal.space_charge_intensity(1.4285714285714285714e-10, PROTON_100keV)
    r_scale = thermal.matched_scale_radius(k, kT, intensity)
    p = p_in * (r_scale * math.sqrt(2 * math.pi)) ** -3

    def rhs(r: float, y: np.ndarray) -> list[float]:
        f, phi = y
        return [
            4 * math.pi * r * r * p * math.exp(-(0.5 * (k * r) ** 2 + intensity * phi) / kT),
            -f / (4 * math.pi * r * r),
        ]

    errors = []
    for nsteps in (2000, 8000, 32000):
        table = thermal.radial_cdf(k, kT, kT, p_in, p_in, 0.0, intensity, nsteps=nsteps)
        grid = np.linspace(table.rmin, table.rmax, nsteps + 1)
        sol = solve_ivp(rhs, (grid[0], grid[-1]), [0.0, 0.0], t_eval=grid, rtol=1e-11, atol=1e-16, method="DOP853")
        assert sol.success
        errors.append(np.abs(table.cdf_core - sol.y[0] / sol.y[0][-1]).max())
    # ImpactX's 2000 Strang steps: ~0.5 % in the CDF; second order: x4 steps -> /16 error
    assert errors[0] < 0.01
    assert errors[0] / errors[1] > 12 and errors[1] / errors[2] > 12
    assert errors[2] < 5e-5
    # space charge spreads the core: the radius holding half the beam is twice the C = 0 one or more
    table = thermal.radial_cdf(k, kT, kT, p_in, p_in, 0.0, intensity)
    median = table.radius(table.cdf_core, np.array([0.5]))[0]
    assert median > 2.0 * math.sqrt(kT) / k * 1.5382  # 1.5382: median radius of a 3D Maxwellian, in sigmas
