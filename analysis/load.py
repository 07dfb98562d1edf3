"""Read a run into plain data, validating as it goes: a swarmgate results dir, or stock Locust output.

Stock Locust output is `--csv PREFIX` files (PREFIX_stats.csv, optionally PREFIX_stats_history.csv,
PREFIX_failures.csv) with or without `--json-file PREFIX` (PREFIX.json, the exact histograms). What
the input cannot give (stages, resources, exact percentiles without the JSON) is listed in `missing`,
never guessed.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from swarmgate.analysis.journeys import parse_journeys, parse_timeline
from swarmgate.analysis.records import Endpoint, JourneyTally, Stage
from swarmgate.core.errors import InputError
from swarmgate.core.histogram import merge

T = TypeVar("T")

STATS_COLUMNS = ["Type", "Name", "Request Count", "Failure Count", "Average Response Time", "Max Response Time",
                 "Requests/s", "50%", "95%", "99%"]  # fmt: skip
PERCENTILE_COLUMNS = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]


@dataclass
class Run:
    source: str  # "swarmgate" or "locust-csv"
    path: Path
    meta: dict
    endpoints: list[Endpoint]
    stages: list[Stage]
    duration_s: float | None
    missing: list[str]
    capacity: dict | None = None
    csv_aggregate: Endpoint | None = None  # Locust's own Aggregated row, when there is no histogram to merge
    journey_timeline: list[tuple[float, list[JourneyTally]]] = field(default_factory=list)  # 10 s slots
    _read: dict = field(default_factory=dict, repr=False, compare=False)  # files read once per run

    def history(self, every_endpoint: bool = False):
        """One streamed pass over Locust's --csv-full-history (a HistoryDigest, or None), made once per run for
        the drift, the comparison and the charts. every_endpoint: keep every endpoint's 10 s windows (a
        comparison with a baseline), not only the Aggregated row's (drift)."""
        known = self._read.get("history")
        if known is None or (every_endpoint and not known[0]):
            from swarmgate.analysis.history_stream import read_history  # DuckDB, only for runs that need it

            spans = [(stage.start, stage.end) for stage in self.stages if stage.steady]
            digest = read_history(self.locust_file("_stats_history.csv"), spans, every_endpoint)
            self._read["history"] = known = (every_endpoint, digest)
        return known[1]

    def once(self, name: str, compute: Callable[[], T]) -> T:
        """What `compute` gives, computed once per run (the judgment and the charts both draw on it)."""
        if name not in self._read:
            self._read[name] = compute()
        return self._read[name]

    def locust_file(self, suffix: str) -> Path:
        """One of Locust's files: a results dir holds `locust<suffix>`, stock output is `PREFIX<suffix>`."""
        prefix = self.path / "locust" if self.path.is_dir() else self.path
        return Path(f"{prefix}{suffix}")


def lenient_rows(path: Path, parse: Callable[[dict], T]) -> Iterator[T]:
    """Rows of one of our optional CSV files (slow requests, resources), parsed; unreadable rows skipped.

    These files are written while the run goes on, so a last row cut off by a killed run is expected.
    """
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        for row in csv.DictReader(handle):
            try:
                yield parse(row)
            except (KeyError, TypeError, ValueError):
                continue


def garbled(exc: Exception) -> str:
    """What is wrong with a JSON entry, in words (not Python's)."""
    if isinstance(exc, KeyError):
        return f"lacks {exc}"
    return "holds a value of the wrong kind where a count, a time or a histogram belongs"


def read_json(path: Path) -> object:
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (spreadsheets write one) is fine
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text", "give the file Locust or swarmgate wrote") from None
    if not text.strip():
        raise InputError(path, "is empty", "re-run, or give the file Locust wrote at the end of a run")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(path, f"is not valid JSON ({exc.msg} at line {exc.lineno})",
                         "the file is truncated or damaged; re-run or restore it") from None  # fmt: skip


def number(path: Path, row: int, column: str, value: str, *, integer: bool = False) -> float:
    text = (value or "").strip()
    if text in ("", "N/A"):
        if integer:
            raise InputError(path, f"column '{column}' is empty or N/A where a count belongs",
                             "the file is damaged; re-run or restore it", row)  # fmt: skip
        return math.nan
    try:
        parsed = float(text)
    except ValueError:
        raise InputError(path, f"column '{column}' holds {text[:20]!r}, not a number",
                         "the file is damaged; re-run or restore it", row) from None  # fmt: skip
    if math.isnan(parsed) or parsed < 0 or math.isinf(parsed) or (integer and parsed != int(parsed)):
        raise InputError(path, f"column '{column}' holds {text[:20]!r}, not a count or time",
                         "counts and times are whole or positive numbers", row)  # fmt: skip
    return parsed


def read_stats_csv(path: Path) -> list[Endpoint]:
    """PREFIX_stats.csv: one row per endpoint plus Aggregated; validated cell by cell."""
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (spreadsheets write one) is fine
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text", "give the _stats.csv file Locust wrote") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise InputError(path, "is empty", "the run wrote no stats; re-run it")
    header = rows[0]
    absent = [c for c in STATS_COLUMNS if c not in header]
    if absent:
        raise InputError(path, f"lacks column(s) {', '.join(absent)}",
                         "give a Locust _stats.csv (the header starts Type,Name,Request Count)")  # fmt: skip
    index = {c: i for i, c in enumerate(header)}
    endpoints = []
    seen: dict[tuple[str, str], int] = {}
    for row_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        key = (row[index["Type"]], row[index["Name"]]) if len(row) >= len(header) else None
        if key in seen:
            raise InputError(path, f"rows {seen[key]} and {row_no} are both {' '.join(filter(None, key))}",
                             "a stats file has one row per endpoint; give the file Locust wrote")  # fmt: skip
        if key is not None:
            seen[key] = row_no
        if len(row) < len(header):
            raise InputError(path, f"has {len(row)} fields where the header has {len(header)}",
                             "the file is truncated; re-run or restore it", row_no)  # fmt: skip
        cell = {c: row[i] for c, i in index.items()}
        requests = number(path, row_no, "Request Count", cell["Request Count"], integer=True)
        failures = number(path, row_no, "Failure Count", cell["Failure Count"], integer=True)
        if failures > requests:
            raise InputError(path, "Failure Count is larger than Request Count",
                             "the file is damaged; re-run or restore it", row_no)  # fmt: skip
        percentiles = {c: number(path, row_no, c, cell[c]) for c in PERCENTILE_COLUMNS if c in cell}
        values = [v for v in percentiles.values() if not math.isnan(v)]
        if any(b < a for a, b in zip(values, values[1:], strict=False)):
            raise InputError(path, "percentiles decrease from left to right",
                             "the file is damaged; re-run or restore it", row_no)  # fmt: skip
        average = number(path, row_no, "Average Response Time", cell["Average Response Time"])
        endpoints.append(Endpoint(cell["Type"], cell["Name"], int(requests), int(failures),
                                  None if math.isnan(average) else average * requests,
                                  number(path, row_no, "Max Response Time", cell["Max Response Time"]),
                                  csv_percentiles=percentiles))  # fmt: skip
    if not any(e.name == "Aggregated" for e in endpoints):
        raise InputError(path, "has no Aggregated row", "give the complete _stats.csv Locust wrote")
    return endpoints


def endpoints_from_json(path: Path) -> list[Endpoint]:
    entries = read_json(path)
    if not isinstance(entries, list):
        raise InputError(path, "is not a list of endpoint entries", "give the file Locust's --json-file wrote")
    endpoints = []
    for i, entry in enumerate(entries, 1):
        try:
            histogram = merge([entry["response_times"]])
            requests, failures = int(entry["num_requests"]), int(entry["num_failures"])
            total, most = float(entry["total_response_time"]), float(entry["max_response_time"])
            endpoint = Endpoint(entry["method"] or "", entry["name"], requests, failures, total, most, histogram)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(path, f"entry {i} {garbled(exc)}", "give the file Locust's --json-file wrote") from None
        if requests < 0 or failures < 0 or any(c < 0 for c in histogram.values()):
            raise InputError(path, f"entry {i} has a negative count", "the file is damaged; re-run or restore it")
        if sum(histogram.values()) > requests:
            raise InputError(path, f"entry {i} has more timed requests than requests", "the file is damaged")
        endpoints.append(endpoint)
    return endpoints


def aggregate(endpoints: list[Endpoint]) -> Endpoint:
    with_histograms = all(e.histogram is not None for e in endpoints)
    return Endpoint(
        "", "Aggregated", sum(e.requests for e in endpoints), sum(e.failures for e in endpoints),
        sum(e.total_ms or 0.0 for e in endpoints), max((e.max_ms or 0.0 for e in endpoints), default=0.0),
        merge(e.histogram for e in endpoints) if with_histograms else None,
        approximate=any(e.approximate for e in endpoints),
    )  # fmt: skip


def load_stages(path: Path) -> tuple[list[Stage], dict | None, list[tuple[float, list[JourneyTally]]]]:
    """The stages, the capacity search's annotation and the journeys' timeline of a stages.json."""
    document = read_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("stages"), list):
        raise InputError(path, "has no list of stages", "give the stages.json swarmgate wrote")
    stages, previous_end = [], -math.inf
    for i, raw in enumerate(document["stages"], 1):
        try:
            start, end = float(raw["start_ts"]), float(raw["end_ts"])
            endpoints = [
                Endpoint(e["method"], e["name"], int(e["requests"]), int(e["failures"]), float(e["total_ms"]),
                         float(e["max_ms"]), merge([e["response_times"]]))
                for e in raw["endpoints"]
            ]  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(path, f"stage {i} {garbled(exc)}", "give the stages.json swarmgate wrote") from None
        if any(
            e.requests < 0 or e.failures < 0 or e.failures > e.requests or any(n < 0 for n in e.histogram.values())
            for e in endpoints
        ):
            raise InputError(path, f"stage {i} has a negative or impossible count", "the file is damaged; re-run it")
        if end < start or start < previous_end - 0.001:
            raise InputError(path, f"stage {i} goes back in time", "the file is damaged; re-run or restore it")
        previous_end = end
        stages.append(Stage(str(raw.get("name")), start, end, raw.get("target_users"), bool(raw.get("steady")),
                            endpoints, parse_journeys(raw.get("journeys"), path, f"stage {i}")))  # fmt: skip
    return stages, document.get("capacity"), parse_timeline(document.get("journey_timeline"), path)


def load_run(target: Path | str) -> Run:
    """A swarmgate run dir, or a stock Locust CSV prefix (`results/x/locust` for results/x/locust_stats.csv)."""
    target = Path(target)
    if target.is_dir() and (target / "run.json").is_file():
        return load_swarmgate(target)
    if target.is_dir() and (target / "locust_stats.csv").is_file():
        return load_stock(target / "locust")
    if Path(f"{target}_stats.csv").is_file():
        return load_stock(target)
    raise InputError(target, "is neither a swarmgate run dir nor a Locust --csv prefix",
                     "give results/<scenario>/<run-id>, or PREFIX for PREFIX_stats.csv")  # fmt: skip


NO_HISTOGRAMS = "exact percentiles (no locust.json / --json-file): Locust's rounded, possibly stale CSV ones are used"


def endpoint_stats(json_path: Path, csv_rows: list[Endpoint] | None) -> tuple[list[Endpoint], Endpoint | None]:
    """Endpoints from the JSON histograms when there are any, else from the CSV with its Aggregated row."""
    if json_path.is_file():
        return endpoints_from_json(json_path), None
    assert csv_rows is not None
    return [e for e in csv_rows if e.name != "Aggregated"], next(e for e in csv_rows if e.name == "Aggregated")


def load_swarmgate(run_dir: Path) -> Run:
    meta = read_json(run_dir / "run.json")
    if not isinstance(meta, dict):
        raise InputError(run_dir / "run.json", "is not a JSON object", "give the run.json swarmgate wrote")
    json_path, stats_path = run_dir / "locust.json", run_dir / "locust_stats.csv"
    if not json_path.is_file() and not stats_path.is_file():
        raise InputError(run_dir, "holds neither locust.json nor locust_stats.csv",
                         "the run ended before Locust wrote its stats; there is nothing to analyze")  # fmt: skip
    endpoints, csv_aggregate = endpoint_stats(json_path, None if json_path.is_file() else read_stats_csv(stats_path))
    missing = [NO_HISTOGRAMS] if csv_aggregate else []
    stages_path = run_dir / "stages.json"
    stages, capacity, timeline = load_stages(stages_path) if stages_path.is_file() else ([], None, [])
    if not stages:
        missing.append("stages (no stages.json): verdicts cover the whole run, ramps included")
    return Run(
        "swarmgate",
        run_dir,
        meta,
        endpoints,
        stages,
        meta.get("duration_s"),
        missing,
        capacity,
        csv_aggregate,
        timeline,
    )


def load_stock(prefix: Path) -> Run:
    csv_rows = read_stats_csv(Path(f"{prefix}_stats.csv"))  # read even beside a JSON: validated either way
    endpoints, csv_aggregate = endpoint_stats(Path(f"{prefix}.json"), csv_rows)
    missing = ["resources and slow requests (stock Locust output)", "run metadata (scenario, host, user mix)"]
    if csv_aggregate:
        missing.append(NO_HISTOGRAMS)
    duration = history_duration(Path(f"{prefix}_stats_history.csv"))
    if duration is None:
        missing.append("requests per second over the run (no _stats_history.csv)")
    meta = {"scenario": None, "run_id": prefix.name, "host": None, "partial": None}
    run = Run("locust-csv", prefix, meta, endpoints, [], duration, missing, None, csv_aggregate)
    from swarmgate.analysis.stock_stages import STAGES_NOTE, read_frame, stock_stages  # pandas, for stock input

    run.stages = stock_stages(read_frame(Path(f"{prefix}_stats_history.csv"))) if duration is not None else []
    missing.append(STAGES_NOTE[bool(run.stages)])
    return run


def history_duration(path: Path) -> float | None:
    """Seconds covered by a _stats_history.csv (its timestamps must not go backwards)."""
    if not path.is_file():
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (spreadsheets write one) is fine
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text", "give the _stats_history.csv Locust wrote") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or "Timestamp" not in header:
        raise InputError(path, "lacks the Timestamp column", "give a Locust _stats_history.csv")
    column = header.index("Timestamp")
    first = last = None
    for row_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) <= column:
            raise InputError(path, "has a truncated row", "the file is damaged; re-run or restore it", row_no)
        stamp = number(path, row_no, "Timestamp", row[column])
        if last is not None and stamp < last:
            raise InputError(path, "time goes backwards", "the file is damaged or two runs were mixed", row_no)
        first = stamp if first is None else first
        last = stamp
    return (last - first) if first is not None and last is not None and last > first else None
