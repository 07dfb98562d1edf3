"""The one check record every judgment produces (SLA, regression, drift, capacity, run), and the verdict."""

from __future__ import annotations

from typing import Literal, TypedDict

Status = Literal["pass", "warn", "fail"]
Kind = Literal["sla", "regression", "capacity", "drift", "run", "server", "journey", "resilience"]
ORDER = {"pass": 0, "warn": 1, "fail": 2}


class Check(TypedDict):
    """One line of summary.json's `checks`: what was judged, the outcome, and one sentence of why."""

    kind: Kind
    method: str | None
    endpoint: str | None
    metric: str | None
    status: Status
    actual: float | None
    target: float | None
    alert: float | None
    baseline: float | None
    message: str


def check(kind: Kind, status: Status, message: str, *, method: str | None = None, endpoint: str | None = None,
          metric: str | None = None, actual: float | None = None, target: float | None = None,
          alert: float | None = None, baseline: float | None = None) -> Check:  # fmt: skip
    return Check(kind=kind, method=method, endpoint=endpoint, metric=metric, status=status, actual=actual,
                 target=target, alert=alert, baseline=baseline, message=message)  # fmt: skip


def verdict_of(checks: list[Check]) -> Status:
    """The worst status among the checks; pass when there are none."""
    return max((c["status"] for c in checks), key=ORDER.__getitem__, default="pass")
