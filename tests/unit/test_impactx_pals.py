"""beamtrack.impactx's PALS reader (``lattice.load_file("x.pals.yaml")``, ``lattice.from_pals``): what it builds, and
the parameters it refuses where ImpactX 26.10 would drop them silently.

Where the expected values come from: ImpactX 26.10's PALS reader (``impactx/pals_to_impactx.py`` of the installed
impactx-noacc 26.10, read; the per-particle and error-message comparison with it is tests/oracle/test_pals_oracle.py):
Drift -> Drift / ChrDrift / ExactDrift by the model floor, Quadrupole -> ChrQuad / ExactQuad with k = Bn1 [T/m]
(unit 1) or Kn1 [1/m^2] (unit 0), ds = length, the PALS name and nslice. It reads nothing else of an element; the
refusals of what it does not read are beamtrack's rule (never drop a setting silently), checked here only.
"""

from __future__ import annotations

from pathlib import Path

import pals
import pytest
from beamtrack.impactx import ImpactX, elements


def make_sim() -> ImpactX:
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    sim.init_grids()
    return sim


def pals_file(tmp_path: Path, line: str, name: str = "t.pals.yaml") -> Path:
    """A PALS file of one beamline ``l`` whose line is ``line`` (YAML flow syntax)."""
    p = tmp_path / name
    p.write_text(f"PALS:\n  facility:\n    - l: {{kind: BeamLine, line: {line}}}\n")
    return p


def test_drift_and_quadrupoles_become_impactx_elements(tmp_path: Path) -> None:
    sim = make_sim()
    line = (
        "[{d: {kind: Drift, length: 0.5, MetaP: {description: 'documentation only'}}}, "
        "{q: {kind: Quadrupole, length: 0.2, MagneticMultipoleP: {Kn1: 1.5}}}, "
        "{g: {kind: Quadrupole, length: 0.3, MagneticMultipoleP: {Bn1: -2.0, Kn2: 0.0}}}]"
    )
    sim.lattice.load_file(pals_file(tmp_path, line), nslice=4)
    d, q, g = sim.lattice
    assert type(d) is elements.Drift and (d.name, d.ds, d.nslice) == ("d", 0.5, 4)
    assert type(q) is elements.ChrQuad and (q.name, q.ds, q.k, q.unit, q.nslice) == ("q", 0.2, 1.5, 0, 4)
    assert type(g) is elements.ChrQuad and (g.k, g.unit) == (-2.0, 1)
    sim.lattice.clear()
    sim.lattice.load_file(pals_file(tmp_path, line), min_model="exact")
    assert [type(el) for el in sim.lattice] == [elements.ExactDrift, elements.ExactQuad, elements.ExactQuad]


def test_from_pals_takes_pals_objects() -> None:
    sim = make_sim()
    quad = pals.Quadrupole(name="q", length=0.4, MagneticMultipoleP=pals.MagneticMultipoleParameters(Kn1=-0.7))
    sim.lattice.from_pals(
        pals.BeamLine(name="l", line=[pals.Drift(name="d", length=1.0), quad]), 2, min_model="paraxial"
    )
    assert [type(el) for el in sim.lattice] == [elements.ChrDrift, elements.ChrQuad]
    assert (sim.lattice[1].k, sim.lattice[1].nslice) == (-0.7, 2)


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("{d: {kind: Drift, length: 1.0, BodyShiftP: {x_offset: 0.001}}}", "BodyShiftP"),
        ("{d: {kind: Drift, length: 1.0, ApertureP: {x_limits: [-0.01, 0.01]}}}", "ApertureP"),
        ("{d: {kind: Drift, length: 1.0, ReferenceChangeP: {dE_ref: 1000000.0}}}", "ReferenceChangeP"),
        ("{q: {kind: Quadrupole, length: 1.0, MagneticMultipoleP: {Kn1: 1.0, tilt1: 0.1}}}", "tilt1"),
        ("{q: {kind: Quadrupole, length: 1.0, MagneticMultipoleP: {Kn1: 1.0, Kn2L: 0.3}}}", "Kn2L"),
        (
            "{q: {kind: Quadrupole, length: 1.0, MagneticMultipoleP: {Kn1: 1.0}, ElectricMultipoleP: {En1: 2.0}}}",
            "ElectricMultipoleP",
        ),
    ],
)
def test_parameters_impactx_does_not_read_raise_naming_them(tmp_path: Path, item: str, named: str) -> None:
    with pytest.raises(NotImplementedError, match=named):
        make_sim().lattice.load_file(pals_file(tmp_path, f"[{item}]"))


def test_a_line_with_a_body_shift_raises(tmp_path: Path) -> None:
    p = tmp_path / "shifted.pals.yaml"
    p.write_text(
        "PALS:\n  facility:\n    - l: {kind: BeamLine, BodyShiftP: {y_rot: 0.01}, line: [{d: {kind: Drift, length: 1}}]}\n"
    )
    with pytest.raises(NotImplementedError, match="BeamLine 'l': BodyShiftP"):
        make_sim().lattice.load_file(p)


def test_min_model_is_checked_and_madx_reads_linear_only(tmp_path: Path) -> None:
    madx = tmp_path / "t.madx"
    madx.write_text("BEAM, PARTICLE=ELECTRON;\nd: DRIFT, L=1;\nl: LINE=(d);\nUSE, SEQUENCE=l;\n")
    with pytest.raises(NotImplementedError, match="min_model='paraxial'"):
        make_sim().lattice.load_file(madx, min_model="paraxial")
    with pytest.raises(ValueError, match="min_model must be one of"):
        make_sim().lattice.load_file(madx, min_model="best")
