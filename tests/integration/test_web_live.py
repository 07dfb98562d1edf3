"""The live tab of `swarmgate web` in a real headless Chromium: log in, start a test through the UI's
form, watch the SLA live and Gates tabs change, see the gate stop the test and the verdict, and open
that test's report through the UI's own link. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.browser import CHROMIUM_ARGS, SCREENSHOTS, chromium_path
from tests.helpers import SWARMGATE, closed_port, stop, wait_for_web_ui

pytestmark = pytest.mark.integration
PASSWORD = "live-tab-test-password"
SLA = """
[defaults]
p95_ms = { target = 100, alert = 150, abort_after = "8s" }
error_ratio = { target = 0.01, alert = 0.02 }
"""


def table_text(page, tab: str) -> str:
    page.get_by_role("tab", name=tab).click()
    return page.locator("table").first.inner_text()


def test_the_live_tab_follows_a_test_started_in_the_ui_to_its_verdict_and_report(tmp_path):
    assert chromium_path(), "Chromium is missing: ./run_tests.sh installs Debian's chromium package"
    from playwright.sync_api import sync_playwright

    (tmp_path / "sla.toml").write_text(SLA)
    port = closed_port()
    ui = subprocess.Popen([*SWARMGATE, "web", "--web-port", str(port), "--web-login", "--results-dir", "results",
                           "--sla", "sla.toml", "--demo-latency", "*=200"], cwd=tmp_path,
                          env={**os.environ, "SWARMGATE_WEB_PASSWORD": PASSWORD}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        wait_for_web_ui(base, ui)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base)
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.locator("button[type=submit]").click()
            page.fill("input[name=userCount]", "16")
            page.fill("input[name=spawnRate]", "16")
            page.get_by_role("button", name="Start").click()

            page.get_by_role("tab", name="Gates").click(timeout=20_000)
            page.wait_for_function("() => document.body.innerText.includes('stops in')", timeout=30_000)
            first = table_text(page, "Gates")
            page.screenshot(path=str(SCREENSHOTS / "web-live-gates-1.png"))
            page.wait_for_function("(before) => document.querySelector('table').innerText !== before", arg=first,
                                   timeout=15_000)  # fmt: skip
            second = table_text(page, "Gates")
            page.screenshot(path=str(SCREENSHOTS / "web-live-gates-2.png"))
            assert first != second and "stops in" in first  # the countdown moved between the two screenshots
            sla = table_text(page, "SLA live")
            assert "verdict so far (steady stages)" in sla and "🔴 fail" in sla and "p95_ms" in sla
            page.screenshot(path=str(SCREENSHOTS / "web-live-sla.png"))

            deadline = time.monotonic() + 60  # the gate stops the test; swarmgate web then writes its report
            while json.loads(page.request.get(f"{base}/swarmgate/live.json").text())["report"] is None:
                assert time.monotonic() < deadline and ui.poll() is None, "no report after the gate stopped the test"
                time.sleep(0.5)
            page.reload()
            sla = table_text(page, "SLA live")
            assert "STOPPED BY A GATE: aborted at 0:" in sla, sla
            page.screenshot(path=str(SCREENSHOTS / "web-live-verdict.png"))
            page.get_by_role("tab", name="Download Data").click()
            link = page.get_by_role("link", name="swarmgate report of the last test (once it ended)")
            href = link.get_attribute("href")
            assert href == "swarmgate/report", href
            page.goto(f"{base}/{href}")  # the link as the browser resolves it (Locust marks it a download)
            assert "aborted by a gate" in page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "web-live-report.png"))
            assert errors == [], errors
            browser.close()
        import requests

        anonymous = requests.get(f"{base}/swarmgate/live.json", timeout=5, allow_redirects=False)
        assert anonymous.status_code in (302, 401)  # behind the login, like the rest of the UI
        foreign = requests.get(f"{base}/swarmgate/live.json", timeout=5, headers={"Host": "evil.example:80"})
        assert foreign.status_code == 403  # the Host check covers the new routes
    finally:
        stop(ui)
    assert "Traceback" not in ui.stderr.read()
