"""`[[server]]` tables of the SLA file: the target's own metrics, how to read them, and their levels.

Each table names one metric and says where it comes from: `query` (PromQL, asked of a Prometheus
server with `--prometheus`) and/or `scrape` (derived from the target's `/metrics` with `--scrape`).
A value is multiplied by `scale` into its `unit`, then judged `at_most` or `at_least` a target (warn
beyond it) and an alert level (fail beyond it), aggregated over the judged window, and/or by its
`drift` (growth per 10 minutes over the longest steady stage, after warm-up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from swarmgate.core.config import IDENTIFIER, MAX_ITEMS, number_within, parse_duration, printable

KEYS = ("name", "unit", "scale", "query", "scrape", "at_most", "at_least", "drift", "aggregate")
SCRAPE_KINDS = ("gauge", "rate", "histogram")
SCRAPE_KEYS = (*SCRAPE_KINDS, "divide_by", "quantile", "labels")
AGGREGATES = ("mean", "median", "p95", "max", "min")
METRIC_NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]{0,199}$")  # Prometheus' metric-name syntax
MAX_VALUE = 1e15  # any level in any unit; beyond it is a typo
MAX_QUERY_CHARS = 4096
MAX_UNIT_CHARS = 16


@dataclass(frozen=True)
class Levels:
    target: float
    alert: float
    abort_after_s: float | None = None  # a gate (scraped metrics): beyond alert this long stops the run


@dataclass(frozen=True)
class Scrape:
    """How a value is derived from one `/metrics` page and the pages of the seconds before it.

    kind "gauge": the metric's value; "rate": its increase per second (a counter); "histogram": the
    `quantile` of the observations in the window (its `_bucket` series). `divide_by` makes a ratio of
    two gauges or of two counters' rates (e.g. cache hits / lookups). Series are summed over labels,
    after keeping those whose labels include `labels`.
    """

    kind: str
    metric: str
    divide_by: str | None = None
    quantile: float | None = None
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServerRule:
    name: str
    unit: str
    scale: float
    query: str | None
    scrape: Scrape | None
    at_most: Levels | None
    at_least: Levels | None
    drift: Levels | None  # at most this growth (in `unit`) per 10 minutes
    aggregate: str

    @property
    def levels(self) -> Levels | None:
        return self.at_most or self.at_least


def status_of(actual: float, levels: Levels, at_least: bool) -> str:
    if at_least:
        return "fail" if actual < levels.alert else "warn" if actual < levels.target else "pass"
    return "fail" if actual > levels.alert else "warn" if actual > levels.target else "pass"


def _levels(value: object, where: str, at_least: bool, problems: list[str], gate: bool = True) -> Levels | None:
    if value is None:
        return None
    keys = {"target", "alert", "abort_after"} if gate else {"target", "alert"}
    given = isinstance(value, dict)
    numbers = [number_within(value.get(k), 0, MAX_VALUE) for k in ("target", "alert")] if given else []
    if not given or not {"target", "alert"} <= set(value) <= keys or None in numbers:
        more = ' (and optionally abort_after = "30s")' if gate else ""
        problems.append(f"{where}: write {{ target = N, alert = M }} with numbers from 0 to {MAX_VALUE:g}{more}")
        return None
    abort_after = None
    if "abort_after" in value:
        try:
            abort_after = parse_duration(value["abort_after"])
        except ValueError as problem:
            problems.append(f"{where}.abort_after: {problem}")
            return None
    levels = Levels(float(value["target"]), float(value["alert"]), abort_after)
    if (at_least and levels.alert > levels.target) or (not at_least and levels.alert < levels.target):
        problems.append(f"{where}: the alert level must be {'at or below' if at_least else 'at or beyond'} the target")
        return None
    return levels


def _metric_name(value: object, where: str, problems: list[str]) -> str | None:
    if isinstance(value, str) and METRIC_NAME.match(value):
        return value
    problems.append(f"{where}: must be a Prometheus metric name such as process_cpu_seconds_total")
    return None


def _scrape(value: object, where: str, problems: list[str]) -> Scrape | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(f'{where}: must be a table such as {{ rate = "process_cpu_seconds_total" }}')
        return None
    unknown = [k for k in value if k not in SCRAPE_KEYS]
    kinds = [k for k in SCRAPE_KINDS if k in value]
    if unknown or len(kinds) != 1:
        extra = f"; unknown: {printable(', '.join(unknown))}" if unknown else ""
        problems.append(f"{where}: give exactly one of {', '.join(SCRAPE_KINDS)} (and optionally divide_by, "
                        f"quantile, labels){extra}")  # fmt: skip
        return None
    kind = kinds[0]
    metric = _metric_name(value[kind], f"{where}.{kind}", problems)
    divide_by = _metric_name(value["divide_by"], f"{where}.divide_by", problems) if "divide_by" in value else None
    quantile = None
    if kind == "histogram":
        quantile = number_within(value.get("quantile"), 0, 1, low_open=True)
        if quantile is None or quantile >= 1 or "divide_by" in value:
            problems.append(f"{where}: a histogram needs quantile = Q between 0 and 1 (e.g. 0.95) and no divide_by")
            return None
    elif "quantile" in value:
        problems.append(f"{where}.quantile: only for a histogram")
        return None
    labels = value.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        problems.append(f'{where}.labels: must be a table of label = "value"')
        return None
    if metric is None or ("divide_by" in value and divide_by is None):
        return None
    return Scrape(kind, metric, divide_by, quantile, tuple(sorted(labels.items())))


def _text(table: dict, key: str, where: str, limit: int, problems: list[str]) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit or not value.isprintable():
        problems.append(f"{where}.{key}: must be one line of text of at most {limit} characters")
        return None
    return value


def _rule(table: object, index: int, problems: list[str]) -> ServerRule | None:
    where = f"server[{index}]"
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a [[server]] table")
        return None
    name = table.get("name")
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        problems.append(f'{where}: needs name = "a_label" (letters, digits, _ . -)')
        return None
    where = f"server.{name}"
    count = len(problems)
    problems += [f"{where}.{printable(key)}: unknown key (known: {', '.join(KEYS)})" for key in table
                 if key not in KEYS]  # fmt: skip
    scale = number_within(table.get("scale", 1.0), 0, MAX_VALUE, low_open=True)
    if scale is None:
        problems.append(f"{where}.scale: must be a number above 0 (e.g. 100 for a ratio in %, 1000 for s in ms)")
    aggregate = table.get("aggregate", "mean")
    if aggregate not in AGGREGATES:
        problems.append(f"{where}.aggregate: must be one of {', '.join(AGGREGATES)}")
    query = _text(table, "query", where, MAX_QUERY_CHARS, problems)
    scrape = _scrape(table.get("scrape"), f"{where}.scrape", problems)
    if "query" not in table and "scrape" not in table:
        problems.append(f"{where}: needs query = 'PromQL' (for --prometheus) and/or scrape = {{ ... }} (for --scrape)")
    at_most = _levels(table.get("at_most"), f"{where}.at_most", False, problems)
    at_least = _levels(table.get("at_least"), f"{where}.at_least", True, problems)
    drift = _levels(table.get("drift"), f"{where}.drift", False, problems, gate=False)
    if "at_most" in table and "at_least" in table:
        problems.append(f"{where}: give at_most or at_least, not both")
    if not any(key in table for key in ("at_most", "at_least", "drift")):
        problems.append(f"{where}: needs at_most, at_least or drift = {{ target = N, alert = M }}")
    unit = _text(table, "unit", where, MAX_UNIT_CHARS, problems) or ""
    if len(problems) > count:
        return None
    return ServerRule(name, unit, scale, query, scrape, at_most, at_least, drift, aggregate)


def server_rules(value: object, problems: list[str]) -> tuple[ServerRule, ...]:
    """The `[[server]]` tables, validated; each problem appended to `problems` (file-level reporting)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("server: must be a list of [[server]] tables")
        return ()
    if len(value) > MAX_ITEMS:
        problems.append(f"server: {len(value):,} tables; at most {MAX_ITEMS}")
        return ()
    rules = [rule for index, table in enumerate(value, 1) if (rule := _rule(table, index, problems))]
    names = [rule.name for rule in rules]
    problems += [f"server.{name}: the name is used twice" for name in sorted({n for n in names if names.count(n) > 1})]
    return tuple(rules)
