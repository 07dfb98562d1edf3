"""The run's live metrics in Prometheus' text format, for a team's own Prometheus and Grafana.

The master (or the single local process) serves `/metrics` from its own small gevent WSGI server
when `--metrics-port` is set. Nothing runs per request: a scrape reads what Locust and the recorders
already hold (Locust's stats, merged from the workers' reports on a master; the journeys; the current
stage; the live checks when there are any), so a scrape costs nothing between scrapes and its numbers are
Locust's own, at most one worker report (about 3 s) behind on a master.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator

from gevent.pywsgi import WSGIServer
from locust.env import Environment
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from swarmgate.core.histogram import cumulative
from swarmgate.core.net import is_loopback
from swarmgate.locustfiles.recording.common import listen

# Histogram bounds in ms: prometheus_client's default buckets (5 ms to 10 s, with the default SLA's
# 500 ms target and 750 ms alert among them), then 30 s and 60 s for requests that time out.
BOUNDS_MS = (5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000, 30000, 60000)
LE_LABELS = [floatToGoString(ms / 1000) for ms in BOUNDS_MS]
STATUSES = ("pass", "warn", "fail")
ENDPOINT_LABELS = ["method", "name"]
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
logger = logging.getLogger(__name__)


class RunCollector(Collector):
    """Reads the run's state when Prometheus scrapes: per-endpoint counters and latency, users, stage, checks."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    def collect(self) -> Iterator:
        yield self.run_info()
        yield from self.endpoints()
        yield GaugeMetricFamily("swarmgate_users", "Users running now (on every worker together).",
                                value=self.environment.runner.user_count if self.environment.runner else 0)  # fmt: skip
        yield from self.journeys()
        stage = self.current_stage()
        if stage is not None:
            yield stage
        live = getattr(self.environment, "swarmgate_live", None)
        if live is not None:
            yield from self.checks(live.state())

    def run_info(self) -> InfoMetricFamily:
        options = self.environment.parsed_options
        return InfoMetricFamily("swarmgate_run", "The scenario and run id of this run.",
                                value={"scenario": getattr(options, "scenario", "") or "",
                                       "run_id": getattr(options, "run_id", "") or ""})  # fmt: skip

    def endpoints(self) -> Iterator:
        requests = CounterMetricFamily("swarmgate_requests", "Requests made, by endpoint.", labels=ENDPOINT_LABELS)
        failures = CounterMetricFamily("swarmgate_request_failures", "Requests that failed, by endpoint.",
                                       labels=ENDPOINT_LABELS)  # fmt: skip
        latency = HistogramMetricFamily("swarmgate_response_time_seconds",
                                        "Response times by endpoint, exact to Locust's buckets (about two "
                                        "significant digits).", labels=ENDPOINT_LABELS)  # fmt: skip
        for entry in list(self.environment.stats.entries.values()):
            labels = [entry.method or "", entry.name]
            requests.add_metric(labels, entry.num_requests)
            failures.add_metric(labels, entry.num_failures)
            counts = cumulative(entry.response_times, BOUNDS_MS)
            timed = sum(entry.response_times.values())  # requests without a response time are not in the histogram
            buckets = [*zip(LE_LABELS, counts, strict=True), ("+Inf", timed)]
            latency.add_metric(labels, buckets, entry.total_response_time / 1000)
        return requests, failures, latency

    def journeys(self) -> Iterator:
        """Journeys by outcome and the durations of completed ones, kept apart from the requests."""
        recorder = getattr(self.environment, "swarmgate_journeys", None)
        totals = recorder.totals() if recorder is not None else {}
        outcomes = CounterMetricFamily("swarmgate_journeys", "Journeys by outcome (started, completed, failed, "
                                       "abandoned).", labels=["journey", "outcome"])  # fmt: skip
        durations = HistogramMetricFamily("swarmgate_journey_duration_seconds", "Durations of completed journeys, "
                                          "exact to Locust's buckets.", labels=["journey"])  # fmt: skip
        for name, tally in sorted(totals.items()):
            for outcome in ("started", "completed", "failed", "abandoned"):
                outcomes.add_metric([name, outcome], getattr(tally, outcome))
            counts = cumulative(tally.durations, BOUNDS_MS)
            buckets = [*zip(LE_LABELS, counts, strict=True), ("+Inf", tally.completed)]
            durations.add_metric([name], buckets, tally.total_ms / 1000)
        return outcomes, durations

    def current_stage(self) -> InfoMetricFamily | None:
        """The stage running now, as the recorder of stages.json sees it; none between tests."""
        stages = getattr(self.environment, "swarmgate_stages", None)
        if stages is None or not stages.stages or stages.stages[-1].end is not None:
            return None
        stage = stages.stages[-1]
        return InfoMetricFamily("swarmgate_stage", "The stage running now (steady: judged by the SLA).",
                                value={"stage": stage.name, "steady": str(stage.steady).lower()})  # fmt: skip

    @staticmethod
    def checks(state: dict) -> Iterator[GaugeMetricFamily]:
        """Live SLA checks by status, and the verdict they add up to so far (1 on its status, 0 on the others)."""
        found = [check.get("status") for check in state.get("checks", [])]
        checks = GaugeMetricFamily("swarmgate_checks", "Live SLA checks by status.", labels=["status"])
        verdict = GaugeMetricFamily("swarmgate_verdict", "The live verdict: 1 on its status.", labels=["status"])
        for status in STATUSES:
            checks.add_metric([status], found.count(status))
            verdict.add_metric([status], 1 if state.get("verdict") == status else 0)
        yield checks
        yield verdict


def loopback_names_only(app: Callable, host: str, port: int) -> Callable:
    """On loopback, answer only requests addressed to a loopback name: a web page whose own name was
    made to resolve to 127.0.0.1 (DNS rebinding) cannot read the metrics. Elsewhere any name goes (a
    Prometheus server may scrape the address under a DNS name of its own)."""
    if not is_loopback(host):
        return app
    allowed = {*LOOPBACK_NAMES, *(f"{name}:{port}" for name in LOOPBACK_NAMES)}

    def guarded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("HTTP_HOST", "") not in allowed:
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not a loopback name\n"]
        return app(environ, start_response)

    return guarded


class MetricsEndpoint:
    """Serves RunCollector at http://HOST:PORT/metrics until Locust quits (master or local node only)."""

    def __init__(self, environment: Environment, host: str, port: int) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(RunCollector(environment))
        self.server = WSGIServer((host, port), loopback_names_only(make_wsgi_app(registry), host, port), log=None)
        try:
            self.server.start()  # binds now: a busy port ends Locust before any load is made
        except OSError as exc:
            logger.error("--metrics-port %s: cannot listen on %s:%s (%s); choose a free port, or 0 to turn the "
                         "metrics off", port, host, port, os.strerror(exc.errno) if exc.errno else exc)  # fmt: skip
            raise SystemExit(2) from None
        logger.info("metrics at http://%s:%s/metrics", host, self.server.server_port)
        listen(environment.events, quit=self.on_quit)

    def on_quit(self, **_kwargs) -> None:
        self.server.stop(timeout=1)
