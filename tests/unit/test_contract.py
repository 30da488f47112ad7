"""The job contract (beamtrack.spec.contract) is the one definition every layer uses (issue 15):
the state enum agrees with jobs.proto, a public job survives the trip through protobuf, every error
class has a valid HTTP status and gRPC code, and the SDK raises the contract's classes."""

from __future__ import annotations

import grpc
import pytest
from beamtrack.client.rest import ApiError, api_error
from beamtrack.spec import contract
from beamtrack.spec.contract import JobPublic, JobState, NotFound, ServiceError
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1.convert import PB_TO_STATE, STATE_TO_PB, job_from_pb, job_to_pb

pytestmark = pytest.mark.unit


def test_state_enum_matches_the_proto() -> None:
    proto_names = {n.removeprefix("JOB_STATE_") for n in pb.JobState.keys()} - {"UNSPECIFIED"}
    assert proto_names == {s.name for s in JobState}
    assert set(STATE_TO_PB) == {s.value for s in JobState}
    assert all(PB_TO_STATE[STATE_TO_PB[v]] == v for v in STATE_TO_PB)
    assert {s for s in JobState if s.is_terminal()} == {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


def test_the_service_layers_use_the_contract() -> None:
    from beamtrack.workers import errors, store

    assert store.JobState is JobState and errors.NotFound is NotFound
    assert store.PRIORITY_MAX == contract.PRIORITY_MAX and store.DEVICES == contract.DEVICES


def sample_job(**kw) -> JobPublic:
    data = dict(
        id="a" * 32,
        owner="ana",
        name="fodo",
        state="running",
        priority=5,
        device="auto",
        progress={"step": 3, "total_steps": 12, "fraction": 0.25},
        created_at=1.5e9,
        started_at=1.5e9 + 2,
        finished_at=None,
        attempts=2,
        error=None,
        cancel_requested=True,
        result=None,
    )
    data.update(kw)
    return JobPublic.model_validate(data)


def through_protobuf(job: JobPublic) -> JobPublic:
    """``job`` to ``pb.Job``, serialized, parsed and converted back (what a gRPC client gets)."""
    return JobPublic.model_validate(job_from_pb(pb.Job.FromString(job_to_pb(job).SerializeToString())))


@pytest.mark.parametrize("state", [s.value for s in JobState])
def test_public_job_round_trips_through_protobuf(state: str) -> None:
    job = sample_job(state=state, error="boom" if state == "failed" else None)
    assert through_protobuf(job) == job


def test_every_public_job_field_survives_protobuf() -> None:
    """A finished scan variant served from the cache: the result dict, the scan fields and
    variant 0 (not None: ``optional`` in jobs.proto) come back equal, field by field."""
    job = sample_job(
        state="succeeded",
        finished_at=1.5e9 + 9,
        result={"steps": 12, "wall_time_s": 0.5, "artifacts": ["diags/reduced.csv"], "state": "succeeded"},
        artifacts_expired=True,
        scan_id="s" * 32,
        variant=0,
        values={"lattice.elements[name=q1].k": -2.5},
        cached_from="b" * 32,
    )
    back = through_protobuf(job)
    assert back.model_dump() == job.model_dump()
    assert set(job_from_pb(job_to_pb(job))) == set(JobPublic.model_fields)


def error_classes() -> list[type[ServiceError]]:
    return [c for c in vars(contract).values() if isinstance(c, type) and issubclass(c, ServiceError)]


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_maps_to_http_and_grpc(cls: type[ServiceError]) -> None:
    assert 400 <= cls.http_status < 600
    assert grpc.StatusCode[cls.grpc_status].name == cls.grpc_status
    assert contract.error_class(cls.code) in (cls, *cls.__mro__)


def test_the_sdk_raises_the_contract_class_for_a_code() -> None:
    err = api_error(404, "NOT_FOUND", "job x not found", [])
    assert isinstance(err, ApiError) and isinstance(err, NotFound)
    assert (err.status, err.code, err.message) == (404, "NOT_FOUND", "job x not found")
    unknown = api_error(418, "TEAPOT", "?", [])
    assert isinstance(unknown, ApiError) and isinstance(unknown, ServiceError)


def test_grpc_client_refuses_an_unknown_state_filter() -> None:
    """``list_jobs(state=...)`` takes the contract's JobState values; an unknown one raises before
    any call (it does not silently list every job)."""
    from beamtrack.client import GrpcClient

    with GrpcClient("127.0.0.1:1") as g, pytest.raises(ValueError, match="done"):
        g.list_jobs(state="done")
