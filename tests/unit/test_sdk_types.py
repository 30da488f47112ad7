"""The SDK takes the project's own types; element classes show their parameters; physics preconditions
raise clear, typed errors (issue 14)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import httpx
import pytest
from beamtrack.client import Client
from beamtrack.client.rest import load_spec_arg
from beamtrack.engine import Simulation, distribution
from beamtrack.engine import elements as E
from beamtrack.engine.elements import BUILTIN_ELEMENTS
from beamtrack.engine.refpart import ReferenceEnergyError, RefPart
from beamtrack.spec import JobSpec, load_spec

FODO = Path(__file__).resolve().parents[2] / "examples" / "fodo.json"


def _sim() -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("electron").set_kin_energy_MeV(2000.0)
    sim.add_particles(
        1e-9,
        distribution.Waterbag(
            lambdaX=4e-5, lambdaY=4e-5, lambdaT=1e-3, lambdaPx=2.7e-5, lambdaPy=2.7e-5, lambdaPt=2e-3
        ),
        10,
        seed=3,
    )
    sim.lattice.extend([E.Drift(ds=0.25, name="d1"), E.Quad(1.0, 1.0, nslice=4), E.Drift(ds=0.25)])
    return sim


def test_load_spec_arg_takes_jobspec_simulation_dict_and_path() -> None:
    spec = load_spec(FODO.read_text())
    assert JobSpec.model_validate(load_spec_arg(spec)) == spec
    assert JobSpec.model_validate(load_spec_arg(FODO)) == spec
    sim = _sim()
    assert JobSpec.model_validate(load_spec_arg(sim)) == sim.to_spec()
    assert load_spec_arg(sim.to_spec().model_dump(mode="json")) == load_spec_arg(sim)
    with pytest.raises(TypeError, match="not int"):
        load_spec_arg(42)  # type: ignore[arg-type]


def test_client_submit_sends_the_spec_of_a_simulation() -> None:
    """Client.submit(sim.to_spec()) and Client.submit(sim) post the same JobSpec JSON."""
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json={"id": "j1", "state": "queued"})

    c = Client("http://test")
    c._http = httpx.Client(base_url="http://test", transport=httpx.MockTransport(handler))
    sim = _sim()
    assert c.submit(sim.to_spec())["id"] == "j1"
    c.submit(sim)
    assert bodies[0]["spec"] == bodies[1]["spec"]
    assert JobSpec.model_validate(bodies[0]["spec"]) == sim.to_spec()


def test_element_signatures_come_from_the_spec_models() -> None:
    """help()/IDEs see the parameters: positional ImpactX arguments, then keyword-only fields."""
    sig = inspect.signature(E.Quad)
    assert list(sig.parameters)[:3] == ["ds", "k", "name"]
    assert sig.parameters["ds"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert sig.parameters["nslice"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["nslice"].default == 1 and sig.parameters["nslice"].annotation is int
    assert sig.parameters["k"].default is inspect.Parameter.empty
    assert "k: float" in str(sig) and "name: str | None = None" in str(sig)
    # every built-in element's signature names exactly its model's fields and binds like the constructor
    for cls in BUILTIN_ELEMENTS:
        fields = set(cls.model_cls.model_fields) - {"type", "thick"}
        assert set(inspect.signature(cls).parameters) == fields, cls.__name__
    bound = inspect.signature(E.ExactSbend).bind(1.5, 12.0, nslice=3)
    el = E.ExactSbend(*bound.args, **bound.kwargs)
    assert (el.ds, el.phi, el.B, el.nslice) == (1.5, 12.0, 0.0, 3)


def test_missing_beam_energy_is_a_clear_error() -> None:
    """A reference without kinetic energy: ReferenceEnergyError naming the fix, not ZeroDivisionError."""
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("electron")
    sim.lattice.append(E.Drift(ds=1.0))
    sim.beam.add_n_particles([0.0], [0.0], [0.0], [0.0], [0.0], [0.0], qm=sim.reference.qm_ratio_SI, bunch_charge=0.0)
    with pytest.raises(ReferenceEnergyError, match="set_kin_energy_MeV"):
        sim.track_particles()
    with pytest.raises(ReferenceEnergyError, match="set_kin_energy_MeV"):
        sim.lattice.twiss()
    with pytest.raises(ReferenceEnergyError, match="must be > 0"):
        RefPart().set_species("proton").set_kin_energy_MeV(-1.0)
