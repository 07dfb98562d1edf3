"""resources.csv: CPU and RSS of every load-generator process, and of the local target, each second."""

from __future__ import annotations

import time
from pathlib import Path

import gevent
import psutil
from locust.env import Environment

from swarmgate.locustfiles.recording.common import node_role
from swarmgate.locustfiles.recording.shipped_csv import ShippedCsv

COLUMNS = ["timestamp", "role", "node", "pid", "cpu_percent", "rss_bytes"]
INTERVAL_S = 1.0


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
        environment.events.quit.add_listener(self.on_quit)
        self.greenlet = gevent.spawn(self.run)

    def run(self) -> None:
        for _, _, process in self.processes:
            process.cpu_percent(None)  # the first reading only starts the measurement
        while True:
            gevent.sleep(INTERVAL_S)
            self.sample()

    def sample(self) -> None:
        now = round(time.time(), 3)
        rows = []
        for role, node, process in list(self.processes):
            try:
                with process.oneshot():
                    rows.append([now, role, node, process.pid, process.cpu_percent(None), process.memory_info().rss])
            except psutil.Error:
                self.processes.remove((role, node, process))
        self.csv.add(rows)

    def on_quit(self, exit_code: int, **_kwargs) -> None:
        self.greenlet.kill(block=False)
        self.csv.close()
