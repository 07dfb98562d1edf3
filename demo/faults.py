"""Knobs of the demo target, fixed at start: latency, errors, wrong bodies, capacity, a leak, its cache size.
(Faults switched at run time are chaos.py's; their endpoint and token are named here, which loads no gevent.)"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FAULT_TOKEN_VAR = "SWARMGATE_DEMO_FAULT_TOKEN"  # the fault endpoint's own token (not a user's or an admin's)
FAULT_PATH = "/admin/faults"
GOLDEN_RATIO_FRACTION = 0.6180339887498949


class FaultSpecError(ValueError):
    """A knob given on the command line could not be understood."""


@dataclass(frozen=True)
class RouteValue:
    """A value attached to routes: `*`, `TEMPLATE` (any method) or `METHOD TEMPLATE`."""

    method: str | None
    template: str
    value: float

    def matches(self, method: str, template: str) -> bool:
        if self.template == "*":
            return True
        return self.template == template and (self.method is None or self.method == method)


def parse_route_value(spec: str, *, kind: str, upper: float | None = None) -> RouteValue:
    """Parse `[METHOD ]ROUTE=VALUE`, e.g. `GET /api/workspaces=200` or `*=0.05`."""
    route, sep, raw = spec.rpartition("=")
    route = route.strip()
    if not sep or not route:
        raise FaultSpecError(f"{kind} {spec!r}: expected ROUTE=VALUE, e.g. 'GET /api/workspaces=200'")
    try:
        value = float(raw)
    except ValueError:
        raise FaultSpecError(f"{kind} {spec!r}: {raw!r} is not a number") from None
    if value < 0 or (upper is not None and value > upper):
        bound = f"between 0 and {upper:g}" if upper is not None else "0 or more"
        raise FaultSpecError(f"{kind} {spec!r}: value must be {bound}")
    method, _, template = route.partition(" ") if " " in route else ("", "", route)
    template = template.strip()
    if template != "*" and not template.startswith("/"):
        raise FaultSpecError(f"{kind} {spec!r}: route must be '*' or start with '/'")
    return RouteValue(method.upper() or None, template, value)


@dataclass
class Faults:
    """All knobs; the lookups are per request, so they stay cheap (a few list entries)."""

    latency_ms: list[RouteValue] = field(default_factory=list)
    error_ratio: list[RouteValue] = field(default_factory=list)
    bad_body_ratio: list[RouteValue] = field(default_factory=list)
    max_concurrency: int = 0
    leak_kb_per_request: float = 0.0
    cache_size: int = 1024  # sessions the demo's cache holds; a small one lowers the cache hit ratio
    memory_limit_mb: float = 512.0  # the limit its memory usage is measured against (like a container's)
    stuck_execution_ratio: float = 0.0  # share of executions that never finish (their status stays 'running')
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_concurrency < 0:
            raise FaultSpecError("--max-concurrency must be 0 (unlimited) or more")
        if self.leak_kb_per_request < 0:
            raise FaultSpecError("--leak-kb-per-request must be 0 or more")
        if self.cache_size < 0:
            raise FaultSpecError("--cache-size must be 0 (no cache) or more")
        if self.memory_limit_mb <= 0:
            raise FaultSpecError("--memory-limit-mb must be above 0")
        if not 0 <= self.stuck_execution_ratio <= 1:
            raise FaultSpecError("--stuck-execution-ratio must be between 0 and 1")
        self.rng.seed(self.seed)

    @staticmethod
    def _lookup(values: list[RouteValue], method: str, template: str) -> float:
        """The last matching knob wins, so `*=10` followed by a route-specific value overrides it."""
        found = 0.0
        for item in values:
            if item.matches(method, template):
                found = item.value
        return found

    def latency_for(self, method: str, template: str) -> float:
        return self._lookup(self.latency_ms, method, template) / 1000.0

    def should_error(self, method: str, template: str) -> bool:
        ratio = self._lookup(self.error_ratio, method, template)
        return ratio > 0 and self.rng.random() < ratio

    def execution_stuck(self, execution_id: int) -> bool:
        """Whether this execution never finishes. Spread evenly over the ids (the golden-ratio sequence),
        not drawn at random: any run of consecutive executions holds the knob's share, to within one."""
        return (execution_id * GOLDEN_RATIO_FRACTION) % 1.0 < self.stuck_execution_ratio

    def should_corrupt(self, method: str, template: str) -> bool:
        ratio = self._lookup(self.bad_body_ratio, method, template)
        return ratio > 0 and self.rng.random() < ratio
