"""The live judge: SLA checks over the steady stages so far (the analyzer's own), and abort gates over a
sliding window that trip only after abort_after seconds beyond the alert level, with enough evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmgate.analysis.live import LIVE_WINDOW_S, LiveJudge, clock
from swarmgate.analysis.metrics import table
from swarmgate.analysis.records import Endpoint, Stage
from swarmgate.analysis.sla import load_sla, sla_checks
from swarmgate.core.errors import InputError

SLA = """
[defaults]
error_ratio = { target = 0.01, alert = 0.02, abort_after = "10s", abort_during = "all" }

[[endpoints]]
method = "GET"
name = "/slow"
p95_ms = { target = 100, alert = 150, abort_after = "5s" }

[scenarios.load]
min_rps = { target = 20, alert = 10, abort_after = "5s" }
"""


@pytest.fixture
def config(tmp_path: Path):
    (tmp_path / "sla.toml").write_text(SLA)
    return load_sla(tmp_path / "sla.toml")


class Feed:
    """Cumulative stage windows as the stage recorder keeps them, fed to a judge once a second."""

    def __init__(self, judge: LiveJudge) -> None:
        self.judge, self.now = judge, 1000.0
        self.stages: list[Stage] = []
        self.started = self.now

    def begin(self, name: str, steady: bool) -> None:
        if self.stages:
            self.stages[-1].end = self.now
        self.stages.append(Stage(name, self.now, self.now, 10, steady, []))

    def second(self, per_s: int, ms: int, failures: int = 0, name: str = "/slow"):
        """One second of `per_s` requests at `ms` to `name` (failures of them failed); the judge's answer."""
        self.now += 1
        stage = self.stages[-1]
        stage.end = self.now
        found = next((e for e in stage.endpoints if e.name == name), None)
        if found is None:
            found = Endpoint("GET", name, 0, 0, 0.0, 0.0, {})
            stage.endpoints.append(found)
        found.requests += per_s
        found.failures += failures
        found.total_ms += per_s * ms
        found.max_ms = max(found.max_ms, ms)
        found.histogram[ms] = found.histogram.get(ms, 0) + per_s
        return self.judge.update(self.now, self.started, self.stages, open_stage=True)


def test_a_gate_trips_after_abort_after_seconds_beyond_alert_in_a_steady_stage(config):
    feed = Feed(LiveJudge(config, "load"))
    feed.begin("ramp-up", steady=False)
    for _ in range(8):  # slow during the ramp: never judged
        assert feed.second(30, 400) is None
    gate = feed.judge.gates[("GET", "/slow", "p95_ms")]
    assert gate.waiting == "not a steady stage" and gate.beyond_since is None
    feed.begin("steady", steady=True)
    answers = [feed.second(30, 400) for _ in range(12)]
    tripped = next(i for i, a in enumerate(answers) if a is not None)
    # the first second has 30 requests (too few to place a p95: 40 needed), then 5 s beyond the alert level
    assert tripped == 6, answers
    abort = answers[tripped]
    assert (abort.method, abort.name, abort.metric, abort.actual, abort.alert) == ("GET", "/slow", "p95_ms", 400, 150)
    assert abort.message == "aborted at 0:15: p95 of GET /slow beyond 150 ms for 5 s (last 10 s: 400 ms)"
    state = feed.judge.state(feed.now)
    assert state["verdict"] == "fail" and state["aborted"]["at_s"] == 15.0


def test_a_burst_shorter_than_abort_after_does_not_trip_and_no_gate_when_turned_off(config):
    feed = Feed(LiveJudge(config, "load"))
    feed.begin("steady", steady=True)
    for _ in range(2):  # 120 slow requests ...
        assert feed.second(60, 400) is None
    assert feed.judge.gates[("GET", "/slow", "p95_ms")].beyond_since is not None
    # ... then fast ones: 2 s on, the slow are under 5 % of the last 10 s and the count starts again
    for _ in range(int(LIVE_WINDOW_S) + 2):
        assert feed.second(1200, 20) is None
    assert feed.judge.gates[("GET", "/slow", "p95_ms")].beyond_since is None
    off = Feed(LiveJudge(config, "load", gates_on=False))
    off.begin("steady", steady=True)
    assert all(off.second(60, 400) is None for _ in range(20))
    assert off.judge.state(off.now)["aborted"] is None


def test_a_ratio_gate_needs_enough_failures_and_throughput_gates_judge_the_aggregate(config):
    feed = Feed(LiveJudge(config, "load"))
    feed.begin("steady", steady=True)
    feed.second(5, 10, failures=1, name="/quiet")  # 20 % errors, but one failure is no evidence
    gate = feed.judge.gates[("GET", "/quiet", "error_ratio")]
    assert not gate.judging and gate.waiting.startswith("only 1 failures")
    answers = [feed.second(5, 10, name="/quiet") for _ in range(6)]  # 5 req/s: below min_rps's alert of 10
    abort = next(a for a in answers if a is not None)
    assert (abort.method, abort.name, abort.metric) == ("", "Aggregated", "min_rps")
    assert "throughput of all requests below 10 req/s for 5 s" in abort.message


def test_the_live_checks_are_the_analyzers_checks_over_the_steady_stages(config):
    feed = Feed(LiveJudge(config, None, gates_on=False))
    feed.begin("ramp-up", steady=False)
    feed.second(50, 900)
    feed.begin("steady", steady=True)
    for _ in range(5):
        feed.second(50, 120, failures=1)
    steady = feed.stages[1]
    expected = sla_checks(table(steady.endpoints, steady.end - steady.start, config.apdex_t_ms, config.slow_ms),
                          config, None, "steady stages")  # fmt: skip
    assert feed.judge.checks == expected and any(c["status"] == "warn" for c in expected)
    assert feed.judge.state(feed.now)["judged_over"] == "steady stages"


def test_the_clock_reads_minutes_and_hours():
    assert (clock(9.9), clock(252), clock(3723)) == ("0:09", "4:12", "1:02:03")


def test_a_scraped_server_metric_gate_trips_on_fresh_values_only(tmp_path):
    (tmp_path / "sla.toml").write_text(
        '[[server]]\nname = "cpu"\nunit = "%"\nscrape = { gauge = "cpu_ratio" }\n'
        'at_most = { target = 70, alert = 85, abort_after = "3s" }\n'
    )
    feed = Feed(LiveJudge(load_sla(tmp_path / "sla.toml"), None))
    feed.begin("steady", steady=True)
    update = feed.judge.update

    def second(value: float, age_s: float = 0.0):
        feed.now += 1
        return update(feed.now, feed.started, feed.stages, True, {"time": feed.now - age_s, "values": {"cpu": value}})

    assert second(95, age_s=30) is None  # a stale reading (the scrape stalled) is no evidence
    gate = feed.judge.gates[("", "cpu", "server")]
    assert gate.waiting.startswith("no fresh value") and gate.beyond_since is None
    answers = [second(95) for _ in range(5)]
    abort = next(a for a in answers if a is not None)
    assert answers.index(abort) == 3  # beyond at the first fresh reading, 3 s later it trips
    assert abort.message == "aborted at 0:05: server cpu beyond 85 % for 3 s (now: 95 %)"
    (tmp_path / "bad.toml").write_text(
        '[[server]]\nname = "m"\nscrape = { gauge = "m" }\ndrift = { target = 1, alert = 2, abort_after = "3s" }\n'
    )
    with pytest.raises(InputError, match=r"server.m.drift: write \{ target = N, alert = M \}"):
        load_sla(tmp_path / "bad.toml")
