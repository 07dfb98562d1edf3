"""The references the benchmark measures ours against, each making the benchmark's request and nothing
else: a bare FastHttpUser and Locust's plain HttpUser (python-requests). Run one by naming its class."""

import os

from locust import FastHttpUser, HttpUser, constant

HEADERS = {"Authorization": f"Bearer {os.environ.get('SWARMGATE_TOKEN', '')}"}


def health(user) -> None:
    user.client.get("/health", headers=HEADERS)


class BareFastHttpUser(FastHttpUser):
    wait_time = constant(0)
    tasks = [health]


class PlainHttpUser(HttpUser):
    wait_time = constant(0)
    tasks = [health]
