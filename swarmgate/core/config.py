"""Reading configuration files (scenarios, SLA tables, the weekly job) safely, and the limits every
value is checked against. A limit says why it is there; a value beyond it is a typo, not a plan."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

from swarmgate.core.errors import InputError

MAX_FILE_BYTES = 1_000_000  # a configuration file is a few KB; a megabyte is not one
MAX_USERS = 100_000  # concurrent users in one stage: beyond what one Locust master dispatches
MAX_DURATION_S = 30 * 86_400  # a month: a longer run is a typo (split a soak into runs)
MAX_SPAWN_RATE = 10_000.0  # users started per second
MAX_ARRIVAL_RATE = 1_000_000.0  # iterations started per second
MAX_MS = 3_600_000.0  # an hour: any latency level or threshold in milliseconds
MAX_RPS = 10_000_000.0  # requests per second of a whole run
MAX_ITEMS = 1_000  # entries in a list (steps, stages, endpoint rules)
MAX_TAGS = 32
IDENTIFIER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")  # tags, names: never read as an option


def read_toml(path: Path, what: str, fix: str) -> dict:
    """The file's tables, or InputError naming the file and the problem (never a traceback)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(path, f"is {size:,} bytes; a {what} is a few KB (at most {MAX_FILE_BYTES:,})", fix)
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(path, "not found", fix) from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a file", fix) from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})", fix) from None
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"is not valid TOML ({exc})", "fix the syntax") from None
    except RecursionError:
        raise InputError(path, "nests arrays or tables too deeply to read", "flatten it") from None


def number_within(value: object, low: float, high: float, *, low_open: bool = False) -> float | None:
    """value as a float if it is a finite number (not a bool) in [low, high] (or (low, high]); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and not -1e300 < value < 1e300:  # a huge integer: out of any range
        return None
    number = float(value)
    if not math.isfinite(number) or number > high or number < low or (low_open and number == low):
        return None
    return number


def whole_within(value: object, low: int, high: int) -> int | None:
    """value if it is a whole number (not a bool) in [low, high]; else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def printable(value: object, limit: int = 60) -> str:
    """A key or value as one line of a message: control characters escaped, cut to `limit` characters."""
    text = str(value).encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value: object) -> str:
    """A value as the message shows it: its repr, cut short (a file may hold megabytes in one value)."""
    return printable(repr(value))


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(value: object) -> float:
    """'90s', '5m', '1h30m' or a number of seconds -> seconds (> 0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) > MAX_DURATION_S:
            raise ValueError(f"{shown(value)}: a duration must be at most {MAX_DURATION_S:g} s (30 days)")
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and (m := _DURATION.match(value.strip())):
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    else:
        raise ValueError(f"{shown(value)} is not a duration; write e.g. '30s', '5m' or '1h30m'")
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DURATION_S:
        raise ValueError(f"{shown(value)}: a duration must be more than 0 and at most 30 days")
    return seconds
