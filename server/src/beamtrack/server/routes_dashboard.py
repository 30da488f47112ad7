"""The web dashboard and offline API docs on the REST server, and the routes the dashboard uses.

- ``/``: the dashboard (dashboard/ in the repository, built by scripts/setup.sh into
  ``static/dashboard``); it holds no data of its own and calls the public REST/SSE API with the
  token its login form keeps in the browser session.
- ``/docs``: Swagger UI from the same build (no CDN), its "Authorize" button fed by the bearer
  security scheme this module declares; the OpenAPI document names the real error body and the
  typed JobSpec request.
- ``POST /v1/specs/validate``: the checks of ``POST /v1/jobs`` without queueing anything.
- ``GET /v1/jobs/{id}/spec``: a job's submission (spec, priority, device, hook module), to
  show its lattice and resubmit it.
"""

# No "from __future__ import annotations": FastAPI resolves the route annotations, some of
# which (Caller) are local to the router factory.

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from beamtrack.spec import JobSpec, SpecError, load_spec
from beamtrack.workers.errors import InvalidArgument, Unavailable
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from .rest import SubmitJob
from .routes_monitor import monitor_router
from .service import JobService, Principal, _check_hook_module

STATIC = Path(__file__).resolve().parent / "static" / "dashboard"
BEARER = "bearerAuth"
NOT_BUILT = "the dashboard is not built: run scripts/setup.sh (npm ci && npm run build in dashboard/)"


class ErrorDetail(BaseModel):
    loc: str = Field(description="the field, e.g. spec.lattice.elements[1].ds; 'body' for the whole body")
    msg: str


class ErrorInfo(BaseModel):
    code: str = Field(
        description="INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE or INTERNAL"
    )
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    """The one error shape of every route."""

    error: ErrorInfo


class Validation(BaseModel):
    valid: bool = Field(description="always true: an invalid submission answers 422")
    name: str
    spec: dict[str, Any] = Field(description="the spec with its defaults filled in")


ERROR_RESPONSES = {
    "401": "missing or invalid bearer token",
    "404": "no such job, or another user's",
    "409": "the job's state does not allow this",
    "422": "invalid input; details name each field",
    "503": "a backing service (Redis, Ray) is unreachable",
}


def validate_submission(service: JobService, body: SubmitJob) -> JobSpec:
    """The checks ``JobService.submit`` makes (hook module, spec), with the same error details."""
    if body.hook_module:
        _check_hook_module(body.hook_module, enabled=service.settings.hook_sandbox)
    try:
        return load_spec(body.spec)
    except SpecError as exc:
        details = [{"loc": f"spec.{e['loc']}" if e["loc"] != "(root)" else "spec", "msg": e["msg"]} for e in exc.errors]
        raise InvalidArgument(
            "invalid job spec: " + "; ".join(f"{d['loc']}: {d['msg']}" for d in details), details=details
        ) from None


def dashboard_router(service: JobService, principal: Callable[..., Principal]) -> APIRouter:
    router = APIRouter(tags=["dashboard"])
    Caller = Annotated[Principal, Depends(principal)]

    @router.post("/v1/specs/validate", response_model=Validation)
    def validate_job(body: SubmitJob, who: Caller) -> dict[str, Any]:
        """Validate a POST /v1/jobs body without submitting it: 200, or 422 naming each field."""
        spec = validate_submission(service, body)
        return {"valid": True, "name": spec.name, "spec": spec.model_dump(mode="json")}

    @router.get("/v1/jobs/{job_id}/spec", tags=["jobs"], response_model=SubmitJob)
    def job_spec(job_id: str, who: Caller) -> dict[str, Any]:
        """The job's submission as a POST /v1/jobs body (resubmit it as it is)."""
        rec = service.get(who, job_id)
        return {
            "spec": json.loads(rec.spec),
            "priority": rec.priority,
            "device": rec.device,
            "hook_module": rec.hook_module or None,
        }

    @router.get("/", include_in_schema=False, response_model=None)
    def index() -> FileResponse:
        page = STATIC / "index.html"
        if not page.is_file():
            raise Unavailable(NOT_BUILT)
        return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})

    @router.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        if not (STATIC / "docs" / "swagger-ui-bundle.js").is_file():
            raise Unavailable(NOT_BUILT)
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="beamtrack API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": True},
        )

    return router


def install_dashboard(app: FastAPI, service: JobService, principal: Callable[..., Principal]) -> None:
    """Add the dashboard, its routes, the monitor routes and the offline docs to ``app``."""
    app.include_router(dashboard_router(service, principal))
    app.include_router(monitor_router(service, principal))
    app.mount("/assets", StaticFiles(directory=STATIC / "assets", check_dir=False), name="dashboard-assets")
    app.mount("/docs-assets", StaticFiles(directory=STATIC / "docs", check_dir=False), name="docs-assets")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = documented_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def documented_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document with the bearer scheme on every /v1 route (instead of a raw
    Authorization header parameter), the real error body on every error status and the JobSpec
    schema as the type of ``spec``."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    spec_schema = JobSpec.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(spec_schema.pop("$defs", {}))
    schemas["JobSpec"] = spec_schema
    if "SubmitJob" in schemas:
        schemas["SubmitJob"]["properties"]["spec"] = {
            "$ref": "#/components/schemas/JobSpec",
            "description": "The JobSpec (shared/spec/README.md)",
        }
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    doc["components"]["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "an API token (BEAMTRACK_API_TOKENS; the embedded mode prints one)",
        }
    }
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            params = [
                p
                for p in op.get("parameters", [])
                if not (p.get("in") == "header" and p.get("name", "").lower() == "authorization")
            ]
            secured = len(params) != len(op.get("parameters", []))
            if "parameters" in op:
                op["parameters"] = params
            codes = ["422", "503"]
            if secured:
                op["security"] = [{BEARER: []}]
                codes.append("401")
            if "{job_id}" in path:
                codes.append("404")
            if method == "delete":
                codes.append("409")
            if "/monitors" in path:
                codes.append("409")
            responses = op.setdefault("responses", {})
            for code in sorted(set(codes)):
                responses[code] = {"description": ERROR_RESPONSES[code], "content": error_ref}
    return doc
