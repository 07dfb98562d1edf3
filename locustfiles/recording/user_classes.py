"""Requests per user class (from the request context), so run.json can show every class took part."""

from __future__ import annotations

from collections import Counter

from locust.env import Environment

from swarmgate.locustfiles.recording.common import node_role

MESSAGE_KEY = "swarmgate_user_classes"


class UserClassCounter:
    def __init__(self, environment: Environment) -> None:
        self.role = node_role(environment)
        self.counts: Counter[str] = Counter()
        self.pending: Counter[str] = Counter()
        self.sink = self.pending if self.role == "worker" else self.counts  # chosen once, not per request
        events = environment.events
        if self.role == "worker":
            events.report_to_master.add_listener(self.on_report_to_master)
        else:
            events.worker_report.add_listener(self.on_worker_report)

    def record(self, context: dict | None) -> None:
        """Called by RequestTap for every request."""
        user_class = context.get("user_class") if context else None
        self.sink[user_class or "unknown"] += 1

    def on_report_to_master(self, client_id: str, data: dict) -> None:
        data[MESSAGE_KEY] = dict(self.pending)
        self.pending.clear()

    def on_worker_report(self, client_id: str, data: dict) -> None:
        self.counts.update(data.get(MESSAGE_KEY, {}))
