"""SLA tables (TOML) and the checks they give: pass, warn (beyond target) or fail (beyond alert).

Loaded into frozen data, validated with every problem reported at once. A run is judged by the
defaults, then its scenario's profile, then endpoint overrides (the later wins per metric).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swarmgate.analysis.checks import Check, check
from swarmgate.analysis.resilience_rules import ResilienceRules, resilience_rules
from swarmgate.analysis.rules import Rules
from swarmgate.analysis.server_rules import ServerRule, server_rules
from swarmgate.core.config import MAX_ITEMS, MAX_MS, MAX_RPS, number_within, parse_duration, printable, read_toml
from swarmgate.core.errors import InputError

AT_MOST = ("p50_ms", "p75_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "error_ratio", "slow_ratio")
AT_LEAST = ("min_rps", "apdex", "uptime_ratio")
METRICS = AT_MOST + AT_LEAST
JOURNEY_METRICS = ("completion_ratio", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")
AT_LEAST_ANY = AT_LEAST + ("completion_ratio",)  # every metric judged "at least", journeys' included
WHOLE_RUN_ONLY = ("min_rps",)
DRIFT_METRICS = ("target_rss_mb_per_10min",)  # at most, like every metric not in AT_LEAST
LEVEL_KEYS = {"target", "alert", "abort_after", "abort_during"}
TOP_KEYS = ("apdex_t_ms", "slow_ms", "defaults", "scenarios", "endpoints", "journeys", "regression", "drift",
            "server", "resilience")  # fmt: skip


ABORT_DURING = ("steady", "all")


@dataclass(frozen=True)
class Threshold:
    target: float
    alert: float
    abort_after_s: float | None = None  # a gate: beyond alert this long during a run stops it (None: no gate)
    abort_during: str = "steady"  # steady stages only, or "all" stages after the first


@dataclass(frozen=True)
class EndpointRule:
    method: str | None
    name: str
    thresholds: dict[str, Threshold]


@dataclass(frozen=True)
class JourneyRule:
    """A [[journeys]] table: levels for one journey by name ("*": every journey)."""

    name: str
    thresholds: dict[str, Threshold]


@dataclass(frozen=True)
class SlaConfig:
    path: Path
    apdex_t_ms: float
    slow_ms: float
    defaults: dict[str, Threshold]
    scenarios: dict[str, dict[str, Threshold]]
    endpoints: tuple[EndpointRule, ...]
    regression: Rules = Rules()
    drift_memory: Threshold = Threshold(50.0, 100.0)  # target RSS growth, MB per 10 min (the default bound)
    server: tuple[ServerRule, ...] = ()  # [[server]] tables: the target's own metrics (analysis/server_rules.py)
    resilience: ResilienceRules = ResilienceRules()  # [resilience]: fault phases (analysis/resilience_rules.py)
    journeys: tuple[JourneyRule, ...] = ()  # [[journeys]] tables, in file order (a later one wins per metric)

    def thresholds(self, profile: str | None, method: str, name: str) -> dict[str, Threshold]:
        merged = {**self.defaults, **self.scenarios.get(profile or "", {})}
        for rule in self.endpoints:
            if rule.name == name and rule.method in (None, method):
                merged.update(rule.thresholds)
        if name != "Aggregated" or method:
            merged = {k: v for k, v in merged.items() if k not in WHOLE_RUN_ONLY}
        return merged

    def journey_thresholds(self, name: str) -> dict[str, Threshold]:
        merged: dict[str, Threshold] = {}
        for rule in self.journeys:
            if rule.name in ("*", name):
                merged.update(rule.thresholds)
        return merged


def metric_bound(metric: str) -> float:
    """The largest level a metric can sensibly have: ratios 1, rates MAX_RPS, times an hour in ms."""
    if metric in ("error_ratio", "slow_ratio", "apdex", "uptime_ratio", "completion_ratio"):
        return 1.0
    return MAX_RPS if metric == "min_rps" else MAX_MS


def _thresholds(
    table: dict,
    where: str,
    problems: list[str],
    skip: tuple[str, ...] = (),
    known: tuple[str, ...] = METRICS,
    gates: bool = True,
) -> dict[str, Threshold]:
    found = {}
    for metric, value in table.items():
        if metric in skip:
            continue
        if metric not in known:
            problems.append(f"{where}{printable(metric)}: unknown metric (known: {', '.join(known)})")
            continue
        high = metric_bound(metric)
        levels = [number_within(value.get(k), 0, high) for k in ("target", "alert")] if isinstance(value, dict) else []
        if not isinstance(value, dict) or not {"target", "alert"} <= set(value) <= LEVEL_KEYS or None in levels:
            problems.append(f"{where}{metric}: write {{ target = N, alert = M }} with numbers from 0 to {high:g} "
                            '(and optionally abort_after = "30s")')  # fmt: skip
            continue
        target, alert = levels
        if (metric not in AT_LEAST_ANY and alert < target) or (metric in AT_LEAST_ANY and alert > target):
            side = "at or below" if metric in AT_LEAST_ANY else "at or beyond"
            problems.append(f"{where}{metric}: the alert level must be {side} the target")
            continue
        if not gates and ("abort_after" in value or "abort_during" in value):
            problems.append(f"{where}{metric}: judged after the run only; it takes no abort_after")
            continue
        gate = _gate(value, f"{where}{metric}", problems)
        if gate is not None:
            found[metric] = Threshold(target, alert, *gate)
    return found


def _gate(value: dict, where: str, problems: list[str]) -> tuple[float | None, str] | None:
    """(abort_after_s, abort_during) of one threshold; None when either is wrong (the problem is noted)."""
    after = value.get("abort_after")
    during = value.get("abort_during", "steady")
    if during not in ABORT_DURING:
        problems.append(f'{where}.abort_during: must be "steady" (steady stages only) or "all" (after the first stage)')
        return None
    if after is None:
        if "abort_during" in value:
            problems.append(f'{where}.abort_during: only with abort_after = "30s" (it says when a gate judges)')
            return None
        return None, during
    try:
        seconds = parse_duration(after)
    except ValueError as problem:
        problems.append(f"{where}.abort_after: {problem}")
        return None
    return seconds, during


def _milliseconds(raw: dict, problems: list[str]) -> dict[str, float]:
    numbers = {}
    for key, default in (("apdex_t_ms", 500.0), ("slow_ms", 1000.0)):
        value = number_within(raw.get(key, default), 0, MAX_MS, low_open=True)
        if value is None:
            problems.append(f"{key}: must be a number of milliseconds above 0 and at most {MAX_MS:g}")
            value = default
        numbers[key] = value
    return numbers


def _table_at(value: object, where: str, hint: str, problems: list[str]) -> dict:
    if isinstance(value, dict):
        return value
    problems.append(f"{where}: must be a table ({hint})")
    return {}


def _endpoint_rules(raw: dict, problems: list[str]) -> tuple[EndpointRule, ...]:
    rules = []
    endpoint_rules = raw.get("endpoints", [])
    if not isinstance(endpoint_rules, list):
        problems.append("endpoints: must be a list of [[endpoints]] tables")
        endpoint_rules = []
    if len(endpoint_rules) > MAX_ITEMS:
        problems.append(f"endpoints: {len(endpoint_rules):,} rules; at most {MAX_ITEMS}")
        endpoint_rules = []
    for i, rule in enumerate(endpoint_rules, 1):
        if not isinstance(rule, dict) or not isinstance(rule.get("name"), str) or not rule["name"]:
            problems.append(f'endpoints[{i}]: needs name = "/path" (and optionally method = "GET")')
            continue
        if "method" in rule and not (isinstance(rule["method"], str) and rule["method"].isalpha()):
            problems.append(f'endpoints[{i}].method: must be an HTTP method such as "GET"')
            continue
        thresholds = _thresholds(rule, f"endpoints[{i}].", problems, skip=("name", "method"))
        rules.append(EndpointRule(rule.get("method"), rule["name"], thresholds))
    return tuple(rules)


def _journey_rules(raw: dict, problems: list[str]) -> tuple[JourneyRule, ...]:
    tables = raw.get("journeys", [])
    if not isinstance(tables, list) or len(tables) > MAX_ITEMS:
        problems.append(f"journeys: must be a list of at most {MAX_ITEMS} [[journeys]] tables")
        return ()
    rules = []
    for i, table in enumerate(tables, 1):
        if not isinstance(table, dict) or not isinstance(table.get("name"), str) or not table["name"].strip():
            problems.append(f'journeys[{i}]: needs name = "run workflow" (a journey\'s name, or "*" for every one)')
            continue
        thresholds = _thresholds(table, f"journeys[{i}].", problems, skip=("name",), known=JOURNEY_METRICS)
        rules.append(JourneyRule(table["name"], thresholds))
    return tuple(rules)


def _regression(raw: dict, problems: list[str]) -> Rules:
    regression = {}
    for key, value in _table_at(raw.get("regression", {}), "regression", "[regression]", problems).items():
        if key not in Rules.__dataclass_fields__:
            problems.append(
                f"regression.{printable(key)}: unknown key (known: {', '.join(Rules.__dataclass_fields__)})"
            )
        elif number_within(value, 0, 1.0 if key == "p_value" else 1e6) is None:
            problems.append(f"regression.{key}: must be a number from 0 to {1 if key == 'p_value' else 1e6:g}")
        else:
            regression[key] = float(value)
    return Rules(**regression)


def load_sla(path: Path | str) -> SlaConfig:
    """Read and validate an SLA file; every problem of the file in one InputError."""
    path = Path(path)
    raw = read_toml(path, "SLA file", "give an SLA file with --sla, or leave --sla out for the default")
    problems: list[str] = [f"{printable(key)}: unknown key (known: {', '.join(TOP_KEYS)})" for key in raw
                           if key not in TOP_KEYS]  # fmt: skip
    numbers = _milliseconds(raw, problems)
    defaults = _thresholds(_table_at(raw.get("defaults", {}), "defaults", "[defaults]", problems), "defaults.",
                           problems)  # fmt: skip
    scenarios = {
        name: _thresholds(_table_at(table, f"scenarios.{printable(name)}", f"[scenarios.{printable(name)}]",
                                    problems), f"scenarios.{printable(name)}.", problems)
        for name, table in _table_at(raw.get("scenarios", {}), "scenarios", "[scenarios.NAME]", problems).items()
    }  # fmt: skip
    rules = _endpoint_rules(raw, problems)
    regression = _regression(raw, problems)
    drift = _thresholds(_table_at(raw.get("drift", {}), "drift", "[drift]", problems), "drift.", problems,
                        known=DRIFT_METRICS, gates=False)  # fmt: skip
    memory = drift.get("target_rss_mb_per_10min", Threshold(50.0, 100.0))
    server = server_rules(raw.get("server"), problems)
    resilience = resilience_rules(raw.get("resilience"), problems)
    journeys = _journey_rules(raw, problems)
    if problems:
        raise InputError(path, "; ".join(problems), "see docs/configuration.md (SLA tables)")
    return SlaConfig(path, numbers["apdex_t_ms"], numbers["slow_ms"], defaults, scenarios, rules, regression,
                     memory, server, resilience, journeys)  # fmt: skip


def status_of(metric: str, actual: float, threshold: Threshold) -> str:
    if metric in AT_LEAST_ANY:
        return "fail" if actual < threshold.alert else "warn" if actual < threshold.target else "pass"
    return "fail" if actual > threshold.alert else "warn" if actual > threshold.target else "pass"


def sla_checks(rows: list[dict], config: SlaConfig, profile: str | None, over: str) -> list[Check]:
    """One check per endpoint row and metric that has a threshold; metrics the input lacks are skipped."""
    checks = []
    for row in rows:
        if not row["requests"]:
            continue
        for metric, threshold in config.thresholds(profile, row["method"], row["name"]).items():
            actual = row.get("rps" if metric == "min_rps" else metric)
            if actual is None:
                continue
            status = status_of(metric, actual, threshold)
            word = {"pass": "within target", "warn": "beyond target", "fail": "beyond alert level"}[status]
            message = (f"{row['method'] + ' ' if row['method'] else ''}{row['name']} {metric} {actual:g} "
                       f"is {word} ({threshold.target:g} / {threshold.alert:g}) over {over}")  # fmt: skip
            checks.append(check("sla", status, message, method=row["method"], endpoint=row["name"], metric=metric,
                                actual=actual, target=threshold.target, alert=threshold.alert))  # fmt: skip
    return checks
