"""The four user classes and their journeys over the platform API.

Weights follow a typical platform's traffic (Baseline 70 / Peak 20 / Admin 10); StressTestUser joins
the mix for stress and capacity scenarios. The load model is the one the packaged SLA tables assume:
about 2 requests per second per user (10 users ≈ 20 req/s, 100 ≈ 200, 200 ≈ 400), each class paced
by requests per second with its own character: admins slower, stress users faster. The everyday
classes run slightly above 2, so a whole run (its ramp-up included) still reaches the SLA's
`min_rps` target. Every task is tagged, so `--tags read` or `--exclude-tags write` selects journeys
without editing code.
"""

from __future__ import annotations

import random

import gevent
from locust import tag, task

from swarmgate.locustfiles.base import SwarmgateUser
from swarmgate.locustfiles.pacing import requests_per_second

ITEM = {"id": int, "name": str}
PAGE = {"items": [ITEM], "total": int}
WORKFLOW_PAGE = {"items": [{"id": int, "name": str, "steps": int}], "total": int}
EXECUTION = {"id": int, "status": str}
SEARCH = {"query": str, "results": [{"id": int, "title": str}]}
WORDS = ("latency", "throughput", "capacity", "baseline", "regression", "runbook", "incident", "cache")
EXECUTION_POLLS = 10  # a journey never polls forever
POLL_INTERVAL_S = 0.3


class PlatformUser(SwarmgateUser):
    """Journey steps shared by the concrete users; keeps the ids this user has seen."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.workspace_ids: list[int] = []
        self.workflow_ids: list[int] = []

    def remember(self, ids: list[int], new_id: int, keep: int = 20) -> None:
        ids.append(new_id)
        del ids[:-keep]

    def list_workspaces(self) -> None:
        page = self.call("GET", "/api/workspaces?limit=20", shape=PAGE)
        if page:
            self.workspace_ids = [item["id"] for item in page["items"]][:20]

    def create_workspace(self) -> int | None:
        body = self.call(
            "POST", "/api/workspaces", json={"name": f"ws-{random.randrange(10**6)}"}, expect=201, shape=ITEM
        )
        if body:
            self.remember(self.workspace_ids, body["id"])
            return body["id"]
        return None

    def workspace(self) -> int | None:
        """A workspace id to work in: one seen before, or a new one."""
        if not self.workspace_ids:
            self.list_workspaces()
        return random.choice(self.workspace_ids) if self.workspace_ids else self.create_workspace()

    def get_workspace(self) -> None:
        workspace_id = self.workspace()
        if workspace_id is not None:
            self.call("GET", f"/api/workspaces/{workspace_id}", shape={**ITEM, "workflow_count": int})

    def list_workflows(self) -> None:
        workspace_id = self.workspace()
        if workspace_id is not None:
            self.call("GET", f"/api/workspaces/{workspace_id}/workflows", shape=WORKFLOW_PAGE)

    def create_workflow(self, workspace_id: int | None = None) -> int | None:
        workspace_id = workspace_id or self.workspace()
        if workspace_id is None:
            return None
        steps = [{"action": "fetch"}, {"action": "transform"}, {"action": "store"}][: random.randint(1, 3)]
        body = self.call(
            "POST",
            f"/api/workspaces/{workspace_id}/workflows",
            json={"name": f"wf-{random.randrange(10**6)}", "steps": steps},
            expect=201,
            shape={"id": int, "steps": int},
        )
        if body:
            self.remember(self.workflow_ids, body["id"])
            return body["id"]
        return None

    def run_execution(self) -> None:
        """Journey "run workflow": trigger an execution and poll it until it ends, at most EXECUTION_POLLS
        times; an execution still going after that is abandoned (the budget ran out), one that ends
        'failed' fails the journey."""
        with self.journey("run workflow") as journey:
            journey.step("pick workflow")
            workflow_id = random.choice(self.workflow_ids) if self.workflow_ids else self.create_workflow()
            if workflow_id is None:
                return
            journey.step("trigger")
            started = self.call("POST", f"/api/workflows/{workflow_id}/executions", expect=202, shape=EXECUTION)
            if not started:
                return
            journey.step("poll")
            for _ in range(EXECUTION_POLLS):
                gevent.sleep(POLL_INTERVAL_S)
                status = self.call("GET", f"/api/executions/{started['id']}", shape=EXECUTION)
                if not status:
                    return
                if status["status"] == "failed":
                    journey.fail("execution failed")
                if status["status"] in ("succeeded", "failed"):
                    return
            journey.abandon("poll budget ran out")

    def search_knowledge(self) -> None:
        self.call("GET", f"/api/knowledge/search?q={random.choice(WORDS)}", shape=SEARCH)

    def add_and_find_knowledge(self) -> None:
        """Journey "add and find knowledge": write a note with a unique marker, then search for it."""
        word, marker = random.choice(WORDS), f"note-{random.randrange(10**9)}"
        with self.journey("add and find knowledge") as journey:
            journey.step("add")
            added = self.call(
                "POST",
                "/api/knowledge",
                json={"title": f"Note on {word} {marker}", "text": f"What we learnt about {word}."},
                expect=201,
                shape={"id": int, "title": str},
            )
            if not added:
                return
            journey.step("find")
            found = self.call("GET", f"/api/knowledge/search?q={marker}", shape=SEARCH)
            if found and added["id"] not in {result["id"] for result in found["results"]}:
                journey.fail("the new note is not found")

    def health(self) -> None:
        self.call("GET", "/health", shape={"status": str}, authed=False)


class BaselineUser(PlatformUser):
    """The everyday user: reads workspaces and workflows, searches the knowledge base."""

    weight = 70
    wait_time = requests_per_second(2.4)

    def on_start(self) -> None:
        """Journey "sign in and browse": the login (unless a token is given) and a first look around."""
        with self.journey("sign in and browse"):
            super().on_start()
            self.list_workspaces()
            self.get_workspace()

    @tag("read", "workspaces")
    @task(5)
    def browse_workspaces(self) -> None:
        self.list_workspaces()
        self.get_workspace()

    @tag("read", "workflows")
    @task(3)
    def browse_workflows(self) -> None:
        self.list_workflows()

    @tag("read", "knowledge")
    @task(3)
    def search(self) -> None:
        self.search_knowledge()

    @tag("health")
    @task(1)
    def check_health(self) -> None:
        self.health()


class PeakUser(PlatformUser):
    """The busy hour: creates workspaces and workflows, runs executions, writes knowledge."""

    weight = 20
    wait_time = requests_per_second(2.5)

    @tag("write", "workspaces")
    @task(2)
    def set_up_workflow(self) -> None:
        with self.journey("create workspace and workflow"):
            workspace_id = self.create_workspace()
            if workspace_id is not None:
                self.create_workflow(workspace_id)

    @tag("write", "executions")
    @task(4)
    def execute(self) -> None:
        self.run_execution()

    @tag("write", "knowledge")
    @task(2)
    def write_knowledge(self) -> None:
        self.add_and_find_knowledge()

    @tag("read", "workspaces")
    @task(3)
    def browse(self) -> None:
        self.list_workspaces()


class AdminUser(PlatformUser):
    """The operator: admin dashboards and, now and then, the heavy usage report."""

    weight = 10
    wait_time = requests_per_second(1.2)
    role = "admin"

    @tag("admin")
    @task(6)
    def dashboard(self) -> None:
        """Journey "admin dashboard": the pages an operator's dashboard loads together."""
        with self.journey("admin dashboard"):
            self.call("GET", "/api/admin/system", shape={"workspaces": int, "executions": int})
            self.call("GET", "/api/admin/audit-log?limit=50", shape={"items": [{"id": int, "action": str}]})
            self.call("GET", "/api/admin/costs", shape={"total_usd": float, "by_service": [{"service": str}]})

    @tag("admin")
    @task(1)
    def users(self) -> None:
        self.call("GET", "/api/admin/users", shape={"items": [{"id": int, "username": str, "role": str}]})

    @tag("admin", "heavy")
    @task(1)
    def usage_report(self) -> None:
        self.call("GET", "/api/reports/usage?rows=2000", shape={"row_count": int, "rows": [{"day": int}]})

    @tag("health")
    @task(1)
    def metrics(self) -> None:
        self.call("GET", "/metrics", text_contains="# TYPE", authed=False)


class StressTestUser(PlatformUser):
    """Little think time, a read-heavy mix with writes: for stress and capacity scenarios."""

    weight = 10
    wait_time = requests_per_second(4)

    @tag("read", "workspaces")
    @task(6)
    def read(self) -> None:
        self.list_workspaces()
        self.get_workspace()

    @tag("read", "knowledge")
    @task(3)
    def search(self) -> None:
        self.search_knowledge()

    @tag("write", "workspaces")
    @task(1)
    def write(self) -> None:
        self.create_workspace()
