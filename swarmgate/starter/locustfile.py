"""Load-test users for your API, written by `swarmgate init`: edit the paths and checks to match it.

    swarmgate run smoke --host https://your-api.example     # a short check that every user works
    swarmgate run baseline --host ...                        # then: swarmgate baseline promote

Two users in two styles; keep either, or both:
- ApiUser, on swarmgate's SwarmgateUser: `self.call()` checks each answer's status and JSON shape
  (a wrong body counts as a failure), groups IDs in names, verifies TLS, times out hanging requests.
- ProbeUser, a plain Locust FastHttpUser: any Locust locustfile runs through swarmgate as it is.

Without a [mix] in the scenario, the classes run with their `weight`.
"""

import os

from locust import FastHttpUser, between, tag, task

from swarmgate import SwarmgateUser


class ApiUser(SwarmgateUser):
    wait_time = between(1, 3)
    weight = 3

    def authenticate(self) -> dict[str, str]:
        """Headers for every call: a bearer token from SWARMGATE_TOKEN (or SWARMGATE_TOKEN_FILE) if set.

        Delete this method to log in at POST /api/auth/login with SWARMGATE_USERNAME and SWARMGATE_PASSWORD.
        """
        if os.environ.get("SWARMGATE_TOKEN") or os.environ.get("SWARMGATE_TOKEN_FILE"):
            return super().authenticate()
        return {}

    @tag("read")
    @task(3)
    def health(self) -> None:
        self.call("GET", "/health", shape={"status": str})

    # @tag("write")
    # @task
    # def create_order(self) -> None:
    #     """A journey: the steps a user takes together, timed end to end and counted as completed, failed
    #     or abandoned (judged by [[journeys]] in sla.toml). In a plain Locust user: `with journey(self, ...)`."""
    #     with self.journey("order") as journey:
    #         order = self.call("POST", "/api/orders", json={"sku": "A-1", "qty": 1}, expect=201, shape={"id": int})
    #         if order:
    #             journey.step("confirm")
    #             self.call("GET", f"/api/orders/{order['id']}", shape={"id": int})


class ProbeUser(FastHttpUser):
    wait_time = between(1, 3)
    weight = 1

    @tag("read")
    @task
    def health(self) -> None:
        with self.client.get("/health", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
