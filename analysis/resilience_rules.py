"""The SLA file's `[resilience]` table: the levels fault phases are judged by, and the recovery rule's tolerances.

```toml
[resilience]
recovery_s = { target = 2, alert = 5 }                     # from a fault's end until back to the pre-fault level
error_ratio_during_fault = { target = 0.01, alert = 0.05 }  # failed while it lasted: for a fault to ride out
error_tolerance = 0.01     # back within the pre-fault error ratio plus 1 point ...
p95_tolerance_pct = 50     # ... and its p95 plus 50 % ...
p95_tolerance_ms = 20      # ... plus 20 ms
```
"""

from __future__ import annotations

from dataclasses import dataclass

from swarmgate.core.config import number_within, printable

LEVELS = {"recovery_s": 86_400.0, "error_ratio_during_fault": 1.0}  # each with its largest value
TOLERANCES = {"error_tolerance": 1.0, "p95_tolerance_pct": 1000.0, "p95_tolerance_ms": 60_000.0}


@dataclass(frozen=True)
class ResilienceLevel:
    target: float
    alert: float

    def status(self, actual: float) -> str:
        return "fail" if actual > self.alert else "warn" if actual > self.target else "pass"


@dataclass(frozen=True)
class ResilienceRules:
    recovery_s: ResilienceLevel | None = None
    error_ratio_during_fault: ResilienceLevel | None = None
    error_tolerance: float = 0.01
    p95_tolerance_pct: float = 50.0
    p95_tolerance_ms: float = 20.0

    def error_level(self, before: float) -> float:
        return before + self.error_tolerance

    def p95_level(self, before: float) -> float:
        return before * (1 + self.p95_tolerance_pct / 100) + self.p95_tolerance_ms


def resilience_rules(raw: object, problems: list[str]) -> ResilienceRules:
    """Read `[resilience]`; each problem is added to `problems` (the SLA file reports them all at once)."""
    if raw is None:
        return ResilienceRules()
    if not isinstance(raw, dict):
        problems.append("resilience: must be a table [resilience]")
        return ResilienceRules()
    found: dict[str, object] = {}
    for key, value in raw.items():
        if key in LEVELS:
            level = level_of(value, key, LEVELS[key], problems)
            if level is not None:
                found[key] = level
        elif key in TOLERANCES:
            number = number_within(value, 0, TOLERANCES[key])
            if number is None:
                problems.append(f"resilience.{key}: must be a number from 0 to {TOLERANCES[key]:g}")
            else:
                found[key] = float(number)
        else:
            known = ", ".join([*LEVELS, *TOLERANCES])
            problems.append(f"resilience.{printable(key)}: unknown key (known: {known})")
    return ResilienceRules(**found)


def level_of(value: object, key: str, high: float, problems: list[str]) -> ResilienceLevel | None:
    levels = [number_within(value.get(k), 0, high) for k in ("target", "alert")] if isinstance(value, dict) else []
    if not isinstance(value, dict) or set(value) != {"target", "alert"} or None in levels:
        problems.append(f"resilience.{key}: write {{ target = N, alert = M }} with numbers from 0 to {high:g}")
        return None
    target, alert = levels
    if alert < target:
        problems.append(f"resilience.{key}: the alert level must be at or beyond the target")
        return None
    return ResilienceLevel(target, alert)
