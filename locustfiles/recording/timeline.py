"""timeline.json: each half second of the run, per endpoint: requests, failures and a response-time histogram.

Locust's own history is per second only in its counts; its percentile columns cover about the last
10 s (see analysis/history_stream.py), too coarse to say when a system recovered from a fault. So a
run with fault phases (`--timeline`, set by `swarmgate run` when the scenario has `[[faults]]`)
keeps its own: each request goes to the bin of the half second it completed in, bucketed the way
Locust buckets (so bins merge exactly); workers ship their bins with each stats report and the
master writes the file at quit. Resolution: 0.5 s, by each node's clock (a bin of a second at
20 requests per second still holds enough requests to tell failing from answering).
"""

from __future__ import annotations

import time
from pathlib import Path

from locust.env import Environment

from swarmgate.locustfiles.recording.common import listen, node_role, write_json
from swarmgate.locustfiles.recording.stages import Window

REPORT_KEY = "swarmgate_timeline"
SCHEMA_VERSION = 1
RESOLUTION_S = 0.5
Key = tuple[int, str, str]  # (bin: unix time // RESOLUTION_S, method, name)


class TimelineRecorder:
    def __init__(self, environment: Environment, out_dir: Path | None) -> None:
        self.out_dir = out_dir
        self.bins: dict[Key, Window] = {}
        if node_role(environment) == "worker":
            listen(environment.events, report_to_master=self.on_report_to_master)
        else:
            listen(environment.events, worker_report=self.on_worker_report, quit=self.on_quit)

    def record(self, request_type: str, name: str, response_time: float | None, failed: bool) -> None:
        key = (int(time.time() / RESOLUTION_S), request_type, name)
        window = self.bins.get(key)
        if window is None:
            window = self.bins[key] = Window()
        window.add(response_time, failed)

    def on_report_to_master(self, client_id: str, data: dict) -> None:
        data[REPORT_KEY] = [[*key, *window.as_row()] for key, window in self.bins.items()]
        self.bins = {}

    def on_worker_report(self, client_id: str, data: dict) -> None:
        for index, method, name, *row in data.get(REPORT_KEY, []):
            self.bins.setdefault((int(index), method, name), Window()).merge(row)

    def document(self) -> dict:
        rows = [{"start": index * RESOLUTION_S, "method": method, "name": name, "requests": w.requests,
                 "failures": w.failures, "response_times": {str(k): v for k, v in sorted(w.response_times.items())}}
                for (index, method, name), w in sorted(self.bins.items())]  # fmt: skip
        return {"schema_version": SCHEMA_VERSION, "resolution_s": RESOLUTION_S, "bucketing": "locust", "bins": rows}

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        if self.out_dir is not None:
            write_json(self.out_dir / "timeline.json", self.document())
