"""Plain Locust users get what swarmgate's own have: their class in each request's context, TLS
verified and the run's request timeout unless the class sets its own."""

from __future__ import annotations

from locust import FastHttpUser, HttpUser, task

from swarmgate.locustfiles import plain_users
from swarmgate.locustfiles.base import SwarmgateUser


def classes():
    class Reader(HttpUser):
        @task
        def t(self):
            pass

    class Admin(Reader):  # a subclass: its requests are its own, not its parent's
        pass

    class Probe(FastHttpUser):
        @task
        def t(self):
            pass

    class Careless(FastHttpUser):
        insecure = True
        network_timeout = 3.0

        @task
        def t(self):
            pass

    class Traced(FastHttpUser):
        def context(self):
            return {"trace": "on"}

        @task
        def t(self):
            pass

    class Ours(SwarmgateUser):
        @task
        def t(self):
            pass

    return Reader, Admin, Probe, Careless, Traced, Ours


def context_of(cls) -> dict:
    return cls.context(cls.__new__(cls))


def test_every_class_names_itself_in_its_requests_whatever_the_order(monkeypatch):
    for order in (lambda found: found, lambda found: found[::-1]):
        found = classes()
        plain_users.prepare(list(order(list(found))))
        plain_users.prepare(list(found))  # twice: nothing changes
        reader, admin, probe, careless, traced, ours = found
        assert [context_of(cls)["user_class"] for cls in found] == [cls.__name__ for cls in found]
        assert context_of(traced) == {"trace": "on", "user_class": "Traced"}
        assert context_of(reader) is context_of(reader)  # one dict per class, made once
        assert ours.context is SwarmgateUser.context


def test_fast_http_users_verify_tls_and_time_out_unless_they_say_otherwise(monkeypatch):
    monkeypatch.setenv("SWARMGATE_REQUEST_TIMEOUT_S", "2.5")
    monkeypatch.setenv("SWARMGATE_INSECURE_TLS", "0")
    reader, _admin, probe, careless, _traced, ours = found = classes()
    assert probe.insecure is True and probe.network_timeout == 60.0  # Locust's own defaults
    plain_users.prepare(list(found))
    assert (probe.insecure, probe.network_timeout, probe.connection_timeout) == (False, 2.5, 2.5)
    assert (careless.insecure, careless.network_timeout, careless.connection_timeout) == (True, 3.0, 2.5)
    assert not hasattr(reader, "insecure") and ours.insecure is False
    monkeypatch.setenv("SWARMGATE_INSECURE_TLS", "1")
    _reader, _admin, probe, *_ = found = classes()
    plain_users.prepare(list(found))
    assert probe.insecure is True
