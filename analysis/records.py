"""The records a loaded run is made of: one endpoint's (or journey's) numbers over a window, and a stage."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Endpoint:
    """One endpoint's numbers for a window: counts, times, and the histogram when the input has it."""

    method: str
    name: str
    requests: int
    failures: int
    total_ms: float | None = None
    max_ms: float | None = None
    histogram: dict[int, int] | None = None
    csv_percentiles: dict[str, float] = field(default_factory=dict)  # Locust's own, when no histogram
    approximate: bool = False  # the histogram is rebuilt from Locust's rolling history percentiles


@dataclass
class JourneyTally:
    """One journey's counts over a window: outcomes, where failed ones failed and why abandoned ones were
    given up, and the durations of completed ones (Locust's buckets)."""

    name: str
    started: int
    completed: int
    failed: int
    abandoned: int
    total_ms: float
    max_ms: float | None
    histogram: dict[int, int]
    failed_at: dict[str, int] = field(default_factory=dict)
    abandoned_at: dict[str, int] = field(default_factory=dict)


@dataclass
class Stage:
    name: str
    start: float
    end: float
    users: int | None
    steady: bool
    endpoints: list[Endpoint]
    journeys: list[JourneyTally] = field(default_factory=list)
