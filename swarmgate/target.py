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
    return validate_url(url, "--host", "http://127.0.0.1:8000", "put a bearer token in SWARMGATE_TOKEN instead")


def validate_url(url: str, option: str, example: str,
                 token_fix: str = "put a bearer token in SWARMGATE_METRICS_TOKEN instead") -> str:  # fmt: skip
    """A URL given to `option` (--host, --scrape, --prometheus), without a trailing slash, or BadInput."""
    if not url.strip():
        raise BadInput(f"{option}: empty; give a URL, e.g. {example}")
    if len(url) > MAX_URL_LENGTH:
        raise BadInput(f"{option}: {len(url)} characters is too long for a URL (at most {MAX_URL_LENGTH}); "
                       f"give a URL such as {example}")  # fmt: skip
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        raise BadInput(f"{option} {url!r}: contains whitespace or control characters; give a plain URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"{option}: not a valid URL ({exc}); expected e.g. {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"{option}: expected an http:// or https:// URL with a host name, e.g. {example}")
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise BadInput(f"{option}: the host name is not a valid DNS name (a label is empty or over 63 characters); "
                       "check the URL") from None  # fmt: skip
    if parts.username or parts.password:
        raise BadInput(f"{option}: credentials in the URL are refused (they would end up in reports); {token_fix}")
    if parts.query or parts.fragment:
        raise BadInput(f"{option}: give the URL only, without ?query or #fragment")
    if port == 0:
        raise BadInput(f"{option}: port 0 is not a port a server listens on")
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
