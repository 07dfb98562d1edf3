"""A plain Locust file, as Locust's documentation writes one (nothing from swarmgate): users log in once,
then list their workspaces with no think time; a LoadTestShape holds five load levels in turn."""

import os

from locust import HttpUser, LoadTestShape, constant, task

LEVELS = [int(users) for users in os.environ.get("STEP_USERS", "1,2,4,8,16").split(",")]
HOLD_S = float(os.environ.get("STEP_HOLD_S", "6"))


class WorkspaceUser(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        answer = self.client.post("/api/auth/login", json={"username": "demo", "password": os.environ["DEMO_PASSWORD"]})
        self.client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    @task
    def workspaces(self) -> None:
        self.client.get("/api/workspaces")


class StepShape(LoadTestShape):
    """Each level for HOLD_S seconds, reached at once (spawn rate 100/s); then the run ends."""

    def tick(self):
        level = int(self.get_run_time() // HOLD_S)
        return (LEVELS[level], 100) if level < len(LEVELS) else None
