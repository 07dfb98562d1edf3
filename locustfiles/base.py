"""The shared base of every swarmgate user: auth, validated requests, grouped names, TLS on."""

from __future__ import annotations

import os
from json import loads as json_loads
from typing import Any

from locust import FastHttpUser

from swarmgate.locustfiles.auth import credentials_for
from swarmgate.locustfiles.client import RedirectedElsewhere, finish, same_origin_redirects_only, send
from swarmgate.locustfiles.journeys import Journey, journey
from swarmgate.locustfiles.naming import group_name
from swarmgate.locustfiles.validation import Shape, shape_problem

LOGIN_PATH = "/api/auth/login"
LOGIN_SHAPE = {"access_token": str}


class SwarmgateUser(FastHttpUser):
    """Abstract: subclasses add tasks. `call()` is the one way journeys talk to the API."""

    abstract = True
    # Verify TLS certificates (FastHttpUser's own default is not to); opt out per run only.
    insecure = os.environ.get("SWARMGATE_INSECURE_TLS", "") == "1"
    # A hanging target must not hang the users: a request that takes longer fails as "timed out".
    network_timeout = connection_timeout = float(os.environ.get("SWARMGATE_REQUEST_TIMEOUT_S") or 10.0)
    role = "user"
    requests_made = 0  # counted in context(), so a wait_time can pace by requests (pacing.py)

    def context(self) -> dict[str, str]:
        """Tag every request with its user class; the recorders count requests per class.

        One dict per class, made once: Locust merges it into a new dict for each request anyway. Locust's
        clients (and call()) ask for it once per request, so it is also where requests are counted.
        """
        self.requests_made += 1
        cls = type(self)
        if "_swarmgate_context" not in cls.__dict__:
            cls._swarmgate_context = {"user_class": cls.__name__}
        return cls._swarmgate_context

    context.tags_user_class = True  # the recorders leave it as it is

    def __init__(self, environment) -> None:
        super().__init__(environment)
        same_origin_redirects_only(self.client)

    def journey(self, name: str) -> Journey:
        """`with self.journey("run workflow") as j:` times the steps inside as one journey (see journeys.py)."""
        return journey(self, name)

    def on_start(self) -> None:
        self.auth_headers: dict[str, str] = {}
        self.auth_headers = self.authenticate()

    def authenticate(self) -> dict[str, str]:
        """A token from the environment, else a login; a failed login is counted and later calls get 401."""
        creds = credentials_for(self.role)
        token = creds.token
        if token is None:
            body = self.call(
                "POST",
                LOGIN_PATH,
                json={"username": creds.username, "password": creds.password},
                shape=LOGIN_SHAPE,
                authed=False,
            )
            token = body["access_token"] if body else None
        return {"Authorization": f"Bearer {token}"} if token else {}

    def call(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        json: Any = None,
        expect: int = 200,
        shape: Shape | None = None,
        authed: bool = True,
        text_contains: str | None = None,
    ) -> Any:
        """Make one request; count it as a failure unless status and body are what the API promises.

        Returns the parsed JSON body (or the text when no shape is given), None on failure.
        """
        response, content, report = send(
            self.client, method, path, name or group_name(path), self.auth_headers if authed else None, json
        )
        problem, value = self.judge(response, content, report["exception"], expect, shape, text_contains)
        finish(self.client, report, problem)
        return value

    @staticmethod
    def judge(
        response: Any, content: bytes | None, error: Exception | None, expect: int, shape: Shape | None,
        text_contains: str | None,
    ) -> tuple[str | None, Any]:  # fmt: skip
        """(problem, value): problem is None when status and body are what the API promises."""
        status = response.status_code
        error = error or (getattr(response, "error", None) if not status else None)
        if error is not None:
            cause = getattr(error, "original", None) or error  # geventhttpclient wraps it in RetriesExceeded
            if isinstance(cause, RedirectedElsewhere):
                return "redirected to another host", None
            return f"no response: {type(cause).__name__}", None
        if status != expect:
            return f"status {status}, expected {expect}", None
        if shape is None:
            text = (content or b"").decode("utf-8", "replace")
            if text_contains is not None and text_contains not in text:
                return f"body lacks the expected marker {text_contains!r}", None
            return None, text
        try:
            # Not response.json(): it decodes via .text, which runs charset detection on every body
            # without a charset. JSON is UTF-8 by definition (RFC 8259).
            body = json_loads(content or b"")
        except ValueError:
            return "body is not JSON", None
        problem = shape_problem(body, shape)
        return (problem, None) if problem else (None, body)
