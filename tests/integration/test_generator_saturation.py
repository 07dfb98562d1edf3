"""The load generator judged: a Locust process pinned at a full core gets a run check (a normal smoke
run gets none: tests/integration/test_run_command.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SWARMGATE, constant_scenario

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent


def test_a_saturated_generator_is_flagged(tmp_path):
    (tmp_path / "busy.toml").write_text(constant_scenario(20, "8s", BusyUser=1))
    done = subprocess.run([*SWARMGATE, "run", str(tmp_path / "busy.toml"), "--locustfile",
                           str(HERE / "busy_generator_locustfile.py"), "--results-dir", str(tmp_path / "results")],
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    (run_dir,) = (tmp_path / "results" / "busy").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    flagged = [c for c in summary["checks"] if c["metric"] == "generator_cpu_share"]
    assert len(flagged) == 1 and flagged[0]["kind"] == "run", summary["checks"][:3]
    assert flagged[0]["status"] in ("warn", "fail") and flagged[0]["actual"] >= 0.25
    assert "load generator local used or waited for 90 % of a core or more" in flagged[0]["message"]
    assert "add workers" in (run_dir / "summary.md").read_text()
