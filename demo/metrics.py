"""The demo's own metrics in Prometheus format (prometheus_client): what a team's service exports and
the SLA's `[[server]]` tables judge: process CPU and memory, database query time, a cache's hits and
lookups, a worker pool in use against its size, and the requests served."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

QUERY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class DemoMetrics:
    """One registry per app (not the global one), so several apps in one process never collide."""

    def __init__(self, pool_size: int, memory_limit_bytes: int) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        self.requests = Counter("demo_requests", "Requests answered, by route and status", ["route", "status"],
                                registry=self.registry)  # fmt: skip
        self.db_query_seconds = Histogram("demo_db_query_seconds", "Time of each database query (execute and fetch)",
                                          buckets=QUERY_BUCKETS_S, registry=self.registry)  # fmt: skip
        self.cache_lookups = Counter("demo_cache_lookups", "Session cache lookups", registry=self.registry)
        self.cache_hits = Counter("demo_cache_hits", "Session cache lookups answered from the cache",
                                  registry=self.registry)  # fmt: skip
        self.pool_in_use = Gauge("demo_pool_in_use", "Requests being handled (workers of the pool in use)",
                                 registry=self.registry)  # fmt: skip
        Gauge("demo_pool_size", "Requests that can be handled at once (--max-concurrency, else the server's pool)",
              registry=self.registry).set(pool_size)  # fmt: skip
        Gauge("demo_memory_limit_bytes", "The memory the demo may use (--memory-limit-mb), like a container's limit",
              registry=self.registry).set(memory_limit_bytes)  # fmt: skip
        self.queued = Gauge("demo_queued", "Requests waiting for the pool", registry=self.registry)
        self.leaked_bytes = Gauge("demo_leaked_bytes", "Memory kept by the leak knob", registry=self.registry)
        started = time.time()
        Gauge("demo_uptime_seconds", "Seconds since start", registry=self.registry).set_function(
            lambda: time.time() - started)  # fmt: skip

    def text(self) -> bytes:
        return generate_latest(self.registry)


class LruCache:
    """A small least-recently-used cache that counts its lookups and hits (a real cache the SLA judges)."""

    def __init__(self, size: int, metrics: DemoMetrics) -> None:
        self.size = size
        self.metrics = metrics
        self.entries: OrderedDict[Hashable, object] = OrderedDict()

    def get(self, key: Hashable, load: Callable[[], object], fresh: Callable[[object], bool]) -> object:
        """The cached value while `fresh(value)`, else `load()` (kept when it is not None)."""
        self.metrics.cache_lookups.inc()
        value = self.entries.get(key)
        if value is not None and fresh(value):
            self.entries.move_to_end(key)
            self.metrics.cache_hits.inc()
            return value
        self.entries.pop(key, None)
        value = load()
        if value is not None and self.size:
            self.entries[key] = value
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value
