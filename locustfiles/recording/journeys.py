"""Journeys per stage: counts by outcome and a duration histogram, kept apart from the requests.

Every node whose users run journeys counts them in the window of the stage it believes is current
(a journey's start in the stage it started in, its outcome in the stage it ended in), with durations
bucketed the way Locust buckets response times, so windows merge exactly. Workers ship their windows
with every stats report, as the stage recorder ships its histograms, and the master (or the single
process) adds them into stages.json. Locust's request statistics never see a journey.

`--journey-log FILE` appends one JSON line per finished journey (from every process): a record to
check the counts against, or to look into single journeys.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import IO

from locust.env import Environment
from locust.stats import bucket_response_time

from swarmgate.core.journeys import ABANDONED, FAILED, USER_STOPPED
from swarmgate.locustfiles.recording.common import listen, node_role
from swarmgate.locustfiles.recording.stages import StageRecorder

REPORT_KEY = "swarmgate_journeys"
TIMELINE_KEY = "swarmgate_journey_timeline"
SLOT_S = 10  # the timeline's resolution: each journey's outcomes per 10 s of wall-clock time (at first)
MAX_SLOTS = 600  # past this many timeline slots, slots merge pairwise into ones twice as wide (a 24 h soak stays small)
MAX_PLACES = 100  # distinct steps (or reasons) counted per journey and stage
OTHER_PLACES = "(other steps)"
MAX_JOURNEYS = 100  # distinct journey names counted (a name with an id in it would grow without end)
OTHER_JOURNEYS = "(other journeys)"
logger = logging.getLogger(__name__)


def count_place(places: dict[str, int], where: str | None, count: int = 1) -> None:
    """Count a step or reason; past MAX_PLACES distinct ones (a reason with an id in it, say), as OTHER_PLACES.
    USER_STOPPED always keeps its own key: the completion ratio leaves those journeys out by it."""
    key = where or "?"
    if key not in places and len(places) >= MAX_PLACES and key != USER_STOPPED:
        key = OTHER_PLACES
    places[key] = places.get(key, 0) + count


@dataclass(slots=True)
class Tally:
    """One journey's counts in one stage; durations of completed journeys only (failed and abandoned
    ones end early or at a budget, which says nothing of how long the journey takes)."""

    started: int = 0
    completed: int = 0
    failed: int = 0
    abandoned: int = 0
    total_ms: float = 0.0
    min_ms: float | None = None
    max_ms: float = 0.0
    durations: dict[int, int] = field(default_factory=dict)
    failed_at: dict[str, int] = field(default_factory=dict)
    abandoned_at: dict[str, int] = field(default_factory=dict)

    def finish(self, outcome: str, duration_ms: float, where: str | None) -> None:
        if outcome == FAILED:
            self.failed += 1
            count_place(self.failed_at, where)
        elif outcome == ABANDONED:
            self.abandoned += 1
            count_place(self.abandoned_at, where)
        else:
            self.completed += 1
            self.total_ms += duration_ms
            self.min_ms = duration_ms if self.min_ms is None else min(self.min_ms, duration_ms)
            self.max_ms = max(self.max_ms, duration_ms)
            bucket = bucket_response_time(duration_ms)
            self.durations[bucket] = self.durations.get(bucket, 0) + 1

    def merge(self, row: dict) -> None:
        for count in ("started", "completed", "failed", "abandoned"):
            setattr(self, count, getattr(self, count) + row[count])
        self.total_ms += row["total_ms"]
        if row["min_ms"] is not None:
            self.min_ms = row["min_ms"] if self.min_ms is None else min(self.min_ms, row["min_ms"])
        self.max_ms = max(self.max_ms, row["max_ms"])
        for bucket, count in row["durations"].items():
            self.durations[int(bucket)] = self.durations.get(int(bucket), 0) + count
        for mine, theirs in ((self.failed_at, row["failed_at"]), (self.abandoned_at, row["abandoned_at"])):
            for where, count in theirs.items():  # capped as in a single process: the master's memory stays bounded
                count_place(mine, where, count)

    def as_row(self) -> dict:
        return {
            "started": self.started, "completed": self.completed, "failed": self.failed,
            "abandoned": self.abandoned, "total_ms": round(self.total_ms, 3), "min_ms": self.min_ms,
            "max_ms": self.max_ms, "durations": {str(k): v for k, v in sorted(self.durations.items())},
            "failed_at": dict(sorted(self.failed_at.items())), "abandoned_at": dict(sorted(self.abandoned_at.items())),
        }  # fmt: skip


def open_log(path: str) -> IO[str] | None:
    """The journey log, line-buffered for appending; a path that cannot be written is one logged line."""
    try:
        return open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (open for the whole run)
    except OSError as exc:
        logger.error("swarmgate: no journey log: %s cannot be written (%s)", path, exc.strerror)
        return None


class JourneyRecorder:
    """Counts journeys per stage (the sink the journey API finds as `environment.swarmgate_journeys`)."""

    def __init__(self, environment: Environment, stages: StageRecorder, log_path: str = "") -> None:
        self.stages = stages
        self.windows: dict[int, dict[str, Tally]] = {}
        self.timeline: dict[int, dict[str, Tally]] = {}  # slot start (Unix s) -> journeys ended in it
        self.slot_s = SLOT_S  # the timeline's slot width now (doubles each time the slots pass MAX_SLOTS)
        self.names: set[str] = set()  # the journey names counted under their own name (at most MAX_JOURNEYS)
        self.log = open_log(log_path) if log_path else None
        environment.swarmgate_journeys = self
        stages.journeys = self
        role = node_role(environment)
        if role == "worker":
            listen(environment.events, report_to_master=self.on_report_to_master)
        elif role == "master":
            listen(environment.events, worker_report=self.on_worker_report)
        listen(environment.events, quit=self.on_quit)

    def tally(self, name: str, windows: dict[int, dict[str, Tally]] | None = None, key: int | None = None) -> Tally:
        """The tally of a journey in the current stage's window (or in `windows` under `key`)."""
        window = self.windows.setdefault(self.stages.index, {}) if windows is None else windows.setdefault(key, {})
        found = window.get(name)
        if found is None:
            found = window[name] = Tally()
        return found

    def named(self, name: str) -> str:
        """The name a journey is counted under: its own for the first MAX_JOURNEYS names, then OTHER_JOURNEYS."""
        if name not in self.names:
            if len(self.names) >= MAX_JOURNEYS:
                return OTHER_JOURNEYS
            self.names.add(name)
        return name

    def slot(self, ts: float) -> int:
        return int(ts) // self.slot_s * self.slot_s

    def widen_timeline(self) -> None:
        """Past MAX_SLOTS slots, merge them pairwise into slots twice as wide (exactly: the histograms add)."""
        while len(self.timeline) >= MAX_SLOTS:
            self.slot_s *= 2
            narrow, self.timeline = self.timeline, {}
            for start, window in narrow.items():
                for name, tally in window.items():
                    self.tally(name, self.timeline, self.slot(start)).merge(tally.as_row())

    def start(self, name: str) -> None:
        self.tally(self.named(name)).started += 1

    def finish(self, name: str, outcome: str, duration_ms: float, where: str | None) -> None:
        name = self.named(name)
        self.tally(name).finish(outcome, duration_ms, where)
        now = time.time()
        if self.slot(now) not in self.timeline:  # a new slot: widen them first if there are too many
            self.widen_timeline()
        self.tally(name, self.timeline, self.slot(now)).finish(outcome, duration_ms, where)
        if self.log is not None:  # one short line: appended whole, whichever process writes it
            self.log.write(json.dumps({"journey": name, "outcome": outcome, "ms": round(duration_ms, 1),
                                       "where": where}) + "\n")  # fmt: skip

    def rows(self, index: int, windows: dict[int, dict[str, Tally]] | None = None) -> list[dict]:
        """stages.json's `journeys` of one stage (or of one slot of `windows`): one row per journey name."""
        window = (self.windows if windows is None else windows).get(index, {})
        return [{"name": name, **tally.as_row()} for name, tally in sorted(window.items())]

    def timeline_rows(self) -> list[dict]:
        """stages.json's `journey_timeline`: each 10 s slot in which journeys ended, with their rows."""
        return [{"start_ts": slot, "journeys": self.rows(slot, self.timeline)} for slot in sorted(self.timeline)]

    def totals(self) -> dict[str, Tally]:
        """Every stage's tallies added up, per journey (what the live view shows)."""
        merged: dict[str, Tally] = {}
        for window in self.windows.values():
            for name, tally in window.items():
                merged.setdefault(name, Tally()).merge(tally.as_row())
        return merged

    def reset(self) -> None:
        self.windows, self.timeline, self.slot_s = {}, {}, SLOT_S

    def on_report_to_master(self, client_id: str, data: dict) -> None:
        data[REPORT_KEY] = {index: self.rows(index) for index, window in self.windows.items() if window}
        data[TIMELINE_KEY] = {slot: self.rows(slot, self.timeline) for slot in self.timeline}
        self.reset()

    def on_worker_report(self, client_id: str, data: dict) -> None:
        for index, rows in data.get(REPORT_KEY, {}).items():
            for row in rows:
                self.tally(self.named(row["name"]), self.windows, int(index)).merge(row)
        for slot, rows in data.get(TIMELINE_KEY, {}).items():
            for row in rows:
                self.tally(self.named(row["name"]), self.timeline, self.slot(int(slot))).merge(row)
        self.widen_timeline()

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
