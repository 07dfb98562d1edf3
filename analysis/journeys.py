"""Journeys of a run: read from stages.json, measured over a window (completion ratio, duration
percentiles, where failed ones failed), judged by the SLA file's [[journeys]] tables and compared with
a baseline by the rules requests follow. Kept apart from the endpoints: no request count changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from swarmgate.analysis.checks import Check, check
from swarmgate.analysis.compare import judgment, mann_whitney_p, proportion_p
from swarmgate.analysis.records import JourneyTally, Stage
from swarmgate.analysis.rules import Rules
from swarmgate.analysis.sla import SlaConfig, status_of
from swarmgate.core.errors import InputError
from swarmgate.core.histogram import merge, percentile
from swarmgate.core.journeys import USER_STOPPED, completion_ratio, judged_count

COUNTS = ("started", "completed", "failed", "abandoned")
SLOT_S = 10  # the recorder's timeline slots
MAX_POINTS = 600  # points per line in a chart, as the other series
PERCENTILES = {"p50_ms": 0.50, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99}
WORDS = {"pass": "within target", "warn": "beyond target", "fail": "beyond alert level"}


def _counts(table: object) -> dict[str, int]:
    """A {key: count} table of stages.json (durations, failed_at, abandoned_at); ValueError when it is not one."""
    if not isinstance(table, dict) or any(isinstance(n, bool) or not isinstance(n, int) or n < 0
                                          for n in table.values()):  # fmt: skip
        raise ValueError("a table of counts")
    return {str(key): count for key, count in table.items()}


def parse_journeys(rows: object, path: Path, where: str) -> list[JourneyTally]:
    """One stage's (or timeline slot's) `journeys` from stages.json, validated (a run recorded before
    journeys has none)."""
    if rows is None:
        return []
    found = []
    try:
        for row in rows:
            counts = {key: row[key] for key in COUNTS}
            if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts.values()):
                raise ValueError("counts")
            found.append(JourneyTally(str(row["name"]), **counts, total_ms=float(row["total_ms"]),
                                      max_ms=float(row["max_ms"]), histogram=merge([_counts(row["durations"])]),
                                      failed_at=_counts(row["failed_at"]),
                                      abandoned_at=_counts(row["abandoned_at"])))  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(path, f"{where} has a journey row that is not one swarmgate writes",
                         "give the stages.json swarmgate wrote; the file is damaged") from None  # fmt: skip
    return found


def parse_timeline(slots: object, path: Path) -> list[tuple[float, list[JourneyTally]]]:
    """stages.json's `journey_timeline`: (slot start in Unix seconds, the journeys that ended in it)."""
    if slots is None:
        return []
    try:
        return [(float(slot["start_ts"]), parse_journeys(slot["journeys"], path, f"journey_timeline slot {i}"))
                for i, slot in enumerate(slots, 1)]  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise InputError(path, "has a journey_timeline that is not one swarmgate writes",
                         "give the stages.json swarmgate wrote; the file is damaged") from None  # fmt: skip


def journey_lines(timeline: list[tuple[float, list[JourneyTally]]], most: int = MAX_POINTS) -> list[dict]:
    """Each journey over time for the report's charts: per recorded slot (10 s; wider after a long run) merged
    into wider ones past `most` points, exactly (the histograms add up): the completed journeys' p50 and p95
    and the completion ratio."""
    if not timeline:
        return []
    start = timeline[0][0]
    recorded = max(SLOT_S, min((b[0] - a[0] for a, b in zip(timeline, timeline[1:], strict=False)), default=SLOT_S))
    span = timeline[-1][0] - start + recorded  # a long run's recorder widened its slots: the narrowest gap
    width = max(recorded, math.ceil(span / most / recorded) * recorded)
    buckets: dict[float, list[JourneyTally]] = {}
    for slot, tallies in timeline:
        buckets.setdefault(start + (slot - start) // width * width, []).extend(tallies)
    lines: dict[str, dict] = {}
    for at, tallies in sorted(buckets.items()):
        for tally in merged(tallies):
            row = journey_row(tally)
            line = lines.setdefault(tally.name, {"name": tally.name, "start": start, "step_s": width, "t": [],
                                                 "p50_ms": [], "p95_ms": [], "completion_ratio": []})  # fmt: skip
            line["t"].append(at - start)
            for key in ("p50_ms", "p95_ms", "completion_ratio"):
                line[key].append(row[key])
    return [lines[name] for name in sorted(lines)]


def merged(tallies: Iterable[JourneyTally]) -> list[JourneyTally]:
    """Tallies of the same journey added up (over stages, or runs), one per name, sorted by name."""
    by_name: dict[str, list[JourneyTally]] = {}
    for tally in tallies:
        by_name.setdefault(tally.name, []).append(tally)
    return [
        JourneyTally(name, *(sum(getattr(t, key) for t in parts) for key in COUNTS),
                     total_ms=sum(t.total_ms for t in parts), max_ms=max((t.max_ms or 0.0) for t in parts),
                     histogram=merge(t.histogram for t in parts),
                     failed_at=merge_counts(t.failed_at for t in parts),
                     abandoned_at=merge_counts(t.abandoned_at for t in parts))
        for name, parts in sorted(by_name.items())
    ]  # fmt: skip


def merge_counts(tables: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for table in tables:
        for key, count in table.items():
            total[key] = total.get(key, 0) + count
    return dict(sorted(total.items(), key=lambda item: (-item[1], item[0])))


def stage_tallies(stages: Iterable[Stage]) -> list[JourneyTally]:
    return merged(tally for stage in stages for tally in stage.journeys)


def judged_stages(stages: list[Stage]) -> list[Stage]:
    """The stages journeys are judged over: the steady ones, like the requests, else every stage."""
    return [stage for stage in stages if stage.steady] or stages


def journey_row(tally: JourneyTally) -> dict:
    """One journey's numbers, as summary.json shows them. Durations are of completed journeys."""
    done = tally.completed
    row = {
        "name": tally.name, **{key: getattr(tally, key) for key in COUNTS},
        "user_stopped": tally.abandoned_at.get(USER_STOPPED, 0),
        "judged": judged_count(tally.completed, tally.failed, tally.abandoned, tally.abandoned_at),
        "completion_ratio": completion_ratio(tally.completed, tally.failed, tally.abandoned, tally.abandoned_at),
        "mean_ms": round(tally.total_ms / done, 2) if done else None,
        **{key: percentile(tally.histogram, q) for key, q in PERCENTILES.items()},
        "max_ms": round(tally.max_ms, 2) if done and tally.max_ms is not None else None,
        "failed_at": tally.failed_at, "abandoned_at": tally.abandoned_at,
    }  # fmt: skip
    return row


def journey_rows(stages: Iterable[Stage]) -> list[dict]:
    return [journey_row(tally) for tally in stage_tallies(stages)]


def journey_checks(rows: list[dict], sla: SlaConfig, over: str) -> list[Check]:
    """One check per journey and metric its [[journeys]] tables name; journeys none ended judge nothing."""
    checks = []
    for row in rows:
        if not row["judged"]:
            continue
        for metric, threshold in sla.journey_thresholds(row["name"]).items():
            actual = row.get(metric)
            if actual is None:
                continue
            status = status_of(metric, actual, threshold)
            message = (f"journey {row['name']} {metric} {actual:g} is {WORDS[status]} "
                       f"({threshold.target:g} / {threshold.alert:g}) over {over}")  # fmt: skip
            checks.append(check("journey", status, message, endpoint=row["name"], metric=metric, actual=actual,
                                target=threshold.target, alert=threshold.alert))  # fmt: skip
    return checks


def slot_p95s(timeline: list[tuple[float, list[JourneyTally]]], stages: list[Stage]) -> dict[str, list[float]]:
    """Each journey's p95 per timeline slot inside the given stages: the windows a p95 comparison ranks,
    as the requests' 10 s windows (one value per slot, not per journey: thousands of journeys do not
    turn a trivial difference into a significant one)."""
    windows: dict[str, list[float]] = {}
    for at, tallies in timeline:
        if any(stage.start <= at + SLOT_S / 2 < stage.end for stage in stages):  # the slot's middle, at 10 s
            for tally in tallies:
                if tally.completed:
                    windows.setdefault(tally.name, []).append(percentile(tally.histogram, 0.95))
    return windows


def journey_regression_checks(current: list[JourneyTally], baseline: list[JourneyTally], rules: Rules,
                              windows: dict[str, list[float]],
                              base_windows: dict[str, list[float]]) -> list[Check]:  # fmt: skip
    """Completion ratio and duration against the baseline's, with the requests' rules: a change must be
    beyond the minimum effect (min_error_increase for the ratio, the latency effect for the p95) and beyond
    noise (Fisher's exact test on the counts; a rank test over the per-slot p95s, `windows`, which needs
    windows_needed slots per run and enough completed journeys to place the p95)."""
    base_by_name = {tally.name: tally for tally in baseline}
    checks = []
    for tally in current:
        base = base_by_name.get(tally.name)
        if base is None:
            continue
        row, base_row = journey_row(tally), journey_row(base)
        for metric in ("completion_ratio", "p95_ms"):
            now, before = row[metric], base_row[metric]
            if now is None or before is None:
                continue
            if metric == "completion_ratio":
                effect = before - now >= rules.min_error_increase
                short = ""
                p = proportion_p(base_row["judged"] - base.completed, base_row["judged"],
                                 row["judged"] - tally.completed, row["judged"]) if effect else 1.0  # fmt: skip
            else:
                effect = now - before >= rules.latency_effect(before)
                mine, theirs = windows.get(tally.name, []), base_windows.get(tally.name, [])
                short = p95_short(rules, tally, base, len(mine), len(theirs))
                p = mann_whitney_p(theirs, mine) if effect and not short else 1.0
            status, why = judgment(effect, short, p, rules)
            checks.append(check("regression", status, f"journey {tally.name} {metric} {before:g} -> {now:g}: {why}",
                                endpoint=tally.name, metric=metric, actual=now, baseline=before))  # fmt: skip
    return checks


def p95_short(rules: Rules, tally: JourneyTally, base: JourneyTally, slots: int, base_slots: int) -> str:
    """Why a p95 change cannot be told, as for requests: too few slots per run, or too few journeys."""
    needed = rules.windows_needed()
    if slots < needed or base_slots < needed:
        return f"{needed}+ timeline slots per run with completed journeys are needed to tell"
    if rules.too_few_to_place("p95_ms", tally.completed, base.completed):
        return "too few completed journeys to place p95"
    return ""
