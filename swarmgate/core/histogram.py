"""Response-time histograms as Locust keeps them (bucket -> count) and exact percentiles from them.

No Locust import: the analyzer reads files. The percentile rule is Locust's own
(`calculate_response_time_percentile`), so a percentile here equals the one Locust would report
for the same requests; tests/unit/test_histogram.py pins that.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate


def merge(histograms: Iterable[Mapping]) -> dict[int, int]:
    """Add histograms; keys may be ints or the strings JSON turns them into."""
    merged: dict[int, int] = {}
    for histogram in histograms:
        for bucket, count in histogram.items():
            merged[int(float(bucket))] = merged.get(int(float(bucket)), 0) + int(count)
    return merged


def percentile(histogram: Mapping[int, int], fraction: float) -> int | None:
    """The response time below which `fraction` of the requests fall; None for an empty histogram."""
    total = sum(histogram.values())
    if total == 0:
        return None
    allowed_above = int(total * fraction)
    seen = 0
    for bucket in sorted(histogram, reverse=True):
        seen += histogram[bucket]
        if total - seen <= allowed_above:
            return bucket
    return 0


def cumulative(histogram: Mapping[int, int], bounds: Sequence[int]) -> list[int]:
    """Counts at or below each bound (ascending, in the histogram's unit): a Prometheus histogram's buckets.

    A bucket of Locust's lands under the first bound not below it, so each count is exact to Locust's
    bucketing (a request of 147 ms is counted as 150 ms).
    """
    below = [0] * len(bounds)
    for bucket, count in histogram.items():
        index = bisect_left(bounds, int(float(bucket)))
        if index < len(bounds):
            below[index] += int(count)
    return list(accumulate(below))
