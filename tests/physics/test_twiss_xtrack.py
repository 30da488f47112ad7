"""twiss() against xtrack's ``Line.twiss(method="4d")`` (PyPI, 0.118) on the same lattices.

The element pairs are the same Hamiltonians, shown per particle to 1e-10 in test_xtrack_crosscheck.py:
ChrDrift <-> Drift(model="expanded"), ExactDrift <-> Drift(model="exact"), ChrQuad <->
Quadrupole(model="mat-kick-mat"), ExactSbend <-> Bend(model="bend-kick-bend", k0_from_h=True, no
edges), Multipole(m, K_normal, K_skew) <-> Multipole(knl, ksl) (both the MAD-X thin kick).

Expected numbers are xtrack's. Both codes take finite differences of tracked maps: beamtrack's at
eps = 1e-7 (its own truncation error, measured by halving eps, is < 1e-10 relative on these
lattices), xtrack's lattice functions at its W step ``step_W_sigma`` (default 0.01 sigma, about
1e-5 in x) and ``delta_disp`` (default 1e-5), whose truncation error is ~1e-8 relative on the
sextupole ring: the comparisons of lattice functions run xtrack with step_W_sigma = 1e-3 and
delta_disp = 1e-6 (xtrack's results then change by < 1e-9 when the steps shrink 3x further).
Chromaticity uses xtrack's defaults (delta_chrom = 5e-5 in both codes). Relative deviations of a
column are taken against the largest |value| of that column (alpha and dispersion cross zero).
Montague's chromatic functions are differences of betas at delta = +-5e-5 divided by 1e-4: a 1e-9
relative difference of the off-momentum betas (xtrack's steps) becomes ~1e-5 of the column, so
they are compared to 1e-5 of the column's largest value; dmux, dmuy (differences of phases) to 1e-6.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E
from beamtrack.engine.optics import TwissTable, UnstableMotionError

xt = pytest.importorskip("xtrack")

pytestmark = [pytest.mark.physics]

LQ, LD, K1, LB, PHI = 0.4, 1.1, 0.6, 1.5, 12.0
KD = 0.9 * K1  # unequal F and D quads: the FODO's two tunes differ, so a weak skew kick couples them weakly
XT_FINE = {"step_W_sigma": 1e-3, "delta_disp": 1e-6}
CHICANE_INIT = {"betx": 8.0, "alfx": -0.7, "bety": 12.0, "alfy": 1.1, "dx": 0.1, "dpx": -0.02}
COLUMNS = ["betx", "alfx", "gamx", "bety", "alfy", "gamy", "dx", "dpx", "mux", "muy"]


def _xt_bend(phi_deg: float, length: float = LB) -> Any:
    return xt.Bend(
        length=length,
        angle=math.radians(phi_deg),
        k0_from_h=True,
        model="bend-kick-bend",
        edge_entry_active=0,
        edge_exit_active=0,
    )


def fodo(skew: float = 0.0) -> tuple[list[E.Element], list[Any]]:
    """6 FODO cells (qx ~ 0.40, qy ~ 0.15) of chromatic quads and drifts (a skew quadrupole kick in the first cell when skew != 0)."""
    bt: list[E.Element] = []
    xl: list[Any] = []
    for c in range(6):
        bt += [E.ChrQuad(ds=LQ, k=K1, nslice=2), E.ChrDrift(ds=LD), E.ChrQuad(ds=LQ, k=-KD), E.ChrDrift(ds=LD)]
        xl += [
            xt.Quadrupole(length=LQ, k1=K1, model="mat-kick-mat"),
            xt.Drift(length=LD, model="expanded"),
            xt.Quadrupole(length=LQ, k1=-KD, model="mat-kick-mat"),
            xt.Drift(length=LD, model="expanded"),
        ]
        if skew and c == 0:
            bt.append(E.Multipole(multipole=2, K_skew=skew))
            xl.append(xt.Multipole(knl=[0.0, 0.0], ksl=[0.0, skew]))
    return bt, xl


def sextupole_ring() -> tuple[list[E.Element], list[Any]]:
    """4 cells with exact sector bends and two sextupole families next to the quads."""
    bt: list[E.Element] = []
    xl: list[Any] = []
    for _ in range(4):
        bt += [
            E.ChrQuad(ds=LQ, k=K1, nslice=2),
            E.ChrDrift(ds=LD),
            E.Multipole(multipole=3, K_normal=0.8),
            E.ExactSbend(ds=LB, phi=PHI, nslice=2),
            E.ExactDrift(ds=LD),
            E.ChrQuad(ds=LQ, k=-K1),
            E.ChrDrift(ds=LD),
            E.Multipole(multipole=3, K_normal=-1.3),
            E.ExactSbend(ds=LB, phi=PHI),
            E.ExactDrift(ds=LD),
        ]
        xl += [
            xt.Quadrupole(length=LQ, k1=K1, model="mat-kick-mat"),
            xt.Drift(length=LD, model="expanded"),
            xt.Multipole(knl=[0.0, 0.0, 0.8]),
            _xt_bend(PHI),
            xt.Drift(length=LD, model="exact"),
            xt.Quadrupole(length=LQ, k1=-K1, model="mat-kick-mat"),
            xt.Drift(length=LD, model="expanded"),
            xt.Multipole(knl=[0.0, 0.0, -1.3]),
            _xt_bend(PHI),
            xt.Drift(length=LD, model="exact"),
        ]
    return bt, xl


def chicane() -> tuple[list[E.Element], list[Any]]:
    """A four-bend chicane (+-4 deg exact bends) followed by a quad: a transfer line."""
    lb, ph = 0.5, 4.0
    bt = [
        E.ExactDrift(ds=1.0),
        E.ExactSbend(ds=lb, phi=ph),
        E.ExactDrift(ds=2.0),
        E.ExactSbend(ds=lb, phi=-ph),
        E.ChrDrift(ds=1.0),
        E.ExactSbend(ds=lb, phi=-ph),
        E.ExactDrift(ds=2.0),
        E.ExactSbend(ds=lb, phi=ph),
        E.ChrQuad(ds=0.3, k=0.5),
        E.ExactDrift(ds=1.0),
    ]
    xl = [
        xt.Drift(length=1.0, model="exact"),
        _xt_bend(ph, lb),
        xt.Drift(length=2.0, model="exact"),
        _xt_bend(-ph, lb),
        xt.Drift(length=1.0, model="expanded"),
        _xt_bend(-ph, lb),
        xt.Drift(length=2.0, model="exact"),
        _xt_bend(ph, lb),
        xt.Quadrupole(length=0.3, k1=0.5, model="mat-kick-mat"),
        xt.Drift(length=1.0, model="exact"),
    ]
    return bt, xl


CASES = {
    "fodo": (fodo, "proton", 250.0),
    "fodo_skew": (lambda: fodo(skew=0.02), "proton", 250.0),
    "sextupole_ring": (sextupole_ring, "proton", 250.0),
    "chicane": (chicane, "electron", 100.0),
}


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[TwissTable, Any, Any]]:
    """Per case: beamtrack's TwissTable, xtrack's fine-step twiss and (rings) its default twiss."""
    out = {}
    for name, (build, species, ekin) in CASES.items():
        bt, xl = build()
        sim = Simulation(kind="serial", diagnostics=False)
        sim.reference.set_species(species).set_kin_energy_MeV(ekin)
        sim.lattice.extend(bt)
        ref = sim.reference
        line = xt.Line(elements=xl, element_names=[f"e{i}" for i in range(len(xl))])
        mass_eV = ref.mass_MeV * 1e6
        line.particle_ref = xt.Particles(mass0=mass_eV, q0=ref.charge_qe, p0c=ref.beta_gamma * mass_eV)
        line.build_tracker()
        if name == "chicane":
            tw = sim.lattice.twiss(init=CHICANE_INIT)
            fine = line.twiss(
                method="4d",
                init=xt.TwissInit(**CHICANE_INIT),
                start="e0",
                end="_end_point",
                chrom=True,
                **XT_FINE,
            )
            default = None
        else:
            tw = sim.lattice.twiss()
            fine = line.twiss(method="4d", coupling_edw_teng=True, **XT_FINE)
            default = line.twiss(method="4d")
        out[name] = (tw, fine, default)
    return out


def _rel(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("case", list(CASES))
def test_rows_are_xtracks_boundaries(results: dict[str, Any], case: str) -> None:
    """One row per element entry plus the end point, at the same s as xtrack's table."""
    tw, fine, _ = results[case]
    assert len(tw) == len(fine.s)
    np.testing.assert_allclose(tw["s"], fine.s, rtol=0, atol=1e-12)
    assert tw["name"].iloc[-1] == "_end_point"


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("col", COLUMNS)
def test_lattice_functions_match_xtrack(results: dict[str, Any], case: str, col: str) -> None:
    """beta, alpha, gamma, dispersion (w.r.t. delta) and phase advance at every boundary to 1e-8 relative."""
    tw, fine, _ = results[case]
    if col in ("dx", "dpx") and case.startswith("fodo"):
        assert np.max(np.abs(tw[col])) < 1e-12 and np.max(np.abs(fine[col])) < 1e-9  # no bends: no dispersion
        return
    assert _rel(tw[col], fine[col]) < 1e-8


def test_coupling_betas_match_xtrack(results: dict[str, Any]) -> None:
    """With a skew quad the Mais-Ripken coupling betas betx2, bety1 are nonzero and match xtrack's to 1e-8."""
    tw, fine, _ = results["fodo_skew"]
    for col in ("betx1", "betx2", "bety1", "bety2"):
        assert _rel(tw[col], fine[col]) < 1e-8, col
    assert tw["betx2"].max() > 1e-3 * tw["betx"].max()
    tw0, fine0, _ = results["fodo"]
    assert tw0["betx2"].max() < 1e-20 and tw0["bety1"].max() < 1e-20


ET_COLUMNS = ["betx_edw_teng", "alfx_edw_teng", "bety_edw_teng", "alfy_edw_teng", "g_edw_teng"]
ET_R = ["r11_edw_teng", "r12_edw_teng", "r21_edw_teng", "r22_edw_teng"]


@pytest.mark.parametrize("case", ["fodo", "fodo_skew", "sextupole_ring"])
def test_edwards_teng_matches_xtrack(results: dict[str, Any], case: str) -> None:
    """Edwards-Teng betas, alphas, g and coupling matrix R to 1e-8 of xtrack's (coupling_edw_teng=True);
    without coupling R = 0, g = 1 and the Edwards-Teng betas are the Courant-Snyder ones (to 1e-10)."""
    tw, fine, _ = results[case]
    for col in ET_COLUMNS:
        assert _rel(tw[col], fine[col]) < 1e-8, col
    if case == "fodo_skew":
        for col in ET_R:
            assert _rel(tw[col], fine[col]) < 1e-8, col
        assert np.max(np.abs(tw["r12_edw_teng"])) > 0.1  # coupled: R does not vanish
    else:
        # 1e-10: the finite-difference maps through exact bends are symplectic to ~1e-11
        assert max(np.max(np.abs(tw[col])) for col in ET_R) < 1e-10
        np.testing.assert_allclose(tw["g_edw_teng"], 1.0, rtol=0, atol=1e-10)
        np.testing.assert_allclose(tw["betx_edw_teng"], tw["betx"], rtol=1e-10)


@pytest.mark.parametrize("case", ["fodo", "fodo_skew", "sextupole_ring"])
def test_tunes_match_xtrack(results: dict[str, Any], case: str) -> None:
    """Total tunes (integer part included) to 1e-9."""
    tw, fine, _ = results[case]
    assert abs(tw.qx - fine.qx) < 1e-9 and abs(tw.qy - fine.qy) < 1e-9


@pytest.mark.parametrize("case", ["fodo", "sextupole_ring"])
def test_chromaticity_matches_xtrack(results: dict[str, Any], case: str) -> None:
    """dQ/ddelta to 1e-6 against xtrack's default twiss (both: central difference at delta = +-5e-5).
    The sextupoles change dqx from its natural value, so the check is not of the quads alone."""
    tw, _, default = results[case]
    assert abs(tw.dqx - default.dqx) < 1e-6 and abs(tw.dqy - default.dqy) < 1e-6
    if case == "fodo":
        assert tw.dqx < 0 and tw.dqy < 0  # natural chromaticity of a FODO ring is negative
    else:
        assert abs(tw.dqx - results["fodo"][0].dqx) > 0.1


def test_momentum_compaction_matches_xtrack(results: dict[str, Any]) -> None:
    """alpha_c and the slip factor of the ring with bends to 1e-8 relative (xtrack's definitions)."""
    tw, _, default = results["sextupole_ring"]
    assert tw.momentum_compaction_factor == pytest.approx(default.momentum_compaction_factor, rel=1e-8)
    assert tw.slip_factor == pytest.approx(default.slip_factor, rel=1e-8)
    assert tw.momentum_compaction_factor > 0


def test_transfer_line_phase_starts_at_init(results: dict[str, Any]) -> None:
    """From given initial conditions the first row reproduces them."""
    tw = results["chicane"][0]
    for k, v in CHICANE_INIT.items():
        assert tw[k].iloc[0] == pytest.approx(v, rel=1e-12, abs=1e-14)
    assert tw["mux"].iloc[0] == 0.0


def test_unstable_lattice_is_reported() -> None:
    """A FODO with quads 10x too strong (thin-lens |cos mu| = |1 - L^2/(8 f^2)| > 1) has no periodic solution: a typed error, not NaN."""
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    sim.lattice.extend([E.Quad(ds=LQ, k=10 * K1), E.Drift(ds=LD), E.Quad(ds=LQ, k=-10 * K1), E.Drift(ds=LD)])
    with pytest.raises(UnstableMotionError):
        sim.lattice.twiss()


@pytest.mark.parametrize("case", ["fodo", "sextupole_ring", "chicane"])
def test_chromatic_functions_match_xtrack(results: dict[str, Any], case: str) -> None:
    """dmux, dmuy along s to 1e-6 and bx/ax/wx_chrom, by/ay/wy_chrom to 1e-5 of the column's largest
    value, against xtrack's chromatic properties (periodic, or from the transfer line's init)."""
    tw, fine, _ = results[case]
    for col in ("dmux", "dmuy"):
        assert np.max(np.abs(tw[col] - fine[col])) < 1e-6, col
    for col in ("bx_chrom", "ax_chrom", "wx_chrom", "by_chrom", "ay_chrom", "wy_chrom"):
        assert _rel(tw[col], fine[col]) < 1e-5, col
    assert np.max(np.abs(fine["wx_chrom"])) > 0.3  # the chromatic functions do not vanish here


def test_transfer_line_chromaticity_matches_xtrack(results: dict[str, Any]) -> None:
    """A transfer line's dqx, dqy (dmux, dmuy at its end, from the init moved to x0 + D0 delta) to
    1e-6 of xtrack's open-line chromaticity; finite, not NaN."""
    tw, fine, _ = results["chicane"]
    assert abs(tw.dqx - fine.dqx) < 1e-6 and abs(tw.dqy - fine.dqy) < 1e-6
    assert abs(tw.dqy) > 0.1  # the quad after the chicane: not a vanishing number


def test_ring_with_rf_needs_the_6d_method() -> None:
    """An RF cavity gives longitudinal motion that 4D optics leave out: the periodic 4D twiss refuses
    (NotImplementedError naming the element) and the default is the 6D method (test_twiss_6d_xtrack.py);
    method="6d" from initial conditions refuses; a transfer line is tracked (4D)."""
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    bt, _ = fodo()
    sim.lattice.extend([*bt, E.ShortRF(V=1e-3, freq=200e6, phase=-90.0, name="cav")])
    with pytest.raises(NotImplementedError, match="ShortRF cav"):
        sim.lattice.twiss(method="4d")
    assert sim.lattice.twiss(chromaticity=False).method == "6d"
    with pytest.raises(NotImplementedError, match="6d"):
        sim.lattice.twiss(init=CHICANE_INIT, method="6d")
    assert np.isfinite(sim.lattice.twiss(init=CHICANE_INIT).dqx)


def test_edwards_teng_of_equal_tunes_without_coupling() -> None:
    """A symmetric FODO (qx = qy: Delta = tr M - tr N = 0, where the R formula divides by ~0) has
    R = 0 and g = 1 without a warning (warnings are errors here)."""
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    sim.lattice.extend([E.Quad(ds=LQ, k=K1), E.Drift(ds=LD), E.Quad(ds=LQ, k=-K1), E.Drift(ds=LD)])
    tw = sim.lattice.twiss(chromaticity=False)
    assert abs(tw.qx - tw.qy) < 1e-12
    assert max(np.max(np.abs(tw[c])) for c in ("r11_edw_teng", "r12_edw_teng", "r21_edw_teng", "r22_edw_teng")) == 0
    np.testing.assert_allclose(tw["g_edw_teng"], 1.0, rtol=0, atol=1e-12)
