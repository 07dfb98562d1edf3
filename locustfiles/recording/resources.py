"""resources.csv: CPU and RSS of every load-generator process, and of the local target, each second.

`cpu_demand_percent` is the CPU the process's main thread used *or waited for* in the scheduler's run
queue (Linux's /proc/PID/schedstat), in % of one core: on a busy machine a saturated Locust process
may get only part of a core, and its CPU % alone would hide that it is the bottleneck. Empty where the
kernel does not say.
"""

from __future__ import annotations

import time
from pathlib import Path

import gevent
import psutil
from locust.env import Environment

from swarmgate.locustfiles.recording.common import node_role
from swarmgate.locustfiles.recording.shipped_csv import ShippedCsv

COLUMNS = ["timestamp", "role", "node", "pid", "cpu_percent", "rss_bytes", "cpu_demand_percent"]
INTERVAL_S = 1.0


def scheduled_ns(pid: int) -> int | None:
    """Nanoseconds the process's main thread ran plus waited to run, or None off Linux."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as handle:
            ran, waited, *_ = handle.read().split()
        return int(ran) + int(waited)
    except (OSError, ValueError):
        return None


class ResourceRecorder:
    """Each node samples itself; workers ship their samples with every stats report to the master."""

    def __init__(self, environment: Environment, out_dir: Path | None, target_pid: int | None) -> None:
        self.environment = environment
        self.role = node_role(environment)
        self.node = self.role if self.role != "worker" else str(environment.runner.client_id)
        self.csv = ShippedCsv(environment, out_dir, "resources.csv", COLUMNS)
        self.processes = [(self.role, self.node, psutil.Process())]
        if target_pid and self.role != "worker":
            try:
                self.processes.append(("target", "target", psutil.Process(target_pid)))
            except psutil.Error:
                pass  # the target is already gone: nothing to sample
        self.scheduled: dict[int, tuple[float, int]] = {}  # pid -> (monotonic time, scheduled ns) last seen
        environment.events.quit.add_listener(self.on_quit)
        self.greenlet = gevent.spawn(self.run)

    def run(self) -> None:
        for _, _, process in self.processes:
            process.cpu_percent(None)  # the first reading only starts the measurement
            self.demand(process.pid)
        while True:
            gevent.sleep(INTERVAL_S)
            self.sample()

    def sample(self) -> None:
        now = round(time.time(), 3)
        rows = []
        for role, node, process in list(self.processes):
            try:
                with process.oneshot():
                    rows.append([now, role, node, process.pid, process.cpu_percent(None), process.memory_info().rss,
                                 self.demand(process.pid)])  # fmt: skip
            except psutil.Error:
                self.processes.remove((role, node, process))
        self.csv.add(rows)

    def demand(self, pid: int) -> float | str:
        """% of a core the process ran or waited to run since the last reading ('' when unknown)."""
        now, total = time.monotonic(), scheduled_ns(pid)
        if total is None:
            return ""
        before = self.scheduled.get(pid)
        self.scheduled[pid] = (now, total)
        if before is None or now <= before[0]:
            return ""
        return round((total - before[1]) / 1e9 / (now - before[0]) * 100, 1)

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        self.greenlet.kill(block=False)
        self.csv.close()
