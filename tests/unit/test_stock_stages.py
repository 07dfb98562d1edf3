"""Stages inferred from a stock Locust history: holds, ramps, jitter and short holds; exact counts and
approximate percentiles per stage, on synthetic rows and on a real five-level run (tests/fixtures/stock_steps)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from swarmgate.analysis.load import load_run
from swarmgate.analysis.stock_stages import (
    MIN_HOLD_S,
    EndpointHistory,
    read_frame,
    row_times,
    stage_plan,
    stock_stages,
)
from swarmgate.core.histogram import percentile
from swarmgate.pipeline import analyze_and_write as analyze

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STEPS = FIXTURES / "stock_steps"


def rows(*counts: int, start: float = 1000.0) -> list[tuple[float, int]]:
    """One history row per second with these user counts."""
    return [(start + i, users) for i, users in enumerate(counts)]


def plan_of(*counts: int) -> list[tuple[str, float, float, int, bool]]:
    return [(p.name, p.start, p.end, p.users, p.steady) for p in stage_plan(rows(*counts))]


def test_each_hold_is_a_steady_stage_and_what_lies_between_is_a_ramp():
    assert plan_of(0, *[10] * 6, *[20] * 6, 0) == [
        ("ramp-1 (to 10 users)", 1000, 1001, 10, False),
        ("hold-1 (10 users)", 1001, 1006, 10, True),
        ("ramp-2 (to 20 users)", 1006, 1007, 20, False),
        ("hold-2 (20 users)", 1007, 1012, 20, True),
        ("ramp-3 (to 0 users)", 1012, 1013, 0, False),
    ]


def test_a_slow_ramp_and_the_counts_seen_while_spawning_are_one_ramp():
    climbing = list(range(1, 11))  # one user a second: each count for one row
    assert plan_of(*climbing, *[10] * 8) == [("ramp-1 (to 10 users)", 1000, 1009, 10, False),
                                              ("hold-1 (10 users)", 1009, 1017, 10, True)]  # fmt: skip
    jittery = [0, 3, 7, 6, 10, 9, 10, 12]  # a distributed master adding up worker reports while they spawn
    assert [p[4] for p in plan_of(*jittery, *[12] * 6)] == [False, True]


def test_a_brief_dip_within_a_hold_does_not_split_it():
    assert plan_of(*[20] * 5, 19, 19, *[20] * 5) == [("hold-1 (20 users)", 1000, 1011, 20, True)]
    # a longer change is a change: two holds at 20, and the 10-user level too short to be one
    split = plan_of(*[20] * 5, 10, 10, 10, *[20] * 5)
    assert [(p[0], p[4]) for p in split] == [("hold-1 (20 users)", True), ("ramp-2 (to 20 users)", False),
                                             ("hold-2 (20 users)", True)]  # fmt: skip


def test_a_hold_shorter_than_the_minimum_is_not_a_stage():
    short = int(MIN_HOLD_S)  # rows span one second less than their number
    assert [p[0] for p in plan_of(0, *[10] * 6, *[15] * short, *[20] * 6)] == [
        "ramp-1 (to 10 users)", "hold-1 (10 users)", "ramp-2 (to 20 users)", "hold-2 (20 users)"]  # fmt: skip
    assert plan_of(0, *[15] * short, 0) == []  # nothing held: no stages (the run is judged as a whole)
    assert plan_of(*[0] * 10) == [] and plan_of() == []


def test_a_second_skipped_by_locusts_clock_is_no_second_more_and_a_stall_counts_as_it_reads():
    # rows written every 1.004 s from x.95: int(time) skips a second where the fraction wraps over
    written = [1000.95 + 1.004 * k for k in range(31)]
    stamps = [float(int(t)) for t in written]
    assert 2 in {b - a for a, b in zip(stamps, stamps[1:], strict=False)}
    times = row_times(stamps)
    assert all(t <= r < t + 1 for t, r in zip(stamps, times, strict=True))  # each row stays in its second
    for k in range(0, 26, 5):  # every five-row hold lasts about 5 s, the one with the skip too
        assert times[k + 5] - times[k] == pytest.approx(written[k + 5] - written[k], abs=0.1)
    stalled = row_times([0.0, 1, 2, 3, 9, 10, 11])
    assert stalled[4] - stalled[3] == pytest.approx(6, abs=1)


def history_frame(*rows: tuple) -> pd.DataFrame:
    """A --csv-full-history frame from (stamp, users, name, total requests, total avg ms, max ms, p50, p95, p100)."""
    records = []
    for stamp, users, name, requests, average, most, p50, p95, p100 in rows:
        records.append({"Timestamp": stamp, "User Count": users, "Type": "" if name == "Aggregated" else "GET",
                        "Name": name, "Total Request Count": requests, "Total Failure Count": 0,
                        "Total Average Response Time": average, "Total Max Response Time": most,
                        "50%": p50, "75%": p50 + bool(p50), "90%": p95 - bool(p95), "95%": p95,
                        "99%": p100 - bool(p100), "100%": p100})  # each column its own value  # fmt: skip
    return pd.DataFrame.from_records(records)


def test_counts_and_means_are_exact_differences_and_percentiles_come_from_the_rolling_windows():
    # /a: 10 requests a second at 10 ms for 12 s, then 10 a second at 30 ms; Locust's window reads 0 at first
    lines = []
    for second in range(25):
        requests = 10 * second
        slow = max(0, second - 12)
        average = (10 * 12 * 10 + 10 * slow * 30) / requests if requests and slow else (10.0 if requests else 0)
        users = 5 if second < 13 else 10
        window = (0, 0, 0) if second < 2 else (10, 12, 15) if second <= 12 else (30, 35, 40)
        lines.append((1000 + second, users, "/a", requests, average, 15 if second <= 12 else 40, *window))
        lines.append((1000 + second, users, "Aggregated", requests, average, 15 if second <= 12 else 40, *window))
    stages = stock_stages(history_frame(*lines))
    assert [(s.name, int(s.start), int(s.end)) for s in stages] == [("hold-1 (5 users)", 1000, 1012),
                                                                     ("ramp-2 (to 10 users)", 1012, 1013),
                                                                     ("hold-2 (10 users)", 1013, 1024)]  # fmt: skip
    first, _, second = (s.endpoints[0] for s in stages)
    assert (first.requests, second.requests) == (120, 110)
    assert first.total_ms / first.requests == pytest.approx(10.0) and second.total_ms == pytest.approx(110 * 30)
    assert first.approximate and second.approximate
    # Locust's percentile rule on the rebuilt histogram gives each window's own column back, not the next one
    assert [percentile(first.histogram, q) for q in (0.5, 0.75, 0.95, 0.99, 1.0)] == [10, 11, 12, 14, 15]
    assert [percentile(second.histogram, q) for q in (0.5, 0.9, 0.95, 0.99)] == [30, 34, 35, 39]
    assert sum(first.histogram.values()) == 120 * 10_000  # weighed by its requests, to merge with other stages
    assert second.max_ms == 40  # the run's max rose in it: exact
    assert first.max_ms == 15


def test_a_stage_shorter_than_a_window_is_read_from_the_window_ending_with_it():
    lines = [(1000 + s, 5 if s else 0, "/a", 10 * s, 10.0, 12, *((0, 0, 0) if s < 2 else (10, 11, 12)))
             for s in range(20)]  # fmt: skip
    lines += [(1020 + s, 8, "/a", 200 + 10 * s, 12.0, 50, 40, 45, 50) for s in range(6)]
    totals = [(stamp, users, "Aggregated", *rest) for stamp, users, _, *rest in lines]
    ramp, hold, _, short = stock_stages(history_frame(*lines, *totals))
    assert (hold.name, short.name, round(short.end - short.start)) == ("hold-1 (5 users)", "hold-2 (8 users)", 5)
    assert percentile(short.endpoints[0].histogram, 0.5) == 40  # the one window it has, ending with it
    assert percentile(hold.endpoints[0].histogram, 0.5) == 10
    assert ramp.endpoints[0].histogram == {}  # Locust's window had no data yet: no percentile, none guessed


def test_a_stats_reset_does_not_give_negative_counts():
    frame = history_frame(*[(1000 + s, 5, "/a", 10 * s if s < 6 else 10 * (s - 6), 10.0, 12, 10, 11, 12)
                            for s in range(12)])  # fmt: skip
    series = EndpointHistory("GET", "/a", frame)
    assert series.window(1000, 1011).requests == 100  # 50 before the reset, 50 after


@pytest.fixture
def steps(tmp_path) -> Path:
    shutil.copytree(STEPS, tmp_path / "steps")
    return tmp_path / "steps" / "locust"


def test_a_real_stock_step_run_has_five_steady_stages_whose_counts_add_up(steps):
    run = load_run(steps)
    steady = [s for s in run.stages if s.steady]
    assert [s.users for s in steady] == [1, 2, 4, 8, 16]
    assert all(s.end - s.start >= MIN_HOLD_S for s in steady)
    assert all(a.end == b.start for a, b in zip(run.stages, run.stages[1:], strict=False))  # no gap, no overlap
    with open(f"{steps}_stats_history.csv", newline="") as handle:
        last = [r for r in csv.DictReader(handle) if r["Name"] == "Aggregated"][-1]
    assert sum(e.requests for s in run.stages for e in s.endpoints) == int(last["Total Request Count"])
    assert any("approximate" in note for note in run.missing)
    assert not any(note.startswith("stages") for note in run.missing)


def test_a_real_stock_step_run_is_judged_over_its_holds_and_gets_a_knee(steps):
    summary, _ = analyze(steps, results_root=steps.parent / "results")
    assert summary["judged_over"]["window"] == "steady stages"
    steady = [s for s in summary["stages"] if s["steady"]]
    assert all(s["endpoints"][-1]["percentiles_from"] == "locust-history" for s in steady)
    assert all(s["endpoints"][-1]["apdex"] is None for s in steady)  # said, not guessed
    assert summary["endpoints"][-1]["percentiles_from"] == "histogram"  # the whole run: exact, from the JSON
    knee = summary["capacity"]["saturation"]
    assert (knee["last_linear_users"], knee["first_saturated_users"]) == (4, 8)  # the demo served 4 at a time


def test_without_a_full_history_no_stages_are_inferred_and_that_is_said(steps):
    history = Path(f"{steps}_stats_history.csv")
    with open(history, newline="") as handle:
        kept = [r for r in csv.reader(handle) if r[3] in ("Name", "Aggregated")]  # Locust without --csv-full-history
    with open(history, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)
    run = load_run(steps)
    assert run.stages == [] and any(note.startswith("stages (none inferred") for note in run.missing)
    history.unlink()
    assert load_run(steps).stages == []


def test_stage_inference_reads_what_it_needs_from_the_history_once(steps):
    frame = read_frame(Path(f"{steps}_stats_history.csv"))
    assert [s.users for s in stock_stages(frame) if s.steady] == [1, 2, 4, 8, 16]
    assert stock_stages(None) == [] and stock_stages(frame.drop(columns=["User Count"])) == []
