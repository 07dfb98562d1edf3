"""The recovery rule and the resilience figures, on small timelines written by hand; the [resilience] SLA keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from swarmgate.analysis.load import Run
from swarmgate.analysis.records import Stage
from swarmgate.analysis.resilience import resilience
from swarmgate.analysis.resilience_rules import ResilienceLevel, ResilienceRules, resilience_rules
from swarmgate.analysis.sla import load_sla
from swarmgate.core.errors import InputError

T0 = 1_800_000_000.0
RULES = ResilienceRules(recovery_s=ResilienceLevel(2, 5), error_ratio_during_fault=ResilienceLevel(0.5, 1))


def write_run(tmp_path, bins, fault_window=(20.2, 30.1), undo_ok=True, hold=2.0):
    """A run dir: per-half-second bins (start offset, endpoint, requests, failures, {bucket: count}), one fault."""
    rows = [{"start": T0 + start, "method": "GET", "name": name, "requests": requests, "failures": failures,
             "response_times": {str(k): v for k, v in times.items()}}
            for start, name, requests, failures, times in bins]  # fmt: skip
    (tmp_path / "timeline.json").write_text(json.dumps({"schema_version": 1, "resolution_s": 0.5, "bins": rows}))
    start, end = (T0 + fault_window[0], T0 + fault_window[1] if undo_ok else None)
    fault = {"name": "db", "recovery_hold_s": hold, "undo": {"ok": undo_ok, "error": None if undo_ok else "exit 1"},
             "window": {"start": "s", "end": "e" if undo_ok else None, "start_ts": start, "end_ts": end}}  # fmt: skip
    stages = [Stage("warm-up", T0, T0 + 5, 10, False, []), Stage("steady", T0 + 5, T0 + 60, 10, True, [])]
    return Run("swarmgate", tmp_path, {"faults": [fault]}, [], stages, 60.0, [])


def steady_bins(until, fail_from=None, fail_to=None, slow_from=None, slow_to=None, name="/api/items"):
    """10 requests per bin at 5 ms; failing (all of them) or slow (400 ms) within the given offsets."""
    found = []
    for index in range(int(until * 2)):
        start = index / 2
        failing = fail_from is not None and fail_from <= start < fail_to
        slow = slow_from is not None and slow_from <= start < slow_to
        found.append((start, name, 10, 10 if failing else 0, {400 if slow else 5: 10}))
    return found


def test_recovery_is_the_first_bin_back_to_the_pre_fault_level_that_holds(tmp_path):
    # failing from 20.0 (the bin holding the fault's start) to 31.5: the system came back 1.4 s after the undo
    run = write_run(tmp_path, steady_bins(60, fail_from=20.0, fail_to=31.5))
    section, checks, missing = resilience(run, RULES)
    fault = section["faults"][0]
    assert section["resolution_s"] == 0.5 and not missing
    # before: the steady stage's bins that ended before the fault began (5.0 up to 20.0)
    assert fault["before"] == {"requests": 300, "failures": 0, "error_ratio": 0.0, "p95_ms": 5, "rps": 20.067}
    assert fault["during"]["failures"] == fault["during"]["requests"] == 200  # the bins from 20.0 up to 30.0
    assert fault["recovered"] is True and fault["recovery_s"] == pytest.approx(31.5 - 30.1)
    # at the pre-fault rate (300 requests in the 30 bins counted: 15 s); none succeeded
    assert fault["requests_lost"] == round(300 / 15.0 * (31.5 - 20.2))
    statuses = {c["metric"]: c["status"] for c in checks}
    assert statuses == {"recovery_s": "pass", "error_ratio_during_fault": "warn"}  # 1.0 is at the alert level


def test_a_bin_that_is_back_but_does_not_hold_is_not_a_recovery(tmp_path):
    bins = steady_bins(60, fail_from=20.0, fail_to=31.5)
    bins = [(s, n, r, 10 if 32.0 <= s < 33.5 else f, t) for s, n, r, f, t in bins]  # a relapse within the hold
    fault = resilience(write_run(tmp_path, bins), RULES)[0]["faults"][0]
    assert fault["recovery_s"] == pytest.approx(33.5 - 30.1)


def test_the_first_bin_back_must_be_fast_on_its_own_too(tmp_path):
    bins = steady_bins(60, fail_from=20.0, fail_to=30.5)
    bins = [(s, n, 1, 0, {400: 1}) if s == 30.5 else (s, n, r, f, t) for s, n, r, f, t in bins]  # errors gone, slow
    fault = resilience(write_run(tmp_path, bins), RULES)[0]["faults"][0]
    assert fault["recovery_s"] == pytest.approx(31.0 - 30.1)  # the hold alone (31 requests) would have taken 30.5


def test_a_recovery_without_data_to_judge_it_is_not_computed_rather_than_failed(tmp_path):
    # a fault from the first bin on (no level before it), one whose undo ended after the data, and a fault after
    # one that never recovered: not computed, each saying why; no recovery check fails
    cases = {(0.0, 10.0): "no requests before the fault", (20.2, 61.0): "data ends before the fault's end"}
    for window, why in cases.items():
        run = write_run(tmp_path, steady_bins(60, fail_from=window[0], fail_to=min(window[1], 60)), window)
        run.stages.clear()
        section, checks, missing = resilience(run, RULES)
        assert section["faults"][0]["recovered"] is None and why in section["faults"][0]["recovery_note"]
        assert [c["metric"] for c in checks] == ["error_ratio_during_fault"] and why in missing[0]
    run = write_run(tmp_path, steady_bins(60, fail_from=20.0, fail_to=60))
    second = {**run.meta["faults"][0], "name": "cache"}
    second["window"] = {**second["window"], "start_ts": T0 + 40, "end_ts": T0 + 45}
    run.meta["faults"].append(second)
    section, checks, missing = resilience(run, RULES)
    assert [f["recovered"] for f in section["faults"]] == [False, None]
    assert missing == ["recovery of fault 'cache' (the fault before it, 'db', did not recover: no pre-fault level)"]
    assert [c["endpoint"] for c in checks if c["metric"] == "recovery_s"] == ["db"]


def test_latency_must_come_back_too_and_a_fault_that_never_recovers_says_so(tmp_path):
    slow = resilience(write_run(tmp_path, steady_bins(60, slow_from=20.0, slow_to=36.0)), RULES)[0]["faults"][0]
    assert slow["during"]["p95_ms"] == 400 and slow["before"]["p95_ms"] == 5
    assert slow["recovery_s"] == pytest.approx(36.0 - 30.1)
    section, checks, _ = resilience(write_run(tmp_path, steady_bins(60, fail_from=20.0, fail_to=60)), RULES)
    assert section["faults"][0]["recovered"] is False and section["faults"][0]["recovery_s"] is None
    (recovery,) = [c for c in checks if c["metric"] == "recovery_s"]
    assert recovery["status"] == "fail" and "did not recover within the run" in recovery["message"]


def test_endpoints_are_judged_apart_and_a_failed_undo_fails_loudly(tmp_path):
    bins = steady_bins(60, fail_from=20.0, fail_to=31.5) + steady_bins(60, name="/health")
    section, _, _ = resilience(write_run(tmp_path, bins), RULES)
    by_name = {e["name"]: e for e in section["faults"][0]["endpoints"]}
    assert by_name["/health"]["during"]["failures"] == 0 and by_name["/health"]["recovery_s"] == 0
    assert by_name["/api/items"]["during"]["error_ratio"] == 1.0
    section, checks, _ = resilience(write_run(tmp_path, bins, undo_ok=False), RULES)
    assert section["undo_failed"] is True and section["faults"][0]["undo_ok"] is False
    (undo,) = [c for c in checks if c["metric"] == "undo"]
    assert undo["status"] == "fail" and "left broken" in undo["message"]


def test_a_run_without_faults_has_no_resilience_and_one_without_a_timeline_says_why(tmp_path):
    assert resilience(Run("swarmgate", tmp_path, {}, [], [], 1.0, []), RULES) == (None, [], [])
    run = write_run(tmp_path, [])
    (tmp_path / "timeline.json").unlink()
    assert resilience(run, RULES)[2] == ["resilience (the run has fault phases but no timeline.json)"]
    run = write_run(tmp_path, steady_bins(60))
    never = {"name": "db", "not_run": "Locust's start was not seen within 120 s", "window": None, "undo": {}}
    run.meta["faults"] = [never]
    section, checks, missing = resilience(run, RULES)  # a fault that never ran is no silent pass
    assert section["faults"] == [] and checks == []
    assert missing == ["resilience of fault 'db' (it never ran: Locust's start was not seen within 120 s)"]


def test_the_sla_keys_are_read_and_bad_ones_refused_all_at_once(tmp_path):
    path = tmp_path / "sla.toml"
    path.write_text("[resilience]\nrecovery_s = { target = 2, alert = 5 }\nerror_tolerance = 0.02\n")
    rules = load_sla(path).resilience
    assert rules.recovery_s == ResilienceLevel(2, 5) and rules.error_tolerance == 0.02
    assert rules.error_ratio_during_fault is None
    problems: list[str] = []
    resilience_rules({"recovery_s": {"target": 5, "alert": 2}, "p95_tolerance_pct": -1, "hold": 3}, problems)
    assert len(problems) == 3 and "unknown key" in problems[2]
    path.write_text("[resilience]\nrecovery_s = 2\n")
    with pytest.raises(InputError, match="resilience.recovery_s"):
        load_sla(path)


def test_a_failed_undo_fails_the_verdict_and_the_report_says_so_escaping_the_fault_name(tmp_path):
    from swarmgate.analysis.analyze import analyze
    from swarmgate.core.defaults import packaged
    from swarmgate.reports.ci_files import summary_markdown
    from swarmgate.reports.html import report_html

    run_dir = tmp_path / "run"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "smoke_run", run_dir)
    fault = {**write_run(run_dir, steady_bins(60), undo_ok=False).meta["faults"][0], "name": "<b>db</b>"}
    meta = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**meta, "faults": [fault], "undo_failed": True}))
    summary, _ = analyze(run_dir, load_sla(packaged("sla.toml")))
    assert summary["verdict"] == "fail" and summary["resilience"]["undo_failed"] is True
    html = report_html(summary, {"timeline": None, "distribution": [], "resources": [], "drift": [], "server": [],
                                 "slowest": []})  # fmt: skip
    assert "an undo failed: the system under test may be left broken" in html and "<b>db</b>" not in html
    markdown = summary_markdown(summary)
    assert "&lt;b&gt;db&lt;/b&gt;" in html and "left broken" in markdown and "| undo failed |" in markdown
    # a recovery without data to judge it: "not computed" in both, and in not_computed; no failed recovery
    fault = write_run(run_dir, steady_bins(60), fault_window=(0.0, 10.0)).meta["faults"][0]
    (run_dir / "run.json").write_text(json.dumps({**meta, "faults": [fault], "undo_failed": False}))
    summary, _ = analyze(run_dir, load_sla(packaged("sla.toml")))
    html = report_html(summary, {"timeline": None, "distribution": [], "resources": [], "drift": [], "server": [],
                                 "slowest": []})  # fmt: skip
    assert "| not computed |" in summary_markdown(summary) and ">not computed</span>" in html
    assert any(note.startswith("recovery of fault 'db' (no requests before") for note in summary["not_computed"])
    assert not [c for c in summary["checks"] if c["metric"] == "recovery_s"]
