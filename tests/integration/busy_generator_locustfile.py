"""A user that keeps its load generator busy: no wait time, and client-side work after each request."""

from locust import FastHttpUser, constant, task


class BusyUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/health")
        sum(i * i for i in range(20_000))  # the generator's own CPU, as heavy response parsing would cost
