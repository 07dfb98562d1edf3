"""The open model: a target arrival rate of iterations for the whole run, like k6's constant-arrival-rate.

With --arrival-rate R, every user class's wait_time becomes pacing: each user starts an iteration
every `users / R` seconds, whatever the responses take. When an iteration runs past its slot, the
next one starts late; when a whole slot is missed it is dropped (not made up later in a burst). So a
saturated generator or target shows as an achieved rate below the intended one, with late and dropped
counts in run.json, never as a quietly lower load. Counts are kept per stage, so the achieved rate is
judged over steady stages.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict

from locust.env import Environment

from swarmgate.locustfiles.recording.common import node_role
from swarmgate.locustfiles.recording.stages import StageRecorder

REPORT_KEY = "swarmgate_arrivals"
MESSAGE_TYPE = "swarmgate_arrival_rate"  # master -> workers: each worker's share of the rate
FIELDS = ("iterations", "late", "dropped")


class ArrivalPacer:
    """Installs pacing on the user classes of this node and counts iterations, late starts and drops."""

    def __init__(self, environment: Environment, rate: float, stages: StageRecorder) -> None:
        self.environment = environment
        self.stages = stages
        self.rate = rate
        self.target = rate  # for the whole run; on a worker `rate` becomes its share
        self.role = node_role(environment)
        self.counts: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.max_late_s = 0.0
        pace = self.pace

        def wait_time(user) -> float:  # a plain function, so Locust binds it to each user
            return pace(user)

        for user_class in environment.user_classes:
            user_class.wait_time = wait_time
        if self.role == "worker":
            environment.events.report_to_master.add_listener(self.on_report_to_master)
            environment.runner.register_message(MESSAGE_TYPE, self.on_rate_message)
        else:
            environment.events.worker_report.add_listener(self.on_worker_report)
        if self.role == "master":
            environment.events.test_start.add_listener(self.share_rate)
            environment.events.spawning_complete.add_listener(self.share_rate)

    def share_rate(self, **_kwargs) -> None:
        """Users are spread evenly over workers, so each paces its users at rate / workers."""
        workers = max(1, self.environment.runner.worker_count)
        self.environment.runner.send_message(MESSAGE_TYPE, {"rate": self.rate / workers})

    def on_rate_message(self, environment: Environment, msg, **_kwargs) -> None:
        self.rate = float(msg.data["rate"])

    def pace(self, user) -> float:
        """Seconds until this user's next slot; installed as wait_time on every user class."""
        runner = self.environment.runner
        users = max(1, runner.target_user_count if runner and runner.target_user_count else 1)
        interval = users / self.rate
        now = time.monotonic()
        counts = self.counts[self.stages.index]
        counts["iterations"] += 1
        due = getattr(user, "_swarmgate_due", None)
        if due is None:  # first slot: spread users over one interval instead of starting them together
            user._swarmgate_due = now + random.uniform(0, interval)
            return user._swarmgate_due - now
        due += interval
        late = now - due
        if late > 0:
            counts["late"] += 1
            self.max_late_s = max(self.max_late_s, late)
            if late >= interval:
                counts["dropped"] += math.floor(late / interval)
                due = now
        user._swarmgate_due = due
        return max(0.0, due - now)

    def on_report_to_master(self, client_id: str, data: dict) -> None:
        data[REPORT_KEY] = {"counts": {i: dict(c) for i, c in self.counts.items()}, "max_late_s": self.max_late_s}
        self.counts = defaultdict(Counter)

    def on_worker_report(self, client_id: str, data: dict) -> None:
        report = data.get(REPORT_KEY)
        if report:
            for index, counts in report["counts"].items():
                self.counts[int(index)].update(counts)
            self.max_late_s = max(self.max_late_s, report["max_late_s"])

    def summary(self) -> dict:
        """Intended vs achieved rate over the steady stages (all stages when there are none)."""
        stages, target = self.stages.stages, self.target
        chosen = [s for s in stages or [] if s.steady and s.end] or [s for s in stages or [] if s.end]
        seconds = sum(s.end - s.start for s in chosen)
        totals = Counter()
        for stage in chosen:
            totals.update(self.counts.get(stage.index, {}))
        achieved = totals["iterations"] / seconds if seconds else None
        return {
            "target_per_s": target,
            "achieved_per_s": round(achieved, 3) if achieved is not None else None,
            "measured_over_s": round(seconds, 3),
            **{name: totals[name] for name in FIELDS},
            "max_late_ms": round(self.max_late_s * 1000, 1),
            "kept_up": achieved is not None and achieved >= 0.95 * target and totals["dropped"] == 0,
        }
