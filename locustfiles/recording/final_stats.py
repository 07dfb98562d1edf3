"""Rewrite Locust's stats CSVs once more at exit: its own writer is up to a second stale.

A second trap: with `--json-file`, Locust writes the JSON with `get_stripped_report()`, which
*resets every endpoint's stats* after serialising them (the Aggregated total survives). So by the
time `quit` fires the live entries read zero; we rebuild them from the JSON file, which holds the
final, exact histograms, and keep the live total.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT, RequestStats, StatsCSV, StatsEntry

from swarmgate.locustfiles.recording.common import ended_in_web_ui, write_atomic

_INT_KEYED = ("response_times", "num_reqs_per_sec", "num_fail_per_sec")


def stats_from_json(entries: list[dict], live: RequestStats) -> RequestStats:
    """A RequestStats rebuilt from Locust's JSON entries (JSON turned their int keys into strings)."""
    rebuilt = RequestStats(use_response_times_cache=False)
    for data in entries:
        data = {**data, **{key: {int(k): v for k, v in data.get(key, {}).items()} for key in _INT_KEYED}}
        entry = StatsEntry.unserialize(data, rebuilt)
        rebuilt.entries[(entry.name, entry.method)] = entry
    rebuilt.total = live.total
    rebuilt.errors = live.errors
    return rebuilt


class FinalStatsRecorder:
    """On `quit` (after the runner stopped and workers sent their last reports), on master or local only.

    The new files replace Locust's by rename; Locust's still-open handles then point at the old
    files, so its own final flush cannot overwrite ours.
    """

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        environment.events.quit.add_listener(self.on_quit)
        environment.events.test_stop.add_listener(self.on_test_stop)

    def on_test_stop(self, **_kwargs) -> None:
        if ended_in_web_ui(self.environment):  # the UI's report of this test reads the final numbers
            self.on_quit(0)

    def final_stats(self) -> RequestStats:
        live = self.environment.runner.stats
        json_file = getattr(self.environment.parsed_options, "json_file", None)
        if json_file:
            try:
                entries = json.loads(Path(f"{json_file}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                entries = None
            if isinstance(entries, list):
                return stats_from_json(entries, live)
        return live

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        prefix = getattr(self.environment.parsed_options, "csv_prefix", None)
        if not prefix:
            return
        view = SimpleNamespace(stats=self.final_stats(), runner=self.environment.runner)
        writer = StatsCSV(view, PERCENTILES_TO_REPORT)
        for suffix, write_rows in (
            ("_stats.csv", writer.requests_csv),
            ("_failures.csv", writer.failures_csv),
            ("_exceptions.csv", writer.exceptions_csv),
        ):
            buffer = io.StringIO()
            write_rows(csv.writer(buffer))
            write_atomic(Path(prefix + suffix), buffer.getvalue())
