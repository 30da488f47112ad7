"""Spin tracking against the real ImpactX 26.10, particle by particle, on identical injected particles and spins.

Where the expected numbers come from: ImpactX 26.10 itself (PyPI impactx-noacc, CPU, double precision,
``sim.spin = True``), run by tests/oracle/impactx_spin_runner.py in its own venv on the same phase space, the
same spins and the same element keyword arguments; the species set mass, charge and the gyromagnetic anomaly G
in both codes (``set_species``: G = 1.7928473446 for protons, 0.00115965218062 for electrons, read back from
ImpactX and compared). Every element through which beamtrack pushes spin is run for both species.

Tolerance: max |s_beamtrack - s_ImpactX| <= 1e-10 per component (unit vectors; both codes evaluate the same
rotations in double precision, the differences are round-off), the phase space as tests/oracle/
test_impactx_oracle.py (1e-10 of the beam's extent), identical alive sets. The spins must move (rotation angle
> 1e-6 somewhere) for every element whose field rotates them, so a code that ignored spin would fail.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from beamtrack.engine import constants
from beamtrack.impactx import ImpactX, elements
from oracle_run import ORACLE, load_oracle_npz, oracle_env, run_oracle_cases
from test_impactx_oracle import ELEMENTS, FOURIER_COS, FOURIER_SIN

pytestmark = pytest.mark.physics

RUNNER = Path(__file__).with_name("impactx_spin_runner.py")
N = 64
TOL = 1e-10
#: (species, kinetic energy [MeV]): a low-energy proton (large G) and a high-energy electron (G gamma ~ 4.5)
SPECIES = {"p250": ("proton", 250.0), "e2G": ("electron", 2000.0)}

#: SpinMap's 3x6 spin-orbit coupling on (x, px, y, py, t, pt): every entry distinct, so a transposed or reordered
#: product differs
SPINMAP_A = [
    [10.0, -20.0, 30.0, 5.0, -7.0, 50.0],
    [-3.0, 15.0, 25.0, -40.0, 60.0, 8.0],
    [45.0, 2.0, -12.0, 35.0, 9.0, -70.0],
]

#: the soft-edge elements' on-axis profile (the particle oracle's)
FOURIER = {"cos_coefficients": FOURIER_COS, "sin_coefficients": FOURIER_SIN}

#: element cases: name -> (list of (type, kwargs), spin rotated by it: False, True (by more than 1e-6 rad) or
#: the smallest rotation [rad] expected of both species (weak couplings: the RF cavity's transverse fields))
CASES: dict[str, tuple[list[tuple[str, dict]], bool | float]] = {
    "Drift": ([("Drift", {"ds": 0.7, "nslice": 3})], False),
    "ChrDrift": ([("ChrDrift", {"ds": 1.3, "nslice": 2})], False),
    "ExactDrift": ([("ExactDrift", {"ds": 1.3})], False),
    "ConstF": ([("ConstF", {"ds": 0.8, "kx": 1.5, "ky": 0.7, "kt": 0.3, "nslice": 2})], False),
    "LinearMap": (
        [
            (
                "LinearMap",
                {
                    "R": [
                        [1.0, 0.8, 0, 0, 0, 0.05],
                        [-0.3, 0.76, 0, 0, 0, 0],
                        [0, 0, 1.0, -0.6, 0, 0],
                        [0, 0, 0, 1.0, 0, 0],
                        [0, 0, 0, 0, 1.0, 0.2],
                        [0, 0, 0, 0, 0, 1.0],
                    ]
                },
            )
        ],
        False,
    ),
    "Aperture": ([("Aperture", {"aperture_x": 8e-4, "aperture_y": 9e-4, "shape": "elliptical"})], False),
    "QuadF": ([("Quad", {"ds": 0.6, "k": 2.2, "nslice": 3})], True),
    "QuadD_mis": ([("Quad", {"ds": 0.5, "k": -3.1, "dx": 2e-4, "rotation": -5.0})], True),
    "Quad_aperture": ([("Quad", {"ds": 0.5, "k": 4.0, "aperture_x": 9e-4, "aperture_y": 9e-4})], True),
    "ChrQuadF": ([("ChrQuad", {"ds": 0.5, "k": 3.1, "nslice": 2})], True),
    "ChrQuadD_T": ([("ChrQuad", {"ds": 0.4, "k": -1.5, "unit": 1})], True),
    "Sbend": ([("Sbend", {"ds": 1.2, "rc": 4.0, "nslice": 3})], True),
    "Sbend_neg_mis": ([("Sbend", {"ds": 0.8, "rc": -6.0, "dy": 1e-4, "rotation": 3.0})], True),
    "CFbend": ([("CFbend", {"ds": 0.9, "rc": 5.0, "k": 1.2, "nslice": 3})], True),
    "CFbend_neg": ([("CFbend", {"ds": 0.6, "rc": -7.0, "k": -0.8})], True),
    "ExactSbend": ([("ExactSbend", {"ds": 1.0, "phi": 12.0, "nslice": 2})], True),
    "ExactSbend_B": ([("ExactSbend", {"ds": 0.5, "phi": -8.0, "B": 0.3})], True),
    "Sol": ([("Sol", {"ds": 0.7, "ks": 1.3, "nslice": 2})], True),
    "Sol_neg": ([("Sol", {"ds": 0.4, "ks": -2.0})], True),
    "Multipole_quad": ([("Multipole", {"multipole": 2, "K_normal": 3.0, "K_skew": 1.0})], True),
    "Multipole_sext": ([("Multipole", {"multipole": 3, "K_normal": 40.0, "K_skew": -5.0})], True),
    "ThinDipole": ([("ThinDipole", {"theta": 0.5, "rc": 3.0})], True),
    "ThinDipole_neg_mis": ([("ThinDipole", {"theta": -2.0, "rc": -1.5, "dx": 1e-4, "rotation": 7.0})], True),
    "Kicker": ([("Kicker", {"xkick": 1e-3, "ykick": -2e-3})], True),
    "Kicker_Tm": ([("Kicker", {"xkick": 2e-3, "ykick": 1e-3, "unit": "T-m"})], True),
    "NonlinearLens": ([("NonlinearLens", {"knll": 1e-3, "cnll": 0.01})], True),
    "NonlinearLens_mis": ([("NonlinearLens", {"knll": -4e-4, "cnll": 0.004, "dy": 2e-4, "rotation": 20.0})], True),
    "PRot": ([("PRot", {"phi_in": 5.0, "phi_out": -3.0})], True),
    "PlaneXYRot": ([("PlaneXYRot", {"angle": 30.0})], True),
    "DipEdge": ([("DipEdge", {"psi": 0.3, "rc": 3.0, "g": 0.05, "K2": 0.5})], True),
    "DipEdge_neg_mis": ([("DipEdge", {"psi": -0.2, "rc": -4.0, "g": 0.03, "dx": 1e-4, "rotation": 8.0})], True),
    "DipEdge_nonlinear_exit": (
        [("DipEdge", {"psi": 0.15, "rc": 2.5, "g": 0.03, "model": "nonlinear", "location": "exit"})],
        True,
    ),
    "DipEdge_nonlinear_ref": (
        [("DipEdge", {"psi": -0.1, "rc": 5.0, "g": 0.04, "model": "nonlinear", "modify_ref_part": True})],
        True,
    ),
    "bend_with_edges": (
        [
            ("DipEdge", {"psi": 0.1, "rc": 5.0, "g": 0.04}),
            ("Sbend", {"ds": 0.5, "rc": 5.0, "nslice": 2}),
            ("DipEdge", {"psi": 0.1, "rc": 5.0, "g": 0.04, "location": "exit"}),
        ],
        True,
    ),
    "ChrPlasmaLens": ([("ChrPlasmaLens", {"ds": 0.5, "k": 3.0, "nslice": 2})], True),
    # focusing only: for k < 0 ImpactX 26.10's phase space differs (see test_impactx_oracle.py's ChrPlasmaLens)
    "ChrPlasmaLens_mis": ([("ChrPlasmaLens", {"ds": 0.4, "k": 2.6, "dy": 2e-4, "rotation": 20.0})], True),
    "TaperedPL": ([("TaperedPL", {"k": 0.3, "taper": 20.0})], True),
    "TaperedPL_T_mis": (
        [("TaperedPL", {"k": -0.05, "taper": -60.0, "unit": 1, "dx": 1e-4, "rotation": 15.0})],
        True,
    ),
    "PolygonAperture": (
        [
            (
                "PolygonAperture",
                {
                    "vertices_x": [-8e-4, 9e-4, 6e-4, -2e-4, -9e-4, -8e-4],
                    "vertices_y": [-7e-4, -8e-4, 6e-4, 9e-4, 1e-4, -7e-4],
                },
            )
        ],
        False,
    ),
    "ExactQuad": ([("ExactQuad", {"ds": 0.6, "k": 2.5, "nslice": 2, "mapsteps": 5})], True),
    "ExactQuad_o4_mis": (
        [("ExactQuad", {"ds": 0.4, "k": -3.0, "int_order": 4, "mapsteps": 3, "dx": 1e-4, "rotation": 12.0})],
        True,
    ),
    "ExactQuad_o6_T": ([("ExactQuad", {"ds": 0.5, "k": 4.0, "unit": 1, "int_order": 6, "mapsteps": 2})], True),
    # the particle oracle's ExactMultipole and ExactCFbend cases (orders 2/4/6, skew terms, unit=1, misaligned,
    # aperture, quadrupole .. decapole)
    **{
        k: (ELEMENTS[k], True)
        for k in (
            "ExactMultipole",
            "ExactMultipole_o4_mis",
            "ExactMultipole_o6_ap",
            "ExactCFbend",
            "ExactCFbend_o4_mis",
            "ExactCFbend_o6_T",
        )
    },
    "QuadEdge": ([("QuadEdge", {"k": 50.0})], True),
    "QuadEdge_exit_T_mis": (
        [("QuadEdge", {"k": -8.0, "unit": 1, "flag": "exit", "dx": 1e-4, "rotation": 10.0})],
        1e-7,
    ),
    "quad_with_edges": (
        [
            ("QuadEdge", {"k": 20.0}),
            ("Quad", {"ds": 0.3, "k": 20.0}),
            ("QuadEdge", {"k": 20.0, "flag": "exit"}),
        ],
        True,
    ),
    "Buncher": ([("Buncher", {"V": 0.01, "k": 15.0})], 1e-7),
    "Buncher_mis": ([("Buncher", {"V": -0.02, "k": 5.0, "dx": 1e-4, "rotation": 12.0})], 1e-7),
    "ShortRF": ([("ShortRF", {"V": 0.01, "freq": 1.3e9, "phase": -30.0})], 5e-9),
    "ShortRF_decel_mis": (
        [("ShortRF", {"V": 0.02, "freq": 6.5e8, "phase": 150.0, "dy": 1e-4, "rotation": -20.0})],
        5e-9,
    ),
    "rf_line": (
        [
            ("Drift", {"ds": 0.3}),
            ("ShortRF", {"V": 0.01, "freq": 1.3e9, "phase": -60.0}),
            ("Quad", {"ds": 0.2, "k": 2.0}),
            ("Buncher", {"V": 0.01, "k": 15.0}),
        ],
        True,
    ),
    "SoftSolenoid": ([("SoftSolenoid", {"ds": 0.6, "bscale": 1.2, **FOURIER, "mapsteps": 20, "nslice": 2})], True),
    "SoftSolenoid_T_mis": (
        [("SoftSolenoid", {"ds": 0.5, "bscale": -0.4, **FOURIER, "unit": 1, "dx": 1e-4, "rotation": 10.0})],
        True,
    ),
    "SoftQuadrupole": ([("SoftQuadrupole", {"ds": 0.5, "gscale": 2.0, **FOURIER, "mapsteps": 20, "nslice": 2})], True),
    "SoftQuadrupole_neg_mis": (
        [("SoftQuadrupole", {"ds": 0.4, "gscale": -1.5, **FOURIER, "dy": 2e-4, "rotation": -15.0})],
        True,
    ),
    "RFCavity": (
        [
            (
                "RFCavity",
                {"ds": 0.5, "escale": 0.5, "freq": 1.3e9, "phase": -30.0, **FOURIER, "mapsteps": 20, "nslice": 2},
            )
        ],
        1e-8,
    ),
    "RFCavity_b_mis": (
        [
            (
                "RFCavity",
                {"ds": 0.3, "escale": -0.2, "freq": 6.5e8, "phase": 45.0, **FOURIER, "dx": 1e-4, "rotation": 5.0},
            )
        ],
        1e-9,
    ),
    "soft_line": (
        [
            ("LinearMap", {"R": np.eye(6).tolist(), "ds": 0.1}),
            ("SoftSolenoid", {"ds": 0.3, "bscale": 0.8, **FOURIER}),
            ("Drift", {"ds": 0.2}),
            ("SoftQuadrupole", {"ds": 0.3, "gscale": 1.0, **FOURIER}),
        ],
        True,
    ),
    "ChrAcc": ([("ChrAcc", {"ds": 0.5, "ez": 0.05, "bz": 0.3})], True),
    "ChrAcc_nslice": ([("ChrAcc", {"ds": 0.5, "ez": 0.05, "bz": 0.3, "nslice": 4})], True),
    "ChrAcc_decel_mis": (
        [("ChrAcc", {"ds": 0.6, "ez": -0.04, "bz": -0.8, "nslice": 3, "dx": 1e-4, "rotation": 7.0})],
        True,
    ),
    "ChrAcc_bz0": ([("ChrAcc", {"ds": 0.4, "ez": 0.1, "bz": 0.0, "nslice": 2})], 3e-8),
    "ChrAcc_aperture_line": (
        [
            ("ChrAcc", {"ds": 0.4, "ez": 0.1, "bz": 1.5, "aperture_x": 8e-4, "aperture_y": 9e-4}),
            ("Quad", {"ds": 0.3, "k": 2.0}),
            ("ChrAcc", {"ds": 0.3, "ez": -0.02, "bz": 0.5, "nslice": 2}),
        ],
        True,
    ),
    "SpinMap": ([("SpinMap", {"v": [0.3, -0.2, 0.5], "A": SPINMAP_A})], True),
    "SpinMap_mis_ds": (
        [
            ("SpinMap", {"v": [0.0, 1.1, 0.0], "A": SPINMAP_A, "ds": 0.4, "dx": 1e-4, "rotation": 15.0}),
            ("Quad", {"ds": 0.3, "k": 2.0}),
        ],
        True,
    ),
    "line": (
        [
            ("Quad", {"ds": 0.3, "k": 1.5}),
            ("Drift", {"ds": 0.5}),
            ("Sbend", {"ds": 1.0, "rc": 5.0}),
            ("Sol", {"ds": 0.5, "ks": 0.8}),
            ("Multipole", {"multipole": 3, "K_normal": 10.0, "K_skew": 0.0}),
            ("Quad", {"ds": 0.3, "k": -1.5}),
        ],
        True,
    ),
}


def particles() -> np.ndarray:
    """9 x N: phase space within +-1e-3 (pt +-2e-3) and unit spins, uniformly random on the sphere."""
    rng = np.random.default_rng(2024)
    z = rng.uniform(-1.0, 1.0, (6, N)) * np.array([1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 2e-3])[:, None]
    s = rng.normal(size=(3, N))
    return np.vstack([z, s / np.linalg.norm(s, axis=0)])


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, np.ndarray]]:
    d = tmp_path_factory.mktemp("spin_oracle")
    cases = [
        {
            "name": f"{name}_{sp}",
            "species": species,
            "kin_energy_MeV": ek,
            "elements": [{"type": t, "kwargs": kw} for t, kw in els],
        }
        for name, (els, _) in CASES.items()
        for sp, (species, ek) in SPECIES.items()
    ]
    return load_oracle_npz(run_oracle_cases(RUNNER, cases, d, particles()), cases)


def track(els: list[tuple[str, dict]], species: str, ek: float, kind: str) -> ImpactX:
    P = particles()
    sim = ImpactX(kind=kind)
    sim.diagnostics = False
    sim.spin = True
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_species(species).set_kin_energy_MeV(ek)
    sim.beam.add_n_particles(
        *P[:6], ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-12, sx=P[6], sy=P[7], sz=P[8]
    )
    sim.lattice.extend([getattr(elements, t)(**kw) for t, kw in els])
    sim.track_particles()
    return sim


@pytest.mark.parametrize("kind", ["serial", "openmp"])
@pytest.mark.parametrize("sp", list(SPECIES))
@pytest.mark.parametrize("name", list(CASES))
def test_spin_per_particle(oracle: dict[str, dict[str, np.ndarray]], name: str, sp: str, kind: str) -> None:
    els, rotates = CASES[name]
    species, ek = SPECIES[sp]
    o = oracle[f"{name}_{sp}"]
    sim = track(els, species, ek, kind)
    assert float(o["G"]) == sim.beam.ref.gyromagnetic_anomaly == constants.GYROMAGNETIC_ANOMALY[species]
    df = sim.beam.to_df()
    ids = df["idcpu"].to_numpy(dtype=np.uint64) >> np.uint64(24) & np.uint64((1 << 39) - 1)
    np.testing.assert_array_equal(ids.astype(np.int64), o["ids"])
    spin = df[["spin_x", "spin_y", "spin_z"]].to_numpy().T
    coords = df[["position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t"]].to_numpy().T
    assert np.abs(spin - o["spin"]).max() <= TOL
    scale = np.maximum(np.abs(o["coords"]).max(axis=1, keepdims=True), 1e-300)
    assert (np.abs(coords - o["coords"]) / scale).max() <= TOL
    # the spin norm is conserved (rotations only)
    np.testing.assert_allclose(np.linalg.norm(spin, axis=0), 1.0, atol=1e-14)
    moved = np.abs(spin - particles()[6:, o["ids"] - 1]).max()
    if rotates is False:
        assert moved == 0.0
    else:
        assert moved > (1e-6 if rotates is True else rotates)


def test_every_builtin_element_with_a_kernel_has_a_spin_push() -> None:
    """ImpactX 26.10 pushes spin through every element; since ChrAcc (elements/c/spin/chracc.h, identified on
    ImpactX 26.10 per particle above) every built-in element class with a kernel has a spin header, so no
    built-in element refuses a spin run."""
    from beamtrack.engine.elements import registry

    missing = [n for n, c in registry.builtin().items() if c.kernel is not None and c.kernel.spin_header is None]
    assert missing == []


def test_an_element_without_a_spin_push_refuses_spin_tracking() -> None:
    """An element class whose kernel has no spin header (a plugin's) must fail a spin run, naming itself and its
    lattice position, rather than leave the spins unrotated: ChrAcc with its spin header taken away."""
    import dataclasses

    from beamtrack.engine.elements.accel_lenses import ChrAcc
    from beamtrack.engine.tracking import check_spin_support

    class ChrAccWithoutSpin(ChrAcc):
        kernel = dataclasses.replace(ChrAcc.kernel, spin_header=None)

    lattice = [ChrAcc(ds=0.5, ez=0.05, bz=0.3), ChrAccWithoutSpin(ds=0.5, ez=0.05, bz=0.3)]
    with pytest.raises(NotImplementedError, match=r"spin tracking through ChrAccWithoutSpin \(lattice position 1\)"):
        check_spin_support(lattice)
    check_spin_support(lattice[:1])


#: SpinvMF mean polarization vectors: ImpactX's example's, one along an axis (mu_perp = 0 branch), a weak one
SPIN_DISTRIBUTIONS = [(0.4, 0.9, 0.1), (0.0, 0.0, -0.7), (0.1, -0.2, 0.05)]
NSAMPLE = 200_000
#: |z| limit per statistic: 9 statistics per distribution, 27 in all; P(|z| > 4.5) = 6.8e-6 each, so a correct
#: code fails this test about twice in 10^4 runs
ZMAX = 4.5


@pytest.mark.parametrize("mu", SPIN_DISTRIBUTIONS)
def test_spinvmf_moments_match_impactx(tmp_path: Path, mu: tuple[float, float, float]) -> None:
    """beamtrack's SpinvMF against ImpactX 26.10's on 200k samples each: the 3 means and 6 second moments of
    (sx, sy, sz) agree within ZMAX standard errors of the difference of two independent samples; the means equal
    the von Mises-Fisher expectation L(kappa) mu/|mu| (L = coth - 1/x, the Langevin function) within ZMAX
    standard errors; kappa is ImpactX's inverse_Langevin to round-off."""
    from beamtrack.impactx import distribution

    if not ORACLE.exists():
        pytest.skip("oracle venv .venv-impactx missing (scripts/setup_oracle.sh)")
    out = tmp_path / "s.npz"
    r = subprocess.run(
        [
            str(ORACLE),
            str(Path(__file__).with_name("impactx_spin_distribution_runner.py")),
            *map(str, mu),
            str(NSAMPLE),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=oracle_env(),
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    o = np.load(out)
    d = distribution.SpinvMF(*mu)
    assert d.kappa == pytest.approx(float(o["kappa"]), rel=1e-15)
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    sim.init_grids()
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(250.0)
    sim.add_particles(
        1e-12,
        distribution.Waterbag(lambdaX=1e-3, lambdaY=1e-3, lambdaT=1e-3, lambdaPx=1e-3, lambdaPy=1e-3, lambdaPt=1e-3),
        NSAMPLE,
        d,
    )
    df = sim.beam.to_df()
    mine = df[["spin_x", "spin_y", "spin_z"]].to_numpy().T
    np.testing.assert_allclose(np.linalg.norm(mine, axis=0), 1.0, atol=1e-12)

    def stats(s: np.ndarray) -> np.ndarray:
        i, j = np.triu_indices(3)
        return np.vstack([s, s[i] * s[j]])  # sx, sy, sz, then sx^2, sx sy, sx sz, sy^2, sy sz, sz^2

    a, b = stats(mine), stats(o["spin"])
    se = np.sqrt(a.var(axis=1) / a.shape[1] + b.var(axis=1) / b.shape[1])
    z = (a.mean(axis=1) - b.mean(axis=1)) / se
    assert np.abs(z).max() < ZMAX, z
    k = d.kappa
    expected = (1.0 / np.tanh(k) - 1.0 / k) * np.asarray(mu) / np.linalg.norm(mu)
    z_mean = (mine.mean(axis=1) - expected) / np.sqrt(mine.var(axis=1) / NSAMPLE)
    assert np.abs(z_mean).max() < ZMAX, z_mean
