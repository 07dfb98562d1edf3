"""The target URL: validated before use, checked for reachability, never passed through a shell."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from swarmgate.core.errors import BadInput, RunFailed

CONNECT_TIMEOUT_S = 3.0
MAX_URL_LENGTH = 2048  # what browsers and most servers accept; a longer "host" is a mistake


def validate_host(url: str) -> str:
    """Return the URL without a trailing slash, or raise BadInput with the fix."""
    if not url.strip():
        raise BadInput("--host: empty; give the base URL of the API, e.g. http://127.0.0.1:8000 (leave --host out "
                       "for the embedded demo)")  # fmt: skip
    if len(url) > MAX_URL_LENGTH:
        raise BadInput(f"--host: {len(url)} characters is too long for a URL (at most {MAX_URL_LENGTH}); "
                       "give the base URL of the API, e.g. http://127.0.0.1:8000")  # fmt: skip
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        raise BadInput(f"--host {url!r}: contains whitespace or control characters; give a plain URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"--host: not a valid URL ({exc}); expected e.g. http://127.0.0.1:8000") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput("--host: expected an http:// or https:// URL with a host name, e.g. http://127.0.0.1:8000")
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise BadInput("--host: the host name is not a valid DNS name (a label is empty or over 63 characters); "
                       "check the URL") from None  # fmt: skip
    if parts.username or parts.password:
        raise BadInput(
            "--host: credentials in the URL are refused (they would end up in reports); "
            "put a bearer token in SWARMGATE_TOKEN instead"
        )
    if parts.query or parts.fragment:
        raise BadInput("--host: give the base URL only, without ?query or #fragment")
    if port == 0:
        raise BadInput("--host: port 0 is not a port a server listens on")
    return url.rstrip("/")


def check_reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast (exit 3) when nothing accepts connections at the target."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return
    except TimeoutError:
        problem = f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        problem = "connection refused"
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    raise RunFailed(f"target {url} is unreachable ({problem}); start it or fix --host")
