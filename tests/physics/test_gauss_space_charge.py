"""ImpactX's analytic Gaussian space-charge models (Gauss3D, Gauss2p5D): fields against independent analytic forms,
the C kernels (serial, OpenMP) against their NumPy twin, and the wiring (Simulation, spec, beamtrack.impactx).
Particle-by-particle agreement with ImpactX 26.10 itself is in tests/oracle/test_collective_oracle.py.

Where the expected numbers come from:
- Gauss3D: the field of a Gaussian bunch of charge Q and rms sizes s_i in its rest frame (z' = gamma z),
  E'_i = Q / (4 pi^1.5 eps0) int_0^inf 2 x_i / (2 s_i^2 + l) exp(-sum x_j^2 / (2 s_j^2 + l)) / sqrt(prod(2 s_j^2 + l)) dl
  (the heat-kernel form of the Coulomb integral, e.g. Kellogg; the same form as test_space_charge.py), evaluated
  by scipy's adaptive quadrature; lab field E_x,y = gamma E'_x,y, E_z = E'_z.
- Gauss2p5D transverse field per unit line density: Bassetti & Erskine, CERN-ISR-TH/80-06 (1980), with the Faddeeva
  function (scipy.special.wofz); its potential: the 2D heat-kernel form
  phi(x, y) - phi(0, 0) = -lambda / (4 pi eps0) int_0^inf (exp(-x^2/(2 sx^2 + l) - y^2/(2 sy^2 + l)) - 1) /
  sqrt((2 sx^2 + l)(2 sy^2 + l)) dl.
- Tolerances: Simpson's rule on 101 points (ImpactX's default) integrates these smooth integrands to ~1e-7
  relative (measured below 3e-7); the kernels equal the NumPy twin to round-off (1e-12 relative).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from beamtrack.engine import constants
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart
from beamtrack.engine.spacecharge import SpaceChargeError, SpaceChargeSolver
from beamtrack.engine.spacecharge.backend import np_gauss2d_integrals
from scipy import integrate, special

pytestmark = pytest.mark.physics

EPS0 = constants.epsilon0
K_IMPACTX = constants.c**2 * 1e-7  # ImpactX's 1 / (4 pi eps0) in these models (mu0 = 4 pi 1e-7 exactly)


def beam(ref: RefPart, n: int = 4000, seed: int = 4, Q: float = 1e-9, sig=(1e-3, 0.6e-3, 2e-3)) -> ParticleContainer:
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((6, n)) * np.array([*sig, 1e-4, 1e-4, 1e-4])[:, None]
    b = ParticleContainer(qm=ref.charge / ref.mass)
    b.add_n_particles(*r, qm=ref.charge / ref.mass, bunch_charge=Q)
    b.real[6] *= rng.uniform(0.5, 1.5, n)
    return b


def copy(b: ParticleContainer) -> ParticleContainer:
    c = ParticleContainer(xp=b.xp, qm=b.qm)
    c.real, c.state, c.id, c.s_lost = b.real.copy(), b.state.copy(), b.id.copy(), b.s_lost.copy()
    return c


def wsig(v: np.ndarray, w: np.ndarray) -> float:
    m = np.sum(w * v) / w.sum()
    return math.sqrt(np.sum(w * (v - m) ** 2) / w.sum())


def test_gauss3d_field_matches_the_coulomb_integral() -> None:
    ref = RefPart().set_species("proton").set_kin_energy_MeV(250.0)
    g = ref.gamma
    b = beam(ref)
    E = SpaceChargeSolver("Gauss3D", kind="serial").self_fields(b, ref)
    # the model's Gaussian: the rms sizes and charge of the beam at fixed t (ImpactX's reduced moments after ToFixedT)
    from beamtrack.engine.spacecharge.backend import np_to_fixed_t

    x, y, z, *_ = np_to_fixed_t(ref.pt, *(b.real[r] for r in range(6)))
    w = b.real[6]
    s = [wsig(x, w), wsig(y, w), wsig(z, w)]
    Q = ref.charge * w.sum()
    m = np.arange(0, b.size, 20)
    S2 = [s[0] ** 2, s[1] ** 2, (g * s[2]) ** 2]
    X = [x[m], y[m], g * z[m]]

    def integrand(lam: float) -> np.ndarray:
        d = [2 * s2 + lam for s2 in S2]
        ex = np.exp(-sum(Xi * Xi / di for Xi, di in zip(X, d, strict=True))) / math.sqrt(d[0] * d[1] * d[2])
        return np.concatenate([2 * Xi / di * ex for Xi, di in zip(X, d, strict=True)])

    L = max(S2)
    integral = integrate.quad_vec(lambda u: integrand(L * u / (1 - u)) * L / (1 - u) ** 2, 0, 1, epsrel=1e-11)[0]
    Ep = Q / (4 * math.pi**1.5 * EPS0) * integral.reshape(3, -1)
    Ea = np.stack([g * Ep[0], g * Ep[1], Ep[2]])
    err = np.abs(E[:, m] - Ea).max(axis=1) / np.abs(Ea).max(axis=1)
    print("Gauss3D vs Coulomb integral, max rel per component:", err)
    assert np.all(err < 3e-7)


@pytest.mark.parametrize(("delta", "nint", "tol_field", "tol_pot"), [(1e-4, 401, 1e-7, 1e-7), (0.01, 101, 5e-4, 5e-4)])
def test_gauss2d_integrals_match_bassetti_erskine_and_the_potential(
    delta: float, nint: int, tol_field: float, tol_pot: float
) -> None:
    """With a tiny Taylor interval (and 401 Simpson points) the integrals are the exact field and potential; at
    ImpactX's default delta = 0.01 its [0, delta] trapezoid (inside Simpson's factor 1/3, as ImpactX) shifts them by
    about delta^2 / (3 A) of the integral, 1e-4 relative here (measured values are printed)."""
    sx, sy = 1.3e-3, 0.5e-3
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-4 * sx, 4 * sx, 300), rng.uniform(-4 * sy, 4 * sy, 300)
    ints = np_gauss2d_integrals(delta, nint, x, y, sx, sy)
    # Bassetti-Erskine: Ey + i Ex = lambda / (2 eps0 sqrt(2 pi (sx^2 - sy^2))) [w(z1) - exp(-x^2/2sx^2 - y^2/2sy^2) w(z2)]
    # for x, y >= 0 (odd in x and in y elsewhere); with lambda / (4 pi eps0) = 1 the model's field is ints[0], ints[1]
    ax, ay = np.abs(x), np.abs(y)
    S = math.sqrt(2 * (sx * sx - sy * sy))
    f = special.wofz((ax + 1j * ay) / S) - np.exp(-(ax**2) / (2 * sx * sx) - ay**2 / (2 * sy * sy)) * special.wofz(
        (ax * sy / sx + 1j * ay * sx / sy) / S
    )
    be = 4 * math.pi / (2 * math.sqrt(2 * math.pi * (sx * sx - sy * sy))) * f
    Ex, Ey = np.sign(x) * be.imag, np.sign(y) * be.real
    ex = np.abs(ints[0] - Ex).max() / np.abs(Ex).max()
    ey = np.abs(ints[1] - Ey).max() / np.abs(Ey).max()

    def pot(lam: float) -> np.ndarray:
        dx, dy = 2 * sx * sx + lam, 2 * sy * sy + lam
        return (np.exp(-x * x / dx - y * y / dy) - 1.0) / math.sqrt(dx * dy)

    L = sx * sx
    phi = integrate.quad_vec(lambda u: pot(L * u / (1 - u)) * L / (1 - u) ** 2, 0, 1, epsrel=1e-11)[0]
    ep = np.abs(ints[2] - phi).max() / np.abs(phi).max()
    print(f"delta {delta}: Gauss2p5D vs Bassetti-Erskine: Ex {ex:.2e}, Ey {ey:.2e}; potential {ep:.2e}")
    assert ex < tol_field and ey < tol_field
    assert ep < tol_pot


@pytest.mark.parametrize("mode", ["Gauss3D", "Gauss2.5D"])
def test_kernels_match_numpy_twin(mode: str, cpu_kind: str) -> None:
    kind = cpu_kind
    ref = RefPart().set_species("electron").set_kin_energy_MeV(5.0)
    b0 = beam(ref, n=3000)
    b0.state[::97] = 1  # lost particles neither count nor move
    out = {}
    for k in ("numpy", kind):
        b = copy(b0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the long-bunch warning of Gauss2.5D
            SpaceChargeSolver(mode, kind=k).kick(b, ref, 0.05)
        out[k] = b.real[:6]
    change = np.abs(out["numpy"] - b0.real[:6]).max(axis=1)
    assert np.all(change[3:] > 0)
    assert np.all(
        np.abs(out[kind] - out["numpy"]).max(axis=1) <= 1e-12 * np.abs(b0.real[:6]).max(axis=1) + 1e-12 * change
    )
    lost = b0.state != 0
    assert np.array_equal(out[kind][:, lost], b0.real[:6, lost])


@pytest.mark.filterwarnings(
    "ignore:Gauss2.5D model assumes a long bunch:UserWarning"
)  # the beam here is short on purpose
def test_gauss_kick_scales_with_charge_and_ds() -> None:
    ref = RefPart().set_species("proton").set_kin_energy_MeV(50.0)
    b0 = beam(ref)
    d = []
    for Q, ds in ((1e-9, 0.1), (2e-9, 0.1), (1e-9, 0.2)):
        b = copy(b0)
        b.real[6] *= Q / 1e-9
        SpaceChargeSolver("Gauss2.5D", kind="serial").kick(b, ref, ds)
        d.append(b.real[3:6] - b0.real[3:6])
    assert np.allclose(d[1], 2 * d[0], rtol=1e-12, atol=0)
    assert np.allclose(d[2], 2 * d[0], rtol=1e-12, atol=0)


def test_flat_beam_and_bad_parameters_raise() -> None:
    ref = RefPart().set_species("proton").set_kin_energy_MeV(50.0)
    b = beam(ref)
    b.real[1] = b.real[4] = 0.0  # y = py = 0: flat in y at fixed t too
    with pytest.raises(SpaceChargeError, match="sig_y"):
        SpaceChargeSolver("Gauss3D", kind="serial").kick(b, ref, 0.1)
    with pytest.raises(SpaceChargeError, match="gauss_taylor_delta"):
        SpaceChargeSolver("Gauss2p5D", gauss_taylor_delta=0.1)
    with pytest.raises(SpaceChargeError, match="gauss_nint"):
        SpaceChargeSolver("Gauss3D", gauss_nint=1)


@pytest.mark.filterwarnings(
    "ignore:Gauss2.5D model assumes a long bunch:UserWarning"
)  # the beam here is short on purpose
def test_spec_and_simulation_wiring() -> None:
    from beamtrack.engine import Simulation
    from beamtrack.spec.job import SpaceCharge

    sc = SpaceCharge(mode="Gauss2p5D", n_cell=[8, 8, 8], gauss_charge_z_bins=65, gauss_long_scale=0.01)
    assert sc.mode == "Gauss2.5D"
    with pytest.raises(ValueError, match="gauss_charge_z_bins"):
        SpaceCharge(mode="Gauss3D", n_cell=[8, 8, 8], gauss_charge_z_bins=65)
    with pytest.raises(ValueError, match="gauss_nint"):
        SpaceCharge(mode="3D", n_cell=[8, 8, 8], gauss_nint=51)
    spec = {
        "name": "g",
        "reference": {"species": "proton", "kin_energy_MeV": 50.0},
        "beam": {
            "npart": 500,
            "bunch_charge_C": 1e-9,
            "distribution": {
                "type": "Gaussian",
                "lambdaX": 1e-3,
                "lambdaY": 1e-3,
                "lambdaT": 2e-3,
                "lambdaPx": 1e-4,
                "lambdaPy": 1e-4,
                "lambdaPt": 1e-4,
            },
        },
        "lattice": {"elements": [{"type": "Drift", "name": "d", "ds": 0.5, "nslice": 2}]},
        "space_charge": sc.model_dump(exclude_unset=True),
    }
    sim = Simulation.from_spec(spec, kind="serial")
    sim.diagnostics = False
    assert (sim.space_charge, sim.space_charge_gauss_charge_z_bins, sim.space_charge_gauss_long_scale) == (
        "Gauss2.5D",
        65,
        0.01,
    )
    back = sim.to_spec().space_charge
    assert back is not None and (back.mode, back.gauss_charge_z_bins, back.gauss_long_scale) == ("Gauss2.5D", 65, 0.01)
    x0 = sim.beam.real[3].copy()
    sim.track_particles()
    assert sim._sc_solver.nsteps == 2 and sim._sc_solver.gauss_charge_z_bins == 65
    assert not np.array_equal(sim.beam.real[3], x0)


def test_impactx_drop_in_accepts_the_gauss_models() -> None:
    from beamtrack.impactx import ImpactX

    sim = ImpactX(kind="serial")
    sim.space_charge = "Gauss2p5D"
    sim.space_charge_gauss_nint = 51
    sim.space_charge_gauss_taylor_delta = 0.02
    assert sim.space_charge == "Gauss2.5D"
    assert SpaceChargeSolver.from_simulation(sim).gauss_nint == 51
    sim.space_charge = "Gauss3D"
    assert sim.space_charge == "Gauss3D"
