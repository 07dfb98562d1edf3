"""The live judge on the master (or the single local process): the SLA checks as the run goes, and
the abort gates that stop a failing run early.

Once a second it hands the stage recorder's windows (on a master: merged from what the workers
report) to the analyzer's live judge. A tripped gate stops the run the way a shape's end does
(headless: quit, keeping everything recorded; web UI: stop); run.json says which gate and when.
The last state is written to live.json at quit; `environment.swarmgate_live.state()` serves the
live views (web UI tab, Prometheus endpoint, console through .progress.json).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import gevent
from locust.env import Environment

from swarmgate.analysis.live import SERVER_LIVE_FILE, LiveJudge
from swarmgate.analysis.records import Endpoint, JourneyTally, Stage
from swarmgate.analysis.sla import load_sla
from swarmgate.core.errors import InputError
from swarmgate.locustfiles.recording.common import ended_in_web_ui, listen, write_json
from swarmgate.locustfiles.recording.journeys import Tally
from swarmgate.locustfiles.recording.stages import StageRecorder

logger = logging.getLogger(__name__)
TICK_S = 1.0


def journey_record(name: str, tally: Tally) -> JourneyTally:
    """A journey's counts so far as the analyzer's record (the live judge judges them as the analyzer does)."""
    return JourneyTally(name, tally.started, tally.completed, tally.failed, tally.abandoned, tally.total_ms,
                        tally.max_ms, tally.durations, tally.failed_at, tally.abandoned_at)  # fmt: skip


class LiveRecorder:
    def __init__(self, environment: Environment, out_dir: Path | None, stages: StageRecorder, judge: LiveJudge):
        self.environment, self.out_dir, self.stages, self.judge = environment, out_dir, stages, judge
        self.started: float | None = None
        self.abort: dict | None = None
        environment.swarmgate_live = self
        listen(environment.events, test_start=self.on_test_start, test_stop=self.on_test_stop, quit=self.on_quit)
        self.greenlet = gevent.spawn(self.run)

    @classmethod
    def from_options(cls, environment: Environment, out_dir: Path | None, stages: StageRecorder) -> LiveRecorder | None:
        """None without --sla; a bad SLA file is one logged line and no live judging (the run goes on)."""
        options = environment.parsed_options
        if not options.sla:
            return None
        try:
            config = load_sla(options.sla)
        except InputError as problem:
            logger.error("swarmgate: no live checks or gates: %s", problem)
            return None
        judge = LiveJudge(config, options.sla_profile or options.scenario or None, gates_on=not options.no_abort)
        return cls(environment, out_dir, stages, judge)

    def on_test_start(self, environment: Environment, **_kwargs) -> None:
        if self.started is not None and ended_in_web_ui(environment):  # the web UI's next test: judged afresh
            self.judge = LiveJudge(self.judge.config, self.judge.profile, self.judge.gates_on)
            self.abort = self.environment.swarmgate_abort = None
            self.started = None
        self.started = self.started or time.time()

    def run(self) -> None:
        while True:
            gevent.sleep(TICK_S)
            if self.started is not None:
                self.tick()

    def stage_records(self, now: float) -> tuple[list[Stage], bool]:
        """The stages so far as the analyzer's records (the open one ends now)."""
        records = []
        journeys = getattr(self.environment, "swarmgate_journeys", None)
        for stage in self.stages.stages:
            windows = self.stages.windows.get(stage.index, {})
            endpoints = [Endpoint(method, name, w.requests, w.failures, w.total_ms, w.max_ms, w.response_times)
                         for (method, name), w in windows.items()]  # fmt: skip
            tallies = journeys.windows.get(stage.index, {}) if journeys is not None else {}
            records.append(Stage(stage.name, stage.start, stage.end or now, stage.target_users, stage.steady,
                                 endpoints, [journey_record(name, t) for name, t in tallies.items()]))  # fmt: skip
        open_stage = bool(self.stages.stages) and self.stages.stages[-1].end is None
        return records, open_stage

    def server_values(self) -> dict:
        """The scraped server metrics' latest values (swarmgate run writes them each second), or none."""
        if self.out_dir is None:
            return {}
        try:
            found = json.loads((self.out_dir / SERVER_LIVE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) and isinstance(found.get("values"), dict) else {}

    def tick(self) -> None:
        now = time.time()
        abort = self.judge.update(now, self.started or now, *self.stage_records(now), self.server_values())
        if abort is not None and self.abort is None:
            self.stop_run(asdict(abort))

    def stop_run(self, abort: dict) -> None:
        """Stop as a shape's end does: headless, quit (every recorder writes its files); web UI, stop."""
        self.abort = abort
        self.environment.swarmgate_abort = abort
        logger.warning("swarmgate: %s; stopping the run", abort["message"])
        runner = self.environment.runner
        if self.environment.parsed_options.headless:
            gevent.spawn(runner.quit)
        else:
            gevent.spawn(runner.stop)

    def state(self) -> dict:
        return self.judge.state(time.time())

    def on_test_stop(self, environment: Environment, **_kwargs) -> None:
        if ended_in_web_ui(environment):
            self.write_final()

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        self.greenlet.kill(block=False)
        self.write_final()

    def write_final(self) -> None:
        """The last state, judged on the stages as they ended, into live.json."""
        if self.started is None:
            return
        now = time.time()
        self.judge.update(now, self.started, *self.stage_records(now))
        if self.out_dir is not None:
            write_json(self.out_dir / "live.json", self.judge.state(now))
