"""The JobSpec (beamtrack.spec): every reference case parses; bad input is refused with the JSON path
of the field and the reason; JSON <-> model round trip is lossless."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from beamtrack.spec import JobSpec, SpecError, load_spec
from beamtrack.spec.elements import ELEMENT_MODELS

pytestmark = pytest.mark.unit

CASES = sorted((Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "cases").glob("*.json"))


def fodo() -> dict:
    return json.loads(next(c for c in CASES if c.stem == "fodo").read_text())["spec"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_reference_cases_parse_and_round_trip(case: Path) -> None:
    data = json.loads(case.read_text())["spec"]
    spec = load_spec(data)
    again = load_spec(spec.model_dump_json())
    assert again == spec
    assert load_spec(json.dumps(data)) == spec


def errors_of(data: dict) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        load_spec(data)
    return {e["loc"]: e["msg"] for e in info.value.errors}


@pytest.mark.parametrize(
    "mutate, loc, reason",
    [
        (lambda d: d.update(extra=1), "extra", "Extra inputs are not permitted"),
        (lambda d: d["beam"].update(npart=-5), "beam.npart", "greater than or equal to 0"),
        (lambda d: d["beam"].update(npart="many"), "beam.npart", "valid integer"),
        (lambda d: d["beam"]["distribution"].update(lambdaX=float("nan")), "beam.distribution.lambdaX", "finite"),
        (lambda d: d["beam"]["distribution"].update(muxpx=1.5), "beam.distribution.muxpx", "less than 1"),
        (lambda d: d["beam"]["distribution"].update(type="Banana"), "beam.distribution", "Banana"),
        (lambda d: d["beam"]["distribution"].pop("lambdaPt"), "beam.distribution", "lambdaPt"),
        (lambda d: d["lattice"]["elements"][3].update(k="strong"), "lattice.elements[3].k", "valid number"),
        # ds < 0 is valid (ImpactX runs the element backwards); a length must be finite
        (lambda d: d["lattice"]["elements"][1].update(ds=float("nan")), "lattice.elements[1].ds", "finite"),
        (
            lambda d: d["lattice"]["elements"][1].update(nslice=0),
            "lattice.elements[1].nslice",
            "greater than or equal to 1",
        ),
        (lambda d: d["lattice"]["elements"][1].update(colour="red"), "lattice.elements[1].colour", "Extra inputs"),
        (lambda d: d["lattice"]["elements"][2].update(type="Warp"), "lattice.elements[2]", "Warp"),
        (lambda d: d["lattice"].update(periods=0), "lattice.periods", "greater than or equal to 1"),
        (lambda d: d["reference"].update(species="muon"), "reference.species", "electron"),
        (lambda d: d["reference"].update(kin_energy_MeV=float("inf")), "reference.kin_energy_MeV", "finite"),
        (lambda d: d.update(space_charge={"mode": "3D", "n_cell": [8, 8]}), "space_charge.n_cell", "at least 3"),
        (lambda d: d.update(space_charge={"mode": "4D", "n_cell": [8, 8, 8]}), "space_charge.mode", "3D"),
        (lambda d: d.update(name="bad name/with slash"), "name", "pattern"),
        # a BeamMonitor's name becomes a file name: no path can be smuggled through it (issue 8)
        (lambda d: d["lattice"]["elements"][0].update(name="/tmp/x"), "lattice.elements[0].name", "pattern"),
        (
            lambda d: d["lattice"]["elements"][0].update(name="../../../j/diags/openPMD/monitor"),
            "lattice.elements[0].name",
            "pattern",
        ),
        (lambda d: d["lattice"]["elements"][0].update(name=".."), "lattice.elements[0].name", "pattern"),
        (lambda d: d["lattice"]["elements"][0].update(name="a\x00b"), "lattice.elements[0].name", "pattern"),
        (lambda d: d["lattice"]["elements"][0].update(name="m\x1b[31m"), "lattice.elements[0].name", "pattern"),
        (lambda d: d["lattice"]["elements"][0].update(name=""), "lattice.elements[0].name", "at least 1"),
        (lambda d: d["lattice"]["elements"][0].update(name="m" * 129), "lattice.elements[0].name", "at most 128"),
        (lambda d: d["lattice"]["elements"][1].update(name="d/1"), "lattice.elements[1].name", "pattern"),
    ],
)
def test_bad_field_is_named(mutate, loc: str, reason: str) -> None:
    data = fodo()
    mutate(data)
    errs = errors_of(data)
    assert loc in errs, errs
    assert reason.lower() in errs[loc].lower(), errs[loc]


def test_element_names_that_are_plain_file_names_are_accepted() -> None:
    data = fodo()
    for i, name in enumerate(["monitor", "QF.1", "d-2", "_m", "m+1"]):
        data["lattice"]["elements"][i]["name"] = name
    load_spec(data)


def test_several_errors_reported_at_once() -> None:
    data = fodo()
    data["beam"]["npart"] = -1
    data["lattice"]["elements"][3]["k"] = None
    assert {"beam.npart", "lattice.elements[3].k"} <= set(errors_of(data))


def test_cross_field_rules() -> None:
    data = fodo()
    data["space_charge"] = {"mode": "2D", "n_cell": [16, 16, 1]}
    assert "current_A" in " ".join(errors_of(data).values())
    data = fodo()
    data["reference"] = {"mass_MeV": 938.0, "kin_energy_MeV": 1.0}
    assert "charge_qe" in " ".join(errors_of(data).values())
    data = fodo()
    data["lattice"]["elements"][1]["aperture_x"] = 1e-3
    assert "aperture_y" in " ".join(errors_of(data).values())


def test_input_not_mutated_and_defaults_filled() -> None:
    data = fodo()
    before = copy.deepcopy(data)
    spec = load_spec(data)
    assert data == before
    assert isinstance(spec, JobSpec) and spec.lattice.elements[1].dx == 0.0


def test_every_element_model_has_a_type_tag() -> None:
    for name, model in ELEMENT_MODELS.items():
        assert model.model_fields["type"].default == name
