"""A CSV written by the master (or the single local process) from rows that every node produces.

Workers ship their rows with each stats report (`report_to_master`); the master appends them as
they arrive (`worker_report`), so a crash loses at most the rows of one report interval.
"""

from __future__ import annotations

import csv
from pathlib import Path

from locust.env import Environment

from swarmgate.locustfiles.recording.common import node_role


class ShippedCsv:
    def __init__(
        self,
        environment: Environment,
        out_dir: Path | None,
        filename: str,
        columns: list[str],
        *,
        max_rows: int | None = None,
        flush_every: int = 1,
    ) -> None:
        self.role = node_role(environment)
        self.key = f"swarmgate_{filename}"
        self.max_rows = max_rows
        self.flush_every = flush_every
        self.pending: list[list] = []
        self.written = 0
        self.dropped = 0
        self.file = None
        if self.role != "worker" and out_dir is not None:
            self.file = open(out_dir / filename, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.writer = csv.writer(self.file)
            self.writer.writerow(columns)
        if self.role == "worker":
            environment.events.report_to_master.add_listener(self.on_report_to_master)
        else:
            environment.events.worker_report.add_listener(self.on_worker_report)

    def add(self, rows: list[list]) -> None:
        """Rows made on this node: kept for the next report (worker) or written (master, local)."""
        self.pending.extend(rows)
        if self.role != "worker" and len(self.pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        rows, self.pending = self.pending, []
        self.store(rows)

    def store(self, rows: list[list]) -> None:
        if self.file is None or not rows:
            return
        room = len(rows) if self.max_rows is None else max(0, self.max_rows - self.written)
        self.dropped += max(0, len(rows) - room)
        self.writer.writerows(rows[:room])
        self.written += min(room, len(rows))
        self.file.flush()

    def on_report_to_master(self, client_id: str, data: dict) -> None:
        data[self.key], self.pending = self.pending, []

    def on_worker_report(self, client_id: str, data: dict) -> None:
        self.store(data.get(self.key, []))

    def close(self) -> None:
        if self.file is not None:
            self.flush()
            self.file.close()
            self.file = None
