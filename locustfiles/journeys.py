"""The journey API for user code: steps that belong together, timed end to end and counted by outcome.

    with journey(self, "run workflow") as j:       # or self.journey(...) on a SwarmgateUser
        j.step("trigger")
        ...
        j.abandon("poll budget ran out")            # the user gives up (not a failure of a request)

    @as_journey("checkout")                          # the whole task is one journey
    @task
    def checkout(self): ...

A journey fails when a request made inside it fails (the recorders' one `request` listener tells it,
on the failure path only: successful requests cost nothing more) or when its code raises; it is
abandoned when the user is stopped mid-way or calls `abandon`. The first outcome decided stands.
Locust's own task control flow raised inside (InterruptTaskSet / RescheduleTask, from `self.interrupt()`)
is the code choosing to leave, like a return: the journey completes unless it was already decided.
Journeys do not nest: a second one opened in the same greenlet is refused (JourneyError). Greenlets a
user spawns each carry their own, so concurrent journeys of one user are fine. A journey follows its
requests into greenlets started with `j.spawn(fn, ...)` only: a request made in a greenlet spawned
any other way belongs to no journey, and its failure fails none.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Protocol

import gevent
from gevent import Greenlet, GreenletExit, getcurrent
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser

from swarmgate.core.journeys import ABANDONED, COMPLETED, FAILED, USER_STOPPED
from swarmgate.core.redact import strip_credentials, strip_credentials_in_text

STOPPED = (GreenletExit, StopUser)  # the user is being stopped: the journey is cut short
INTERRUPTED = (InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately)  # Locust's task control flow

_open: dict[object, Journey] = {}  # greenlet -> the journey open in it


class JourneyError(RuntimeError):
    """A journey used in a way that cannot be counted (nested, or without a name)."""


class JourneySink(Protocol):
    """Where journeys are counted: the journey recorder (`environment.swarmgate_journeys`)."""

    def start(self, name: str) -> None: ...

    def finish(self, name: str, outcome: str, duration_ms: float, where: str | None) -> None: ...


class Journey:
    """One journey of one user: a context manager; `step`, `fail` and `abandon` say what happens inside."""

    __slots__ = ("name", "sink", "at", "outcome", "where", "started", "greenlet")

    def __init__(self, name: str, sink: JourneySink | None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise JourneyError(f"a journey needs a name, e.g. journey(self, 'checkout'); got {name!r}")
        self.name, self.sink = strip_credentials_in_text(name), sink  # masked once: names reach logs and reports
        self.at: str | None = None  # the current step, when the code names its steps
        self.outcome: str | None = None
        self.where: str | None = None  # the step it failed at, or why it was abandoned
        self.started = 0.0
        self.greenlet: object = None

    def step(self, name: object) -> None:
        """Name the step the journey is in now: a failure is reported at this step (any value, as text)."""
        self.at = str(name)

    def fail(self, why: object = None) -> None:
        """The journey failed although its requests succeeded (e.g. an execution ended 'failed')."""
        self._decide(FAILED, str(why) if why is not None else self.at or "failed")

    def abandon(self, reason: object) -> None:
        """The user gives up on the journey (e.g. a poll budget ran out); the code carries on as it likes."""
        self._decide(ABANDONED, str(reason))

    def request_failed(self, request: str) -> None:
        """A request inside the journey failed: the journey fails at the current step (or that request)."""
        self._decide(FAILED, self.at or request)

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
        """Run fn(*args, **kwargs) in a new greenlet that carries this journey: its failed requests (and an
        exception it raises) fail the journey as the journey's own would. Join it before the journey ends
        (gevent.joinall). Requests from greenlets spawned any other way belong to no journey."""

        def carried() -> Any:
            greenlet = getcurrent()
            _open[greenlet] = self
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                self._decide(FAILED, self.at or type(exc).__name__)
                raise
            finally:
                _open.pop(greenlet, None)

        return gevent.spawn(carried)

    def _decide(self, outcome: str, where: str) -> None:
        if self.outcome is None:  # the first outcome decided stands
            self.outcome, self.where = outcome, where

    def __enter__(self) -> Journey:
        greenlet = getcurrent()
        outer = _open.get(greenlet)
        if outer is not None:
            raise JourneyError(f"journey {self.name!r} opened inside journey {outer.name!r} of the same user: "
                               "journeys do not nest; end one before starting the next, or use steps")  # fmt: skip
        _open[greenlet] = self
        self.greenlet = greenlet
        self.started = time.perf_counter()
        if self.sink is not None:
            self.sink.start(self.name)
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, _tb: Any) -> bool:
        duration_ms = (time.perf_counter() - self.started) * 1000
        _open.pop(self.greenlet, None)
        if isinstance(exc, STOPPED):
            self._decide(ABANDONED, USER_STOPPED)
        elif exc is not None and not isinstance(exc, INTERRUPTED):  # self.interrupt() leaves: not a failure
            self._decide(FAILED, self.at or type(exc).__name__)
        if self.sink is not None:  # the step or reason masked once, at the end (a step may carry a URL)
            where = strip_credentials_in_text(self.where) if self.where is not None else None
            self.sink.finish(self.name, self.outcome or COMPLETED, duration_ms, where)
        return False  # an exception goes on to Locust, which reports it as it always does


def request_failed(request_type: str, name: str) -> None:
    """Tell the journey open in this greenlet (the one making the request) that a request failed."""
    journey = _open.get(getcurrent())
    if journey is not None:  # a plain user's request name may be a URL with a token in its query: masked
        journey.request_failed(f"{request_type} {strip_credentials(name)}")


def journey(user: Any, name: str) -> Journey:
    """A journey of `user` (a Locust User or TaskSet): `with journey(self, "checkout") as j: ...`.

    Counted by the recorders swarmgate attaches (`swarmgate run`, or importing
    swarmgate.locustfiles.recorders); without them it only times and decides, recording nothing.
    """
    environment = getattr(user, "environment", None) or getattr(getattr(user, "user", None), "environment", None)
    return Journey(name, getattr(environment, "swarmgate_journeys", None))


def as_journey(name: str) -> Callable[[Callable], Callable]:
    """Decorate a task so each run of it is one journey: `@as_journey("checkout")` above or below `@task`."""

    def decorate(task: Callable) -> Callable:
        @functools.wraps(task)
        def run(user: Any, *args: Any, **kwargs: Any) -> Any:
            with journey(user, name):
                return task(user, *args, **kwargs)

        return run

    return decorate
