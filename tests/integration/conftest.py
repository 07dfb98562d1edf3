from __future__ import annotations

import secrets

import pytest

from tests.helpers import start_demo, stop


@pytest.fixture(scope="module")
def demo_passwords() -> dict[str, str]:
    user, admin = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    return {
        "demo": {"SWARMGATE_DEMO_USER_PASSWORD": user, "SWARMGATE_DEMO_ADMIN_PASSWORD": admin},
        "users": {"SWARMGATE_PASSWORD": user, "SWARMGATE_ADMIN_PASSWORD": admin},
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_passwords):
    """A demo target shared by a module's tests, stopped by PID at the end."""
    target = start_demo(tmp_path_factory.mktemp("demo"), env=demo_passwords["demo"])
    yield target
    stop(target.proc)
