"""Scan specs (beamtrack.spec.scan): paths into the JobSpec, grid/zip/list/random/lhs expansion,
every variant validated with its index and field path, the variant cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from beamtrack.spec import ScanSpec, SpecError, expand, parse_scan
from beamtrack.spec.scan import parse_path, set_path

pytestmark = pytest.mark.unit

FODO = Path(__file__).resolve().parents[2] / "examples" / "fodo.json"


def base() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FODO.read_text())
    return data


def scan(**kw: Any) -> ScanSpec:
    return parse_scan({"base": base(), **kw})


def errors(**kw: Any) -> list[dict[str, str]]:
    with pytest.raises(SpecError) as e:
        expand(parse_scan({"base": base(), **kw}))
    return e.value.errors


def test_paths_parse_and_set() -> None:
    assert parse_path("lattice.elements[name=quad1].k") == [
        ("key", "lattice"),
        ("key", "elements"),
        ("name", "quad1"),
        ("key", "k"),
    ]
    assert parse_path("lattice.elements[3].k")[2] == ("index", 3)
    doc = base()
    set_path(doc, "lattice.elements[name=monitor].backend", "h5x")
    assert [e["backend"] for e in doc["lattice"]["elements"] if e["type"] == "BeamMonitor"] == ["h5x"] * 6
    set_path(doc, "beam.bunch_charge_C", 2e-9)
    assert doc["beam"]["bunch_charge_C"] == 2e-9
    for bad, why in [
        ("lattice..k", "cannot read"),
        ("lattice.elements[3]", "ends with a field"),
        ("3.k", "starts with a field"),
        ("lattice.elements[x=1].k", "cannot read"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_path(bad)


def test_grid_is_the_product_first_parameter_slowest() -> None:
    out = expand(
        scan(parameters={"lattice.elements[name=quad1].k": [0.5, 1.0, 1.5], "beam.bunch_charge_C": [1e-9, 2e-9]})
    )
    assert len(out) == 6
    assert [v for v, _ in out][:2] == [
        {"lattice.elements[name=quad1].k": 0.5, "beam.bunch_charge_C": 1e-9},
        {"lattice.elements[name=quad1].k": 0.5, "beam.bunch_charge_C": 2e-9},
    ]
    values, spec = out[5]
    assert spec.lattice.elements[3].k == 1.5 and spec.beam.bunch_charge_C == 2e-9  # type: ignore[union-attr]
    assert spec.name == "fodo-5" and spec.lattice.elements[7].k == -1.0  # type: ignore[union-attr]


def test_zip_list_and_index_paths() -> None:
    out = expand(
        scan(mode="zip", parameters={"lattice.elements[3].k": [0.5, 0.7], "reference.kin_energy_MeV": [100.0, 200.0]})
    )
    assert [(s.lattice.elements[3].k, s.reference.kin_energy_MeV) for _, s in out] == [  # type: ignore[union-attr]
        (0.5, 100.0),
        (0.7, 200.0),
    ]
    out = expand(scan(mode="list", name="explicit", variants=[{"beam.npart": 10}, {"beam.npart": 20, "beam.seed": 4}]))
    assert [(s.beam.npart, s.beam.seed, s.name) for _, s in out] == [(10, 1, "explicit-0"), (20, 4, "explicit-1")]
    assert scan(mode="list", variants=[{"beam.npart": 10}, {"beam.seed": 4}]).paths() == ["beam.npart", "beam.seed"]


@pytest.mark.parametrize("mode", ["random", "lhs"])
def test_sampling_is_seeded_and_in_range(mode: str) -> None:
    params = {
        "lattice.elements[name=quad1].k": {"low": 0.5, "high": 1.5},
        "reference.kin_energy_MeV": {"low": 10.0, "high": 1000.0, "log": True},
        "beam.npart": {"low": 100, "high": 200, "integer": True},
    }
    a = expand(scan(mode=mode, samples=12, seed=3, parameters=params))
    b = expand(scan(mode=mode, samples=12, seed=3, parameters=params))
    c = expand(scan(mode=mode, samples=12, seed=4, parameters=params))
    assert [v for v, _ in a] == [v for v, _ in b] != [v for v, _ in c]
    ks = [v["lattice.elements[name=quad1].k"] for v, _ in a]
    assert all(0.5 <= k <= 1.5 for k in ks)
    assert all(10.0 <= v["reference.kin_energy_MeV"] <= 1000.0 for v, _ in a)
    assert all(isinstance(s.beam.npart, int) and 100 <= s.beam.npart <= 200 for _, s in a)
    if mode == "lhs":  # one sample in each of the 12 strata of every dimension
        assert sorted(int((k - 0.5) * 12) for k in ks) == list(range(12))


def test_invalid_values_name_variant_and_field() -> None:
    errs = errors(
        parameters={"lattice.elements[name=quad1].k": ["strong", 1.0], "reference.kin_energy_MeV": [-1.0, 5.0]}
    )
    locs = [e["loc"] for e in errs]
    assert locs[:4] == [
        "variants[0].reference.kin_energy_MeV",
        "variants[0].lattice.elements[3].k",
        "variants[1].lattice.elements[3].k",
        "variants[2].reference.kin_energy_MeV",
    ]
    assert errs[-1] == {"loc": "variants", "msg": "3 of 4 variants are invalid"}
    errs = errors(mode="list", variants=[{"beam.npart": 5}, {"beam.npart": -1}])
    assert errs == [{"loc": "variants[1].beam.npart", "msg": "Input should be greater than or equal to 0"}]


def test_bad_paths_and_inconsistent_modes_are_refused() -> None:
    errs = errors(
        parameters={"lattice.elements[name=nope].k": [1.0], "lattice.elements[30].k": [1.0], "beam.foo": [1.0]}
    )
    assert {e["loc"]: e["msg"] for e in errs} == {
        "parameters.lattice.elements[name=nope].k": "lattice.elements has no element named 'nope'",
        "parameters.lattice.elements[30].k": "lattice.elements has no item [30] (it has 11)",
        "parameters.beam.foo": "no field 'foo' at beam",
    }
    assert errors(mode="zip", parameters={"beam.seed": [1, 2], "beam.npart": [1]})[0]["loc"] == "parameters"
    assert errors(parameters={"beam.seed": {"low": 0, "high": 1}})[0] == {
        "loc": "parameters.beam.seed",
        "msg": "mode grid takes a list of values, not a range",
    }
    assert errors(mode="lhs", parameters={"beam.seed": {"low": 0, "high": 1}})[0]["loc"] == "samples"
    assert errors(mode="list")[0]["loc"] == "variants"
    assert errors(mode="random", samples=3, parameters={"beam.seed": {"low": 2, "high": 1}}) == [
        {"loc": "parameters.beam.seed", "msg": "low must be <= high"}
    ]
    assert errors(parameters={"beam.seed": []})[0]["loc"] == "parameters.beam.seed"
    with pytest.raises(SpecError) as e:
        parse_scan({"base": {**base(), "beam": {**base()["beam"], "npart": -3}}, "parameters": {"beam.seed": [1]}})
    assert e.value.errors[0]["loc"] == "base.beam.npart"


def test_variant_cap() -> None:
    s = scan(parameters={"beam.seed": list(range(100)), "beam.npart": list(range(1, 101))})
    assert s.count() == 10_000
    with pytest.raises(SpecError) as e:
        expand(s, max_variants=9_999)
    assert e.value.errors[0]["loc"] == "(scan)" and "10,000 variants" in e.value.errors[0]["msg"]
    assert len(expand(scan(parameters={"beam.seed": [1, 2, 3]}), max_variants=3)) == 3


def _whole(s: ScanSpec) -> list[Any]:
    """Each variant validated as a whole JobSpec (what expand did before its partial checks)."""
    from beamtrack.spec import load_spec

    out = []
    for i, values in enumerate(s.variant_values()):
        doc = s.base.model_dump(mode="json")
        for path, value in values.items():
            set_path(doc, path, value)
        doc["name"] = f"{(s.name or s.base.name)[:180]}-{i}"
        out.append(load_spec(doc))
    return out


@pytest.mark.parametrize(
    "kw",
    [
        {"parameters": {"lattice.elements[name=quad1].k": [0.5, 1.0], "beam.bunch_charge_C": [1e-9, 2e-9]}},
        {"parameters": {"beam.seed": [1, 2], "beam.npart": [10, 20.0]}},  # 20.0 becomes the int 20
        {"parameters": {"beam.distribution.lambdaX": [1e-5, 2e-5], "reference.kin_energy_MeV": [100, 200.5]}},
        {"parameters": {"lattice.periods": [1, 2], "diagnostics.slice_step_diagnostics": [False, True]}},
        {"parameters": {"lattice.elements[name=monitor].backend": ["h5", "json"], "workers": [1, 2]}},
        {"mode": "list", "variants": [{"lattice.elements[3].nslice": 3, "lattice.elements[1].ds": 0.5}]},
    ],
)
def test_partial_validation_gives_the_whole_validations_spec(kw: dict[str, Any]) -> None:
    """Each variant re-validates only what its paths change; the JobSpec, its dict and its
    canonical text are those of validating the variant whole (the reference: load_spec)."""
    from beamtrack.spec.scan import expand_variants
    from beamtrack.workers.cache import canonical_spec

    s = scan(**kw)
    for v, whole in zip(expand_variants(s), _whole(s), strict=True):
        assert v.spec.model_dump_json() == whole.model_dump_json()
        assert v.doc == whole.model_dump(mode="json")
        assert v.canonical == canonical_spec(whole.model_dump_json())


def test_partial_validation_refuses_what_the_whole_refuses() -> None:
    """Out-of-range, non-finite, wrongly typed values and a JobSpec-level rule (workers > 1 needs
    npart >= workers) are refused with the messages of a whole validation."""
    for params, loc, msg in [
        ({"beam.seed": [1.5]}, "variants[0].beam.seed", "fractional part"),
        ({"beam.distribution.lambdaX": [-1.0]}, "variants[0].beam.distribution.lambdaX", "greater than or equal"),
        ({"lattice.elements[name=quad1].k": ["x"]}, "variants[0].lattice.elements[3].k", "valid number"),
        ({"workers": [65]}, "variants[0].workers", "less than or equal to 64"),
        ({"workers": [8], "beam.npart": [4]}, "variants[0]", "needs beam.npart >= workers"),
    ]:
        errs = errors(parameters=params)
        assert errs[0]["loc"] == loc and msg in errs[0]["msg"], errs
    s = scan(parameters={"beam.seed": [1]})
    s.parameters["beam.bunch_charge_C"] = [float("inf")]  # JSON cannot carry it; a Python caller can
    with pytest.raises(SpecError) as e:
        expand(s)
    assert e.value.errors == [{"loc": "variants[0].beam.bunch_charge_C", "msg": "Input should be a finite number"}]
