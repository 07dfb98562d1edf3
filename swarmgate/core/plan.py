"""Stage plans: how many users, how fast, for how long. Pure data, built from scenario parameters.

Every change of user count becomes two stages: a ramp (not steady: its statistics are kept apart)
and a hold at the new count (steady). A ramp lasts |change| / spawn_rate seconds, which is how long
Locust takes to get there; a hold lasts whatever is left of the step.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Stage:
    name: str
    duration_s: float
    users: int
    spawn_rate: float
    steady: bool
    user_classes: tuple[str, ...] = ()  # empty: the run's classes


def ramp_and_hold(
    name: str, start_users: int, users: int, duration_s: float, spawn_rate: float, ramp_name: str | None = None
) -> list[Stage]:
    """Reach `users` from `start_users` at spawn_rate, then hold; together they last duration_s."""
    ramp_s = min(duration_s, abs(users - start_users) / spawn_rate) if users != start_users else 0.0
    stages = []
    if ramp_s > 0:
        stages.append(Stage(ramp_name or f"{name} ramp", ramp_s, users, spawn_rate, steady=False))
    if duration_s - ramp_s > 0:
        stages.append(Stage(name, duration_s - ramp_s, users, spawn_rate, steady=True))
    return stages


def constant(users: int, duration_s: float, spawn_rate: float) -> list[Stage]:
    return ramp_and_hold("steady", 0, users, duration_s, spawn_rate, ramp_name="ramp-up")


def steps(step_users: list[int], step_duration_s: float, spawn_rate: float) -> list[Stage]:
    plan, current = [], 0
    for index, users in enumerate(step_users, 1):
        plan += ramp_and_hold(f"step-{index} ({users} users)", current, users, step_duration_s, spawn_rate)
        current = users
    return plan


def spike(base_users: int, spike_users: int, base_s: float, spike_s: float, recover_s: float,
          spawn_rate: float) -> list[Stage]:  # fmt: skip
    return (
        ramp_and_hold("before spike", 0, base_users, base_s, spawn_rate)
        + ramp_and_hold("spike", base_users, spike_users, spike_s, spawn_rate)
        + ramp_and_hold("after spike", spike_users, base_users, recover_s, spawn_rate)
    )


def linear(targets: list[tuple[float, int]], start_users: int = 0) -> list[Stage]:
    """k6-style ramping: each (duration, target) moves linearly to target over duration; equal targets hold."""
    plan, current = [], start_users
    for index, (duration_s, users) in enumerate(targets, 1):
        if users == current:
            plan.append(Stage(f"hold-{index} ({users} users)", duration_s, users, max(1.0, users), steady=True))
        else:
            rate = abs(users - current) / duration_s
            direction = "up" if users > current else "down"
            plan.append(Stage(f"ramp-{index} {direction} to {users}", duration_s, users, rate, steady=False))
        current = users
    return plan


def scaled(plan: list[Stage], factor: float) -> list[Stage]:
    """Compress or stretch time: durations shrink, spawn rates grow, so the same user counts are reached."""
    return [replace(s, duration_s=s.duration_s * factor, spawn_rate=s.spawn_rate / factor) for s in plan]


def total_duration(plan: list[Stage]) -> float:
    return sum(stage.duration_s for stage in plan)


@dataclass(frozen=True)
class Capacity:
    """A capacity search's breach levels: a steady step breaks above this p95 or error ratio."""

    breach_p95_ms: float
    breach_error_ratio: float


def plan_to_json(plan: list[Stage], capacity: Capacity | None) -> str:
    """The plan as data for the shape process (the orchestrator validated it; the shape only reads it)."""
    return json.dumps({"stages": [asdict(stage) for stage in plan], "capacity": asdict(capacity) if capacity else None})


def plan_from_json(text: str) -> tuple[list[Stage], Capacity | None]:
    document = json.loads(text)
    stages = [Stage(**{**stage, "user_classes": tuple(stage["user_classes"])}) for stage in document["stages"]]
    capacity = document.get("capacity")
    return stages, Capacity(**capacity) if capacity else None
