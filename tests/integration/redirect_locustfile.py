"""Users that meet redirects: within the host (followed), to another host (a failure, never followed),
through swarmgate's request path and through Locust's own client."""

from locust import constant, task

from swarmgate.locustfiles.base import SwarmgateUser


class RedirectedUser(SwarmgateUser):
    wait_time = constant(0.05)

    @task
    def same_origin(self) -> None:
        self.call("GET", "/same", name="/same", shape={"ok": bool})

    @task
    def cross_origin(self) -> None:
        self.call("GET", "/cross", name="/cross", json=None)

    @task
    def cross_origin_post(self) -> None:
        self.call("POST", "/cross-post", name="/cross-post", json={"secret": "stays home"})

    @task
    def plain_client(self) -> None:
        self.client.get("/cross-plain", name="/cross-plain", headers=self.auth_headers)
