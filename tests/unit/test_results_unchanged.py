"""summary.json and the chart series equal what swarmgate gave before the history was streamed.

tests/fixtures/expected/soak_and_steps.json was written by the analysis as it stood before reading
Locust's history moved to one streamed pass (a whole pandas frame then): a 12-minute endurance run
(`soak_run`: drift, downsampled timeline, resources, slow requests), compared with a slower copy of
itself (the rank test over 10 s windows), and a stock Locust run whose stages are inferred
(`stock_steps`). Nothing may change but where the baseline was read from (a temporary folder).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from swarmgate.analysis.analyze import analyze
from swarmgate.analysis.series import report_series
from swarmgate.analysis.sla import load_sla
from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected" / "soak_and_steps.json").read_text(encoding="utf-8"))
PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")


def faster_copy(run_dir: Path, baseline: Path) -> None:
    """The baseline: the same run with every response time at 70 % and 20 % more requests per second."""
    shutil.copytree(run_dir, baseline)
    stages = json.loads((run_dir / "stages.json").read_text(encoding="utf-8"))
    for stage in stages["stages"]:
        for endpoint in stage["endpoints"]:
            endpoint["response_times"] = {str(round(int(b) * 0.7)): n for b, n in endpoint["response_times"].items()}
    (baseline / "stages.json").write_text(json.dumps(stages), encoding="utf-8")
    with open(run_dir / "locust_stats_history.csv", newline="") as source:
        rows = list(csv.DictReader(source))
    for row in rows:
        for column in PERCENTILES:
            if row[column] != "N/A":
                row[column] = str(round(int(row[column]) * 0.7))
        row["Requests/s"] = f"{float(row['Requests/s']) * 1.2:.6f}"
    with open(baseline / "locust_stats_history.csv", "w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def analyzed_now(tmp_path: Path, name: str) -> dict:
    sla = load_sla(ROOT / "sla.toml")
    if name == "soak_run":
        shutil.copytree(FIXTURES / "soak_run", tmp_path / "run")
        faster_copy(FIXTURES / "soak_run", tmp_path / "baseline")
        summary, run = analyze(tmp_path / "run", sla, baseline=tmp_path / "baseline")
        summary["baseline"].pop("path")  # where the temporary copy was
    else:
        shutil.copytree(FIXTURES / "stock_steps", tmp_path / "stock")
        summary, run = analyze(tmp_path / "stock" / "locust", sla)
    return json.loads(json.dumps({"summary": summary, "series": report_series(run, summary)}))


# Fields summary.json gained since the fixture was written, with the value these runs must have.
# No abort gate stopped them; they recorded no server metrics; they had no fault phases; they recorded no
# journeys (their stages have none either).
ADDED_SINCE = {"aborted": None, "server": None, "resilience": None, "journeys": [], "judged_journeys": []}
NO_SERVER_METRICS = "server metrics (the run recorded no source of them)"


def without_additions(summary: dict) -> dict:
    """The summary as the fixture's code wrote it: each field added since checked, then taken out."""
    for key, value in ADDED_SINCE.items():
        assert summary.pop(key) == value, key
    summary["not_computed"].remove(NO_SERVER_METRICS)
    for stage in summary["stages"]:
        assert stage.pop("journeys") == [], stage["name"]
    rows = [
        *summary["endpoints"],
        *summary["judged_endpoints"],
        *(r for s in summary["stages"] for r in s["endpoints"]),
    ]
    for row in rows:  # every row gained uptime_ratio, which follows from its error ratio
        uptime = row.pop("uptime_ratio")
        assert uptime == (round(1 - row["error_ratio"], 6) if row["requests"] else None), row
    return summary


@pytest.mark.parametrize("name", ["soak_run", "stock_steps"])
def test_summary_and_chart_series_are_what_they_were(tmp_path, name):
    found = analyzed_now(tmp_path, name)
    expected = EXPECTED[name]
    assert without_additions(found["summary"]) == expected["summary"]
    assert found["series"].pop("server") == []  # the chart series gained the server metrics' (none here)
    assert found["series"].pop("journeys") == []  # and the journeys' (none either)
    assert found["series"] == expected["series"]
