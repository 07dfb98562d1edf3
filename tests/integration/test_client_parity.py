"""Our request path reports exactly what Locust's `catch_response` path reports (locustfiles/client.py)."""

from __future__ import annotations

import pytest
from locust import FastHttpUser
from locust.env import Environment

from swarmgate.locustfiles.base import SwarmgateUser
from tests.helpers import closed_port

pytestmark = pytest.mark.integration


class Ours(SwarmgateUser):
    pass


class Theirs(FastHttpUser):
    pass


def events_for(host: str, make_request) -> list[dict]:
    """Fire one request through each user class; return the two `request` events."""
    seen: list[dict] = []
    Ours.host = Theirs.host = host
    env = Environment(user_classes=[Ours, Theirs], host=host)
    env.events.request.add_listener(lambda **event: seen.append(event))
    ours, theirs = Ours(env), Theirs(env)
    ours.auth_headers = {"Authorization": "Bearer x"}
    make_request(ours, theirs)
    assert len(seen) == 2
    return seen


def comparable(event: dict) -> dict:
    exception = event["exception"]
    return {
        "keys": sorted(event),
        "request_type": event["request_type"],
        "name": event["name"],
        "url": event["url"],
        "length_is_body_length": event["response_length"] == len(event["response"].content or b"") > 0,
        "exception": (type(exception).__name__, str(exception)) if exception else None,
        "status": event["response"].status_code,
    }


CASES = {
    "success": ({"shape": {"status": str}}, lambda r: r.success()),
    "wrong status": ({"expect": 201}, lambda r: r.failure("status 200, expected 201")),
    "wrong body": ({"shape": {"items": list}}, lambda r: r.failure("body lacks key 'items'")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_events_match_locusts_catch_response(demo, case):
    kwargs, verdict = CASES[case]

    def make(ours, theirs):
        ours.call("GET", "/health", name="/health", **kwargs)
        with theirs.client.request("GET", "/health", name="/health", headers={"Authorization": "Bearer x"},
                                   catch_response=True) as resp:  # fmt: skip
            verdict(resp)

    mine, locusts = (comparable(e) for e in events_for(demo.url, make))
    assert mine == locusts
    assert mine["exception"] is None if case == "success" else mine["exception"][0] == "CatchResponseError"


def test_connection_refused_is_a_failure_with_a_normalised_message():
    host = f"http://127.0.0.1:{closed_port()}"

    def make(ours, theirs):
        ours.call("GET", "/health", name="/health")
        theirs.client.request("GET", "/health", name="/health")

    mine, locusts = events_for(host, make)
    assert str(mine["exception"]) == "no response: ConnectionRefusedError"
    assert isinstance(locusts["exception"], ConnectionRefusedError)  # Locust words it differently
    assert mine["response_length"] == locusts["response_length"] == 0
    assert mine["response"].status_code == locusts["response"].status_code == 0


def test_json_bodies_are_sent_like_locust_sends_them(demo, demo_passwords):
    seen: list[dict] = []
    Ours.host = demo.url
    env = Environment(user_classes=[Ours], host=demo.url)
    env.events.request.add_listener(lambda **event: seen.append(event))
    user = Ours(env)
    user.auth_headers = {}
    login = {"username": "demo", "password": demo_passwords["users"]["SWARMGATE_PASSWORD"]}
    body = user.call("POST", "/api/auth/login", json=login, shape={"access_token": str})
    assert body is not None and seen[0]["exception"] is None
    sent = seen[0]["response"].request
    assert sent.headers["Content-Type"] == "application/json"


def test_each_request_is_counted_once_for_pacing_whichever_way_it_is_made(demo):
    env = Environment(user_classes=[Ours], host=demo.url)
    user = Ours(env)
    user.auth_headers = {}
    user.call("GET", "/health", shape={"status": str}, authed=False)
    user.client.get("/health")
    with user.client.get("/health", catch_response=True) as resp:
        resp.success()
    assert user.requests_made == 3
