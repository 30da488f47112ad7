"""beamtrack.impactx: MAD-X reading, ``lattice.select``, ``fourier_coefficients``, ``LinearMap.symplectic``, the
particle iterator of ``Programmable.beam_particles`` and ``track_reference``'s output.

Where the expected values come from: MAD-X's conventions (BEAM ENERGY is the total energy [GeV], 1 GeV by
default; SBEND rc = L / ANGLE; TILT in rad), ImpactX 26.10's documentation of ``select`` (OR within a call, AND
when chained; regex when the string holds a regex character; a view is invalid once the lattice is edited), of
``LinearMap.symplectic`` (max |R^T J R - J| <= 1e-10) and of ``fourier_coefficients`` (the trapezoidal rule of
(2/L) int f cos(2 pi j (z - zmid)/L) dz: for f = cos(2 pi (z - zmid)/L) exactly cos_1 = 1, all others 0 up to
round-off, on an even grid). The per-particle checks against ImpactX itself are in
tests/oracle/test_impactx_scripts.py (madx_line.py, python_elements.py, field_data.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from beamtrack.impactx import ImpactX, Map6x6, RefPart, elements, fourier_coefficients, read_beam

MADX = """
/* comment */ TITLE, 'x';
len = 2 * 0.25;  k := 1.5^2;
BEAM, PARTICLE=ELECTRON, ENERGY=0.1;
d: drift, L=len;
q: QUADRUPOLE, L=0.3, K1=k, TILT=pi/180;
b: sbend, L=1.0, ANGLE=0.1;
m: monitor;
cell: LINE=(q, d, b);
ring: LINE=(m, 2*cell, 2*(d));
USE, PERIOD=ring;
"""


def write(tmp_path: Path, text: str, name: str = "t.madx") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def make_sim() -> ImpactX:
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    sim.init_grids()
    return sim


def test_madx_beam_sets_total_energy_species_and_default(tmp_path: Path) -> None:
    ref = RefPart().load_file(write(tmp_path, MADX))
    assert ref.charge_qe == -1.0
    assert ref.mass_MeV == pytest.approx(0.51099895, rel=1e-9)
    assert ref.kin_energy_MeV + ref.mass_MeV == pytest.approx(100.0, rel=1e-14)
    ref = RefPart().load_file(write(tmp_path, "BEAM, PARTICLE=PROTON;\n", "p.madx"))
    assert ref.kin_energy_MeV + ref.mass_MeV == pytest.approx(1000.0, rel=1e-14)  # MAD-X's default ENERGY = 1 GeV
    assert ref.charge_qe == 1.0
    assert read_beam(RefPart(), tmp_path / "t.madx").kin_energy_MeV == pytest.approx(100.0 - 0.51099895, rel=1e-9)


def test_madx_line_expands_expressions_repeats_and_names(tmp_path: Path) -> None:
    sim = make_sim()
    sim.lattice.load_file(write(tmp_path, MADX), nslice=4)
    kinds = [type(el).__name__ for el in sim.lattice]
    assert kinds == ["BeamMonitor", "Quad", "Drift", "Sbend", "Quad", "Drift", "Sbend", "Drift", "Drift"]
    q, d, b = sim.lattice[1], sim.lattice[2], sim.lattice[3]
    assert (q.k, q.ds, q.nslice) == (pytest.approx(2.25), 0.3, 4)
    assert q.rotation == pytest.approx(1.0)  # TILT = pi/180 rad -> 1 degree
    assert d.ds == 0.5 and d.name == "d"
    assert b.rc == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("BEAM, PARTICLE=ELECTRON;\nx: RFCAVITY, L=1;\nl: LINE=(x);\nUSE, SEQUENCE=l;", "RFCAVITY"),
        (
            "BEAM, PARTICLE=ELECTRON;\nq: QUADRUPOLE, L=1, K1=1, APERTURE=0.1;\nl: LINE=(q);\nUSE, SEQUENCE=l;",
            "APERTURE",
        ),
        ("BEAM, PARTICLE=ELECTRON, BV=-1;\nd: DRIFT, L=1;\nl: LINE=(d);\nUSE, SEQUENCE=l;", "BV"),
        ("BEAM, PARTICLE=ELECTRON;\nSEQUENCE, L=10;\n", "SEQUENCE"),
        ("BEAM, PARTICLE=ELECTRON;\nd: DRIFT, L=1;\nl: LINE=(-d);\nUSE, SEQUENCE=l;", "reflected"),
    ],
)
def test_madx_what_is_not_read_raises_naming_it(tmp_path: Path, text: str, match: str) -> None:
    sim = make_sim()
    with pytest.raises(NotImplementedError, match=match):
        sim.lattice.load_file(write(tmp_path, text))


def test_lattice_load_file_other_formats(tmp_path: Path) -> None:
    sim = make_sim()
    with pytest.raises(RuntimeError, match="No support"):
        sim.lattice.load_file(write(tmp_path, "", "fodo.seq"))
    with pytest.raises(NotImplementedError, match="min_model"):
        sim.lattice.load_file(write(tmp_path, MADX), min_model="exact")


def test_select_or_within_and_when_chained_views_edit_the_lattice() -> None:
    sim = make_sim()
    d1, q1 = elements.Drift(ds=1.0, name="d1"), elements.Quad(ds=0.5, k=1.0, name="quad1")
    q2, mon = elements.Quad(ds=0.5, k=-1.0, name="quad2"), elements.BeamMonitor("mon")
    sim.lattice.extend([mon, d1, q1, d1, q2])
    assert len(sim.lattice.select(kind="Quad", name="d1")) == 4
    assert list(sim.lattice.select(kind=["Drift", elements.BeamMonitor])) == [mon, d1, d1]
    assert list(sim.lattice.select(name=r"quad\d")) == [q1, q2]
    assert list(sim.lattice.select(kind="Quad").select(name="quad2")) == [q2]
    assert len(sim.lattice.select(kind=r".*Quad")) == 2
    sim.lattice.select(name="quad1")[0].k = 3.0
    assert sim.lattice[2].k == 3.0
    assert sim.lattice.count_by_kind("Drift") == 2 and sim.lattice.has_kind(elements.Quad)
    view = sim.lattice.select(kind="Drift")
    sim.lattice.append(elements.Drift(ds=0.1))
    with pytest.raises(RuntimeError, match="no longer valid"):
        view[0]
    sim.lattice.select(kind="Drift").delete()
    assert list(sim.lattice) == [mon, q1, q2]
    with pytest.raises(TypeError):
        sim.lattice.select(kind=3)
    sim.lattice = [d1, q2]  # ImpactX's sim.lattice is assignable: still a KnownElementsList of this simulation
    assert isinstance(sim.lattice, elements.KnownElementsList) and list(sim.lattice.select(kind="Quad")) == [q2]
    standalone = elements.KnownElementsList()  # ImpactX's list type, also without a simulation
    standalone.extend([d1, q1])
    assert isinstance(sim.lattice, elements.KnownElementsList) and list(standalone.select(kind="Quad")) == [q1]


def test_fourier_coefficients_of_one_harmonic() -> None:
    z = np.linspace(-0.2, 0.8, 401)
    c, s = fourier_coefficients(z, np.cos(2 * math.pi * (z - 0.3)), 5)
    expected = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(c, expected, atol=1e-12)
    np.testing.assert_allclose(s, 0.0, atol=1e-12)


def test_field_data_constructors_need_all_three_and_not_both() -> None:
    z = np.linspace(0.0, 1.0, 11)
    with pytest.raises(ValueError, match="all three"):
        elements.RFCavity(ds=1.0, escale=1.0, freq=1e8, phase=0.0, z=z, ncoef=4)
    with pytest.raises(ValueError, match="not both"):
        elements.SoftQuadrupole(
            ds=1.0, gscale=1.0, cos_coefficients=[1.0], sin_coefficients=[0.0], z=z, gradient_on_axis=z, ncoef=3
        )
    sol = elements.SoftSolenoid(ds=1.0, bscale=1.0, z=z, field_on_axis=np.ones(11), ncoef=3)
    np.testing.assert_allclose(sol.cos_coefficients, [2.0, 0.0, 0.0], atol=1e-12)


def test_linear_map_symplectic_at_impactx_tolerance() -> None:
    R = Map6x6.identity()
    R[1, 2] = 2.0
    assert elements.LinearMap(R=R, ds=2.0).symplectic
    R[1, 1] = 1.0 + 5e-11  # |R^T J R - J| = 5e-11
    assert elements.LinearMap(R=R).symplectic
    R[1, 1] = 1.0 + 2e-10
    assert not elements.LinearMap(R=R).symplectic


def test_particle_iterator_views_and_only_the_alive() -> None:
    """ImpactX's pti holds the particles alive; without ref_particle ImpactX 26.10 does not move the reference
    (its Programmable prints "NO HOOK"; per particle and reference against ImpactX: python_elements.py)."""
    sim = make_sim()
    sim.beam.ref.set_species("electron").set_kin_energy_MeV(100.0)
    x = np.array([0.0, 1e-3, 2e-3, 3e-3])
    z = np.zeros(4)
    qm = sim.beam.ref.charge_qe / (sim.beam.ref.mass_MeV * 1e6)
    sim.beam.add_n_particles(x, z, z, z, z, z, qm, bunch_charge=1e-12)
    seen: list[np.ndarray] = []

    def kick(pti: object, ref: object) -> None:
        soa = pti.soa().to_xp()  # type: ignore[attr-defined]
        assert list(soa.real) == pti.soa().real_names  # type: ignore[attr-defined]
        seen.append(soa.real["position_x"].copy())
        soa.real["momentum_x"][:] += 1e-3
        with pytest.raises(ValueError):
            soa.real["qm"][:] = 0.0

    pge = elements.Programmable(name="kick")
    pge.ds = 0.5
    pge.beam_particles = kick
    sim.lattice.extend([elements.Aperture(aperture_x=2.5e-3, aperture_y=1.0), pge])
    with pytest.warns(RuntimeWarning, match="no ref_particle"):
        sim.track_particles()
    assert sim.beam.ref.s == 0.0  # no ref_particle: ImpactX leaves the reference where it is
    np.testing.assert_array_equal(seen[0], [0.0, 1e-3, 2e-3])  # the particle at 3 mm was lost at the aperture
    px = sim.beam.real[3]
    np.testing.assert_array_equal(px, [1e-3, 1e-3, 1e-3, 0.0])


def test_track_reference_writes_impactx_reference_files(tmp_path: Path) -> None:
    sim = ImpactX(kind="serial", output_dir=tmp_path)
    sim.slice_step_diagnostics = True
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_species("proton").set_kin_energy_MeV(10.0)
    sim.lattice.extend([elements.Drift(ds=0.4, nslice=2), elements.Drift(ds=0.1)])
    sim.track_reference(ref)
    rows = np.loadtxt(tmp_path / "diags" / "ref_particle.0", skiprows=1)
    np.testing.assert_allclose(rows[:, 0], [0, 1, 2, 3])
    np.testing.assert_allclose(rows[:, 1], [0.0, 0.2, 0.4, 0.5])
    final = np.loadtxt(tmp_path / "diags" / "ref_particle_final.0", skiprows=1)
    assert final[0] == 3 and final[1] == pytest.approx(0.5)


def test_openpmd_ids_packed_as_amrex_idcpu_and_read_back_either_way() -> None:
    """AMReX_Particle.H's idcpu: bit 63 valid, the id in bits 24..62, the cpu (0 here) in bits 0..23; ImpactX 26.10's
    first particle (id 1) is written as 2^63 + 2^24 = 9223372036871553024 (read from its FODO example's monitor)."""
    from beamtrack.engine.diagnostics.openpmd import pack_idcpu, unpack_ids

    ids = np.array([1, 2, 10_000, (1 << 39) - 1], dtype=np.uint64)
    packed = pack_idcpu(ids)
    assert int(packed[0]) == 9223372036871553024
    np.testing.assert_array_equal(unpack_ids(packed), ids.astype(np.int64))
    np.testing.assert_array_equal(unpack_ids(ids), ids.astype(np.int64))  # beamtrack engine files: plain ids
    assert ImpactX(kind="serial").openpmd_packed_ids


def _sc_sim(mode: str) -> ImpactX:
    sim = make_sim()
    sim.space_charge = mode
    sim.poisson_solver = "fft"
    sim.n_cell = [8, 8, 8]
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(10.0)
    rng = np.random.default_rng(1)
    c = [rng.normal(0.0, s, 500) for s in (1e-3, 1e-3, 1e-3, 1e-5, 1e-5, 1e-5)]
    sim.beam.add_n_particles(*c, sim.beam.ref.charge_qe / (sim.beam.ref.mass_MeV * 1e6), bunch_charge=1e-10)
    return sim


def test_space_charge_grids_from_hooks() -> None:
    """Shapes as ImpactX's (n_cell + 1 valid nodes, ghosts 2 / 1 / 2); the charge on the valid nodes times the cell
    volume is the bunch charge (rho in C/m^3: every particle deposits inside the domain); a write lasts until the
    next solve; level 0 only. The values against ImpactX: tests/oracle/test_impactx_scripts.py (2D / 2.5D:
    tests/unit/test_impactx_sc_grids_2d.py, tests/oracle/test_sc_grids_2d_oracle.py)."""
    sim = _sc_sim("3D")
    with pytest.raises(RuntimeError, match="first space-charge kick"):
        sim.rho(0)
    seen: dict[str, object] = {}

    def before_slice(sim: ImpactX) -> None:
        if "kicked" in seen:  # the second slice: the grid of the first slice's solve, with the write
            seen["after_write"] = float(sim.rho(0).to_numpy()[0][0, 0, 0, 0])

    def after_element(sim: ImpactX) -> None:
        if "kicked" in seen:
            seen["next_solve"] = float(sim.rho(0).to_numpy()[0][0, 0, 0, 0])
            return
        rho = sim.rho(0)
        assert rho.shape == (9, 9, 9, 1) and rho.n_grow_vect == (2, 2, 2)
        assert sim.phi(0).shape_with_ghosts == (11, 11, 11, 1)
        assert sim.space_charge_field(0, "z").array(next(iter(rho))).to_numpy().shape == (13, 13, 13, 1)
        cell = sim._sc_solver.cell
        seen["charge"] = rho.sum() * float(np.prod(cell))
        rho.array(next(iter(rho))).to_numpy()[0, 0, 0, 0] = 7.0
        seen["kicked"] = True
        with pytest.raises(IndexError):
            sim.phi(1)

    sim.hook["before_slice"] = before_slice
    sim.hook["after_element"] = after_element
    sim.lattice.extend([elements.Drift(ds=0.01), elements.Drift(ds=0.01)])
    sim.track_particles()
    assert seen["charge"] == pytest.approx(1e-10, rel=1e-12)
    assert seen["after_write"] == 7.0 and seen["next_solve"] == 0.0


def test_lattice_list_methods_as_impactx() -> None:
    sim = make_sim()
    assert sim.lattice.is_empty() and sim.lattice.size() == 0
    d = elements.Drift(ds=1.0)
    sim.lattice.extend([elements.Marker("m"), d])
    assert sim.lattice.size() == 2 and sim.lattice.pop_back() is d and sim.lattice.size() == 1
    with pytest.raises(NotImplementedError, match="to_dicts"):
        sim.lattice.to_dicts()
    with pytest.raises(NotImplementedError, match="replace_each"):
        sim.lattice.select(kind="Marker").replace_each(d)
    with pytest.raises(AttributeError):
        sim.lattice.no_such_method  # noqa: B018
    with pytest.raises(NotImplementedError, match="order"):
        sim.lattice.transfer_map(sim.beam.ref, order="second")
    with pytest.raises(NotImplementedError, match="fallback_identity_map"):
        sim.lattice.transfer_map(sim.beam.ref, fallback_identity_map=True)
