"""Ours: the same request through SwarmgateUser (auth, validation, naming) with every recorder loaded."""

from locust import constant, task

from swarmgate.locustfiles import recorders  # noqa: F401  (all recording listeners, as in a real run)
from swarmgate.locustfiles.base import SwarmgateUser


class BenchSwarmgateUser(SwarmgateUser):
    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.call("GET", "/health", shape={"status": str})
