"""The dashboard's Scans pages in headless Chromium against a real service (the fixtures and the
console-watching Page of test_dashboard.py): submit a scan, follow its progress to the end, the
results table and the plot; cancel a scan mid-way; a refused variant shown at its field.

Screenshots go to out/e2e/scan-*.png.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import test_dashboard as td
from test_dashboard import FODO, Page

# the dashboard tests' fixtures: a module's own Redis, service on a local Ray and browser
redis_url, service, browser, page = td.redis_url, td.service, td.browser, td.page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

K = "lattice.elements[name=quad1].k"
Q = "beam.bunch_charge_C"


def _scan(parameters: dict[str, Any], *, npart: int = 500, periods: int = 5, **extra: Any) -> dict[str, Any]:
    base = json.loads(json.dumps(FODO))
    base["beam"]["npart"] = npart
    base["lattice"]["periods"] = periods
    return {"name": "e2e-scan", "base": base, "mode": "grid", "parameters": parameters, **extra}


def _submit(p: Page, scan: dict[str, Any]) -> str:
    """Submit ``scan`` (as JSON text) from the Submit scan page; the scan id."""
    pg = p.page
    pg.goto(f"{p.base}/#/scans/new")
    pg.locator("#scan-spec").fill(json.dumps(scan, indent=1))
    pg.get_by_test_id("scan-summary").wait_for()
    pg.locator("#submit-scan").click()
    pg.get_by_test_id("scan-state").wait_for()
    m = re.search(r"#/scans/([0-9a-f]+)$", pg.url)
    assert m, pg.url
    return m.group(1)


def _counts(p: Page) -> dict[str, int]:
    return {
        k: int(v)
        for k, v in p.page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-testid=scan-counts] [data-state]')]"
            ".map(e => [e.dataset.state, e.dataset.count]))"
        ).items()
    }


def test_scan_submit_progress_results_and_plot(page: Page, service: Any) -> None:
    page.login("alice")
    pg = page.page
    pg.get_by_role("link", name="Scans", exact=True).click()
    pg.get_by_role("heading", name="Scans").wait_for()
    pg.get_by_role("link", name="Submit a scan").click()
    # the shipped example: YAML whose base names fodo.json, which the dashboard bundles
    pg.get_by_role("button", name="Start from the FODO scan example").click()
    summary = pg.get_by_test_id("scan-summary")
    summary.wait_for()
    assert "grid scan of 2 parameter(s), 6 variant(s); base: the bundled fodo.json" in summary.inner_text()
    page.audit("submit scan")
    page.shot("scan-submit")
    # four variants of 500 particles
    scan_id = _submit(page, _scan({K: [0.8, 1.2], Q: [1e-9, 2e-9]}))
    assert pg.get_by_test_id("scan-progress").get_attribute("max") == "4"
    pg.wait_for_function(
        "document.querySelector('[data-testid=scan-state]').textContent === 'succeeded'", timeout=120_000
    )
    assert _counts(page) == {"queued": 0, "running": 0, "succeeded": 4, "failed": 0, "cancelled": 0}
    assert pg.get_by_test_id("scan-progress").get_attribute("value") == "4"
    table = pg.get_by_test_id("results-table")
    pg.wait_for_function(
        "document.querySelectorAll('[data-testid=results-table] tbody tr[data-state=succeeded]').length === 4"
    )
    head = table.locator("thead th").all_inner_texts()
    assert head[:7] == ["variant", "job_id", "state", "attempts", "cached_from", K, Q]
    assert "sigma_x" in head and "emittance_x" in head
    # every variant's job is linked; its final sigma_x is the table's
    first = table.locator("tbody tr[data-variant='0']")
    job_id = service.store.scan_job_ids(scan_id)[0]
    assert first.get_by_role("link").get_attribute("href") == f"#/jobs/{job_id}"
    sigma = float(first.locator("td").nth(head.index("sigma_x")).inner_text())
    assert sigma == pytest.approx(service.store.diagnostics(job_id)[-1]["sigma_x"], rel=1e-5)
    # the plot: k against a result column, all four points
    plot = pg.get_by_test_id("scan-plot")
    assert pg.locator("#plot-x").input_value() == K
    assert pg.locator("#plot-y").input_value() == "sigma_x"
    pg.wait_for_function("Number(document.querySelector('[data-testid=scan-plot]').dataset.points) === 4")
    assert plot.locator("canvas").count() == 1
    # any parameter against any column, one series per charge, by keyboard
    pg.locator("#plot-y").focus()
    while pg.locator("#plot-y").input_value() != "emittance_x":
        pg.keyboard.press("ArrowDown")
    pg.locator("#plot-by").select_option(Q)
    pg.locator("#plot-style").select_option("lines")
    pg.wait_for_function(
        "document.querySelector('[data-testid=scan-plot] .u-title').textContent === 'emittance_x vs " + K + "'"
        " && Number(document.querySelector('[data-testid=scan-plot]').dataset.points) === 4"
    )
    assert plot.locator(".u-legend .u-series").count() == 3  # x and one per charge
    pg.locator("#plot-x").select_option(Q)
    pg.wait_for_function(
        f"document.querySelector('[data-testid=scan-plot] .u-title').textContent === 'emittance_x vs {Q}'"
    )
    page.audit("scan page, succeeded")
    page.shot("scan-succeeded")
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="Results (CSV)").click()
    lines = Path(dl.value.path()).read_text().splitlines()
    assert lines[0].split(",")[:6] == head[:6] and len(lines) == 5
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="Results (Parquet)").click()
    assert Path(dl.value.path()).read_bytes()[:4] == b"PAR1"
    # the scans list, then a variant's job page from the table
    pg.get_by_role("link", name="← all scans").click()
    row = pg.locator(f"tr[data-scan='{scan_id}']")
    row.wait_for()
    assert row.get_attribute("data-state") == "succeeded"
    assert "alice" in row.inner_text() and "4 / 4" in row.inner_text()
    page.audit("scans list")
    page.shot("scans-list")
    row.get_by_role("link", name="e2e-scan").click()
    pg.get_by_role("link", name="job of variant 2").click()
    pg.wait_for_function("document.querySelector('[data-testid=job-state]')?.textContent === 'succeeded'")
    assert pg.url.endswith(f"#/jobs/{service.store.scan_job_ids(scan_id)[2]}")


def test_scan_cancelled_mid_way(page: Page, service: Any) -> None:
    page.login("alice")
    pg = page.page
    # one particle count per variant: no two share a pack, so they run one job each, two at a time
    t0 = time.perf_counter()
    scan_id = _submit(page, _scan({"beam.npart": list(range(500, 510))}, periods=30, use_cache=False))
    # cancel once a variant has finished and others have not
    pg.wait_for_function(
        "document.querySelector('[data-testid=scan-counts] [data-state=succeeded]').dataset.count > 0"
        " || document.querySelector('[data-testid=scan-state]').textContent !== 'running'"
        " && document.querySelector('[data-testid=scan-state]').textContent !== 'queued'",
        timeout=120_000,
    )
    assert pg.get_by_test_id("scan-state").inner_text() == "running", "the scan ended before it was cancelled"
    first_done = time.perf_counter() - t0
    page.audit("scan page, running")
    page.shot("scan-running")
    pg.locator("#cancel-scan").click()
    pg.wait_for_function(
        "document.querySelector('[data-testid=scan-state]').textContent === 'cancelled'", timeout=60_000
    )
    print(
        f"\nscan of 10: first variant done {first_done:.1f} s after submit, cancelled "
        f"{time.perf_counter() - t0:.1f} s after submit"
    )
    counts = _counts(page)
    assert counts["succeeded"] >= 1 and counts["cancelled"] >= 1 and counts["queued"] == counts["running"] == 0, counts
    assert not pg.locator("#cancel-scan").count()
    states = [j.state.value for j in service.store.jobs(service.store.scan_job_ids(scan_id))]
    assert states.count("cancelled") == counts["cancelled"]
    pg.wait_for_function(
        "document.querySelectorAll('[data-testid=results-table] tbody tr[data-state=cancelled]').length"
        f" === {counts['cancelled']}"
    )
    # the plot holds the succeeded variants only
    pg.wait_for_function(
        f"Number(document.querySelector('[data-testid=scan-plot]').dataset.points) === {counts['succeeded']}"
    )
    page.shot("scan-cancelled")


def test_scan_validation_errors_at_the_field(page: Page, tmp_path: Path) -> None:
    page.expect_http(422)
    page.login("alice")
    pg = page.page
    pg.goto(f"{page.base}/#/scans/new")
    scan = _scan({K: [0.8, 1.2], "beam.npart": [500, -5]})
    text = json.dumps(scan, indent=1)
    pg.locator("#scan-spec").fill(text)
    pg.get_by_test_id("scan-summary").wait_for()
    pg.locator("#submit-scan").click()
    # variant 1 (k = 0.8, npart = -5) is refused, named by its variant and field
    err = pg.locator("[data-loc='scan.variants[1].beam.npart']")
    err.wait_for()
    assert "greater than or equal to 0" in err.inner_text()
    assert pg.locator("#scan-spec").get_attribute("aria-invalid") == "true"
    err.get_by_role("button", name="show field").click()
    selected = pg.evaluate(
        "(() => { const t = document.querySelector('#scan-spec');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
    )
    assert selected == "-5"
    page.audit("submit scan, field errors")
    page.shot("scan-submit-errors")
    # a path that finds nothing, and a priority out of range, beside their fields
    scan = _scan({"lattice.elements[name=q9].k": [1.0]})
    pg.locator("#scan-spec").fill(json.dumps(scan, indent=1))
    pg.locator("#scan-priority").fill("5000")
    pg.locator("#submit-scan").click()
    pg.locator("#scan-priority-error").wait_for()
    assert "less than or equal to 1000" in pg.locator("#scan-priority-error").inner_text()
    pg.locator("#scan-priority").fill("0")
    pg.locator("#submit-scan").click()
    err = pg.locator("[data-loc='scan.parameters.lattice.elements[name=q9].k']")
    err.wait_for()
    assert "no element named 'q9'" in err.inner_text()
    assert "(line " in err.inner_text()
    # a base named by a file the dashboard does not bundle: upload it
    (tmp_path / "mine.json").write_text(json.dumps(FODO))
    pg.locator("#scan-spec").fill("base: mine.json\nparameters:\n  beam.npart: [500, 600]\n")
    pg.locator("[data-loc='scan.base']").wait_for()
    assert pg.locator("#submit-scan").is_disabled()
    pg.locator("#base-file").set_input_files(str(tmp_path / "mine.json"))
    pg.get_by_test_id("scan-summary").wait_for()
    assert "2 variant(s)" in pg.get_by_test_id("scan-summary").inner_text()
    assert pg.locator("#submit-scan").is_enabled()
