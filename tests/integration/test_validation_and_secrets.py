"""A wrong body is a failure; a secret token used for a whole run is written nowhere."""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from tests.helpers import SWARMGATE, failures_rows, stats_rows

pytestmark = pytest.mark.integration


def run(tmp_path, *args, env=None, scale="0.3") -> tuple[subprocess.CompletedProcess, object]:
    results = tmp_path / "results"
    done = subprocess.run([*SWARMGATE, "run", "--time-scale", scale, "--results-dir", str(results), *args],
                          capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run_dir,) = (results / "smoke").iterdir()
    return done, run_dir


def test_a_wrong_body_with_status_200_counts_as_a_failure(tmp_path):
    _, run_dir = run(tmp_path, "--demo-bad-body-ratio", "GET /api/workspaces=1")
    stats = stats_rows(run_dir)
    listed = stats[("GET", "/api/workspaces")]
    assert int(listed["Request Count"]) > 0
    assert listed["Failure Count"] == listed["Request Count"]  # every answer was a 200 with the wrong shape
    errors = {(row["Method"], row["Name"]): row["Error"] for row in failures_rows(run_dir)}
    assert "body lacks key 'items'" in errors[("GET", "/api/workspaces")]  # Locust wraps it: CatchResponseError(...)
    assert stats[("GET", "/health")]["Failure Count"] == "0"  # the other routes are judged on their own
    assert stats[("POST", "/api/workspaces")]["Failure Count"] == "0"


def test_the_auth_token_appears_in_no_output_file(tmp_path):
    user_token, admin_token = f"tok-{secrets.token_urlsafe(24)}", f"adm-{secrets.token_urlsafe(24)}"
    # long enough that the one AdminUser reaches admin-only endpoints (each task: 7 in 9 do)
    done, run_dir = run(
        tmp_path, env={"SWARMGATE_TOKEN": user_token, "SWARMGATE_ADMIN_TOKEN": admin_token}, scale="0.6"
    )
    stats = stats_rows(run_dir)
    # the tokens were really used: nobody logged in, and the demo accepted every request
    assert ("POST", "/api/auth/login") not in stats
    assert int(stats[("", "Aggregated")]["Request Count"]) > 20
    assert stats[("", "Aggregated")]["Failure Count"] == "0"
    assert (
        int(stats[("GET", "/api/admin/system")]["Request Count"])
        + int(stats.get(("GET", "/api/admin/audit-log"), {}).get("Request Count", 0))
        > 0
    )
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) >= 10
    for token in (user_token, admin_token):
        for path in files:
            assert token.encode() not in path.read_bytes(), f"token found in {path.relative_to(run_dir)}"
        assert token not in done.stdout and token not in done.stderr
    assert json.loads((run_dir / "run.json").read_text())["host"].startswith("http://127.0.0.1:")
