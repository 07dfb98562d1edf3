"""Failures grouped by endpoint and a normalised message, and slow requests summarised per endpoint.

HttpUser and FastHttpUser word the same failure differently (`HTTPError('500 Server Error: ...')`,
`LocustBadStatusCode(code=500)`, ours `status 500, expected 200`); all become `HTTP 500`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from swarmgate.analysis.load import lenient_rows
from swarmgate.core.errors import InputError

_WRAPPER = re.compile(r"^(?:CatchResponseError|ResponseError|Exception)\((['\"])(.*)\1\)$", re.S)
_STATUS = [
    re.compile(r"\b(\d{3}) (?:Client|Server) Error"),  # requests' HTTPError
    re.compile(r"code=(\d{3})"),  # FastHttpUser's LocustBadStatusCode / BadStatusCode
    re.compile(r"^status (\d{3}), expected"),  # swarmgate's users
]
_CONNECTION = {
    "ConnectionRefusedError": "connection refused",
    "ConnectionResetError": "connection reset",
    "timeout": "timed out",
    "Timeout": "timed out",
    "RemoteDisconnected": "connection closed by the server",
    "RedirectedElsewhere": "redirected to another host",
}


def normalise(message: str) -> str:
    text = message.strip()
    wrapped = _WRAPPER.match(text)
    if wrapped:
        text = wrapped.group(2)
    for pattern in _STATUS:
        found = pattern.search(text)
        if found:
            return f"HTTP {found.group(1)}"
    for marker, plain in _CONNECTION.items():
        if marker in text:
            return plain
    return re.sub(r"https?://\S+", "<url>", text)[:300]


def group_failures(path: Path) -> list[dict]:
    """locust_failures.csv grouped by (method, name, normalised error), most frequent first."""
    if not path.is_file():
        return []
    groups: dict[tuple[str, str, str], dict] = {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text", "give the _failures.csv Locust wrote") from None
    try:
        rows = list(csv.DictReader(text.splitlines()))
    except csv.Error as exc:
        raise InputError(path, f"is not a readable CSV ({exc})", "give the _failures.csv Locust wrote") from None
    for row_no, row in enumerate(rows, start=2):
        try:
            count = int(row["Occurrences"])
        except (KeyError, TypeError, ValueError):
            raise InputError(path, "has no whole-number Occurrences", "give the _failures.csv Locust wrote",
                             row_no) from None  # fmt: skip
        key = (row.get("Method") or "", row.get("Name") or "", normalise(row.get("Error") or ""))
        seen = {"first_seen": row.get("First Seen"), "last_seen": row.get("Last Seen")}
        group = groups.setdefault(key, {"method": key[0], "name": key[1], "error": key[2], "occurrences": 0, **seen})
        group["occurrences"] += count
        group["first_seen"] = min(filter(None, [group["first_seen"], row.get("First Seen")]), default=None)
        group["last_seen"] = max(filter(None, [group["last_seen"], row.get("Last Seen")]), default=None)
    return sorted(groups.values(), key=lambda g: -g["occurrences"])


def slow_requests(path: Path, endpoints: list[dict]) -> list[dict]:
    """Per endpoint: how many requests were slow, the slowest, and their share of the endpoint's requests."""
    totals = {(e["method"], e["name"]): e["requests"] for e in endpoints}
    found: dict[tuple[str, str], tuple[int, float]] = {}  # a count and the slowest: the file is streamed, not kept
    for key, time_ms in lenient_rows(path, lambda row: ((row["method"], row["name"]), float(row["response_time_ms"]))):
        count, slowest = found.get(key, (0, time_ms))
        found[key] = (count + 1, max(slowest, time_ms))
    return sorted(
        ({"method": m, "name": n, "slow": count, "slowest_ms": slowest,
          "share": round(count / totals[(m, n)], 6) if totals.get((m, n)) else None}
         for (m, n), (count, slowest) in found.items()),
        key=lambda row: -row["slow"],
    )  # fmt: skip
