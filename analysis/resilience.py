"""What each fault phase did to the users, and how long the system took to recover (summary.json `resilience`).

Read from run.json's `faults` (each fault's window: from its action's start to its undo's end) and
timeline.json (per half second and endpoint: requests, failures, a Locust-bucketed histogram). Locust's
own history will not do: its percentiles cover the last ~10 s, which would smear a recovery over ten
seconds.

The recovery rule: the fault has recovered at the first bin from its end on whose own error ratio and
p95 are back within the pre-fault level, and from which, for the hold time (the fault's `recovery_hold`),
the error ratio and the p95 of all requests together stay within the pre-fault level (plus the
tolerances of the SLA file's `[resilience]`). The recovery time runs from the fault's end to the start
of that bin, so it is exact to the bin (0.5 s), never earlier than the truth. No such bin before the
run's data ends: "did not recover within the run". Not enough data to judge (no requests before the
fault, the data ending before the fault's end or before a hold could be seen, a fault after one that did
not recover): `recovered` is None, with a `recovery_note` that summary.json's `not_computed` repeats.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from swarmgate.analysis.checks import Check, check
from swarmgate.analysis.load import Run, read_json
from swarmgate.analysis.records import Stage
from swarmgate.analysis.resilience_rules import ResilienceRules
from swarmgate.core.files import iso
from swarmgate.core.histogram import percentile

AGGREGATE = ("", "Aggregated")
MIN_ENDPOINT_REQUESTS = 20  # before the fault: fewer places no level an endpoint's recovery can be judged against
NO_TIMELINE = "resilience (the run has fault phases but no timeline.json)"


@dataclass
class Totals:
    requests: int = 0
    failures: int = 0
    response_times: dict[int, int] = field(default_factory=dict)
    first: float | None = None  # the first and last bin counted (Timeline.totals): the span the figures cover
    last: float | None = None

    def add(self, requests: int, failures: int, response_times: dict[int, int]) -> None:
        self.requests += requests
        self.failures += failures
        for bucket, count in response_times.items():
            self.response_times[bucket] = self.response_times.get(bucket, 0) + count

    @property
    def error_ratio(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def p95_ms(self) -> int | None:
        return percentile(self.response_times, 0.95)

    def figures(self, seconds: float) -> dict:
        ratio = self.error_ratio
        return {"requests": self.requests, "failures": self.failures,
                "error_ratio": round(ratio, 6) if ratio is not None else None, "p95_ms": self.p95_ms,
                "rps": round(self.requests / seconds, 3) if seconds > 0 else None}  # fmt: skip


@dataclass
class Timeline:
    """Each endpoint's bins (start -> totals), the aggregate's among them under ("", "Aggregated")."""

    resolution_s: float
    bins: dict[tuple[str, str], dict[float, Totals]]
    sorted_starts: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    @cached_property
    def end(self) -> float:
        return max(self.bins[AGGREGATE]) + self.resolution_s if self.bins.get(AGGREGATE) else 0.0

    def starts(self, key: tuple[str, str]) -> list[float]:
        """The key's bin starts, sorted (once per key: a soak has thousands of bins, each window looks up a few)."""
        if key not in self.sorted_starts:
            self.sorted_starts[key] = sorted(self.bins.get(key, {}))
        return self.sorted_starts[key]

    def totals(self, key: tuple[str, str], start: float, end: float) -> Totals:
        """The bins whose middle lies in [start, end), added up."""
        found, bins, starts = Totals(), self.bins.get(key, {}), self.starts(key)
        half = self.resolution_s / 2
        counted = starts[bisect_left(starts, start - half) : bisect_left(starts, end - half)]
        for bin_start in counted:
            totals = bins[bin_start]
            found.add(totals.requests, totals.failures, totals.response_times)
        if counted:
            found.first, found.last = counted[0], counted[-1]
        return found

    def span(self, totals: Totals) -> float:
        """The seconds the bins counted into `totals` cover (0: none)."""
        return totals.last + self.resolution_s - totals.first if totals.first is not None else 0.0


def load_timeline(path: Path) -> Timeline | None:
    if not path.is_file():
        return None
    document = read_json(path)
    resolution = float(document.get("resolution_s") or 1.0)
    bins: dict[tuple[str, str], dict[float, Totals]] = defaultdict(dict)
    for row in document.get("bins", []):
        histogram = {int(k): int(v) for k, v in row["response_times"].items()}
        for key in ((row["method"], row["name"]), AGGREGATE):
            bins[key].setdefault(float(row["start"]), Totals()).add(row["requests"], row["failures"], histogram)
    return Timeline(resolution, dict(bins))


def recovered_at(timeline: Timeline, key: tuple[str, str], end: float, level: tuple[float, float],
                 hold_s: float) -> tuple[float | None, str | None]:  # fmt: skip
    """(the start of the first bin from the fault's end on that meets the recovery rule (see the module), None),
    or (None, why it cannot be told) when the data ends too soon; (None, None): did not recover within the run."""
    error_level, p95_level = level
    step = timeline.resolution_s
    if end >= timeline.end:
        return None, "the run's data ends before the fault's end"
    bins, starts = timeline.bins.get(key, {}), timeline.starts(key)
    for start in starts[bisect_left(starts, end - step) :]:
        if start + step <= end:
            continue
        first = bins[start]
        if not first.requests or first.error_ratio > error_level or (first.p95_ms or 0) > p95_level:
            continue
        if start + hold_s > timeline.end + 1e-9:
            return None, f"the run's data ends before a recovery could be seen held for {hold_s:g} s"
        held = timeline.totals(key, start, start + hold_s)
        if held.error_ratio <= error_level and (held.p95_ms or 0) <= p95_level:
            return max(start, end), None
    return None, None


def before_start(fault_start: float, previous_end: float | None, stages: list[Stage], timeline: Timeline) -> float:
    """The pre-fault window begins after the previous fault (and its recovery), at the first steady stage, or at
    the first bin."""
    steady = [s.start for s in stages if s.steady and s.start < fault_start]
    first = min(timeline.bins.get(AGGREGATE, {0.0: None}))
    return max(x for x in (previous_end, min(steady) if steady else None, first) if x is not None)


def impact(timeline: Timeline, key: tuple[str, str], window: tuple[float, float, float], hold_s: float,
           rules: ResilienceRules) -> dict:  # fmt: skip
    """One endpoint's (or the aggregate's) figures before and during a fault, requests lost, recovery; when the
    recovery cannot be judged, `recovered` is None and `recovery_note` says why."""
    before_from, start, end = window
    before_to = start - timeline.resolution_s / 2  # only bins that ended before the fault began
    before = timeline.totals(key, before_from, before_to)
    during = timeline.totals(key, start, end)
    found = {"before": before.figures(before_to - before_from), "during": during.figures(end - start)}
    least = 1 if key == AGGREGATE else MIN_ENDPOINT_REQUESTS
    back, note = None, None
    if before.requests < least:
        note = f"{'no' if least == 1 else f'fewer than {least}'} requests before the fault to take its level from"
    else:
        level = (rules.error_level(before.error_ratio or 0.0), rules.p95_level(before.p95_ms or 0))
        back, note = recovered_at(timeline, key, end, level, hold_s)
    until = back if back is not None else timeline.end
    served = timeline.totals(key, start, until)
    rate = (before.requests - before.failures) / timeline.span(before) if before.requests >= least else None
    expected = rate * (until - start) if rate is not None and note is None else None
    found.update({
        "requests_lost": max(0, round(expected - (served.requests - served.failures))) if expected else None,
        "recovered": (back is not None) if note is None else None,
        "recovery_note": note,
        "recovery_s": round(back - end, 3) if back is not None else None,
        "recovered_at": iso(back) if back is not None else None,
        "recovered_at_ts": back,
    })  # fmt: skip
    return found


def fault_result(fault: dict, timeline: Timeline, before_from: float, rules: ResilienceRules) -> dict:
    window = fault["window"]
    start, end = window["start_ts"], window["end_ts"]
    hold = float(fault.get("recovery_hold_s") or 3.0)
    result = {"name": fault["name"], "start": window["start"], "end": window["end"], "start_ts": start,
              "end_ts": end, "undo_ok": end is not None, "recovery_hold_s": hold,
              "action": action_record(fault.get("action")), "undo": action_record(fault.get("undo"))}  # fmt: skip
    if end is None:  # the undo failed: the fault never ended
        return {**result, "seconds": None, "recovered": False, "recovery_note": None, "recovery_s": None,
                "endpoints": []}  # fmt: skip
    aggregate = impact(timeline, AGGREGATE, (before_from, start, end), hold, rules)
    endpoints = [{"method": key[0], "name": key[1], **impact(timeline, key, (before_from, start, end), hold, rules)}
                 for key in sorted(timeline.bins, key=lambda k: (k[1], k[0])) if key != AGGREGATE]  # fmt: skip
    return {**result, "seconds": round(end - start, 3), **aggregate, "endpoints": endpoints}


# what summary.json (and so the history) keeps of each action: run.json's record, its secrets already masked
ACTION_FIELDS = ("kind", "command", "method", "url", "started", "ended", "seconds", "ok", "exit_status", "error",
                 "reason", "output")  # fmt: skip


def action_record(action: object) -> dict | None:
    return {k: action[k] for k in ACTION_FIELDS if k in action} if isinstance(action, dict) else None


def resilience(run: Run, rules: ResilienceRules) -> tuple[dict | None, list[Check], list[str]]:
    """(summary.json's `resilience`, its checks, what could not be computed); None when the run had no faults."""
    faults = run.meta.get("faults") or []
    if not faults:
        return None, [], []
    timeline = load_timeline(run.path / "timeline.json") if run.path.is_dir() else None
    undo_checks = [undo_check(f) for f in faults if f.get("undo", {}).get("ok") is False]
    unmeasured = [f"resilience of fault '{f['name']}' ({never_in_effect(f)})" for f in faults if not f.get("window")]
    if timeline is None or not timeline.bins:
        return None, undo_checks, [NO_TIMELINE, *unmeasured]
    results, previous_end, previous = [], None, None
    for fault in faults:
        if not fault.get("window"):
            continue
        before_from = before_start(fault["window"]["start_ts"], previous_end, run.stages, timeline)
        result = fault_result(fault, timeline, before_from, rules)
        if previous is not None and previous["recovered"] is not True and result["recovered"] is None:  # say why
            how = "did not recover" if previous["recovered"] is False else "could not be judged"
            result["recovery_note"] = f"the fault before it, '{previous['name']}', {how}: no pre-fault level"
        results.append(result)
        end = fault["window"]["end_ts"]
        # after a fault that did not recover (or could not be judged) there is no pre-fault level any more
        recovered = result["recovered"] is True
        previous_end = end + result["recovery_s"] + result["recovery_hold_s"] if recovered else timeline.end
        previous = result
    section = {"resolution_s": timeline.resolution_s, "rule": rule_text(rules, timeline.resolution_s),
               "undo_failed": bool(undo_checks), "faults": results}  # fmt: skip
    notes = [f"recovery of fault '{r['name']}' ({r['recovery_note']})" for r in results if r.get("recovery_note")]
    return section, undo_checks + [c for r in results for c in fault_checks(r, rules)], unmeasured + notes


def never_in_effect(fault: dict) -> str:
    """Why a fault has no window: it never ran (and why), or its action failed."""
    if fault.get("not_run"):
        return f"it never ran: {fault['not_run']}"
    return f"its action failed: {(fault.get('action') or {}).get('error') or 'see run.json'}"


def rule_text(rules: ResilienceRules, resolution_s: float) -> str:
    return (f"recovered at the first {resolution_s:g} s bin after the fault's end whose own error ratio is within "
            f"the pre-fault ratio + {rules.error_tolerance:g} and whose own p95 within the pre-fault p95 + "
            f"{rules.p95_tolerance_pct:g} % + {rules.p95_tolerance_ms:g} ms, and from which both stay within those "
            "levels for the fault's recovery hold")  # fmt: skip


def undo_check(fault: dict) -> Check:
    error = fault["undo"].get("error") or "failed"
    return check("resilience", "fail", f"the undo of fault '{fault['name']}' failed ({error}): the system under "
                                       "test may be left broken; check it and undo the fault by hand",
                 metric="undo")  # fmt: skip


def fault_checks(result: dict, rules: ResilienceRules) -> list[Check]:
    checks = []
    name = result["name"]
    if rules.recovery_s is not None and result["undo_ok"] and result["recovered"] is not None:
        level = rules.recovery_s
        if result["recovered"]:
            actual = result["recovery_s"]
            status = level.status(actual)
            message = f"fault '{name}': recovered {actual:g} s after its end ({level.target:g} / {level.alert:g} s)"
        else:
            actual, status = None, "fail"
            message = f"fault '{name}': did not recover within the run (levels {level.target:g} / {level.alert:g} s)"
        checks.append(check("resilience", status, message, endpoint=name, metric="recovery_s", actual=actual,
                            target=level.target, alert=level.alert))  # fmt: skip
    ratio = (result.get("during") or {}).get("error_ratio")
    if rules.error_ratio_during_fault is not None and ratio is not None:
        level = rules.error_ratio_during_fault
        checks.append(check("resilience", level.status(ratio), f"fault '{name}': error ratio {ratio:g} while it "
                            f"lasted ({level.target:g} / {level.alert:g})", endpoint=name,
                            metric="error_ratio_during_fault", actual=ratio, target=level.target,
                            alert=level.alert))  # fmt: skip
    return checks
