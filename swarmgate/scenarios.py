"""Scenario files (NAME.toml): who the users are, and the stage plan that drives them.

A name is looked up in ./scenarios/ first, then among the packaged scenarios; a path to a .toml
file is read as given.

Validated on load into a frozen model: unknown keys and bad values are refused with the file, the
key and a hint, all problems of a file in one line, exit 2. Which user classes run is settled once
the locustfile is known (`with_users`): the demo's four users, or the classes of the team's own
locustfile (`--locustfile`, or the scenario's `locustfile` key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from swarmgate.core import plan as plans
from swarmgate.core.config import (
    IDENTIFIER,
    MAX_ARRIVAL_RATE,
    MAX_DURATION_S,
    MAX_ITEMS,
    MAX_MS,
    MAX_SPAWN_RATE,
    MAX_TAGS,
    MAX_USERS,
    number_within,
    parse_duration,
    printable,
    read_toml,
    shown,
    whole_within,
)
from swarmgate.core.defaults import packaged, scenario_dirs
from swarmgate.core.errors import BadInput
from swarmgate.core.plan import Capacity, Stage
from swarmgate.fault_config import FAULT_EXAMPLE, MAX_FAULTS, FaultPhase, faults_of, past_the_plan

USER_CLASSES = ("BaselineUser", "PeakUser", "AdminUser", "StressTestUser")
STAGES_EXAMPLE = "[{duration = '2m', users = 50}]"
DEFAULT_MIX = {"BaselineUser": 70, "PeakUser": 20, "AdminUser": 10}
TOP_KEYS = {"description", "sla", "mix", "tags", "exclude_tags", "shape", "arrival_rate", "locustfile", "faults"}
SHAPE_KEYS = {
    "constant": {"users", "duration", "spawn_rate"},
    "step": {"steps", "step_duration", "spawn_rate"},
    "spike": {"base_users", "spike_users", "base_duration", "spike_duration", "recover_duration", "spawn_rate"},
    "ramp": {"stages", "start_users"},
    "stages": {"stages"},
    "capacity": {"start_users", "step_users", "max_users", "step_duration", "spawn_rate", "breach_p95_ms",
                 "breach_error_ratio"},
}  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    name: str
    plan: tuple[Stage, ...]
    kind: str = "constant"
    mix: dict[str, int] = field(default_factory=dict)
    description: str = ""
    sla: str | None = None
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    arrival_rate: float | None = None
    capacity: Capacity | None = None
    time_scale: float = 1.0
    path: Path | None = None
    locustfile: Path | None = None  # the scenario's own `locustfile` key, resolved against the file's folder
    packaged: bool = False  # one of swarmgate's scenarios: its [mix] names the demo's users
    faults: tuple[FaultPhase, ...] = ()  # [[faults]]: fault phases on the run's clock

    @property
    def duration_s(self) -> float:
        return plans.total_duration(list(self.plan))

    @property
    def users(self) -> int:
        return max(stage.users for stage in self.plan)

    @property
    def user_classes(self) -> list[str]:
        return [name for name, weight in self.mix.items() if weight > 0]

    def scaled(self, factor: float) -> Scenario:
        """The same scenario with every duration multiplied by factor (for CI and trying things out)."""
        return replace(self, plan=tuple(plans.scaled(list(self.plan), factor)), time_scale=self.time_scale * factor,
                       faults=tuple(fault.scaled(factor) for fault in self.faults))  # fmt: skip

    def check_faults_fit(self) -> None:
        """Once time-scaled: every fault's end plus its recovery hold (not scaled) inside the plan, else bad input."""
        for fault in self.faults:
            late = past_the_plan(fault, self.duration_s)
            if late:
                raise BadInput(f"{self.path}: {late} (with --time-scale {self.time_scale:g})")

    def mix_option(self) -> str:
        return ",".join(f"{name}={weight}" for name, weight in self.mix.items() if weight > 0)


class Fields:
    """Reads one TOML table, collecting every problem instead of stopping at the first."""

    def __init__(self, table: dict, where: str, problems: list[str]) -> None:
        self.table, self.where, self.problems = table, where, problems

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.where}{key}: {text}")

    def unknown(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                self.problem(printable(key), f"unknown key (known here: {', '.join(sorted(allowed))})")

    def count(self, key: str, default: Any = None, minimum: int = 1, maximum: int = MAX_USERS) -> int:
        value = whole_within(self.table.get(key, default), minimum, maximum)
        if value is None:
            self.problem(
                key, f"must be a whole number from {minimum} to {maximum:,}, got {shown(self.table.get(key, default))}"
            )
            return max(minimum, 1)
        return value

    def number(self, key: str, default: Any = None, upper: float = MAX_SPAWN_RATE) -> float:
        value = number_within(self.table.get(key, default), 0, upper, low_open=True)
        if value is None:
            self.problem(
                key, f"must be a number more than 0 and at most {upper:g}, got {shown(self.table.get(key, default))}"
            )
            return 1.0
        return value

    def duration(self, key: str, default: Any = None) -> float:
        try:
            return parse_duration(self.table.get(key, default))
        except ValueError as exc:
            self.problem(key, str(exc))
            return 1.0

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, got {shown(value)}")
            return default
        return value

    def counts(self, key: str) -> list[int]:
        value = self.table.get(key)
        if (not isinstance(value, list) or not value or len(value) > MAX_ITEMS
                or any(whole_within(v, 1, MAX_USERS) is None for v in value)):  # fmt: skip
            self.problem(key, f"must be a list of 1 to {MAX_ITEMS} user counts from 1 to {MAX_USERS:,}, e.g. "
                              f"[5, 20, 50], got {shown(value)}")  # fmt: skip
            return [1]
        return value

    def tables(
        self, key: str, maximum: int = MAX_ITEMS, example: str = "[{duration = '2m', users = 50}]"
    ) -> list[Fields]:
        value = self.table.get(key)
        if (
            not isinstance(value, list)
            or not value
            or len(value) > maximum
            or not all(isinstance(v, dict) for v in value)
        ):
            self.problem(key, f"must be a list of 1 to {maximum} tables, e.g. {example}")
            return []
        return [Fields(item, f"{self.where}{key}[{i}].", self.problems) for i, item in enumerate(value)]

    def names(self, key: str) -> tuple[str, ...]:
        """A list of tags: identifiers (letters, digits, _ . -, not starting with - or .), at most MAX_TAGS."""
        value = self.table.get(key, [])
        if (not isinstance(value, list) or len(value) > MAX_TAGS
                or not all(isinstance(v, str) and IDENTIFIER.match(v) for v in value)):  # fmt: skip
            self.problem(key, f"must be a list of at most {MAX_TAGS} tag names (letters, digits, _ . -, starting "
                              f"with a letter, digit or _; up to 64 characters), got {shown(value)}")  # fmt: skip
            return ()
        return tuple(value)


def build_plan(shape: Fields, kind: str) -> tuple[list[Stage], Capacity | None]:
    shape.unknown(SHAPE_KEYS[kind] | {"kind"})
    rate = shape.number("spawn_rate", 10) if "spawn_rate" in SHAPE_KEYS[kind] else 0.0
    if kind == "constant":
        return plans.constant(shape.count("users"), shape.duration("duration"), rate), None
    if kind == "step":
        return plans.steps(shape.counts("steps"), shape.duration("step_duration"), rate), None
    if kind == "spike":
        users = shape.count("base_users"), shape.count("spike_users")
        phases = shape.duration("base_duration"), shape.duration("spike_duration"), shape.duration("recover_duration")
        return plans.spike(*users, *phases, rate), None
    if kind == "ramp":
        targets = []
        for stage in shape.tables("stages"):
            stage.unknown({"duration", "users"})
            targets.append((stage.duration("duration"), stage.count("users", minimum=0)))
        if targets and all(users == 0 for _, users in targets):
            shape.problem("stages", "every stage has 0 users; nothing would run")
        return plans.linear(targets, shape.count("start_users", 0, minimum=0)), None
    if kind == "stages":
        return [stage_of(stage, index) for index, stage in enumerate(shape.tables("stages"), 1)], None
    start, step, most = shape.count("start_users"), shape.count("step_users"), shape.count("max_users")
    if most < start:
        shape.problem("max_users", f"must be at least start_users ({start})")
    elif (most - start) // step + 1 > MAX_ITEMS:
        shape.problem(
            "max_users", f"gives {(most - start) // step + 1:,} steps; at most {MAX_ITEMS} (raise step_users)"
        )
        most = start
    capacity = Capacity(shape.number("breach_p95_ms", 500.0, upper=MAX_MS),
                        shape.number("breach_error_ratio", 0.01, upper=1))  # fmt: skip
    return plans.steps(list(range(start, most + 1, step)), shape.duration("step_duration"), rate), capacity


def stage_of(stage: Fields, index: int) -> Stage:
    """One [[shape.stages]] table of a `stages` plan."""
    stage.unknown({"name", "duration", "users", "spawn_rate", "steady", "mix"})
    mix = stage.table.get("mix", [])
    if not isinstance(mix, list) or len(mix) > MAX_ITEMS or not all(is_class_name(name) for name in mix):
        stage.problem("mix", f'must be a list of user class names, e.g. ["BaselineUser"], got {shown(mix)}')
        mix = []
    name = stage.table.get("name", f"stage-{index}")
    if not isinstance(name, str) or not 0 < len(name) <= 100 or not name.isprintable():
        stage.problem("name", f"must be one line of 1 to 100 printable characters, got {shown(name)}")
        name = f"stage-{index}"
    return Stage(name, stage.duration("duration"), stage.count("users"), stage.number("spawn_rate", 10),
                 stage.flag("steady", True), tuple(mix))  # fmt: skip


def scenario_path(name_or_path: str, directories: list[Path] | None = None) -> Path:
    """A scenario by name (NAME.toml in ./scenarios, else packaged) or by the path of a .toml file."""
    if name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        if not path.is_file():
            raise BadInput(f"scenario file {printable(path, 300)}: not found; give a path to a .toml file or a name")
        return path
    directories = scenario_dirs() if directories is None else directories
    if re.fullmatch(r"[A-Za-z0-9_-]+", name_or_path):
        for directory in directories:
            if (directory / f"{name_or_path}.toml").is_file():
                return directory / f"{name_or_path}.toml"
    known = ", ".join(sorted({p.stem for d in directories for p in d.glob("*.toml")})) or "none"
    raise BadInput(f"scenario {name_or_path!r}: no file {name_or_path}.toml in ./scenarios or the packaged "
                   f"scenarios; known scenarios: {known}")  # fmt: skip


def load_scenario(name_or_path: str, directories: list[Path] | None = None) -> Scenario:
    """Read and validate a scenario file; every problem of the file in one BadInput line."""
    path = scenario_path(name_or_path, directories)
    raw = read_toml(path, "scenario file", "give a scenario file, e.g. one of the packaged scenarios")
    problems: list[str] = []
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", path.stem):
        problems.append(f"file name: {shown(path.stem)} is not a scenario name (letters, digits, - and _, it names "
                        "the results folder); rename the file")  # fmt: skip
    top = Fields(raw, "", problems)
    top.unknown(TOP_KEYS)
    plan, capacity, kind = shape_of(raw, problems)
    mix = mix_of(raw, problems)
    arrival_rate = top.number("arrival_rate", upper=MAX_ARRIVAL_RATE) if "arrival_rate" in raw else None
    tags, exclude_tags = top.names("tags"), top.names("exclude_tags")
    description, sla = raw.get("description", ""), raw.get("sla")
    if not isinstance(description, str) or len(description) > 10_000:
        problems.append("description: must be a text of at most 10,000 characters")
    if sla is not None and not (isinstance(sla, str) and IDENTIFIER.match(sla)):
        problems.append(f'sla: must be the name of an SLA profile, e.g. "peak", got {shown(sla)}')
    if sum(stage.duration_s for stage in plan) > MAX_DURATION_S:
        problems.append("shape: the plan lasts more than 30 days; shorten it")
    if any(stage.spawn_rate > MAX_SPAWN_RATE for stage in plan):
        problems.append(f"shape: a ramp would start more than {MAX_SPAWN_RATE:g} users per second; make it longer")
    if mix:
        classes = {name for name, weight in mix.items() if weight}
        stray = sorted({name for stage in plan for name in stage.user_classes} - classes)
        if stray:
            problems.append(f"shape.stages: mix names {', '.join(stray)}, which [mix] does not run; add it to [mix]")
    locustfile = locustfile_of(raw, path, problems)
    faults = faults_of(top.tables("faults", MAX_FAULTS, FAULT_EXAMPLE), plan) if "faults" in raw else ()
    if problems:
        raise BadInput(f"{path}: " + "; ".join(problems))
    return Scenario(name=path.stem, plan=tuple(plan), kind=kind, mix=mix, description=description, sla=sla,
                    tags=tags, exclude_tags=exclude_tags, arrival_rate=arrival_rate, capacity=capacity,
                    path=path, locustfile=locustfile, packaged=is_packaged(path), faults=faults)  # fmt: skip


def is_packaged(path: Path) -> bool:
    return path.resolve().parent == packaged("scenarios").resolve()


def locustfile_of(raw: dict, path: Path, problems: list[str]) -> Path | None:
    """The `locustfile` key: a path relative to the scenario file's folder, to an existing .py file."""
    if "locustfile" not in raw:
        return None
    value = raw["locustfile"]
    if not isinstance(value, str) or not 0 < len(value) <= 1000 or not value.isprintable():
        problems.append(f'locustfile: must be the path of a file, e.g. "../locustfile.py", got {shown(value)}')
        return None
    found = (path.parent / value).resolve()
    if not found.is_file():
        problems.append(f"locustfile: {printable(found, 300)} does not exist (the path is relative to the scenario "
                        "file's folder)")  # fmt: skip
        return None
    return found


def shape_of(raw: dict, problems: list[str]) -> tuple[list[Stage], Capacity | None, str]:
    """The [shape] table: (plan, capacity search or None, kind)."""
    placeholder = [Stage("x", 1, 1, 1, True)]
    shape_table = raw.get("shape")
    if not isinstance(shape_table, dict):
        problems.append("shape: missing table [shape] with kind = " + " | ".join(SHAPE_KEYS))
        return placeholder, None, "constant"
    kind = shape_table.get("kind")
    if not isinstance(kind, str) or kind not in SHAPE_KEYS:
        problems.append(f"shape.kind: {shown(kind)} is not one of {', '.join(SHAPE_KEYS)}")
        return placeholder, None, "constant"
    plan, capacity = build_plan(Fields(shape_table, "shape.", problems), kind)
    return plan or placeholder, capacity, kind


def is_class_name(name: object) -> bool:
    return isinstance(name, str) and name.isidentifier() and len(name) <= 200


def mix_of(raw: dict, problems: list[str]) -> dict[str, int]:
    """The [mix] table: user class = weight; {} when absent (the locustfile's own classes and weights)."""
    mix = raw.get("mix", {})
    if not isinstance(mix, dict) or ("mix" in raw and not mix) or len(mix) > MAX_ITEMS:
        problems.append("mix: must be a table of user class = weight")
        return {}
    for cls, weight in mix.items():
        if not is_class_name(cls):
            problems.append(f"mix.{printable(cls)}: not a user class name (a Python class name)")
        if whole_within(weight, 0, 1_000_000) is None:
            problems.append(f"mix.{printable(cls)}: weight must be a whole number from 0 to 1,000,000, "
                            f"got {shown(weight)}")  # fmt: skip
    if mix and not any(whole_within(w, 1, 1_000_000) for w in mix.values()):
        problems.append("mix: at least one user class needs a weight above 0")
    return dict(mix)


def with_users(scenario: Scenario, locustfile: Path, classes: dict[str, int] | None) -> Scenario:
    """The scenario bound to the locustfile it runs: its mixes name only classes that file runs.

    classes: the locustfile's user classes and weights, or None for swarmgate's demo locustfile (its four
    users; a scenario without [mix] runs DEFAULT_MIX there). A scenario without [mix] runs every class of
    a team's file with the file's own weights; so does a packaged scenario whose [mix] names the demo's
    users when the file lacks them. Binding a bound scenario again changes nothing.
    """
    where = f"{scenario.path or scenario.name}: "
    known = dict.fromkeys(USER_CLASSES, 1) if classes is None else classes
    named = set(scenario.mix) | {name for stage in scenario.plan for name in stage.user_classes}
    plan = scenario.plan
    if classes is not None and scenario.packaged and not named <= set(known):
        mix, plan = dict(known), tuple(replace(stage, user_classes=()) for stage in plan)
    else:
        missing = sorted(named - set(known))
        if missing:
            raise BadInput(f"{where}mix names {', '.join(missing)}, which {printable(locustfile, 300)} does not "
                           f"define; its user classes: {', '.join(known) or 'none'}")  # fmt: skip
        mix = scenario.mix or (DEFAULT_MIX if classes is None else dict(known))
    idle = sorted({name for stage in plan for name in stage.user_classes} - {n for n, w in mix.items() if w > 0})
    if idle:
        raise BadInput(f"{where}shape.stages: mix names {', '.join(idle)}, which the run does not start (not in "
                       "[mix], or weight 0); add it to [mix] with a weight above 0")  # fmt: skip
    return replace(scenario, mix=dict(mix), plan=plan, locustfile=locustfile)
