"""Server settings: one pydantic-settings class, env vars BEAMTRACK_*, failing fast on unsafe
values (no default token outside the embedded mode, embedded mode bound to loopback only)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def hash_token(token: str) -> str:
    """SHA-256 hex digest of an API token: the form tokens are configured and kept in."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(BaseModel):
    """One API token: its owner, the SHA-256 hex of the token (never the token), admin flag."""

    user: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@\-]+$")]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    admin: bool = False


class Settings(BaseSettings):
    """Everything a server process needs; each field is also ``BEAMTRACK_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="BEAMTRACK_", extra="forbid")

    #: Redis to use (redis://host:port/db); None in embedded mode starts a private one.
    redis_url: str | None = None
    #: Ray cluster address (e.g. ray://head:10001 or auto); None starts a local Ray.
    ray_address: str | None = None
    host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    grpc_port: Annotated[int, Field(ge=0, le=65535)] = 50051
    #: Root for the embedded Redis AOF and, unless artifact_dir is set, the job outputs.
    data_dir: Path = Path("beamtrack-data")
    #: The server's artifact store. Workers that see it (same node or a shared volume) write
    #: into it; any other worker uploads its job's files through Redis, pulled in here.
    artifact_dir: Path | None = None
    #: ``auto``: workers that see the artifact directory write into it, others upload;
    #: ``always``: every worker uploads (no shared directory is trusted).
    artifact_transfer: Literal["auto", "always"] = "auto"
    #: Largest upload of one job's files through Redis [MiB] (over it the job fails, naming it).
    artifact_upload_max_mb: Annotated[float, Field(ge=1.0, le=1_048_576.0)] = 1024.0
    #: Accepted bearer tokens (hashed); JSON in BEAMTRACK_API_TOKENS.
    api_tokens: list[ApiToken] = []
    #: Embedded mode: private Redis + local Ray, loopback only, a local token printed at start.
    embedded: bool = False
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$")] = "bt"
    #: Starts a job may take when its worker is lost (then it fails with the reason).
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    #: CPUs one job's actor reserves, and the bound on concurrently running jobs (0 = as many
    #: as the cluster's CPUs allow).
    job_cpus: Annotated[float, Field(gt=0.0, le=1024.0)] = 1.0
    max_running: Annotated[int, Field(ge=0)] = 0
    #: On a cluster with Ray's autoscaler (KubeRay ``enableInTreeAutoscaling``): jobs started
    #: beyond what the cluster's CPUs hold now, whose waiting actors make the autoscaler add
    #: nodes; and a ``device: cuda`` job then waits for a GPU node instead of failing at once.
    #: 0 (default): a fixed cluster.
    autoscale_headroom: Annotated[int, Field(ge=0, le=10_000)] = 0
    #: Run the scheduler in this process (one or more replicas may; claims are atomic).
    scheduler: bool = True
    #: Longest wait of one stream read [ms] before a keep-alive is sent.
    stream_block_ms: Annotated[int, Field(ge=10, le=60_000)] = 1000
    #: Approximate cap on entries kept per job stream.
    stream_maxlen: Annotated[int, Field(ge=1000)] = 1_000_000
    #: Live streams (SSE and gRPC together) one user may hold open at once (429 /
    #: RESOURCE_EXHAUSTED beyond).
    max_streams_per_user: Annotated[int, Field(ge=1, le=1_000_000)] = 64
    #: Largest job spec accepted [bytes of JSON] (413 / INVALID_ARGUMENT naming ``spec``).
    max_spec_bytes: Annotated[int, Field(ge=4096, le=1 << 30)] = 1 << 20
    #: Accept hook modules with jobs (they run in the hook sandbox; refused when false, or
    #: when the sandbox cannot run on this host).
    hook_sandbox: bool = True
    #: Hook sandbox limits: CPU time per job [s], wall time per hook call [s], memory the hooks
    #: may add [MiB], largest file in the scratch directory [MiB].
    hook_cpu_s: Annotated[float, Field(gt=0.0, le=86_400.0)] = 60.0
    hook_wall_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 30.0
    hook_memory_mb: Annotated[float, Field(ge=16.0, le=1_048_576.0)] = 1024.0
    hook_fsize_mb: Annotated[float, Field(ge=1.0, le=1_048_576.0)] = 64.0
    #: Per-job limits, checked at submit against the spec's estimate (beamtrack.spec.resources)
    #: and enforced while the job runs: peak memory [MiB], output written [MiB], wall time [s].
    job_memory_mb: Annotated[float, Field(ge=64.0)] = 8192.0
    job_disk_mb: Annotated[float, Field(ge=1.0)] = 10240.0
    job_wall_s: Annotated[float, Field(gt=0.0)] = 86_400.0
    #: Per-user disk quota [MiB]: kept artifacts plus the estimates of unfinished jobs.
    user_disk_mb: Annotated[float, Field(ge=1.0)] = 51_200.0
    #: Highest priority a non-admin token may ask for (admins: up to the queue's maximum).
    user_priority_max: Annotated[int, Field(ge=-1000, le=1000)] = 100
    #: The most variants one parameter scan may expand to.
    max_scan_variants: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    #: Serve a job (or scan variant) whose identical spec already succeeded from the result
    #: cache (beamtrack.workers.cache) instead of running it again.
    result_cache: bool = True
    #: Packed execution: up to this many variants of one scan that share their lattice
    #: structure and particle count (beamtrack.workers.packing) run in one worker, one kernel
    #: launch per fused group; 1 runs every variant as its own job. The scheduler packs fewer
    #: to spread a scan's queued variants over the free job slots (300 on two slots: two packs
    #: of 150 at once, not 256 and 44) and to keep a pack within ``pack_particles``.
    pack_size: Annotated[int, Field(ge=1, le=100_000)] = 256
    #: The most particles (variants x particles each) one pack holds: a pack's memory grows
    #: with them, and one worker holds the whole pack (BEAMTRACK_JOB_MEMORY_MB is its limit).
    #: Variants with this many particles or more run one to a pack.
    pack_particles: Annotated[int, Field(ge=1)] = 2_000_000
    #: Artifact retention [s] after a job ends: succeeded jobs, and failed or cancelled ones.
    #: A scan (record, variant list, event stream) is removed as long after its last variant
    #: ended: the first when some variant succeeded, the second when none did.
    artifact_ttl_s: Annotated[float, Field(gt=0.0)] = 7 * 86_400.0
    failed_artifact_ttl_s: Annotated[float, Field(gt=0.0)] = 86_400.0
    #: Log lines of ``beamtrack serve``: ``json`` (one object per line: time, level, logger,
    #: message, job_id/user) or ``text``; None: json outside the embedded mode, text in it.
    log_format: Literal["json", "text"] | None = None

    @property
    def log_format_used(self) -> str:
        return self.log_format or ("text" if self.embedded else "json")

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        if not self.embedded and not self.api_tokens:
            raise ValueError(
                "api_tokens: no API tokens configured; set BEAMTRACK_API_TOKENS to a JSON list of "
                '{"user": ..., "sha256": ..., "admin": false} (only the embedded mode makes a '
                "local token)"
            )
        if self.embedded and self.host not in LOOPBACK:
            raise ValueError(f"host: the embedded mode binds loopback only, not {self.host!r}")
        if not self.embedded and self.redis_url is None:
            raise ValueError("redis_url: required outside the embedded mode")
        return self

    @property
    def hook_limits(self) -> dict[str, float]:
        """The fields of beamtrack.workers.sandbox.supervisor.SandboxLimits these settings set."""
        return {
            "cpu_s": self.hook_cpu_s,
            "wall_s": self.hook_wall_s,
            "memory_mb": self.hook_memory_mb,
            "fsize_mb": self.hook_fsize_mb,
        }

    @property
    def job_limits(self) -> dict[str, float]:
        """The limits a worker enforces while a job runs (beamtrack.workers.runner.JobLimits)."""
        return {"memory_mb": self.job_memory_mb, "disk_mb": self.job_disk_mb, "wall_s": self.job_wall_s}

    @property
    def artifacts(self) -> Path:
        """Directory holding ``<job id>/diags/...`` of every job."""
        return (self.artifact_dir or self.data_dir / "artifacts").resolve()
