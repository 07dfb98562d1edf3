"""Worker loss, seen on the master while the run goes on, and a worker that does not outlive its master.

Locust marks a worker `missing` after a few seconds without a heartbeat, forgets its users, carries
on with fewer and exits 0; no event says so, and a missing worker is later removed from
`runner.clients`. WorkerWatch polls the master's worker list each second and keeps every loss
(when, which worker, how many users it had) for run.json, where the analyzer turns it into a
degraded verdict. On a worker, Locust waits 60 s without a master before quitting; `--master-timeout`
shortens that, so the workers of a killed master end on their own.
"""

from __future__ import annotations

import logging
import time

import gevent
import locust.runners
from locust.env import Environment
from locust.runners import STATE_MISSING

from swarmgate.locustfiles.recording.common import iso, node_role

POLL_S = 1.0
logger = logging.getLogger(__name__)


class WorkerWatch:
    """Master only: every worker that went missing, with the users it was running just before."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.lost: list[dict] = []
        self.users: dict[str, int] = {}
        self.started: float | None = None
        self.greenlet: gevent.Greenlet | None = None
        environment.events.test_start.add_listener(self.on_test_start)
        environment.events.quitting.add_listener(self.on_quitting)

    def on_test_start(self, **_kwargs) -> None:
        self.started = self.started or time.time()
        if self.greenlet is None:
            self.greenlet = gevent.spawn(self.watch)

    def on_quitting(self, **_kwargs) -> None:
        self.poll()  # a loss in the last second still counts
        if self.greenlet is not None:
            self.greenlet.kill(block=False)

    def watch(self) -> None:
        while True:
            self.poll()
            gevent.sleep(POLL_S)

    def poll(self) -> None:
        runner = self.environment.runner
        if runner is None:
            return
        known = {entry["worker"] for entry in self.lost if entry.get("rejoined") is None}
        for client in list(runner.clients.all):
            worker = str(client.id)
            if client.state == STATE_MISSING:
                if worker not in known:
                    now = time.time()
                    entry = {"worker": worker, "at": iso(now), "after_s": round(now - (self.started or now), 1),
                             "users_lost": self.users.get(worker, 0), "rejoined": None}  # fmt: skip
                    self.lost.append(entry)
                    logger.warning("worker %s went missing after %.0f s with %d users", worker, entry["after_s"],
                                   entry["users_lost"])  # fmt: skip
            else:
                self.users[worker] = client.user_count
                for entry in self.lost:
                    if entry["worker"] == worker and entry["rejoined"] is None:
                        entry["rejoined"] = iso(time.time())

    def summary(self) -> list[dict]:
        return list(self.lost)


def shorten_master_timeout(environment: Environment, seconds: float) -> None:
    """Worker only: quit when the master has been silent this long (Locust's own wait is 60 s)."""
    if node_role(environment) == "worker" and seconds > 0:
        locust.runners.MASTER_HEARTBEAT_TIMEOUT = seconds  # read by WorkerRunner.heartbeat_timeout_checker
