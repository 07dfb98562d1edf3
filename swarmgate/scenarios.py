"""Scenario files (NAME.toml): who the users are, and the stage plan that drives them.

A name is looked up in ./scenarios/ first, then among the packaged scenarios; a path to a .toml
file is read as given.

Validated on load into a frozen model: unknown keys, bad values and unknown user classes are
refused with the file, the key and a hint, all problems of a file in one line, exit 2.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from swarmgate.core import plan as plans
from swarmgate.core.defaults import scenario_dirs
from swarmgate.core.errors import BadInput
from swarmgate.core.plan import Capacity, Stage

USER_CLASSES = ("BaselineUser", "PeakUser", "AdminUser", "StressTestUser")
DEFAULT_MIX = {"BaselineUser": 70, "PeakUser": 20, "AdminUser": 10}
TOP_KEYS = {"description", "sla", "mix", "tags", "exclude_tags", "shape", "arrival_rate"}
SHAPE_KEYS = {
    "constant": {"users", "duration", "spawn_rate"},
    "step": {"steps", "step_duration", "spawn_rate"},
    "spike": {"base_users", "spike_users", "base_duration", "spike_duration", "recover_duration", "spawn_rate"},
    "ramp": {"stages", "start_users"},
    "stages": {"stages"},
    "capacity": {"start_users", "step_users", "max_users", "step_duration", "spawn_rate", "breach_p95_ms",
                 "breach_error_ratio"},
}  # fmt: skip
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(value: object) -> float:
    """'90s', '5m', '1h30m' or a number of seconds -> seconds (> 0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and (m := _DURATION.match(value.strip())):
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    else:
        raise ValueError(f"{value!r} is not a duration; write e.g. '30s', '5m' or '1h30m'")
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be more than 0")
    return seconds


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
        return replace(self, plan=tuple(plans.scaled(list(self.plan), factor)), time_scale=self.time_scale * factor)

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
                self.problem(key, f"unknown key (known here: {', '.join(sorted(allowed))})")

    def count(self, key: str, default: Any = None, minimum: int = 1) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(key, f"must be a whole number of at least {minimum}, got {value!r}")
            return max(minimum, 1)
        return value

    def number(self, key: str, default: Any = None, upper: float | None = None) -> float:
        value = self.table.get(key, default)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        if not ok or (upper is not None and value > upper):
            bound = f"between 0 and {upper:g}" if upper is not None else "more than 0"
            self.problem(key, f"must be a number {bound}, got {value!r}")
            return 1.0
        return float(value)

    def duration(self, key: str, default: Any = None) -> float:
        try:
            return parse_duration(self.table.get(key, default))
        except ValueError as exc:
            self.problem(key, str(exc))
            return 1.0

    def counts(self, key: str) -> list[int]:
        value = self.table.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, int) and v > 0 for v in value):
            self.problem(key, f"must be a list of user counts above 0, e.g. [5, 20, 50], got {value!r}")
            return [1]
        return value

    def tables(self, key: str) -> list[Fields]:
        value = self.table.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            self.problem(key, "must be a non-empty list of tables, e.g. [{duration = '2m', users = 50}]")
            return []
        return [Fields(item, f"{self.where}{key}[{i}].", self.problems) for i, item in enumerate(value)]


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
        stages = []
        for index, stage in enumerate(shape.tables("stages"), 1):
            stage.unknown({"name", "duration", "users", "spawn_rate", "steady", "mix"})
            mix = stage.table.get("mix", [])
            if not isinstance(mix, list) or any(name not in USER_CLASSES for name in mix):
                stage.problem("mix", f"must list user classes among {', '.join(USER_CLASSES)}, got {mix!r}")
                mix = []
            stages.append(Stage(str(stage.table.get("name", f"stage-{index}")), stage.duration("duration"),
                                stage.count("users"), stage.number("spawn_rate", 10),
                                bool(stage.table.get("steady", True)), tuple(mix)))  # fmt: skip
        return stages, None
    start, step, most = shape.count("start_users"), shape.count("step_users"), shape.count("max_users")
    if most < start:
        shape.problem("max_users", f"must be at least start_users ({start})")
    capacity = Capacity(shape.number("breach_p95_ms", 500.0), shape.number("breach_error_ratio", 0.01, upper=1))
    return plans.steps(list(range(start, most + 1, step)), shape.duration("step_duration"), rate), capacity


def scenario_path(name_or_path: str, directories: list[Path] | None = None) -> Path:
    """A scenario by name (NAME.toml in ./scenarios, else packaged) or by the path of a .toml file."""
    if name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        if not path.is_file():
            raise BadInput(f"scenario file {path}: not found; give a path to a .toml file or a scenario name")
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
    path = scenario_path(name_or_path, directories)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not valid TOML ({exc}); fix the syntax") from None
    problems: list[str] = []
    top = Fields(raw, "", problems)
    top.unknown(TOP_KEYS)
    shape_table = raw.get("shape")
    if not isinstance(shape_table, dict):
        problems.append("shape: missing table [shape] with kind = " + " | ".join(SHAPE_KEYS))
        plan, capacity, kind = [Stage("x", 1, 1, 1, True)], None, "constant"
    else:
        kind = shape_table.get("kind")
        if kind not in SHAPE_KEYS:
            problems.append(f"shape.kind: {kind!r} is not one of {', '.join(SHAPE_KEYS)}")
            plan, capacity = [Stage("x", 1, 1, 1, True)], None
        else:
            plan, capacity = build_plan(Fields(shape_table, "shape.", problems), kind)
    mix = raw.get("mix", DEFAULT_MIX)
    if not isinstance(mix, dict) or not mix:
        problems.append("mix: must be a table of user class = weight")
        mix = {}
    for cls, weight in mix.items():
        if cls not in USER_CLASSES:
            problems.append(f"mix.{cls}: not a user class (known: {', '.join(USER_CLASSES)})")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            problems.append(f"mix.{cls}: weight must be a whole number 0 or more, got {weight!r}")
    if mix and not any(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in mix.values()):
        problems.append("mix: at least one user class needs a weight above 0")
    arrival_rate = top.number("arrival_rate") if "arrival_rate" in raw else None
    for key in ("tags", "exclude_tags"):
        if not isinstance(raw.get(key, []), list) or not all(isinstance(t, str) for t in raw.get(key, [])):
            problems.append(f"{key}: must be a list of tag names")
    if problems:
        raise BadInput(f"{path}: " + "; ".join(problems))
    return Scenario(
        name=path.stem, plan=tuple(plan), kind=kind, mix=dict(mix), description=str(raw.get("description", "")),
        sla=raw.get("sla"), tags=tuple(raw.get("tags", ())), exclude_tags=tuple(raw.get("exclude_tags", ())),
        arrival_rate=arrival_rate, capacity=capacity, path=path,
    )  # fmt: skip
