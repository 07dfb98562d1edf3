"""slow_requests.csv: every request slower than the threshold, with its time and name."""

from __future__ import annotations

import time
from pathlib import Path

from locust.env import Environment

from swarmgate.locustfiles.recording.common import ended_in_web_ui, node_role
from swarmgate.locustfiles.recording.shipped_csv import ShippedCsv

COLUMNS = ["timestamp", "method", "name", "response_time_ms", "failed", "node"]
MAX_ROWS = 200_000  # a saturated soak must not fill the disk; run.json counts what was left out


class SlowRequestRecorder:
    def __init__(self, environment: Environment, out_dir: Path | None, threshold_ms: float) -> None:
        self.threshold_ms = threshold_ms
        role = node_role(environment)
        self.node = role if role != "worker" else str(environment.runner.client_id)
        self.csv = ShippedCsv(environment, out_dir, "slow_requests.csv", COLUMNS, max_rows=MAX_ROWS, flush_every=100)
        environment.events.quit.add_listener(self.on_quit)
        if role != "worker":
            environment.events.test_stop.add_listener(self.on_test_stop)

    def on_test_stop(self, environment: Environment, **_kwargs) -> None:
        if ended_in_web_ui(environment):  # the UI's report of this test reads the file now
            self.csv.flush()

    def record(self, request_type: str, name: str, response_time: float, failed: bool) -> None:
        """Called by RequestTap for requests slower than threshold_ms."""
        self.csv.add([[round(time.time(), 3), request_type, name, round(response_time, 1), int(failed), self.node]])

    def summary(self) -> dict:
        return {"threshold_ms": self.threshold_ms, "written": self.csv.written, "left_out": self.csv.dropped}

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        self.csv.close()
