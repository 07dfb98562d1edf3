"""Reference: Locust's plain HttpUser (python-requests) making the benchmark's request."""

import os

from locust import HttpUser, constant, task

HEADERS = {"Authorization": f"Bearer {os.environ.get('SWARMGATE_TOKEN', '')}"}


class PlainHttpUser(HttpUser):
    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.client.get("/health", headers=HEADERS)
