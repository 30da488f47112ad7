"""beamtrack.client: talk to a beamtrack service over REST (``Client``) or gRPC (``GrpcClient``).

from beamtrack.client import Client
c = Client("http://127.0.0.1:8000", token="...")
job = c.submit("examples/fodo.json")      # or a JobSpec, a Simulation, a dict, a YAML file
for ev in c.events(job.id):
    print(ev.kind, ev.data)
c.download(job.id, "out/")

Answers are the job contract's models (``models``: Job, Artifact, Twiss); errors the contract's
classes (``beamtrack.spec.contract``: NotFound, InvalidArgument, ...), over REST and gRPC alike.
"""

from __future__ import annotations

from .grpc_client import GrpcClient
from .grpc_errors import GrpcApiError
from .models import Artifact, Job, Twiss
from .rest import ApiError, Client, Event, to_pandas

__all__ = ["ApiError", "Artifact", "Client", "Event", "GrpcApiError", "GrpcClient", "Job", "Twiss", "to_pandas"]
