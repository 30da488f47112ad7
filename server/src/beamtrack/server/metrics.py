"""Prometheus metrics of one server process (its own registry, so tests can run many apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: Coarse reasons of ``beamtrack_job_failures_total``.
FAILURE_REASONS = ("worker_lost", "out_of_memory", "wall_clock", "error")
#: Buckets of the queue-wait and run-time histograms [s].
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


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


class _Gauges(Collector):
    """Gauges read at scrape time; a reader that fails reports nothing (or 0 for health)."""

    def __init__(self, readers: dict[str, tuple[str, Callable[[], float]]]):
        self._readers = readers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, read) in self._readers.items():
            try:
                value = float(read())
            except Exception:  # noqa: BLE001 - a scrape must not fail
                if not name.endswith("_up"):
                    continue
                value = 0.0
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            yield g


class Metrics:
    """Counters and histograms the REST app, the gRPC servicer and the scheduler update."""

    def __init__(
        self,
        counts: Callable[[], dict[str, int]],
        *,
        stream_clients: Callable[[], float] | None = None,
        redis_up: Callable[[], float] | None = None,
        ray_up: Callable[[], float] | None = None,
    ):
        self.registry = CollectorRegistry()
        self.submitted = Counter("beamtrack_jobs_submitted", "Jobs accepted", ["transport"], registry=self.registry)
        self.requests = Histogram(
            "beamtrack_http_request_seconds",
            "HTTP request latency [s]",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
        )
        self.grpc_requests = Counter(
            "beamtrack_grpc_requests", "gRPC calls", ["method", "code"], registry=self.registry
        )
        self.stream_events = Counter(
            "beamtrack_stream_events_sent", "Job events sent to clients", ["transport"], registry=self.registry
        )
        self.queue_wait = Histogram(
            "beamtrack_job_queue_wait_seconds",
            "Time from submit (or requeue) to the start of a worker [s]",
            registry=self.registry,
            buckets=JOB_BUCKETS,
        )
        self.run_time = Histogram(
            "beamtrack_job_run_seconds",
            "Time a job's worker ran, start to end [s]",
            registry=self.registry,
            buckets=JOB_BUCKETS,
        )
        self.failures = Counter(
            "beamtrack_job_failures", "Jobs failed, by coarse reason", ["reason"], registry=self.registry
        )
        for reason in FAILURE_REASONS:
            self.failures.labels(reason)
        self.retries = Counter("beamtrack_job_retries", "Jobs requeued after a worker loss", registry=self.registry)
        self.registry.register(_QueueCollector(counts))
        readers: dict[str, tuple[str, Callable[[], float]]] = {}
        if stream_clients is not None:
            readers["beamtrack_stream_clients"] = ("Open job streams (SSE and gRPC)", stream_clients)
        if redis_up is not None:
            readers["beamtrack_redis_up"] = ("1 when the job store answers", redis_up)
        if ray_up is not None:
            readers["beamtrack_ray_up"] = ("1 when Ray is connected (and the scheduler alive)", ray_up)
        if readers:
            self.registry.register(_Gauges(readers))
