"""Server metrics from a real Prometheus server (Debian's `prometheus`, installed by
tools/install_prometheus.sh), started here on 127.0.0.1 with a configuration that scrapes two demos
every second, and stopped by PID.

Two endurance-like runs at once, one against each demo: the leaky demo with a one-session cache
fails on memory drift and on the cache hit ratio; the plain demo passes both. Values read through
Prometheus match what the demo itself reports. Before any load, a query Prometheus refuses is exit 2
and an unreachable Prometheus exit 3.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
import requests

from swarmgate.scrape import parse_page, total
from tests.helpers import SWARMGATE, closed_port, constant_scenario, start_demo, start_prometheus, stop

pytestmark = pytest.mark.integration
READY_TIMEOUT_S = 30
MEMORY_LIMIT_MB = 256


def sla_for(instance: str) -> str:
    """The packaged rules, asked of Prometheus for one demo (its instance label), and its memory limit."""
    where = f'{{instance="{instance}"}}'
    return f"""
[defaults]
error_ratio = {{ target = 0.5, alert = 0.9 }}

[[server]]
name = "memory_mb"
unit = "MB"
scale = 1e-6
query = 'process_resident_memory_bytes{where}'
drift = {{ target = 50, alert = 100 }}

[[server]]
name = "memory_limit_mb"
unit = "MB"
scale = 1e-6
query = 'demo_memory_limit_bytes{where}'
at_most = {{ target = 1000, alert = 2000 }}

[[server]]
name = "cache_hit_ratio"
query = 'sum(rate(demo_cache_hits_total{where}[10s])) / sum(rate(demo_cache_lookups_total{where}[10s]))'
at_least = {{ target = 0.7, alert = 0.6 }}
"""


def scrape_config(targets: list[str]) -> str:
    """prometheus.yml scraping `targets` each second as job "demo"."""
    listed = ", ".join(f'"{t}"' for t in targets)
    return (f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
            f"  - job_name: demo\n    static_configs:\n      - targets: [{listed}]\n")  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    work = tmp_path_factory.mktemp("prometheus")
    leaky = start_demo(work / "leaky", "--leak-kb-per-request=50", "--cache-size=1",
                       f"--memory-limit-mb={MEMORY_LIMIT_MB}")  # fmt: skip
    plain = start_demo(work / "plain", f"--memory-limit-mb={MEMORY_LIMIT_MB}")
    prometheus = None
    try:
        prometheus, url = start_prometheus(work, scrape_config([f"127.0.0.1:{leaky.port}", f"127.0.0.1:{plain.port}"]))
        yield {"work": work, "leaky": leaky, "plain": plain, "url": url}
    finally:
        for proc in (prometheus, leaky.proc, plain.proc):
            if proc is not None:
                stop(proc)


def start_run(work: Path, name: str, demo, prometheus: str) -> subprocess.Popen:
    (work / f"{name}.toml").write_text(sla_for(f"127.0.0.1:{demo.port}"))
    return subprocess.Popen([*SWARMGATE, "run", str(work / "soak.toml"), "--host", demo.url, "--prometheus",
                             prometheus, "--prometheus-step=1", "--sla", str(work / f"{name}.toml"),
                             "--results-dir", str(work / name), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def finished(proc: subprocess.Popen, work: Path, name: str) -> tuple[dict, Path]:
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode in (0, 1), output
    run_dir = next((work / name / "soak").iterdir())
    return json.loads((run_dir / "summary.json").read_text()), run_dir


def server_checks(summary: dict) -> dict[str, dict]:
    return {c["metric"]: c for c in summary["checks"] if c["kind"] == "server"}


def test_prometheus_judges_memory_drift_and_the_cache_as_the_demo_reports_them(setup):
    work = setup["work"]
    (work / "soak.toml").write_text(constant_scenario(6, "34s", BaselineUser=1))  # a 30 s+ steady stage: drift
    runs = {name: start_run(work, name, setup[name], setup["url"]) for name in ("leaky", "plain")}
    (leaky, leaky_dir), (plain, plain_dir) = (finished(runs[name], work, name) for name in ("leaky", "plain"))

    bad = server_checks(leaky)
    assert bad["memory_mb_per_10min"]["status"] == "fail", bad["memory_mb_per_10min"]["message"]
    assert bad["cache_hit_ratio"]["status"] == "fail", bad["cache_hit_ratio"]["message"]
    good = server_checks(plain)
    assert good["memory_mb_per_10min"]["status"] in ("pass", "warn"), good["memory_mb_per_10min"]["message"]
    assert good["cache_hit_ratio"]["status"] == "pass", good["cache_hit_ratio"]["message"]

    # What Prometheus gave is what the demo says of itself: its limit exactly, its cache's hit ratio closely.
    assert good["memory_limit_mb"]["actual"] == pytest.approx(MEMORY_LIMIT_MB * 1024**2 / 1e6)
    page = parse_page(requests.get(f"{setup['leaky'].url}/metrics", timeout=5).text)
    own_ratio = total(page, "demo_cache_hits_total") / total(page, "demo_cache_lookups_total")
    assert bad["cache_hit_ratio"]["actual"] == pytest.approx(own_ratio, abs=0.1)

    for run_dir, summary in ((leaky_dir, leaky), (plain_dir, plain)):
        assert summary["server"]["source"] == "prometheus" and summary["server"]["url"] == setup["url"]
        meta = json.loads((run_dir / "run.json").read_text())["server_metrics"]
        assert meta["metrics"]["cache_hit_ratio"].startswith("sum(rate(demo_cache_hits_total") and meta["step_s"] == 1
        with open(run_dir / "server_metrics.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert {r["name"] for r in rows} == {"memory_mb", "memory_limit_mb", "cache_hit_ratio"}
        assert {r["source"] for r in rows} == {"prometheus"}
        per_metric = {name: sum(r["name"] == name for r in rows) for name in ("memory_mb", "memory_limit_mb")}
        assert min(per_metric.values()) >= 25, per_metric  # a value each second of a ~30 s run (step 1 s)
        assert "Server metrics" in (run_dir / "report.html").read_text()


def test_a_query_prometheus_refuses_or_an_unreachable_prometheus_stops_before_the_run(setup):
    work = setup["work"]
    (work / "soak.toml").write_text(constant_scenario(2, "5s", BaselineUser=1))
    (work / "bad.toml").write_text('[[server]]\nname = "cpu"\nquery = "sum(rate(x[5s]"\nat_most = { target = 1, '
                                   "alert = 2 }\n")  # fmt: skip
    for prometheus, code, words in ((setup["url"], 2, "[[server]] cpu: Prometheus refused the query 'sum(rate(x[5s]'"),
                                    (f"http://127.0.0.1:{closed_port()}", 3, "unreachable")):  # fmt: skip
        done = subprocess.run([*SWARMGATE, "run", str(work / "soak.toml"), "--host", setup["plain"].url,
                               "--prometheus", prometheus, "--sla", str(work / "bad.toml"), "--results-dir",
                               str(work / "refused")], capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == code, done.stderr
        assert words in done.stderr and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
        assert not (work / "refused").exists()  # nothing written before the run
