"""The rules a judgment follows beyond the SLA levels: minimum effects, noise, and when a percentile
is placed by too few requests to judge. Plain data, no pandas or scipy: the live judge in the Locust
process uses them as the analyzer does."""

from __future__ import annotations

import math
from dataclasses import dataclass

SHARE_ABOVE = {"p50_ms": 0.5, "p95_ms": 0.05, "p99_ms": 0.01}  # the share of requests slower than the percentile


@dataclass(frozen=True)
class Rules:
    min_increase_pct: float = 10.0
    min_increase_ms: float = 2.0
    min_tail_requests: float = 2.0
    min_error_increase: float = 0.005
    min_rps_drop_pct: float = 10.0
    p_value: float = 0.01

    def latency_effect(self, before: float) -> float:
        """The smallest latency rise that matters: min_increase_pct of `before` plus min_increase_ms."""
        return abs(before) * self.min_increase_pct / 100 + self.min_increase_ms

    def too_few_to_place(self, metric: str, *requests: int | None) -> bool:
        """Whether a run with the fewest of these requests has under min_tail_requests above this percentile."""
        return metric in SHARE_ABOVE and min(r or 0 for r in requests) * SHARE_ABOVE[metric] < self.min_tail_requests

    def windows_needed(self) -> int:
        """Windows per run for the rank test to reach p < p_value at all: n fully separated windows
        against n give p = 1 / C(2n, n) at best (4 each: 1/70 = 0.014; 5 each: 1/252 = 0.004)."""
        n = 3
        while n < 100 and math.comb(2 * n, n) * self.p_value <= 1:
            n += 1
        return n
