"""Server metrics: the [[server]] tables, values derived from real /metrics pages, and their checks."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import threading
from pathlib import Path

import pytest

from swarmgate.analysis.analyze import analyze
from swarmgate.analysis.load import load_run
from swarmgate.analysis.server import AGGREGATE, server_regression_checks
from swarmgate.analysis.server_rules import Scrape
from swarmgate.analysis.sla import load_sla
from swarmgate.core.errors import BadInput, InputError, RunFailed
from swarmgate.demo.metrics import DemoMetrics
from swarmgate.reports.ci_files import summary_markdown
from swarmgate.reports.html import report_html
from swarmgate.scrape import bucket_quantile, derive, parse_page
from swarmgate.server_metrics import REQUEST_TIMEOUT_S, Prometheus, Scraper, source_for, write_server_metrics
from swarmgate.weekly import load_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "smoke_run"


def page_of(metrics: DemoMetrics) -> dict:
    return parse_page(metrics.text().decode())


def test_values_are_derived_from_the_demo_s_real_metrics_page():
    metrics = DemoMetrics(pool_size=8, memory_limit_bytes=1000)
    before = (100.0, page_of(metrics))
    for _ in range(90):
        metrics.db_query_seconds.observe(0.001)
    for _ in range(10):
        metrics.db_query_seconds.observe(0.15)
    metrics.cache_lookups.inc(40)
    metrics.cache_hits.inc(30)
    metrics.pool_in_use.set(6)
    now = (105.0, page_of(metrics))
    # 95th of 100: the 5th of the 10 observations in (0.1, 0.2], linear within it (histogram_quantile)
    assert derive(Scrape("histogram", "demo_db_query_seconds", quantile=0.95), now, before) == pytest.approx(0.15)
    assert derive(Scrape("rate", "demo_cache_hits_total", "demo_cache_lookups_total"), now, before) == 0.75
    assert derive(Scrape("rate", "demo_cache_lookups_total"), now, before) == 8.0  # 40 in 5 s
    assert derive(Scrape("gauge", "demo_pool_in_use", "demo_pool_size"), now, before) == 0.75
    assert derive(Scrape("gauge", "process_resident_memory_bytes"), now, None) > 1e6  # a real process's RSS
    assert derive(Scrape("rate", "demo_cache_lookups_total"), now, None) is None  # a rate needs two pages
    assert derive(Scrape("gauge", "no_such_metric"), now, before) is None


def test_resets_missing_series_and_label_filters():
    first = parse_page('hits_total{shard="a"} 10\nhits_total{shard="b"} 5\nlookups_total 20\n')
    second = parse_page('hits_total{shard="a"} 2\nhits_total{shard="b"} 9\nlookups_total 20\n')
    assert derive(Scrape("rate", "hits_total"), (2.0, second), (1.0, first)) is None  # a reset is not a rate
    assert derive(Scrape("rate", "hits_total", labels=(("shard", "b"),)), (2.0, second), (1.0, first)) == 4.0
    no_lookups = Scrape("rate", "hits_total", "lookups_total", labels=(("shard", "b"),))
    assert derive(no_lookups, (2.0, second), (1.0, first)) is None  # no lookups in the window: no ratio
    assert bucket_quantile(0.5, {0.1: 0.0, float("inf"): 0.0}) is None
    assert bucket_quantile(0.99, {0.1: 5.0, float("inf"): 10.0}) == 0.1  # in +Inf: the largest finite bound
    with pytest.raises(ValueError):
        parse_page("this is { not a metrics page\n")
    assert AGGREGATE["p95"](list(range(1, 101))) == pytest.approx(95.05) and AGGREGATE["p95"]([7.0]) == 7.0


def write_sla(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "sla.toml"
    path.write_text("[defaults]\np95_ms = { target = 500, alert = 750 }\n" + server)
    return path


def test_bad_server_tables_are_refused_all_at_once(tmp_path):
    path = write_sla(
        tmp_path,
        """
[[server]]
name = "cpu"
scrape = { rate = "process_cpu_seconds_total", quantile = 0.5 }
at_most = { target = 85, alert = 70 }
colour = "red"

[[server]]
name = "hits"
query = "up"

[[server]]
name = "lat"
scrape = { histogram = "db_seconds" }
at_least = { target = 1, alert = 2 }
""",
    )
    with pytest.raises(InputError) as raised:
        load_sla(path)
    message = raised.value.message
    for expected in ("server.cpu.colour: unknown key", "server.cpu.scrape.quantile: only for a histogram",
                     "server.cpu.at_most: the alert level must be at or beyond the target",
                     "server.hits: needs at_most, at_least or drift", "server.lat.scrape: a histogram needs quantile",
                     "server.lat.at_least: the alert level must be at or below the target"):  # fmt: skip
        assert expected in message, message
    assert str(path) in message and "\n" not in message


def judged(tmp_path: Path, sla: Path, rows: list[tuple[float, str, float]], facts: dict) -> dict:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    meta = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**meta, "server_metrics": facts}))
    write_server_metrics(run_dir, rows, facts.get("source") or "scrape")
    summary, _ = analyze(run_dir, load_sla(sla))
    return summary


def test_server_checks_pass_warn_fail_and_say_what_they_could_not_compute(tmp_path):
    sla = write_sla(
        tmp_path,
        """
[[server]]
name = "cpu"
unit = "%"
scrape = { rate = "process_cpu_seconds_total" }
at_most = { target = 70, alert = 85 }

[[server]]
name = "hits"
scrape = { gauge = "x" }
at_least = { target = 70, alert = 60 }

[[server]]
name = "p95"
aggregate = "max"
scrape = { gauge = "y" }
at_most = { target = 200, alert = 300 }

[[server]]
name = "gone"
scrape = { gauge = "z" }
at_most = { target = 1, alert = 2 }

[[server]]
name = "vanished"
scrape = { gauge = "v" }
at_most = { target = 1, alert = 2 }
""",
    )
    stages = json.loads((FIXTURE / "stages.json").read_text())["stages"]
    steady = next(s for s in stages if s["steady"])
    inside = [steady["start_ts"] + i for i in range(1, 6)]
    rows = [(t, "cpu", 75.0) for t in inside] + [(steady["start_ts"] - 30, "cpu", 500.0)]  # before: not judged
    rows += [(t, "hits", 65.0) for t in inside] + [(t, "p95", 100.0 + 50 * i) for i, t in enumerate(inside)]
    rows += [(t, "vanished", 0.5) for t in inside[:2]]  # then gone for the rest of the 8 s window
    note = "no value from z on http://127.0.0.1:1/metrics"
    summary = judged(tmp_path, sla, rows, {"source": "scrape", "url": "http://127.0.0.1:1/metrics", "step_s": 1.0,
                                           "notes": {"gone": note}})  # fmt: skip
    by_name = {c["metric"]: c for c in summary["checks"] if c["kind"] == "server"}
    assert (by_name["cpu"]["status"], by_name["cpu"]["actual"]) == ("warn", 75.0)
    assert (by_name["hits"]["status"], by_name["p95"]["status"], by_name["p95"]["actual"]) == ("warn", "warn", 300.0)
    assert "gone" not in by_name  # never a pass
    assert f"server metric gone ({note})" in summary["not_computed"]
    assert "vanished" not in by_name and "server metric vanished (values for 2 of the 8 points of the judged window: " \
        "the metric vanished or is sparse)" in summary["not_computed"]  # fmt: skip
    assert summary["verdict"] == "warn" and summary["server"]["source"] == "scrape"


def test_a_run_without_a_source_says_so(tmp_path):
    sla = write_sla(tmp_path, '[[server]]\nname = "cpu"\nquery = "up"\nat_most = { target = 1, alert = 2 }\n')
    summary = judged(tmp_path, sla, [], {"source": None, "note": "no --scrape or --prometheus for this target"})
    assert summary["server"] is None
    assert "server metrics (no --scrape or --prometheus for this target)" in summary["not_computed"]


def test_urls_with_credentials_and_two_sources_are_refused():
    rules = load_sla(ROOT / "sla.toml").server
    for url in ("http://user:secret@127.0.0.1:9090", "http://:secret@127.0.0.1:9090"):
        with pytest.raises(BadInput) as raised:
            Prometheus(url, rules)
        assert "credentials in the URL are refused" in raised.value.message and "secret" not in raised.value.message
    with pytest.raises(BadInput, match="give one source"):
        source_for("http://127.0.0.1:9090", "http://127.0.0.1:8000/metrics", rules, 10)


def test_unreachable_and_hanging_sources_fail_before_the_run_within_the_timeout():
    rules = load_sla(ROOT / "sla.toml").server
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(RunFailed, match="unreachable"):
        source_for(f"http://127.0.0.1:{port}", None, rules, 10)
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        with pytest.raises(RunFailed, match=f"no answer within {REQUEST_TIMEOUT_S:g} s"):  # the timeout ends it
            Scraper(f"http://127.0.0.1:{silent.getsockname()[1]}/metrics", rules, 10).probe()


def test_weekly_config_takes_one_metrics_source(tmp_path):
    path = tmp_path / "weekly.toml"
    path.write_text('scenarios = ["smoke"]\nprometheus = "http://127.0.0.1:9090/"\n')
    assert load_config(path).prometheus == "http://127.0.0.1:9090"
    path.write_text('scenarios = ["smoke"]\nprometheus = "http://a:b@127.0.0.1:9090"\nscrape = "http://x/metrics"\n')
    with pytest.raises(InputError) as raised:
        load_config(path)
    assert "prometheus: credentials in the URL are refused" in raised.value.message
    assert "give one source" in raised.value.message and "a:b" not in raised.value.message


def long_run(tmp_path: Path, name: str, db_ms: float, noise: list[float]):
    """The recorded smoke run with its steady stage stretched to 60 s and a DB query time series in it."""
    run_dir = tmp_path / name
    shutil.copytree(FIXTURE, run_dir)
    stages = json.loads((run_dir / "stages.json").read_text())
    steady = next(s for s in stages["stages"] if s["steady"])
    steady["end_ts"] = steady["start_ts"] + 60
    (run_dir / "stages.json").write_text(json.dumps(stages))
    rows = [(steady["start_ts"] + i, "db_query_p95", db_ms + noise[i % len(noise)]) for i in range(60)]
    rows += [(steady["start_ts"] + i, "cpu", 20.0 + noise[i % len(noise)]) for i in range(60)]
    write_server_metrics(run_dir, rows, "scrape")
    return load_run(run_dir)


def test_a_server_metric_worse_than_the_baseline_beyond_noise_is_a_regression(tmp_path):
    rules = load_sla(
        write_sla(
            tmp_path,
            """
[[server]]
name = "db_query_p95"
scrape = { histogram = "db_seconds", quantile = 0.95 }
at_most = { target = 200, alert = 300 }

[[server]]
name = "cpu"
scrape = { rate = "process_cpu_seconds_total" }
at_most = { target = 70, alert = 85 }
""",
        )
    )
    noise = [0.0, 1.5, -1.0, 2.0, -0.5, 0.5, -2.0, 1.0]
    base = long_run(tmp_path, "base", 40.0, noise)
    slower = long_run(tmp_path, "slower", 70.0, noise)  # +30 ms: beyond 10 % of the 200 ms target
    checks = {c["metric"]: c for c in server_regression_checks(slower, base, rules.server, rules.regression)}
    assert (checks["db_query_p95"]["status"], checks["db_query_p95"]["baseline"]) == (
        "fail",
        pytest.approx(40, abs=0.5),
    )
    assert checks["db_query_p95"]["kind"] == "regression" and "beyond noise" in checks["db_query_p95"]["message"]
    assert checks["cpu"]["status"] == "pass"  # the same in both runs
    assert server_regression_checks(base, slower, rules.server, rules.regression)[0]["status"] == "pass"  # faster
    a_bit = long_run(tmp_path, "a_bit", 55.0, noise)  # +15 ms beyond noise, but under 10 % of the target: no regression
    assert server_regression_checks(a_bit, base, rules.server, rules.regression)[0]["status"] == "pass"


def test_capacity_says_which_server_metric_breached_first(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    stages = json.loads((run_dir / "stages.json").read_text())
    low, high = stages["stages"]
    low.update(steady=True, target_users=6)  # two steady load levels: a capacity run
    (run_dir / "stages.json").write_text(json.dumps(stages))
    meta = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**meta, "server_metrics": {"source": "scrape", "url": "u"}}))
    rows = [(low["start_ts"] + 0.5, "cpu", 50.0), (low["start_ts"] + 0.5, "pool", 10.0)]
    rows += [(high["start_ts"] + i, "cpu", 90.0) for i in range(1, 6)]
    rows += [(high["start_ts"] + i, "pool", 100.0) for i in range(1, 6)]
    write_server_metrics(run_dir, rows, "scrape")
    sla = write_sla(
        tmp_path,
        """
[[server]]
name = "cpu"
scrape = { rate = "process_cpu_seconds_total" }
at_most = { target = 70, alert = 85 }

[[server]]
name = "pool"
scrape = { gauge = "in_use", divide_by = "size" }
at_most = { target = 80, alert = 99 }
""",
    )
    summary, _ = analyze(run_dir, load_sla(sla))
    steps = summary["capacity"]["steps"]
    assert [s["server"] for s in steps] == [{"cpu": 50.0, "pool": 10.0}, {"cpu": 90.0, "pool": 100.0}]
    assert steps[0]["server_breach"] is None
    assert summary["capacity"]["first_server_breach"] == {
        "stage": "steady",
        "users": 12,
        "metric": "cpu",
        "actual": 90.0,
        "alert": 85.0,
    }  # 90/85 beyond 100/99
    assert "Server ran out first of: cpu 90 (alert 85) at 12 users" in summary_markdown(summary)
    assert "The server ran out first of <strong>cpu</strong>" in report_html(summary, {"timeline": None,
        "distribution": [], "resources": [], "drift": [], "server": [], "slowest": []})  # fmt: skip


def test_the_metrics_token_is_sent_as_a_bearer_header_and_written_nowhere(monkeypatch):
    seen: list[str | None] = []

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            seen.append(self.headers.get("Authorization"))
            body = b"# TYPE up gauge\nup 1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("SWARMGATE_METRICS_TOKEN", "s3cret-token")
        rules = load_sla(ROOT / "sla.toml").server
        source = source_for(None, f"http://127.0.0.1:{server.server_port}/metrics", rules, 10)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert seen == ["Bearer s3cret-token"]
    assert "s3cret-token" not in json.dumps(source.scraper.collected.facts(rules))
