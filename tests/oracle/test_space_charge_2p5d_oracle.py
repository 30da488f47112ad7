"""2.5D PIC space charge without its longitudinal kick (ImpactX's ``space_charge_apply_longitudinal_kick = False``,
as ImpactX's example fodo_space_charge/run_fodo_2p5D_KV_sc.py sets it) against the real ImpactX 26.10 on identical
injected particles.

Where the expected numbers come from: ImpactX 26.10 (PyPI impactx-noacc, CPU, double precision) run by
tests/oracle/impactx_collective_runner.py in the oracle venv on the same particles (coordinates and weights), the
same options and element keyword arguments, recording ``beam.beam_moments()`` after each element (an
after_element hook, as beamtrack.impactx runs it too). The issue's space-charge rule: moments after each element
agree to 1e-6 relative (sigma_*, emittance_*: of the value; mean_*: of the matching sigma). Measured: <= 3e-14.
The model is deterministic, so the final particles are compared too: max |beamtrack - ImpactX| <= 1e-9 x the
largest change of that coordinate + 1e-12 x its largest value (measured ~1e-14 of the change); pt must not
change at all (ImpactX gathers no potential, pt -= 0).

prob_relative is 3 so that no particle gathers from the domain's boundary nodes: there ImpactX 26.10's field is
the centred difference with a phi of 0 one node outside the domain (its FFT solve leaves that ghost node 0), which
beamtrack does not reproduce (its open-boundary phi extends past the domain).
The flag matters: ImpactX's own run with the longitudinal kick differs from the run without it by far more than
the tolerance (pt moments), so a beamtrack that ignored the flag fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from beamtrack.impactx import ImpactX, elements
from oracle_run import PROTON, charged_beam, collective_case, run_collective_cases

pytestmark = pytest.mark.physics

KIN_ENERGY_MEV = 250.0
LINE = [
    ("Drift", {"ds": 0.3, "nslice": 3}),
    ("Quad", {"ds": 0.2, "k": 2.0, "nslice": 2}),
    ("Sbend", {"ds": 0.5, "rc": 5.0, "nslice": 3}),
    ("Quad", {"ds": 0.2, "k": -2.0, "nslice": 2}),
    ("Drift", {"ds": 0.3, "nslice": 3}),
]
BASE = {
    "space_charge": "2p5D",
    "poisson_solver": "fft",
    "prob_relative": [3.0],
    "n_cell": [16, 16, 1],
    "blocking_factor_z": [1],
}
CASES: dict[str, dict] = {
    "no_longitudinal_kick": {**BASE, "space_charge_apply_longitudinal_kick": False},
    # the example's two longitudinal bins
    "no_longitudinal_kick_2bins": {
        **BASE,
        "space_charge_apply_longitudinal_kick": False,
        "space_charge_num_longitudinal_bins": 2,
    },
    # ImpactX with its longitudinal kick (its default): the 2.5D model itself
    "longitudinal_kick": {**BASE, "space_charge_apply_longitudinal_kick": True},
    # the 2D model, on the same particles and bunch charge
    "pic2D": {**BASE, "space_charge": "2D"},
    # the 2.5D model with its longitudinal kick on a 32 x 32 grid (ImpactX's FODO.2p5d examples' size)
    "longitudinal_kick_32": {**BASE, "n_cell": [32, 32, 1], "space_charge_apply_longitudinal_kick": True},
}
CHECKED = [name for name in CASES if name.startswith("no_")]
SIGMAS = ("sigma_x", "sigma_y", "sigma_t", "sigma_px", "sigma_py", "sigma_pt")
MEANS = ("mean_x", "mean_y", "mean_t", "mean_px", "mean_py", "mean_pt")
EMITTANCES = ("emittance_x", "emittance_y", "emittance_t")
MOMENTS = (*SIGMAS, *MEANS, *EMITTANCES)


def particles() -> np.ndarray:
    return charged_beam(3000, seed=11, sigma_t=4e-3)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    data = particles()
    cases = [collective_case(name, opts, LINE, KIN_ENERGY_MEV, moments=list(MOMENTS)) for name, opts in CASES.items()]
    return run_collective_cases(tmp_path_factory.mktemp("sc2p5d_oracle"), data, cases), data


def track(opts: dict, data: np.ndarray) -> tuple[ImpactX, np.ndarray]:
    """beamtrack.impactx on the oracle's particles; the moments after each element (rows as the runner's)."""
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    sim.particle_shape = 2  # the runner's
    for k, v in opts.items():
        setattr(sim, k, v)
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_mass_MeV(PROTON[0]).set_charge_qe(PROTON[1]).set_kin_energy_MeV(KIN_ENERGY_MEV)
    sim.beam.add_n_particles(*data[:6], ref.charge_qe / (ref.mass_MeV * 1e6), w=data[6])
    sim.lattice.extend([getattr(elements, t)(**kw) for t, kw in LINE])
    rows: list[list[float]] = []
    sim.hook["after_element"] = lambda s: rows.append([s.beam.beam_moments()[k] for k in MOMENTS])
    sim.track_particles()
    return sim, np.array(rows)


def moment_errors(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Per element and moment: |difference| over the scale of the issue's rule (module doc)."""
    scale = np.abs(theirs).copy()
    for i, k in enumerate(MOMENTS):
        if k in MEANS:
            scale[:, i] = np.abs(theirs[:, MOMENTS.index(k.replace("mean_", "sigma_"))])
    return np.abs(mine - theirs) / scale


@pytest.mark.parametrize("name", CHECKED)
def test_2p5d_without_longitudinal_kick_matches_impactx(name: str, oracle: tuple[Path, np.ndarray]) -> None:
    out, data = oracle
    o = np.load(out / f"{name}.npz")
    sim, mine = track(CASES[name], data)
    assert mine.shape == o["moments"].shape == (len(LINE), len(MOMENTS))
    err = moment_errors(mine, o["moments"])
    print(name, "moments: max relative error", err.max())
    assert err.max() <= 1e-6
    coords, theirs = sim.beam.real[:6, sim.beam.state == 0], o["coords"]
    assert coords.shape == theirs.shape
    change = np.abs(theirs - data[:6]).max(axis=1)
    diff = np.abs(coords - theirs).max(axis=1)
    print(name, "particles: max diff / max change", diff / np.where(change > 0, change, 1.0))
    assert np.all(diff <= 1e-9 * change + 1e-12 * np.abs(theirs).max(axis=1))
    np.testing.assert_array_equal(coords[5], data[5])  # no longitudinal kick: pt untouched, in both codes
    np.testing.assert_array_equal(theirs[5], data[5])
    # the flag matters: ImpactX with the kick is far from ImpactX without it
    kicked = moment_errors(np.load(out / "longitudinal_kick.npz")["moments"], o["moments"])
    assert kicked[:, MOMENTS.index("sigma_pt")].max() > 1e3 * max(err.max(), 1e-12)


@pytest.mark.parametrize(
    "name",
    [
        "pic2D",
        "longitudinal_kick_32",
        pytest.param(
            "longitudinal_kick",
            marks=pytest.mark.xfail(strict=True, reason="the top line-density bin flips (docstring)"),
        ),
    ],
)
def test_2p5d_and_2d_pic_moments_after_each_element_match_impactx(name: str, oracle: tuple[Path, np.ndarray]) -> None:
    """The 2D model and the 2.5D model with its longitudinal kick, on the same particles and settings: moments after
    each element agree to 1e-6 relative (the issue's space-charge rule; module doc for the scales). Measured: 2D
    1.1e-14; 2.5D with the kick on the 32 x 32 grid 6.8e-14.

    Ill-conditioned, kept as a strict xfail: on the 16 x 16 grid (prob_relative 3, 100 bins) the 2.5D kicks of the two
    codes part at one slice (the third of the Sbend after the first Drift and Quad; with the Sbend cut into three
    elements, its first), and only there; every slice before agrees to 1e-15, rho and phi at that slice too. Cause
    (measured): at that slice 4 particles' kicks differ, all in the top two line-density bins. ImpactX bins the line
    density by nearest bin, floor((t - t_min) / bin_size) with bin_size = (t_max - t_min) / (nbins - 1), so the
    particle at t_max lands in bin nbins - 1 or nbins - 2 by the last bit of t_max - t_min, and its bin decides the
    profile and the slope (the kick) of the top bins; the two codes' t agree to ~1e-17, not bit for bit (their maps
    round differently), so the bin flips now and then. The 4 changed kicks (up to 3.5 % of the largest) then spread
    through the field to every particle (emittance_t 0.5 % apart after the bend). Any change that moves t_max - t_min
    by a bit (50 bins, a 32-cell grid, prob_relative 4, the Sbend alone) gives agreement to 1e-15; ImpactX's examples
    FODO.2p5d.sc and kick-PIC2p5D end with ImpactX's moments to 2e-8."""
    out, data = oracle
    o = np.load(out / f"{name}.npz")
    _, mine = track(CASES[name], data)
    assert mine.shape == o["moments"].shape == (len(LINE), len(MOMENTS))
    err = moment_errors(mine, o["moments"])
    print(name, "moments: max relative error", err.max())
    assert err.max() <= 1e-6
