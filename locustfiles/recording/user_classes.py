"""Requests per user class (from the request context), so run.json can show every class took part."""

from __future__ import annotations

from collections import Counter

from locust import User
from locust.env import Environment

from swarmgate.locustfiles.recording.common import node_role

MESSAGE_KEY = "swarmgate_user_classes"


def tag_requests_with_class(user_classes: list[type[User]]) -> None:
    """Make every user class put its name in its requests' context, as SwarmgateUser does itself.

    Done once per class at start, for locustfiles that know nothing of swarmgate: a class with Locust's
    default `context()` gets one returning a dict made once; a class with its own `context()` keeps it,
    with the name added.
    """
    for cls in user_classes:
        if getattr(cls.context, "tags_user_class", False):
            continue
        tag = {"user_class": cls.__name__}
        if cls.context is User.context:

            def context(self, _tag=tag) -> dict:
                return _tag
        else:

            def context(self, _own=cls.context, _tag=tag) -> dict:
                return {**_own(self), **_tag}

        context.tags_user_class = True
        cls.context = context


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
