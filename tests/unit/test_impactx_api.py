"""beamtrack.impactx: ImpactX 26.10's Python surface over the engine (names, meanings, strictness).

Where the expected values come from: ImpactX 26.10's Python API (signatures of impactx.elements.*,
``ImpactXParticleContainer.add_n_particles``: "qm: charge over mass in 1/eV"; ``twiss``: Courant-Snyder
ellipse lambda = sqrt(eps/gamma), lambda_p = sqrt(eps/beta), mu = alpha/sqrt(beta gamma)) and physics
(q/(m c^2) of the electron = -1 / 510998.95 eV; a drift of length L moves s by L).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine.distribution import Waterbag
from beamtrack.impactx import ImpactX, Map6x6, RefPart, distribution, elements, push, twiss
from beamtrack.impactx import amrex as amr

WB = dict(lambdaX=1e-4, lambdaY=1e-4, lambdaT=1e-3, lambdaPx=1e-5, lambdaPy=1e-5, lambdaPt=1e-3)


def make_sim() -> ImpactX:
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    sim.init_grids()
    sim.beam.ref.set_species("electron").set_kin_energy_MeV(100.0)
    return sim


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_level", 2),  # 1 is implemented where the refined patch is the whole domain
    ],
)
def test_unimplemented_options_raise_naming_them(name: str, value: object) -> None:
    sim = make_sim()
    with pytest.raises(NotImplementedError, match=name):
        setattr(sim, name, value)


def test_unknown_attribute_raises_and_off_values_are_accepted() -> None:
    sim = make_sim()
    with pytest.raises(AttributeError, match="no option 'isr_typo'"):
        sim.isr_typo = True
    with pytest.raises(AttributeError):
        _ = sim.not_an_option
    sim.isr, sim.csr, sim.spin, sim.poisson_solver = False, False, False, "fft"
    assert (sim.isr, sim.poisson_solver) == (False, "fft")
    with pytest.raises(RuntimeError, match="only available after init_envelope"):  # as ImpactX: no envelope set
        sim.track_envelope()


def test_implemented_options_map_onto_the_engine() -> None:
    sim = make_sim()
    sim.space_charge = "2p5D"
    sim.prob_relative = [1.2]
    sim.n_cell = [16, 16, 20]
    sim.space_charge_num_longitudinal_bins = 64
    assert (sim.space_charge, sim.prob_relative, sim.n_cell, sim.num_longitudinal_bins) == (
        "2.5D",
        1.2,
        [16, 16, 20],
        64,
    )
    sim.space_charge = False
    assert not sim.space_charge_enabled


def test_add_particles_fourth_argument_is_spin_not_seed() -> None:
    sim = make_sim()
    with pytest.raises(TypeError, match="spin_distr must be a spin distribution"):
        sim.add_particles(1e-9, distribution.Waterbag(**WB), 100, object())
    with pytest.raises(TypeError):
        distribution.SpinvMF()  # ImpactX's three mean-polarization components are required
    eng = Simulation(kind="serial", diagnostics=False)
    with pytest.raises(TypeError):
        eng.add_particles(1e-9, Waterbag(**WB), 10, 3)  # the engine's seed is keyword-only
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 100, distribution.SpinvMF(0.4, 0.5, 0.1))
    spin = sim.beam.to_df()[["spin_x", "spin_y", "spin_z"]].to_numpy()
    np.testing.assert_allclose(np.linalg.norm(spin, axis=1), 1.0, atol=1e-12)  # unit spins drawn
    sim.beam.clear_particles()
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 100, seed=5)
    assert sim.beam.total_number_of_particles() == 100


def test_qm_in_impactx_units() -> None:
    sim = make_sim()
    qm_eV = -1.0 / (sim.beam.ref.mass_MeV * 1e6)  # electron: q / (m c^2) [1/eV]
    z = np.zeros((6, 4))
    sim.beam.add_n_particles(*z, qm_eV, bunch_charge=1e-12)
    assert sim.beam.qm == sim.beam.ref.charge / sim.beam.ref.mass  # the engine keeps C/kg
    assert sim.beam.qm == pytest.approx(-1.75882001e11, rel=1e-8)  # e / m_e [C/kg]
    assert sim.beam.to_df()["qm"].iloc[0] == pytest.approx(qm_eV, rel=1e-14)
    assert sim.beam.to_df()["qm"].iloc[0] == pytest.approx(-1.0 / 510998.95, rel=1e-8)


def test_to_df_has_impactx_columns_idcpu_and_qm_as_impactx_stores_them() -> None:
    # expected: ImpactX 26.10 (impactx-noacc), measured: a 10 MeV proton beam from add_particles gives the
    # columns below, qm 95788331.43 C/kg (e / m_p) and idcpu 0x8000000001000000 for particle id 1
    sim = make_sim()
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(10.0)
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 3)
    df = sim.beam.to_df(local=True)
    assert list(df.columns) == [
        "idcpu",
        "position_x",
        "position_y",
        "position_t",
        "momentum_x",
        "momentum_y",
        "momentum_t",
        "spin_x",
        "spin_y",
        "spin_z",
        "qm",
        "weighting",
    ]
    assert df["idcpu"].dtype == np.uint64 and int(df["idcpu"].iloc[0]) == 0x8000000001000000
    ids = (df["idcpu"].to_numpy() >> np.uint64(24)) & np.uint64((1 << 39) - 1)
    assert ids.tolist() == [1, 2, 3]
    assert df["qm"].iloc[0] == pytest.approx(95788331.43000986, rel=1e-15)
    assert (df[["spin_x", "spin_y", "spin_z"]].to_numpy() == 0.0).all()


def test_clear_resets_the_reference_and_ids_keep_counting() -> None:
    # ImpactX 26.10: clear(keep_mass, keep_charge) empties the beam and resets the reference particle;
    # clear_particles() keeps it; AMReX's id counter continues (tests/oracle/impactx_runner.py relies on it)
    sim = make_sim()
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(10.0)
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 3)
    sim.beam.clear_particles()
    assert sim.beam.to_df() is None and sim.beam.ref.kin_energy_MeV == pytest.approx(10.0)
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 2)
    ids = (sim.beam.to_df()["idcpu"].to_numpy() >> np.uint64(24)) & np.uint64((1 << 39) - 1)
    assert ids.tolist() == [4, 5]
    mass = sim.beam.ref.mass_MeV
    sim.beam.clear(keep_mass=True, keep_charge=True)
    assert sim.beam.total_number_of_particles() == 0
    assert (sim.beam.ref.mass_MeV, sim.beam.ref.charge_qe) == (mass, 1.0)


def test_species_are_impactx_codata_2022_doubles() -> None:
    # expected: ImpactX 26.10 (impactx-noacc) RefPart().set_species(name).mass_MeV / .charge_qe, printed with repr
    impactx_26_10 = {
        "electron": (0.5109989506917532, -1.0),
        "positron": (0.5109989506917532, 1.0),
        "proton": (938.2720894282575, 1.0),
        "Hminus": (939.2940873296409, -1.0),
    }
    for name, (mass_MeV, charge_qe) in impactx_26_10.items():
        ref = RefPart().set_species(name)
        assert (ref.mass_MeV, ref.charge_qe) == (mass_MeV, charge_qe), name
    # ImpactX 26.10: RefPart.set_species("proton").qm_ratio_SI = 95788331.43000986 C/kg
    assert RefPart().set_species("proton").charge / RefPart().set_species("proton").mass == pytest.approx(
        95788331.43000986, rel=1e-15
    )


def test_beam_monitor_nonlinear_lens_invariants_are_settable() -> None:
    # ImpactX's BeamMonitor properties (examples/iota_lens): set after construction, ImpactX's defaults before
    monitor = elements.BeamMonitor("monitor", backend="h5")
    assert (monitor.nonlinear_lens_invariants, monitor.alpha, monitor.beta, monitor.tn, monitor.cn) == (
        False,
        0.0,
        1.0,
        0.4,
        0.01,
    )
    monitor.nonlinear_lens_invariants = True
    monitor.beta = 1.5
    assert monitor.nonlinear_lens_invariants and monitor.beta == 1.5
    with pytest.raises(ValueError, match="beta"):
        monitor.beta = -1.0


def test_beam_moments_have_impactx_deprecated_aliases() -> None:
    sim = make_sim()
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 100)
    m = sim.beam.beam_moments()
    assert m["sig_x"] == m["sigma_x"] and m["x_mean"] == m["mean_x"] and m["pt_max"] == m["max_pt"]


def test_tracking_element_is_the_element() -> None:
    sim = make_sim()
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 10)
    q = elements.Quad(0.5, 1.0, name="q1")
    d = elements.Drift(0.3, name="d1")
    sim.lattice.extend([d, q, d])
    seen: list[object] = []
    sim.hook["before_element"] = lambda s: seen.append(s.tracking_element)
    sim.track_particles()
    assert seen == [d, q, d] and sim.tracking_element_index == 2


def test_element_constructors_follow_impactx_order_and_defaults() -> None:
    d = elements.Drift(0.3, 1e-4, 0.0, 5.0, 0.0, 0.0, 4, "d")  # ds, dx, dy, rotation, aperture_x/y, nslice, name
    assert (d.ds, d.dx, d.rotation, d.nslice, d.name) == (0.3, 1e-4, 5.0, 4, "d")
    assert elements.DipEdge(0.1, 4.0, 0.02).K2 == 1.0  # ImpactX's default fringe-field integral
    edge = elements.DipEdge(0.1, 4.0, 0.02, 0.5, 0.3, 0.1, 0.8, 0.2, 0.0, 0.0, 0.0, "nonlinear", "exit")
    assert (edge.R, edge.K0, edge.K1, edge.K2, edge.K3, edge.location) == (0.5, 0.3, 0.1, 0.8, 0.2, "exit")
    assert elements.Aperture(1e-3, 1e-3, 2e-3, 3e-3, True).shift_odd_x  # aperture_x/y, repeat_x/y, shift_odd_x
    assert elements.Multipole(2, 1.0, 0.0, aperture_x=1e-3, aperture_y=2e-3).aperture_y == 2e-3  # thin apertures
    with pytest.raises(NotImplementedError, match="aperture_x"):
        elements.LinearMap(np.eye(6), aperture_x=1e-3, aperture_y=1e-3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        elements.Quad(1.0, 2.0, unit=1)  # ImpactX's Quad has no unit
    cf = elements.ExactCFbend(0.5, np.array([0.2, 1.0]), [0.0, 0.1], 0, 0.0, 0.0, 0.0, 0.0, 0.0, 4, 3, 2)
    assert (cf.k_normal, cf.k_skew, cf.int_order, cf.mapsteps, cf.nslice) == ([0.2, 1.0], [0.0, 0.1], 4, 3, 2)
    # ImpactX 26.10's orders: QuadEdge(k, unit, flag, ...), TaperedPL(k, taper, unit, ...), ChrAcc(ds, ez, bz, ...)
    qe = elements.QuadEdge(2.0, 1, "exit", 1e-4)
    assert (qe.k, qe.unit, qe.flag, qe.dx) == (2.0, 1, "exit", 1e-4)
    tp = elements.TaperedPL(0.3, 20.0, 1)
    assert (tp.k, tp.taper, tp.unit) == (0.3, 20.0, 1)
    acc = elements.ChrAcc(0.5, 0.02, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 3)
    assert (acc.ds, acc.ez, acc.bz, acc.nslice) == (0.5, 0.02, 0.3, 3)
    pa = elements.PolygonAperture(np.array([0.0, 1e-3, 0.0, 0.0]), [0.0, 0.0, 1e-3, 0.0], 1e-8, action="absorb")
    assert (pa.vertices_x, pa.min_radius2, pa.action) == ([0.0, 1e-3, 0.0, 0.0], 1e-8, "absorb")
    assert elements.TaperedPL(0.3, 20.0, aperture_x=1e-3, aperture_y=2e-3).aperture_x == 1e-3  # thin apertures
    assert elements.Empty().to_dict()["type"] == "Empty"


def test_twiss_against_courant_snyder() -> None:
    beta, alpha, eps = 2.8, -1.5, 2e-9
    p = twiss(beta_x=beta, beta_y=4.0, beta_t=0.5, emitt_x=eps, emitt_y=eps, emitt_t=2e-6, alpha_x=alpha)
    gamma = (1 + alpha**2) / beta
    assert p["lambdaX"] == pytest.approx(math.sqrt(eps / gamma), rel=1e-15)
    assert p["lambdaPx"] == pytest.approx(math.sqrt(eps / beta), rel=1e-15)
    assert p["muxpx"] == pytest.approx(alpha / math.sqrt(beta * gamma), rel=1e-15)
    assert p["muypy"] == 0.0
    distribution.Waterbag(**p)  # accepted as distribution keywords


def test_push_reference_and_beam_through_one_element() -> None:
    sim = make_sim()
    sim.add_particles(1e-9, distribution.Waterbag(**WB), 10, seed=1)
    ref = sim.beam.ref.copy()
    push(ref, elements.Drift(1.25))
    assert ref.s == pytest.approx(1.25, rel=1e-15)
    x0 = np.array(sim.beam.x) + 0.5 * np.array(sim.beam.px)  # drift: x += L px (paraxial, pt = 0 part)
    push(sim.beam, elements.Drift(0.5))
    assert sim.beam.ref.s == pytest.approx(0.5, rel=1e-15)
    assert np.allclose(sim.beam.x, x0, rtol=0, atol=1e-9)


def test_amrex_stand_in() -> None:
    amr.initialize(["amrex.verbose=0"])
    pp = amr.ParmParse("amrex")
    pp.add("the_arena_init_size", 0)
    assert pp.get("the_arena_init_size") == 0 and pp.get("verbose") == "0"
    # ImpactX reads its own options from ParmParse too; beamtrack reads sim's attributes, so these would be ignored
    with pytest.raises(NotImplementedError, match=r"amr\.max_level set through amrex\.ParmParse"):
        amr.ParmParse("amr").add("max_level", 1)
    with pytest.raises(NotImplementedError, match=r"algo\.space_charge"):
        amr.ParmParse("algo").addarr("space_charge", ["3D"])
    with pytest.raises(NotImplementedError, match=r"geometry\.prob_relative"):
        amr.initialize(["geometry.prob_relative=3.0"])
    assert amr.ParallelDescriptor.IOProcessor() and amr.ParallelDescriptor.NProcs() == 1
    m = Map6x6.identity()
    m[1, 2] = 0.5  # 1-based, as AMReX's SmallMatrix
    assert m.to_numpy()[0, 1] == 0.5 and m[6, 6] == 1.0
    lm = elements.LinearMap(m, ds=0.1)
    assert lm.R[0][1] == 0.5
    amr.finalize()


def test_vector3_is_a_one_index_small_matrix() -> None:
    """ImpactX's ``Vector3`` is AMReX's SmallMatrix_3x1 with one 1-based index (examples/spin_tracking/run_spin_map.py
    sets ``v[2] = ...``); SpinMap reads it as (vx, vy, vz)."""
    from beamtrack.impactx import Map3x6, Vector3

    v = Vector3()
    v[2] = 2.5
    assert v.to_numpy().shape == (3, 1) and v[2] == 2.5 and v[2, 1] == 2.5 and v[1] == 0.0
    with pytest.raises(IndexError, match="out of range"):
        v[4] = 1.0
    with pytest.raises(TypeError, match="two indices"):
        Map3x6()[1]
    A = Map3x6()
    A[1, 4] = 1.5
    sm = elements.SpinMap(v=v, A=A)
    assert list(sm.v) == [0.0, 2.5, 0.0] and sm.A[0][3] == 1.5


def test_coordinate_transformation_round_trip_and_its_guards() -> None:
    """To fixed t and back gives the particles back (to round-off: the two maps are inverses, ImpactX's ToFixedT /
    ToFixedS); the container remembers its system, a second transform into it raises as ImpactX's assert does; lost
    particles are not moved. Per particle against ImpactX: tests/oracle/test_impactx_scripts.py."""
    from beamtrack.impactx import CoordSystem, coordinate_transformation

    sim = ImpactX()
    sim.init_grids()
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(50.0)
    rng = np.random.default_rng(3)
    cols = [rng.normal(0.0, s, 500) for s in (1e-3, 1e-3, 2e-3, 2e-3, 2e-3, 5e-3)]
    ref = sim.beam.ref
    sim.beam.add_n_particles(*cols, ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-10)
    pc = sim.particle_container()
    pc.state[:10] = 1  # lost
    before = pc.real[:6].copy()
    coordinate_transformation(pc, CoordSystem.t)
    moved = pc.real[:6]
    assert np.array_equal(moved[:, :10], before[:, :10])
    assert not np.allclose(moved[2, 10:], before[2, 10:])  # t -> z = beta t at first order
    with pytest.raises(ValueError, match="Already in fixed t coordinates"):
        coordinate_transformation(pc, CoordSystem.t)
    coordinate_transformation(pc, CoordSystem.s)
    scale = np.abs(before).max(axis=1, keepdims=True)
    # measured 6e-14: pt and pz are differences of square roots of order beta gamma (0.33) over 5e-3 spreads
    assert (np.abs(pc.real[:6] - before) / scale).max() < 1e-12
    with pytest.raises(TypeError, match="CoordSystem"):
        coordinate_transformation(pc, "t")
