"""Journeys end to end, in real runs against the demo: the demo users' journeys with a share of stuck
executions on two workers, and a plain locustfile using the importable API in one process. Each run's
counts equal its per-journey log, the completion ratio follows the knob and the verdict judges it,
while the requests, which all succeed, pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import SWARMGATE, constant_scenario, json_entries, stats_rows

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent
STUCK = 0.3


def journey_counts(run_dir: Path) -> Counter:
    """(journey, outcome) -> count over every stage of stages.json."""
    counts: Counter = Counter()
    for stage in json.loads((run_dir / "stages.json").read_text())["stages"]:
        for row in stage["journeys"]:
            for outcome in ("completed", "failed", "abandoned"):
                counts[(row["name"], outcome)] += row[outcome]
            counts[(row["name"], "started")] += row["started"]
    return +counts


def logged_counts(log: Path) -> Counter:
    """The same from the journey log: one line per finished journey, started = finished."""
    counts: Counter = Counter()
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        counts[(entry["journey"], entry["outcome"])] += 1
        counts[(entry["journey"], "started")] += 1
    return counts


def start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SWARMGATE_JOURNEY_LOG": str(log)}
    return subprocess.Popen([*SWARMGATE, "run", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_journeys_are_counted_exactly_judged_and_kept_apart_from_requests(tmp_path):
    (tmp_path / "executions.toml").write_text(constant_scenario(20, "14s", PeakUser=1))
    shutil.copy(HERE / "journey_locustfile.py", tmp_path / "journey_locustfile.py")
    (tmp_path / "plain.toml").write_text('locustfile = "journey_locustfile.py"\n' + constant_scenario(6, "8s")
                                         .split("[mix]")[0])  # fmt: skip
    runs = {  # side by side: nothing here measures time
        "stuck": start(
            ["executions.toml", "--workers", "2", "--demo-stuck-execution-ratio", str(STUCK), "--results-dir", "stuck"],
            tmp_path,
            tmp_path / "stuck.jsonl",
        ),  # fmt: skip
        "plain": start(["plain.toml", "--results-dir", "plain"], tmp_path, tmp_path / "plain.jsonl"),
    }
    outputs = {name: proc.communicate(timeout=240) for name, proc in runs.items()}

    # Stuck executions: every request succeeds, the run workflow journey completes about 1 - STUCK of the time.
    assert runs["stuck"].returncode == 1, outputs["stuck"]
    (run_dir,) = (tmp_path / "stuck" / "executions").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    workflow = next(row for row in summary["judged_journeys"] if row["name"] == "run workflow")
    assert workflow["judged"] >= 20 and workflow["completion_ratio"] < 0.8, workflow  # below the SLA's alert
    # Exact bounds rather than a statistical tolerance: stuck executions are spread evenly over the ids (any
    # consecutive run holds STUCK of them, to within one), only this journey creates executions and a
    # non-stuck one succeeds within the poll budget. The one bias is the stop: journeys cut short when the
    # test ends are left out of the ratio, and stuck ones (polling 3 s, not 1.5 s) are likelier to be in
    # flight then. With a non-stuck and b stuck executions among the stopped (a + b <= stopped), the whole
    # run's completed = (1 - STUCK) * (judged + a + b) - a, to within one: between the two ends below.
    whole = next(row for row in summary["journeys"] if row["name"] == "run workflow")
    judged, stopped, completed = whole["judged"], whole["user_stopped"], whole["completed"]
    low, high = (1 - STUCK) * judged - STUCK * stopped - 1, (1 - STUCK) * (judged + stopped) + 1
    assert low <= completed <= high, whole
    assert whole["failed"] == 0 and whole["abandoned_at"]["poll budget ran out"] > 0, whole
    checks = summary["checks"]
    [journey_check] = [c for c in checks if c["kind"] == "journey" and c["endpoint"] == "run workflow"]
    assert journey_check["status"] == "fail" and journey_check["metric"] == "completion_ratio"
    assert [c for c in checks if c["kind"] == "sla"] and all(c["status"] == "pass" for c in checks
                                                             if c["kind"] == "sla")  # fmt: skip
    assert "journey run workflow completion_ratio" in outputs["stuck"][0]
    # counted exactly across two workers: the master's stages.json equals what the workers' users logged
    assert journey_counts(run_dir) == logged_counts(tmp_path / "stuck.jsonl")
    assert {"create workspace and workflow", "add and find knowledge"} <= {r["name"] for r in summary["journeys"]}
    # never mixed into the requests: Locust's tables name endpoints only, and agree with the histograms
    rows = stats_rows(run_dir)
    assert not {name for _, name in rows} & {r["name"] for r in summary["journeys"]}
    assert int(rows[("", "Aggregated")]["Request Count"]) == sum(e["num_requests"] for e in json_entries(run_dir))

    # A plain locustfile (HttpUser, no swarmgate users) records its journeys; no stuck knob: all complete.
    assert runs["plain"].returncode == 0, outputs["plain"]
    (run_dir,) = (tmp_path / "plain" / "plain").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    journeys = {row["name"]: row for row in summary["judged_journeys"]}
    assert set(journeys) == {"run workflow", "look around"}
    assert journeys["run workflow"]["completion_ratio"] == 1.0 and journeys["run workflow"]["judged"] > 5
    assert journeys["look around"]["completed"] > 5 and journeys["look around"]["p95_ms"] is not None
    [journey_check] = [c for c in summary["checks"] if c["kind"] == "journey"]
    assert journey_check["status"] == "pass" and summary["verdict"] == "pass"
    assert journey_counts(run_dir) == logged_counts(tmp_path / "plain.jsonl")
