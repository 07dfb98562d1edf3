"""A plain Locust locustfile (HttpUser, no swarmgate users) that groups its requests into journeys with
swarmgate's importable journey API: the context manager and the task decorator."""

import os

import gevent
from locust import HttpUser, constant, task

from swarmgate import as_journey, journey


class Operator(HttpUser):
    wait_time = constant(0.2)

    def on_start(self):
        account = {"username": os.environ.get("SWARMGATE_USERNAME", "demo"),
                   "password": os.environ.get("SWARMGATE_PASSWORD", "")}  # fmt: skip
        answer = self.client.post("/api/auth/login", json=account)
        self.auth = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    @task
    def run_workflow(self):
        with journey(self, "run workflow") as j:
            workspace = self.client.post("/api/workspaces", json={"name": "journeys"}, headers=self.auth).json()
            workflow = self.client.post(f"/api/workspaces/{workspace['id']}/workflows", headers=self.auth,
                                        name="/api/workspaces/[id]/workflows",
                                        json={"name": "wf", "steps": [{"action": "fetch"}]}).json()  # fmt: skip
            execution = self.client.post(f"/api/workflows/{workflow['id']}/executions", headers=self.auth,
                                         name="/api/workflows/[id]/executions").json()  # fmt: skip
            j.step("poll")
            for _ in range(12):
                gevent.sleep(0.3)
                status = self.client.get(f"/api/executions/{execution['id']}", headers=self.auth,
                                         name="/api/executions/[id]").json()["status"]  # fmt: skip
                if status == "succeeded":
                    return
            j.abandon("poll budget ran out")

    @task
    @as_journey("look around")
    def look_around(self):
        self.client.get("/api/workspaces", headers=self.auth)
        self.client.get("/health")
