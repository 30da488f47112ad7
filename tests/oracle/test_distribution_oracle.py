"""beamtrack's distributions against the real ImpactX 26.10's, moment by moment, on large samples.

Where the expected numbers come from: ImpactX 26.10 itself (PyPI impactx-noacc in .venv-impactx,
scripts/setup_oracle.sh) draws N particles of each distribution with the same parameters
(tests/oracle/impactx_distribution_runner.py, ``sim.add_particles``); beamtrack draws N with its own generator
(``beamtrack.impactx`` through ``ImpactX.add_particles``). The two samples are independent, so every
moment is compared as a two-sample z statistic,

    z = (mean_bt(f) - mean_ix(f)) / sqrt(var_bt(f) / N + var_ix(f) / N),

over 54 functions f of the coordinates standardised by ImpactX's sample (u = (q - mean) / std): the six
means u_i, the 21 second moments u_i u_j (sizes and every correlation, in and across planes), the six
third moments u_i^3 (asymmetry: Triangle's ramp), the six fourth moments u_i^4 (the shape of each
marginal) and the 15 joint fourth moments u_i^2 u_j^2 (how the planes are coupled: a KV beam's x-y ring,
a waterbag's ball), plus the six u_i^2 u_j^2 pairs in each plane counted again in the 15. With the
central limit theorem each z is a standard normal when both codes sample the same distribution.

Bound: |z| < 5.5 for each of the 54 x 10 = 540 statistics. A correct code fails one by chance with
probability 3.8e-8 each, about 2e-5 for the whole test with fresh seeds (the seeds here are fixed, so
its outcome is too). Measured (ImpactX 26.10, these seeds): max |z| 2.99 over the 540, and the mean z^2 is
1.06 (1 expected, +-0.06), as for one distribution sampled twice. Sensitivity, measured: beamtrack's x
scaled by 1.01 (a 2 % error in <x^2>) moves z of u0u0 by 6.5-9.6 sigma (4.4 for the bithermal beam's long
halo tails); the examples' analysis scripts allow 1.5 / sqrt(10,000) = 1.5 % on sizes and emittances.
"""

from __future__ import annotations

import json
import os
import subprocess
from itertools import combinations, combinations_with_replacement
from pathlib import Path

import numpy as np
import pytest
from beamtrack.impactx import ImpactX, distribution, twiss

pytestmark = pytest.mark.physics

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / ".venv-impactx" / "bin" / "python"
RUNNER = Path(__file__).with_name("impactx_distribution_runner.py")
N = 400_000
Z_MAX = 5.5

#: correlated ellipses in all three planes (mu != 0), as in tests/physics/test_distribution_moments.py
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
#: the Twiss parameters of ImpactX's examples/distgen/run_kvdist_twiss.py and run_cutgaussian_twiss.py
TWISS = twiss(
    beta_x=2.8216194100262637,
    beta_y=2.8216194100262637,
    beta_t=0.5,
    emitt_x=2e-09,
    emitt_y=2e-09,
    emitt_t=2e-06,
    alpha_x=-1.5905003499999992,
    alpha_y=1.5905003499999992,
    alpha_t=0.0,
)
#: ImpactX's examples/epac2004_benchmarks/run_bithermal.py (a 100 keV proton beam of 0.14 nC)
BITHERMAL = dict(
    k=6.283185307179586, kT=36.0e-6, kT_halo=900.0e-6, normalize=0.54226, normalize_halo=0.08195, halo=0.05
)

E2GEV = ("electron", 2000.0, 1e-9)
CASES: dict[str, tuple[str, dict, tuple[str, float, float]]] = {
    # kvdist_twiss.py's and cutgaussian_twiss.py's beams
    "KVdist_twiss": ("KVdist", TWISS, E2GEV),
    "Gaussian_cut_twiss": ("Gaussian", {**TWISS, "cutX": 2.0, "cutY": 3.0, "cutT": 1.0}, E2GEV),
    # multipole.py's beam (iotalens.py's is the same shape with other lambdas)
    "Waterbag_multipole": (
        "Waterbag",
        dict(lambdaX=4.0e-3, lambdaY=4.0e-3, lambdaT=1.0e-3, lambdaPx=3.0e-4, lambdaPy=3.0e-4, lambdaPt=2.0e-3),
        E2GEV,
    ),
    "Gaussian_disp": (
        "Gaussian",
        {**PARAMS, "meanX": 1e-4, "meanPt": -2e-4, "dispX": 0.3, "dispPx": -0.1, "dispY": 0.05, "dispPy": 0.02},
        E2GEV,
    ),
    "Kurth6D": ("Kurth6D", PARAMS, E2GEV),
    "Kurth4D": ("Kurth4D", PARAMS, E2GEV),
    "Semigaussian": ("Semigaussian", PARAMS, E2GEV),
    "Triangle": ("Triangle", PARAMS, E2GEV),
    "KVdist": ("KVdist", PARAMS, E2GEV),
    "Thermal_bithermal": ("Thermal", BITHERMAL, ("proton", 0.1, 1.4285714285714285714e-10)),
}


def features(a: np.ndarray, mean: np.ndarray, std: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The 54 per-particle functions of the standardised coordinates (rows: functions, columns: particles)."""
    u = (a - mean[:, None]) / std[:, None]
    names, rows = [], []
    for i in range(6):
        names.append(f"u{i}")
        rows.append(u[i])
    for i, j in combinations_with_replacement(range(6), 2):
        names.append(f"u{i}u{j}")
        rows.append(u[i] * u[j])
    for i in range(6):
        names.append(f"u{i}^3")
        rows.append(u[i] ** 3)
        names.append(f"u{i}^4")
        rows.append(u[i] ** 4)
    for i, j in combinations(range(6), 2):
        names.append(f"u{i}^2u{j}^2")
        rows.append(u[i] ** 2 * u[j] ** 2)
    return names, np.stack(rows)


def z_scores(bt: np.ndarray, ix: np.ndarray) -> dict[str, float]:
    mean, std = ix.mean(axis=1), ix.std(axis=1)
    names, f_bt = features(bt, mean, std)
    _, f_ix = features(ix, mean, std)
    se = np.sqrt(f_bt.var(axis=1) / bt.shape[1] + f_ix.var(axis=1) / ix.shape[1])
    return dict(zip(names, (f_bt.mean(axis=1) - f_ix.mean(axis=1)) / se, strict=True))


@pytest.fixture(scope="module")
def impactx_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ORACLE.exists():
        pytest.skip("ImpactX oracle venv .venv-impactx missing: run scripts/setup_oracle.sh")
    d = tmp_path_factory.mktemp("impactx_distributions")
    cfg = {
        "npart": N,
        "cases": [
            {"name": name, "type": typ, "kwargs": kw, "species": sp, "kin_energy_MeV": ek, "bunch_charge_C": q}
            for name, (typ, kw, (sp, ek, q)) in CASES.items()
        ],
    }
    (d / "cases.json").write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["OMP_NUM_THREADS"] = "1"
    r = subprocess.run(
        [str(ORACLE), str(RUNNER), str(d / "cases.json"), str(d)], capture_output=True, text=True, env=env, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return d


@pytest.mark.parametrize("case", list(CASES))
def test_distribution_moments_match_impactx(case: str, impactx_samples: Path) -> None:
    typ, kw, (species, ek, q) = CASES[case]
    ix = np.load(impactx_samples / f"{case}.npy")
    assert ix.shape == (6, N)
    sim = ImpactX(kind="serial")
    sim.beam.ref.set_species(species).set_kin_energy_MeV(ek)
    sim.add_particles(q, getattr(distribution, typ)(**kw), N, seed=1000 + list(CASES).index(case))
    df = sim.beam.to_df()
    bt = np.stack(
        [df[c].to_numpy() for c in ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")]
    )
    z = z_scores(bt, ix)
    worst = max(z, key=lambda k: abs(z[k]))
    assert abs(z[worst]) < Z_MAX, (
        f"{case}: moment {worst} differs by {z[worst]:.2f} sigma "
        f"(all |z| > 3: { ({k: round(v, 2) for k, v in z.items() if abs(v) > 3}) })"
    )


def test_default_draws_are_impactx_particles(impactx_samples: Path) -> None:
    """Without a seed, the drop-in draws from AMReX's random stream as ImpactX 26.10 does on one rank
    (``std::mt19937`` seeded with 1, libstdc++'s canonical doubles, each distribution's uniform numbers per particle
    in ImpactX's order): the same particles, per particle. The runner draws every case from one ImpactX object, the
    stream running on from case to case; so does this test (one ImpactX, ``beam.clear()`` between the cases).

    Expected numbers: ImpactX's own particles (the runner's .npy files). Bound: 1e-13 of each coordinate's rms,
    measured <= 1e-14 (round-off in the maps from the uniform numbers: ``std::log``/``cos``/``pow`` against NumPy's);
    Kurth6D 1e-11, measured 1.0e-12 in pt: ImpactX computes p_max^2 expanded, 1 - (L/r)^2 - r^2 + L^2, which
    cancels to near 0 at the sphere's edge (the factored (1 - r^2)(1 - (L/r)^2) would not), so the last bit of r
    (``std::pow`` vs NumPy's ``power``) is amplified; beamtrack keeps ImpactX's form to draw ImpactX's particles.
    Thermal 1e-10 in x, y, t (measured 4e-11): the radius comes from each code's own tabulated radial CDF, an ODE
    solution integrated numerically (beamtrack's table agrees with ImpactX's to that level); its momenta, Gaussian
    from the same uniform numbers, agree to 1e-15."""
    sim = ImpactX(kind="serial")
    for case, (typ, kw, (species, ek, q)) in CASES.items():
        ix = np.load(impactx_samples / f"{case}.npy")
        sim.beam.clear()
        sim.beam.ref.set_species(species).set_kin_energy_MeV(ek)
        sim.add_particles(q, getattr(distribution, typ)(**kw), N)
        df = sim.beam.to_df()
        bt = np.stack(
            [
                df[c].to_numpy()
                for c in ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")
            ]
        )
        err = np.max(np.abs(bt - ix), axis=1) / ix.std(axis=1)
        bound = {"Kurth6D": 1e-11, "Thermal": 1e-10}.get(typ, 1e-13)
        assert np.all(err < bound), f"{case}: max |beamtrack - ImpactX| / rms per coordinate {err}"
    sim.finalize()


def test_stream_runs_on_across_draws_and_isr_kicks(tmp_path: Path) -> None:
    """A script that draws twice (a Gaussian, then a KV beam with SpinvMF spins) and tracks through a strong bend
    with ISR, no seed anywhere (tests/oracle/scripts/random_stream.py), run by ImpactX 26.10 and by beamtrack: the
    stream runs on from draw to draw, spins after their particles, and ISR's normal numbers (libstdc++'s polar
    method, one per alive particle and slice) come from the same stream, so both codes end with the same particles.

    Expected numbers: ImpactX's run. Bound 1e-9 of each coordinate's largest value (measured 3e-16 for the drawn
    beam; 2.6e-11 in pt after the bend: the ISR update pt = (gamma_ref - gamma_f) / bg_ref cancels four digits at
    gamma 2e4); the random part of the ISR kicks is 9 % of the pt spread, 1e8 x the bound."""
    from oracle_run import run_script_both

    script = Path(__file__).with_name("scripts") / "random_stream.py"
    ix_run, bt_run = run_script_both(script, (), tmp_path / "run")
    for name in ("initial.npz", "final.npz"):
        ix, bt = dict(np.load(ix_run / name)), dict(np.load(bt_run / name))
        assert ix["ids"].size == 2000
        np.testing.assert_array_equal(bt["ids"], ix["ids"])
        scale = np.abs(ix["coords"]).max(axis=1, keepdims=True)
        err = (np.abs(bt["coords"] - ix["coords"]) / scale).max(axis=1)
        assert (err <= 1e-9).all(), f"{name}: max relative deviation per coordinate {err}"
    before, after = np.load(ix_run / "initial.npz")["coords"], np.load(ix_run / "final.npz")["coords"]
    kick = after[5] - before[5]
    assert np.std(kick - kick.mean()) > 0.03 * np.std(before[5])  # ISR's random part is there to be matched
