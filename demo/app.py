"""The demo target's WSGI application: routing, auth, fault knobs, queueing and metrics."""

from __future__ import annotations

import json
import os
import secrets
import time
from urllib.parse import parse_qsl

import gevent
from gevent.lock import BoundedSemaphore

from swarmgate.demo.api import EXECUTION_STATUS, Request, Response, Route, error, router, still_running
from swarmgate.demo.chaos import KINDS, Chaos, DatabaseUnavailable, DependencyTimeout, parse_parameters
from swarmgate.demo.faults import FAULT_PATH, FAULT_TOKEN_VAR, Faults
from swarmgate.demo.metrics import CONTENT_TYPE, DemoMetrics, LruCache
from swarmgate.demo.store import Session, Store

MAX_BODY_BYTES = 1 << 20
SERVER_POOL_SIZE = 10_000  # the server's greenlet pool (demo/server.py): the pool when --max-concurrency is 0
UNLIMITED_PATHS = ("/health", "/metrics")  # monitoring stays answerable when the API queues
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class DemoApp:
    """A WSGI callable; one instance per server process."""

    def __init__(self, store: Store, faults: Faults, chaos: Chaos | None = None,
                 fault_token: str | None = None) -> None:  # fmt: skip
        """fault_token: the fault endpoint's own token (default: SWARMGATE_DEMO_FAULT_TOKEN); None turns it off."""
        self.store = store
        self.faults = faults
        self.chaos = chaos or Chaos()
        self.fault_token = fault_token if fault_token is not None else os.environ.get(FAULT_TOKEN_VAR) or None
        store.before_query = self.chaos.before_query
        self.in_flight = 0
        self.queued = 0
        self.limiter = BoundedSemaphore(faults.max_concurrency) if faults.max_concurrency else None
        self.leaked: list[bytes] = []
        self.metrics = DemoMetrics(faults.max_concurrency or SERVER_POOL_SIZE, int(faults.memory_limit_mb * 1024**2))
        self.metrics.pool_in_use.set_function(lambda: self.in_flight)
        self.metrics.queued.set_function(lambda: self.queued)
        self.metrics.leaked_bytes.set_function(lambda: sum(len(b) for b in self.leaked))
        store.observe_query = self.metrics.db_query_seconds.observe
        self.sessions = LruCache(faults.cache_size, self.metrics)  # bearer token -> session

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics" and method == "GET":
            return self._send(start_response, Response(200, self.metrics.text().decode(), CONTENT_TYPE))
        if path == FAULT_PATH or path.startswith(FAULT_PATH + "/"):
            return self._send(start_response, self._fault_endpoint(method, path, environ))
        route, ids, known = router.match(method, path)
        if route is None:
            response = error(405, "method not allowed") if known else error(404, "no such route")
            return self._send(start_response, response, f"{method} (unmatched)")
        if self.limiter is None or path in UNLIMITED_PATHS:
            response = self._handle(route, ids, environ)
        else:
            self.queued += 1
            with self.limiter:
                self.queued -= 1
                response = self._handle(route, ids, environ)
        if self.faults.leak_kb_per_request:
            self.leaked.append(b"\x01" * int(self.faults.leak_kb_per_request * 1024))
        return self._send(start_response, response, f"{route.method} {route.template}")

    def _handle(self, route: Route, ids: tuple[int, ...], environ: dict) -> Response:
        self.in_flight += 1
        try:
            delay = self.faults.latency_for(route.method, route.template)
            if delay:
                gevent.sleep(delay)
            if self.faults.should_error(route.method, route.template):
                return error(500, "injected fault")
            try:
                self.chaos.before_route(route.template)
                request, problem = self._request(route, environ)
                if problem is not None:
                    return problem
                response = route.handler(self.store, request, *ids)
            except DatabaseUnavailable as exc:
                return error(503, str(exc))
            except DependencyTimeout as exc:
                return error(504, str(exc))
            if route.template == EXECUTION_STATUS and response.status == 200 and self.faults.execution_stuck(ids[0]):
                response = still_running(response)
            if response.status < 300 and self.faults.should_corrupt(route.method, route.template):
                return Response(response.status, {"unexpected": True})
            return response
        finally:
            self.in_flight -= 1

    def _request(self, route: Route, environ: dict) -> tuple[Request, Response | None]:
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        request = Request(route.method, environ.get("PATH_INFO", "/"), query, None)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return request, error(413, "request body too large")
        if length:
            try:
                request.body = json.loads(environ["wsgi.input"].read(length))
            except (ValueError, UnicodeDecodeError):
                return request, error(400, "request body is not valid JSON")
        if route.auth != "none":
            header = environ.get("HTTP_AUTHORIZATION", "")
            scheme, _, token = header.partition(" ")
            account = self._account(token.strip()) if scheme.lower() == "bearer" else None
            if account is None:
                return request, error(401, "a valid bearer token is required")
            if route.auth == "admin" and account.role != "admin":
                return request, error(403, "admin role required")
            request.account = account
        return request, None

    def _account(self, token: str):
        """The token's account through the session cache (a miss asks the database)."""

        def fresh(cached: object) -> bool:
            return isinstance(cached, Session) and cached.expires > time.time()

        delay = self.chaos.cache_delay_s()
        if delay is not None:  # the cache is down: the database answers every lookup, slower
            gevent.sleep(delay)
            session = self.store.session_for_token(token)
        else:
            session = self.sessions.get(token, lambda: self.store.session_for_token(token), fresh)
        return session.account if session else None

    def _fault_endpoint(self, method: str, path: str, environ: dict) -> Response:
        """`PUT /admin/faults/KIND` (JSON parameters) turns a fault on, `DELETE` off, `GET /admin/faults` lists them.

        Only with the fault token: a missing or wrong one is 404, so the endpoint is not there for anyone else.
        """
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if not self.fault_token or scheme.lower() != "bearer" or not secrets.compare_digest(
                token.strip().encode(), self.fault_token.encode()):  # fmt: skip
            return error(404, "no such route")
        kind = path[len(FAULT_PATH) + 1 :]
        if method == "GET" and not kind:
            return Response(200, {"faults": self.chaos.state(), "kinds": KINDS})
        if kind not in KINDS:
            return error(404, f"no fault {kind[:40]!r}; known: {', '.join(KINDS)}")
        if method == "PUT":
            body, problem = self._json_body(environ)
            parameters = problem or parse_parameters(body)
            if isinstance(parameters, str):
                return error(422, parameters)
            self.chaos.on(kind, parameters)
            return Response(200, {"fault": kind, "on": True, **parameters})
        if method == "DELETE":
            return Response(200, {"fault": kind, "on": False, "was_on": self.chaos.off(kind)})
        return error(405, "method not allowed")

    @staticmethod
    def _json_body(environ: dict) -> tuple[object, str | None]:
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), 10_000)
            return (json.loads(environ["wsgi.input"].read(length)) if length else None), None
        except (ValueError, UnicodeDecodeError):
            return None, "request body is not valid JSON"

    def _send(self, start_response, response: Response, route_key: str | None = None) -> list[bytes]:
        if route_key is not None:
            self.metrics.requests.labels(route_key, str(response.status)).inc()
        if isinstance(response.body, str):
            payload = response.body.encode()
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
        reason = STATUS_TEXT.get(response.status, "Unknown")
        start_response(
            f"{response.status} {reason}",
            [("Content-Type", response.content_type), ("Content-Length", str(len(payload)))],
        )
        return [payload]
