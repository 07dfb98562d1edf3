"""A plain Locust locustfile, written as Locust's documentation shows: two user classes, tags,
catch_response, and no import of swarmgate."""

import os

from locust import FastHttpUser, HttpUser, between, tag, task


def login(client) -> dict:
    answer = client.post("/api/auth/login", json={"username": os.environ.get("SWARMGATE_USERNAME", "demo"),
                                                  "password": os.environ.get("SWARMGATE_PASSWORD", "")})  # fmt: skip
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


class Reader(HttpUser):
    wait_time = between(0.05, 0.2)
    weight = 3

    def on_start(self):
        self.auth = login(self.client)

    @tag("read")
    @task(3)
    def health(self):
        self.client.get("/health")

    @tag("read")
    @task
    def workspaces(self):
        with self.client.get("/api/workspaces", headers=self.auth, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    @tag("write")
    @task
    def note(self):
        self.client.post("/api/knowledge", json={"title": "note", "text": "read later"}, headers=self.auth)


class Writer(FastHttpUser):
    wait_time = between(0.05, 0.2)
    weight = 1

    def on_start(self):
        self.auth = login(self.client)

    @tag("write")
    @task
    def add_knowledge(self):
        with self.client.post("/api/knowledge", json={"title": "note", "text": "load test"}, headers=self.auth,
                              catch_response=True) as response:  # fmt: skip
            if response.status_code != 201:
                response.failure(f"status {response.status_code}")
