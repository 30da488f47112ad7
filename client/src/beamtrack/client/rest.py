"""Synchronous REST client (httpx); keyword-only options; answers as the job contract's models
(``models``: Job, Artifact, Twiss; a JobSpec for ``spec``), errors as ApiError of the contract's class."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import httpx
import orjson
from beamtrack.spec import JobSpec
from beamtrack.spec.contract import TERMINAL_STATES, ServiceError, error_class

from .models import Artifact, Job, Twiss
from .polling import iter_pages, wait_finished

TERMINAL = TERMINAL_STATES
DEFAULT_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """An error answer of the service: HTTP ``status``, stable ``code``, field ``details``.

    What the SDK raises is also an instance of the job contract's class for ``code``
    (``beamtrack.spec.contract``), so ``except NotFound`` and ``except ApiError`` both work.
    """

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, str]]):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


_API_ERRORS: dict[type[ServiceError], type[ApiError]] = {}


def api_error(status: int, code: str, message: str, details: list[dict[str, str]]) -> ApiError:
    """The ApiError for an error body, of the contract's class for ``code``."""
    kind = error_class(code)
    cls = _API_ERRORS.get(kind)
    if cls is None:
        cls = _API_ERRORS[kind] = type(kind.__name__ + "ApiError", (ApiError, kind), {})
    return cls(status, code, message, details)


@dataclass(frozen=True)
class Event:
    """One event of a job's stream; ``id`` resumes a broken stream (``after=id``)."""

    id: str
    kind: str  # state | diag | log | custom | result
    data: dict[str, Any]


class HasToSpec(Protocol):
    """Anything with ``to_spec() -> JobSpec``, e.g. an engine ``Simulation``."""

    def to_spec(self) -> JobSpec: ...


#: what ``submit`` takes: a JobSpec, an object with ``to_spec()``, a dict, a JSON or YAML file path, or JSON text
SpecArg: TypeAlias = "JobSpec | HasToSpec | dict[str, Any] | str | Path"
YAML_SUFFIXES = (".yaml", ".yml")


def _read_spec_file(path: Path) -> Any:
    text = path.read_text()
    if path.suffix.lower() in YAML_SUFFIXES:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not YAML: {' '.join(str(exc).split())}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None


def load_spec_arg(spec: SpecArg) -> dict[str, Any]:
    """A JobSpec dict from a JobSpec, a ``Simulation`` (anything with ``to_spec()``), a dict, a JSON
    or YAML (.yaml, .yml) file path, or JSON text; a reference-case file (``{"spec": ..., "checks":
    ...}``) gives its spec."""
    if isinstance(spec, JobSpec):
        return spec.model_dump(mode="json")
    if isinstance(spec, dict):
        data = spec
    elif isinstance(spec, Path) or (isinstance(spec, str) and not spec.lstrip().startswith("{")):
        data = _read_spec_file(Path(spec))
    elif isinstance(spec, str):
        data = json.loads(spec)
    elif callable(getattr(spec, "to_spec", None)):
        return load_spec_arg(spec.to_spec())
    else:
        raise TypeError(
            f"a job spec is a JobSpec, a Simulation, a dict, a path or JSON text, not {type(spec).__name__}"
        )
    if isinstance(data, dict) and "spec" in data and "lattice" not in data:
        data = data["spec"]
    if not isinstance(data, dict):
        raise ValueError("a job spec is a JSON object")
    return data


def _raise_for(resp: httpx.Response) -> None:
    if resp.is_success:
        return
    try:
        err = resp.json()["error"]
        raise api_error(resp.status_code, err["code"], err["message"], err.get("details", []))
    except (ValueError, KeyError, TypeError):
        raise ApiError(resp.status_code, "HTTP_ERROR", resp.text[:500], []) from None


class Client:
    """REST client. ``url`` and ``token`` default to $BEAMTRACK_URL and $BEAMTRACK_TOKEN."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 30.0):
        self.url = (url or os.environ.get("BEAMTRACK_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("BEAMTRACK_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self._http.request(method, path, **kw)
        _raise_for(resp)
        return resp.json()

    # -- jobs ------------------------------------------------------------------------------------
    def submit(self, spec: SpecArg, *, priority: int = 0, device: str = "auto", hook_module: str | None = None) -> Job:
        """Queue a job (a JobSpec, a Simulation, a dict, a JSON/YAML file or JSON text); returns it
        (``.id`` names it)."""
        body: dict[str, Any] = {"spec": load_spec_arg(spec), "priority": priority, "device": device}
        if hook_module is not None:
            body["hook_module"] = hook_module
        return Job.model_validate(self._json("POST", "/v1/jobs", json=body))

    def get(self, job_id: str) -> Job:
        """The job now."""
        return Job.model_validate(self._json("GET", f"/v1/jobs/{job_id}"))

    def spec(self, job_id: str) -> JobSpec:
        """The JobSpec the job was submitted with."""
        return JobSpec.model_validate(self._json("GET", f"/v1/jobs/{job_id}/spec")["spec"])

    def list_jobs(
        self, *, state: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Job], str | None]:
        """One page of jobs, newest first, and the cursor of the next page (None at the end)."""
        params: dict[str, Any] = {"limit": limit}
        if state:
            params["state"] = state
        if cursor:
            params["cursor"] = cursor
        page = self._json("GET", "/v1/jobs", params=params)
        return [Job.model_validate(j) for j in page["items"]], page["next_cursor"]

    def iter_jobs(self, *, state: str | None = None, page_size: int = 100) -> Iterator[Job]:
        """Every job (the caller's; all for an admin), following the pages."""
        return iter_pages(lambda st, n, cur: self.list_jobs(state=st, limit=n, cursor=cur), state, page_size)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; returns it (state cancelled, or cancel_requested)."""
        return Job.model_validate(self._json("DELETE", f"/v1/jobs/{job_id}"))

    def wait(self, job_id: str, *, timeout: float = 600.0, poll_s: float = 0.2) -> Job:
        """Poll until the job is finished; TimeoutError after ``timeout`` seconds."""
        return wait_finished(self.get, job_id, timeout, poll_s)

    # -- live stream -------------------------------------------------------------------------------
    def events(self, job_id: str, *, after: str | None = None, reconnects: int = 5) -> Iterator[Event]:
        """The job's events (server-sent) until its ``result`` event; a dropped connection is
        resumed from the last event seen, so no event is lost or repeated."""
        yield from self._sse_events(f"/v1/jobs/{job_id}/events", after, reconnects)

    def _sse_events(self, path: str, after: str | None, reconnects: int) -> Iterator[Event]:
        """The server-sent events of ``path`` until a ``result`` event, resumed after a dropped
        connection from the last event seen."""
        last = after
        failures = 0
        while True:
            params = {"after": last} if last else {}
            try:
                with self._http.stream(
                    "GET",
                    path,
                    params=params,
                    timeout=httpx.Timeout(self._http.timeout.connect, read=None),
                ) as resp:
                    if not resp.is_success:
                        resp.read()
                        _raise_for(resp)
                    for ev in _parse_sse(resp.iter_lines()):
                        last = ev.id
                        failures = 0
                        yield ev
                        if ev.kind == "result":
                            return
                    return
            except (httpx.TransportError, httpx.RemoteProtocolError):
                failures += 1
                if failures > reconnects:
                    raise
                time.sleep(min(0.2 * 2**failures, 5.0))

    # -- results ---------------------------------------------------------------------------------
    def diagnostics(self, job_id: str) -> list[dict[str, float]]:
        """Reduced beam characteristics rows (ImpactX's columns)."""
        return list(self._json("GET", f"/v1/jobs/{job_id}/diagnostics")["rows"])

    def diagnostics_csv(self, job_id: str) -> str:
        resp = self._http.get(f"/v1/jobs/{job_id}/diagnostics", params={"format": "csv"})
        _raise_for(resp)
        return resp.text

    def artifacts(self, job_id: str) -> list[Artifact]:
        """The job's output files: ``name`` (relative path) and ``size`` [bytes] of each."""
        return [Artifact.model_validate(a) for a in self._json("GET", f"/v1/jobs/{job_id}/artifacts")]

    def download_artifact(self, job_id: str, name: str, dest: str | Path) -> Path:
        """Fetch artifact ``name`` to ``dest / name``; returns that path."""
        dest = Path(dest)
        target = (dest / name).resolve()
        if not target.is_relative_to(dest.resolve()):
            raise ApiError(0, "BAD_ARTIFACT", f"refusing artifact path {name!r}", [])
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._http.stream("GET", f"/v1/jobs/{job_id}/artifacts/{name}") as resp:
            if not resp.is_success:
                resp.read()
                _raise_for(resp)
            with target.open("wb") as f:
                for chunk in resp.iter_bytes(1 << 20):
                    f.write(chunk)
        return target

    def download(self, job_id: str, dest: str | Path) -> list[Path]:
        """Fetch every artifact (openPMD series, reduced diagnostics) into ``dest``."""
        return [self.download_artifact(job_id, art.name, dest) for art in self.artifacts(job_id)]

    def twiss(self, job_id: str, init: dict[str, float] | None = None, *, at: str = "element") -> Twiss:
        """The Twiss table of the job's lattice, computed by the service from its spec: periodic, or
        from the initial conditions ``init`` (betx, alfx, bety, alfy [m; 1], optionally dx, dpx, dy,
        dpy) of a transfer line; rows at every "element" or "slice" boundary. ``.to_pandas()``."""
        params: dict[str, Any] = {"at": at, **(init or {})}
        return Twiss.model_validate(self._json("GET", f"/v1/jobs/{job_id}/twiss", params=params))

    # -- scans -----------------------------------------------------------------------------------
    def scan(
        self,
        base: SpecArg,
        parameters: dict[str, Any] | None = None,
        *,
        mode: str = "grid",
        variants: list[dict[str, Any]] | None = None,
        samples: int | None = None,
        seed: int = 0,
        name: str | None = None,
        columns: list[str] | None = None,
        use_cache: bool = True,
        priority: int = 0,
        device: str = "auto",
        hook_module: str | None = None,
    ) -> dict[str, Any]:
        """Queue a parameter scan of ``base``: ``parameters`` maps a path into the spec
        (``lattice.elements[name=q1].k``, ``beam.bunch_charge_C``) to its values (mode grid or
        zip) or to ``{"low", "high"}`` (mode random or lhs, with ``samples``); mode list takes
        ``variants``. Returns the scan (``["id"]`` names it; ``["counts"]`` its variants by state)."""
        scan: dict[str, Any] = {"base": load_spec_arg(base), "mode": mode, "seed": seed, "use_cache": use_cache}
        for key, value in (
            ("parameters", parameters),
            ("variants", variants),
            ("samples", samples),
            ("name", name),
            ("columns", columns),
        ):
            if value is not None:
                scan[key] = value
        return self.submit_scan(scan, priority=priority, device=device, hook_module=hook_module)

    def submit_scan(
        self, scan: dict[str, Any], *, priority: int = 0, device: str = "auto", hook_module: str | None = None
    ) -> dict[str, Any]:
        """Queue a ScanSpec given as a dict (see ``scan``)."""
        body: dict[str, Any] = {"scan": scan, "priority": priority, "device": device}
        if hook_module is not None:
            body["hook_module"] = hook_module
        return dict(self._json("POST", "/v1/scans", json=body))

    def get_scan(self, scan_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/v1/scans/{scan_id}"))

    def list_scans(self, *, limit: int = 50, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of scans, newest first, and the next page's cursor (None at the end)."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = self._json("GET", "/v1/scans", params=params)
        return list(page["items"]), page["next_cursor"]

    def cancel_scan(self, scan_id: str) -> dict[str, Any]:
        """Cancel the scan's unfinished variants; finished ones keep their results."""
        return dict(self._json("DELETE", f"/v1/scans/{scan_id}"))

    def wait_scan(self, scan_id: str, *, timeout: float = 600.0, poll_s: float = 0.2) -> dict[str, Any]:
        """Poll until every variant of the scan has ended; TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            scan = self.get_scan(scan_id)
            if scan["state"] in TERMINAL:
                return scan
            if time.monotonic() > deadline:
                raise TimeoutError(f"scan {scan_id} still {scan['state']} after {timeout} s")
            time.sleep(poll_s)

    def scan_events(self, scan_id: str, *, after: str | None = None, reconnects: int = 5) -> Iterator[Event]:
        """The scan's live events until its ``result`` event: ``state`` at submit, ``variant``
        ({variant, job_id, state, attempts}) at each variant's state change, ``result`` ({state,
        counts}) once all have ended; resumed after a dropped connection as ``events`` is."""
        yield from self._sse_events(f"/v1/scans/{scan_id}/events", after, reconnects)

    def scan_results(self, scan_id: str) -> dict[str, Any]:
        """The results table: ``{"columns": [...], "rows": [{column: value}, ...]}``, one row per
        variant (variant, job_id, state, attempts, cached_from, parameter values, final diagnostics)."""
        return dict(self._json("GET", f"/v1/scans/{scan_id}/results"))

    def scan_results_file(self, scan_id: str, format: str = "csv") -> bytes:
        """The results table as CSV or Parquet bytes."""
        resp = self._http.get(f"/v1/scans/{scan_id}/results", params={"format": format})
        _raise_for(resp)
        return resp.content

    def ready(self) -> bool:
        """True when the server answers /readyz with ready."""
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False


def to_pandas(results: dict[str, Any]) -> Any:
    """A scan's results table (``Client.scan_results``) as a pandas DataFrame, one row per
    variant, its columns in the table's order (pandas is imported here, not by the client)."""
    import pandas as pd

    return pd.DataFrame(results["rows"], columns=results["columns"])


def _loads(text: str) -> Any:
    """orjson (several times faster on a diagnostics row), json for what orjson refuses
    (NaN/Infinity tokens, which Python's json writes)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    ev_id, kind = "", "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield Event(ev_id, kind, _loads("\n".join(data)))
            ev_id, kind, data = "", "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                ev_id = value
            elif name == "event":
                kind = value
            elif name == "data":
                data.append(value)
