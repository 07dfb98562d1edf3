"""Scenario files (scenarios/NAME.toml): who the users are, how many, for how long.

Validated on load into a frozen model; unknown keys and bad values are refused with the file,
the key and a hint, all problems at once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from swarmgate.errors import BadInput

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
USER_CLASSES = ("BaselineUser", "PeakUser", "AdminUser", "StressTestUser")
KEYS = {"description", "users", "spawn_rate", "duration", "mix", "tags", "exclude_tags"}
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
    users: int
    spawn_rate: float
    duration_s: float
    mix: dict[str, int] = field(default_factory=dict)
    description: str = ""
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def user_classes(self) -> list[str]:
        return [name for name, weight in self.mix.items() if weight > 0]

    def scaled(self, factor: float) -> Scenario:
        """The same scenario with every duration multiplied by factor (for CI and trying things out)."""
        return replace(self, duration_s=max(1.0, self.duration_s * factor))

    def mix_option(self) -> str:
        return ",".join(f"{name}={weight}" for name, weight in self.mix.items() if weight > 0)


def load_scenario(name: str, directory: Path = SCENARIO_DIR) -> Scenario:
    path = directory / f"{name}.toml"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.toml"))) or "none"
        raise BadInput(f"scenario {name!r}: no file {path.name} in scenarios/; known scenarios: {known}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not valid TOML ({exc}); fix the syntax") from None
    problems: list[str] = [f"unknown key '{key}' (known: {', '.join(sorted(KEYS))})" for key in raw if key not in KEYS]

    def number(key: str, kind: type, default: object = None) -> float:
        value = raw.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value <= 0
            or (kind is int and not isinstance(value, int))
        ):
            problems.append(f"'{key}' must be a positive {'whole ' if kind is int else ''}number, got {value!r}")
            return 1
        return value

    users = int(number("users", int))
    spawn_rate = float(number("spawn_rate", float, users))
    try:
        duration_s = parse_duration(raw.get("duration"))
    except ValueError as exc:
        problems.append(f"'duration': {exc}")
        duration_s = 1.0
    mix = raw.get("mix", {"BaselineUser": 70, "PeakUser": 20, "AdminUser": 10})
    if not isinstance(mix, dict) or not mix:
        problems.append("'mix' must be a table of user class = weight")
        mix = {}
    for cls, weight in mix.items():
        if cls not in USER_CLASSES:
            problems.append(f"mix: '{cls}' is not a user class (known: {', '.join(USER_CLASSES)})")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            problems.append(f"mix.{cls}: weight must be a whole number 0 or more, got {weight!r}")
    if isinstance(mix, dict) and mix and not any(isinstance(w, int) and w > 0 for w in mix.values()):
        problems.append("mix: at least one user class needs a weight above 0")
    if problems:
        raise BadInput(f"{path}: " + "; ".join(problems))
    return Scenario(
        name=name,
        users=users,
        spawn_rate=spawn_rate,
        duration_s=duration_s,
        mix=dict(mix),
        description=str(raw.get("description", "")),
        tags=tuple(raw.get("tags", ())),
        exclude_tags=tuple(raw.get("exclude_tags", ())),
        path=path,
    )
