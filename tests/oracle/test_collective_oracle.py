"""beamtrack.impactx's collective effects against the real ImpactX 26.10 on identical injected particles: the
analytic Gaussian space-charge models (Gauss3D, Gauss2p5D, with and without ImpactX's Strang split) and the 3D PIC
model with ``poisson_solver = "multigrid"`` (ImpactX's MLMG with grounded walls; beamtrack's sine-transform solve).

Where the expected numbers come from: ImpactX 26.10 (PyPI impactx-noacc, CPU, double precision) run by
tests/oracle/impactx_collective_runner.py in the oracle venv on the same particles (coordinates and weights), the
same options and the same element keyword arguments. These models are deterministic (no grid noise, no random
numbers), so the comparison is per particle: max |beamtrack - ImpactX| <= 1e-9 x the largest change of that
coordinate over the line + 1e-12 x its largest value (measured: ~5e-13 of the change for the Gauss models; both
codes evaluate the same Simpson sums in double precision, in a different order; ~2e-12 for multigrid, where
ImpactX's MLMG is run to a relative residual of 1e-12 so that its iteration error stays below the tolerance;
with MLMG's default 1e-7 ("multigrid_default", which sets no solver: ImpactX 26.10 then uses MLMG, as the drop-in
does) 1e-7 of the change is allowed, measured 2.3e-9). The 3D model with the IGF solver ("fft3d") agrees per
particle as well (measured 1.5e-12 of the change: the drop-in gathers linearly, as ImpactX).
Multigrid fields: ImpactX's rho of the last solve, solved by beamtrack's DirichletPoissonSolver, against ImpactX's
phi to 1e-6 of max |phi| (measured ~2e-13); beamtrack's own deposit of that slice against ImpactX's rho.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from beamtrack.impactx import ImpactX, elements
from oracle_run import PROTON, charged_beam, collective_case, run_collective_cases

pytestmark = pytest.mark.physics

#: the reference-particle attributes the runner saves, in its order (impactx_collective_runner.py)
REF_KEYS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")
LINE = [
    ("Drift", {"ds": 0.3, "nslice": 3}),
    ("Quad", {"ds": 0.2, "k": 2.0, "nslice": 2}),
    ("Sbend", {"ds": 0.5, "rc": 5.0, "nslice": 3}),
    ("Quad", {"ds": 0.2, "k": -2.0, "nslice": 2}),
    ("Drift", {"ds": 0.3, "nslice": 3}),
]

CASES: dict[str, dict] = {
    "Gauss3D": {"space_charge": "Gauss3D"},
    "Gauss3D_first_order": {"space_charge": "Gauss3D", "strang_split": False, "space_charge_gauss_nint": 61},
    "Gauss2p5D": {"space_charge": "Gauss2p5D"},
    "Gauss2p5D_options": {
        "space_charge": "Gauss2p5D",
        "space_charge_gauss_charge_z_bins": 65,
        "space_charge_gauss_taylor_delta": 0.02,
        "space_charge_gauss_long_scale": 3e-3,
        "space_charge_gauss_nint": 151,
    },
    "multigrid": {
        "space_charge": "3D",
        "poisson_solver": "multigrid",
        "prob_relative": [3.0],
        "mlmg_relative_tolerance": 1e-12,
    },
    "multigrid_shape3": {
        "space_charge": "3D",
        "poisson_solver": "multigrid",
        "prob_relative": [4.0],
        "n_cell": [24, 16, 32],
        "particle_shape": 3,
        "mlmg_relative_tolerance": 1e-12,
    },
    # neither poisson_solver nor prob_relative set: ImpactX 26.10 falls back to MLMG (its default tolerance 1e-7)
    # on a domain of 3 x the beam, and so does beamtrack.impactx
    "multigrid_default": {"space_charge": "3D"},
    "fft3d": {"space_charge": "3D", "poisson_solver": "fft", "prob_relative": [3.0]},
}
#: per-particle tolerance over the largest change (module doc), where not 1e-9: MLMG's default tolerance
TOL = {"multigrid_default": 1e-7}
MULTIGRID = [name for name, opts in CASES.items() if opts.get("poisson_solver") == "multigrid"]


def particles() -> np.ndarray:
    return charged_beam(3000, seed=11, sigma_t=4e-3)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    data = particles()
    cases = [
        collective_case(name, {"n_cell": [16, 16, 16], **opts}, LINE, 250.0, field=name in MULTIGRID)
        for name, opts in CASES.items()
    ]
    return run_collective_cases(tmp_path_factory.mktemp("collective_oracle"), data, cases), data


def track(opts: dict, data: np.ndarray) -> ImpactX:
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    for k, v in {"n_cell": [16, 16, 16], **opts}.items():  # the oracle's mesh (see the fixture)
        setattr(sim, k, v)
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_mass_MeV(PROTON[0]).set_charge_qe(PROTON[1]).set_kin_energy_MeV(250.0)
    sim.beam.add_n_particles(*data[:6], ref.charge_qe / (ref.mass_MeV * 1e6), w=data[6])
    sim.lattice.extend([getattr(elements, t)(**kw) for t, kw in LINE])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Gauss2.5D's long-bunch warning
        sim.track_particles()
    return sim


@pytest.mark.parametrize("name", list(CASES))
def test_gauss_models_match_impactx(name: str, oracle: tuple[Path, np.ndarray]) -> None:
    out, data = oracle
    ref_out = np.load(out / f"{name}.npz")
    sim = track(CASES[name], data)
    mine = sim.beam.real[:6, sim.beam.state == 0]
    theirs = ref_out["coords"]
    assert mine.shape == theirs.shape
    change = np.abs(theirs - data[:6]).max(axis=1)
    diff = np.abs(mine - theirs).max(axis=1)
    print(name, "max diff / max change per coordinate:", diff / change)
    assert np.all(diff <= TOL.get(name, 1e-9) * change + 1e-12 * np.abs(theirs).max(axis=1))
    # and space charge did act: without it the beam ends elsewhere by far more than the tolerance
    off = track({"space_charge": False}, data).beam.real[:6]
    assert np.all(np.abs(off - theirs).max(axis=1) > 1e3 * diff)


@pytest.mark.parametrize("name", MULTIGRID)
def test_multigrid_field_matches_impactx(name: str, oracle: tuple[Path, np.ndarray]) -> None:
    from beamtrack.engine.spacecharge import DirichletPoissonSolver, make_backend
    from beamtrack.engine.spacecharge.solver import GUARD_LO

    out, data = oracle
    o = np.load(out / f"{name}.npz")
    n_cell = CASES[name].get("n_cell", [16, 16, 16])
    rho = o["rho"].reshape(o["rho_shape"])[..., 0]
    phi = o["phi"].reshape(o["phi_shape"])[..., 0]
    gr, gp = (o["rho_shape"][0] - n_cell[0] - 1) // 2, (o["phi_shape"][0] - n_cell[0] - 1) // 2
    valid = tuple(slice(g, g + n + 1) for g, n in zip([gr] * 3, n_cell, strict=True))
    cell = (o["hi"] - o["lo"]) / np.array(n_cell)
    gamma = -float(o["ref"][list(REF_KEYS).index("pt")])
    mine = DirichletPoissonSolver(make_backend("serial")).solve(
        np.ascontiguousarray(rho[valid]), (cell[0], cell[1], gamma * cell[2]), [(0, n) for n in n_cell]
    )
    theirs = phi[tuple(slice(gp, gp + n + 1) for n in n_cell)]
    err = np.abs(mine - theirs).max() / np.abs(theirs).max()
    print(name, "phi from ImpactX's rho vs ImpactX's phi:", err)
    assert err <= 1e-6
    # beamtrack's own last solve: the same mesh, the same charge on it
    solver = track(CASES[name], data)._sc_solver
    np.testing.assert_allclose(solver.grid_lo + GUARD_LO * solver.cell, o["lo"], rtol=1e-12, atol=0)
    nodes = tuple(slice(GUARD_LO, GUARD_LO + n + 1) for n in n_cell)
    rerr = np.abs(solver.rho[nodes] - rho[valid]).max() / np.abs(rho).max()
    perr = np.abs(solver.phi[nodes] - theirs).max() / np.abs(theirs).max()
    print(name, "beamtrack rho, phi vs ImpactX's:", rerr, perr)
    assert rerr <= 1e-9 and perr <= 1e-6
