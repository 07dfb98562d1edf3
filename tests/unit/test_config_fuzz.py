"""Hundreds of mutated scenario, SLA and weekly files per kind: each is refused in one line naming the
file (exit 2 through the CLI), or accepted with every value finite and within its limit. Never a
traceback, a hang or a silently wrong value."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swarmgate.analysis.sla import load_sla as load_sla_file
from swarmgate.analysis.sla import metric_bound
from swarmgate.core.config import IDENTIFIER, MAX_ARRIVAL_RATE, MAX_DURATION_S, MAX_MS, MAX_SPAWN_RATE, MAX_USERS
from swarmgate.core.defaults import packaged
from swarmgate.core.errors import BadInput
from swarmgate.scenarios import load_scenario
from swarmgate.weekly import load_config

SCENARIOS = sorted(packaged("scenarios").glob("*.toml"))
EXAMPLES = 200  # per kind of file

hostile_scalar = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, -1, 1, 2**63, 10**401, 0.0, -0.0, 1e308, float("inf"), float("-inf"), float("nan")]),
    st.booleans(),
    st.sampled_from(["", "--host=http://127.0.0.2:18602", "-x", "...", "inf", "nan", "10s", "0s", "-5m", "1h", "𝔰"]),
    st.text(max_size=12),
)
plausible = st.one_of(st.integers(1, 200), st.floats(0.01, 500), st.sampled_from(["30s", "2m", "1h", "read", "peak"]))
hostile = st.recursive(hostile_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                       st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)  # fmt: skip


def paths(document: object, prefix: tuple = ()) -> list[tuple]:
    """Every place in a parsed TOML document a value sits (tables and list items included)."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw, documents: list[dict]) -> dict:
    """A valid document with one to three places replaced, removed, or given an unknown key."""
    document = tomllib.loads(tomli_w.dumps(draw(st.sampled_from(documents))))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(document) or [("extra",)]))
        parent = document
        for step in where[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "remove" and isinstance(parent, dict):
            parent.pop(where[-1], None)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(hostile)
        else:
            parent[where[-1]] = draw(st.one_of(plausible, hostile))
    return document


def write(tmp_path: Path, name: str, document: dict) -> Path | None:
    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError):  # e.g. NaN inside an array of tables: not writable as TOML
        return None
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused_in_one_line(error: BadInput, path: Path) -> None:
    assert "\n" not in error.message and str(path) in error.message and len(error.message) < 10_000


def loaded(tmp_path: Path, name: str, document: dict, load) -> object | None:
    """What `load` makes of the document written as a file; None when it was refused (in one line)."""
    path = write(tmp_path, name, document)
    if path is None:
        return None
    try:
        return load(path)
    except BadInput as error:
        refused_in_one_line(error, path)
        return None


def finite_between(value: float, low: float, high: float) -> bool:
    return math.isfinite(value) and low <= value <= high


FUZZ = settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow], derandomize=True)  # fmt: skip


@FUZZ
@given(document=mutated([tomllib.loads(p.read_text()) for p in SCENARIOS]))
def test_mutated_scenarios_are_refused_or_sound(tmp_path, document):
    scenario = loaded(tmp_path, "fuzzed.toml", document, lambda path: load_scenario(str(path)))
    if scenario is None:
        return
    assert scenario.plan and scenario.duration_s <= MAX_DURATION_S
    for stage in scenario.plan:
        assert finite_between(stage.duration_s, 1e-9, MAX_DURATION_S)
        assert isinstance(stage.users, int) and 0 <= stage.users <= MAX_USERS
        assert finite_between(stage.spawn_rate, 1e-9, MAX_SPAWN_RATE * MAX_DURATION_S)
        assert isinstance(stage.steady, bool)
    assert scenario.arrival_rate is None or finite_between(scenario.arrival_rate, 1e-9, MAX_ARRIVAL_RATE)
    if scenario.capacity is not None:
        assert finite_between(scenario.capacity.breach_p95_ms, 1e-9, MAX_MS)
        assert finite_between(scenario.capacity.breach_error_ratio, 1e-9, 1)
    assert all(IDENTIFIER.match(tag) for tag in (*scenario.tags, *scenario.exclude_tags))
    assert all(name.isidentifier() for name in scenario.mix)
    assert all(name.isidentifier() for stage in scenario.plan for name in stage.user_classes)
    assert scenario.sla is None or IDENTIFIER.match(scenario.sla)


@FUZZ
@given(document=mutated([tomllib.loads(packaged("sla.toml").read_text())]))
def test_mutated_sla_tables_are_refused_or_sound(tmp_path, document):
    sla = loaded(tmp_path, "sla.toml", document, load_sla_file)
    if sla is None:
        return
    assert finite_between(sla.apdex_t_ms, 1e-9, MAX_MS) and finite_between(sla.slow_ms, 1e-9, MAX_MS)
    tables = [sla.defaults, *sla.scenarios.values(), *(rule.thresholds for rule in sla.endpoints)]
    for table in tables:
        for metric, level in table.items():
            assert finite_between(level.target, 0, metric_bound(metric)), (metric, level)
            assert finite_between(level.alert, 0, metric_bound(metric)), (metric, level)
    for rule in sla.endpoints:
        assert isinstance(rule.name, str) and (rule.method is None or isinstance(rule.method, str))
    rules = sla.regression
    assert all(math.isfinite(getattr(rules, f)) for f in rules.__dataclass_fields__) and 0 <= rules.p_value <= 1
    assert finite_between(sla.drift_memory.target, 0, MAX_MS) and finite_between(sla.drift_memory.alert, 0, MAX_MS)


WEEKLY = {"scenarios": ["baseline", "peak"], "time_scale": 0.5, "host": "http://127.0.0.1:8000", "workers": 2,
          "retention": {"keep_runs": 12, "keep_days": 90}}  # fmt: skip


@FUZZ
@given(document=mutated([tomllib.loads(packaged("weekly.toml").read_text()), WEEKLY]))
def test_mutated_weekly_configs_are_refused_or_sound(tmp_path, document):
    config = loaded(tmp_path, "weekly.toml", document, load_config)
    if config is None:
        return
    assert config.scenarios and all(isinstance(s, str) and s for s in config.scenarios)
    assert finite_between(config.time_scale, 0.001, 100) and 0 <= config.workers <= 64
    assert config.host is None or config.host.startswith(("http://", "https://"))
    assert config.keep_runs >= 1 and finite_between(config.keep_days, 0, 36_500)


def test_the_mutations_reach_every_key_of_every_kind():
    """The fuzzing is not vacuous: each base file has many places to mutate."""
    assert len(SCENARIOS) >= 9
    assert all(len(paths(tomllib.loads(p.read_text()))) >= 5 for p in SCENARIOS)
    assert len(paths(tomllib.loads(packaged("sla.toml").read_text()))) >= 20
    assert len(paths(WEEKLY)) >= 7


@pytest.mark.parametrize("depth", [50, 5000])
def test_deeply_nested_arrays_are_refused_in_one_line(tmp_path, depth):
    for name, load in (("s.toml", lambda p: load_scenario(str(p))), ("sla.toml", load_sla_file),
                       ("weekly.toml", load_config)):  # fmt: skip
        path = tmp_path / name
        path.write_text("tags = " + "[" * depth + "]" * depth + "\n")
        with pytest.raises(BadInput) as error:
            load(path)
        refused_in_one_line(error.value, path)
