"""Values derived from a target's `/metrics` pages (Prometheus text format, read by prometheus_client's
parser): a gauge's value, a counter's rate, a ratio of two gauges or of two counters' rates, and a
quantile of a histogram's buckets (Prometheus' own `histogram_quantile` rule). No query language.

Rates and quantiles compare the newest page with the oldest one kept (RATE_WINDOW_S before it), so a
value covers a few seconds of traffic, as `rate(x[5s])` would in Prometheus.
"""

from __future__ import annotations

import math
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from swarmgate.analysis.server_rules import Scrape

RATE_WINDOW_S = 5.0

Page = dict[str, list[tuple[dict[str, str], float]]]  # sample name -> (labels, value) of each series


def parse_page(text: str) -> Page:
    """A /metrics page as sample name -> series; ValueError when it is not Prometheus text format."""
    page: Page = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            page[sample.name].append((sample.labels, float(sample.value)))
    return dict(page)


def _selected(page: Page, metric: str, labels: tuple[tuple[str, str], ...]) -> list[tuple[dict[str, str], float]]:
    return [(have, value) for have, value in page.get(metric, []) if all(have.get(k) == v for k, v in labels)
            and not math.isnan(value)]  # fmt: skip


def total(page: Page, metric: str, labels: tuple[tuple[str, str], ...] = ()) -> float | None:
    """The sum of the metric's series whose labels include `labels`; None when it has none."""
    series = _selected(page, metric, labels)
    return sum(value for _, value in series) if series else None


def increase(now: Page, before: Page, metric: str, labels: tuple[tuple[str, str], ...]) -> float | None:
    """How much a counter grew between two pages; None when it is missing or was reset (it went down)."""
    a, b = total(now, metric, labels), total(before, metric, labels)
    if a is None or b is None or a < b:
        return None
    return a - b


def buckets(page: Page, metric: str, labels: tuple[tuple[str, str], ...]) -> dict[float, float]:
    """A histogram's cumulative bucket counts by upper bound, summed over its series."""
    found: dict[float, float] = defaultdict(float)
    for have, value in _selected(page, f"{metric}_bucket", labels):
        try:
            found[float(have["le"])] += value
        except (KeyError, ValueError):
            continue
    return dict(found)


def bucket_quantile(quantile: float, cumulative: dict[float, float]) -> float | None:
    """Prometheus' histogram_quantile: linear within the bucket the rank falls in; None without observations.

    A rank in the +Inf bucket reads as the largest finite bound (as Prometheus does).
    """
    bounds = sorted(cumulative)
    if not bounds or not math.isinf(bounds[-1]) or cumulative[bounds[-1]] <= 0:
        return None
    rank = quantile * cumulative[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def derive(scrape: Scrape, now: tuple[float, Page], before: tuple[float, Page] | None) -> float | None:
    """The value a scrape rule gives at the newest page; None when it cannot be had (yet, or at all)."""
    (t_now, page), labels = now, scrape.labels
    if scrape.kind == "gauge":
        value = total(page, scrape.metric, labels)
        if scrape.divide_by is None or value is None:
            return value
        divisor = total(page, scrape.divide_by, labels)
        return value / divisor if divisor else None
    if before is None or before[0] >= t_now:
        return None
    t_before, old = before
    if scrape.kind == "rate":
        grown = increase(page, old, scrape.metric, labels)
        if scrape.divide_by is None or grown is None:
            return grown / (t_now - t_before) if grown is not None else None
        divisor = increase(page, old, scrape.divide_by, labels)
        return grown / divisor if divisor else None
    newer, older = buckets(page, scrape.metric, labels), buckets(old, scrape.metric, labels)
    if any(newer[b] < older.get(b, 0.0) for b in newer):  # reset: the target restarted
        return None
    return bucket_quantile(scrape.quantile or 0.5, {b: newer[b] - older.get(b, 0.0) for b in newer})
