"""beamtrack.client: talk to a beamtrack service over REST (``Client``) or gRPC (``GrpcClient``).

from beamtrack.client import Client
c = Client("http://127.0.0.1:8000", token="...")
job = c.submit("examples/fodo.json")
for ev in c.events(job["id"]):
    print(ev.kind, ev.data)
c.download(job["id"], "out/")
"""

from __future__ import annotations

from .grpc_client import GrpcClient
from .rest import ApiError, Client, Event, to_pandas

__all__ = ["ApiError", "Client", "Event", "GrpcClient", "to_pandas"]
