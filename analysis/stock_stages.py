"""Stages of a stock Locust run, inferred from its `--csv-full-history` file.

Locust writes one history row per endpoint (and one Aggregated row) every second, each with the user
count at that moment. A hold is a run of rows at one user count lasting MIN_HOLD_S or more: a steady
stage. What lies between holds is a ramp (not judged); shorter runs at one count (the steps of a slow
ramp, the counts seen while spawning) and brief excursions of at most JITTER_ROWS rows that return to
the hold's count (jitter) never make a stage of their own.

Per stage and endpoint, counts, failures and mean latency are exact (differences of Locust's
cumulative `Total *` columns). Percentiles are approximate: stock Locust's JSON covers the whole run,
so they are rebuilt from the history's rolling ~10 s window percentiles (see `mixture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from swarmgate.analysis.records import Endpoint, Stage

MIN_HOLD_S = 3.0  # first to last row at one count: four or more one-second rows
JITTER_ROWS = 2  # a shorter excursion between two runs at the same count is absorbed
WINDOW_S = 10.0  # Locust's rolling window for the history's percentiles
STALL_S = 3  # a gap between rows this long is time the writer lost; a 2 s gap is its clock's fraction wrapping
SPACING_SLACK = 0.02  # how much more than the run's spacing one interval between rows may take
SCALE = 10_000  # pseudo-requests per request in a rebuilt histogram, so a 0.01 % tail keeps a count
GRID = {"50%": 0.50, "75%": 0.75, "90%": 0.90, "95%": 0.95, "99%": 0.99, "100%": 1.0}
CUMULATIVE = ("Total Request Count", "Total Failure Count", "Total Average Response Time", "Total Max Response Time")
COLUMNS = ("User Count", *CUMULATIVE, *GRID)  # what stage inference reads beyond Timestamp, Type and Name
STAGES_NOTE = {  # what `missing` says, without and with inferred stages
    False: f"stages (none inferred: that needs a --csv-full-history file holding one user count for {MIN_HOLD_S:g} s "
    "or more): verdicts cover the whole run, ramps included",
    True: "exact per-stage percentiles (stock Locust's JSON covers only the whole run): stages are inferred from "
    "the history's User Count, and their p50-p99 and max are rebuilt from Locust's rolling ~10 s history "
    "percentiles, so approximate (a stage shorter than 10 s is read from the window ending with it, which reaches "
    "into the ramp before it); per-stage requests, failures, rps and mean are exact; Apdex and slow share not given",
}


@dataclass(frozen=True)
class Level:
    """Consecutive history rows at one user count."""

    users: int
    first: float
    last: float
    rows: int


@dataclass(frozen=True)
class Planned:
    name: str
    start: float
    end: float
    users: int
    steady: bool


def users_text(users: int) -> str:
    return f"{users} user" if users == 1 else f"{users} users"


def levels(rows: list[tuple[float, int]]) -> list[Level]:
    """(timestamp, users) rows in time order as runs of one user count, brief jitter absorbed."""
    found: list[Level] = []
    for stamp, users in rows:
        if found and found[-1].users == users:
            last = found[-1]
            found[-1] = Level(users, last.first, stamp, last.rows + 1)
            continue
        found.append(Level(users, stamp, stamp, 1))
        while len(found) >= 3 and found[-3].users == found[-1].users and found[-2].rows <= JITTER_ROWS:
            before, between, after = found[-3:]
            found[-3:] = [Level(before.users, before.first, after.last, before.rows + between.rows + after.rows)]
    return found


def stage_plan(rows: list[tuple[float, int]]) -> list[Planned]:
    """Holds (steady) and the ramps between them; [] when the history holds no user count long enough."""
    holds = [level for level in levels(rows) if level.users > 0 and level.last - level.first >= MIN_HOLD_S]
    plan, cursor = [], rows[0][0] if rows else 0.0
    for number, hold in enumerate(holds, 1):
        if hold.first > cursor:
            plan.append(Planned(f"ramp-{number} (to {users_text(hold.users)})", cursor, hold.first, hold.users, False))
        plan.append(Planned(f"hold-{number} ({users_text(hold.users)})", hold.first, hold.last, hold.users, True))
        cursor = hold.last
    if holds and rows[-1][0] > cursor:
        final = rows[-1][1]
        plan.append(Planned(f"ramp-{len(holds) + 1} (to {users_text(final)})", cursor, rows[-1][0], final, False))
    return plan


def row_times(stamps: list[float]) -> list[float]:
    """Each row's time within its second. Locust stamps a row int(time) and writes one every second and a few
    ms, so the fraction creeps up and now and then wraps over: a skipped second there is not a second more (a
    five-interval hold would read six seconds). Rows are SPACING_SLACK-close to the run's spacing apart: bounds
    carried forward and back through the rows pin each one's fraction; a gap of STALL_S or more breaks the chain."""
    if len(stamps) < 2:
        return [stamp + 0.5 for stamp in stamps]
    gaps = np.diff(stamps)
    chained = gaps < STALL_S
    low = max(1.0, (sum(gaps[chained]) - 1) / max(int(chained.sum()), 1))  # each interval is 1 s and a little
    high = low + SPACING_SLACK
    lower, upper = list(stamps), [stamp + 0.999 for stamp in stamps]
    for k in range(1, len(stamps)):
        if chained[k - 1]:
            lower[k], upper[k] = max(lower[k], lower[k - 1] + low), min(upper[k], upper[k - 1] + high)
    for k in range(len(stamps) - 2, -1, -1):
        if chained[k]:
            lower[k], upper[k] = max(lower[k], lower[k + 1] - high), min(upper[k], upper[k + 1] - low)
    return [min(max((a + b) / 2, stamp), stamp + 0.999) for a, b, stamp in zip(lower, upper, stamps, strict=True)]


def unreset(values: np.ndarray) -> np.ndarray:
    """A cumulative counter made monotonic across Locust's stats resets (`--reset-stats`)."""
    steps = np.diff(values, prepend=0.0)
    fell = steps < 0
    steps[fell] = values[fell]  # after a reset the counter starts again from zero
    return np.cumsum(steps)


class EndpointHistory:
    """One endpoint's history rows as arrays, for numbers over any window of the run."""

    def __init__(self, method: str, name: str, rows: pd.DataFrame) -> None:
        rows = rows.drop_duplicates("Timestamp", keep="last")
        self.method, self.name = method, name
        self.stamps = rows["Timestamp"].to_numpy(float)
        column = {c: pd.to_numeric(rows[c], errors="coerce").ffill().fillna(0.0).to_numpy(float) for c in CUMULATIVE}
        self.requests = unreset(column["Total Request Count"])
        self.failures = unreset(column["Total Failure Count"])
        self.total_ms = unreset(column["Total Average Response Time"] * column["Total Request Count"])
        self.max_ms = column["Total Max Response Time"]
        present = [c for c in GRID if c in rows]
        self.fractions = np.array([GRID[c] for c in present])
        self.percentiles = np.column_stack([pd.to_numeric(rows[c], errors="coerce").to_numpy(float) for c in present]
                                           or [np.full(len(rows), np.nan)])  # fmt: skip
        # Locust writes 0 (or N/A) before its window has data: no reading, not a time of 0 ms
        self.valid = ~np.isnan(self.percentiles).any(axis=1) & (np.nan_to_num(self.percentiles[:, -1]) > 0)
        rows_seen = np.where(self.valid, np.arange(len(self.stamps)), -1)
        self.last_valid = np.maximum.accumulate(rows_seen) if len(rows_seen) else rows_seen

    def at(self, stamps: np.ndarray | float) -> np.ndarray:
        """Index of the last row at or before each stamp (-1: none yet)."""
        return np.searchsorted(self.stamps, stamps, side="right") - 1

    def cumulative(self, values: np.ndarray, stamps: np.ndarray | float) -> np.ndarray:
        index = self.at(stamps)
        return np.where(index >= 0, values[np.maximum(index, 0)], 0.0)

    def since(self, values: np.ndarray, start: float, end: float) -> float:
        return float(self.cumulative(values, end) - self.cumulative(values, start))

    def window(self, start: float, end: float) -> Endpoint | None:
        """This endpoint's numbers over (start, end]; None when it had no requests there."""
        requests = round(self.since(self.requests, start, end))
        if requests <= 0:
            return None
        failures = round(self.since(self.failures, start, end))
        total = max(self.since(self.total_ms, start, end), 0.0)
        return Endpoint(self.method, self.name, requests, min(failures, requests), total, self.highest(start, end),
                        self.mixture(start, end, requests), approximate=True)  # fmt: skip

    def highest(self, start: float, end: float) -> float | None:
        """The window's max: exact when the run's max rose in it, else the highest rolling-window max seen."""
        most = float(self.cumulative(self.max_ms, end))
        if most > self.cumulative(self.max_ms, start):
            return most
        inside = slice(int(self.at(start)) + 1, int(self.at(end)) + 1)  # the rows in (start, end]
        seen = self.percentiles[inside, -1][self.valid[inside]]
        if not len(self.fractions) or self.fractions[-1] != 1.0 or not len(seen):
            return None
        return min(float(seen.max()), most)

    def readings(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """(weights, rows) of rolling windows every WINDOW_S back from the last reading in (start, end], each
        wholly inside it; a stage shorter than one window gets the window ending with it, reaching before it."""
        last = int(self.last_valid[self.at(end)]) if self.at(end) >= 0 else -1
        if last < 0 or self.stamps[last] <= start:
            return np.empty(0), np.empty(0, int)
        if self.stamps[last] - WINDOW_S < start:
            return np.ones(1), np.array([last])
        ends = self.stamps[last] - WINDOW_S * np.arange((self.stamps[last] - start) // WINDOW_S)
        rows = np.unique(self.last_valid[self.at(ends)])
        rows = rows[(rows >= 0) & (self.stamps[rows] - WINDOW_S >= start)]
        ends = self.stamps[rows]
        weights = self.cumulative(self.requests, ends) - self.cumulative(self.requests, ends - WINDOW_S)
        return weights[weights > 0], rows[weights > 0]

    def mixture(self, start: float, end: float, requests: int) -> dict[int, int]:
        """An approximate histogram of (start, end] from the rolling windows' percentiles, `requests` × SCALE strong.

        Each window's share of requests between two of its percentiles sits at the upper one, one
        pseudo-request more at each (so Locust's percentile rule returns that value, not the next): the
        mixture's percentiles lie between the windows' own, and for one window they are its own.
        """
        weights, rows = self.readings(start, end)
        if not len(rows):
            return {}  # no reading (Locust's window had no data yet): no percentiles, and none guessed
        below = np.rint(requests * SCALE * (weights / weights.sum())[:, None] * self.fractions[None, :])
        below[:, :-1] += 1  # a hair over each share, so Locust's rule (more than the share below) lands on its value
        counts = np.maximum(np.diff(below, prepend=0.0, axis=1), 0).astype(np.int64)
        buckets, where = np.unique(self.percentiles[rows].astype(np.int64), return_inverse=True)
        totals = np.bincount(where.ravel(), weights=counts.ravel())
        return {int(b): int(n) for b, n in zip(buckets, totals, strict=True) if n > 0}


def read_frame(path: Path) -> pd.DataFrame | None:
    """The history columns stage inference reads, as one frame (None without a readable file).

    Each endpoint's stage numbers are differences of its cumulative columns at any stage edge, so this
    reads the rows whole: the one reader that grows with a stock run's length (see history_stream for
    the rest, which streams)."""
    if not path.is_file():
        return None
    columns = {"Timestamp", "Type", "Name", *COLUMNS}
    try:
        frame = pd.read_csv(path, usecols=lambda c: c in columns, na_values=["N/A"], keep_default_na=False,
                            dtype={"Type": "category", "Name": "category"})  # fmt: skip
    except (ValueError, pd.errors.ParserError):
        return None
    if "Timestamp" not in frame or "Type" not in frame or "Name" not in frame:
        return None
    if "" not in frame["Type"].cat.categories:
        frame["Type"] = frame["Type"].cat.add_categories("")
    frame["Type"] = frame["Type"].fillna("")  # the Aggregated row has no method
    return frame


def stock_stages(history: pd.DataFrame | None) -> list[Stage]:
    """Stages from a --csv-full-history frame; [] without per-endpoint rows or without a hold."""
    if history is None or history.empty or any(c not in history for c in ("User Count", *CUMULATIVE)):
        return []
    stamps = pd.to_numeric(history["Timestamp"], errors="coerce")
    users = pd.to_numeric(history["User Count"], errors="coerce")
    total = (history["Name"] == "Aggregated") & (history["Type"] == "") & stamps.notna() & users.notna()
    rows = list(zip(row_times(stamps[total].tolist()), users[total].astype(int).tolist(), strict=True))
    plan = stage_plan(rows)
    endpoints = history[~total & (history["Name"] != "Aggregated") & stamps.notna()]
    if not plan or endpoints.empty:
        return []
    endpoints = endpoints.assign(Timestamp=stamps).sort_values("Timestamp", kind="stable")
    series = [EndpointHistory(str(method), str(name), group)
              for (method, name), group in endpoints.groupby(["Type", "Name"], sort=True, observed=True)]  # fmt: skip
    return [
        Stage(p.name, p.start, p.end, p.users, p.steady,
              [e for e in (s.window(p.start, p.end) for s in series) if e is not None])
        for p in plan
    ]  # fmt: skip
