"""`swarmgate analyze` and `swarmgate baseline promote` as a user calls them, on fixture runs."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from tests.helpers import ROOT, SWARMGATE

FIXTURE = ROOT / "tests" / "fixtures" / "smoke_run"


def swarmgate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SWARMGATE, *args], capture_output=True, text=True, timeout=120)


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def test_analyze_passes_and_promote_never_replaces_silently(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    done = swarmgate("analyze", str(run_dir), "--results-dir", str(tmp_path / "results"))
    assert done.returncode == 0 and "verdict: PASS" in done.stdout
    results = tmp_path / "results"
    assert swarmgate("baseline", "promote", str(run_dir), "--results-dir", str(results)).returncode == 0
    baseline = results / "baselines" / "smoke"
    before = tree_digest(baseline)

    broken = tmp_path / "broken"
    shutil.copytree(FIXTURE, broken)
    (broken / "locust.json").write_text((broken / "locust.json").read_text()[:300])
    history = tmp_path / "results" / "history.sqlite"
    history_before = history.read_bytes()
    promote_broken = ["baseline", "promote", str(broken), "--results-dir", str(results), "--replace"]
    for args in (["analyze", str(broken), "--results-dir", str(results)], promote_broken):
        refused = swarmgate(*args)
        assert refused.returncode == 2, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
        assert "locust.json" in refused.stderr
    again = swarmgate("baseline", "promote", str(run_dir), "--results-dir", str(results))
    assert again.returncode == 2 and "--replace" in again.stderr
    assert tree_digest(baseline) == before  # the stored baseline is untouched by all of the above
    assert history.read_bytes() == history_before  # and so is the history


def test_analyze_reads_stock_locust_output_and_says_what_it_lacks(tmp_path):
    shutil.copytree(ROOT / "tests" / "fixtures" / "stock", tmp_path / "stock")
    (tmp_path / "stock" / "locust.json").unlink()
    done = swarmgate("analyze", str(tmp_path / "stock" / "locust"), "--profile", "peak", "--results-dir",
                     str(tmp_path / "results"))  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # the demo's smoke rate is far below the peak profile's 200 rps
    assert "not computed: exact percentiles" in done.stderr
    assert (tmp_path / "stock" / "summary.json").is_file()
