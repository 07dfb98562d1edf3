"""Pacing by requests, not by tasks: a user makes about N requests per second, however long its tasks are.

Locust's `constant_throughput` paces task runs, so a user's request rate depends on how many requests
each task makes (a polling journey makes eleven, a search one). The seeds' load model is stated in
requests per second per user, so swarmgate's users wait after each task for as long as that task's
requests are worth at the user's rate, less the time the task itself took (its own waits included).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Protocol

SPREAD = 0.5  # each wait is drawn from [1 - SPREAD, 1 + SPREAD] × its due, so users do not march in step


class CountsRequests(Protocol):
    requests_made: int


def requests_per_second(rate: float) -> Callable[[CountsRequests], float]:
    """A `wait_time` pacing a user to `rate` requests per second on average.

    The user counts its requests in `requests_made`, as every SwarmgateUser does. A task that took
    longer than its requests are worth (a slow target, a journey's polling sleeps) is not made up for
    by firing faster afterwards: a user never bursts to catch up, as a person would not.
    """
    if rate <= 0:
        raise ValueError(f"requests_per_second: rate must be above 0, not {rate}")

    def wait_time(user: CountsRequests) -> float:
        now = time.monotonic()
        task_started = getattr(user, "_paced_task_start", None)
        made = user.requests_made - getattr(user, "_paced_requests", 0)
        if task_started is None:  # a new user starts within its first second: users spawned together spread out
            wait = random.uniform(0, max(1.0, 1 / rate))
        else:
            wait = max(0.0, made / rate - (now - task_started)) * random.uniform(1 - SPREAD, 1 + SPREAD)
        user._paced_requests = user.requests_made
        user._paced_task_start = now + wait
        return wait

    return wait_time
