"""One request on FastHttpUser's own session, judged, then reported to Locust exactly once.

This is what `with self.client.request(..., catch_response=True) as r: r.success() / r.failure(m)`
does, without the ResponseContextManager: Locust builds that by copying every response object, which
under load costs about 5 µs of the ~80 µs a core spends per request (bench/bench_users.py). The
event carries the same fields as Locust's own (tests/integration/test_client_parity.py pins it), so
stats, failures and every listener see no difference. It uses two underscore helpers of Locust's
FastHttpSession, which is why pyproject pins Locust to 2.47.x and that test runs in CI.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from geventhttpclient.useragent import ConnectionError as ClientError
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, FastHttpSession, FastRequest, FastResponse
from locust.exception import CatchResponseError

Report = dict[str, Any]


class RedirectedElsewhere(ClientError):
    """A redirect to another scheme, host or port: the request fails instead of following it."""


class SameOriginRequest(FastRequest):
    """A request that follows redirects within its origin only, so credentials and load stay on the
    host under test (geventhttpclient would follow any redirect, dropping only the Authorization header).
    """

    def redirect(self, code: int, location: str) -> None:
        target = self.url_split.redirect(location)
        if (target.scheme, target.host, target.port) != self.original_origin:
            raise RedirectedElsewhere(self.url, f"redirected to another host ({target.scheme}://{target.host})")
        super().redirect(code, location)


def same_origin_redirects_only(session: FastHttpSession) -> None:
    """Make the session's user agent refuse cross-origin redirects (a failure of that request)."""
    session.client.request_type = SameOriginRequest


def send(
    session: FastHttpSession, method: str, path: str, name: str, headers: Mapping[str, str] | None, body: Any = None
) -> tuple[FastResponse, bytes | None, Report]:
    """Send one request like FastHttpSession.request does; return (response, content, event fields)."""
    url = session._build_url(path)
    start_time = time.time()
    request_headers = dict(headers) if headers else {}
    if session.auth_header and "Authorization" not in request_headers:
        request_headers["Authorization"] = session.auth_header
    request_headers.setdefault("Accept-Encoding", "gzip, deflate, br")
    payload = None
    if body is not None:
        payload = json.dumps(body)
        request_headers.setdefault("Content-Type", "application/json")
        request_headers.setdefault("Accept", "application/json")
    started = time.perf_counter()
    response = session._send_request_safe_mode(method, url, payload=payload, headers=request_headers)
    report: Report = {
        "request_type": method,
        "name": name,
        "context": dict(session.user.context()) if session.user else {},
        "response": response,
        "exception": None,
        "start_time": start_time,
        "url": url,
        "response_length": 0,
    }
    content = None
    try:
        content = response.content  # reading the body is part of the response time, as in Locust
        report["response_length"] = len(content) if content else 0
    except FAILURE_EXCEPTIONS as exc:
        report["exception"] = exc
    report["response_time"] = (time.perf_counter() - started) * 1000
    return response, content, report


def finish(session: FastHttpSession, report: Report, problem: str | None) -> None:
    """Report the request: a success, or a failure worded as Locust's catch_response words it."""
    report["exception"] = CatchResponseError(problem) if problem else None
    session.request_event.fire(**report)
