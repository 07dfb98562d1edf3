"""The target's own metrics during a run, into `server_metrics.csv` (timestamp, name, value, source).

Two sources, one per run: `--scrape URL` reads the target's `/metrics` every second in a background
thread while Locust runs (swarmgate.scrape derives the values); `--prometheus URL` asks a Prometheus
server's HTTP API (`/api/v1/query_range`) for each `[[server]]` query over the run's window once the run
has ended. Both are checked before the run starts (unreachable: exit 3; a query Prometheus refuses:
exit 2). During and after the run a failing source never stops or slows the load: what it could not
give is noted per metric (run.json's `server_metrics.notes`) and the analyzer reports it as not computed.

Prometheus is asked with `requests` (already a dependency) rather than a client package: the API is
two GET endpoints answering JSON, and the client packages on PyPI pull in pandas/matplotlib-sized
dependencies or are unmaintained.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from swarmgate.analysis.server_rules import ServerRule
from swarmgate.core.config import printable
from swarmgate.core.errors import BadInput, RunFailed, SwarmgateError
from swarmgate.core.files import write_atomic
from swarmgate.core.redact import strip_credentials
from swarmgate.locustfiles.auth import from_env
from swarmgate.scrape import RATE_WINDOW_S, derive, parse_page
from swarmgate.target import validate_url

COLUMNS = ["timestamp", "name", "value", "source"]
TOKEN_VARIABLE = "SWARMGATE_METRICS_TOKEN"  # bearer token for --prometheus / --scrape (or its _FILE)
SCRAPE_INTERVAL_S = 1.0
REQUEST_TIMEOUT_S = 2.0  # a hanging endpoint costs at most this per scrape, never the run
STEP_S = 5.0  # Prometheus query_range resolution, by default (--prometheus-step)
MAX_PAGE_BYTES = 20_000_000  # a /metrics page is KBs to a few MB; more would eat the orchestrator's memory
MAX_POINTS = 11_000  # Prometheus' own limit of points per series in one query_range answer


class PageTooLarge(ValueError):
    """A /metrics page beyond MAX_PAGE_BYTES: not read further."""


class QueryRefused(Exception):
    """Prometheus answered, and refused the query (its error text is the message)."""


@dataclass
class Collected:
    """What a source gathered: rows for server_metrics.csv and, per metric, why it has no value."""

    source: str
    url: str  # without credentials
    rows: list[tuple[float, str, float]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    step_s: float = SCRAPE_INTERVAL_S  # seconds between values

    def facts(self, rules: tuple[ServerRule, ...]) -> dict:
        """run.json's `server_metrics`: the source, and what was asked of it (no credentials)."""
        asked = {r.name: (r.query if self.source == "prometheus" else _scrape_text(r)) for r in rules}
        return {"source": self.source, "url": self.url, "step_s": self.step_s,
                "metrics": {k: v for k, v in asked.items() if v}, "notes": self.notes}  # fmt: skip


def _scrape_text(rule: ServerRule) -> str | None:
    spec = rule.scrape
    if spec is None:
        return None
    text = f"{spec.kind} {spec.metric}" + (f" / {spec.divide_by}" if spec.divide_by else "")
    text += f" q{spec.quantile:g}" if spec.quantile else ""
    return text + "".join(f' {k}="{v}"' for k, v in spec.labels)


def session() -> requests.Session:
    """An HTTP session with the bearer token of SWARMGATE_METRICS_TOKEN(_FILE), if set; no proxies."""
    http = requests.Session()
    http.trust_env = False  # loopback and the team's own network: no proxy, no .netrc credentials
    token = from_env(TOKEN_VARIABLE)
    if token:
        http.headers["Authorization"] = f"Bearer {token}"
    return http


def write_server_metrics(run_dir: Path, rows: list[tuple[float, str, float]], source: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((f"{t:.3f}", name, repr(value), source) for t, name, value in sorted(rows))
    write_atomic(run_dir / "server_metrics.csv", out.getvalue())


class Scraper:
    """Reads /metrics every second in a thread of its own; `stop()` ends it and returns what it gathered."""

    def __init__(self, url: str, rules: tuple[ServerRule, ...], max_duration_s: float) -> None:
        self.url = validate_url(url, "--scrape", "http://127.0.0.1:8000/metrics")
        self.rules = tuple(r for r in rules if r.scrape is not None)
        self.collected = Collected("scrape", strip_credentials(self.url))
        for rule in rules:
            if rule.scrape is None:
                self.collected.notes[rule.name] = "no scrape = { ... } for --scrape"
        self.max_samples = math.ceil(max_duration_s / SCRAPE_INTERVAL_S) + 1
        self.http = session()
        self.pages: deque[tuple[float, dict]] = deque()
        self.failures = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="swarmgate-scrape", daemon=True)
        self.live_file: Path | None = None  # the latest values, for the live judge's gates inside Locust

    def probe(self) -> None:
        """Before the run: the endpoint answers with Prometheus text, or RunFailed (exit 3)."""
        try:
            self._page()
        except (requests.RequestException, ValueError) as exc:
            raise RunFailed(f"--scrape {self.collected.url}: no metrics page ({_why(exc)}); start the target's "
                            "/metrics endpoint or fix --scrape") from None  # fmt: skip

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> Collected:
        self.stopped.set()
        self.thread.join(timeout=REQUEST_TIMEOUT_S + 5)
        self.http.close()  # no idle keep-alive connection left: the demo's stop would wait a second for it
        valued = {name for _, name, _ in self.collected.rows}
        for rule in self.rules:
            if rule.name not in valued:
                self.collected.notes[rule.name] = f"no value from {rule.scrape.metric} on {self.collected.url}"
        if self.failures:
            self.collected.notes["scrape"] = f"{self.failures} scrape(s) failed or timed out"
        return self.collected

    def _page(self) -> dict:
        with self.http.get(self.url, timeout=REQUEST_TIMEOUT_S, stream=True) as answer:
            answer.raise_for_status()
            body = answer.raw.read(MAX_PAGE_BYTES + 1, decode_content=True)
        if len(body) > MAX_PAGE_BYTES:
            raise PageTooLarge(f"a page over {MAX_PAGE_BYTES:,} bytes")
        return parse_page(body.decode("utf-8", "replace"))

    def _loop(self) -> None:
        next_at = time.monotonic()
        for _ in range(self.max_samples):  # bounded: the run's longest possible duration
            next_at += SCRAPE_INTERVAL_S
            if self.stopped.wait(max(0.0, next_at - time.monotonic())):
                return
            try:
                page = self._page()
            except (requests.RequestException, ValueError):
                self.failures += 1
                continue
            self.sample(time.time(), page)

    def sample(self, now: float, page: dict) -> None:
        """Derive every rule's value at this page (rates against the oldest page of the window)."""
        self.pages.append((now, page))
        while self.pages and self.pages[0][0] < now - RATE_WINDOW_S - SCRAPE_INTERVAL_S / 2:
            self.pages.popleft()
        before = self.pages[0] if len(self.pages) > 1 else None
        latest = {}
        for rule in self.rules:
            value = derive(rule.scrape, (now, page), before)
            if value is not None and math.isfinite(value):
                self.collected.rows.append((now, rule.name, value * rule.scale))
                latest[rule.name] = value * rule.scale
        if self.live_file is not None:
            try:
                write_atomic(self.live_file, json.dumps({"time": now, "values": latest}))
            except OSError:
                pass  # the gates see no fresh value and wait; server_metrics.csv is written at the end


def _why(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {REQUEST_TIMEOUT_S:g} s"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unreachable"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, PageTooLarge):
        return str(exc)
    if isinstance(exc, ValueError):
        return "not Prometheus text format"
    return type(exc).__name__


class Prometheus:
    """A Prometheus server's HTTP API: each rule's `query` checked before the run, its range read after."""

    def __init__(self, url: str, rules: tuple[ServerRule, ...], step_s: float = STEP_S) -> None:
        self.url = validate_url(url, "--prometheus", "http://127.0.0.1:9090")
        self.step_s = step_s
        self.rules = tuple(r for r in rules if r.query)
        self.unasked = tuple(r.name for r in rules if not r.query)
        self.shown = strip_credentials(self.url)
        self.http = session()

    def _get(self, path: str, params: dict) -> dict:
        """The API's `data`; RunFailed when it cannot be reached, BadInput for a refused token, QueryRefused
        (with Prometheus' error) for a query it cannot run."""
        try:
            answer = self.http.get(f"{self.url}{path}", params=params, timeout=REQUEST_TIMEOUT_S * 5)
        except requests.RequestException as exc:
            raise RunFailed(f"--prometheus {self.shown}: unreachable ({_why(exc)}); start it or fix "
                            "--prometheus") from None  # fmt: skip
        if answer.status_code in (401, 403):
            raise BadInput(f"--prometheus {self.shown}: HTTP {answer.status_code}; set {TOKEN_VARIABLE} (or "
                           f"{TOKEN_VARIABLE}_FILE) to a bearer token it accepts")  # fmt: skip
        try:
            document = answer.json()
        except ValueError:
            raise RunFailed(f"--prometheus {self.shown}: HTTP {answer.status_code} without a JSON answer; is it a "
                            "Prometheus server's base URL?") from None  # fmt: skip
        if document.get("status") != "success":
            raise QueryRefused(str(document.get("error") or f"HTTP {answer.status_code}"))
        return document.get("data") or {}

    def probe(self) -> None:
        """Before the run: every query is valid PromQL that Prometheus accepts (exit 2 naming the query)."""
        for rule in self.rules:
            try:
                self._get("/api/v1/query", {"query": rule.query})
            except QueryRefused as exc:
                raise BadInput(f"[[server]] {rule.name}: Prometheus refused the query {rule.query!r} "
                               f"({printable(str(exc), 200)}); fix it in the SLA file") from None  # fmt: skip

    def collect(self, start: float, end: float) -> Collected:
        """Each query's values over [start, end] every STEP_S; a query that fails is noted, never raised."""
        step = max(self.step_s, (end - start) / MAX_POINTS)
        collected = Collected("prometheus", self.shown, step_s=step)
        collected.notes.update((name, "no query = '...' for --prometheus") for name in self.unasked)
        for rule in self.rules:
            try:
                data = self._get("/api/v1/query_range", {"query": rule.query, "start": f"{start:.3f}",
                                                         "end": f"{end:.3f}", "step": f"{step:g}"})  # fmt: skip
            except QueryRefused as exc:
                collected.notes[rule.name] = f"Prometheus refused the query ({printable(str(exc), 200)})"
                continue
            except SwarmgateError as exc:
                collected.notes[rule.name] = exc.message
                continue
            series = data.get("result") or []
            if len(series) != 1:
                collected.notes[rule.name] = ("the query returned no series" if not series else
                                              f"the query returned {len(series)} series; aggregate them to one "
                                              "(e.g. sum(...))")  # fmt: skip
                continue
            for stamp, text in series[0].get("values") or []:
                value = float(text)
                if math.isfinite(value):
                    collected.rows.append((float(stamp), rule.name, value * rule.scale))
        return collected


class MetricsSource:
    """No source of server metrics for this run; the reason goes to run.json."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @contextmanager
    def during(self, live_file: Path | None = None) -> Iterator[None]:
        """While Locust runs (a scraper reads the target meanwhile, and keeps live_file current)."""
        yield

    def finish(self, run_dir: Path, start: float, end: float) -> dict:
        """After the run: write server_metrics.csv (when there is a source); run.json's `server_metrics`."""
        return {"source": None, "note": self.reason}


class ScrapeSource(MetricsSource):
    def __init__(self, scraper: Scraper, rules: tuple[ServerRule, ...]) -> None:
        super().__init__("")
        self.scraper, self.rules = scraper, rules
        self.collected = Collected("scrape", scraper.collected.url, notes={"scrape": "the run ended before it began"})

    @contextmanager
    def during(self, live_file: Path | None = None) -> Iterator[None]:
        self.scraper.live_file = live_file
        self.scraper.start()
        try:
            yield
        finally:
            self.collected = self.scraper.stop()
            if live_file is not None:
                live_file.unlink(missing_ok=True)

    def finish(self, run_dir: Path, start: float, end: float) -> dict:
        write_server_metrics(run_dir, self.collected.rows, "scrape")
        return self.collected.facts(self.rules)


class PrometheusSource(MetricsSource):
    def __init__(self, prometheus: Prometheus, rules: tuple[ServerRule, ...]) -> None:
        super().__init__("")
        self.prometheus, self.rules = prometheus, rules

    def finish(self, run_dir: Path, start: float, end: float) -> dict:
        collected = self.prometheus.collect(start, end)
        write_server_metrics(run_dir, collected.rows, "prometheus")
        return collected.facts(self.rules)


def source_for(prometheus: str | None, scrape: str | None, rules: tuple[ServerRule, ...],
               max_duration_s: float, step_s: float = STEP_S) -> MetricsSource | None:  # fmt: skip
    """The source the options name, checked now (before the run); None when they name none."""
    if prometheus and scrape:
        raise BadInput("--prometheus and --scrape: give one source of server metrics")
    if prometheus:
        source = Prometheus(prometheus, rules, step_s)
        source.probe()
        return PrometheusSource(source, rules) if rules else MetricsSource("the SLA file has no [[server]] tables")
    if scrape:
        return demo_source(scrape, rules, max_duration_s)
    return None


def demo_source(url: str | None, rules: tuple[ServerRule, ...], max_duration_s: float) -> MetricsSource:
    """Scraping `url` (checked now); without a URL, no source."""
    if url is None:
        return MetricsSource("no --scrape or --prometheus for this target")
    scraper = Scraper(url, rules, max_duration_s)
    scraper.probe()
    return ScrapeSource(scraper, rules) if rules else MetricsSource("the SLA file has no [[server]] tables")
