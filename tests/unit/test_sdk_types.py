"""The SDK takes the project's own types and returns the job contract's models; its errors are the
contract's classes over REST and gRPC; the CLI takes JSON or YAML specs and prints one-line errors;
element classes show their parameters; physics preconditions raise clear, typed errors (issue 14)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from beamtrack.client import Client
from beamtrack.client import cli as client_cli
from beamtrack.client.grpc_errors import GrpcApiError, TypedErrorStub, grpc_error
from beamtrack.client.models import Job
from beamtrack.client.rest import load_spec_arg
from beamtrack.engine import Simulation, distribution
from beamtrack.engine import elements as E
from beamtrack.engine.elements import BUILTIN_ELEMENTS
from beamtrack.engine.refpart import ReferenceEnergyError, RefPart
from beamtrack.spec import JobSpec, load_spec
from beamtrack.spec.contract import Conflict, InvalidArgument, NotFound, ServiceError

FODO = Path(__file__).resolve().parents[2] / "examples" / "fodo.json"
#: a job as the service answers it (JobPublic's fields)
JOB = {
    "id": "j1",
    "owner": "alice",
    "name": "fodo",
    "state": "queued",
    "priority": 0,
    "device": "auto",
    "progress": {"step": 0, "total_steps": 10, "fraction": 0.0},
    "created_at": 1.0,
    "started_at": None,
    "finished_at": None,
    "attempts": 0,
    "error": None,
    "cancel_requested": False,
    "result": None,
}


def _mock_client(handler: Any) -> Client:
    c = Client("http://test")
    c._http = httpx.Client(base_url="http://test", transport=httpx.MockTransport(handler))
    return c


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


def test_load_spec_arg_reads_yaml_files(tmp_path: Path) -> None:
    """A JobSpec file in YAML is the same spec as its JSON; a broken file is a one-line ValueError."""
    spec = load_spec(FODO.read_text())
    for suffix in (".yaml", ".yml"):
        f = tmp_path / f"fodo{suffix}"
        f.write_text(yaml.safe_dump(spec.model_dump(mode="json")))
        assert JobSpec.model_validate(load_spec_arg(f)) == spec
    bad = tmp_path / "bad.yaml"
    bad.write_text("lattice: [unclosed\n")
    with pytest.raises(ValueError, match="not YAML") as info:
        load_spec_arg(bad)
    assert "\n" not in str(info.value)


def test_client_submit_sends_the_spec_of_a_simulation() -> None:
    """Client.submit(sim.to_spec()) and Client.submit(sim) post the same JobSpec JSON."""
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, json=JOB)

    c = _mock_client(handler)
    sim = _sim()
    assert c.submit(sim.to_spec()).id == "j1"
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


def test_element_docstrings_list_parameters_with_units() -> None:
    """help() shows a Parameters section generated from the spec model: every field with its type,
    default and unit (the shared fields' units, and "name [unit]" as the class docstring writes it)."""
    import pydoc

    text = pydoc.render_doc(E.Quad, renderer=pydoc.plaintext)
    assert "ds: float -- length [m]" in text and "k: float -- [1/m^2]" in text
    assert "rotation: float = 0.0 -- roll about s [deg]" in text
    assert "phase: float = -90.0 -- [deg]" in (E.ShortRF.__doc__ or "")
    for cls in BUILTIN_ELEMENTS:
        section = (cls.__doc__ or "").split("Parameters (spec model")[1]
        names = {line.split(":")[0].strip() for line in section.splitlines()[1:]}
        assert names == set(inspect.signature(cls).parameters), cls.__name__


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


def test_client_returns_typed_models_and_raises_the_contract_errors() -> None:
    """Job / Artifact / Twiss / JobSpec answers with attribute access (and key access for older
    scripts); a 404 answer is NotFound and a 409 Conflict, whose code and fields come from the body."""
    spec = load_spec(FODO.read_text())
    twiss = {"job_id": "j1", "periodic": True, "columns": ["name", "s", "betx"], "rows": [["q", 0.0, 2.5]]}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "DELETE":
            body = {"code": "FAILED_PRECONDITION", "message": "job j1 is finished", "details": []}
            return httpx.Response(409, json={"error": body})
        if path == "/v1/jobs/j1":
            return httpx.Response(200, json=JOB)
        if path == "/v1/jobs/j1/spec":
            return httpx.Response(200, json={"spec": spec.model_dump(mode="json"), "priority": 0})
        if path == "/v1/jobs/j1/artifacts":
            return httpx.Response(200, json=[{"name": "diags/openPMD/monitor.h5", "size": 123}])
        if path == "/v1/jobs/j1/twiss":
            assert request.url.params["betx"] == "3.0" and request.url.params["at"] == "slice"
            return httpx.Response(200, json={**twiss, "scalars": {"qx": None, "length": 1.0}})
        if path == "/v1/jobs":
            return httpx.Response(200, json={"items": [JOB], "next_cursor": None})
        body = {"code": "NOT_FOUND", "message": "job nope not found", "details": []}
        return httpx.Response(404, json={"error": body})

    c = _mock_client(handler)
    job = c.get("j1")
    assert isinstance(job, Job) and job.state == "queued" and job.progress.total_steps == 10
    assert job["state"] == "queued" and job.get("nothing", 7) == 7 and dict(job)["id"] == "j1"
    assert job["progress"]["total_steps"] == 10
    with pytest.raises(KeyError):
        job["nothing"]
    assert [j.id for j in c.iter_jobs()] == ["j1"]
    assert c.spec("j1") == spec
    (art,) = c.artifacts("j1")
    assert (art.name, art.size) == ("diags/openPMD/monitor.h5", 123) and art["size"] == 123
    tw = c.twiss("j1", {"betx": 3.0, "alfx": 0.0, "bety": 1.0, "alfy": 0.0}, at="slice")
    df = tw.to_pandas()
    assert df["betx"].iloc[0] == 2.5 and df.attrs["length"] == 1.0 and df.attrs["qx"] != df.attrs["qx"]  # NaN
    with pytest.raises(NotFound) as nf:
        c.get("nope")
    assert isinstance(nf.value, ServiceError) and nf.value.code == "NOT_FOUND" and nf.value.status == 404
    with pytest.raises(Conflict, match="finished"):
        c.cancel("j1")


class _Rpc(grpc.RpcError):
    """A grpc error as the channel raises it: code() and details()."""

    def __init__(self, code: grpc.StatusCode, details: str):
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_grpc_errors_are_the_contract_classes_and_stay_rpc_errors() -> None:
    """The contract's codes are the gRPC status names: NOT_FOUND -> NotFound, INVALID_ARGUMENT ->
    InvalidArgument; grpc's code()/details() keep their meaning; an unknown status is ServiceError."""
    err = grpc_error(_Rpc(grpc.StatusCode.NOT_FOUND, "job x not found"))
    assert isinstance(err, NotFound) and isinstance(err, grpc.RpcError) and isinstance(err, GrpcApiError)
    assert err.code() is grpc.StatusCode.NOT_FOUND and err.details() == "job x not found"
    assert err.message == "job x not found" and err.status is grpc.StatusCode.NOT_FOUND
    assert isinstance(grpc_error(_Rpc(grpc.StatusCode.INVALID_ARGUMENT, "spec")), InvalidArgument)
    other = grpc_error(_Rpc(grpc.StatusCode.DATA_LOSS, "?"))
    assert type(other).__mro__[2] is grpc.RpcError and isinstance(other, ServiceError)

    class Stub:
        def GetJob(self, *args: Any, **kwargs: Any) -> Any:
            raise _Rpc(grpc.StatusCode.PERMISSION_DENIED, "not yours")

    from beamtrack.spec.contract import PermissionDenied

    with pytest.raises(PermissionDenied, match="not yours"):
        TypedErrorStub(Stub()).GetJob(None)


def test_cli_prints_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    """Bad files, an unreachable service and error answers: one line on stderr, no traceback."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("lattice: [unclosed\n")
    assert client_cli.main(["--url", "http://127.0.0.1:9", "submit", str(bad)]) == 2
    assert client_cli.main(["--url", "http://127.0.0.1:9", "submit", str(tmp_path / "missing.json")]) == 2
    assert client_cli.main(["--url", "http://127.0.0.1:9", "status", "j1"]) == 2  # nothing listens on port 9
    scan = tmp_path / "scan.yaml"
    scan.write_text("base: {unclosed\n")
    assert client_cli.main(["--url", "http://127.0.0.1:9", "scan", str(scan)]) == 2

    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "code": "INVALID_ARGUMENT",
            "message": "invalid job spec",
            "details": [{"loc": "spec.beam.npart", "msg": "Input should be greater than 0"}],
        }
        return httpx.Response(422, json={"error": body})

    monkeypatch.setattr(client_cli, "Client", lambda url, token: _mock_client(handler))
    good = tmp_path / "fodo.yaml"
    good.write_text(yaml.safe_dump(json.loads(FODO.read_text())))
    assert client_cli.main(["submit", str(good)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 5 and all(line.startswith("error: ") for line in lines), lines
    assert "not YAML" in lines[0] and "missing.json" in lines[1] and "cannot reach" in lines[2]
    assert lines[4] == "error: INVALID_ARGUMENT: invalid job spec (spec.beam.npart: Input should be greater than 0)"
