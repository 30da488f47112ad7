"""Space charge (ImpactX's 3D / 2D / 2.5D models): solver accuracy against analytic fields, the C kernels
against their plain-NumPy twin, conservation laws, edge cases, and the reference cases via `beamtrack run`.

Where the expected numbers come from:
- uniform ellipsoid: interior field E_i = rho A_i x_i / (2 eps0), A_i = abc int_0^inf ds / ((a_i^2+s) D(s)),
  D = sqrt((a^2+s)(b^2+s)(c^2+s)) (Kellogg, Foundations of Potential Theory; sphere: A = 2/3 gives rho r/(3 eps0));
  for a bunch moving with gamma the rest-frame bunch is gamma times longer, E_lab,x/y = gamma E'_x/y, E_lab,z = E'_z;
- Gaussian bunch: phi = Q / (4 pi^1.5 eps0) int_0^inf exp(-sum x_i^2 / (2 s_i^2 + l)) / sqrt(prod(2 s_i^2 + l)) dl
  (heat-kernel form of the Coulomb integral; reduces to Q / (4 pi eps0 r) for s_i -> 0);
- uniform elliptic cylinder (2D): E_x = lambda x / (pi eps0 a (a + b)), E_y = lambda y / (pi eps0 b (a + b));
- the tolerances: 1% rms (3D) and 0.5% rms (2D) are the issue's targets; measured values are printed.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from beamtrack.engine import constants
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart
from beamtrack.engine.spacecharge import GreenCache, SpaceChargeError, SpaceChargeSolver, fast_even_len, make_backend
from beamtrack.engine.spacecharge.poisson import OpenPoissonSolver
from scipy import integrate

pytestmark = pytest.mark.physics

EPS0 = constants.epsilon0
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "spec"
BIN = Path(sys.executable).parent


def proton(kin_MeV: float) -> RefPart:
    return RefPart().set_species("proton").set_kin_energy_MeV(kin_MeV)


def lattice(spacing: np.ndarray, half: np.ndarray) -> list[np.ndarray]:
    """A quiet start: points on a regular lattice, offset from the grid nodes by 0.37 of a spacing."""
    axes = [np.arange(-hf, hf + 1e-15, h) + 0.37 * h for h, hf in zip(spacing, half, strict=False)]
    return [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]


def beam_at(
    ref: RefPart, x: np.ndarray, y: np.ndarray, z: np.ndarray, w: np.ndarray, Q: float, p: np.ndarray | None = None
) -> ParticleContainer:
    """Particles at fixed-t positions (x, y, z) (t = -z / beta for zero momenta) carrying charge Q in shares w."""
    b = ParticleContainer(qm=ref.charge / ref.mass)
    zeros = np.zeros_like(x)
    px, py, pt = (zeros, zeros, zeros) if p is None else p
    b.add_n_particles(x, y, -z / ref.beta, px, py, pt, qm=ref.charge / ref.mass, bunch_charge=Q)
    b.real[6] = w / w.sum() * Q / constants.qe
    return b


def random_beam(ref: RefPart, n: int, seed: int = 1, Q: float = 1e-9) -> ParticleContainer:
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((6, n)) * np.array([1e-3, 0.7e-3, 2e-3, 1e-4, 1e-4, 1e-4])[:, None]
    b = ParticleContainer(qm=ref.charge / ref.mass)
    b.add_n_particles(*r, qm=ref.charge / ref.mass, bunch_charge=Q)
    b.real[6] *= rng.uniform(0.5, 1.5, n)
    return b


def copy_beam(b: ParticleContainer) -> ParticleContainer:
    c = ParticleContainer(xp=b.xp, qm=b.qm)
    c.real, c.state, c.id, c.s_lost = b.real.copy(), b.state.copy(), b.id.copy(), b.s_lost.copy()
    return c


def rel_errors(num: np.ndarray, ana: np.ndarray) -> tuple[float, float]:
    """(rms |E - E_ana| / rms |E_ana|, max |E - E_ana| / max |E_ana|) over the points given."""
    d2 = ((num - ana) ** 2).sum(axis=0)
    a2 = (ana**2).sum(axis=0)
    return math.sqrt(d2.mean() / a2.mean()), math.sqrt(d2.max() / a2.max())


def ellipsoid_factors(a: float, b: float, c: float) -> list[float]:
    L = max(a, b, c)
    a, b, c = a / L, b / L, c / L

    def D(s: float) -> float:
        return math.sqrt((a * a + s) * (b * b + s) * (c * c + s))

    return [
        a
        * b
        * c
        * integrate.quad(lambda s, ai=ai: 1.0 / ((ai * ai + s) * D(s)), 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
        for ai in (a, b, c)
    ]


# --- the Poisson solver itself ------------------------------------------------------------------------
def test_fast_even_len() -> None:
    assert [fast_even_len(n) for n in (2, 7, 74, 134, 138, 266)] == [2, 8, 80, 144, 144, 270]


@pytest.mark.parametrize("ndim", [2, 3])
def test_open_convolution_equals_direct_sum(backend_kind: str, ndim: int) -> None:
    """phi from the FFT on the 2N-2 periodic grid equals the direct sum over all node pairs (open boundaries)."""
    rng = np.random.default_rng(3)
    shape = (6, 5, 7)[:ndim]
    cell = (1.0e-3, 0.6e-3, 2.3e-3)[:ndim]
    rho = rng.standard_normal(shape)
    solver = OpenPoissonSolver(make_backend(backend_kind, 2))
    phi = solver.solve(rho, cell)
    G = make_backend("numpy").igf(shape, cell)
    idx = np.array(np.unravel_index(np.arange(rho.size), shape)).T
    ref = np.zeros(rho.size)
    for t, it in enumerate(idx):
        off = np.abs(idx - it)
        ref[t] = (rho.ravel() * G[tuple(off.T)]).sum()
    assert np.allclose(phi.ravel(), ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("ndim", [2, 3])
def test_solve_on_the_charge_support_equals_full_solve(backend_kind: str, ndim: int) -> None:
    """With the charged box given, phi on that box plus one node equals the whole-grid solve there (a smaller
    periodic grid), and is 0 outside."""
    rng = np.random.default_rng(5)
    shape = (30, 27, 33)[:ndim]
    support = [(6, 21), (3, 24), (4, 29)][:ndim]
    rho = np.zeros(shape)
    rho[tuple(slice(a, b + 1) for a, b in support)] = rng.standard_normal([b - a + 1 for a, b in support])
    cell = (1.0e-3, 0.6e-3, 2.3e-3)[:ndim]
    solver = OpenPoissonSolver(make_backend(backend_kind, 2))
    full = solver.solve(rho, cell)
    part = solver.solve(rho, cell, support)
    inner = tuple(slice(a - 1, b + 2) for a, b in support)
    assert np.allclose(part[inner], full[inner], rtol=1e-11, atol=1e-11 * np.abs(full).max())
    mask = np.ones(shape, dtype=bool)
    mask[inner] = False
    assert not part[mask].any()
    # the Green's function covers the offsets 0 .. b - a + 1 only
    assert GreenCache.key(tuple(b - a + 2 for a, b in support), cell) in solver.cache._d


def test_green_kernels_agree_and_cache() -> None:
    """C IGF = NumPy IGF; the DCT-I spectrum (CPU) = the full rfftn spectrum (NumPy twin); the cache hits."""
    shape, cell = (9, 8, 11), (1e-3, 2e-3, 7e-3)
    cpu, twin = make_backend("serial"), make_backend("numpy")
    assert np.allclose(cpu.igf(shape, cell), twin.igf(shape, cell), rtol=1e-11, atol=0)
    s_cpu, s_np = OpenPoissonSolver(cpu), OpenPoissonSolver(twin)
    M1, g1 = s_cpu.green_hat(shape, cell)
    M2, g2 = s_np.green_hat(shape, cell)
    assert g1.shape == tuple(m // 2 + 1 for m in M1)  # the CPU keeps the half spectrum
    g1 = s_cpu.full_spectrum(M1, g1)
    assert M1 == M2 and np.allclose(g1, g2, rtol=1e-9, atol=1e-12 * np.abs(g2).max())
    s_cpu.green_hat(shape, cell)
    assert s_cpu.cache.hits == 1 and s_cpu.cache.misses == 1
    assert GreenCache.key(shape, (1e-3, 2e-3, 7e-3 * (1 + 1e-15))) == GreenCache.key(shape, cell)


# --- C kernels = NumPy twin --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["3D", "2D", "2.5D"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_kernels_match_numpy_twin(cpu_kind: str, mode: str, order: int) -> None:
    kind = cpu_kind
    ref = proton(250.0)
    b0 = random_beam(ref, 3000)
    b0.state[::17] = 3  # lost particles: neither deposit nor move
    out = {}
    for k in ("numpy", kind):
        b = copy_beam(b0)
        SpaceChargeSolver(mode, [16, 12, 10], order, 1.2, num_longitudinal_bins=20, kind=k, nthreads=2).kick(
            b, ref, 0.1
        )
        out[k] = b.real
    moved = np.abs(out["numpy"][3:6] - b0.real[3:6]).max()
    assert moved > 0
    assert np.allclose(out[kind], out["numpy"], rtol=1e-11, atol=1e-12 * moved)
    lost = b0.state != 0
    assert np.array_equal(out[kind][:, lost], b0.real[:, lost])


@pytest.mark.parametrize("mode", ["3D", "2D", "2.5D"])
def test_split_gather_push_equals_fused(mode: str, backend_kind: str) -> None:
    kind = backend_kind
    ref = proton(250.0)
    b0 = random_beam(ref, 2000)
    b1, b2 = copy_beam(b0), copy_beam(b0)
    SpaceChargeSolver(mode, [16, 16, 16], 2, kind=kind).kick(b1, ref, 0.1)
    s = SpaceChargeSolver(mode, [16, 16, 16], 2, kind=kind, split_gather_push=True)
    s.kick(b2, ref, 0.1)
    assert np.allclose(b1.real, b2.real, rtol=1e-13, atol=1e-20)
    assert {"deposit", "solve", "gather", "push"} <= set(s.timings)


# --- conservation, linearity, edge cases -------------------------------------------------------------
@pytest.mark.parametrize("mode", ["3D", "2D"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_self_force_conserves_momentum(mode: str, order: int) -> None:
    """Same shape for deposit and gather + antisymmetric gradient + even Green's function: sum_i w_i F_i = 0."""
    ref = proton(250.0)
    # 2D reads the weights as a current [A] (ImpactX); 1 A keeps the kick far above the rounding of p
    b = random_beam(ref, 20000, Q=1e-9 if mode == "3D" else 1.0)
    E = SpaceChargeSolver(mode, [24, 24, 24], order, 1.1, kind="openmp").self_fields(b, ref)
    w = b.real[6]
    for r in range(2 if mode == "2D" else 3):
        assert abs((w * E[r]).sum()) < 1e-10 * (w * np.abs(E[r])).sum()
    kicked = copy_beam(b)
    SpaceChargeSolver(mode, [24, 24, 24], order, 1.1, kind="openmp").kick(kicked, ref, 0.2)
    for r in (3, 4):
        dp = kicked.real[r] - b.real[r]
        assert abs((w * dp).sum()) < 1e-10 * (w * np.abs(dp)).sum()


@pytest.mark.parametrize("mode", ["3D", "2D", "2.5D"])
def test_kick_is_linear_in_charge(mode: str) -> None:
    ref = proton(100.0)
    b0 = random_beam(ref, 5000, Q=1e-9 if mode == "3D" else 1.0)
    kicks = []
    for scale in (1.0, 3.0):
        b = copy_beam(b0)
        b.real[6] *= scale
        SpaceChargeSolver(mode, [16, 16, 16], 2, kind="serial").kick(b, ref, 0.05)
        kicks.append(b.real[3:6] - b0.real[3:6])
    assert np.abs(kicks[0]).max() > 0
    assert np.allclose(kicks[1][:2], 3.0 * kicks[0][:2], rtol=1e-6, atol=1e-9 * np.abs(kicks[1]).max())


def test_lost_particles_are_ignored() -> None:
    """Adding lost particles far away changes nothing for the alive ones, and the lost ones stay put."""
    ref = proton(250.0)
    b0 = random_beam(ref, 4000)
    b1 = copy_beam(b0)
    SpaceChargeSolver("3D", [16, 16, 16], 2, kind="openmp").kick(b1, ref, 0.1)
    extra = ParticleContainer(qm=b0.qm)
    extra.add_n_particles(*(np.concatenate([b0.real[r], [5.0, -7.0]]) for r in range(6)), qm=b0.qm, bunch_charge=1.0)
    extra.real[6, :-2] = b0.real[6]
    extra.state[-2:] = 1
    frozen = extra.real[:, -2:].copy()
    SpaceChargeSolver("3D", [16, 16, 16], 2, kind="openmp").kick(extra, ref, 0.1)
    assert np.allclose(extra.real[:, :-2], b1.real, rtol=1e-12, atol=1e-20)
    assert np.array_equal(extra.real[:, -2:], frozen)


@pytest.mark.parametrize("mode", ["3D", "2D", "2.5D"])
def test_empty_single_and_chargeless_beams_do_nothing(mode: str) -> None:
    ref = proton(250.0)
    s = SpaceChargeSolver(mode, [8, 8, 8], 2, kind="serial", current_A=None)
    empty = ParticleContainer(qm=ref.charge / ref.mass)
    s.kick(empty, ref, 0.1)
    assert empty.size == 0
    one = random_beam(ref, 1)
    before = one.real.copy()
    s.kick(one, ref, 0.1)
    assert np.array_equal(one.real, before)
    two = random_beam(ref, 2)
    two.state[1] = 2  # one alive particle left
    before = two.real.copy()
    s.kick(two, ref, 0.1)
    assert np.array_equal(two.real, before)
    cold = random_beam(ref, 100, Q=0.0)
    before = cold.real.copy()
    s.kick(cold, ref, 0.1)
    assert np.allclose(cold.real, before, rtol=1e-12, atol=1e-18)


def test_flat_beam_raises() -> None:
    ref = proton(250.0)
    b = random_beam(ref, 50)
    b.real[0] = 1e-3
    b.real[3] = 0.0  # x stays flat at fixed t too
    with pytest.raises(SpaceChargeError, match="flat beam"):
        SpaceChargeSolver("3D", [8, 8, 8], 2, kind="serial").kick(b, ref, 0.1)
    with pytest.raises(SpaceChargeError, match="particle_shape"):
        SpaceChargeSolver("3D", [8, 8, 8], 4)
    with pytest.raises(SpaceChargeError, match="mode"):
        SpaceChargeSolver("4D")


def test_2p5d_flat_profile_reproduces_2d() -> None:
    """A long bunch, uniform in t, with current I: 2.5D's transverse kick equals 2D's in the body (ImpactX's
    line density lambda(t)/Q, divided by beta, is I / (beta c) / Q per unit charge there)."""
    ref = proton(50.0)
    rng = np.random.default_rng(5)
    n = 200000
    r = np.sqrt(rng.random(n)) * 1e-3
    th = rng.random(n) * 2 * np.pi
    t = rng.uniform(-0.5, 0.5, n)
    zeros = np.zeros(n)
    b0 = ParticleContainer(qm=ref.charge / ref.mass)
    b0.add_n_particles(r * np.cos(th), r * np.sin(th), t, zeros, zeros, zeros, qm=b0.qm, bunch_charge=0.0)
    kicks = {}
    for mode in ("2D", "2.5D"):
        b = copy_beam(b0)
        SpaceChargeSolver(mode, [32, 32, 1], 2, 1.1, num_longitudinal_bins=20, current_A=0.5, kind="openmp").kick(
            b, ref, 0.1
        )
        kicks[mode] = b.real[3] - b0.real[3]
    body = np.abs(t) < 0.3
    ratio = np.sum(kicks["2.5D"][body] * kicks["2D"][body]) / np.sum(kicks["2D"][body] ** 2)
    # binning noise of 10^4 particles per bin and sqrt(12) sigma_t vs the sampled extent: ~2%
    assert ratio == pytest.approx(1.0, abs=0.03)


# --- fields against analytic solutions ----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("kin_MeV", [1e-3, 250.0])
def test_uniform_ellipsoid_field_64(kin_MeV: float) -> None:
    ref = proton(kin_MeV)
    a, b, c = 1e-3, 0.6e-3, 1.5e-3
    h = 2 * np.array([a, a, c]) * 1.1 / 64 / 1.7
    x, y, z = lattice(h, np.array([a, b, c]))
    inside = (x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2 <= 1.0
    x, y, z = x[inside], y[inside], z[inside]
    Q = 1e-9
    beam = beam_at(ref, x, y, z, np.ones_like(x), Q)
    E = SpaceChargeSolver("3D", [64, 64, 64], 2, 1.1, kind="openmp").self_fields(beam, ref)
    rho = Q / (4.0 / 3.0 * math.pi * a * b * c)
    A = ellipsoid_factors(a, b, ref.gamma * c)
    Ea = np.stack([rho / (2 * EPS0) * A[0] * x, rho / (2 * EPS0) * A[1] * y, rho / (2 * EPS0) * A[2] * z])
    interior = (x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2 < 0.8**2
    rms, mx = rel_errors(E[:, interior], Ea[:, interior])
    print(f"uniform ellipsoid 64^3 gamma={ref.gamma:.4f}: rms {rms:.2e} max {mx:.2e}")
    assert rms < 0.01
    assert mx < 0.02


@pytest.mark.slow
def test_gaussian_bunch_field_64() -> None:
    """A Gaussian bunch truncated at 3.5 sigma on a 64^3 grid (prob_relative 1.1), interior r < 3 sigma.
    The error is the (h/sigma)^2 smoothing of deposit, gradient and gather: ~0.6% rms here, ~1% when the grid
    spans +-4.4 sigma."""
    ref = proton(250.0)
    g = ref.gamma
    sig = np.array([1e-3, 0.7e-3, 1.4e-3])
    x, y, z = lattice(2 * 3.5 * sig * 1.1 / 64 / 1.3, 3.5 * sig)
    w = np.exp(-0.5 * ((x / sig[0]) ** 2 + (y / sig[1]) ** 2 + (z / sig[2]) ** 2))
    Q = 1e-9
    E = SpaceChargeSolver("3D", [64, 64, 64], 2, 1.1, kind="openmp").self_fields(beam_at(ref, x, y, z, w, Q), ref)
    r2 = (x / sig[0]) ** 2 + (y / sig[1]) ** 2 + (z / sig[2]) ** 2
    m = np.flatnonzero(r2 < 9.0)[:: max(1, int((r2 < 9.0).sum()) // 5000)]
    S2 = [sig[0] ** 2, sig[1] ** 2, (g * sig[2]) ** 2]  # rest frame: gamma times longer
    X = [x[m], y[m], g * z[m]]

    def integrand(lam: float) -> np.ndarray:
        d = [2 * s2 + lam for s2 in S2]
        ex = np.exp(-sum(Xi * Xi / di for Xi, di in zip(X, d, strict=False))) / math.sqrt(d[0] * d[1] * d[2])
        return np.concatenate([2 * Xi / di * ex for Xi, di in zip(X, d, strict=False)])

    L = max(S2)
    integral = integrate.quad_vec(lambda u: integrand(L * u / (1 - u)) * L / (1 - u) ** 2, 0, 1, epsrel=1e-10)[0]
    Ep = Q / (4 * math.pi**1.5 * EPS0) * integral.reshape(3, -1)
    Ea = np.stack([g * Ep[0], g * Ep[1], Ep[2]])
    rms, mx = rel_errors(E[:, m], Ea)
    print(f"Gaussian bunch 64^3: rms {rms:.2e} max {mx:.2e}")
    assert rms < 0.01
    assert mx < 0.02


@pytest.mark.parametrize("order", [1, 2, 3])
def test_uniform_cylinder_field_2d_64(order: int) -> None:
    ref = proton(6.7)
    a, b = 1e-3, 0.6e-3
    h = 2 * a * 1.1 / 64 / 1.7
    x, y = lattice(np.array([h, h]), np.array([a, a]))
    inside = (x / a) ** 2 + (y / b) ** 2 <= 1.0
    x, y = x[inside], y[inside]
    t = np.random.default_rng(1).uniform(-1e-3, 1e-3, x.size)
    beam = ParticleContainer(qm=ref.charge / ref.mass)
    zeros = np.zeros_like(x)
    lam = 1e-9  # sum(q w) taken per metre [C/m]
    beam.add_n_particles(x, y, t, zeros, zeros, zeros, qm=beam.qm, bunch_charge=lam)
    E = SpaceChargeSolver("2D", [64, 64, 1], order, 1.1, kind="openmp").self_fields(beam, ref)[:2]
    Ea = np.stack([lam * x / (math.pi * EPS0 * a * (a + b)), lam * y / (math.pi * EPS0 * b * (a + b))])
    interior = (x / a) ** 2 + (y / b) ** 2 < 0.8**2
    rms, mx = rel_errors(E[:, interior], Ea[:, interior])
    print(f"uniform elliptic cylinder 64^2 order {order}: rms {rms:.2e} max {mx:.2e}")
    assert rms < 0.005
    assert mx < 0.01


def test_3d_kick_units_against_analytic() -> None:
    """The kick of a slice: dp = q ds/(beta c) / (gamma^2 p0) * (Ex, Ey, gamma^2 Ez)_lab (ImpactX GatherAndPush),
    for a uniform sphere (E = rho r / (3 eps0) in the rest frame, gamma ~ 1 at 1 keV)."""
    ref = proton(1e-3)
    R = 1e-3
    x, y, z = lattice(np.full(3, 2 * R * 1.1 / 32 / 1.7), np.full(3, R))
    inside = x * x + y * y + z * z <= R * R
    x, y, z = x[inside], y[inside], z[inside]
    Q, ds = 1e-12, 0.01
    b = beam_at(ref, x, y, z, np.ones_like(x), Q)
    b0 = copy_beam(b)
    SpaceChargeSolver("3D", [32, 32, 32], 2, 1.1, kind="serial").kick(b, ref, ds)
    rho = Q / (4.0 / 3.0 * math.pi * R**3)
    p0 = ref.beta_gamma * ref.mass * constants.c
    expect = ref.charge * ds / (ref.beta * constants.c) / (ref.gamma**2 * p0) * rho / (3 * EPS0)
    core = x * x + y * y + z * z < (0.7 * R) ** 2
    dpx = (b.real[3] - b0.real[3])[core]
    assert np.sum(dpx * x[core]) / np.sum(x[core] ** 2) == pytest.approx(expect, rel=0.01)


# --- the tracking loop and the reference cases ----------------------------------------------------------
def test_simulation_drives_the_solver(kind: str) -> None:
    """Simulation.track_particles kicks before each slice: a cold beam in a drift gains outward momentum."""
    from beamtrack.engine import Simulation
    from beamtrack.engine.elements import Drift

    sim = Simulation(kind=kind, diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(10.0)
    rng = np.random.default_rng(2)
    c = rng.standard_normal((3, 2000)) * 1e-3
    zeros = np.zeros(2000)
    sim.beam.add_n_particles(
        c[0], c[1], c[2], zeros, zeros, zeros, qm=sim.reference.charge / sim.reference.mass, bunch_charge=1e-10
    )
    sim.space_charge = "3D"
    sim.n_cell = [16, 16, 16]
    sim.lattice.append(Drift(name="d", ds=1.0, nslice=4))
    sim.track_particles()
    assert sim._sc_solver is not None and sim._sc_solver.nsteps == 4
    px, x = sim.beam.host(sim.beam.real)[3], sim.beam.host(sim.beam.real)[0]
    assert np.sum(px * x) > 0


@pytest.mark.parametrize("mode", ["3D", "2.5D"])
def test_space_charge_tracking_same_on_every_kind(kind: str, mode: str) -> None:
    """The kind's space-charge backend (deposit, solve, gather, push) kicks as the serial one in a tracked
    FODO line: to 1e-11 of the largest kick (the C kernels' tolerance against the NumPy twin above;
    threaded deposits sum in another order)."""
    from beamtrack.engine import Simulation
    from beamtrack.engine.elements import Drift, Quad

    out = {}
    for k in ("serial", kind):
        sim = Simulation(kind=k, diagnostics=False)
        sim.reference.set_species("proton").set_kin_energy_MeV(10.0)
        rng = np.random.default_rng(4)
        r = rng.standard_normal((6, 2000)) * np.array([1e-3, 1e-3, 2e-3, 1e-5, 1e-5, 1e-5])[:, None]
        sim.beam.add_n_particles(*r, qm=sim.reference.charge / sim.reference.mass, bunch_charge=1e-10)
        sim.space_charge, sim.n_cell = mode, [16, 16, 16]
        sim.lattice.extend([Drift(ds=0.5, nslice=2), Quad(ds=0.3, k=2.0, nslice=2), Drift(ds=0.5, nslice=2)])
        sim.track_particles()
        out[k] = (r, sim.beam.host(sim.beam.real)[:6].copy())
    r, want = out["serial"]
    moved = np.abs(want[3:6] - r[3:6]).max()
    assert moved > 0
    np.testing.assert_allclose(out[kind][1], want, rtol=1e-11, atol=1e-11 * moved)
