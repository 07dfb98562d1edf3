"""report.html as a file: self-contained, escaped, its scripts allowed by hash, re-rendered from the run dir."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from html import unescape

from swarmgate.pipeline import analyze_and_write as analyze
from swarmgate.pipeline import render_report
from swarmgate.reports.html import json_for_html
from tests.helpers import ROOT, SWARMGATE

FIXTURE = ROOT / "tests" / "fixtures" / "smoke_run"
STEPS = ROOT / "tests" / "fixtures" / "stock_steps"  # a stock Locust run of five levels, the demo serving 4 at a time
HOSTILE = "</script><script>alert(1)</script>\"'&<!--"


def rename_endpoint(run_dir, old: str, new: str) -> None:
    """Give one endpoint a hostile name in every file of the run that names it."""
    for name in ("locust.json", "stages.json"):
        path = run_dir / name
        path.write_text(path.read_text().replace(json.dumps(old), json.dumps(new)))
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv"):
        path = run_dir / name
        quoted = '"' + new.replace('"', '""') + '"'
        path.write_text(path.read_text().replace(f",{old},", f",{quoted},"))


def analyzed(tmp_path, hostile: bool = False):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    if hostile:
        rename_endpoint(run_dir, "/api/workspaces", HOSTILE)
    summary, _ = analyze(run_dir, results_root=tmp_path / "results")
    return run_dir, summary


def test_the_report_needs_nothing_from_the_network(tmp_path):
    run_dir, _ = analyzed(tmp_path)
    html = (run_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)  # no external resource
    assert "<link" not in html and "@import" not in html and "sourceMappingURL" not in html
    assert "Chart.js v4.6.1" in html  # the library is inlined


def test_every_inline_script_is_allowed_by_its_hash_and_nothing_else_is(tmp_path):
    run_dir, _ = analyzed(tmp_path)
    html = (run_dir / "report.html").read_text()
    policy = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    script_src = re.search(r"script-src ([^;]+)", policy).group(1).split()
    assert "'unsafe-inline'" not in script_src and "default-src 'none'" in policy
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 3
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts}
    assert hashes == set(script_src)


def test_names_from_the_run_are_escaped_everywhere_they_appear(tmp_path):
    run_dir, summary = analyzed(tmp_path, hostile=True)
    assert any(row["name"] == HOSTILE for row in summary["endpoints"])
    html = (run_dir / "report.html").read_text()
    assert HOSTILE not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text, in the tables
    data = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and ">" not in data  # the chart data cannot end its element
    names = {e["name"] for e in json.loads(data)["series"]["timeline"]["endpoints"]}
    assert HOSTILE in names  # and still reads back as the real name
    assert json.loads(json_for_html({"n": HOSTILE}))["n"] == HOSTILE


def test_the_report_renders_again_from_the_run_dir_alone(tmp_path):
    run_dir, _ = analyzed(tmp_path)
    first = (run_dir / "report.html").read_text()
    moved = tmp_path / "elsewhere" / "old-run"
    shutil.copytree(run_dir, moved)
    (moved / "report.html").unlink()
    (moved / "locust_stats_history.csv").unlink()  # drawn from charts.json: the history is not read again
    done = subprocess.run([*SWARMGATE, "report", str(moved)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (moved / "report.html").read_text() == first
    assert page_data(first)["series"] == json.loads((run_dir / "charts.json").read_text())["series"]
    (moved / "charts.json").unlink()  # a run dir analyzed before charts.json was kept: cut from its files
    shutil.copy(run_dir / "locust_stats_history.csv", moved)
    done = subprocess.run([*SWARMGATE, "report", str(moved), "--out", str(tmp_path / "copy.html")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and (tmp_path / "copy.html").read_text() == first


def test_report_refuses_a_run_that_was_never_analyzed_or_a_foreign_summary(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "run")
    done = subprocess.run([*SWARMGATE, "report", str(tmp_path / "run")], capture_output=True, text=True)
    assert done.returncode == 2 and "swarmgate analyze" in done.stderr and done.stderr.count("\n") == 1
    (tmp_path / "run" / "summary.json").write_text('{"schema_version": 99}')
    done = subprocess.run([*SWARMGATE, "report", str(tmp_path / "run")], capture_output=True, text=True)
    assert done.returncode == 2 and "schema version 1" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run" / "report.html").exists()


def page_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S).group(1))


def capacity_section(html: str) -> str:
    section = html[html.index('<section id="capacity">') :]
    return section[: section.index("</section>")]


def test_the_capacity_section_names_the_saturation_knee_and_the_chart_gets_it(tmp_path):
    shutil.copytree(STEPS, tmp_path / "steps")
    summary, folder = analyze(tmp_path / "steps" / "locust", results_root=tmp_path / "results")
    html = (folder / "report.html").read_text()
    section = capacity_section(html)
    assert "linear up to <strong>4 users</strong>, saturated at <strong>8 users</strong>" in section
    assert "the dashed line marks the saturation knee" in section
    assert section.count('<tr class="row-fail">') >= 2  # the saturated levels, in the evidence table
    knee = page_data(html)["capacity"]["saturation"]  # what charts.js draws the knee line from
    assert (knee["last_linear_users"], knee["first_saturated_users"]) == (4, 8)
    assert [s["users"] for s in knee["steps"]] == [1, 2, 4, 8, 16] and all(s["p50_ms"] for s in knee["steps"])
    markdown = (folder / "summary.md").read_text()
    assert "Saturation: throughput grew about in proportion to users up to 4 users" in markdown


def test_a_summary_written_before_the_knee_still_renders(tmp_path):
    shutil.copytree(STEPS, tmp_path / "steps")
    summary, folder = analyze(tmp_path / "steps" / "locust", results_root=tmp_path / "results")
    del summary["capacity"]["saturation"]
    (folder / "summary.json").write_text(json.dumps(summary))
    html = render_report(tmp_path / "steps" / "locust").read_text()
    assert "Highest load that met the SLA" in capacity_section(html) and "Saturation knee" not in html


def test_a_capacity_search_that_stopped_at_its_first_level_renders(tmp_path):
    shutil.copytree(STEPS, tmp_path / "steps")
    summary, folder = analyze(tmp_path / "steps" / "locust", results_root=tmp_path / "results")
    search = {"steps": [{"stage": "step-1", "users": 10}], "last_good_step": None,
              "breaking_step": {"stage": "step-1", "users": 10, "why": "only 0 requests"}}  # fmt: skip
    summary["capacity"] = {"steps": [], "highest_good_stage": None, "first_breaching_stage": None,
                           "breaching_endpoint": None, "search": search, "saturation": None}  # fmt: skip
    (folder / "summary.json").write_text(json.dumps(summary))
    section = capacity_section(render_report(tmp_path / "steps" / "locust").read_text())
    assert "fewer than two steady load levels" in section and "stopped at 10 users (only 0 requests)" in section
