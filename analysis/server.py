"""Checks of kind `server`: the target's own metrics (server_metrics.csv) judged by the `[[server]]` tables.

A level is judged on the metric's aggregate (mean, median, p95, max or min) over the judged window
(the steady stages, else the whole run); a drift bound on the growth per 10 minutes over the longest
steady stage after warm-up (as analysis/drift.py fits it: Theil-Sen slope, judged only when Kendall's
tau says it is significant). A metric without values in the window is not computed, with the reason:
never a pass. Against a baseline, a metric that got worse beyond the minimum effect and beyond noise
is a regression, as latency is.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from swarmgate.analysis.checks import Check, check
from swarmgate.analysis.compare import WINDOW_S, Rules, mann_whitney_p
from swarmgate.analysis.drift import MIN_POINTS, spans_after_warm_up, trend
from swarmgate.analysis.load import Run, lenient_rows
from swarmgate.analysis.server_rules import ServerRule, status_of

SIGNIFICANT_P = 0.01
MIN_COVERAGE = 0.5  # of the judged window's expected points: fewer, and the metric is not judged
AGGREGATE = {"mean": statistics.fmean, "median": statistics.median, "max": max, "min": min,
             "p95": lambda values: statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1
             else values[0]}  # fmt: skip
WORDS = {"pass": "within target", "warn": "beyond target", "fail": "beyond alert level"}


def read_server_metrics(run: Run) -> dict[str, list[tuple[float, float]]]:
    """(time, value) per metric name, in time order; empty for a run without server_metrics.csv."""
    if not run.path.is_dir():
        return {}
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def parse(row: dict) -> tuple[float, str, float]:
        return float(row["timestamp"]), row["name"], float(row["value"])

    for stamp, name, value in lenient_rows(run.path / "server_metrics.csv", parse):
        series[name].append((stamp, value))
    return {name: sorted(points) for name, points in series.items()}


def judged_spans(run: Run) -> tuple[list[tuple[float, float]], str]:
    steady = [(s.start, s.end) for s in run.stages if s.steady]
    if steady:
        return steady, "steady stages"
    return [(float("-inf"), float("inf"))], "whole run"  # the sources read only during the run


def within(points: list[tuple[float, float]], spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(t, v) for t, v in points if any(a <= t <= b for a, b in spans)]


def server_judgment(run: Run, rules: tuple[ServerRule, ...]) -> tuple[list[Check], dict | None, list[str]]:
    """(checks, summary.json's `server` block, not-computed notes) for the run's server metrics."""
    if not rules:
        return [], None, []
    facts = run.meta.get("server_metrics") or {}
    if not facts.get("source"):
        reason = facts.get("note") or "the run recorded no source of them"
        return [], None, [f"server metrics ({reason})"]
    series = read_server_metrics(run)
    spans, over = judged_spans(run)
    notes = facts.get("notes") or {}
    checks, metrics, missing = [], [], []
    for rule in rules:
        points = series.get(rule.name, [])
        entry = {"name": rule.name, "unit": rule.unit, "aggregate": rule.aggregate, "samples": len(points)}
        if rule.levels:
            judged = [v for _, v in within(points, spans)]
            short = too_sparse(len(judged), spans, facts.get("step_s"))
            if judged and not short:
                found = level_check(rule, AGGREGATE[rule.aggregate](judged), over)
                checks.append(found)
                entry.update(value=found["actual"], status=found["status"], target=found["target"],
                             alert=found["alert"], direction="at_least" if rule.at_least else "at_most")  # fmt: skip
            else:
                reason = notes.get(rule.name) or short or f"no values in the {over}"
                missing.append(f"server metric {rule.name} ({reason})")
        if rule.drift:
            found, reason = drift_check(rule, points, run)
            if found:
                checks.append(found)
                entry.update(drift_per_10min=found["actual"], drift_status=found["status"])
            elif reason:
                missing.append(f"server metric {rule.name} drift ({notes.get(rule.name) or reason})")
            else:
                entry["note"] = "drift is judged on a steady stage of 30 s or more"
        metrics.append(entry)
    block = {"source": facts.get("source"), "url": facts.get("url"), "judged_over": over, "metrics": metrics}
    if notes.get("scrape"):
        missing.append(f"server metrics: {notes['scrape']}")
    return checks, block, missing


def too_sparse(values: int, spans: list[tuple[float, float]], step_s: object) -> str | None:
    """Why values covering under MIN_COVERAGE of the judged window are not judged (a metric that vanished
    mid-run, or one with values only now and then), else None."""
    seconds = sum(b - a for a, b in spans)
    if not isinstance(step_s, int | float) or step_s <= 0 or not math.isfinite(seconds) or seconds <= 0:
        return None
    expected = max(1, int(seconds / step_s))
    if values >= MIN_COVERAGE * expected:
        return None
    return f"values for {values} of the {expected} points of the judged window: the metric vanished or is sparse"


def level_check(rule: ServerRule, actual: float, over: str) -> Check:
    levels = rule.levels
    status = status_of(actual, levels, at_least=rule.at_least is not None)
    unit = f" {rule.unit}" if rule.unit else ""
    side = "at least" if rule.at_least else "at most"
    message = (f"server {rule.name} {actual:.4g}{unit} ({rule.aggregate} over {over}) is {WORDS[status]} "
               f"({side} {levels.target:g} / {levels.alert:g}{unit})")  # fmt: skip
    return check("server", status, message, metric=rule.name, actual=round(actual, 6), target=levels.target,
                 alert=levels.alert)  # fmt: skip


def drift_check(rule: ServerRule, points: list[tuple[float, float]], run: Run,
                min_steady_s: float = 30.0) -> tuple[Check | None, str | None]:  # fmt: skip
    """Growth per 10 min over the longest steady stage after warm-up; (None, reason) when not judged."""
    spans = spans_after_warm_up(run)
    if not spans or spans[0][1] - spans[0][0] < min_steady_s * 0.9:
        return None, None  # not an endurance-like run: drift is not asked of it (as for the latency drift)
    found = trend(within(points, spans))
    if found is None:
        return None, f"fewer than {MIN_POINTS} values after warm-up"
    growth = found["slope_per_s"] * 600.0
    significant = found["p_value"] < SIGNIFICANT_P
    status = status_of(growth, rule.drift, at_least=False) if significant else "pass"
    unit = f" {rule.unit}" if rule.unit else ""
    word = "significant" if significant else "not significant"
    message = (f"server {rule.name} grows {growth:.4g}{unit} per 10 min ({word}, p = {found['p_value']:.2g}; "
               f"{rule.drift.target:g} / {rule.drift.alert:g}{unit})")  # fmt: skip
    return check("server", status, message, metric=f"{rule.name}_per_10min", actual=round(growth, 6),
                 target=rule.drift.target, alert=rule.drift.alert), None  # fmt: skip


def windows(points: list[tuple[float, float]], spans: list[tuple[float, float]]) -> list[float]:
    """The mean of each whole WINDOW_S window inside a span: the values a rank test compares."""
    grouped: dict[tuple[int, int], list[float]] = defaultdict(list)
    for index, (start, end) in enumerate(spans):
        for stamp, value in points:
            if start <= stamp < start + (end - start) // WINDOW_S * WINDOW_S:
                grouped[(index, int((stamp - start) // WINDOW_S))].append(value)
    return [statistics.fmean(values) for values in grouped.values()]


def server_regression_checks(run: Run, base: Run, rules: tuple[ServerRule, ...], compare: Rules) -> list[Check]:
    """A server metric worse than the baseline's by min_increase_pct (of the baseline's value, and at least of
    its target level: 1 % CPU against 1.1 % is no regression when the target is 70 %) and beyond run-to-run
    noise (a one-sided rank test over 10 s windows of the steady stages, as for latency) is a regression."""
    mine, theirs = read_server_metrics(run), read_server_metrics(base)
    (spans, _), (base_spans, _) = judged_spans(run), judged_spans(base)
    checks = []
    for rule in rules:
        now_values = [v for _, v in within(mine.get(rule.name, []), spans)]
        before_values = [v for _, v in within(theirs.get(rule.name, []), base_spans)]
        if rule.levels is None or not now_values or not before_values:
            continue
        now, before = (AGGREGATE[rule.aggregate](v) for v in (now_values, before_values))
        worse = before - now if rule.at_least else now - before
        unit = f" {rule.unit}" if rule.unit else ""
        minimum = max(abs(before), rule.levels.target) * compare.min_increase_pct / 100
        if worse <= 0 or worse < minimum:
            status, why = "pass", "within the minimum effect"
        else:
            current, earlier = windows(mine[rule.name], spans), windows(theirs[rule.name], base_spans)
            needed = compare.windows_needed()
            p = mann_whitney_p(current, earlier) if rule.at_least else mann_whitney_p(earlier, current)
            if min(len(current), len(earlier)) < needed:
                status, why = "warn", f"moved beyond the minimum effect, but {needed}+ windows per run are needed"
            elif p < compare.p_value:
                status, why = "fail", f"regressed beyond the minimum effect and beyond noise (p = {p:.2g})"
            else:
                status, why = "warn", f"moved beyond the minimum effect, but within run-to-run noise (p = {p:.2g})"
        message = f"server {rule.name} {before:.4g} -> {now:.4g}{unit}: {why}"
        checks.append(check("regression", status, message, metric=rule.name, actual=round(now, 6),
                            baseline=round(before, 6)))  # fmt: skip
    return checks


def add_server_capacity(result: dict, run: Run, rules: tuple[ServerRule, ...]) -> None:
    """Per capacity step, each server metric's value over that stage, and which breached its alert level
    first (the furthest beyond it at the first stage where any did): what ran out first."""
    series = read_server_metrics(run)
    stages = {s.name: s for s in run.stages if s.steady}
    first = None
    for step in result["steps"]:
        stage = stages.get(step["stage"])
        if stage is None:
            continue
        values, worst = {}, None
        for rule in (r for r in rules if r.levels):
            points = [v for _, v in within(series.get(rule.name, []), [(stage.start, stage.end)])]
            if not points:
                continue
            value = values[rule.name] = round(AGGREGATE[rule.aggregate](points), 6)
            if status_of(value, rule.levels, rule.at_least is not None) == "fail":
                size = rule.levels.alert / value if rule.at_least else value / rule.levels.alert
                if worst is None or size > worst[0]:
                    worst = (size, {"metric": rule.name, "actual": value, "alert": rule.levels.alert})
        step["server"] = values
        step["server_breach"] = worst and worst[1]
        if worst and first is None:
            first = {"stage": step["stage"], "users": step["users"], **worst[1]}
    result["first_server_breach"] = first
