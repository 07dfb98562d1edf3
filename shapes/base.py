"""PlannedShape: a LoadTestShape that walks a stage plan by run time; CapacitySearch adapts it.

Library bases are `abstract = True`: Locust silently uses the first non-abstract shape it finds in a
module, including one imported into a locustfile.

A shape tells the stage recorder (if loaded) when each stage begins, through the `StageSink` it finds
as `environment.swarmgate_stages`; shapes import nothing from the recorders.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Protocol

from locust import LoadTestShape

from swarmgate.core.histogram import percentile
from swarmgate.core.plan import Stage, total_duration

MIN_REQUESTS_TO_JUDGE = 20


class StageSink(Protocol):
    """What a shape needs from the stage recorder: announce stages, read the current one's totals."""

    index: int
    annotations: dict[str, object]

    def begin(self, name: str, target_users: int | None, steady: bool) -> None: ...

    def window_totals(self, index: int) -> tuple[int, int, dict[int, int]]: ...


def stage_sink(shape: LoadTestShape) -> StageSink | None:
    return getattr(shape.runner.environment, "swarmgate_stages", None) if shape.runner is not None else None


class PlannedShape(LoadTestShape):
    """tick() returns the current stage's (users, spawn rate[, classes]) and None after the last stage."""

    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self._plan: list[Stage] | None = None
        self._ends: list[float] = []
        self.index = -1
        self.completed = False  # True once the plan ended (or a capacity search stopped) by itself

    def build_plan(self) -> list[Stage]:
        raise NotImplementedError

    def reset_time(self) -> None:
        """Locust calls this as each test starts: the web UI runs a shape again from its first stage."""
        super().reset_time()
        self.index = -1
        self.completed = False

    @property
    def plan(self) -> list[Stage]:
        if self._plan is None:
            self._plan = self.build_plan()
            self._ends = list(itertools.accumulate(stage.duration_s for stage in self._plan))
        return self._plan

    def planned_duration(self) -> float:
        return total_duration(self.plan)

    def tick(self):
        plan = self.plan
        reached = bisect.bisect_right(self._ends, self.get_run_time())  # 0 .. len(plan)
        while self.index < reached:  # end and enter every stage in order, even one a slow tick skipped
            if self.index >= 0 and not self.stage_ended(self.index):
                self.index = len(plan)
                self.completed = True
                return None
            self.index += 1
            sink = stage_sink(self)
            if self.index < len(plan) and sink is not None:
                stage = plan[self.index]
                sink.begin(stage.name, stage.users, stage.steady)
        if self.index >= len(plan):
            self.completed = True
            return None
        stage = plan[self.index]
        if stage.user_classes and self.runner is not None:
            by_name = self.runner.environment.user_classes_by_name
            return stage.users, stage.spawn_rate, [by_name[name] for name in stage.user_classes]
        return stage.users, stage.spawn_rate

    def stage_ended(self, index: int) -> bool:
        """Called once as each stage ends; return False to end the run there."""
        return True


class CapacitySearch(PlannedShape):
    """Raise the load step by step; end the run after the first steady step that breaches.

    A step breaches when, over its whole hold, p95 exceeds breach_p95_ms or the error ratio exceeds
    breach_error_ratio (from the scenario's SLA). The result goes into stages.json as `capacity`.
    """

    abstract = True
    breach_p95_ms: float = 500.0
    breach_error_ratio: float = 0.01

    def stage_ended(self, index: int) -> bool:
        stage = self.plan[index]
        recorder = stage_sink(self)
        if not stage.steady or recorder is None:
            return True
        requests, failures, histogram = recorder.window_totals(recorder.index)
        p95 = percentile(histogram, 0.95)
        error_ratio = failures / requests if requests else 1.0
        reasons = []
        if requests < MIN_REQUESTS_TO_JUDGE:
            reasons.append(f"only {requests} requests")
        if p95 is not None and p95 > self.breach_p95_ms:
            reasons.append(f"p95 {p95} ms > {self.breach_p95_ms:g} ms")
        if error_ratio > self.breach_error_ratio:
            reasons.append(f"error ratio {error_ratio:.3f} > {self.breach_error_ratio:g}")
        verdicts = recorder.annotations.setdefault("capacity", {"steps": [], "breaking_step": None})
        step = {"stage": stage.name, "users": stage.users, "requests": requests, "p95_ms": p95}
        verdicts["steps"].append({**step, "error_ratio": round(error_ratio, 5), "breached": bool(reasons)})
        if reasons:
            verdicts["breaking_step"] = {"stage": stage.name, "users": stage.users, "why": "; ".join(reasons)}
            good = [s for s in verdicts["steps"] if not s["breached"]]
            verdicts["last_good_step"] = good[-1] if good else None
            return False
        return True
