"""The shared base of every swarmgate user: auth, validated requests, grouped names, TLS on."""

from __future__ import annotations

import os
from typing import Any

from locust import FastHttpUser

from locustfiles.auth import credentials_for
from locustfiles.naming import group_name
from locustfiles.validation import Shape, shape_problem

LOGIN_PATH = "/api/auth/login"
LOGIN_SHAPE = {"access_token": str}


class SwarmgateUser(FastHttpUser):
    """Abstract: subclasses add tasks. `call()` is the one way journeys talk to the API."""

    abstract = True
    # Verify TLS certificates (FastHttpUser's own default is not to); opt out per run only.
    insecure = os.environ.get("SWARMGATE_INSECURE_TLS", "") == "1"
    role = "user"

    def context(self) -> dict[str, str]:
        """Tag every request with its user class; the recorders count requests per class."""
        return {"user_class": type(self).__name__}

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
        headers = self.auth_headers if authed else None
        with self.client.request(
            method, path, name=name or group_name(path), headers=headers, json=json, catch_response=True
        ) as resp:
            error = getattr(resp, "error", None)
            if not resp.status_code and error is not None:
                resp.failure(f"no response: {type(error).__name__}")
                return None
            if resp.status_code != expect:
                resp.failure(f"status {resp.status_code}, expected {expect}")
                return None
            if shape is None:
                text = resp.text or ""
                if text_contains is not None and text_contains not in text:
                    resp.failure(f"body lacks the expected marker {text_contains!r}")
                    return None
                resp.success()
                return text
            try:
                body = resp.json()
            except ValueError:
                resp.failure("body is not JSON")
                return None
            problem = shape_problem(body, shape)
            if problem:
                resp.failure(problem)
                return None
            resp.success()
            return body
