"""Faults the demo can suffer at run time, switched on and off through its fault endpoint.

Unlike the knobs of faults.py (fixed at start), these model an outage that begins and ends while load
is applied: the database unavailable, the session cache down, a dependency timing out, the database's
connection pool exhausted. Turning one off can take a while, as a real restart does (`recovery_s`);
the demo logs the moment it really recovered, a line with a timestamp, which is the truth a measured
recovery time can be checked against.

The endpoint has its own token (SWARMGATE_DEMO_FAULT_TOKEN), never a user's or an admin's: without
it, the endpoint does not exist (404).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import gevent

KINDS = {
    "database": "requests that need the database fail at once with 503",
    "pool": "requests that need the database wait wait_ms for a connection, then fail with 503",
    "cache": "the session cache is down: every request looks its token up in the database, latency_ms slower",
    "dependency": "the workflow engine times out: executions wait wait_ms, then fail with 504",
}
DEFAULTS = {"recovery_s": 0.0, "wait_ms": 1000.0, "latency_ms": 50.0}
MAX_PARAMETER = 600_000.0  # ms or s: ten minutes at most
DEPENDENT_ROUTES = ("/api/workflows/[id]/executions", "/api/executions/[id]")  # the workflow engine's


class DatabaseUnavailable(Exception):
    """Raised by the store's query hook while the database (or its pool) fault is in effect."""


class DependencyTimeout(Exception):
    """Raised for a route of the workflow engine while the dependency fault is in effect."""


@dataclass
class ActiveFault:
    kind: str
    since: float
    recovery_s: float
    wait_ms: float
    latency_ms: float
    ending_at: float | None = None  # turned off; in effect until it has recovered


def parse_parameters(body: object) -> dict[str, float] | str:
    """A fault's parameters from the request body, or the problem with them."""
    if body is None:
        return dict(DEFAULTS)
    if not isinstance(body, dict) or set(body) - set(DEFAULTS):
        return f"body must be a JSON object with at most {', '.join(DEFAULTS)}"
    values = {**DEFAULTS, **body}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_PARAMETER:
            return f"{key} must be a number from 0 to {MAX_PARAMETER:g}"
    return {key: float(value) for key, value in values.items()}


class Chaos:
    """The faults in effect now; checked by the app and the store on each request (a dict lookup)."""

    def __init__(self, log=None) -> None:
        self.active: dict[str, ActiveFault] = {}
        self.log = log or sys.stderr

    def on(self, kind: str, parameters: dict[str, float]) -> ActiveFault:
        fault = ActiveFault(kind, time.time(), parameters["recovery_s"], parameters["wait_ms"],
                            parameters["latency_ms"])  # fmt: skip
        self.active[kind] = fault
        self.say(f"fault '{kind}' on at {stamp(fault.since)}")
        return fault

    def off(self, kind: str) -> bool:
        """Begin the recovery: the fault stays in effect recovery_s more, then the demo logs it recovered."""
        fault = self.active.get(kind)
        if fault is None or fault.ending_at is not None:
            return False
        fault.ending_at = time.time()
        self.say(f"fault '{kind}' off requested at {stamp(fault.ending_at)}; recovering in {fault.recovery_s:g} s")
        gevent.spawn(self.recovered, fault, fault.ending_at + fault.recovery_s)
        return True

    def recovered(self, fault: ActiveFault, due: float) -> None:
        """At `due` by the wall clock (gevent's timers run on the loop's cached time, which can lag it)."""
        for _ in range(1000):
            left = due - time.time()
            if left <= 0:
                break
            gevent.sleep(left)
        if self.active.get(fault.kind) is fault:
            del self.active[fault.kind]
            self.say(f"fault '{fault.kind}' recovered at {stamp(time.time())}")

    def state(self) -> dict:
        return {kind: {"since": stamp(f.since), "recovering": f.ending_at is not None, "recovery_s": f.recovery_s}
                for kind, f in self.active.items()}  # fmt: skip

    def say(self, line: str) -> None:
        print(f"swarmgate demo: {line}", file=self.log, flush=True)

    # the checks, per request
    def before_query(self) -> None:
        """The store's hook, before every query: fail (or wait, then fail) while the database is out."""
        if "database" in self.active:
            raise DatabaseUnavailable("database unavailable")
        pool = self.active.get("pool")
        if pool is not None:
            gevent.sleep(pool.wait_ms / 1000)
            raise DatabaseUnavailable("no database connection free (pool exhausted)")

    def cache_delay_s(self) -> float | None:
        """None while the cache works; else the extra seconds a lookup costs without it."""
        cache = self.active.get("cache")
        return cache.latency_ms / 1000 if cache is not None else None

    def before_route(self, template: str) -> None:
        dependency = self.active.get("dependency")
        if dependency is not None and template in DEPENDENT_ROUTES:
            gevent.sleep(dependency.wait_ms / 1000)
            raise DependencyTimeout("the workflow engine did not answer in time")


def stamp(ts: float) -> str:
    """ISO-8601 with microseconds and the unix time, so a test can read either."""
    return f"{datetime.fromtimestamp(ts, UTC).isoformat(timespec='microseconds')} (unix {ts:.6f})"
