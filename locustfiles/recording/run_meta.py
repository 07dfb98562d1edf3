"""run.json: what was run, against what, by which versions, and how it ended."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import locust
from locust.env import Environment
from locust.runners import STATE_STOPPED

from swarmgate.core.redact import strip_credentials
from swarmgate.locustfiles.recording.arrivals import ArrivalPacer
from swarmgate.locustfiles.recording.common import ended_in_web_ui, iso, listen, node_role, write_json
from swarmgate.locustfiles.recording.slow_requests import SlowRequestRecorder
from swarmgate.locustfiles.recording.user_classes import UserClassCounter
from swarmgate.locustfiles.recording.workers import WorkerWatch

SCHEMA_VERSION = 1


class RunRecorder:
    """Master or local only. Writes run.json at start (status 'running') and again at quit."""

    def __init__(
        self,
        environment: Environment,
        out_dir: Path | None,
        user_classes: UserClassCounter | None = None,
        slow: SlowRequestRecorder | None = None,
        arrivals: ArrivalPacer | None = None,
        workers: WorkerWatch | None = None,
    ) -> None:
        self.workers = workers
        self.arrivals = arrivals
        self.environment = environment
        self.user_classes = user_classes
        self.slow = slow
        self.path = out_dir / "run.json" if out_dir is not None else None
        self.started: float | None = None
        self.ended: float | None = None
        self.interrupted = False
        self.workers_seen: set[str] = set()
        self.peak_users = 0
        listen(environment.events, test_start=self.on_test_start, test_stop=self.on_test_stop,
               spawning_complete=self.on_spawning_complete, worker_connect=self.on_worker_connect,
               quitting=self.on_quitting, quit=self.on_quit)  # fmt: skip

    def on_test_start(self, environment: Environment, **_kwargs) -> None:
        if self.ended is not None and ended_in_web_ui(environment):  # the web UI's next test: its own numbers
            self.started = self.ended = None
            self.peak_users = 0
            if self.user_classes is not None:
                self.user_classes.counts.clear()
        self.started = self.started or time.time()
        self.write(status="running", exit_code=None)

    def on_test_stop(self, environment: Environment, **_kwargs) -> None:
        self.ended = time.time()
        if ended_in_web_ui(environment):  # a test stopped in the UI ended as its operator (or a gate) chose
            self.write(status="aborted" if getattr(environment, "swarmgate_abort", None) else "finished",
                       exit_code=None)  # fmt: skip

    def on_spawning_complete(self, user_count: int) -> None:
        self.peak_users = max(self.peak_users, user_count)

    def on_worker_connect(self, client_id: str, **_kwargs) -> None:
        self.workers_seen.add(str(client_id))

    def on_quitting(self, environment: Environment, **_kwargs) -> None:
        # `quitting` fires before the runner is stopped: a run still going was cut short (signal, Ctrl-C).
        # A swarmgate shape knows whether its plan ran out (Locust stops the runner before `quitting`
        # on Ctrl-C during a shape run, so the runner's state cannot tell).
        runner, shape = environment.runner, environment.shape_class
        if shape is not None and hasattr(shape, "completed"):
            self.interrupted = self.started is not None and not shape.completed
        else:
            self.interrupted = runner is not None and self.started is not None and runner.state != STATE_STOPPED

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        self.ended = self.ended or time.time()
        if getattr(self.environment, "swarmgate_abort", None):
            status = "aborted"  # a gate stopped it: a verdict, judged fail by the analysis
        elif self.interrupted:
            status = "interrupted"
        elif os.environ.get("SWARMGATE_ORCHESTRATED") == "1":
            status = "ended"  # a run `swarmgate run` started: finished only once the orchestrator says so
        else:
            status = "finished"
        self.write(status=status, exit_code=exit_code)

    def document(self, status: str, exit_code: int | None) -> dict:
        env = self.environment
        options = env.parsed_options
        runner = env.runner
        lost = self.workers.summary() if self.workers else []
        missing = [str(c.id) for c in runner.clients.missing] if node_role(env) == "master" else []
        missing = sorted({*missing, *(entry["worker"] for entry in lost)})  # Locust forgets workers missing long
        return {
            "schema_version": SCHEMA_VERSION,
            "scenario": getattr(options, "scenario", None) or "adhoc",
            "run_id": getattr(options, "run_id", None) or (self.path.parent.name if self.path else None),
            "host": strip_credentials(env.host or getattr(options, "host", "") or ""),
            "status": status,
            "partial": status != "finished",
            "aborted": getattr(env, "swarmgate_abort", None),
            "exit_code": exit_code,
            "started": iso(self.started),
            "ended": iso(self.ended) if status != "running" else None,
            "duration_s": round(self.ended - self.started, 3) if self.started and self.ended else None,
            "user_classes": {cls.__name__: cls.weight for cls in env.user_classes},
            "requests_by_user_class": dict(self.user_classes.counts) if self.user_classes else None,
            "slow_requests": self.slow.summary() if self.slow else None,
            "arrival_rate": self.arrivals.summary() if self.arrivals else None,
            "peak_users": self.peak_users,
            "target_users": None if env.shape_class else getattr(options, "num_users", None),
            "spawn_rate": None if env.shape_class else getattr(options, "spawn_rate", None),
            "tags": getattr(options, "tags", None),
            "exclude_tags": getattr(options, "exclude_tags", None),
            "shape": env.shape_class.__class__.__name__ if env.shape_class else None,
            "tls_verify": not any(getattr(cls, "insecure", False) for cls in env.user_classes),
            "workers": {
                "expected": getattr(options, "expect_workers", 0) if node_role(env) == "master" else 0,
                "seen": len(self.workers_seen),
                "missing": missing,
                "lost": lost,
            },
            "versions": {
                "locust": locust.__version__,
                "python": platform.python_version(),
                "swarmgate": os.environ.get("SWARMGATE_VERSION"),
            },
            "git_revision": os.environ.get("SWARMGATE_GIT_REVISION") or None,
        }

    def write(self, status: str, exit_code: int | None) -> None:
        if self.path is not None:
            write_json(self.path, self.document(status, exit_code))
