"""The live judgment of a run in progress: the checks as the analyzer gives them, and the abort gates.

Fed once a second with each stage's endpoints so far (the per-stage histograms stages.json keeps),
it judges the steady stages so far (else every stage so far) with the analyzer's own functions
(`table`, `sla_checks`), so the live checks at the run's end are the post-run SLA checks.

Gates judge a sliding window instead: each second, every gated metric over the last LIVE_WINDOW_S
seconds of the current stage (Locust's own window for current percentiles, and the comparison's).
A gate trips when its metric has been beyond the alert level at every evaluation for `abort_after`
seconds, during steady stages (or, with abort_during = "all", any stage after the first). A
percentile is judged only when at least `min_tail_requests` requests lie above it in the window, a
ratio only when at least that many requests were bad: a handful of requests is not evidence.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass

from swarmgate.analysis.checks import Check, verdict_of
from swarmgate.analysis.journeys import journey_checks, journey_rows
from swarmgate.analysis.metrics import table, window_endpoints
from swarmgate.analysis.records import Endpoint, Stage
from swarmgate.analysis.server_rules import ServerRule
from swarmgate.analysis.server_rules import status_of as server_status
from swarmgate.analysis.sla import AT_LEAST_ANY, SlaConfig, Threshold, sla_checks, status_of

LIVE_WINDOW_S = 10.0
SERVER_LIVE_FILE = ".server_live.json"  # {"time", "values": {name: value}}: the scraper's latest, each second
SERVER_FRESH_S = 5.0  # an older server value is no evidence (the scrape failed or stalled)
RATIO_COUNTS = {"error_ratio": "failures"}  # the count a ratio gate needs enough of (see min_tail_requests)
MIN_SHARE_BELOW = 0.01  # a completion ratio alert of 1 still judges, after min_tail_requests / 0.01 journeys
Key = tuple[str, str]


@dataclass
class Gate:
    """One armed gate: a metric of one endpoint (or of the aggregate, method "") with abort_after."""

    method: str
    name: str
    metric: str
    threshold: Threshold
    value: float | None = None
    beyond_since: float | None = None
    judging: bool = False
    waiting: str | None = None  # why it is not judging now, e.g. too few requests in the window
    rule: ServerRule | None = None  # a server metric's gate (method "", metric "server")
    journey: bool = False  # a journey's gate (method "", name the journey's)

    def view(self, now: float) -> dict:
        beyond_for = now - self.beyond_since if self.beyond_since is not None else 0.0
        after = self.threshold.abort_after_s or 0.0
        return {"method": self.method, "name": self.name, "metric": self.metric, "alert": self.threshold.alert,
                "abort_after_s": after, "abort_during": self.threshold.abort_during, "value": self.value,
                "judging": self.judging, "waiting": self.waiting, "beyond_for_s": round(beyond_for, 1),
                "left_s": round(max(0.0, after - beyond_for), 1) if self.beyond_since is not None else None,
                "journey": self.journey}  # fmt: skip


@dataclass(frozen=True)
class Abort:
    """Why and when a gate stopped the run."""

    method: str
    name: str
    metric: str
    actual: float
    alert: float
    abort_after_s: float
    at_s: float  # seconds since the run started
    stage: str
    message: str


def clock(seconds: float) -> str:
    """4:12, or 1:02:03 past an hour."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def sentence(gate: Gate, actual: float, at_s: float) -> str:
    """'aborted at 4:12: p95 of GET /api/x beyond 750 ms for 30 s'"""
    if gate.rule is not None:  # a server metric
        unit = f" {gate.rule.unit}" if gate.rule.unit else ""
        side = "below" if gate.rule.at_least else "beyond"
        return (f"aborted at {clock(at_s)}: server {gate.name} {side} {gate.threshold.alert:g}{unit} for "
                f"{gate.threshold.abort_after_s:g} s (now: {actual:g}{unit})")  # fmt: skip
    what = f"journey {gate.name}" if gate.journey else f"{gate.method} {gate.name}" if gate.method else "all requests"
    metric = "throughput" if gate.metric == "min_rps" else gate.metric.removesuffix("_ms").replace("_", " ")
    unit = " ms" if gate.metric.endswith("_ms") else " req/s" if gate.metric == "min_rps" else ""
    side = "below" if gate.metric in AT_LEAST_ANY else "beyond"
    over = "this stage so far" if gate.journey else f"last {LIVE_WINDOW_S:g} s"
    return (f"aborted at {clock(at_s)}: {metric} of {what} {side} {gate.threshold.alert:g}{unit} for "
            f"{gate.threshold.abort_after_s:g} s ({over}: {actual:g}{unit})")  # fmt: skip


class LiveJudge:
    """Call `update` once a second with the stages so far; it returns an Abort once a gate trips."""

    def __init__(self, config: SlaConfig, profile: str | None, gates_on: bool = True) -> None:
        self.config, self.profile, self.gates_on = config, profile, gates_on
        self.gates: dict[tuple[str, str, str], Gate] = {}
        self.snapshots: deque[tuple[float, int, dict[Key, Endpoint]]] = deque()
        self.checks: list[Check] = []
        self.over = "whole run"
        self.window_rows: list[dict] = []
        self.journeys: list[dict] = []
        self.window_s = 0.0
        self.stage: dict | None = None
        self.elapsed_s = 0.0
        self.aborted: Abort | None = None

    def update(self, now: float, started: float, stages: list[Stage], open_stage: bool,
               server: dict | None = None) -> Abort | None:  # fmt: skip
        """Judge the stages so far (the last one still open when open_stage); an Abort once, when a gate trips.
        server: the scraper's latest values ({"time", "values"}), when server metrics are scraped."""
        self.elapsed_s = now - started
        if not stages:
            return None
        steady = [s for s in stages if s.steady]
        endpoints, seconds = window_endpoints(steady or stages)
        self.over = "steady stages" if steady else "whole run"
        rows = table(endpoints, seconds, self.config.apdex_t_ms, self.config.slow_ms)
        self.journeys = journey_rows(steady or stages)
        self.checks = sla_checks(rows, self.config, self.profile, self.over)
        self.checks += journey_checks(self.journeys, self.config, self.over)
        current = stages[-1]
        self.stage = {"name": current.name, "index": len(stages) - 1, "steady": current.steady, "users": current.users,
                      "open": open_stage}  # fmt: skip
        if not open_stage:
            return None
        self.window_rows, self.window_s = self.windowed(now, len(stages) - 1, current)
        if self.gates_on and self.aborted is None:
            judging = current.steady or (len(stages) > 1)
            self.aborted = (
                self.judge_gates(now, started, judging, current)
                or self.judge_server(now, started, current, server or {})
                or self.judge_journeys(now, started, judging, current)
            )
            return self.aborted
        return None

    def windowed(self, now: float, index: int, current: Stage) -> tuple[list[dict], float]:
        """The current stage's rows over its last LIVE_WINDOW_S seconds (less when it began more recently)."""
        counts = {(e.method, e.name): copy(e) for e in current.endpoints}
        while self.snapshots and (self.snapshots[0][1] != index or self.snapshots[0][0] < now - LIVE_WINDOW_S):
            self.snapshots.popleft()
        self.snapshots.append((now, index, counts))
        since, _, before = self.snapshots[0]
        if current.start >= now - LIVE_WINDOW_S or len(self.snapshots) == 1:  # a young stage: all of it so far
            since, before = current.start, {}
        seconds = max(now - since, 1e-9)
        window = [difference(e, before.get(key)) for key, e in counts.items()]
        return table([e for e in window if e.requests], seconds, self.config.apdex_t_ms, self.config.slow_ms), seconds

    def judge_gates(self, now: float, started: float, judging_stage: bool, current: Stage) -> Abort | None:
        for row in self.window_rows:
            for metric, threshold in self.config.thresholds(self.profile, row["method"], row["name"]).items():
                if not threshold.abort_after_s:
                    continue
                key = (row["method"], row["name"], metric)
                gate = self.gates.setdefault(key, Gate(row["method"], row["name"], metric, threshold))
                gate.value = row.get("rps" if metric == "min_rps" else metric)
                during = current.steady if threshold.abort_during == "steady" else judging_stage
                gate.waiting = self.waiting(metric, row, during, gate.value)
                gate.judging = gate.waiting is None
                beyond = gate.judging and status_of(metric, gate.value, threshold) == "fail"
                if abort := self.count_down(gate, beyond, now, started, current):
                    return abort
        seen = {(r["method"], r["name"]) for r in self.window_rows}
        for gate in self.gates.values():  # an endpoint with no requests in the window: no evidence either way
            if gate.rule is None and not gate.journey and (gate.method, gate.name) not in seen:
                gate.judging, gate.value, gate.beyond_since = False, None, None
                gate.waiting = f"no requests in the last {LIVE_WINDOW_S:g} s"
        return None

    def judge_server(self, now: float, started: float, current: Stage, server: dict) -> Abort | None:
        """Gates on scraped server metrics: the latest value (each second) beyond alert for abort_after."""
        values, read_at = server.get("values") or {}, server.get("time") or 0.0
        for rule in self.config.server:
            levels = rule.levels
            if levels is None or not levels.abort_after_s:
                continue
            threshold = Threshold(levels.target, levels.alert, levels.abort_after_s)
            gate = self.gates.setdefault(("", rule.name, "server"), Gate("", rule.name, "server", threshold, rule=rule))
            gate.value = values.get(rule.name)
            if not current.steady:
                gate.waiting = "not a steady stage"
            elif gate.value is None or now - read_at > SERVER_FRESH_S:
                gate.waiting, gate.value = "no fresh value scraped (server gates need --scrape)", None
            else:
                gate.waiting = None
            gate.judging = gate.waiting is None
            beyond = gate.judging and server_status(gate.value, levels, rule.at_least is not None) == "fail"
            if abort := self.count_down(gate, beyond, now, started, current):
                return abort
        return None

    def judge_journeys(self, now: float, started: float, judging_stage: bool, current: Stage) -> Abort | None:
        """Journey gates, over the current stage so far (journeys are far fewer than requests: a 10 s window
        would rarely hold enough): beyond alert for abort_after, with enough journeys to tell."""
        rows = journey_rows([current])
        for row in rows:
            for metric, threshold in self.config.journey_thresholds(row["name"]).items():
                if not threshold.abort_after_s:
                    continue
                key = ("journey", row["name"], metric)
                gate = self.gates.setdefault(key, Gate("", row["name"], metric, threshold, journey=True))
                gate.value = row.get(metric)
                during = current.steady if threshold.abort_during == "steady" else judging_stage
                gate.waiting = self.journey_waiting(metric, threshold, row, during, gate.value)
                gate.judging = gate.waiting is None
                beyond = gate.judging and status_of(metric, gate.value, threshold) == "fail"
                if abort := self.count_down(gate, beyond, now, started, current):
                    return abort
        seen = {row["name"] for row in rows}
        for gate in self.gates.values():  # a journey with no row in this stage: the last stage's state is gone
            if gate.journey and gate.name not in seen:
                gate.judging, gate.value, gate.beyond_since = False, None, None
                gate.waiting = "no journey in this stage yet"
        return None

    @staticmethod
    def count_down(gate: Gate, beyond: bool, now: float, started: float, current: Stage) -> Abort | None:
        """Advance a gate by one evaluation: beyond its alert level for abort_after in a row, an Abort."""
        if not beyond:
            gate.beyond_since = None
            return None
        gate.beyond_since = gate.beyond_since if gate.beyond_since is not None else now
        after = gate.threshold.abort_after_s or 0.0
        if now - gate.beyond_since < after:
            return None
        at = now - started
        return Abort(gate.method, gate.name, gate.metric, gate.value, gate.threshold.alert, after, round(at, 1),
                     current.name, sentence(gate, gate.value, at))  # fmt: skip

    def not_judging(self, during: bool, value: float | None, none_yet: str) -> str | None:
        """Why no gate judges now, whatever it measures: not its stage, or no value yet."""
        if not during:
            return "not a steady stage" if self.stage and not self.stage["steady"] else "the first stage"
        return none_yet if value is None else None

    def journey_waiting(self, metric: str, threshold: Threshold, row: dict, during: bool,
                        value: float | None) -> str | None:  # fmt: skip
        """Why a journey gate does not judge now: the stage, or too few journeys. A completion ratio needs
        as many judged journeys as put min_tail_requests of them below its alert level (alert 0.8, 2: 10),
        as a percentile needs min_tail_requests requests above it."""
        rules = self.config.regression
        if reason := self.not_judging(during, value, "no journey ended yet"):
            return reason
        needed = math.ceil(round(rules.min_tail_requests / max(1.0 - threshold.alert, MIN_SHARE_BELOW), 6))
        if metric == "completion_ratio" and row["judged"] < needed:
            return f"only {row['judged']} journeys judged (the ratio needs {needed})"
        if rules.too_few_to_place(metric, row["completed"]):
            return f"{row['completed']} completed journeys cannot place {metric}"
        return None

    def waiting(self, metric: str, row: dict, during: bool, value: float | None) -> str | None:
        """Why a gate does not judge now (None: it judges): the stage, or too little evidence."""
        rules = self.config.regression
        if reason := self.not_judging(during, value, "no value yet"):
            return reason
        if rules.too_few_to_place(metric, row["requests"]):
            return f"{row['requests']} requests cannot place {metric} (needs {rules.min_tail_requests:g} above it)"
        count = RATIO_COUNTS.get(metric)
        if count and 0 < row[count] < rules.min_tail_requests:
            return f"only {row[count]} {count} in the window (a ratio needs {rules.min_tail_requests:g})"
        return None

    def state(self, now: float) -> dict:
        """What the live views show, as JSON: the stage, the checks so far, the window's rows and the gates."""
        return {
            "elapsed_s": round(self.elapsed_s, 1),
            "stage": self.stage,
            "verdict": "fail" if self.aborted else verdict_of(self.checks),
            "judged_over": self.over,
            "checks": self.checks,
            "window_s": round(self.window_s, 1),
            "endpoints": [
                {k: row.get(k) for k in ("method", "name", "requests", "failures", "rps", "p95_ms", "error_ratio")}
                for row in self.window_rows
            ],  # fmt: skip
            "journeys": [
                {
                    k: row.get(k)
                    for k in ("name", "started", "completed", "failed", "abandoned", "completion_ratio", "p95_ms")
                }
                for row in self.journeys
            ],  # fmt: skip
            "gates_enabled": self.gates_on,
            "gates": [gate.view(now) for gate in self.gates.values()],
            "aborted": asdict(self.aborted) if self.aborted else None,
        }


def copy(endpoint: Endpoint) -> Endpoint:
    return Endpoint(endpoint.method, endpoint.name, endpoint.requests, endpoint.failures, endpoint.total_ms or 0.0,
                    endpoint.max_ms, dict(endpoint.histogram or {}))  # fmt: skip


def difference(now: Endpoint, before: Endpoint | None) -> Endpoint:
    """An endpoint's requests between two readings; its max is the highest bucket reached in between."""
    if before is None:
        return now
    histogram = {b: n - before.histogram.get(b, 0) for b, n in now.histogram.items()}
    histogram = {b: n for b, n in histogram.items() if n > 0}
    total_ms = (now.total_ms or 0.0) - (before.total_ms or 0.0)
    return Endpoint(now.method, now.name, now.requests - before.requests, now.failures - before.failures, total_ms,
                    max(histogram, default=None), histogram)  # fmt: skip
