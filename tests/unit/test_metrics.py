"""The Prometheus endpoint's numbers, read from a real Locust Environment and its real stats; its server; and
the options that start it, which reach the master's (or single process's) command line only.

A served scrape during real runs (one process and a master with workers) is in
tests/integration/test_metrics_endpoint.py.
"""

from __future__ import annotations

import logging
import socket
from types import SimpleNamespace

import pytest
import requests
from locust.env import Environment
from locust.event import Events
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from swarmgate import jobs
from swarmgate.cli import main
from swarmgate.core.histogram import cumulative
from swarmgate.core.plan import Stage
from swarmgate.locustfiles.recording.journeys import JourneyRecorder
from swarmgate.locustfiles.recording.metrics import MetricsEndpoint, RunCollector
from swarmgate.locustfiles.recording.stages import StageRecorder
from swarmgate.run import RunOptions, locust_command, worker_command
from swarmgate.scenarios import Scenario
from swarmgate.supervisor import free_port

HOSTILE = 'GET "quoted" \\ back\nslash'  # an endpoint name with what the text format must escape


class LiveChecks:
    """Stands in for the live checks of a run: the one method the endpoint reads."""

    def __init__(self, statuses: list[str], verdict: str) -> None:
        self.statuses, self.verdict = statuses, verdict

    def state(self) -> dict:
        return {"checks": [{"status": status, "metric": "p95_ms"} for status in self.statuses],
                "verdict": self.verdict}  # fmt: skip


@pytest.fixture
def environment():
    """A real Environment with an idle local runner, the options swarmgate run passes; quit afterwards."""
    env = Environment(events=Events(), parsed_options=SimpleNamespace(scenario="smoke", run_id="20261130T000000Z-abc"))
    env.create_local_runner()
    yield env
    env.runner.quit()


def scrape(environment: Environment) -> dict[str, list]:
    """What Prometheus would read: the collector's text output, parsed back by prometheus_client's own parser."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(environment))
    text = generate_latest(registry).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def by_labels(samples: list, suffix: str = "", **labels: str) -> dict[str, float]:
    """Samples of one series (name ending in suffix, these labels), keyed by their `le` (or '' without one)."""
    return {s.labels.get("le", ""): s.value for s in samples
            if s.name.endswith(suffix) and all(s.labels.get(k) == v for k, v in labels.items())}  # fmt: skip


def test_cumulative_counts_each_locust_bucket_under_the_first_bound_not_below_it():
    assert cumulative({3: 2, 5: 1, 150: 4, 760: 1, 45000: 1, 70000: 2}, [5, 100, 750, 1000, 60000]) == [3, 3, 7, 8, 9]
    assert cumulative({"10": 1}, [5, 10]) == [0, 1]  # JSON's string keys too
    assert cumulative({}, [5, 10]) == [0, 0]


def test_counters_and_histogram_are_locusts_numbers_exact_to_its_buckets(environment):
    for response_time in (3, 7, 147, 760, 1234, 45000):
        environment.stats.log_request("GET", "/api/x", response_time, 10)
    environment.stats.log_error("GET", "/api/x", "500")
    environment.stats.log_request("GET", "/api/x", None, 0)  # failed before an answer: counted, not timed
    environment.stats.log_request("POST", HOSTILE, 20, 0)
    families = scrape(environment)

    assert by_labels(families["swarmgate_requests"], method="GET", name="/api/x") == {"": 7}
    assert by_labels(families["swarmgate_request_failures"], method="GET", name="/api/x") == {"": 1}
    latency = families["swarmgate_response_time_seconds"]
    buckets = by_labels(latency, "_bucket", method="GET", name="/api/x")
    # 147 ms is Locust's 150 (under 0.25 s), 760 stays 760 (over 0.75 s), 1234 is 1200, 45000 is 45000
    assert buckets == {"0.005": 1, "0.01": 2, "0.025": 2, "0.05": 2, "0.075": 2, "0.1": 2, "0.25": 3, "0.5": 3,
                       "0.75": 3, "1.0": 4, "2.5": 5, "5.0": 5, "7.5": 5, "10.0": 5, "30.0": 5, "60.0": 6,
                       "+Inf": 6}  # fmt: skip
    assert by_labels(latency, "_count", method="GET", name="/api/x") == {"": 6}
    assert by_labels(latency, "_sum", method="GET", name="/api/x")[""] == pytest.approx(47.151)  # raw, not bucketed
    # a name with quotes, a backslash and a newline comes back as it was
    assert by_labels(families["swarmgate_requests"], method="POST", name=HOSTILE) == {"": 1}
    assert "Aggregated" not in {s.labels.get("name") for s in families["swarmgate_requests"]}  # sum() adds it up

    (run,) = families["swarmgate_run_info"]  # an info metric: the labels carry it, the value is 1
    assert run.value == 1 and run.labels == {"scenario": "smoke", "run_id": "20261130T000000Z-abc"}
    assert families["swarmgate_users"][0].value == 0


def test_the_stage_is_the_one_running_now_and_none_between_tests(environment):
    stages = environment.swarmgate_stages = StageRecorder(environment, None)
    assert "swarmgate_stage_info" not in scrape(environment)  # before the first stage
    stages.begin("ramp-up", 10, steady=False)
    stages.begin("step-2", 20, steady=True)
    (stage,) = scrape(environment)["swarmgate_stage_info"]
    assert stage.value == 1 and stage.labels == {"stage": "step-2", "steady": "true"}
    stages.on_test_stop(environment)
    assert "swarmgate_stage_info" not in scrape(environment)


def test_journeys_by_outcome_and_their_durations_apart_from_the_requests(environment):
    journeys = JourneyRecorder(environment, StageRecorder(environment, None))
    for outcome, ms in (("completed", 40.0), ("completed", 600.0), ("failed", 5.0), ("abandoned", 3000.0)):
        journeys.start(HOSTILE)
        journeys.finish(HOSTILE, outcome, ms, "poll")
    families = scrape(environment)
    counts = {s.labels["outcome"]: s.value for s in families["swarmgate_journeys"] if s.name.endswith("_total")}
    assert counts == {"started": 4, "completed": 2, "failed": 1, "abandoned": 1}
    assert all(s.labels["journey"] == HOSTILE for s in families["swarmgate_journeys"])  # escaped and read back
    durations = families["swarmgate_journey_duration_seconds"]
    assert by_labels(durations, "_bucket")["0.05"] == 1 and by_labels(durations, "_bucket")["0.75"] == 2
    assert by_labels(durations, "_count")[""] == 2 and by_labels(durations, "_sum")[""] == pytest.approx(0.64)
    assert not {s.labels.get("name") for s in families.get("swarmgate_requests", [])} & {HOSTILE}


def test_checks_by_status_and_the_verdict_only_where_the_run_has_live_checks(environment):
    families = scrape(environment)
    assert "swarmgate_checks" not in families and "swarmgate_verdict" not in families
    environment.swarmgate_live = LiveChecks(["pass", "pass", "warn", "pass"], "warn")
    families = scrape(environment)
    assert {s.labels["status"]: s.value for s in families["swarmgate_checks"]} == {"pass": 3, "warn": 1, "fail": 0}
    assert {s.labels["status"]: s.value for s in families["swarmgate_verdict"]} == {"pass": 0, "warn": 1, "fail": 0}


def test_the_endpoint_serves_until_quit_and_a_busy_port_ends_locust_with_one_line(environment, caplog):
    port = free_port()
    endpoint = MetricsEndpoint(environment, "127.0.0.1", port)
    environment.stats.log_request("GET", "/api/x", 12, 0)
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200 and 'swarmgate_requests_total{method="GET",name="/api/x"} 1.0' in answer.text
    assert requests.get(f"http://localhost:{port}/metrics", timeout=5).status_code == 200
    rebound = requests.get(f"http://127.0.0.1:{port}/metrics", headers={"Host": f"evil.example:{port}"}, timeout=5)
    assert rebound.status_code == 403 and "swarmgate" not in rebound.text  # DNS rebinding: another name for us
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as ended:
        MetricsEndpoint(environment, "127.0.0.1", port)  # the first one holds the port
    assert ended.value.code == 2
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in line and "\n" not in line
    environment.events.quit.fire(exit_code=0)
    assert endpoint.server.closed
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# --- the options of `swarmgate run` and `swarmgate web`


def refusal(capsys, args: list[str]) -> str:
    """The one line `swarmgate ARGS` exits 2 with, run in this process."""
    with pytest.raises(SystemExit) as ended:
        main(args)
    err = capsys.readouterr().err
    assert ended.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", ["run", "web"])
def test_a_taken_port_is_refused_before_anything_starts(command, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "run_and_judge", lambda *args: pytest.fail("a run was started"))
    results = tmp_path / "results"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        line = refusal(capsys, [command, "--metrics-port", str(port), "--results-dir", str(results)])
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port} (address already in use)" in line
    line = refusal(capsys, [command, "--metrics-port", "9646", "--metrics-host", "192.0.2.1", "--results-dir",
                            str(results)])  # fmt: skip
    assert "cannot listen on 192.0.2.1:9646 (cannot assign requested address)" in line  # not this host's address
    assert not results.exists()


def test_a_worker_serves_no_metrics(capsys):
    line = refusal(capsys, ["run", "--worker", "--master-host", "10.0.0.5", "--metrics-port", "9646"])
    assert "--metrics-port is for the master" in line


def test_the_metrics_options_reach_the_master_and_not_its_workers(tmp_path):
    scenario = Scenario("s", (Stage("steady", 5, 1, 1, True),), mix={"BaselineUser": 1})
    options = RunOptions(workers=2, master_port=5557, metrics_port=9646, metrics_host="127.0.0.2")
    master = locust_command(scenario, options, "http://127.0.0.1:8000", tmp_path)
    assert "--metrics-port=9646" in master and "--metrics-host=127.0.0.2" in master
    worker = worker_command(None, "127.0.0.1", 5557, tmp_path / "worker-1.log")
    assert not [word for word in worker if word.startswith("--metrics")]
    off = [word for word in locust_command(scenario, RunOptions(), "http://127.0.0.1:8000", tmp_path)
           if word.startswith("--metrics-port")]  # fmt: skip
    assert off == ["--metrics-port=0"]  # off, and said: a SWARMGATE_METRICS_PORT in the shell opens nothing
