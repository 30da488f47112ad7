"""The web dashboard in headless Chromium (Debian's, driven by Playwright) against a real service:
real Redis, a local Ray running the jobs, the REST server on 127.0.0.1 serving the built dashboard.

Screenshots of each page go to out/e2e/. Every test fails on a console error or an uncaught page
error, except the HTTP error a test provokes on purpose (Chromium logs each 4xx response).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "e2e"
CHROMIUM = os.environ.get("BEAMTRACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STATIC = ROOT / "server" / "src" / "beamtrack" / "server" / "static" / "dashboard"
#: the accessibility rules engine, a devDependency of the dashboard (never served)
AXE = ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789", "admin": "admin-token-0123456789"}
FODO = json.loads((ROOT / "examples" / "fodo.json").read_text())

if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
    pytest.skip(f"no Chromium at {CHROMIUM} (scripts/setup.sh installs Debian's chromium)", allow_module_level=True)


def _settings(redis_url: str, data_dir: Path, *, scheduler: bool) -> Any:
    from beamtrack.server.settings import ApiToken, Settings, hash_token

    tokens = [ApiToken(user=u, sha256=hash_token(t), admin=(u == "admin")) for u, t in TOKENS.items()]
    return Settings(
        redis_url=redis_url,
        http_port=0,
        grpc_port=0,
        data_dir=data_dir,
        key_prefix=f"e{uuid.uuid4().hex[:10]}",
        api_tokens=tokens,
        scheduler=scheduler,
        stream_block_ms=200,
    )


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from beamtrack.workers.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def service(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server with its scheduler on a local Ray: submitted jobs really run."""
    assert (STATIC / "index.html").is_file() and AXE.is_file(), "dashboard not built: run scripts/setup.sh"
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    from beamtrack.server.process import ServerProcess

    ours = not ray.is_initialized()  # the integration tests' session Ray may be up already
    if ours:
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            namespace="beamtrack",
            logging_level=logging.WARNING,
            _node_ip_address="127.0.0.1",
        )
    server = ServerProcess(_settings(redis_url, tmp_path_factory.mktemp("data"), scheduler=True), redis_url).start()
    yield server
    server.stop(kill_actors=True)
    if ours:
        ray.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


class Page:
    """A fresh browser context and page with its console watched; ``expect_http(422)`` admits
    Chromium's log line of a response a test provokes."""

    def __init__(self, browser: Any, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.expected: set[int] = set()
        self.foreign: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host not in ("127.0.0.1", None) and not route.request.url.startswith(("data:", "blob:")):
            self.foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def _console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        m = re.search(r"status of (\d{3})", msg.text)
        if m and int(m.group(1)) in self.expected:
            return
        self.errors.append(f"console: {msg.text} at {msg.location}")

    def expect_http(self, *statuses: int) -> None:
        self.expected.update(statuses)

    def login(self, user: str) -> None:
        self.page.goto(self.base + "/")
        self.page.get_by_label("API token", exact=True).fill(TOKENS[user])
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("heading", name="Jobs").wait_for()

    def audit(self, what: str) -> None:
        """axe-core's WCAG 2 A/AA rules on the page as it is now: no serious or critical violation."""
        self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate(
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => r.violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))"
        )
        assert not found, f"{what}: " + "; ".join(found)

    def shot(self, name: str, *, full_page: bool = True) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    def close(self) -> None:
        self.context.close()
        assert not self.foreign, f"requests left 127.0.0.1: {self.foreign}"
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture
def page(browser: Any, service: Any) -> Iterator[Page]:
    p = Page(browser, f"http://127.0.0.1:{service.http_port}")
    yield p
    p.close()


def _submit_fodo(p: Page, periods: int | None = None) -> str:
    """Submit the shipped FODO example from the Submit page (``periods`` edited in); the job id."""
    pg = p.page
    pg.get_by_role("link", name="Submit", exact=True).click()
    pg.get_by_role("button", name="Start from the FODO example").click()
    if periods is not None:
        spec = json.loads(pg.locator("#spec").input_value())
        spec["lattice"]["periods"] = periods
        pg.locator("#spec").fill(json.dumps(spec, indent=1))
    pg.get_by_test_id("spec-valid").wait_for()
    pg.locator("#submit-job").click()
    pg.get_by_test_id("job-state").wait_for()
    m = re.search(r"#/jobs/([0-9a-f]+)$", pg.url)
    assert m, pg.url
    return m.group(1)


def test_login_rejects_a_bad_token_then_lists_jobs(page: Page) -> None:
    pg = page.page
    page.expect_http(401)
    pg.goto(page.base + "/")
    pg.get_by_label("API token", exact=True).fill("not-a-token")
    pg.get_by_role("button", name="Sign in").click()
    assert "UNAUTHENTICATED" in pg.get_by_role("alert").inner_text()
    page.audit("login")
    page.shot("login")
    page.login("alice")
    assert pg.evaluate("sessionStorage.getItem('beamtrack.token')") == TOKENS["alice"]
    assert TOKENS["alice"] not in pg.url
    page.shot("jobs-empty")


def test_submit_fodo_live_plot_then_cancel(page: Page, service: Any) -> None:
    page.login("alice")
    pg = page.page
    job_id = _submit_fodo(page, periods=400)
    pg.wait_for_function(
        "document.querySelector('[data-testid=job-state]').textContent === 'running'"
        " && Number(document.querySelector('[data-testid=plot-sigma]').dataset.points) > 0",
        timeout=120_000,
    )

    def sample() -> tuple[int, str]:
        r = pg.evaluate(
            "[Number(document.querySelector('[data-testid=plot-sigma]').dataset.points),"
            " document.querySelector('[data-testid=job-state]').textContent]"
        )
        return int(r[0]), str(r[1])

    first, state = sample()
    assert state == "running"
    pg.wait_for_function(f"Number(document.querySelector('[data-testid=plot-sigma]').dataset.points) > {first}")
    second, state = sample()
    assert state == "running", "the job finished before the plot was seen to grow"
    assert second > first
    assert pg.locator("[data-testid=plot-sigma] canvas").count() == 1
    assert pg.locator(".lattice rect.el[data-type=Quad]").count() >= 2
    page.audit("job page, running")
    page.shot("job-running")
    pg.locator("#cancel-job").click()
    pg.wait_for_function(
        "document.querySelector('[data-testid=job-state]').textContent === 'cancelled'", timeout=60_000
    )
    assert service.store.get(job_id).state.value == "cancelled"
    assert "result: cancelled" in pg.get_by_test_id("job-log").inner_text()
    page.shot("job-cancelled")


def test_finished_job_phase_space_downloads_and_table(page: Page, service: Any) -> None:
    page.login("alice")
    pg = page.page
    job_id = _submit_fodo(page)
    pg.wait_for_function(
        "document.querySelector('[data-testid=job-state]').textContent === 'succeeded'", timeout=120_000
    )
    heatmaps = pg.get_by_test_id("phase-space").locator("figure.heatmap")
    heatmaps.first.wait_for()
    assert sorted(heatmaps.evaluate_all("els => els.map(e => e.dataset.plane)")) == ["t-pt", "x-px", "x-y", "y-py"]
    # the histograms hold every particle of the first monitor pass
    assert "10000 particles" in pg.get_by_test_id("phase-space").locator("..").inner_text()
    pg.locator("#ps-iteration").select_option(index=2)
    pg.wait_for_function(
        "document.querySelector('#ps-iteration').selectedIndex === 2"
        " && !!document.querySelector('[data-testid=phase-space]')"
    )
    rows = int(pg.get_by_test_id("plot-sigma").get_attribute("data-points") or 0)
    assert rows == len(service.store.diagnostics(job_id)) > 0
    pg.wait_for_function("Number(document.querySelector('[data-testid=plot-energy]').dataset.points) > 0")
    assert pg.get_by_role("button", name=re.compile(r"monitor\.h5")).count() == 1
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="Diagnostics (CSV)").click()
    csv_head = Path(dl.value.path()).read_text().splitlines()[0]
    assert "sigma_x" in csv_head.split(",")
    page.audit("job page, succeeded")
    page.shot("job-succeeded")
    # the jobs table: alice's jobs with their state; the state filter asks the server
    pg.get_by_role("link", name="Jobs", exact=True).click()
    row = pg.locator(f"tr[data-job='{job_id}']")
    row.wait_for()
    assert row.get_attribute("data-state") == "succeeded"
    assert "alice" in row.inner_text()
    page.audit("jobs table")
    page.shot("jobs-table")
    pg.locator("#filter-state").select_option("cancelled")
    pg.wait_for_function(f"!document.querySelector(\"tr[data-job='{job_id}']\")")
    # resubmit from the job page: a new job with the same spec
    pg.goto(f"{page.base}/#/jobs/{job_id}")
    pg.locator("#resubmit-job").click()
    pg.wait_for_url(re.compile(r"#/jobs/(?!" + job_id + r")[0-9a-f]+$"))
    new_id = pg.url.rsplit("/", 1)[1]
    assert json.loads(service.store.get(new_id).spec) == json.loads(service.store.get(job_id).spec)


def test_validation_error_shown_at_the_field(page: Page) -> None:
    page.expect_http(422)
    page.login("alice")
    pg = page.page
    pg.get_by_role("link", name="Submit", exact=True).click()
    pg.get_by_role("button", name="Start from the FODO example").click()
    pg.get_by_test_id("spec-valid").wait_for()
    spec = json.loads(pg.locator("#spec").input_value())
    spec["beam"]["npart"] = -5
    spec["lattice"]["elements"][1]["ds"] = "long"
    text = json.dumps(spec, indent=1)
    pg.locator("#spec").fill(text)
    err = pg.locator("[data-loc='spec.beam.npart']")
    err.wait_for()
    assert "greater than or equal to 0" in err.inner_text()
    assert pg.locator("[data-loc='spec.lattice.elements[1].ds']").count() == 1
    assert pg.locator("#spec").get_attribute("aria-invalid") == "true"
    assert pg.locator("#submit-job").is_disabled()
    # "show field" selects the bad value in the editor
    err.get_by_role("button", name="show field").click()
    selected = pg.evaluate(
        "(() => { const t = document.querySelector('#spec');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
    )
    assert selected == "-5"
    line = text[: text.index('"npart"')].count("\n") + 1
    assert f"(line {line})" in err.inner_text()
    page.audit("submit, field errors")
    page.shot("submit-spec-errors")
    # a field outside the spec shows its error beside that field
    spec["beam"]["npart"] = 100
    spec["lattice"]["elements"][1]["ds"] = 0.25
    pg.locator("#spec").fill(json.dumps(spec))
    pg.get_by_test_id("spec-valid").wait_for()
    pg.locator("#priority").fill("5000")
    pg.locator("#priority-error").wait_for()
    assert "less than or equal to 1000" in pg.locator("#priority-error").inner_text()
    assert pg.locator("#priority").get_attribute("aria-invalid") == "true"
    page.shot("submit-validation")


def test_yaml_upload_is_validated(page: Page, tmp_path: Path) -> None:
    import yaml

    page.expect_http(422)
    page.login("alice")
    pg = page.page
    pg.get_by_role("link", name="Submit", exact=True).click()
    spec = json.loads(json.dumps(FODO))
    spec["beam"]["npart"] = -1
    path = tmp_path / "fodo.yaml"
    path.write_text(yaml.safe_dump(spec))
    pg.locator("#spec-file").set_input_files(str(path))
    pg.locator("[data-loc='spec.beam.npart']").wait_for()
    spec["beam"]["npart"] = 50
    path.write_text(yaml.safe_dump(spec))
    pg.locator("#spec-file").set_input_files(str(path))
    pg.get_by_test_id("spec-valid").wait_for()
    assert pg.locator("#spec").input_value().startswith("beam:")
    assert pg.locator("#submit-job").is_enabled()


def test_keyboard_only_login_and_navigation(page: Page) -> None:
    pg = page.page
    pg.goto(page.base + "/")
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.id") == "token"
    pg.keyboard.type(TOKENS["bob"])
    pg.keyboard.press("Enter")
    pg.get_by_role("heading", name="Jobs").wait_for()
    # bob sees none of alice's jobs: the API enforces it, the dashboard only carries the token
    pg.get_by_test_id("job-count").wait_for()
    assert pg.locator("tbody tr").count() == 0
    for _ in range(6):
        pg.keyboard.press("Tab")
        if pg.evaluate("document.activeElement.textContent") == "Submit":
            break
    assert pg.evaluate("document.activeElement.textContent") == "Submit"
    pg.keyboard.press("Enter")
    pg.get_by_role("heading", name="Submit a job").wait_for()


def test_admin_sees_everyones_jobs_and_1000_render(browser: Any, redis_url: str, tmp_path: Path) -> None:
    """A server without a scheduler keeps 1000 queued jobs of two users; admin lists them all."""
    from beamtrack.server.process import ServerProcess

    server = ServerProcess(_settings(redis_url, tmp_path, scheduler=False), redis_url).start()
    try:
        spec_json = json.dumps(FODO)
        for i in range(1000):
            server.store.submit(owner="alice" if i % 2 else "bob", name=f"scan-{i}", spec_json=spec_json)
        p = Page(browser, f"http://127.0.0.1:{server.http_port}")
        try:
            p.login("admin")
            pg = p.page
            t0 = time.perf_counter()
            pg.locator("#page-size").select_option("1000")
            pg.wait_for_function("document.querySelectorAll('table.jobs tbody tr').length === 1000", timeout=30_000)
            wall = time.perf_counter() - t0
            # the app measures from the fetched page to its effect after the paint of the rows
            render = pg.wait_for_function(
                "(() => { const e = performance.getEntriesByName('jobs-render')"
                ".filter(x => x.detail.rows === 1000); return e.length ? e[e.length - 1].duration : null; })()",
                timeout=30_000,
            ).json_value()
            print(
                f"\n1000-job page: {render:.0f} ms render after fetch, {wall * 1000:.0f} ms "
                "from choosing 1000 to rows in the DOM (two API pages included)"
            )
            owners = set(pg.locator("table.jobs tbody tr td:nth-child(5)").all_inner_texts())
            assert owners == {"alice", "bob"}
            pg.locator("#filter-owner").fill("bob")
            pg.wait_for_function("document.querySelectorAll('table.jobs tbody tr').length === 500")
            p.shot("jobs-1000", full_page=False)
            # a row's Cancel cancels that queued job
            first = pg.locator("table.jobs tbody tr").first
            job_id = first.get_attribute("data-job")
            first.get_by_role("button", name=re.compile("^cancel job")).click()
            pg.wait_for_function(f"document.querySelector(\"tr[data-job='{job_id}']\").dataset.state === 'cancelled'")
            assert server.store.get(job_id).state.value == "cancelled"
        finally:
            p.close()
    finally:
        server.stop()


def test_docs_offline_with_authorize(page: Page) -> None:
    pg = page.page
    pg.goto(page.base + "/docs")
    pg.get_by_role("button", name=re.compile("Authorize")).first.click()
    dialog = pg.locator(".dialog-ux")
    dialog.locator("input[type=text], input[type=password]").first.fill(TOKENS["alice"])
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.locator("button.btn-done").click()
    op = pg.locator("#operations-jobs-list_jobs_v1_jobs_get")
    op.locator(".opblock-summary").click()
    op.get_by_role("button", name="Execute").click()
    status = op.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert "Bearer alice-token" not in pg.url
    # the documented error body
    schema = pg.evaluate("fetch('/openapi.json').then(r => r.json())")
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    err = schema["paths"]["/v1/jobs"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert err == {"$ref": "#/components/schemas/ErrorBody"}
    assert schema["components"]["schemas"]["SubmitJob"]["properties"]["spec"]["$ref"].endswith("/JobSpec")
    page.shot("docs")


HOOK = """
def after_period(sim):
    sim.emit("period", float(sim.tracking_period))
    if sim.tracking_period >= 3:
        raise ZeroDivisionError("the hook gave up at period 3")
"""


def test_hook_values_plotted_and_its_traceback_shown(page: Page, service: Any) -> None:
    from beamtrack.workers.sandbox import sandbox_unsupported

    reason = sandbox_unsupported()
    if reason:
        pytest.skip(f"the hook sandbox cannot run on this host: {reason}")
    page.login("alice")
    pg = page.page
    pg.get_by_role("link", name="Submit", exact=True).click()
    pg.get_by_role("button", name="Start from the FODO example").click()
    pg.get_by_text("Hook module (optional)").click()
    pg.locator("#hook").fill(HOOK)
    pg.get_by_test_id("spec-valid").wait_for()
    pg.locator("#submit-job").click()
    pg.get_by_test_id("job-state").wait_for()
    pg.wait_for_function("document.querySelector('[data-testid=job-state]').textContent === 'failed'", timeout=120_000)
    error = pg.get_by_test_id("job-error")
    error.wait_for()
    text = error.inner_text()
    assert "ZeroDivisionError: the hook gave up at period 3" in text
    assert 'File "<hook_module>"' in text, text
    plot = pg.get_by_test_id("plot-custom-period")
    plot.wait_for()
    pg.wait_for_function("Number(document.querySelector('[data-testid=plot-custom-period]').dataset.points) === 3")
    page.audit("job page, failed")
    page.shot("job-failed-hook")
