"""The one-pass C kernel of the reduced diagnostics (diagnostics/c/reduced_cpu.c, serial and OpenMP)
against its NumPy twin (two passes: means, then centred moments) on awkward beams: lost particles,
zero and uneven weights, NaN coordinates, spin, a block whose capacity exceeds its size: every column
agrees to 1e-12 relative. Where the twin itself loses digits (an offset 1e9 times the spread; identical
particles, where its rounded mean leaves a spurious spread), the kernel is checked against moments
taken in extended precision (np.longdouble, two passes) or the exact answer instead."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from beamtrack.engine import constants
from beamtrack.engine.diagnostics import reduced
from beamtrack.engine.diagnostics.reduced import (
    REDUCED_COLUMNS,
    SPIN_COLUMNS,
    characteristics_from_moments,
    reduced_beam_characteristics,
)
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart

pytestmark = pytest.mark.unit

KINDS = ["serial", "openmp"]


def _ref() -> RefPart:
    return RefPart().set_species("proton").set_kin_energy_MeV(250.0)


def _beam(coords: np.ndarray, weights: np.ndarray | None = None) -> ParticleContainer:
    pc = ParticleContainer(qm=constants.qe / (constants.mp_MeV / constants.MeV_per_kg))
    pc.add_n_particles(*coords, qm=pc.qm, bunch_charge=1e-9)
    if weights is not None:
        pc.real[6] = weights
    return pc


def _gauss(n: int, seed: int, offset: np.ndarray, spread: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((6, n))
    z[0] += 0.3 * z[3]  # correlations, so the off-diagonal moments are not ~0
    z[3] -= 0.2 * z[5]
    z[1] += 0.5 * z[5]
    return offset[:, None] + spread[:, None] * z


def _agree(c: dict[str, float], py: dict[str, float], rel: float = 1e-12) -> None:
    assert list(c) == list(py)
    for k, v in py.items():
        if math.isnan(v):
            assert math.isnan(c[k]), k
        else:
            assert c[k] == pytest.approx(v, rel=rel, abs=1e-300), k


def _kernel_row(pc: ParticleContainer, kind: str) -> dict[str, float]:
    assert reduced._c_sums(pc, kind, 2) is not None  # the C path runs, not a silent fall-back
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return reduced_beam_characteristics(pc, _ref(), kind=kind, nthreads=2)


def _check(pc: ParticleContainer, kind: str) -> dict[str, float]:
    c = _kernel_row(pc, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        py = reduced_beam_characteristics(pc, _ref(), kind="numpy")
    _agree(c, py)
    return c


def _extended(pc: ParticleContainer) -> dict[str, float]:
    """The row from moments taken in np.longdouble (two passes), rounded to float64 at the end."""
    alive = pc.state[: pc.size] == 0
    q = pc.real[:6, : pc.size][:, alive].astype(np.longdouble)
    w = pc.real[6, : pc.size][alive].astype(np.longdouble)
    m = (q * w).sum(axis=1) / w.sum()
    d = q - m[:, None]
    cov = (d * w) @ d.T / w.sum()
    src = pc.real[:6, : pc.size][:, alive]
    return characteristics_from_moments(
        float(w.sum()), m.astype(float), cov.astype(float), src.min(axis=1), src.max(axis=1), _ref()
    )


@pytest.mark.parametrize("kind", KINDS)
def test_ordinary_beam_with_uneven_weights(kind: str) -> None:
    coords = _gauss(10_007, 1, np.zeros(6), np.array([1e-3, 2e-3, 1e-4, 1e-4, 3e-4, 2e-3]))
    w = np.random.default_rng(2).uniform(0.1, 3.0, coords.shape[1])
    row = _check(_beam(coords, w), kind)
    assert list(row)[1:] == list(REDUCED_COLUMNS)


@pytest.mark.parametrize("kind", KINDS)
def test_large_offsets_and_tiny_spreads(kind: str) -> None:
    # offset/spread up to 1e9: a one-pass sum about 0 would lose every digit of the variance
    offset = np.array([3.0, -2.0, 1e3, 0.5, -0.7, 10.0])
    spread = np.array([1e-9, 3e-9, 1e-6, 1e-10, 2e-10, 1e-8])
    pc = _beam(_gauss(50_001, 3, offset, spread))
    c = _kernel_row(pc, kind)
    # not against the twin: its rounded mean shifts each second moment by the product of the mean
    # errors, 1e-10 of the small x-pt correlation here
    _agree(c, _extended(pc))
    assert c["sigma_x"] == pytest.approx(1e-9, rel=0.05)
    assert c["mean_t"] == pytest.approx(1e3, rel=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_lost_particles_first_and_scattered(kind: str) -> None:
    coords = _gauss(20_000, 4, np.full(6, 0.01), np.full(6, 1e-3))
    pc = _beam(coords)
    rng = np.random.default_rng(5)
    lost = rng.random(20_000) < 0.3
    lost[:9000] = True  # the sampled shift must come from the alive tail
    pc.state[lost] = 1
    pc.real[:6, lost] = np.nan  # what lost particles carry must not leak into the sums
    c = _check(pc, kind)
    assert c["mean_x"] == pytest.approx(float(np.mean(coords[0, ~lost])), rel=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_zero_weights(kind: str) -> None:
    coords = _gauss(3000, 6, np.zeros(6), np.full(6, 1e-3))
    w = np.ones(3000)
    w[::3] = 0.0
    _check(_beam(coords, w), kind)
    c = _check(_beam(coords, np.zeros(3000)), kind)  # all zero: NaN moments, real extrema, no warning
    assert math.isnan(c["mean_x"]) and c["max_x"] == coords[0].max() and c["charge_C"] == 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_identical_particles_have_zero_spread(kind: str) -> None:
    v = np.array([0.1, -0.3, 1e-3, 7e-4, 0.2, -1e-2])
    c = _kernel_row(_beam(np.tile(v[:, None], (1, 4099))), kind)
    for i, name in enumerate(("x", "y", "t", "px", "py", "pt")):
        assert c[f"mean_{name}"] == pytest.approx(v[i], rel=1e-15)
        assert c[f"sigma_{name}"] == 0.0 and c[f"min_{name}"] == c[f"max_{name}"] == v[i]
    assert c["emittance_x"] == c["emittance_y"] == c["emittance_t"] == 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_one_alive_particle_empty_beam_and_nan_coordinates(kind: str) -> None:
    coords = _gauss(700, 7, np.zeros(6), np.full(6, 1e-3))
    pc = _beam(coords)
    pc.state[:] = 1
    pc.state[456] = 0
    c = _kernel_row(pc, kind)
    assert c["mean_py"] == c["min_py"] == c["max_py"] == coords[4, 456] and c["sigma_py"] == 0.0
    pc.state[:] = 1
    c = _check(pc, kind)
    assert math.isnan(c["max_x"]) and c["charge_C"] == 0.0
    pc = _beam(coords.copy())
    pc.real[4, 123] = np.nan  # an alive NaN poisons its column's extrema, as numpy's min/max do
    c = _check(pc, kind)
    assert math.isnan(c["min_py"]) and math.isnan(c["max_py"]) and not math.isnan(c["min_x"])


@pytest.mark.parametrize("kind", KINDS)
def test_capacity_beyond_size_and_spin(kind: str) -> None:
    pc = _beam(_gauss(5000, 8, np.ones(6), np.full(6, 1e-4)))
    pc.add_n_particles(*_gauss(3001, 9, np.ones(6), np.full(6, 2e-4)), qm=pc.qm, bunch_charge=1e-9)
    assert pc.real.shape[1] >= pc.size
    pc.enable_spin()
    s = np.random.default_rng(10).normal([0.6, 0.0, 0.8], 0.01, (pc.size, 3)).T
    pc.real[7:10, : pc.size] = s
    c = _check(pc, kind)
    assert set(SPIN_COLUMNS) <= set(c)
    w = pc.real[6, : pc.size]
    assert c["mean_sz"] == pytest.approx(float(np.average(s[2], weights=w)), rel=1e-12)


def test_openmp_thread_counts_agree() -> None:
    pc = _beam(_gauss(100_003, 11, np.full(6, 5.0), np.full(6, 1e-5)))
    ref = _ref()
    one = reduced_beam_characteristics(pc, ref, kind="openmp", nthreads=1)
    for t in (2, 3, 7):
        _agree(reduced_beam_characteristics(pc, ref, kind="openmp", nthreads=t), one)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        reduced_beam_characteristics(_beam(np.zeros((6, 3))), _ref(), kind="fortran")


@pytest.mark.parametrize("kind", KINDS)
def test_c_characteristics_equal_the_python_rows_bit_for_bit(kind: str) -> None:
    """rbc_characteristics (what a pack's rows come from, engine.packed_diagnostics) against the
    reference, characteristics_from_moments of the same sums' moments, for 3,000 beams of 64
    particles: spreads from 1e-8 to 1, offsets up to 1e3, energies 0.1 MeV to 10 GeV, and beams with
    lost particles, none alive, one NaN coordinate, no pt spread, identical particles, and half with q
    and p so correlated that the emittances' last bits show. Every column of every beam must have the
    same bits (NaN where the reference has NaN). About 0.1 % of squares differ between libm's
    pow(c, 2), which NumPy's scalar ** 2 calls, and c * c: a kernel squaring with c * c fails here
    (checked by making that change: emittances of several beams differ)."""
    from beamtrack.engine.diagnostics.kernels import load_cpu

    k = load_cpu(kind)
    rng = np.random.default_rng(12)
    nv, n = 3000, 64
    real, state = np.empty((7, nv * n)), np.zeros(nv * n, np.int32)
    refs = []
    for v in range(nv):
        cols = slice(v * n, (v + 1) * n)
        mix = rng.normal(size=(6, 6)) * 10 ** rng.uniform(-8, 0, size=(6, 1))
        real[:6, cols] = mix @ rng.normal(size=(6, n)) + rng.normal(size=(6, 1)) * 10 ** rng.uniform(-6, 3)
        real[6, cols] = rng.uniform(0.5, 2.0, n)
        if v % 2:  # q and p strongly correlated: <q^2><p^2> - <q p>^2 cancels, so its last bits show
            real[3:6, cols] = 0.7 * real[:3, cols] + 1e-4 * real[3:6, cols]
        if v % 7 == 0:
            state[cols][rng.random(n) < 0.3] = 1
        if v % 11 == 0:
            state[cols] = 1
        if v % 13 == 0:
            real[5, cols] = 0.01
        if v % 17 == 0:
            real[0, v * n + 3] = np.nan
        if v % 19 == 0:
            real[:6, cols] = 1.5
        refs.append(RefPart().set_species("electron").set_kin_energy_MeV(10 ** rng.uniform(-1, 4)))
    sums = k.sums_batch(real, state, nv, n, 0, 1, 1)
    got = k.characteristics(sums, np.array([r.beta_gamma for r in refs]), np.array([r.charge for r in refs]))
    names = [c for c in REDUCED_COLUMNS if c != "s"]
    want = np.array([[row[c] for c in names] for row in map(_python_row, sums, refs)])
    same = (got.view(np.int64) == want.view(np.int64)) | (np.isnan(got) & np.isnan(want))
    bad = [(v, names[j], want[v, j], got[v, j]) for v, j in zip(*np.nonzero(~same), strict=True)]
    assert not bad, bad[:5]
    assert np.isnan(got[::11, 0]).all() and (got[::11, -1] == 0.0).all()  # the beams of no alive particle


def _python_row(s: np.ndarray, ref: RefPart) -> dict[str, float]:
    from beamtrack.engine.diagnostics.reduced import _moments_from_sums

    return characteristics_from_moments(*_moments_from_sums(s), ref)


def test_c_characteristics_refuse_mismatched_shapes() -> None:
    from beamtrack.engine.diagnostics.kernels import NOUT, load_cpu

    with pytest.raises(ValueError, match="beta_gamma"):
        load_cpu("serial").characteristics(np.zeros((3, NOUT)), np.ones(2), np.ones(3))
