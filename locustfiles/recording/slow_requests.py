"""slow_requests.csv: every request slower than the threshold, with its time and name."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from locust.env import Environment

from locustfiles.recording.common import node_role

COLUMNS = ["timestamp", "method", "name", "response_time_ms", "failed", "node"]
MAX_ROWS = 200_000  # a saturated soak must not fill the disk; the overflow is counted in run.json
MESSAGE_KEY = "swarmgate_slow"


class SlowRequestRecorder:
    def __init__(self, environment: Environment, out_dir: Path | None, threshold_ms: float) -> None:
        self.threshold_ms = threshold_ms
        self.role = node_role(environment)
        self.node = self.role if self.role != "worker" else str(environment.runner.client_id)
        self.pending: list[list] = []
        self.written = 0
        self.dropped = 0
        self.file = None
        if self.role != "worker" and out_dir is not None:
            self.file = open(out_dir / "slow_requests.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.writer = csv.writer(self.file)
            self.writer.writerow(COLUMNS)
        events = environment.events
        if self.role == "worker":
            events.report_to_master.add_listener(self.on_report_to_master)
        else:
            events.worker_report.add_listener(self.on_worker_report)
        events.quit.add_listener(self.on_quit)

    def record(self, request_type: str, name: str, response_time: float, failed: bool) -> None:
        """Called by RequestTap for requests slower than threshold_ms."""
        self.pending.append(
            [round(time.time(), 3), request_type, name, round(response_time, 1), int(failed), self.node]
        )
        if self.role == "local" and len(self.pending) >= 100:
            self.flush()

    def flush(self, *_args, **_kwargs) -> None:
        rows, self.pending = self.pending, []
        self.store(rows)

    def store(self, rows: list[list]) -> None:
        if self.file is None or not rows:
            return
        room = max(0, MAX_ROWS - self.written)
        self.dropped += max(0, len(rows) - room)
        self.writer.writerows(rows[:room])
        self.written += min(room, len(rows))
        self.file.flush()

    def on_report_to_master(self, client_id: str, data: dict) -> None:
        data[MESSAGE_KEY], self.pending = self.pending, []

    def on_worker_report(self, client_id: str, data: dict) -> None:
        self.store(data.get(MESSAGE_KEY, []))

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        if self.file is not None:
            self.flush()
            self.file.close()
            self.file = None
