"""Engine distributions: construction, validation, the spec round trip, reproducibility, and the
exact (non-statistical) properties of ImpactX's sampling algorithms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import distribution
from beamtrack.engine.refpart import RefPart
from beamtrack.spec import SpecError
from beamtrack.spec import distributions as spec

pytestmark = pytest.mark.unit

LAMBDAS = dict(lambdaX=1e-3, lambdaY=2e-3, lambdaT=3e-3, lambdaPx=4e-4, lambdaPy=5e-4, lambdaPt=6e-4)
PHASE_SPACE = ["Gaussian", "Waterbag", "Kurth6D", "Kurth4D", "KVdist", "Semigaussian", "Triangle"]
# ImpactX examples/epac2004_benchmarks/input_thermal.in: a self-consistent normalize for this bunch charge
THERMAL = dict(k=6.283185307179586, kT=36e-6, normalize=0.41604661)
THERMAL_CHARGE_C = 1.4285714285714285714e-10


def proton_ref() -> RefPart:
    return RefPart().set_species("proton").set_kin_energy_MeV(0.1)


def make(name: str, **extra: float) -> distribution.Distribution:
    if name == "Thermal":
        return distribution.Thermal(**THERMAL, **extra)
    if name == "Empty":
        return distribution.Empty()
    return distribution.DISTRIBUTIONS[name](**LAMBDAS, **extra)


def draw(d: distribution.Distribution, n: int, seed: int) -> np.ndarray:
    return d.sample(n, np.random.default_rng(seed), ref=proton_ref(), bunch_charge_C=THERMAL_CHARGE_C)


# --- construction and the spec model ------------------------------------------------------------


@pytest.mark.parametrize("name", [*PHASE_SPACE, "Thermal", "Empty"])
def test_model_is_the_spec_model_and_from_model_round_trips(name: str) -> None:
    d = make(name)
    assert isinstance(d.model, spec.DISTRIBUTION_MODELS[name])
    again = distribution.from_model(d.model)
    assert type(again) is type(d) and again.model is d.model
    from_dict = distribution.from_model(d.model.model_dump())
    assert type(from_dict) is type(d) and from_dict.model == d.model
    np.testing.assert_array_equal(draw(again, 50, 3), draw(d, 50, 3))


def test_from_model_refuses_unknown_types() -> None:
    with pytest.raises(ValueError, match="Gaussian"):
        distribution.from_model({"type": "Parabolic"})
    with pytest.raises(TypeError):
        distribution.from_model(object())  # type: ignore[arg-type]


def test_positional_arguments_follow_impactx_order() -> None:
    # ImpactX's Python: Waterbag(lambdaX, lambdaY, lambdaT, lambdaPx, lambdaPy, lambdaPt, muxpx, muypy, mutpt, ...)
    d = distribution.Waterbag(1e-3, 2e-3, 3e-3, 4e-4, 5e-4, 6e-4, 0.1, 0.2, 0.3)
    assert (d.model.lambdaT, d.model.lambdaPx, d.model.muypy, d.model.mutpt) == (3e-3, 4e-4, 0.2, 0.3)
    t = distribution.Thermal(6.0, 1e-5, 2e-5, 0.4, 0.08, 0.05)
    assert (t.model.kT_halo, t.model.normalize_halo, t.model.halo) == (2e-5, 0.08, 0.05)
    with pytest.raises(TypeError, match="multiple values"):
        distribution.Waterbag(1e-3, lambdaX=1e-3)
    with pytest.raises(TypeError, match="positional"):
        distribution.Empty(1.0)


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({**LAMBDAS, "muxpx": 1.0}, "muxpx", "less than 1"),
        ({**LAMBDAS, "lambdaX": -1.0}, "lambdaX", "greater than or equal to 0"),
        ({**LAMBDAS, "lambdaY": math.nan}, "lambdaY", "finite"),
        ({**LAMBDAS, "sigmaX": 1.0}, "sigmaX", "not permitted"),
        ({"lambdaX": 1e-3}, "(root)", "missing lambdaY"),
        ({**LAMBDAS, "betaX": 1.0}, "(root)", "betaX need from_twiss"),
        ({"from_twiss": True, "betaX": 1, "betaY": 1, "betaT": 1, "emittX": 1e-6, "emittY": 1e-6}, "(root)", "emittT"),
        (
            {"from_twiss": True, "betaX": 1, "betaY": 1, "betaT": 1, "emittX": 0.0, "emittY": 1e-6, "emittT": 1e-6},
            "(root)",
            "positive emittX",
        ),
        (
            {
                "from_twiss": True,
                "betaX": 1,
                "betaY": 1,
                "betaT": 1,
                "emittX": 1e-6,
                "emittY": 1e-6,
                "emittT": 1e-6,
                "lambdaX": 1e-3,
            },
            "(root)",
            "not lambdaX",
        ),
    ],
)
def test_invalid_parameters_raise_spec_error_naming_the_field(kwargs: dict, field: str, reason: str) -> None:
    with pytest.raises(SpecError) as info:
        distribution.Waterbag(**kwargs)
    assert any(e["loc"] == field and reason in e["msg"] for e in info.value.errors), info.value.errors


def test_gaussian_cut_and_thermal_parameters_are_validated() -> None:
    with pytest.raises(SpecError, match="cutX"):
        distribution.Gaussian(**LAMBDAS, cutX=-1.0)
    with pytest.raises(SpecError, match="halo"):
        distribution.Thermal(**THERMAL, halo=1.5)
    with pytest.raises(SpecError, match="k"):
        distribution.Thermal(k=0.0, kT=1e-5, normalize=1.0)


def test_thermal_halo_parameters_default_to_the_core_as_in_impactx() -> None:
    # ImpactX InitDistribution.cpp: kT_halo = kT and normalize_halo = normalize unless given
    assert distribution.Thermal(**THERMAL).model.halo_params() == (36e-6, 0.41604661)
    assert distribution.Thermal(**THERMAL, kT_halo=9e-4).model.halo_params() == (9e-4, 0.41604661)


def test_twiss_conversion_reproduces_impactx_fodo_inputs() -> None:
    # ImpactX examples/fodo: run_fodo_twiss.py's twiss(...) arguments give input_fodo.in's lambda/mu values
    m = spec.Waterbag(
        from_twiss=True,
        betaX=2.8216194100262637,
        betaY=2.8216194100262637,
        betaT=0.5,
        emittX=2e-9,
        emittY=2e-9,
        emittT=2e-6,
        alphaX=-1.5905003499999992,
        alphaY=1.5905003499999992,
    )
    expected = dict(
        lambdaX=3.9984884770e-5,
        lambdaY=3.9984884770e-5,
        lambdaT=1.0e-3,
        lambdaPx=2.6623538760e-5,
        lambdaPy=2.6623538760e-5,
        lambdaPt=2.0e-3,
        muxpx=-0.846574929020762,
        muypy=0.846574929020762,
        mutpt=0.0,
    )
    got = m.lambda_mu()
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-15), key


# --- sampling: shape, reproducibility, arguments ----------------------------------------------


@pytest.mark.parametrize("name", [*PHASE_SPACE, "Thermal"])
def test_sample_shape_dtype_and_reproducibility(name: str) -> None:
    d = make(name)
    a = draw(d, 1000, 7)
    assert a.shape == (6, 1000) and a.dtype == np.float64 and a.flags.c_contiguous
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, draw(d, 1000, 7))
    assert not np.array_equal(a, draw(d, 1000, 8))
    assert draw(d, 0, 7).shape == (6, 0)


def test_empty_adds_no_particles() -> None:
    d = distribution.Empty()
    assert d.sample(1000, np.random.default_rng(1)).shape == (6, 0)
    assert d.sample(0, np.random.default_rng(1)).shape == (6, 0)


@pytest.mark.parametrize("npart", [-1, 2.5, True, "10"])
def test_bad_npart_is_refused(npart: object) -> None:
    with pytest.raises(ValueError, match="npart"):
        make("Waterbag").sample(npart, np.random.default_rng(1))  # type: ignore[arg-type]


def test_bad_rng_and_bunch_charge_are_refused() -> None:
    with pytest.raises(TypeError, match="Generator"):
        make("Waterbag").sample(10, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bunch_charge_C"):
        make("Waterbag").sample(10, np.random.default_rng(1), bunch_charge_C=-1e-9)


def test_thermal_needs_the_reference_particle() -> None:
    with pytest.raises(ValueError, match="reference particle"):
        make("Thermal").sample(10, np.random.default_rng(1))
    with pytest.raises(ValueError, match="beta\\*gamma"):
        make("Thermal").sample(10, np.random.default_rng(1), ref=RefPart())


# --- exact properties of ImpactX's algorithms ---------------------------------------------------


def normalised(a: np.ndarray) -> np.ndarray:
    """Undo lambda scaling for mu = 0: each row back to the unit shape ImpactX samples."""
    scale = np.array([LAMBDAS[k] for k in ("lambdaX", "lambdaY", "lambdaT", "lambdaPx", "lambdaPy", "lambdaPt")])
    return a / scale[:, None]


@pytest.mark.parametrize("name", PHASE_SPACE)
def test_dispersion_and_means_are_applied_after_the_ellipse_as_impactx_does(name: str) -> None:
    # ImpactX: x -= dispX*pt, px -= dispPx*pt, y -= dispY*pt, py -= dispPy*pt, then += the means
    shift = dict(
        dispX=0.5,
        dispPx=-0.2,
        dispY=0.3,
        dispPy=0.1,
        meanX=1e-3,
        meanY=-2e-3,
        meanT=3e-3,
        meanPx=-1e-4,
        meanPy=2e-4,
        meanPt=-3e-4,
    )
    base = draw(make(name, muxpx=0.3, mutpt=-0.4), 500, 11)
    moved = draw(make(name, muxpx=0.3, mutpt=-0.4, **shift), 500, 11)
    pt = base[5]
    expected = base.copy()
    expected[0] += -0.5 * pt + 1e-3
    expected[3] += 0.2 * pt - 1e-4
    expected[1] += -0.3 * pt - 2e-3
    expected[4] += -0.1 * pt + 2e-4
    expected[2] += 3e-3
    expected[5] += -3e-4
    np.testing.assert_allclose(moved, expected, rtol=1e-12, atol=1e-15)


def test_correlation_transform_is_impactx_root_formula() -> None:
    # ImpactX: x = lambdaX u1 / root, px = lambdaPx (-muxpx u1 / root + u2), root = sqrt(1 - muxpx^2)
    unit = draw(make("Waterbag"), 200, 5)
    plain = normalised(unit)
    corr = draw(make("Waterbag", muxpx=0.6, muypy=-0.3), 200, 5)
    root = math.sqrt(1 - 0.36)
    np.testing.assert_allclose(corr[0], 1e-3 * plain[0] / root, rtol=1e-12)
    np.testing.assert_allclose(corr[3], 4e-4 * (-0.6 * plain[0] / root + plain[3]), rtol=1e-12, atol=1e-18)
    root = math.sqrt(1 - 0.09)
    np.testing.assert_allclose(corr[4], 5e-4 * (0.3 * plain[1] / root + plain[4]), rtol=1e-12, atol=1e-18)


def test_waterbag_fills_the_6d_ball_of_radius_sqrt8() -> None:
    # ImpactX Waterbag: radius sqrt(8) u^(1/6) in the unit shape
    r2 = (normalised(draw(make("Waterbag"), 20000, 2)) ** 2).sum(axis=0)
    assert r2.max() <= 8.0 * (1 + 1e-12)
    assert r2.max() > 8.0 * 0.99  # r^2 > 0.99 R^2 holds for 1 - 0.99^3 = 3 % of a uniform 6D ball


def test_kv_lies_on_the_4d_sphere_surface_of_radius_2() -> None:
    # ImpactX KVdist: (x, y) = 2 r (cos, sin), (px, py) = 2 sqrt(1 - r^2) (cos, sin)
    u = normalised(draw(make("KVdist"), 5000, 2))
    np.testing.assert_allclose(u[0] ** 2 + u[1] ** 2 + u[3] ** 2 + u[4] ** 2, 4.0, rtol=1e-12)
    assert np.abs(u[2]).max() <= math.sqrt(3.0)  # t uniform on [-sqrt3, sqrt3]


def test_kurth6d_obeys_its_invariant_bound() -> None:
    # ImpactX Kurth6D: r = v^(1/3) <= 1, |p|^2 = pr^2 + L^2/r^2 <= 1 - r^2 + L^2 with L = |r x p|,
    # so r^2 + p^2 - |r x p|^2 <= 1 in the unit shape, before the scaling by sqrt(5)
    u = normalised(draw(make("Kurth6D"), 5000, 2)) / math.sqrt(5.0)
    r2 = (u[:3] ** 2).sum(axis=0)
    p2 = (u[3:] ** 2).sum(axis=0)
    l2 = (np.cross(u[:3].T, u[3:].T) ** 2).sum(axis=1)
    assert r2.max() <= 1.0 + 1e-12
    assert (r2 + p2 - l2).max() <= 1.0 + 1e-12


def test_kurth4d_and_semigaussian_positions_fill_the_disk_of_radius_2() -> None:
    for name in ("Kurth4D", "Semigaussian"):
        u = normalised(draw(make(name), 5000, 2))
        assert (u[0] ** 2 + u[1] ** 2).max() <= 4.0 * (1 + 1e-12), name
        assert np.abs(u[2]).max() <= math.sqrt(3.0), name


def test_triangle_profile_support() -> None:
    # ImpactX Triangle: t = sqrt2 (2 - 3 sqrt(u)) in [-sqrt2, 2 sqrt2]; transverse 4D ball radius sqrt6
    u = normalised(draw(make("Triangle"), 5000, 2))
    assert u[2].min() >= -math.sqrt(2.0) and u[2].max() <= 2 * math.sqrt(2.0)
    assert (u[0] ** 2 + u[1] ** 2 + u[3] ** 2 + u[4] ** 2).max() <= 6.0 * (1 + 1e-12)


@pytest.mark.parametrize("cut", [1.0, 2.5])
def test_gaussian_cut_bounds_each_plane(cut: float) -> None:
    # ImpactX Gaussian: r^2 <= cut^2 before the division by r2scale = 1 - f e^-f / (1 - e^-f), f = cut^2/2
    f = cut * cut / 2
    r2scale = 1 - f * math.exp(-f) / (1 - math.exp(-f))
    u = normalised(draw(make("Gaussian", cutX=cut, cutT=cut), 20000, 4))
    bound = cut * cut / r2scale * (1 + 1e-12)
    assert (u[0] ** 2 + u[3] ** 2).max() <= bound
    assert (u[2] ** 2 + u[5] ** 2).max() <= bound
    # y is not cut: P(r^2 > bound) = exp(-bound / 2) >= 2.6 % per particle for these cuts
    assert (u[1] ** 2 + u[4] ** 2).max() > bound


def test_thermal_normalization_far_from_self_consistent_warns_or_fails() -> None:
    # EPAC2004 thermal case: normalize = 0.41604661 integrates to the whole charge (no warning, checked with
    # -W error in the physics tests); 0.3 leaves most charge out, 0.6 makes the density unbounded (exp overflow)
    d = distribution.Thermal(k=6.283185307179586, kT=36e-6, normalize=0.3)
    with pytest.warns(distribution.ThermalNormalizationWarning, match="core"):
        d.sample(10, np.random.default_rng(1), ref=proton_ref(), bunch_charge_C=THERMAL_CHARGE_C)
    d = distribution.Thermal(k=6.283185307179586, kT=36e-6, normalize=0.6)
    with pytest.raises(ValueError, match="normalize"):
        d.sample(10, np.random.default_rng(1), ref=proton_ref(), bunch_charge_C=THERMAL_CHARGE_C)


def test_amrex_stream_is_std_mt19937_with_libstdcxx_doubles() -> None:
    """AmrexRandom(1)'s first values equal what ``std::uniform_real_distribution<double>(0, 1)`` and a fresh
    ``std::normal_distribution<double>`` per call give on ``std::mt19937`` seeded with 1 (g++ 12, libstdc++; printed by
    a 6-line C++ program), and a drawn count that survives the normal numbers' rejection batches."""
    r = distribution.AmrexRandom(1)
    assert r.uniform(2).tolist() == [0.99718480823026556, 0.93255736136816547]
    r = distribution.AmrexRandom(1)
    z = r.standard_normal(5)
    np.testing.assert_array_equal(
        z, [-0.54974617895544964, 1.5827522919751402, 0.25759354129149009, -1.5078076853223685, 0.85817887177334062]
    )
    assert r.standard_normal(1995)[-1] == -0.33900529373202254  # the 2000th
    assert r.uniform(1)[0] == 0.50863776475856592  # the number after it, as in C++
    with pytest.raises(ValueError, match="2\\^32"):
        distribution.AmrexRandom(2**32)


def test_jobspec_beam_random_amrex_draws_the_drop_in_particles() -> None:
    """A JobSpec's ``beam.random: amrex`` draws what the drop-in's add_particles draws (AMReX's stream from the seed),
    and the seed must fit std::mt19937's 32 bits (the error names the field)."""
    from beamtrack.engine.simulation import Simulation
    from beamtrack.spec import JobSpec, parse_model

    base = {
        "name": "r",
        "reference": {"species": "electron", "kin_energy_MeV": 100.0},
        "beam": {
            "npart": 50,
            "seed": 1,
            "random": "amrex",
            "distribution": {
                "type": "Waterbag",
                **dict.fromkeys(("lambdaX", "lambdaY", "lambdaT", "lambdaPx", "lambdaPy", "lambdaPt"), 1e-3),
            },
        },
        "lattice": {"elements": [{"type": "Drift", "name": "d", "ds": 1.0}]},
    }
    sim = Simulation.from_spec(JobSpec.model_validate(base))
    d = distribution.Waterbag(
        **dict.fromkeys(("lambdaX", "lambdaY", "lambdaT", "lambdaPx", "lambdaPy", "lambdaPt"), 1e-3)
    )
    ref = RefPart().set_species("electron").set_kin_energy_MeV(100.0)
    expected = d.sample(50, distribution.AmrexRandom(1), ref=ref)
    np.testing.assert_array_equal(np.asarray(sim.beam.real[0, :50]), expected[0])
    assert sim.to_spec().beam.random == "amrex"
    with pytest.raises(SpecError, match=r"beam\.seed"):
        parse_model(JobSpec, {**base, "beam": {**base["beam"], "seed": 2**32}})
