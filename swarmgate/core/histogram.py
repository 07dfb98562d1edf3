"""Response-time histograms as Locust keeps them (bucket -> count) and exact percentiles from them.

No Locust import: the analyzer reads files. The percentile rule is Locust's own
(`calculate_response_time_percentile`), so a percentile here equals the one Locust would report
for the same requests; tests/unit/test_histogram.py pins that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


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
