"""Locust's `--csv-full-history` read in one streamed pass: everything the analysis and the report need.

A 24-hour, 30-endpoint soak writes 2.7 million history rows (300 MB); a week, 19 million. Reading that
into one frame makes memory grow with the run. Instead one DuckDB query scans the file (its CSV reader
streams it in chunks on every core, under a memory cap) and groups the rows as they pass, giving at once:

- the report's timeline: users, and per endpoint rps, failures/s and p50/p95/p99, averaged into at
  most MAX_POINTS points (rates by their mean, users and percentiles by their highest value, so a
  short spike is not averaged away); `step_s` says how many seconds one point stands for;
- the 10 s windows the comparison and the drift read (compare.py): rows on a whole 10 s inside a
  steady stage, for the Aggregated row (drift), or for every endpoint (a baseline comparison).

What is kept is bounded by MAX_POINTS and by the windows asked for, not by the rows read. Why DuckDB
(and not pandas in chunks, pyarrow's streaming reader or polars): docs/results.md, "Long runs".
"""

from __future__ import annotations

import csv
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from swarmgate.analysis.compare import COLUMNS as WINDOW_COLUMNS
from swarmgate.analysis.compare import WINDOW_S

MAX_POINTS = 600
HISTORY_COLUMNS = {"User Count": "users", "Requests/s": "rps", "Failures/s": "fps", "50%": "p50_ms",
                   "95%": "p95_ms", "99%": "p99_ms"}  # fmt: skip
HIGHEST = ("users", "p50_ms", "p95_ms", "p99_ms")  # the rest are means
NUMBERS = ("Timestamp", *HISTORY_COLUMNS)
TAIL_BYTES = 64 * 1024
MEMORY_LIMIT = "256MB"  # DuckDB's cap: the groups it holds are a few MB; the rest is its reading buffers

Windows = dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]  # (method, name, metric) -> (times, values)


@dataclass(frozen=True)
class HistoryDigest:
    """What one pass over the history gave: the report's timeline and the 10 s windows (see the module)."""

    timeline: dict | None
    windows: Windows
    every_endpoint: bool


def step_for(seconds: float) -> int:
    return max(1, math.ceil(seconds / MAX_POINTS))


def rounded(values: np.ndarray | list, places: int = 3) -> list:
    """Each value rounded as Python rounds, a missing one (None, NaN) as None."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f" and np.array_equal(values, np.rint(values), equal_nan=True):
            return [None if v != v else v for v in values.tolist()]  # whole numbers (Locust's ms): as they are
        values = values.tolist()  # Python floats at once: faster than each numpy scalar in turn
    return [None if v is None or v != v else round(float(v), places) for v in values]


def header_of(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        return next(csv.reader(handle), [])


def end_stamps(path: Path, header: list[str]) -> tuple[float, float] | None:
    """The first and last rows' timestamps, read from the file's two ends (Locust writes them in time order;
    read_history checks that against the true first and last)."""
    column = header.index("Timestamp")
    with open(path, "rb") as handle:
        handle.readline()  # the header
        first = handle.readline()
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - TAIL_BYTES))
        lines = [line for line in handle.read().splitlines() if line.strip()]
    try:
        ends = tuple(float(next(csv.reader([row.decode("utf-8", "replace")]))[column]) for row in (first, lines[-1]))
    except (ValueError, IndexError):
        return None
    return ends if all(math.isfinite(end) for end in ends) else None


def connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a memory cap: its CSV reader streams, and what it keeps is only the groups. The
    history gets one of its own, closed after the scan: a database kept open holds on to the memory its last
    scan used."""
    return quiet(duckdb.connect(config={"threads": min(os.cpu_count() or 1, 4), "memory_limit": MEMORY_LIMIT}))


def quiet(db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """No progress bar: DuckDB draws one on a terminal for a long scan (a cursor does not inherit the setting)."""
    db.execute("SET enable_progress_bar = false")
    return db


@functools.cache
def small_files() -> duckdb.DuckDBPyConnection:
    """The process's one database for the small files (resources.csv: a row per process and second, a
    thirtieth of the history's): opening a database takes 20-40 ms, several times a small query. Each
    query takes a cursor of its own, so threads may share it. What a query allocated goes back to the
    system after it, not kept for the next (the web UI and the weekly job live long)."""
    db = connection()
    db.execute("SET allocator_flush_threshold = '0B'")
    db.execute("SET allocator_bulk_deallocation_flush_threshold = '0B'")
    return db


def small_file_cursor() -> duckdb.DuckDBPyConnection:
    try:
        return quiet(small_files().cursor())
    except duckdb.Error:  # the database closed or broken (an internal error invalidates it): a new one
        small_files.cache_clear()
    return quiet(small_files().cursor())


def csv_source(path: Path, header: list[str], types: dict[str, str]) -> str:
    """read_csv with these columns' types (the others as text), lenient as the files written during a run need:
    Locust's N/A is missing, a row cut short by a killed run is padded with missing values, a row with more
    fields than the header keeps its first ones, a row that does not parse is skipped. The header is known, so
    DuckDB is told the columns instead of sampling the file to guess them (half the time of reading a small file).
    """
    names = [c.casefold() for c in header]
    if "" in names or len(set(names)) != len(names):  # a name empty or repeated: DuckDB names them itself
        columns = "types = {" + ", ".join(f"{quoted(c)}: '{kind}'" for c, kind in types.items()) + "}"
    else:
        columns = ("auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = false, columns = {"
                   + ", ".join(f"{quoted(c)}: '{types.get(c, 'VARCHAR')}'" for c in header) + "}")  # fmt: skip
    lenient = "nullstr = 'N/A', null_padding = true, ignore_errors = true"
    return f"read_csv({quoted(str(path))}, header = true, {lenient}, {columns})"


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def aggregates(name: str) -> tuple[str, ...]:
    """What the groups keep of a column: the highest value, or the sum and count of a mean (a window's
    group is one row: either is its value)."""
    return ("max",) if HISTORY_COLUMNS[name] in HIGHEST else ("sum", "count")


PASS_ROWS = 'Name IS NOT NULL AND isfinite("Timestamp")'  # the history rows the pass reads (a time of inf is none)


def true_ends(db: duckdb.DuckDBPyConnection, source: str) -> tuple[float, float] | None:
    """The first and last time of the rows the pass reads, in a pass of their own (None: there are none)."""
    low, high = db.execute(f'SELECT min("Timestamp"), max("Timestamp") FROM {source} WHERE {PASS_ROWS}').fetchone()
    return None if low is None else (float(low), float(high))


def pass_query(source: str, header: list[str], start: float, step: int, spans: list[tuple[float, float]],
               every_endpoint: bool) -> str:  # fmt: skip
    """One scan, grouped by endpoint and timeline point and, for a row that is a 10 s window inside a steady
    stage, by its timestamp too: the groups hold the timeline's sums, counts and highest values, and each
    window's own values. (A window is the one row of its endpoint at its second, as Locust writes them.)"""
    stamp = column("Timestamp")
    window = f"{stamp} % {WINDOW_S} = 0"
    if spans:
        window += " AND (" + " OR ".join(f"({stamp} >= {a + WINDOW_S!r} AND {stamp} <= {b!r})" for a, b in spans) + ")"
    if not every_endpoint:
        window += " AND Type = '' AND Name = 'Aggregated'"
    measures = [f"min({stamp}) AS low", f"max({stamp}) AS high"]
    for name in (c for c in HISTORY_COLUMNS if c in header):  # the windows' columns are among them
        measures += [f"{how}({column(name)}) AS {column(how + ' ' + name)}" for how in aggregates(name)]
    return (f"SELECT Type, Name, floor(({stamp} - {start!r}) / {step})::BIGINT AS point, "
            f"CASE WHEN {window} THEN {stamp} END AS window, {', '.join(measures)} "
            f"FROM (SELECT * REPLACE (coalesce(Type, '') AS Type) FROM {source}) "
            f"WHERE {PASS_ROWS} GROUP BY ALL")  # fmt: skip


def endpoints_of(groups: dict[str, np.ndarray]) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Each group's endpoint as a number, and the endpoints (method, name) those numbers stand for."""
    numbers: dict[tuple[str, str], int] = {}
    keys = zip(groups["Type"].tolist(), groups["Name"].tolist(), strict=True)
    codes = [numbers.setdefault(key, len(numbers)) for key in keys]
    return np.array(codes, dtype=np.int64), list(numbers)


def filled(values: np.ndarray) -> np.ndarray:
    """A numeric column of DuckDB's answer as floats, its missing values NaN."""
    return np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)


def timeline_from(groups: dict[str, np.ndarray], header: list[str], start: float, step: int) -> dict | None:
    """The timeline (as report.html draws it): per endpoint and point, the means and highest values."""
    points = int(groups["point"].max()) + 1
    present = {c: short for c, short in HISTORY_COLUMNS.items() if c in header}
    endpoints, users = [], np.full(points, np.nan)
    codes, keys = endpoints_of(groups)
    for code, (method, name) in enumerate(keys):
        mine = codes == code
        where = groups["point"][mine]
        grid = {}
        for column, short in present.items():
            if short in HIGHEST:
                values = np.full(points, -np.inf)
                np.maximum.at(values, where, np.nan_to_num(filled(groups[f"max {column}"][mine]), nan=-np.inf))
                grid[short] = np.where(np.isinf(values), np.nan, values)
            else:
                sums, counts = np.zeros(points), np.zeros(points)
                np.add.at(sums, where, np.nan_to_num(filled(groups[f"sum {column}"][mine])))
                np.add.at(counts, where, filled(groups[f"count {column}"][mine]))
                grid[short] = np.divide(sums, counts, out=np.full(points, np.nan), where=counts > 0)
        if name == "Aggregated" and "users" in grid:
            users = np.fmax(users, grid["users"])
        endpoints.append({"method": method, "name": name, **{c: rounded(v) for c, v in grid.items() if c != "users"}})
    endpoints.sort(key=lambda e: (e["name"] != "Aggregated", e["name"], e["method"]))
    return {"start": start, "step_s": step, "t": [p * step for p in range(points)], "users": rounded(users, 1),
            "endpoints": endpoints}  # fmt: skip


def windows_from(groups: dict[str, np.ndarray], header: list[str]) -> Windows:
    """{(method, name, metric): (times, values)} in time order; N/A, and 0 ms before Locust's window has data,
    are no reading."""
    is_window = ~np.ma.getmaskarray(groups["window"])
    rows = {key: values[is_window] for key, values in groups.items()}
    order = np.lexsort((filled(rows["window"]), rows["Name"].astype(str), rows["Type"].astype(str)))
    rows = {key: values[order] for key, values in rows.items()}
    times = filled(rows["window"])
    times = times.astype(np.int64) if np.array_equal(times, np.floor(times)) else times  # Locust's whole seconds
    codes, keys = endpoints_of(rows)
    found: Windows = {}
    for metric, column in WINDOW_COLUMNS.items():
        if column not in header:
            continue
        values = filled(rows[f"{aggregates(column)[0]} {column}"])
        usable = ~np.isnan(values) & ((values > 0) if metric not in ("rps", "fps") else True)
        for code, (method, name) in enumerate(keys):
            mine = usable & (codes == code)
            if mine.any():
                found[(method, name, metric)] = (times[mine], values[mine])
    return found


def query_csv(path: Path, types: dict[str, str], select: str) -> dict[str, np.ndarray] | None:
    """`select` over the rows of a CSV file (the table `rows`), streamed by DuckDB; None when the file is absent,
    lacks one of these columns or cannot be read."""
    if not path.is_file():
        return None
    header = header_of(path)
    if any(c not in header for c in types):
        return None
    try:
        with small_file_cursor() as db:
            return db.execute(f"WITH rows AS (SELECT * FROM {csv_source(path, header, types)}) {select}").fetchnumpy()
    except duckdb.Error:
        return None


def read_history(path: Path, spans: list[tuple[float, float]], every_endpoint: bool = False) -> HistoryDigest | None:
    """One pass over a --csv-full-history file (None when there is none, or it cannot be read as one)."""
    if not path.is_file():
        return None
    header = header_of(path)
    if any(c not in header for c in ("Timestamp", "Type", "Name")):
        return None
    source = csv_source(
        path, header, {c: "DOUBLE" for c in NUMBERS if c in header} | {"Type": "VARCHAR", "Name": "VARCHAR"}
    )
    db = connection()
    try:
        ends = end_stamps(path, header) or true_ends(db, source)  # a last row a crash left unreadable: a pass more
        if ends is None:
            return HistoryDigest(None, {}, every_endpoint)
        start, step = ends[0], step_for(ends[1] - ends[0])
        groups = db.execute(pass_query(source, header, start, step, spans, every_endpoint)).fetchnumpy()
        if not len(groups["point"]):
            return HistoryDigest(None, {}, every_endpoint)
        low, high = float(groups["low"].min()), float(groups["high"].max())
        if (low, high) != ends:  # rows not in time order: the grid starts at the true first row
            start, step = low, step_for(high - low)
            groups = db.execute(pass_query(source, header, start, step, spans, every_endpoint)).fetchnumpy()
    except duckdb.Error:
        return None  # not a history file that can be read: no series, as for a missing one
    finally:
        db.close()
    return HistoryDigest(timeline_from(groups, header, float(start), step), windows_from(groups, header),
                         every_endpoint)  # fmt: skip
