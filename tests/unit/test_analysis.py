"""The analyzer on small fixture files from a real run (real Locust headers), and on broken copies of them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from swarmgate.analysis.load import load_run
from swarmgate.analysis.metrics import endpoint_metrics
from swarmgate.analysis.records import Endpoint
from swarmgate.analysis.sla import load_sla, sla_checks
from swarmgate.core.errors import InputError
from swarmgate.pipeline import analyze_and_write as analyze
from swarmgate.reports.ci_files import junit_xml, summary_markdown

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SLA = Path(__file__).resolve().parents[2] / "sla.toml"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(FIXTURES / "smoke_run", target)
    return target


@pytest.fixture
def stock(tmp_path) -> Path:
    target = tmp_path / "stock"
    shutil.copytree(FIXTURES / "stock", target)
    return target / "locust"


def test_a_swarmgate_run_is_judged_over_its_steady_stages(run_dir):
    summary, folder = analyze(run_dir)
    assert folder == run_dir and summary["verdict"] == "pass"
    assert summary["judged_over"]["window"] == "steady stages"
    stages = json.loads((run_dir / "stages.json").read_text())["stages"]
    steady_requests = sum(e["requests"] for s in stages if s["steady"] for e in s["endpoints"])
    aggregated = summary["judged_endpoints"][-1]
    assert aggregated["name"] == "Aggregated" and aggregated["requests"] == steady_requests
    whole = summary["endpoints"][-1]
    assert whole["requests"] == sum(e["num_requests"] for e in json.loads((run_dir / "locust.json").read_text()))
    assert all(row["percentiles_from"] == "histogram" for row in summary["endpoints"] if row["requests"])
    for name in ("summary.json", "charts.json", "junit.xml", "summary.md"):
        assert (run_dir / name).is_file()


def test_stock_locust_output_with_and_without_the_json(stock):
    with_json = load_run(stock)
    assert with_json.source == "locust-csv" and with_json.endpoints[0].histogram is not None
    assert any("stages" in note for note in with_json.missing)
    Path(f"{stock}.json").unlink()
    without = load_run(stock)
    assert without.endpoints[0].histogram is None
    assert any("exact percentiles" in note for note in without.missing)
    summary, _ = analyze(stock)
    assert summary["judged_over"]["window"] == "steady stages"  # one hold inferred from the history's User Count
    aggregated = summary["judged_endpoints"][-1]  # Locust's own Aggregated row supplies the percentiles
    assert aggregated["name"] == "Aggregated" and aggregated["p95_ms"] is not None
    assert ("", "Aggregated", "p95_ms") in {(c["method"], c["endpoint"], c["metric"]) for c in summary["checks"]}
    assert all(row["percentiles_from"] in ("locust-csv", None) for row in summary["endpoints"])
    assert summary["endpoints"][-1]["apdex"] is None  # said, not guessed


def test_sla_levels_give_pass_warn_and_fail(run_dir, tmp_path):
    sla = tmp_path / "sla.toml"
    sla.write_text("[defaults]\np50_ms = { target = 0.5, alert = 100 }\n"
                   "[[endpoints]]\nname = \"/api/workspaces\"\nmethod = \"GET\"\n"
                   "p50_ms = { target = 0, alert = 0 }\n")  # fmt: skip
    summary, _ = analyze(run_dir, sla)
    statuses = {(c["method"], c["endpoint"]): c["status"] for c in summary["checks"] if c["metric"] == "p50_ms"}
    assert statuses[("GET", "/api/workspaces")] == "fail"
    assert "warn" in statuses.values()
    assert summary["verdict"] == "fail"
    xml = junit_xml(summary)
    assert xml.count("<failure") == sum(c["status"] == "fail" for c in summary["checks"])
    assert "FAIL" in summary_markdown(summary)


def test_scenario_profiles_and_whole_run_metrics():
    sla = load_sla(SLA)
    baseline = sla.thresholds("baseline", "", "Aggregated")
    assert baseline["min_rps"].target == 20 and baseline["p99_ms"].target == 500
    assert baseline["p95_ms"].target == 500  # from the defaults
    assert "min_rps" not in sla.thresholds("baseline", "GET", "/api/workspaces")  # whole run only
    assert sla.thresholds(None, "GET", "/health")["p95_ms"].alert == 200


def test_names_are_escaped_in_the_ci_files(run_dir):
    summary, _ = analyze(run_dir)
    hostile = "<script>alert(1)</script>|`x`"
    summary["judged_endpoints"][0]["name"] = hostile
    summary["checks"][0].update(endpoint=hostile, status="fail", message=f'{hostile} "quoted" & more')
    assert "<script>" not in summary_markdown(summary)
    xml = junit_xml(summary)
    assert "<script>" not in xml and "&lt;script&gt;" in xml


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def replace_line(path: Path, number: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[number] = new
    path.write_text("\n".join(lines) + "\n")


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def edit_json(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


BROKEN = {
    "stats: empty file": lambda d: (d / "locust_stats.csv").write_text(""),
    "stats: missing column": lambda d: (d / "locust_stats.csv").write_text(
        (d / "locust_stats.csv").read_text().replace("Request Count", "Requests", 1)
    ),
    "stats: truncated row": lambda d: replace_line(d / "locust_stats.csv", 2, "GET,/api/workspaces,12"),
    "stats: words in a count": lambda d: edit_cell(d / "locust_stats.csv", 1, "Request Count", "many"),
    "stats: negative count": lambda d: edit_cell(d / "locust_stats.csv", 1, "Failure Count", "-3"),
    "stats: fractional count": lambda d: edit_cell(d / "locust_stats.csv", 1, "Request Count", "2.5"),
    "stats: failures above requests": lambda d: edit_cell(d / "locust_stats.csv", 1, "Failure Count", "999999"),
    "stats: decreasing percentiles": lambda d: edit_cell(d / "locust_stats.csv", 1, "99%", "0"),
    "stats: infinite time": lambda d: edit_cell(d / "locust_stats.csv", 1, "Max Response Time", "inf"),
    "stats: no Aggregated row": lambda d: (d / "locust_stats.csv").write_text(
        "\n".join((d / "locust_stats.csv").read_text().splitlines()[:-1]) + "\n"
    ),
    "stats: latin-1 bytes": lambda d: (d / "locust_stats.csv").write_bytes(
        (d / "locust_stats.csv").read_bytes().replace(b"/api/workspaces", b"/api/caf\xe9", 1)
    ),
    "history: time goes backwards": lambda d: edit_cell(d / "locust_stats_history.csv", 5, "Timestamp", "1000"),
    "history: no Timestamp column": lambda d: (d / "locust_stats_history.csv").write_text("Name,Count\nx,1\n"),
    "history: words for a time": lambda d: edit_cell(d / "locust_stats_history.csv", 3, "Timestamp", "noon"),
    "json: empty": lambda d: (d / "locust.json").write_text(""),
    "json: truncated": lambda d: (d / "locust.json").write_text((d / "locust.json").read_text()[:500]),
    "json: not a list": lambda d: (d / "locust.json").write_text('{"entries": []}'),
    "json: entry without histogram": lambda d: edit_json(d / "locust.json", lambda j: j[0].pop("response_times")),
    "json: negative count": lambda d: edit_json(d / "locust.json", lambda j: j[0].update(num_failures=-1)),
    "json: words for a count": lambda d: edit_json(d / "locust.json", lambda j: j[0].update(num_requests="x")),
    "json: more timed than made": lambda d: edit_json(d / "locust.json", lambda j: j[0].update(num_requests=0)),
    "json: binary": lambda d: (d / "locust.json").write_bytes(b"\xff\xfe\x00garbage"),
    "json: histogram is null": lambda d: edit_json(d / "locust.json", lambda j: j[0].update(response_times=None)),
    "stats: N/A for a count": lambda d: edit_cell(d / "locust_stats.csv", 1, "Request Count", "N/A"),
    "stats: nan for a count": lambda d: edit_cell(d / "locust_stats.csv", 1, "Request Count", "nan"),
    "stats: empty count": lambda d: edit_cell(d / "locust_stats.csv", 1, "Failure Count", ""),
    "stats: the same endpoint twice": lambda d: (d / "locust_stats.csv").write_text(
        "\n".join(
            (lambda lines: [lines[0], lines[1], lines[1].replace(",12,", ",13,", 1), *lines[2:]])(
                (d / "locust_stats.csv").read_text().splitlines()
            )
        )
        + "\n"
    ),
    "failures: latin-1 bytes": lambda d: (d / "locust_failures.csv").write_bytes(
        b"Method,Name,Error,Occurrences,First Seen,Last Seen\nGET,/x,caf\xe9 broke,3,,\n"
    ),
}
BROKEN_RUN = {
    "run.json: not an object": lambda d: (d / "run.json").write_text("[1, 2]"),
    "run.json: truncated": lambda d: (d / "run.json").write_text('{"scenario": "smo'),
    "stages: going back in time": lambda d: edit_json(
        d / "stages.json", lambda j: j["stages"][1].update(start_ts=j["stages"][0]["start_ts"] - 100)
    ),
    "stages: end before start": lambda d: edit_json(
        d / "stages.json", lambda j: j["stages"][0].update(end_ts=j["stages"][0]["start_ts"] - 1)
    ),
    "stages: missing list": lambda d: edit_json(d / "stages.json", lambda j: j.pop("stages")),
    "stages: endpoint without counts": lambda d: edit_json(
        d / "stages.json", lambda j: j["stages"][1]["endpoints"][0].pop("requests")
    ),
}
BROKEN_SLA = {
    "sla: unknown metric": "[defaults]\np42_ms = { target = 1, alert = 2 }\n",
    "sla: alert below target": "[defaults]\np95_ms = { target = 500, alert = 100 }\n",
    "sla: min metric alert above target": "[scenarios.x]\nmin_rps = { target = 10, alert = 20 }\n",
    "sla: a bare number": "[defaults]\np95_ms = 500\n",
    "sla: unknown top key": "colour = 1\n",
    "sla: not toml": "[defaults\n",
    "sla: endpoint without name": "[[endpoints]]\np95_ms = { target = 1, alert = 2 }\n",
    "sla: scenarios as a list": '[[scenarios]]\nname = "peak"\n',
    "sla: a profile as a number": "[scenarios]\npeak = 200\n",
    "sla: defaults as a number": "defaults = 3\n",
    "sla: regression as a number": "regression = 1\n",
    "sla: endpoints as a table": "[endpoints]\nname = 1\n",
}


# What each broken input must be refused for (a substring of the one-line message).
PROBLEM = {
    "failures: latin-1 bytes": "locust_failures.csv: is not UTF-8 text",
    "stats: the same endpoint twice": "rows 2 and 3 are both",
    "history: no Timestamp column": "lacks the Timestamp column",
    "history: time goes backwards": "row 6: time goes backwards",
    "history: words for a time": "column 'Timestamp' holds 'noon', not a number",
    "json: binary": "locust.json: is not UTF-8 text",
    "json: empty": "locust.json: is empty",
    "json: entry without histogram": "entry 1 lacks 'response_times'",
    "json: histogram is null": "entry 1 holds a value of the wrong kind",
    "json: more timed than made": "entry 1 has more timed requests than requests",
    "json: negative count": "entry 1 has a negative count",
    "json: not a list": "is not a list of endpoint entries",
    "json: truncated": "locust.json: is not valid JSON",
    "json: words for a count": "entry 1 holds a value of the wrong kind",
    "stats: N/A for a count": "column 'Request Count' is empty or N/A",
    "stats: decreasing percentiles": "percentiles decrease from left to right",
    "stats: empty count": "column 'Failure Count' is empty or N/A",
    "stats: empty file": "locust_stats.csv: is empty",
    "stats: failures above requests": "Failure Count is larger than Request Count",
    "stats: fractional count": "column 'Request Count' holds '2.5', not a count",
    "stats: infinite time": "column 'Max Response Time' holds 'inf', not a count or time",
    "stats: latin-1 bytes": "locust_stats.csv: is not UTF-8 text",
    "stats: missing column": "lacks column(s) Request Count",
    "stats: nan for a count": "column 'Request Count' holds 'nan'",
    "stats: negative count": "column 'Failure Count' holds '-3'",
    "stats: no Aggregated row": "has no Aggregated row",
    "stats: truncated row": "row 3: has 3 fields where the header has 22",
    "stats: words in a count": "column 'Request Count' holds 'many', not a number",
    "run.json: not an object": "run.json: is not a JSON object",
    "run.json: truncated": "run.json: is not valid JSON",
    "stages: end before start": "stage 1 goes back in time",
    "stages: endpoint without counts": "stage 2 lacks 'requests'",
    "stages: going back in time": "stage 2 goes back in time",
    "stages: missing list": "has no list of stages",
    "sla: a bare number": "defaults.p95_ms: write { target = N, alert = M }",
    "sla: a profile as a number": "scenarios.peak: must be a table",
    "sla: alert below target": "defaults.p95_ms: the alert level must be at or beyond the target",
    "sla: defaults as a number": "defaults: must be a table",
    "sla: endpoint without name": "endpoints[1]: needs name",
    "sla: endpoints as a table": "endpoints: must be a list of [[endpoints]] tables",
    "sla: min metric alert above target": "scenarios.x.min_rps: the alert level must be at or below the target",
    "sla: not toml": "is not valid TOML",
    "sla: regression as a number": "regression: must be a table",
    "sla: scenarios as a list": "scenarios: must be a table",
    "sla: unknown metric": "defaults.p42_ms: unknown metric",
    "sla: unknown top key": "colour: unknown key",
}


def test_every_broken_input_names_its_problem():
    assert set(PROBLEM) == set(BROKEN) | set(BROKEN_RUN) | set(BROKEN_SLA)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_stock_input_is_refused_in_one_line_and_nothing_changes(stock, case):
    folder = stock.parent
    BROKEN[case](folder)
    before = digest(folder)
    with pytest.raises(InputError) as err:
        analyze(stock)
    assert "\n" not in err.value.message and str(folder) in err.value.message
    assert PROBLEM[case] in err.value.message
    assert digest(folder) == before  # no summary written, nothing overwritten


@pytest.mark.parametrize("case", sorted(BROKEN_RUN))
def test_broken_run_dir_is_refused_in_one_line_and_nothing_changes(run_dir, case):
    BROKEN_RUN[case](run_dir)
    before = digest(run_dir)
    with pytest.raises(InputError) as err:
        analyze(run_dir)
    assert "\n" not in err.value.message and str(run_dir) in err.value.message
    assert PROBLEM[case] in err.value.message
    assert digest(run_dir) == before


@pytest.mark.parametrize("case", sorted(BROKEN_SLA))
def test_broken_sla_tables_are_refused_in_one_line(run_dir, tmp_path, case):
    sla = tmp_path / "sla.toml"
    sla.write_text(BROKEN_SLA[case])
    before = digest(run_dir)
    with pytest.raises(InputError) as err:
        analyze(run_dir, sla)
    assert "\n" not in err.value.message and "sla.toml" in err.value.message
    assert PROBLEM[case] in err.value.message
    assert digest(run_dir) == before


def test_the_corpus_is_large_enough():
    assert len(BROKEN) + len(BROKEN_RUN) + len(BROKEN_SLA) >= 25


def test_a_bad_history_file_is_refused_before_anything_is_written(run_dir, tmp_path):
    history = tmp_path / "history.sqlite"
    history.write_text("not a database at all")
    before = digest(run_dir)
    with pytest.raises(InputError) as err:
        analyze(run_dir, history=history)
    assert "history.sqlite" in err.value.message and "\n" not in err.value.message
    assert digest(run_dir) == before


def test_csv_files_with_a_byte_order_mark_are_read_as_without(stock):
    """Spreadsheet tools save UTF-8 with a byte-order mark: the same run, the same numbers."""
    plain, _ = analyze(stock)
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "locust.json"):
        path = stock.parent / name
        if path.exists():
            path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    marked, _ = analyze(stock)
    assert marked["endpoints"] == plain["endpoints"] and marked["failures"] == plain["failures"]
    assert marked["endpoints"] and marked["verdict"] == plain["verdict"]


def test_uptime_is_the_share_of_successful_health_checks():
    sla = load_sla(SLA)  # the packaged table: the health check's uptime 99.9 %, alert below 99.5 %
    health = Endpoint("GET", "/health", 1000, 3, 1000.0, 5.0, {1: 1000})
    statuses = []
    for failures in (0, 3, 10):
        health.failures = failures
        row = endpoint_metrics(health, 60.0, sla.apdex_t_ms, sla.slow_ms)
        (uptime,) = [c for c in sla_checks([row], sla, None, "steady stages") if c["metric"] == "uptime_ratio"]
        statuses.append((uptime["actual"], uptime["status"]))
    assert statuses == [(1.0, "pass"), (0.997, "warn"), (0.99, "fail")]
