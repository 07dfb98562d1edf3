"""Pacing by requests: a user averages its rate whatever its tasks make, and never bursts to catch up."""

from __future__ import annotations

import random

import pytest

from swarmgate.locustfiles import pacing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class User:
    requests_made = 0


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(pacing.time, "monotonic", fake)
    return fake


def run_tasks(clock: Clock, wait_time, tasks: list[tuple[int, float]]) -> tuple[int, float]:
    """Run (requests, seconds) tasks with the waits in between; (requests, elapsed) from the first task on."""
    user = User()
    clock.now += wait_time(user)
    started, made = clock.now, 0
    for requests, seconds in tasks:
        user.requests_made += requests
        made += requests
        clock.now += seconds
        clock.now += wait_time(user)
    return made, clock.now - started


def test_the_rate_holds_whatever_each_task_makes(clock):
    rng = random.Random(7)
    tasks = [(rng.choice([1, 1, 2, 11]), rng.uniform(0.001, 0.05)) for _ in range(4000)]
    made, elapsed = run_tasks(clock, pacing.requests_per_second(2.2), tasks)
    assert made / elapsed == pytest.approx(2.2, rel=0.03)


def test_a_slow_task_is_not_made_up_for_by_bursting(clock):
    wait_time = pacing.requests_per_second(2.0)
    user = User()
    clock.now += wait_time(user)
    user.requests_made += 1
    clock.now += 5.0  # one request that took 5 s: worth 0.5 s at this rate
    assert wait_time(user) == 0.0
    user.requests_made += 2
    clock.now += 0.01
    assert 0.49 * 0.5 <= wait_time(user) <= 0.99 * 1.5  # the next task is paced as usual


def test_users_spawned_together_start_spread_over_their_first_second(clock):
    waits = [pacing.requests_per_second(4.0)(User()) for _ in range(200)]
    assert all(0 <= w <= 1.0 for w in waits) and max(waits) - min(waits) > 0.8
    assert all(0 <= pacing.requests_per_second(0.5)(User()) <= 2.0 for _ in range(50))  # or over one request's worth


def test_a_rate_of_zero_is_refused():
    with pytest.raises(ValueError, match="rate must be above 0"):
        pacing.requests_per_second(0)
