"""The records a loaded run is made of: one endpoint's numbers over a window, and a stage of the run."""

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
class Stage:
    name: str
    start: float
    end: float
    users: int | None
    steady: bool
    endpoints: list[Endpoint]
