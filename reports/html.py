"""report.html and trend.html: one self-contained file each, safe to open.

jinja2 escapes everything the run supplies (autoescape on). Chart data travels as JSON inside a
`<script type="application/json">` element with `<`, `>` and `&` escaped, so no endpoint name can end
the element; the page's own scripts are inlined and allowed by their hashes in a Content Security
Policy, so a script that slipped in anyway would not run. Chart.js and the stylesheet are inlined
from reports/static/: the file opens with no network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from markupsafe import Markup

from swarmgate.reports.ci_files import headline

HERE = Path(__file__).resolve().parent
TEMPLATES, STATIC = HERE / "templates", HERE / "static"
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.M)


def _static(name: str) -> str:
    return _SOURCE_MAP.sub("", (STATIC / name).read_text(encoding="utf-8"))


def json_for_html(value: object) -> Markup:
    """JSON that can sit inside a <script> element whatever strings it holds."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _number(value: object, places: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{places}f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _percent(value: object) -> str:
    return "–" if value is None else f"{float(value) * 100:.2f} %"


def _change(check: dict) -> str:
    """A comparison's delta from the baseline, absolute and relative: the two numbers it holds."""
    before, now = check.get("baseline"), check.get("actual")
    if before is None or now is None:
        return "–"
    relative = f" ({(now - before) / before * 100:+.1f} %)" if before else ""
    return f"{now - before:+.4g}{relative}"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)  # fmt: skip
    env.filters.update(num=_number, pct=_percent, clock=_clock, change=_change)
    return env


def page(template: str, title: str, data: dict, **context) -> str:
    """Render a page with the shared head: stylesheet, Chart.js, the page's script and its data."""
    scripts = [_static("vendor/chart.umd.min.js"), _static("charts.js"), _static(f"{template}.js")]
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    policy = f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:"
    return environment().get_template(f"{template}.html.j2").render(
        title=title, policy=policy, css=Markup(_static("report.css")), scripts=[Markup(s) for s in scripts],
        data=json_for_html(data), **context)  # fmt: skip


def report_html(summary: dict, series: dict) -> str:
    run = summary["run"]
    title = f"{run.get('scenario') or 'Locust run'} · {run.get('run_id') or ''}"
    problems = [c for c in summary["checks"] if c["status"] != "pass"]
    data = {"series": series, "capacity": summary.get("capacity"), "stages": summary.get("stages") or [],
            "faults": fault_windows(summary)}  # fmt: skip
    return page("report", title, data, summary=summary, run=run, headline=headline(summary), problems=problems,
                series=series)  # fmt: skip


def fault_windows(summary: dict) -> list[dict]:
    """What the time charts shade: each fault's window, and its recovery up to when it was back (or the end)."""
    faults = (summary.get("resilience") or {}).get("faults") or []
    return [{"name": f["name"], "start": f["start_ts"], "end": f.get("end_ts"), "recovered": f.get("recovered_at_ts")}
            for f in faults if f.get("start_ts") is not None]  # fmt: skip


def trend_html(trend: dict) -> str:
    return page("trend", "swarmgate trend", trend, trend=trend)
