"""What swarmgate's own users have, given once at start to the plain Locust users of any locustfile.

- Each request's context names its user class (SwarmgateUser does this itself), so run.json can count
  requests per class.
- FastHttpUser classes that leave `insecure`, `network_timeout` or `connection_timeout` at Locust's
  defaults (certificates not verified, 60 s) get the run's: TLS verified unless `--insecure`, and
  `--request-timeout`. A class that sets one of them itself keeps its own; plain `HttpUser` classes
  (python-requests) keep requests' behaviour: certificates verified, no timeout unless the code passes one.

Class attributes, set once: nothing is added to the per-request path.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, User


def set_by(cls: type, attribute: str) -> type | None:
    """The class in cls's MRO that defines attribute."""
    return next((klass for klass in cls.__mro__ if attribute in klass.__dict__), None)


def tag_requests_with_class(cls: type[User]) -> None:
    """Make cls put its name in its requests' context: a dict made once, or its own context() plus the name."""
    tagged_for = getattr(cls.context, "tags_user_class", None)
    if tagged_for is True or tagged_for is cls:  # SwarmgateUser's own (names type(self)), or done already
        return
    own = getattr(cls.context, "own_context", cls.context)  # a parent's tag is replaced, not wrapped
    tag = {"user_class": cls.__name__}
    if own is User.context:

        def context(self, _tag=tag) -> dict:
            return _tag
    else:

        def context(self, _own=own, _tag=tag) -> dict:
            return {**_own(self), **_tag}

    context.tags_user_class = cls
    context.own_context = own
    cls.context = context


def apply_run_settings(cls: type[User]) -> None:
    """TLS verification and the request timeout of the run, where a FastHttpUser class left Locust's defaults."""
    if not issubclass(cls, FastHttpUser):
        return
    if set_by(cls, "insecure") is FastHttpUser:
        cls.insecure = os.environ.get("SWARMGATE_INSECURE_TLS", "") == "1"
    timeout = float(os.environ.get("SWARMGATE_REQUEST_TIMEOUT_S") or 10.0)
    for attribute in ("network_timeout", "connection_timeout"):
        if set_by(cls, attribute) is FastHttpUser:
            setattr(cls, attribute, timeout)


def prepare(user_classes: list[type[User]]) -> None:
    for cls in user_classes:
        tag_requests_with_class(cls)
        apply_run_settings(cls)
