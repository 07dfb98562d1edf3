"""The recorders: they write a run into swarmgate's results directory.

`swarmgate run` and `swarmgate web` attach them to any locustfile (as the extra `-f` module
`swarmgate_recorders.py`); with plain `locust`, import this module in the locustfile. Importing
registers two listeners and does nothing else: the command-line options, and an `init` listener
that builds the recorders for this node (local, master or worker).
"""

from __future__ import annotations

import time
from pathlib import Path

from locust import events
from locust.env import Environment

from swarmgate.locustfiles import live_web, plain_users
from swarmgate.locustfiles.journeys import request_failed as journey_request_failed
from swarmgate.locustfiles.recording.arrivals import ArrivalPacer
from swarmgate.locustfiles.recording.common import ended_in_web_ui, node_role, results_dir, write_atomic
from swarmgate.locustfiles.recording.final_stats import FinalStatsRecorder
from swarmgate.locustfiles.recording.journeys import JourneyRecorder
from swarmgate.locustfiles.recording.live import LiveRecorder
from swarmgate.locustfiles.recording.metrics import MetricsEndpoint
from swarmgate.locustfiles.recording.progress import ProgressRecorder
from swarmgate.locustfiles.recording.resources import ResourceRecorder
from swarmgate.locustfiles.recording.run_meta import RunRecorder
from swarmgate.locustfiles.recording.slow_requests import SlowRequestRecorder
from swarmgate.locustfiles.recording.stages import StageRecorder
from swarmgate.locustfiles.recording.timeline import TimelineRecorder
from swarmgate.locustfiles.recording.user_classes import UserClassCounter
from swarmgate.locustfiles.recording.workers import WorkerWatch, shorten_master_timeout
from swarmgate.locustfiles.web_login import install as install_web_login


@events.init_command_line_parser.add_listener
def add_options(parser, **_kwargs) -> None:
    parser.add_argument(
        "--results-dir",
        default="",
        env_var="SWARMGATE_RESULTS_DIR",
        help="folder for swarmgate's files (run.json, stages.json, ...); default: the --csv folder",
    )
    parser.add_argument("--scenario", default="", env_var="SWARMGATE_SCENARIO", help="scenario name for run.json")
    parser.add_argument("--run-id", default="", env_var="SWARMGATE_RUN_ID", help="run id for run.json")
    parser.add_argument(
        "--target-pid",
        type=int,
        default=0,
        env_var="SWARMGATE_TARGET_PID",
        help="PID of a local target to sample into resources.csv",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--slow-threshold-ms",
        type=float,
        default=1000.0,
        env_var="SWARMGATE_SLOW_MS",
        help="requests slower than this go to slow_requests.csv",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        env_var="SWARMGATE_METRICS_PORT",
        help="serve the run's live metrics to Prometheus on this port (master or single process); 0: off",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        env_var="SWARMGATE_METRICS_HOST",
        help="the address --metrics-port listens on",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--arrival-rate",
        type=float,
        default=0.0,
        env_var="SWARMGATE_ARRIVAL_RATE",
        help="open model: iterations per second for the whole run (users become the pool); 0: off",
    )
    parser.add_argument(
        "--mix",
        default="",
        env_var="SWARMGATE_MIX",
        help="user class weights, e.g. BaselineUser=70,PeakUser=20,AdminUser=10",
    )
    parser.add_argument(
        "--sla",
        default="",
        env_var="SWARMGATE_SLA_FILE",
        help="SLA file for the live checks and abort gates (swarmgate run and web pass theirs); empty: none",
        include_in_web_ui=False,  # read once at start: editing it in the UI would change nothing
    )
    parser.add_argument(
        "--sla-profile",
        default="",
        env_var="SWARMGATE_SLA_PROFILE",
        help="the SLA file's scenario profile",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--no-abort",
        action="store_true",
        default=False,
        env_var="SWARMGATE_NO_ABORT",
        help="judge live but never stop the run (the SLA file's abort_after gates are off)",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--journey-log",
        default="",
        env_var="SWARMGATE_JOURNEY_LOG",
        help="append one JSON line per finished journey to this file (every process); empty: none",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        default=False,
        env_var="SWARMGATE_TIMELINE",
        help="keep timeline.json: per half second and endpoint, requests, failures, histogram (for fault phases)",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--master-timeout",
        type=float,
        default=10.0,
        env_var="SWARMGATE_MASTER_TIMEOUT_S",
        help="a worker quits when its master has been silent this many seconds (Locust's own: 60)",
        include_in_web_ui=False,
    )


class RequestTap:
    """The one `request` listener: passes each request to the recorders that need it.

    One listener instead of three, because Locust calls each listener with keyword arguments and
    this runs for every request (see bench/bench_users.py for what it costs). A failed request is also
    told to the journey open in the user's greenlet: on the failure path only, so journeys cost a
    successful request nothing.
    """

    def __init__(self, stages: StageRecorder, slow: SlowRequestRecorder, user_classes: UserClassCounter,
                 timeline: TimelineRecorder | None = None) -> None:  # fmt: skip
        self.record_stage = stages.record
        self.record_slow = slow.record
        self.slow_ms = slow.threshold_ms
        self.record_class = user_classes.record
        self.record_second = timeline.record if timeline is not None else None

    def on_request(
        self, request_type: str, name: str, response_time: float | None, response_length: int = 0,
        exception: Exception | None = None, context: dict | None = None, **_kwargs,
    ) -> None:  # fmt: skip
        failed = exception is not None
        if failed:
            journey_request_failed(request_type, name)
        self.record_stage(request_type, name, response_time, failed)
        if response_time is not None and response_time > self.slow_ms:
            self.record_slow(request_type, name, response_time, failed)
        self.record_class(context)

    def with_timeline(self, request_type: str, name: str, response_time: float | None, response_length: int = 0,
                      exception: Exception | None = None, context: dict | None = None, **_kwargs) -> None:  # fmt: skip
        """on_request, and the timeline's half-second bins too: the listener for runs with fault phases only."""
        self.on_request(request_type, name, response_time, response_length, exception, context)
        self.record_second(request_type, name, response_time, exception is not None)


def apply_mix(environment: Environment, mix: str) -> None:
    """Set user-class weights from `--mix` before any user spawns."""
    weights = dict(item.split("=", 1) for item in mix.split(",") if "=" in item)
    for cls in environment.user_classes:
        if cls.__name__ in weights:
            cls.weight = int(weights[cls.__name__])


@events.init.add_listener
def on_init(environment: Environment, **_kwargs) -> None:
    options = environment.parsed_options
    if options is None:  # used as a library (locust.run_single_user, tests): nothing to record
        return
    if options.mix:
        apply_mix(environment, options.mix)
    install_web_login(environment)
    role = node_role(environment)
    out_dir = results_dir(environment) if role != "worker" else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    stages = environment.swarmgate_stages = StageRecorder(environment, out_dir)
    JourneyRecorder(environment, stages, options.journey_log)
    slow = SlowRequestRecorder(environment, out_dir, options.slow_threshold_ms)
    user_classes = UserClassCounter(environment)
    arrivals = ArrivalPacer(environment, options.arrival_rate, stages) if options.arrival_rate > 0 else None
    ResourceRecorder(environment, out_dir, options.target_pid or None)
    shorten_master_timeout(environment, options.master_timeout)
    watch = WorkerWatch(environment) if role == "master" else None
    plain_users.prepare([*(environment.available_user_classes or {}).values(), *environment.user_classes])
    timeline = TimelineRecorder(environment, out_dir) if options.timeline else None
    if role != "master":
        tap = RequestTap(stages, slow, user_classes, timeline)
        environment.events.request.add_listener(tap.with_timeline if timeline is not None else tap.on_request)
    if role != "worker":
        live = LiveRecorder.from_options(environment, out_dir, stages)
        live_web.install(environment, live, out_dir)
        if options.metrics_port:
            MetricsEndpoint(environment, options.metrics_host, options.metrics_port)
        RunRecorder(environment, out_dir, user_classes, slow, arrivals, watch)
        if out_dir is not None:
            ProgressRecorder(environment, out_dir)
        FinalStatsRecorder(environment)
        if out_dir is not None:  # last: every recorder above has written its files when a web-UI test stops
            environment.events.test_stop.add_listener(lambda **_: mark_test_end(environment, out_dir))


def mark_test_end(environment: Environment, out_dir: Path) -> None:
    """`.test_ended`: a test stopped in the web UI and its files are written (swarmgate web then
    analyzes them into the report the UI links to)."""
    if ended_in_web_ui(environment):
        write_atomic(out_dir / live_web.TEST_ENDED, f"{time.time():.3f}\n")
