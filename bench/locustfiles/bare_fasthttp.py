"""Reference: a bare FastHttpUser making the benchmark's request, nothing else loaded."""

import os

from locust import FastHttpUser, constant, task

HEADERS = {"Authorization": f"Bearer {os.environ.get('SWARMGATE_TOKEN', '')}"}


class BareFastHttpUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self) -> None:
        self.client.get("/health", headers=HEADERS)
