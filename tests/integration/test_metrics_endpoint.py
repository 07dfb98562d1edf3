"""`swarmgate run --metrics-port`: a real run scraped while it runs, in one process and as a master with two
workers, by the test and by a real Prometheus server started with README's scrape config. The collector's
arithmetic and the refusals of the options are in tests/unit/test_metrics.py."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import ROOT, SWARMGATE, closed_port, constant_scenario, json_entries, start_prometheus, stop

pytestmark = pytest.mark.integration
USERS = 4
PROMETHEUS = shutil.which("prometheus")


def readme_scrape_config(metrics_port: int) -> str:
    """README's Prometheus scrape config, pointed at this test's port and scraping each second."""
    (config,) = re.findall(r"```yaml\n(# prometheus.yml.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert "127.0.0.1:9646" in config and "scrape_interval: 5s" in config
    return config.replace("127.0.0.1:9646", f"127.0.0.1:{metrics_port}").replace("scrape_interval: 5s",
                                                                                  "scrape_interval: 1s")  # fmt: skip


def query(prometheus: str, promql: str) -> list[dict]:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def progress_in_steady_state(results: Path, proc: subprocess.Popen, timeout_s: float = 90) -> tuple[Path, dict]:
    """(run dir, its .progress.json) once the run holds all its users in its steady stage and the live judge
    has checks (on a master, after the workers' first report has reached it and its next tick)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before its steady stage"
        for path in results.glob("*/*/.progress.json"):
            try:
                progress = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            steady = progress.get("stage") == "steady" and progress.get("users") == USERS
            if steady and progress.get("requests") and progress.get("checks"):
                return path.parent, progress
        time.sleep(0.2)
    raise AssertionError(f"no run under {results} reached its steady stage within {timeout_s:g} s")


def scrape(port: int) -> tuple[dict[str, list], str]:
    """The endpoint's families by name, parsed by prometheus_client's own parser, and the text."""
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}, answer.text


def per_endpoint(samples: list, name: str) -> dict[tuple[str, str], float]:
    return {(s.labels["method"], s.labels["name"]): s.value for s in samples if s.name == name}


def listening_addresses(port: int) -> set[str]:
    return {c.laddr.ip for c in psutil.net_connections("tcp")
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN}  # fmt: skip


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "two-workers"])
def test_a_running_load_is_scraped_with_locusts_numbers(tmp_path, workers):
    scenario = tmp_path / "live.toml"
    scenario.write_text(constant_scenario(USERS, "10s", BaselineUser=60, StressTestUser=40))  # room for a report
    results, port = tmp_path / "results", closed_port()
    prometheus_proc, prometheus = start_prometheus(tmp_path / "prometheus", readme_scrape_config(port))
    proc = subprocess.Popen([*SWARMGATE, "run", str(scenario), "--workers", str(workers), "--metrics-port", str(port),
                             "--results-dir", str(results)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        run_dir, progress = progress_in_steady_state(results, proc)
        families, text = scrape(port)
        assert listening_addresses(port) == {"127.0.0.1"}  # loopback unless told otherwise
        out, err = proc.communicate(timeout=120)
        # what Prometheus scraped during the run (range queries: once the run is gone its series are stale)
        scraped_by_prometheus = {
            "up": query(prometheus, 'max_over_time(up{job="swarmgate"}[5m])'),
            "run": query(prometheus, "last_over_time(swarmgate_run_info[5m])"),
            "requests": query(prometheus, "max_over_time(swarmgate_requests_total[5m])"),
            "p95": query(prometheus, "histogram_quantile(0.95, sum by (le) "
                                     "(max_over_time(swarmgate_response_time_seconds_bucket[5m])))"),
        }  # fmt: skip
    finally:
        stop(proc)
        stop(prometheus_proc)
    assert proc.returncode in (0, 1), err
    assert f"metrics at http://127.0.0.1:{port}/metrics" in err

    requests_seen = per_endpoint(families["swarmgate_requests"], "swarmgate_requests_total")
    failures_seen = per_endpoint(families["swarmgate_request_failures"], "swarmgate_request_failures_total")
    final = {(e["method"], e["name"]): e for e in json_entries(run_dir)}
    assert set(requests_seen) <= set(final) and len(requests_seen) >= 3
    # the scrape came after the progress line and before the end: Locust's numbers at that moment
    assert progress["requests"] <= sum(requests_seen.values()) <= sum(e["num_requests"] for e in final.values())
    for endpoint, seen in requests_seen.items():
        assert seen <= final[endpoint]["num_requests"] and failures_seen[endpoint] <= final[endpoint]["num_failures"]

    latency = families["swarmgate_response_time_seconds"]
    for endpoint, seen in requests_seen.items():
        series = [s for s in latency if (s.labels["method"], s.labels["name"]) == endpoint]
        buckets = [s.value for s in series if s.name.endswith("_bucket")]
        (count,) = [s.value for s in series if s.name.endswith("_count")]
        assert buckets == sorted(buckets) and len(buckets) == 17  # cumulative, 16 bounds and +Inf
        assert buckets[-1] == count == seen  # every request of the demo's is timed
        assert [s.labels["le"] for s in series if s.name.endswith("_bucket")][-1] == "+Inf"

    assert families["swarmgate_users"][0].value == USERS
    assert [s.labels for s in families["swarmgate_stage_info"]] == [{"stage": "steady", "steady": "true"}]
    # the live checks (swarmgate run judges live with its SLA file): counts by status, and the verdict they make
    checks = {s.labels["status"]: s.value for s in families["swarmgate_checks"]}
    verdict = {s.labels["status"]: s.value for s in families["swarmgate_verdict"]}
    assert set(checks) == set(verdict) == {"pass", "warn", "fail"} and sum(checks.values()) >= 1
    worst = next(status for status in ("fail", "warn", "pass") if checks[status] or status == "pass")
    assert [status for status, on in verdict.items() if on] == [worst]
    (run,) = families["swarmgate_run_info"]
    assert run.labels == {"scenario": "live", "run_id": run_dir.name}
    with pytest.raises(requests.ConnectionError):  # the endpoint ended with its run
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)

    # Prometheus' own checks of the format and naming find nothing, and Prometheus scraped the run
    lint = subprocess.run([str(Path(PROMETHEUS).with_name("promtool")), "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), lint.stdout + lint.stderr
    assert [float(r["value"][1]) for r in scraped_by_prometheus["up"]] == [1.0]
    assert [r["metric"]["run_id"] for r in scraped_by_prometheus["run"]] == [run_dir.name]
    in_prometheus = {(r["metric"]["method"], r["metric"]["name"]): float(r["value"][1])
                     for r in scraped_by_prometheus["requests"]}  # fmt: skip
    assert sum(in_prometheus.values()) > 0  # Prometheus saw load, never more than Locust counted in the end
    assert all(count <= final[endpoint]["num_requests"] for endpoint, count in in_prometheus.items())
    ((_, p95),) = [r["value"] for r in scraped_by_prometheus["p95"]]
    assert 0 < float(p95) <= 60 and math.isfinite(float(p95))
