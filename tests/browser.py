"""Open a report in a real headless Chromium (Debian's), with the network cut, and say what happened.

Playwright drives the system Chromium (`executable_path`); it never downloads a browser. Every
request that is not the file itself is aborted and recorded, the context is offline, console
errors, page errors and dialogs (alert/confirm) are collected, and each chart canvas is checked
for drawn pixels.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"

# For every canvas marked data-chart: does Chart.js own it, how many points, how many drawn pixels, the range of
# its x axis and its points' x values (each once, in order).
CANVASES = """() => Array.from(document.querySelectorAll("canvas[data-chart]")).map((canvas) => {
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) drawn++;
  const points = chart ? chart.data.datasets.reduce((n, d) => n + d.data.filter((p) => p !== null &&
    (typeof p !== "object" || p.y !== null)).length, 0) : 0;
  const x = chart && chart.scales.x ? [chart.scales.x.min, chart.scales.x.max] : null;
  const xs = chart ? chart.data.datasets.flatMap((d) => d.data.filter((p) => p !== null && typeof p === "object" &&
    p.y !== null).map((p) => p.x)) : [];
  const pointsX = [...new Set(xs)].sort((a, b) => a - b);
  return {id: canvas.id, chart: !!chart, points, drawn, x, pointsX, width: canvas.width, height: canvas.height};
})"""


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    canvases: list[dict] = field(default_factory=list)
    text: str = ""
    globals: dict = field(default_factory=dict)
    picked: list[tuple[str, list[dict]]] = field(default_factory=list)  # (option text, canvases) per option
    screenshot: Path | None = None


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def visit(html: Path, screenshot_name: str, probe_globals: tuple[str, ...] = (), cycle: str | None = None) -> PageVisit:
    """Open `html` as a file:// page offline; with `cycle`, choose every option of that <select> in turn."""
    from playwright.sync_api import sync_playwright

    found = PageVisit()
    target = html.resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, offline=True)

            def guard(route) -> None:
                if route.request.url == target:
                    route.continue_()
                else:
                    found.blocked_requests.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and found.console_errors.append(m.text))
            page.on("pageerror", lambda e: found.page_errors.append(str(e)))
            page.on("dialog", lambda d: (found.dialogs.append(d.message), d.dismiss()))
            page.goto(target, wait_until="load")
            found.canvases = page.evaluate(CANVASES)
            if cycle:
                options = page.locator(f"#{cycle} option").all_inner_texts()
                for index, text in enumerate(options):
                    page.select_option(f"#{cycle}", index=index)
                    found.picked.append((text, page.evaluate(CANVASES)))
                page.select_option(f"#{cycle}", index=0)
            found.text = page.inner_text("body")
            found.globals = {name: page.evaluate(f"() => typeof window[{name!r}] === 'undefined' ? null : "
                                                 f"String(window[{name!r}])") for name in probe_globals}  # fmt: skip
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            found.screenshot = SCREENSHOTS / f"{screenshot_name}.png"
            page.screenshot(path=str(found.screenshot), full_page=True)
        finally:
            browser.close()
    return found
