"""Keep secrets out of everything we write: URLs lose their credentials, known secret values are masked."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
SECRET_QUERY_KEYS = ("token", "access_token", "api_key", "apikey", "key", "password", "secret", "auth")


def strip_credentials(url: str) -> str:
    """http://user:pass@host:8000/x?token=abc -> http://host:8000/x?token=***"""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "&".join(
        f"{k}={MASK}" if k.lower() in SECRET_QUERY_KEYS else f"{k}{'=' if sep else ''}{v}"
        for k, sep, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        text = text.replace(value, MASK)
    return text


def strip_credentials_in_text(text: str) -> str:
    """Free text (a journey's step or reason) with each URL-like word in it stripped of its credentials."""
    return " ".join(strip_credentials(word) if "://" in word or "?" in word else word for word in text.split(" "))
