"""Prometheus metrics of one server process (its own registry, so tests can run many apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _QueueCollector(Collector):
    def __init__(self, counts: Callable[[], dict[str, int]]):
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("beamtrack_jobs", "Jobs by state in the job store", labels=["state"])
        try:
            c = self._counts()
        except Exception:  # noqa: BLE001 - a scrape must not fail when Redis is away
            c = {}
        for state, n in c.items():
            g.add_metric([state], float(n))
        yield g


class Metrics:
    """Counters and histograms the REST app, the gRPC servicer and the scheduler update."""

    def __init__(self, counts: Callable[[], dict[str, int]]):
        self.registry = CollectorRegistry()
        self.submitted = Counter("beamtrack_jobs_submitted", "Jobs accepted", ["transport"],
                                 registry=self.registry)
        self.requests = Histogram(
            "beamtrack_http_request_seconds", "HTTP request latency [s]",
            ["method", "route", "status"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
        )
        self.grpc_requests = Counter("beamtrack_grpc_requests", "gRPC calls", ["method", "code"],
                                     registry=self.registry)
        self.stream_events = Counter("beamtrack_stream_events_sent",
                                     "Job events sent to clients", ["transport"],
                                     registry=self.registry)
        self.registry.register(_QueueCollector(counts))
