"""stages.json: each stage's window with per-endpoint histograms for exactly that window.

Every node that makes requests labels each request with the stage it believes is current and adds it
to a histogram bucketed the way Locust buckets (so histograms merge exactly). The master (or the
single local process) owns the stage windows; it tells workers when a stage begins, and workers
ship their histograms with every stats report. Percentiles computed from these equal what the raw
samples give, to Locust's bucket precision, and ramps can be told apart from steady state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from locust.env import Environment
from locust.stats import bucket_response_time

from swarmgate.locustfiles.recording.common import ended_in_web_ui, iso, listen, node_role, write_json

MESSAGE_TYPE = "swarmgate_stage"
REPORT_KEY = "swarmgate_stages"
SCHEMA_VERSION = 1


@dataclass(slots=True)
class Window:
    """Counts for one endpoint in one stage; the same fields Locust keeps, and mergeable."""

    requests: int = 0
    failures: int = 0
    total_ms: float = 0.0
    min_ms: float | None = None
    max_ms: float = 0.0
    response_times: dict[int, int] = field(default_factory=dict)

    def add(self, response_time: float | None, failed: bool) -> None:
        """Runs for every request: plain comparisons, no builtin calls beyond Locust's bucketing."""
        self.requests += 1
        if failed:
            self.failures += 1
        if response_time is None:
            return
        self.total_ms += response_time
        if self.min_ms is None or response_time < self.min_ms:
            self.min_ms = response_time
        if response_time > self.max_ms:
            self.max_ms = response_time
        bucket = bucket_response_time(response_time)
        times = self.response_times
        times[bucket] = times.get(bucket, 0) + 1

    def merge(self, row: list) -> None:
        requests, failures, total_ms, min_ms, max_ms, buckets = row
        self.requests += requests
        self.failures += failures
        self.total_ms += total_ms
        if min_ms is not None:
            self.min_ms = min_ms if self.min_ms is None else min(self.min_ms, min_ms)
        self.max_ms = max(self.max_ms, max_ms)
        for bucket, count in buckets.items():
            self.response_times[int(bucket)] = self.response_times.get(int(bucket), 0) + count

    def as_row(self) -> list:
        return [self.requests, self.failures, self.total_ms, self.min_ms, self.max_ms, self.response_times]


class JourneyRows(Protocol):
    """The journey recorder as stages.json sees it: its rows per stage, reset for a new web-UI test."""

    def rows(self, index: int) -> list[dict]: ...

    def timeline_rows(self) -> list[dict]: ...

    def reset(self) -> None: ...


@dataclass
class Stage:
    index: int
    name: str
    target_users: int | None
    steady: bool
    start: float
    end: float | None = None


class StageRecorder:
    """Labels requests with stages; on the master or local node also owns the windows and writes the file."""

    def __init__(self, environment: Environment, out_dir: Path | None) -> None:
        self.environment = environment
        self.out_dir = out_dir
        self.role = node_role(environment)
        self.index = 0
        self.stages: list[Stage] = []
        self.windows: dict[int, dict[tuple[str, str], Window]] = {0: {}}
        self.current = self.windows[0]
        self.annotations: dict[str, object] = {}  # what shapes conclude, e.g. the capacity search
        self.journeys: JourneyRows | None = None  # the journey recorder, when one is attached
        if self.role == "worker":
            environment.runner.register_message(MESSAGE_TYPE, self.on_stage_message)
            listen(environment.events, report_to_master=self.on_report_to_master)
        else:
            listen(environment.events, worker_report=self.on_worker_report, worker_connect=self.on_worker_connect,
                   test_start=self.on_test_start, spawning_complete=self.on_spawning_complete,
                   test_stop=self.on_test_stop, quit=self.on_quit)  # fmt: skip

    # every node that makes requests (called by RequestTap, the one `request` listener)
    def record(self, request_type: str, name: str, response_time: float | None, failed: bool) -> None:
        window = self.current.get((request_type, name))
        if window is None:
            window = self.current[(request_type, name)] = Window()
        window.add(response_time, failed)

    def switch(self, index: int) -> None:
        self.index = index
        self.current = self.windows.setdefault(index, {})

    # workers
    def on_stage_message(self, environment: Environment, msg, **_kwargs) -> None:
        self.switch(int(msg.data["index"]))

    def on_report_to_master(self, client_id: str, data: dict) -> None:
        data[REPORT_KEY] = {
            index: [[method, name, *window.as_row()] for (method, name), window in endpoints.items()]
            for index, endpoints in self.windows.items()
            if endpoints
        }
        self.windows = {self.index: {}}
        self.current = self.windows[self.index]

    # master or local: the owner of the stage windows
    def begin(self, name: str, target_users: int | None, steady: bool) -> None:
        """Close the current stage and open the next; shapes call this as each stage begins."""
        now = time.time()
        if self.stages and self.stages[-1].end is None:
            self.stages[-1].end = now
        stage = Stage(len(self.stages), name, target_users, steady, now)
        self.stages.append(stage)
        self.switch(stage.index)
        if self.role == "master":
            self.environment.runner.send_message(MESSAGE_TYPE, {"index": stage.index})

    def on_worker_connect(self, client_id: str, **_kwargs) -> None:
        if self.stages:
            self.environment.runner.send_message(MESSAGE_TYPE, {"index": self.index}, client_id)

    def on_worker_report(self, client_id: str, data: dict) -> None:
        for index, rows in data.get(REPORT_KEY, {}).items():
            endpoints = self.windows.setdefault(int(index), {})
            for method, name, *row in rows:
                endpoints.setdefault((method, name), Window()).merge(row)

    @property
    def plain_run(self) -> bool:
        """No shape: a ramp-up, then steady. Read when a test starts (the web UI's picker sets the shape then)."""
        return self.environment.shape_class is None

    def on_test_start(self, environment: Environment, **_kwargs) -> None:
        users = getattr(environment.parsed_options, "num_users", None)
        if self.stages and self.stages[-1].end is not None and ended_in_web_ui(environment):
            self.stages, self.windows = [], {}  # the web UI's next test: its own stages, as Locust's stats restart
            self.annotations = {}
            if self.journeys is not None:
                self.journeys.reset()
            self.switch(0)
        if self.plain_run:
            self.begin("ramp-up", users, steady=False)
        elif not self.stages and not hasattr(environment.shape_class, "build_plan"):
            self.begin("run", users, steady=True)  # a shape that does not announce its stages

    def on_spawning_complete(self, user_count: int) -> None:
        if self.plain_run and self.stages and self.stages[-1].name == "ramp-up":
            self.begin("steady", user_count, steady=True)

    def on_test_stop(self, environment: Environment, **_kwargs) -> None:
        if self.stages and self.stages[-1].end is None:
            self.stages[-1].end = time.time()
        if self.out_dir is not None and ended_in_web_ui(environment):
            write_json(self.out_dir / "stages.json", self.document())  # the UI's report of this test needs it

    def document(self) -> dict:
        stages = []
        for stage in self.stages:
            endpoints = self.windows.get(stage.index, {})
            stages.append(
                {
                    "index": stage.index,
                    "name": stage.name,
                    "start": iso(stage.start),
                    "end": iso(stage.end),
                    "start_ts": stage.start,
                    "end_ts": stage.end,
                    "target_users": stage.target_users,
                    "steady": stage.steady,
                    "endpoints": [
                        {
                            "method": method,
                            "name": name,
                            "requests": w.requests,
                            "failures": w.failures,
                            "total_ms": round(w.total_ms, 3),
                            "min_ms": w.min_ms,
                            "max_ms": w.max_ms,
                            "response_times": {str(k): v for k, v in sorted(w.response_times.items())},
                        }
                        for (method, name), w in sorted(endpoints.items(), key=lambda item: (item[0][1], item[0][0]))
                    ],
                    **({"journeys": self.journeys.rows(stage.index)} if self.journeys is not None else {}),
                }
            )
        timeline = {"journey_timeline": self.journeys.timeline_rows()} if self.journeys is not None else {}
        return {
            "schema_version": SCHEMA_VERSION,
            "bucketing": "locust",
            "stages": stages,
            **timeline,
            **self.annotations,
        }

    def window_totals(self, index: int) -> tuple[int, int, dict[int, int]]:
        """(requests, failures, merged histogram) of one stage so far, over every endpoint."""
        requests = failures = 0
        merged: dict[int, int] = {}
        for window in self.windows.get(index, {}).values():
            requests += window.requests
            failures += window.failures
            for bucket, count in window.response_times.items():
                merged[bucket] = merged.get(bucket, 0) + count
        return requests, failures, merged

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        self.on_test_stop(self.environment)
        if self.out_dir is not None:
            write_json(self.out_dir / "stages.json", self.document())
