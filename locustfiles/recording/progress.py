"""A small `.progress.json` in the results dir, rewritten each second, for the live display of
`swarmgate run`: stage, users, requests per second and p95 over Locust's last ~10 s, requests and
failures so far, elapsed and planned seconds, and with live checks: how many are beyond target, the
abort gates counting down and the journeys' completion. Removed at quit (not part of the results)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import gevent
from locust.env import Environment

from swarmgate.locustfiles.recording.common import write_atomic


def live_figures(state: dict) -> dict:
    """What the console shows of the live judge: checks beyond target so far, gates counting down, and
    each journey's completion so far (the judged window's)."""
    counting = [{"what": f"{'journey' if g.get('journey') else g['method']} {g['name']}".strip(), "metric": g["metric"],
                 "left_s": g["left_s"]} for g in state["gates"] if g["left_s"] is not None]  # fmt: skip
    beyond = sum(c["status"] != "pass" for c in state["checks"])
    aborted = state["aborted"]["message"] if state["aborted"] else None
    journeys = [{"name": j["name"], "completion_ratio": j["completion_ratio"]} for j in state.get("journeys", [])
                if j["completion_ratio"] is not None]  # fmt: skip
    return {"checks": len(state["checks"]), "beyond_target": beyond, "gates": counting, "aborted": aborted,
            "journeys": journeys}  # fmt: skip


class ProgressRecorder:
    def __init__(self, environment: Environment, out_dir: Path) -> None:
        self.environment = environment
        self.path = out_dir / ".progress.json"
        self.started: float | None = None
        environment.events.test_start.add_listener(self.on_test_start)
        environment.events.quit.add_listener(self.on_quit)
        self.greenlet = gevent.spawn(self.run)

    def on_test_start(self, **_kwargs) -> None:
        self.started = self.started or time.time()

    def run(self) -> None:
        while True:
            gevent.sleep(1.0)
            if self.started is not None:
                self.write()

    def write(self) -> None:
        env = self.environment
        stages = getattr(env, "swarmgate_stages", None)
        stage = stages.stages[-1].name if stages is not None and stages.stages else None
        planned = env.shape_class.planned_duration() if hasattr(env.shape_class, "planned_duration") else None
        total = env.stats.total
        # "started" is the run's clock, which `swarmgate run` keeps a scenario's fault phases to
        progress = {"stage": stage, "users": env.runner.user_count if env.runner else 0,
                    "rps": round(total.current_rps, 1), "p95_ms": total.get_current_response_time_percentile(0.95),
                    "requests": total.num_requests, "failures": total.num_failures,
                    "elapsed_s": round(time.time() - self.started, 1), "planned_s": planned,
                    "started": self.started}  # fmt: skip
        live = getattr(env, "swarmgate_live", None)
        if live is not None:
            progress.update(live_figures(live.state()))
        write_atomic(self.path, json.dumps(progress))

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        self.greenlet.kill(block=True)  # no write of its may land after the file is removed
        if self.path.exists():
            os.unlink(self.path)
